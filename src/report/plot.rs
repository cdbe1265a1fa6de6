//! PNG heatmaps of confusion matrices (plotters, with the DejaVu Sans font embedded so that
//! the pictures render the same on machines without system fonts).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The embedded font is valid; a failure would only lose the text, not the picture.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// One heatmap panel: a title and a row-stochastic matrix (row = true class).
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// Probabilities, K × K.
    pub matrix: Vec<Vec<f64>>,
}

/// White → light blue → dark blue.
fn color(v: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [
        (255.0, 255.0, 255.0),
        (107.0, 174.0, 214.0),
        (8.0, 48.0, 107.0),
    ];
    let v = v.clamp(0.0, 1.0) * 2.0;
    let (i, t) = if v < 1.0 { (0, v) } else { (1, v - 1.0) };
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let lerp = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

fn draw_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::io(path, std::io::Error::other(e.to_string()))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    classes: &[String],
    path: &Path,
) -> Result<()> {
    let k = classes.len();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(45)
        .y_label_area_size(label_width(classes))
        .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
        .map_err(draw_err(path))?;
    // Row k of the matrix is drawn at y = K − 1 − k, so the first class is on top.
    let name = |v: &SegmentValue<usize>, flip: bool| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < k => {
            classes[if flip { k - 1 - *i } else { *i }].clone()
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| name(v, false))
        .y_label_formatter(&|v| name(v, true))
        .x_label_style(("sans-serif", 12))
        .y_label_style(("sans-serif", 13))
        .x_desc("label given")
        .y_desc("true class")
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(draw_err(path))?;
    let cells = panel.matrix.iter().enumerate().flat_map(|(row, values)| {
        values.iter().enumerate().map(move |(col, &v)| {
            let y = k - 1 - row;
            Rectangle::new(
                [
                    (SegmentValue::Exact(col), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(col + 1), SegmentValue::Exact(y + 1)),
                ],
                color(v).filled(),
            )
        })
    });
    chart.draw_series(cells).map_err(draw_err(path))?;
    if k <= 10 {
        let labels = panel.matrix.iter().enumerate().flat_map(|(row, values)| {
            values.iter().enumerate().map(move |(col, &v)| {
                let style = ("sans-serif", 12)
                    .into_text_style(area)
                    .color(if v > 0.6 { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                Text::new(
                    format!("{v:.2}"),
                    (
                        SegmentValue::CenterOf(col),
                        SegmentValue::CenterOf(k - 1 - row),
                    ),
                    style,
                )
            })
        });
        chart.draw_series(labels).map_err(draw_err(path))?;
    }
    Ok(())
}

/// Pixels for the longest class name at 12–13 px.
fn label_width(classes: &[String]) -> u32 {
    8 * classes.iter().map(|c| c.chars().count()).max().unwrap_or(4) as u32 + 16
}

/// Draws `panels` in a grid of `cols` columns into a PNG at `path`.
pub fn heatmaps(path: &Path, classes: &[String], panels: &[Panel], cols: usize) -> Result<()> {
    register_font();
    if panels.is_empty() {
        return Err(Error::Invalid {
            what: "plot",
            message: "nothing to plot".into(),
        });
    }
    let cols = cols.clamp(1, panels.len());
    let rows = panels.len().div_ceil(cols);
    // Cells wide enough for the class names written under them.
    let cell = (label_width(classes) - 8).max(44);
    let side = label_width(classes) + 40 + cell * classes.len() as u32;
    let (w, h) = (side * cols as u32, (side + 30) * rows as u32);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel, classes, path)?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}
