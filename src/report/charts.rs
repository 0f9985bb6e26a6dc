//! Charts with plotters, drawn twice from the same data: SVG (text stays text, for the HTML
//! report and for tests) and PNG (for slides). The font is DejaVu Sans, embedded in the binary,
//! so no system fonts are needed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::ReportError;

/// DejaVu Sans (Debian `fonts-dejavu-core`; licence in `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
static REGISTER: Once = Once::new();

/// Chart size in pixels (16:9, legible on a slide).
pub const SIZE: (u32, u32) = (1280, 720);

fn register() {
    REGISTER.call_once(|| {
        // The font is a fixed, valid TTF; a failure would only mean text is not drawn.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Distinct colours for series (Okabe–Ito, readable by colour-blind viewers).
pub const COLORS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// A named line: `(x, y)` points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
    /// Optional confidence band: `(x, low, high)`.
    pub band: Vec<(f64, f64, f64)>,
}

/// What to draw.
#[derive(Clone, Debug)]
pub enum Chart {
    /// Lines over x, with vertical markers `(x, label)`.
    Lines {
        /// Title.
        title: String,
        /// X axis label with unit.
        x_label: String,
        /// Y axis label with unit.
        y_label: String,
        /// The lines (with optional bands).
        series: Vec<Series>,
        /// Vertical markers (e.g. Timeline actions).
        markers: Vec<(f64, String)>,
        /// Tick labels for a categorical x axis (`x = 0, 1, ...`); empty for numeric x.
        categories: Vec<String>,
    },
    /// Stacked areas over x (series share x values).
    Stacked {
        /// Title.
        title: String,
        /// X axis label.
        x_label: String,
        /// Y axis label.
        y_label: String,
        /// Layers, bottom first.
        series: Vec<Series>,
    },
    /// A heatmap: rows x columns of values in `0..=max`.
    Heatmap {
        /// Title.
        title: String,
        /// X axis label.
        x_label: String,
        /// Row names (bottom to top).
        rows: Vec<String>,
        /// Column x positions (start of each cell), ascending; cells end at the next position.
        columns: Vec<f64>,
        /// `values[row][column]`.
        values: Vec<Vec<f64>>,
        /// Value drawn as the darkest colour.
        max: f64,
    },
    /// A two-parameter grid (a sweep over two parameters): one cell per point, coloured by a
    /// value on a sequential scale (viridis) with its colour bar, the value written in the cell.
    Grid {
        /// Title.
        title: String,
        /// X axis label (the first parameter, with its unit).
        x_label: String,
        /// Y axis label (the second parameter, with its unit).
        y_label: String,
        /// X tick labels, left to right (the first parameter's values).
        x_ticks: Vec<String>,
        /// Y tick labels, bottom to top (the second parameter's values).
        y_ticks: Vec<String>,
        /// `cells[(x, y)]` = value; a grid point without a value (no run had the metric) is
        /// drawn grey and labelled `n/a`.
        cells: Vec<((usize, usize), Option<f64>)>,
        /// Colour bar label (the metric's unit).
        value_label: String,
    },
}

/// The stroke colour of a [`Chart::Grid`] cell's border (near white, so that each cell is one
/// recognisable element in the SVG).
pub const GRID_CELL_STROKE: RGBColor = RGBColor(255, 255, 254);

/// Viridis (matplotlib's perceptually uniform, colour-blind-safe sequential map), five stops.
const VIRIDIS: [(u8, u8, u8); 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];

/// The viridis colour at `t` in `0..=1`.
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let l = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    RGBColor(l(a.0, b.0), l(a.1, b.1), l(a.2, b.2))
}

/// A value for a cell or a colour-bar tick: up to 4 significant digits.
fn short_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl Chart {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            Chart::Lines { title, .. }
            | Chart::Stacked { title, .. }
            | Chart::Heatmap { title, .. }
            | Chart::Grid { title, .. } => title,
        }
    }
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (
            lo - 0.5_f64.max(lo.abs() * 0.1),
            hi + 0.5_f64.max(hi.abs() * 0.1),
        );
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn mix(c: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let f = |a: u8| (255.0 + (f64::from(a) - 255.0) * t).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Draw `chart` on `area`.
pub fn draw<DB: DrawingBackend>(
    chart: &Chart,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    register();
    area.fill(&WHITE).map_err(err)?;
    let title_font = (FAMILY, 30).into_font();
    let label_font = (FAMILY, 22).into_font();
    let tick_font = (FAMILY, 18).into_font();
    match chart {
        Chart::Lines {
            title,
            x_label,
            y_label,
            series,
            markers,
            categories,
        } => {
            let (x0, x1) = if categories.is_empty() {
                range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)))
            } else {
                (-0.5, categories.len() as f64 - 0.5)
            };
            let (y0, y1) = range(series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
            }));
            let y0 = if y0 > 0.0 && y0 < (y1 - y0) * 0.5 {
                0.0
            } else {
                y0
            };
            let mut c = ChartBuilder::on(area)
                .caption(title, title_font)
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(90)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(err)?;
            let cats = categories.clone();
            let mut mesh = c.configure_mesh();
            mesh.x_desc(x_label.as_str())
                .y_desc(y_label.as_str())
                .axis_desc_style(label_font.clone())
                .label_style(tick_font.clone());
            let fmt_cat = move |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    cats.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            if !categories.is_empty() {
                mesh.x_label_formatter(&fmt_cat)
                    .x_labels(categories.len() * 2 + 1);
            }
            mesh.draw().map_err(err)?;
            for (i, (x, label)) in markers.iter().enumerate() {
                let color = RGBColor(150, 150, 150);
                c.draw_series(DashedLineSeries::new(
                    [(*x, y0), (*x, y1)],
                    8,
                    6,
                    color.stroke_width(2),
                ))
                .map_err(err)?;
                let frac = 0.97 - 0.06 * (i % 4) as f64;
                c.draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*x, y0 + (y1 - y0) * frac),
                    (FAMILY, 17).into_font().color(&RGBColor(80, 80, 80)),
                )))
                .map_err(err)?;
            }
            for (i, s) in series.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                if !s.band.is_empty() {
                    let mut poly: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.2)).collect();
                    poly.extend(s.band.iter().rev().map(|b| (b.0, b.1)));
                    c.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.18))))
                        .map_err(err)?;
                }
                c.draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(3),
                ))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
                if s.points.len() <= 40 {
                    c.draw_series(s.points.iter().map(|p| Circle::new(*p, 5, color.filled())))
                        .map_err(err)?;
                }
            }
            c.configure_series_labels()
                .label_font(tick_font)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Chart::Stacked {
            title,
            x_label,
            y_label,
            series,
        } => {
            let xs: Vec<f64> = series
                .first()
                .map(|s| s.points.iter().map(|p| p.0).collect())
                .unwrap_or_default();
            let mut tops: Vec<Vec<(f64, f64, f64)>> = Vec::new();
            let mut base = vec![0.0; xs.len()];
            for s in series {
                let mut layer = Vec::with_capacity(xs.len());
                for (i, x) in xs.iter().enumerate() {
                    let v = s.points.get(i).map_or(0.0, |p| p.1);
                    layer.push((*x, base[i], base[i] + v));
                    base[i] += v;
                }
                tops.push(layer);
            }
            let (x0, x1) = range(xs.iter().copied());
            let ymax = base.iter().copied().fold(1.0_f64, f64::max) * 1.08;
            let mut c = ChartBuilder::on(area)
                .caption(title, title_font)
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(90)
                .build_cartesian_2d(x0..x1, 0.0..ymax)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(x_label.as_str())
                .y_desc(y_label.as_str())
                .axis_desc_style(label_font)
                .label_style(tick_font.clone())
                .draw()
                .map_err(err)?;
            for (i, (s, layer)) in series.iter().zip(&tops).enumerate() {
                let color = COLORS[i % COLORS.len()];
                let mut poly: Vec<(f64, f64)> = layer.iter().map(|l| (l.0, l.2)).collect();
                poly.extend(layer.iter().rev().map(|l| (l.0, l.1)));
                c.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.75))))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 8), (x + 20, y + 8)], color.filled())
                    });
            }
            c.configure_series_labels()
                .label_font(tick_font)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(err)?;
        }
        Chart::Heatmap {
            title,
            x_label,
            rows,
            columns,
            values,
            max,
        } => {
            let (x0, x1) = match (columns.first(), columns.last()) {
                (Some(a), Some(b)) if b > a => (*a, *b + (b - a) / columns.len().max(1) as f64),
                _ => (0.0, 1.0),
            };
            let names = rows.clone();
            let fmt_row = move |y: &f64| {
                let i = (y - 0.5).round();
                if (y - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let mut c = ChartBuilder::on(area)
                .caption(title, title_font)
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(160)
                .build_cartesian_2d(x0..x1, 0.0..rows.len().max(1) as f64)
                .map_err(err)?;
            let base = COLORS[0];
            c.configure_mesh()
                .disable_mesh()
                .x_desc(x_label.as_str())
                .y_desc("node")
                .axis_desc_style(label_font)
                .label_style(tick_font.clone())
                .y_labels(rows.len() * 2 + 1)
                .y_label_formatter(&fmt_row)
                .draw()
                .map_err(err)?;
            for (r, row) in values.iter().enumerate() {
                c.draw_series(row.iter().enumerate().map(|(j, v)| {
                    let xa = columns.get(j).copied().unwrap_or(x0);
                    let xb = columns.get(j + 1).copied().unwrap_or(x1);
                    let t = if *max > 0.0 { v / max } else { 0.0 };
                    Rectangle::new(
                        [(xa, r as f64 + 0.05), (xb, r as f64 + 0.95)],
                        mix(base, t).filled(),
                    )
                }))
                .map_err(err)?;
            }
            // Colour key: 0 .. max.
            for (k, frac) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
                let label = format!("{:.2}", frac * max);
                let (w, _) = area.dim_in_pixel();
                let x = w as i32 - 330 + 62 * k as i32;
                area.draw(&Rectangle::new(
                    [(x, 20), (x + 56, 44)],
                    mix(base, *frac).filled(),
                ))
                .map_err(err)?;
                area.draw(&Text::new(label, (x + 6, 48), tick_font.clone()))
                    .map_err(err)?;
            }
        }
        Chart::Grid {
            title,
            x_label,
            y_label,
            x_ticks,
            y_ticks,
            cells,
            value_label,
        } => {
            let (nx, ny) = (x_ticks.len().max(1), y_ticks.len().max(1));
            let (lo, hi) = {
                let vals = cells.iter().filter_map(|(_, v)| *v);
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                for v in vals.filter(|v| v.is_finite()) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                if !lo.is_finite() {
                    (0.0, 1.0)
                } else if hi - lo < 1e-12 {
                    (lo - 0.5, hi + 0.5)
                } else {
                    (lo, hi)
                }
            };
            let mut c = ChartBuilder::on(area)
                .caption(title, title_font)
                .margin(20)
                .margin_right(220)
                .x_label_area_size(80)
                .y_label_area_size(130)
                .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
                .map_err(err)?;
            // Tick labels are drawn at the cell centres below (the mesh's own ticks would fall
            // on round numbers, not on cells).
            c.configure_mesh()
                .disable_mesh()
                .x_labels(0)
                .y_labels(0)
                .x_desc(x_label.as_str())
                .y_desc(y_label.as_str())
                .axis_desc_style(label_font.clone())
                .draw()
                .map_err(err)?;
            use plotters::style::text_anchor::{HPos, Pos, VPos};
            for (i, t) in x_ticks.iter().enumerate() {
                let (px, py) = c.backend_coord(&(i as f64 + 0.5, 0.0));
                let style = tick_font
                    .clone()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top));
                area.draw(&Text::new(t.clone(), (px, py + 10), style))
                    .map_err(err)?;
            }
            for (j, t) in y_ticks.iter().enumerate() {
                let (px, py) = c.backend_coord(&(0.0, j as f64 + 0.5));
                let style = tick_font
                    .clone()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center));
                area.draw(&Text::new(t.clone(), (px - 10, py), style))
                    .map_err(err)?;
            }
            let norm = |v: f64| (v - lo) / (hi - lo);
            for ((x, y), v) in cells {
                let (x, y) = (*x as f64, *y as f64);
                let corners = [(x, y), (x + 1.0, y + 1.0)];
                let fill = match v {
                    Some(v) => viridis(norm(*v)),
                    None => RGBColor(200, 200, 200),
                };
                c.draw_series(std::iter::once(Rectangle::new(corners, fill.filled())))
                    .map_err(err)?;
                c.draw_series(std::iter::once(Rectangle::new(
                    corners,
                    GRID_CELL_STROKE.stroke_width(3),
                )))
                .map_err(err)?;
                let (text, ink) = match v {
                    Some(v) if norm(*v) > 0.6 => (short_number(*v), BLACK),
                    Some(v) => (short_number(*v), WHITE),
                    None => ("n/a".to_string(), BLACK),
                };
                let style = (FAMILY, 22).into_font().color(&ink).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                );
                c.draw_series(std::iter::once(Text::new(text, (x + 0.5, y + 0.5), style)))
                    .map_err(err)?;
            }
            // Colour bar on the right: low at the bottom, high at the top, five labelled ticks.
            let (w, h) = area.dim_in_pixel();
            let (bx, top, bottom) = (w as i32 - 190, 110_i32, h as i32 - 110);
            let steps = 60;
            for k in 0..steps {
                let y0 = bottom - (bottom - top) * k / steps;
                let y1 = bottom - (bottom - top) * (k + 1) / steps;
                area.draw(&Rectangle::new(
                    [(bx, y1), (bx + 36, y0)],
                    viridis((f64::from(k) + 0.5) / f64::from(steps)).filled(),
                ))
                .map_err(err)?;
            }
            for k in 0..=4 {
                let y = bottom - (bottom - top) * k / 4;
                let v = lo + (hi - lo) * f64::from(k) / 4.0;
                area.draw(&PathElement::new(
                    vec![(bx + 36, y), (bx + 44, y)],
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?;
                area.draw(&Text::new(
                    short_number(v),
                    (bx + 48, y - 9),
                    tick_font.clone(),
                ))
                .map_err(err)?;
            }
            area.draw(&Text::new(
                value_label.clone(),
                (bx - 20, top - 40),
                tick_font.clone(),
            ))
            .map_err(err)?;
        }
    }
    area.present().map_err(err)?;
    Ok(())
}

/// Draw `chart` into `dir/NAME.svg` and `dir/NAME.png` (each through a temporary name), and
/// return the SVG text.
pub fn render(dir: &Path, name: &str, chart: &Chart) -> Result<String, ReportError> {
    let fail = |path: &Path, message: String| ReportError::Write {
        path: path.to_path_buf(),
        message,
    };
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(chart, &area).map_err(|m| fail(&dir.join(format!("{name}.svg")), m))?;
    }
    crate::experiment::outputs::write_atomic(dir, &format!("{name}.svg"), svg.as_bytes())
        .map_err(|e| fail(&dir.join(format!("{name}.svg")), e.to_string()))?;
    let png = dir.join(format!("{name}.png"));
    let tmp = dir.join(format!(".{name}.tmp.png"));
    {
        let area = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        draw(chart, &area).map_err(|m| fail(&png, m))?;
    }
    std::fs::rename(&tmp, &png).map_err(|e| fail(&png, e.to_string()))?;
    Ok(svg)
}
