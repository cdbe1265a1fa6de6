//! TensorBoard event files: scalar summaries that the real TensorBoard reads.
//!
//! Written by hand: the format is small (TFRecord framing around `Event` protocol buffers, of
//! which scalars need five fields), while the one Rust crate for it (`tensorboard-rs`) is
//! unmaintained and pulls in protobuf 2 and an old `image`. The layout, as TensorFlow's
//! `event.proto` and `summary.proto` define it:
//!
//! - record: `u64 length`, `u32 masked_crc32c(length)`, data, `u32 masked_crc32c(data)`, all
//!   little-endian, with `masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8`;
//! - `Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }`
//! - `Summary { repeated Value value = 1; }`, `Value { string tag = 1; float simple_value = 2; }`.
//!
//! ```
//! use conal::report::tensorboard::EventWriter;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut writer = EventWriter::create(dir.path()).unwrap();
//! writer.scalar("train/loss", 1, 0.5).unwrap();
//! writer.flush().unwrap();
//! assert!(writer.path().file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."));
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Appends scalar events to one event file in a log directory.
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(field: u32, wire: u32, out: &mut Vec<u8>) {
    varint(((field << 3) | wire) as u64, out);
}

fn bytes_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Encodes an `Event` with a wall time, a step and either a file version or one scalar.
fn event(step: i64, file_version: Option<&str>, scalar: Option<(&str, f32)>) -> Vec<u8> {
    let mut e = Vec::with_capacity(64);
    key(1, 1, &mut e);
    e.extend_from_slice(&wall_time().to_le_bytes());
    if step != 0 {
        key(2, 0, &mut e);
        varint(step as u64, &mut e);
    }
    if let Some(v) = file_version {
        bytes_field(3, v.as_bytes(), &mut e);
    }
    if let Some((tag, value)) = scalar {
        let mut val = Vec::with_capacity(tag.len() + 8);
        bytes_field(1, tag.as_bytes(), &mut val);
        key(2, 5, &mut val);
        val.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::with_capacity(val.len() + 2);
        bytes_field(1, &val, &mut summary);
        bytes_field(5, &summary, &mut e);
    }
    e
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it
    /// (`events.out.tfevents.<seconds>.<host>.<pid>`, the name TensorBoard looks for).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let name = format!(
            "events.out.tfevents.{}.{host}.{}",
            wall_time() as u64,
            std::process::id()
        );
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut writer = EventWriter {
            path,
            out: BufWriter::new(file),
        };
        writer.record(&event(0, Some("brain.Event:2"), None))?;
        Ok(writer)
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut buf = Vec::with_capacity(data.len() + 16);
        buf.extend_from_slice(&len);
        buf.extend_from_slice(&masked_crc(&len).to_le_bytes());
        buf.extend_from_slice(data);
        buf.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.out
            .write_all(&buf)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes one scalar `value` under `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> Result<()> {
        self.record(&event(step, None, Some((tag, value))))
    }

    /// Flushes buffered events to disk (TensorBoard sees them from then on).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow_reference() {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720 test vector); TensorFlow's mask
        // ((c >> 15) | (c << 17)) + 0xa282ead8 turns it into 0xC78AB0E5.
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn scalar_event_encodes_tag_value_and_step() {
        let e = event(300, None, Some(("a/b", 1.5)));
        // wall_time: key 0x09 + 8 bytes; step: key 0x10, varint 300 = ac 02.
        assert_eq!(e[0], 0x09);
        assert_eq!(&e[9..12], &[0x10, 0xac, 0x02]);
        // summary (field 5, 0x2a) → value (0x0a) → tag (0x0a, 3, "a/b") and float (0x15).
        let tail = &e[12..];
        assert_eq!(tail[0], 0x2a);
        assert_eq!(&tail[4..9], &[0x0a, 3, b'a', b'/', b'b']);
        assert_eq!(tail[9], 0x15);
        assert_eq!(&tail[10..14], &1.5f32.to_le_bytes());
    }
}
