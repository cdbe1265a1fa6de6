//! NumPy `.npy` files (format versions 1–3, C order, little-endian numbers).
//!
//! Written by hand rather than through a crate: the features of a data set can be hundreds of
//! megabytes, and we want them read straight into the final `Vec<f32>` with one `read_exact`
//! (so loading costs about one pass over the bytes and no second copy), float64 narrowed in
//! bounded chunks, and errors that say exactly what is wrong with the file (truncated, wrong
//! dtype, Fortran order). The format itself is a 10-byte preamble and a Python dict literal.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::data::Matrix;
use crate::error::DataError;

/// Element types we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `<i4`
    I32,
    /// `<i8`
    I64,
    /// `|b1` (numpy's bool, one byte)
    Bool,
    /// `|u1`
    U8,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 => 1,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

/// The parsed header of an `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Array shape.
    pub shape: Vec<usize>,
}

impl Header {
    /// Rows (first axis) and columns (product of the other axes; 1 for a vector).
    pub fn rows_cols(&self) -> (usize, usize) {
        match self.shape.split_first() {
            None => (1, 1),
            Some((&n, rest)) => (n, rest.iter().product()),
        }
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads and checks the header, leaving `reader` at the first data byte.
pub fn read_header(path: &Path, reader: &mut impl Read) -> Result<Header, DataError> {
    let bad = |m: String| DataError::file(path, format!("not a valid .npy file: {m}"));
    let mut pre = [0u8; 8];
    reader
        .read_exact(&mut pre)
        .map_err(|_| bad("shorter than the 8-byte preamble".into()))?;
    if &pre[..6] != MAGIC {
        return Err(bad("missing the \\x93NUMPY magic".into()));
    }
    let header_len = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            reader
                .read_exact(&mut b)
                .map_err(|_| bad("truncated header".into()))?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            reader
                .read_exact(&mut b)
                .map_err(|_| bad("truncated header".into()))?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    if header_len > 1 << 20 {
        return Err(bad(format!(
            "header of {header_len} bytes is implausibly long"
        )));
    }
    let mut text = vec![0u8; header_len];
    reader
        .read_exact(&mut text)
        .map_err(|_| bad("truncated header".into()))?;
    let text = String::from_utf8(text).map_err(|_| bad("header is not text".into()))?;
    parse_header(&text).map_err(bad)
}

/// Parses the header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_header(text: &str) -> Result<Header, String> {
    let value_after = |key: &str| -> Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or_else(|| format!("header has no '{key}'"))?;
        let rest = &text[at + key.len() + 2..];
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("no value for '{key}'"))?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = value_after("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("'descr' is not a string")?;
    let dtype = match descr {
        "<f4" | "=f4" => Dtype::F32,
        "<f8" | "=f8" => Dtype::F64,
        "<i4" | "=i4" => Dtype::I32,
        "<i8" | "=i8" => Dtype::I64,
        "|b1" => Dtype::Bool,
        "|u1" => Dtype::U8,
        other => {
            return Err(format!(
                "dtype {other:?} is not supported; save the array as little-endian float32 \
                 (or float64/int32/int64, or bool/uint8 for a mask)"
            ));
        }
    };
    let fortran = value_after("fortran_order")?;
    if fortran.starts_with("True") {
        return Err("array is in Fortran order; save it with np.ascontiguousarray".into());
    } else if !fortran.starts_with("False") {
        return Err("'fortran_order' is neither True nor False".into());
    }
    let shape = value_after("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("'shape' is not a tuple")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("bad dimension {s:?} in 'shape'"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size()))
        .is_none()
    {
        return Err("shape overflows".into());
    }
    Ok(Header { dtype, shape })
}

fn open(path: &Path) -> Result<(File, u64), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    Ok((file, len))
}

/// Checks that exactly `need` data bytes follow a header of `header_bytes`.
fn check_size(path: &Path, file_len: u64, header_bytes: u64, need: u64) -> Result<(), DataError> {
    let have = file_len.saturating_sub(header_bytes);
    if have < need {
        return Err(DataError::file(
            path,
            format!("truncated: the header promises {need} data bytes, the file has {have}"),
        ));
    }
    if have > need {
        return Err(DataError::file(
            path,
            format!(
                "{} bytes after the {need} data bytes the header promises",
                have - need
            ),
        ));
    }
    Ok(())
}

/// Reads a float array as an N × D matrix (trailing axes flattened). float64 is narrowed.
pub fn read_f32_matrix(path: &Path) -> Result<Matrix, DataError> {
    let (mut file, len) = open(path)?;
    let header = read_header(path, &mut file)?;
    let pos = std::io::Seek::stream_position(&mut file).map_err(|e| DataError::io(path, e))?;
    let (rows, cols) = header.rows_cols();
    let n = rows * cols;
    check_size(path, len, pos, (n * header.dtype.size()) as u64)?;
    let data = match header.dtype {
        Dtype::F32 => {
            let mut data = vec![0f32; n];
            file.read_exact(bytemuck::cast_slice_mut(&mut data))
                .map_err(|e| DataError::io(path, e))?;
            if cfg!(target_endian = "big") {
                for v in &mut data {
                    *v = f32::from_bits(v.to_bits().swap_bytes());
                }
            }
            data
        }
        Dtype::F64 => {
            let mut data = Vec::with_capacity(n);
            let mut chunk = vec![0u8; 1 << 20];
            let mut left = n * 8;
            while left > 0 {
                let take = left.min(chunk.len());
                file.read_exact(&mut chunk[..take])
                    .map_err(|e| DataError::io(path, e))?;
                data.extend(
                    chunk[..take]
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32),
                );
                left -= take;
            }
            data
        }
        Dtype::I32 | Dtype::I64 | Dtype::Bool | Dtype::U8 => {
            return Err(DataError::file(
                path,
                "expected float features (float32 or float64), found an integer array",
            ));
        }
    };
    Matrix::new(rows, cols, data)
}

