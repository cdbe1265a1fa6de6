//! Small readers for the whitespace-separated text files of the public data sets, with errors
//! that name the file and line.

use std::path::Path;

use crate::error::DataError;

/// Reads a whole file as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count() as u64;
        DataError::parse(path, line, "not valid UTF-8 text")
    })
}

/// The non-empty lines of a text file with their 1-based line numbers. Accepts `\n`, `\r\n`
/// and old-Mac `\r` line ends.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.split(['\n', '\r'])
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i as u64 + 1, l))
}

/// Fails with "file is empty" when no data line was read.
fn check_nonempty(path: &Path, n: usize) -> Result<(), DataError> {
    if n == 0 {
        return Err(DataError::file(path, "file is empty"));
    }
    Ok(())
}

/// Reads a matrix of integers, one row per line, separated by spaces, tabs or commas; every
/// row must have the same number of columns.
pub(crate) fn read_int_matrix(path: &Path) -> Result<(usize, Vec<i64>), DataError> {
    let text = read_text(path)?;
    let mut cols = None;
    let mut values = Vec::new();
    let mut rows = 0;
    for (line, l) in lines(&text) {
        let before = values.len();
        for field in l.split([' ', '\t', ',']).filter(|f| !f.is_empty()) {
            let v: i64 = field.parse().map_err(|_| {
                DataError::parse(path, line, format!("expected an integer, found {field:?}"))
            })?;
            values.push(v);
        }
        let n = values.len() - before;
        match cols {
            None => cols = Some(n),
            Some(c) if c != n => {
                return Err(DataError::parse(
                    path,
                    line,
                    format!("expected {c} columns like the first row, found {n}"),
                ));
            }
            _ => {}
        }
        rows += 1;
    }
    check_nonempty(path, rows)?;
    Ok((cols.unwrap_or(0), values))
}

/// Reads one integer per line.
pub(crate) fn read_int_column(path: &Path) -> Result<Vec<i64>, DataError> {
    let (cols, values) = read_int_matrix(path)?;
    if cols != 1 {
        return Err(DataError::file(
            path,
            format!("expected one integer per line, found {cols} columns"),
        ));
    }
    Ok(values)
}

/// Reads one string per line (trimmed).
pub(crate) fn read_string_column(path: &Path) -> Result<Vec<String>, DataError> {
    let text = read_text(path)?;
    let names: Vec<String> = lines(&text).map(|(_, l)| l.trim().to_string()).collect();
    check_nonempty(path, names.len())?;
    Ok(names)
}

/// The largest word index an LDA-C file may use (its rows become dense vectors of this size).
pub(crate) const MAX_VOCABULARY: usize = 1 << 20;

/// Sparse rows: (column, value) pairs per row.
pub(crate) type SparseRows = Vec<Vec<(usize, f32)>>;

/// Reads an LDA-C sparse count file (`M idx:count idx:count ...`, indices 1-based) into a
/// dense row-major matrix of `dim` columns, or of as many columns as the largest index when
/// `dim` is `None`. Returns (columns, values).
pub(crate) fn read_ldac(path: &Path, dim: Option<usize>) -> Result<(usize, SparseRows), DataError> {
    let text = read_text(path)?;
    let mut rows = Vec::new();
    let mut max_index = 0usize;
    for (line, l) in lines(&text) {
        let mut fields = l.split_whitespace();
        let m: usize = fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| DataError::parse(path, line, "expected the number of entries first"))?;
        // The announced count is untrusted: never size an allocation by it.
        let mut row = Vec::with_capacity(m.min(l.len() / 2 + 1));
        for field in fields {
            let (i, c) = field.split_once(':').ok_or_else(|| {
                DataError::parse(path, line, format!("expected index:count, found {field:?}"))
            })?;
            let i: usize = i
                .parse()
                .ok()
                .filter(|&i| (1..=MAX_VOCABULARY).contains(&i))
                .ok_or_else(|| {
                    DataError::parse(
                        path,
                        line,
                        format!(
                            "expected a 1-based word index up to {MAX_VOCABULARY}, found {i:?}"
                        ),
                    )
                })?;
            let c: f32 = c
                .parse()
                .ok()
                .filter(|c: &f32| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| {
                    DataError::parse(
                        path,
                        line,
                        format!("expected a non-negative count, found {c:?}"),
                    )
                })?;
            if let Some(d) = dim
                && i > d
            {
                return Err(DataError::parse(
                    path,
                    line,
                    format!("word index {i} is beyond the {d} words of the training vocabulary"),
                ));
            }
            max_index = max_index.max(i);
            row.push((i - 1, c));
        }
        if row.len() != m {
            return Err(DataError::parse(
                path,
                line,
                format!("line announces {m} entries but has {}", row.len()),
            ));
        }
        rows.push(row);
    }
    check_nonempty(path, rows.len())?;
    Ok((dim.unwrap_or(max_index), rows))
}
