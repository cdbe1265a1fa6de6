//! Image segmentations: each worker's binary mask of a task's image (every mask of one task
//! has the image's shape). What the segmentation aggregators combine into one mask per task.
//!
//! [`Segmentations::new`] (one flat buffer of pixels) and [`Segmentations::from_masks`] (one
//! borrowed slice per mask, as a caller's arrays hold them: nothing copied) share the one check
//! (codes in range, one shape per task, the pixels there are), naming the row.
//!
//! ```
//! use conal::data::Segmentations;
//!
//! // Task 0 is 2 × 2 and has two masks; task 1 is 1 × 3 and has one.
//! let s = Segmentations::new(
//!     vec!["t1".into(), "t2".into()],
//!     vec!["w1".into(), "w2".into()],
//!     vec![0, 0, 1],
//!     vec![0, 1, 0],
//!     vec![(2, 2), (2, 2), (1, 3)],
//!     vec![true, false, true, true, true, true, false, true, true, false, true],
//! )?;
//! assert_eq!(s.shape(0), (2, 2));
//! assert_eq!(s.rows_of(0), [0, 1]);
//! assert_eq!(s.mask(2), [true, false, true]);
//! # Ok::<(), conal::Error>(())
//! ```

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::data::ids::Ids;
use crate::data::music::{csv_error, header_column, open_csv};
use crate::error::{DataError, Error, Result};

/// The columns of a mask listing ([`Segmentations::read_csv`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskColumns {
    /// The task (image) id.
    pub task: String,
    /// The worker id.
    pub worker: String,
    /// The mask file's path (relative to the listing's folder, or absolute).
    pub segmentation: String,
}

impl Default for MaskColumns {
    /// crowd-kit's names: task, worker, segmentation.
    fn default() -> Self {
        MaskColumns {
            task: "task".into(),
            worker: "worker".into(),
            segmentation: "segmentation".into(),
        }
    }
}

/// Binary masks per (task, worker); `'a` is the lifetime of borrowed masks
/// ([`Segmentations::from_masks`]), `'static` for owned ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentations<'a> {
    /// Task ids, by index.
    pub tasks: Vec<String>,
    /// Worker ids, by index.
    pub workers: Vec<String>,
    /// The task of each row.
    pub task: Vec<u32>,
    /// The worker of each row.
    pub worker: Vec<u32>,
    shapes: Vec<(usize, usize)>,
    pixels: Pixels<'a>,
    by_task: Vec<Vec<usize>>,
}

/// Where the masks' pixels are.
#[derive(Debug, Clone, PartialEq)]
enum Pixels<'a> {
    /// One buffer, row `r`'s mask at `offsets[r]..offsets[r + 1]`.
    Flat {
        pixels: Vec<bool>,
        offsets: Vec<usize>,
    },
    /// One slice per row, borrowed from the caller (a DataFrame's arrays: reading them in
    /// place spares copying every pixel into fresh memory, most of a majority vote's time).
    Borrowed(Vec<&'a [bool]>),
}

impl Segmentations<'static> {
    /// Masks from codes: row `r` is worker `worker[r]`'s mask of task `task[r]`, of shape
    /// `shapes[r]` (height, width), its pixels row-major in `pixels` after those of the rows
    /// before it. A task whose masks differ in shape, or pixels that do not add up, are an
    /// error naming the row.
    pub fn new(
        tasks: Vec<String>,
        workers: Vec<String>,
        task: Vec<u32>,
        worker: Vec<u32>,
        shapes: Vec<(usize, usize)>,
        pixels: Vec<bool>,
    ) -> Result<Self> {
        let mut offsets = Vec::with_capacity(shapes.len() + 1);
        let mut at = 0usize;
        for &(h, w) in &shapes {
            offsets.push(at);
            at = at.saturating_add(h.saturating_mul(w));
        }
        offsets.push(at);
        if at != pixels.len() {
            return Err(Error::Invalid {
                what: "segmentations",
                message: format!(
                    "the masks' shapes add up to {at} pixels, {} given",
                    pixels.len()
                ),
            });
        }
        Segmentations::build(
            tasks,
            workers,
            task,
            worker,
            shapes,
            Pixels::Flat { pixels, offsets },
        )
    }
}