/// Reads an integer array (int32 or int64) as (rows, cols, values).
pub fn read_i64_matrix(path: &Path) -> Result<(usize, usize, Vec<i64>), DataError> {
    let (mut file, len) = open(path)?;
    let header = read_header(path, &mut file)?;
    let pos = std::io::Seek::stream_position(&mut file).map_err(|e| DataError::io(path, e))?;
    let (rows, cols) = header.rows_cols();
    let n = rows * cols;
    check_size(path, len, pos, (n * header.dtype.size()) as u64)?;
    let mut bytes = Vec::with_capacity(n * header.dtype.size());
    file.read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    let values = match header.dtype {
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect(),
        Dtype::I32 => bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as i64)
            .collect(),
        Dtype::U8 | Dtype::Bool => bytes.iter().map(|&b| i64::from(b)).collect(),
        Dtype::F32 | Dtype::F64 => {
            return Err(DataError::file(
                path,
                "expected an integer array (int32 or int64), found floats",
            ));
        }
    };
    Ok((rows, cols, values))
}

/// Reads a 2-D mask (bool, uint8, int32 or int64 holding 0 and 1) as (height, width,
/// pixels row-major).
pub fn read_mask(path: &Path) -> Result<(usize, usize, Vec<bool>), DataError> {
    let (mut file, _) = open(path)?;
    let header = read_header(path, &mut file)?;
    if header.shape.len() != 2 {
        return Err(DataError::file(
            path,
            format!(
                "a mask must be a 2-D array (height × width), this one has shape {:?}",
                header.shape
            ),
        ));
    }
    if matches!(header.dtype, Dtype::F32 | Dtype::F64) {
        return Err(DataError::file(
            path,
            "a mask must hold booleans or 0/1 integers, found floats",
        ));
    }
    drop(file);
    let (h, w, values) = read_i64_matrix(path)?;
    if let Some(v) = values.iter().find(|&&v| v != 0 && v != 1) {
        return Err(DataError::file(
            path,
            format!("a mask must hold booleans or 0/1, found the value {v}"),
        ));
    }
    Ok((h, w, values.into_iter().map(|v| v == 1).collect()))
}

/// Writes a float32 `.npy` row by row (the header first, then rows as they come).
pub struct StreamWriter {
    out: BufWriter<File>,
    cols: usize,
    rows_left: usize,
}

impl StreamWriter {
    /// Creates `path` for a `rows × cols` float32 array.
    pub fn create(path: &Path, rows: usize, cols: usize) -> std::io::Result<Self> {
        let mut header =
            format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        // Pad so that the data starts on a 64-byte boundary, ending the header with '\n'.
        let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&[1, 0])?;
        out.write_all(&(header.len() as u16).to_le_bytes())?;
        out.write_all(header.as_bytes())?;
        Ok(StreamWriter {
            out,
            cols,
            rows_left: rows,
        })
    }

    /// Appends one row of `cols` values.
    pub fn write_row(&mut self, row: &[f32]) -> std::io::Result<()> {
        if row.len() != self.cols || self.rows_left == 0 {
            return Err(std::io::Error::other("row does not fit the declared shape"));
        }
        self.rows_left -= 1;
        for v in row {
            self.out.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Flushes; fails if fewer rows than declared were written.
    pub fn finish(mut self) -> std::io::Result<()> {
        if self.rows_left != 0 {
            return Err(std::io::Error::other(format!(
                "{} rows missing",
                self.rows_left
            )));
        }
        self.out.flush()
    }
}

/// Writes a row-major float32 matrix as a version-1 `.npy` file.
pub fn write_f32(path: &Path, rows: usize, cols: usize, data: &[f32]) -> std::io::Result<()> {
    if rows * cols != data.len() {
        return Err(std::io::Error::other(
            "write_f32: shape does not match data",
        ));
    }
    let mut w = StreamWriter::create(path, rows, cols)?;
    for row in data.chunks(cols.max(1)).take(rows) {
        w.write_row(row)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_headers() {
        let h = parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 512), }")
            .unwrap();
        assert_eq!(h.dtype, Dtype::F32);
        assert_eq!(h.rows_cols(), (1000, 512));
        let h = parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': (7,), }").unwrap();
        assert_eq!((h.dtype, h.rows_cols()), (Dtype::I64, (7, 1)));
        let h = parse_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4, 4, 3), }")
            .unwrap();
        assert_eq!(h.rows_cols(), (2, 48));
        assert!(parse_header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }").is_err());
        assert!(parse_header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }").is_err());
    }

    #[test]
    fn round_trips_and_rejects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write_f32(&path, 3, 4, &data).unwrap();
        let m = read_f32_matrix(&path).unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 4));
        assert_eq!(m.as_slice(), &data[..]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = read_f32_matrix(&path).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
