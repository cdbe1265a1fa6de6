//! A dense row-major feature matrix, its values owned or lent by the caller.

use std::sync::Arc;

use crate::error::DataError;

/// A dense row-major f32 matrix (rows = items, columns = features). Its values are its own
/// or, through [`Matrix::shared`], borrowed from an owner that keeps them alive (an array of
/// the caller's, which is then not copied).
#[derive(Clone)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Values,
}

#[derive(Clone)]
enum Values {
    Owned(Vec<f32>),
    Shared(Arc<dyn AsRef<[f32]> + Send + Sync>),
}

impl Values {
    fn as_slice(&self) -> &[f32] {
        match self {
            Values::Owned(v) => v,
            Values::Shared(owner) => (**owner).as_ref(),
        }
    }
}

impl std::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matrix")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("shared", &matches!(self.data, Values::Shared(_)))
            .finish_non_exhaustive()
    }
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows && self.cols == other.cols && self.as_slice() == other.as_slice()
    }
}

impl Matrix {
    /// Wraps `data` (row-major, `rows * cols` values).
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, DataError> {
        check_size(rows, cols, data.len())?;
        Ok(Matrix {
            rows,
            cols,
            data: Values::Owned(data),
        })
    }

    /// A matrix over values it does not own (row-major, `rows * cols` of them): `owner`
    /// keeps them alive, and must give the same values every time it is asked. Nothing is
    /// copied until [`Matrix::as_mut_slice`] or [`Matrix::into_vec`] asks for values of
    /// the matrix's own.
    pub fn shared(
        rows: usize,
        cols: usize,
        owner: Arc<dyn AsRef<[f32]> + Send + Sync>,
    ) -> Result<Self, DataError> {
        check_size(rows, cols, (*owner).as_ref().len())?;
        Ok(Matrix {
            rows,
            cols,
            data: Values::Shared(owner),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        self.data.as_slice()
    }

    /// Whether the values are borrowed from an owner ([`Matrix::shared`]), not copied.
    pub fn is_shared(&self) -> bool {
        matches!(self.data, Values::Shared(_))
    }

    /// All values, row-major, mutable (a shared matrix copies them first).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if let Values::Shared(owner) = &self.data {
            self.data = Values::Owned((**owner).as_ref().to_vec());
        }
        match &mut self.data {
            Values::Owned(v) => v,
            Values::Shared(_) => unreachable!("made owned above"),
        }
    }

    /// Consumes the matrix and returns its values (copied when shared).
    pub fn into_vec(self) -> Vec<f32> {
        match self.data {
            Values::Owned(v) => v,
            Values::Shared(owner) => (*owner).as_ref().to_vec(),
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.cols..(i + 1) * self.cols]
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Matrix {
            rows: rows.len(),
            cols: self.cols,
            data: Values::Owned(data),
        }
    }

    /// The first (row, column) holding a NaN or infinite value, if any.
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        // Blocks without an early exit vectorise; only a block with a bad value is searched.
        const BLOCK: usize = 4096;
        let at = self
            .as_slice()
            .chunks(BLOCK)
            .enumerate()
            .find_map(|(b, chunk)| {
                let all_finite = chunk.iter().fold(true, |ok, v| ok & v.is_finite());
                if all_finite {
                    None
                } else {
                    chunk
                        .iter()
                        .position(|v| !v.is_finite())
                        .map(|i| b * BLOCK + i)
                }
            });
        at.map(|i| (i / self.cols.max(1), i % self.cols.max(1)))
    }
}

fn check_size(rows: usize, cols: usize, len: usize) -> Result<(), DataError> {
    if rows.checked_mul(cols) != Some(len) {
        return Err(DataError::Invalid(format!(
            "matrix of {rows} x {cols} needs {} values, got {len}",
            rows.saturating_mul(cols),
        )));
    }
    Ok(())
}