impl Segmentations<'static> {
    /// Masks from a CSV listing with a header naming the `columns` (others are ignored): one
    /// row per (task, worker), its mask in the file the `segmentation` column names (relative
    /// to the listing's folder), a PNG (a pixel is in the mask when any colour channel is not
    /// 0; alpha is ignored) or a 2-D `.npy` array of booleans or 0/1. Tasks and workers are
    /// numbered in order of first appearance. Errors name the listing's line and the file.
    pub fn read_csv(path: &Path, columns: &MaskColumns) -> Result<Self> {
        let fail = |e: csv::Error| Error::Data(csv_error(path, e));
        let (mut reader, header) = open_csv(path).map_err(Error::Data)?;
        let find = |name: &str| {
            header_column(
                path,
                &header,
                name,
                "a mask listing needs columns for the task, the worker and the mask file",
            )
            .map_err(Error::Data)
        };
        let (t, w, m) = (
            find(&columns.task)?,
            find(&columns.worker)?,
            find(&columns.segmentation)?,
        );
        let dir = path.parent().unwrap_or(Path::new(""));
        let (mut tasks, mut workers) = (Ids::default(), Ids::default());
        let (mut task, mut worker, mut shapes, mut pixels) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut task_shape: Vec<(usize, usize)> = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut line = 1u64;
        while reader.read_record(&mut record).map_err(fail)? {
            line += 1;
            let field = |i: usize, name: &str| match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(Error::Data(DataError::parse(
                    path,
                    line,
                    format!("column {name:?} is empty"),
                ))),
            };
            let tc = tasks.code(field(t, &columns.task)?);
            let wc = workers.code(field(w, &columns.worker)?);
            let file = field(m, &columns.segmentation)?;
            let (h, width, mask) = read_mask(&dir.join(file)).map_err(|e| {
                Error::Data(DataError::parse(
                    path,
                    line,
                    format!("mask file {file:?}: {e}"),
                ))
            })?;
            if let Some(&(fh, fw)) = task_shape.get(tc as usize).filter(|&&s| s != (h, width)) {
                return Err(Error::Data(DataError::parse(
                    path,
                    line,
                    format!(
                        "the mask of task {:?} is {h} × {width}, its first mask is {fh} × {fw} \
                         (every mask of a task must have the image's shape)",
                        tasks.names[tc as usize]
                    ),
                )));
            }
            if tc as usize == task_shape.len() {
                task_shape.push((h, width));
            }
            task.push(tc);
            worker.push(wc);
            shapes.push((h, width));
            pixels.extend_from_slice(&mask);
        }
        if task.is_empty() {
            return Err(Error::Data(DataError::file(path, "no masks (0 rows)")));
        }
        Segmentations::new(tasks.names, workers.names, task, worker, shapes, pixels)
    }
}

/// Reads one mask file: a PNG (a pixel is in when any colour channel is not 0; alpha is
/// ignored) or, by its `.npy` extension, a 2-D numpy array of booleans or 0/1. Returns
/// (height, width, pixels row-major).
pub fn read_mask(path: &Path) -> std::result::Result<(usize, usize, Vec<bool>), DataError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        return crate::data::npy::read_mask(path);
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let bad = |e: png::DecodingError| {
        DataError::file(path, format!("not a PNG image (or a .npy array): {e}"))
    };
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DataError::file(path, "the image is too large for this machine's memory"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let samples = info.color_type.samples();
    let colours = match info.color_type {
        png::ColorType::GrayscaleAlpha | png::ColorType::Rgba => samples - 1,
        _ => samples,
    };
    let (h, w) = (info.height as usize, info.width as usize);
    let mut mask = Vec::with_capacity(h * w);
    for row in buf[..info.buffer_size()].chunks_exact(info.line_size) {
        mask.extend(
            row[..w * samples]
                .chunks_exact(samples)
                .map(|px| px[..colours].iter().any(|&c| c != 0)),
        );
    }
    Ok((h, w, mask))
}

