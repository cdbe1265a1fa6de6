//! Named, typed parameters for building an aggregation method by name ([`Params`]): what the
//! command line and the Python bindings hand the registry. Names are crowd-kit's (`n_iter`,
//! `tol`, `random_state`, …); a method takes only its own ([`crate::aggregate::registry`]).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A flag.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A word (`"vb"`, `"lowest"`, …).
    Text(String),
    /// Numbers, one per worker, item or class.
    Floats(Vec<f64>),
    /// Integers (codes of items, workers, classes).
    Ints(Vec<i64>),
    /// A `rows × cols` table, row-major.
    Matrix {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Row after row.
        values: Vec<f64>,
    },
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Floats(v) => write!(f, "{} numbers", v.len()),
            Value::Ints(v) => write!(f, "{} integers", v.len()),
            Value::Matrix { rows, cols, .. } => write!(f, "a {rows} × {cols} table"),
        }
    }
}

impl Value {
    /// A value as typed on a command line: an integer, a number, `true`/`false`, else a word.
    pub fn parse(text: &str) -> Value {
        if let Ok(v) = text.parse::<i64>() {
            Value::Int(v)
        } else if let Ok(v) = text.parse::<f64>() {
            Value::Float(v)
        } else if let Ok(v) = text.parse::<bool>() {
            Value::Bool(v)
        } else {
            Value::Text(text.to_string())
        }
    }
}

/// Parameters by name.
///
/// ```
/// use conal::aggregate::{Params, Value};
///
/// let p = Params::new().with("n_iter", Value::Int(20)).with("tol", Value::Float(1e-4));
/// assert_eq!(p.usize("n_iter")?, Some(20));
/// assert_eq!(p.f64("tol")?, Some(1e-4));
/// assert!(p.usize("tol").is_err()); // not an integer: the error names it
/// # Ok::<(), conal::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
}

impl Params {
    /// No parameters: every method's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// These parameters with `name` set to `value`.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.set(name, value);
        self
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// Whether `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The names set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    fn get(&self, name: &str) -> Option<(String, &Value)> {
        self.values.get_key_value(name).map(|(k, v)| (k.clone(), v))
    }

    /// A non-negative integer.
    pub fn usize(&self, name: &str) -> Result<Option<usize>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Int(v))) if *v >= 0 => Ok(Some(*v as usize)),
            Some((n, v)) => Err(Error::param(n, v, "expected a non-negative integer")),
        }
    }

    /// A 64-bit seed: an integer, its 64 bits taken as unsigned (a seed above `i64::MAX`
    /// travels as the negative integer of the same bits).
    pub fn u64(&self, name: &str) -> Result<Option<u64>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Int(v))) => Ok(Some(*v as u64)),
            Some((n, v)) => Err(Error::param(n, v, "expected an integer")),
        }
    }

    /// numpy's seed: an integer in `0..2³²`.
    pub fn u32(&self, name: &str) -> Result<Option<u32>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Int(v))) if (0..1 << 32).contains(v) => Ok(Some(*v as u32)),
            Some((n, v)) => Err(Error::param(
                n,
                v,
                "expected an integer between 0 and 2**32 - 1 (numpy's seeds are 32-bit)",
            )),
        }
    }

    /// A number (an integer is taken as one).
    pub fn f64(&self, name: &str) -> Result<Option<f64>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Float(v))) => Ok(Some(*v)),
            Some((_, Value::Int(v))) => Ok(Some(*v as f64)),
            Some((n, v)) => Err(Error::param(n, v, "expected a number")),
        }
    }

    /// A word.
    pub fn text(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Text(v))) => Ok(Some(v)),
            Some((n, v)) => Err(Error::param(n, v, "expected a word")),
        }
    }

    /// Numbers.
    pub fn floats(&self, name: &str) -> Result<Option<&[f64]>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Floats(v))) => Ok(Some(v)),
            Some((n, v)) => Err(Error::param(n, v, "expected a list of numbers")),
        }
    }

    /// Integers.
    pub fn ints(&self, name: &str) -> Result<Option<&[i64]>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Ints(v))) => Ok(Some(v)),
            Some((n, v)) => Err(Error::param(n, v, "expected a list of integers")),
        }
    }

    /// A table: (rows, columns, values row-major).
    pub fn matrix(&self, name: &str) -> Result<Option<(usize, usize, &[f64])>> {
        match self.get(name) {
            None => Ok(None),
            Some((_, Value::Matrix { rows, cols, values })) => Ok(Some((*rows, *cols, values))),
            Some((n, v)) => Err(Error::param(n, v, "expected a table of numbers")),
        }
    }
}
