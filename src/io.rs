//! Writing files safely: every file is written to a temporary name in the same folder, synced
//! and renamed into place, so that a crash never leaves a half-written file under the real
//! name.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("labels.csv");
//! conal::io::write_atomic(&path, b"task,label\nt1,cat\n")?;
//! assert_eq!(std::fs::read_to_string(&path)?, "task,label\nt1,cat\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for output written piece by piece: `write` streams into a buffered
/// temporary file, which replaces `path` only once all of it is written and synced.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        write(&mut file)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Appends `field` to `out` as a comma-separated file holds it, exactly as the csv crate's
/// writer does by default: as it is, unless it holds a comma, a double quote, `\r` or `\n`;
/// then in double quotes, each double quote doubled. Written by hand for speed: the csv
/// writer's per-field state machine was a tenth of `conal aggregate`'s time on a million
/// labels. A test checks both agree.
///
/// ```
/// let mut out = Vec::new();
/// conal::io::push_csv_field(&mut out, "t1");
/// out.push(b',');
/// conal::io::push_csv_field(&mut out, "say \"hi\", then go");
/// assert_eq!(out, b"t1,\"say \"\"hi\"\", then go\"");
/// ```
pub fn push_csv_field(out: &mut Vec<u8>, field: &str) {
    // The bytes that call for quotes, as a table: one load a byte.
    const QUOTE: [bool; 256] = {
        let mut t = [false; 256];
        t[b',' as usize] = true;
        t[b'"' as usize] = true;
        t[b'\r' as usize] = true;
        t[b'\n' as usize] = true;
        t
    };
    let bytes = field.as_bytes();
    if !bytes.iter().any(|&b| QUOTE[b as usize]) {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends `x` with `decimals` digits after the point (at most 9), exactly as
/// `format!("{x:.decimals$}")` writes it: the exact binary value rounded half to even.
///
/// Written by hand because writing millions of posteriors with `format!` took a tenth of
/// `conal aggregate` on a large crowd, and no maintained crate writes a fixed number of
/// decimals (ryu and dtoa write the shortest form). Values outside ±1e9, and non-finite ones,
/// go through `format!`. A test compares both on millions of values, ties included.
pub fn push_fixed(out: &mut Vec<u8>, x: f64, decimals: usize) {
    const POW10: [u64; 10] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
    ];
    if decimals > 9 || !x.is_finite() || x.abs() >= 1e9 {
        let _ = write!(out, "{x:.decimals$}");
        return;
    }
    // x = ±m · 2^e with m < 2^53 an integer; |x| < 1e9 < 2^30, so e < 0 unless m is small.
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    let scale = POW10[decimals];
    // The exact x · 10^decimals < 2^83: its integer part `q`, rounded half to even.
    let num = m as u128 * scale as u128;
    let q: u128 = if e >= 0 {
        num << e
    } else {
        let s = (-e) as u32;
        if s >= 127 {
            0 // num < 2^83 is below half a unit of the last place
        } else {
            let q = num >> s;
            let r = num & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            if r > half || (r == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    if negative {
        out.push(b'-');
    }
    let (int, fraction) = ((q / scale as u128) as u64, (q % scale as u128) as u64);
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut v = int;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(digits[..n].iter().rev());
    if decimals > 0 {
        out.push(b'.');
        let mut f = fraction;
        for d in (0..decimals).rev() {
            digits[d] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&digits[..decimals]);
    }
}

/// A whole input file's bytes: the file mapped into memory where it is a regular file, else
/// read (pipes, devices, or a map that fails).
///
/// Mapping saves copying the file into freshly zeroed memory — on a million-label CSV a
/// tenth of `conal aggregate`'s time went to the read and the first touch of its buffer. The
/// map shows the file as it is on disk: a file changed by another process while it is read
/// gives what was there when each page was read, and one truncated meanwhile can end the
/// process (SIGBUS), as with any tool that maps its input.
pub enum FileBytes {
    /// A read-only map of the file.
    Mapped(memmap2::Mmap),
    /// The file read into memory.
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

impl FileBytes {
    /// The bytes of the file at `path`.
    pub fn read(path: &Path) -> std::io::Result<FileBytes> {
        let file = std::fs::File::open(path)?;
        let regular = file.metadata().map(|m| m.is_file() && m.len() > 0)?;
        if regular {
            // SAFETY: the map is read-only and lives as long as the value; what another
            // process may do to the file meanwhile is the documented caveat above.
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                return Ok(FileBytes::Mapped(map));
            }
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        Ok(FileBytes::Read(bytes))
    }
}

#[cfg(test)]
mod fixed_tests {
    use super::push_fixed;
    use rand::{RngExt, SeedableRng};

    fn check(x: f64, d: usize) {
        let mut out = Vec::new();
        push_fixed(&mut out, x, d);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{x:.d$}"),
            "{x:e} with {d} decimals"
        );
    }

    #[test]
    fn fixed_decimals_are_what_format_writes() {
        // Exact ties (k / 2^j) at the last kept digit, both ways of rounding to even.
        for j in 0..=40 {
            for k in 0..300u64 {
                let x = k as f64 / (1u64 << j) as f64;
                for d in [0, 1, 2, 3, 6, 9] {
                    check(x, d);
                    check(-x, d);
                }
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300_000 {
            let unit: f64 = rng.random();
            let wide = f64::from_bits(rng.random::<u64>());
            let scale = 10f64.powi(rng.random_range(-12..10));
            for x in [unit, unit * scale, -unit * scale, wide] {
                check(x, 6);
                check(x, rng.random_range(0..12));
            }
        }
        for x in [
            0.0,
            -0.0,
            5e-7,
            4.9999999e-7,
            1e-320,
            999_999_999.9999995,
            1e9,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            check(x, 6);
        }
    }
}

#[cfg(test)]
mod csv_field_tests {
    use super::push_csv_field;
    use rand::{RngExt, SeedableRng};

    /// The csv crate's default writer on a record of `fields`.
    fn csv_crate(fields: &[String]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(fields).unwrap();
        w.into_inner().unwrap()
    }

    #[test]
    fn fields_are_written_as_the_csv_crate_writes_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let alphabet = [
            'a', 'Z', '0', ',', '"', '\r', '\n', ' ', '\t', ';', 'é', '#', '\'',
        ];
        let mut cases: Vec<Vec<String>> = vec![
            vec!["t1".into(), "c3".into()],
            vec!["say \"hi\"".into(), "a,b".into()],
            vec!["line\nbreak".into(), "cr\r".into(), " padded ".into()],
        ];
        for _ in 0..20_000 {
            let n = rng.random_range(2..5);
            cases.push(
                (0..n)
                    .map(|_| {
                        let len = rng.random_range(1..8);
                        (0..len)
                            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                            .collect()
                    })
                    .collect(),
            );
        }
        for fields in cases {
            let mut ours = Vec::new();
            for (j, f) in fields.iter().enumerate() {
                if j > 0 {
                    ours.push(b',');
                }
                push_csv_field(&mut ours, f);
            }
            ours.push(b'\n');
            assert_eq!(ours, csv_crate(&fields), "{fields:?}");
        }
    }
}