/// Writes `mask` (height × width, row-major) as an 8-bit greyscale PNG: 255 in the mask,
/// 0 outside (any PNG viewer shows it; [`read_mask`] reads it back).
pub fn write_mask_png(
    path: &Path,
    (height, width): (usize, usize),
    mask: &[bool],
) -> std::result::Result<(), DataError> {
    let failed = |m: String| DataError::file(path, format!("writing the mask: {m}"));
    let (h, w) = (
        u32::try_from(height).map_err(|e| failed(e.to_string()))?,
        u32::try_from(width).map_err(|e| failed(e.to_string()))?,
    );
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| failed(e.to_string()))?;
    let bytes: Vec<u8> = mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
    writer
        .write_image_data(&bytes)
        .map_err(|e| failed(e.to_string()))?;
    writer.finish().map_err(|e| failed(e.to_string()))
}

/// A file name for task `t`'s mask: its index (unique) and its id with every character
/// outside `[A-Za-z0-9._-]` replaced, shortened (ids may hold slashes or be long).
pub fn mask_file_name(t: usize, id: &str) -> PathBuf {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    PathBuf::from(format!("{t:06}-{clean}.png"))
}

impl<'a> Segmentations<'a> {
    /// Masks borrowed from the caller: row `r` is worker `worker[r]`'s mask of task
    /// `task[r]`, of shape `shapes[r]` (height, width), its pixels row-major in `masks[r]`.
    /// The same checks as [`Segmentations::new`]; a mask whose length is not its shape's is
    /// an error naming the row.
    pub fn from_masks(
        tasks: Vec<String>,
        workers: Vec<String>,
        task: Vec<u32>,
        worker: Vec<u32>,
        shapes: Vec<(usize, usize)>,
        masks: Vec<&'a [bool]>,
    ) -> Result<Self> {
        if masks.len() != shapes.len() {
            return Err(Error::Invalid {
                what: "segmentations",
                message: format!("{} masks for {} shapes", masks.len(), shapes.len()),
            });
        }
        if let Some(r) = (0..masks.len()).find(|&r| masks[r].len() != shapes[r].0 * shapes[r].1) {
            return Err(Error::Data(DataError::Invalid(format!(
                "row {r}: the mask holds {} pixels, not {} × {}",
                masks[r].len(),
                shapes[r].0,
                shapes[r].1
            ))));
        }
        Segmentations::build(
            tasks,
            workers,
            task,
            worker,
            shapes,
            Pixels::Borrowed(masks),
        )
    }

    /// The one check of codes and shapes, naming the row.
    fn build(
        tasks: Vec<String>,
        workers: Vec<String>,
        task: Vec<u32>,
        worker: Vec<u32>,
        shapes: Vec<(usize, usize)>,
        pixels: Pixels<'a>,
    ) -> Result<Self> {
        let n = task.len();
        if worker.len() != n || shapes.len() != n {
            return Err(Error::Invalid {
                what: "segmentations",
                message: format!(
                    "columns of different lengths: task {n}, worker {}, segmentation {}",
                    worker.len(),
                    shapes.len()
                ),
            });
        }
        let invalid = |r: usize, message: String| {
            Error::Data(DataError::Invalid(format!("row {r}: {message}")))
        };
        let mut task_shape: Vec<Option<(usize, (usize, usize))>> = vec![None; tasks.len()];
        let mut by_task = vec![Vec::new(); tasks.len()];
        for r in 0..n {
            let (t, w) = (task[r] as usize, worker[r] as usize);
            if t >= tasks.len() {
                return Err(invalid(
                    r,
                    format!("task code {t} is not one of the {} tasks", tasks.len()),
                ));
            }
            if w >= workers.len() {
                return Err(invalid(
                    r,
                    format!(
                        "worker code {w} is not one of the {} workers",
                        workers.len()
                    ),
                ));
            }
            let shape = shapes[r];
            match task_shape[t] {
                Some((first, s)) if s != shape => {
                    return Err(invalid(
                        r,
                        format!(
                            "the mask of task {:?} is {} × {}, its mask in row {first} is {} × {} \
                             (every mask of a task must have the image's shape)",
                            tasks[t], shape.0, shape.1, s.0, s.1
                        ),
                    ));
                }
                Some(_) => {}
                None => task_shape[t] = Some((r, shape)),
            }
            by_task[t].push(r);
        }
        Ok(Segmentations {
            tasks,
            workers,
            task,
            worker,
            shapes: task_shape
                .iter()
                .map(|s| s.map_or((0, 0), |(_, s)| s))
                .collect(),
            pixels,
            by_task,
        })
    }

