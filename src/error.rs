//! Typed errors of the library.
//!
//! Every error that comes from user input names the file and, where there is one, the line
//! (1-based, counting the header) and says what was expected, so that the message alone is
//! enough to fix the input.
//!
//! ```
//! use conal::config::RunParams;
//! use conal::model::Method;
//!
//! // A setting out of range names the field, the value and what it must be; the command line
//! // shows the field as its flag (`--epochs 0: …`), Python as its keyword.
//! let params = RunParams { epochs: Some(0), ..RunParams::new(Method::Conal) };
//! let e = params.check().unwrap_err();
//! assert!(matches!(e, conal::Error::Param { .. }));
//! assert_eq!(e.to_string(), "epochs = 0: must be at least 1");
//! ```

use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised while reading or validating crowd data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error (part of the message, so not also a `source`).
        cause: std::io::Error,
    },
    /// A file's content is malformed at a given line.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (the header, if any, is line 1).
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A file's content is malformed as a whole (wrong shape, no rows, bad header).
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The data is inconsistent across files or with the requested configuration.
    #[error("{0}")]
    Invalid(String),
    /// Two rows of in-memory columns give a label of the same worker for the same item.
    #[error("rows {first} and {second}: worker {worker:?} labelled item {item:?} twice")]
    RepeatedPair {
        /// The earlier row (0-based).
        first: usize,
        /// The later row.
        second: usize,
        /// The worker's index among the workers.
        worker: usize,
        /// The item's index among the items.
        item: usize,
    },
}

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    /// A parse error on `path` at 1-based `line`.
    pub fn parse(path: &Path, line: u64, message: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// A whole-file error on `path`.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Errors of the library. Every variant says what failed; none spells a command-line flag
/// or a Python keyword (the fronts render [`Error::Param`], [`Error::RunExists`] and the
/// resume hints in their own words).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad or inconsistent input data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A parameter of an estimator (a field of its params; on the command line, the flag of
    /// the same name) has a value it cannot take.
    #[error("{param} = {value}: {expected}")]
    Param {
        /// The parameter's name, as the field of the params type (`batch_size`).
        param: std::borrow::Cow<'static, str>,
        /// The value given.
        value: String,
        /// What it must be, or why it cannot be used here.
        expected: String,
    },
    /// Settings or inputs that are each valid but do not fit together (a model built for
    /// other data, a run directory's files that disagree).
    #[error("{what}: {message}")]
    Invalid {
        /// What is inconsistent (`model`, `data`, …).
        what: &'static str,
        /// How.
        message: String,
    },
    /// Something the method or model cannot do (an annotator report of a model without an
    /// annotator model, …).
    #[error("{0}")]
    Unsupported(String),
    /// Input arrays of the wrong shape (features of another width than the model's, …).
    #[error("{what} have {got} columns, the model was trained on {expected}")]
    Shape {
        /// What was given (`features`).
        what: &'static str,
        /// The width the model expects.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// A checkpoint directory is missing a file, or a file in it is corrupt.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model, optimiser state or record could not be encoded or decoded.
    #[error("cannot encode or decode {what}: {message}")]
    Codec {
        /// What (`the model`, `the optimiser state`, `args.json`, …).
        what: &'static str,
        /// The codec's message.
        message: String,
    },
    /// The caller asked to stop ([`crate::progress::Progress::cancelled`]).
    #[error("interrupted after epoch {epoch}{}", saved_hint(saved))]
    Interrupted {
        /// The last finished epoch.
        epoch: usize,
        /// The checkpoint directory whose state now holds that epoch, if the run has one.
        saved: Option<PathBuf>,
    },
    /// A run directory already holds a run, and the caller neither resumes nor replaces it.
    #[error(
        "{} already holds a run: resume it, or replace it (the old run is kept until the new \
         one has saved its first state)",
        dir.display()
    )]
    RunExists {
        /// The directory.
        dir: PathBuf,
    },
    /// A run directory was asked for where a file (not a directory) stands.
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory {
        /// The file.
        path: PathBuf,
    },
    /// Another process holds the run directory's write lock.
    #[error("{} is being written by process {pid}", dir.display())]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// The writer's process id, as its lock file says (`?` if unreadable).
        pid: String,
    },
    /// Writing the run's outputs failed; the last complete state, if any, is kept.
    #[error("{cause}; {}", kept_hint(dir, *epoch))]
    WriteFailed {
        /// What failed.
        cause: Box<Error>,
        /// The checkpoint directory.
        dir: PathBuf,
        /// The epoch of the last complete state kept there (0: none).
        epoch: usize,
    },
    /// Training diverged (a non-finite loss or gradient).
    #[error("training diverged: {message}{}", diverged_hint(kept))]
    Diverged {
        /// Where and how.
        message: String,
        /// The last good state kept: its epoch and checkpoint directory.
        kept: Option<(usize, PathBuf)>,
    },
    /// A thread of the computation panicked (a bug in conal): caught, so that it ends the
    /// fit with this error instead of the process.
    #[error("{what} panicked: {message} (a bug in conal; please report it)")]
    WorkerPanic {
        /// Which work (`ensemble member 3`, …).
        what: String,
        /// The panic's message.
        message: String,
    },
    /// An invariant of conal's own code does not hold (a bug in conal).
    #[error("internal error: {0} (a bug in conal; please report it)")]
    Internal(String),
    /// An I/O error while writing outputs.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error (part of the message, so not also a `source`).
        cause: std::io::Error,
    },
}

fn saved_hint(saved: &Option<PathBuf>) -> String {
    match saved {
        Some(dir) => format!(
            "; its state is saved in {} and can be resumed",
            dir.display()
        ),
        None => String::new(),
    }
}

fn kept_hint(dir: &Path, epoch: usize) -> String {
    if epoch == 0 {
        format!(
            "no complete state of this run was saved in {}",
            dir.display()
        )
    } else {
        format!(
            "the last complete state (epoch {epoch}) is kept in {} and can be resumed",
            dir.display()
        )
    }
}

fn diverged_hint(kept: &Option<(usize, PathBuf)>) -> String {
    match kept {
        Some((epoch, dir)) => format!(
            "; the last good state (epoch {epoch}) stays in {}: lower the learning rate in its \
             args.json and resume it",
            dir.display()
        ),
        None => String::new(),
    }
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    /// A parameter error: `param` (a field name) cannot be `value`; `expected` says what it
    /// must be.
    pub fn param(
        param: impl Into<std::borrow::Cow<'static, str>>,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::Param {
            param: param.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// A checkpoint error on `path`.
    pub fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A panic's payload as text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