    /// The number of masks.
    pub fn len(&self) -> usize {
        self.task.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.task.is_empty()
    }

    /// The number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// The number of workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Task `t`'s image shape (height, width); (0, 0) for a task without a mask.
    pub fn shape(&self, t: usize) -> (usize, usize) {
        self.shapes[t]
    }

    /// The rows of task `t`, in input order.
    pub fn rows_of(&self, t: usize) -> &[usize] {
        &self.by_task[t]
    }

    /// Task `t`'s masks, in input order.
    pub fn masks_of(&self, t: usize) -> Vec<&[bool]> {
        self.by_task[t].iter().map(|&r| self.mask(r)).collect()
    }

    /// `f(masks, pixels)` for every task (its masks in input order, its pixel count), the
    /// tasks in parallel, results in task order.
    pub fn map_tasks<T: Send>(&self, f: impl Fn(&[&[bool]], usize) -> T + Sync) -> Vec<T> {
        use rayon::prelude::*;
        (0..self.n_tasks())
            .into_par_iter()
            .map(|t| {
                let (h, w) = self.shape(t);
                f(&self.masks_of(t), h * w)
            })
            .collect()
    }

    /// Row `r`'s mask, row-major.
    pub fn mask(&self, r: usize) -> &[bool] {
        match &self.pixels {
            Pixels::Flat { pixels, offsets } => &pixels[offsets[r]..offsets[r + 1]],
            Pixels::Borrowed(masks) => masks[r],
        }
    }
}

/// The distinct patterns of a task's masks: which workers marked each pixel. Every per-pixel
/// quantity of the segmentation methods (votes, posteriors, their logarithms) depends on the
/// pixel only through its pattern, so they are computed once per pattern (a few dozen) rather
/// than once per pixel (millions), then looked up in pixel order wherever a sum must run in
/// numpy's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Patterns {
    /// The pattern of each pixel.
    pub ids: Vec<u32>,
    /// Each pattern: whether worker `k` marked it, `marks[id][k]`.
    pub marks: Vec<Vec<bool>>,
}

impl Patterns {
    /// The patterns of `masks` (each `pixels` long).
    pub fn of(masks: &[&[bool]], pixels: usize) -> Self {
        let words = masks.len().div_ceil(64).max(1);
        let mut keys = vec![0u64; pixels * words];
        for (k, m) in masks.iter().enumerate() {
            let (word, bit) = (k / 64, k % 64);
            for (p, &b) in m.iter().enumerate() {
                keys[p * words + word] |= u64::from(b) << bit;
            }
        }
        let mut marks: Vec<Vec<bool>> = Vec::new();
        let mut new_pattern = |key: &[u64]| {
            marks.push(
                (0..masks.len())
                    .map(|k| key[k / 64] >> (k % 64) & 1 == 1)
                    .collect(),
            );
            (marks.len() - 1) as u32
        };
        let ids = if masks.len() <= 16 {
            // Few workers: a direct table of every possible pattern (a map lookup per pixel
            // was most of the time).
            let mut table = vec![u32::MAX; 1 << masks.len()];
            keys.iter()
                .map(|&key| {
                    let slot = &mut table[key as usize];
                    if *slot == u32::MAX {
                        *slot = new_pattern(&[key]);
                    }
                    *slot
                })
                .collect()
        } else {
            let mut index: FxHashMap<&[u64], u32> = FxHashMap::default();
            keys.chunks_exact(words)
                .map(|key| *index.entry(key).or_insert_with(|| new_pattern(key)))
                .collect()
        };
        Patterns { ids, marks }
    }
}

/// numpy's sum of a contiguous run of numbers (`np.add.reduce`'s pairwise summation: eight
/// partial sums over blocks of up to 128, halves above), so that sums over a mask's pixels
/// add up in crowd-kit's order. Written by hand: no crate reproduces numpy's order.
pub(crate) fn numpy_sum(values: &[f64]) -> f64 {
    numpy_sum_by(values.len(), |i| values[i])
}

/// [`numpy_sum`] of `value(0), …, value(n − 1)`, computed as they are needed (a sum over
/// workers × pixels then needs no array of them).
pub(crate) fn numpy_sum_by(n: usize, value: impl Fn(usize) -> f64 + Copy) -> f64 {
    pairwise(0, n, value)
}

fn pairwise(start: usize, n: usize, value: impl Fn(usize) -> f64 + Copy) -> f64 {
    if n < 8 {
        // numpy starts from -0.0 here.
        return (start..start + n).fold(-0.0, |acc, i| acc + value(i));
    }
    if n <= 128 {
        let mut r = [0.0; 8];
        for (k, acc) in r.iter_mut().enumerate() {
            *acc = value(start + k);
        }
        let mut i = 8;
        while i < n - n % 8 {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += value(start + i + k);
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for j in i..n {
            sum += value(start + j);
        }
        return sum;
    }
    let half = (n / 2) / 8 * 8;
    pairwise(start, half, value) + pairwise(start + half, n - half, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_of_one_task_must_share_a_shape() {
        let e = Segmentations::new(
            vec!["t".into()],
            vec!["a".into(), "b".into()],
            vec![0, 0],
            vec![0, 1],
            vec![(1, 2), (2, 1)],
            vec![true; 4],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("row 1") && e.contains("2 × 1") && e.contains("row 0"),
            "{e}"
        );
    }

    /// Borrowed masks read as the same masks as one flat buffer; a mask of the wrong length
    /// is named by its row.
    #[test]
    fn borrowed_masks_equal_flat_ones() {
        let names = |n: &str| vec![n.to_string()];
        let (a, b) = ([true, false, true, true], [false, false, true, false]);
        let flat = Segmentations::new(
            names("t"),
            vec!["a".into(), "b".into()],
            vec![0, 0],
            vec![0, 1],
            vec![(2, 2); 2],
            [a, b].concat(),
        )
        .unwrap();
        let borrowed = Segmentations::from_masks(
            names("t"),
            vec!["a".into(), "b".into()],
            vec![0, 0],
            vec![0, 1],
            vec![(2, 2); 2],
            vec![&a, &b],
        )
        .unwrap();
        assert_eq!(flat.masks_of(0), borrowed.masks_of(0));
        let e = Segmentations::from_masks(
            names("t"),
            names("a"),
            vec![0],
            vec![0],
            vec![(2, 3)],
            vec![&a],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("row 0") && e.contains("4 pixels"), "{e}");
    }

    /// The pairwise order: for 1,000 values of mixed magnitude the sum equals a
    /// straightforward transcription of numpy's loop (and differs from left-to-right).
    #[test]
    fn numpy_sum_is_pairwise() {
        let v: Vec<f64> = (0..1000)
            .map(|i| 1.0 / (i as f64 + 1.0) * if i % 3 == 0 { 1e8 } else { 1.0 })
            .collect();
        let plain: f64 = v.iter().sum();
        assert!((numpy_sum(&v) - plain).abs() < 1e-6);
        assert_eq!(numpy_sum(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(numpy_sum(&[]), -0.0);
        let r: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(numpy_sum(&r), 45.0);
    }
}
