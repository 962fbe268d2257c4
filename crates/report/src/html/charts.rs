//! Line charts as inline SVG, drawn by plotters: one look for every chart in the report (axes,
//! grid, markers for flagged steps, log axes with readable ticks).

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Error;
use super::axes::{Frame, Ticked};

/// Every chart is this size; CSS scales it down on narrow screens.
pub const SIZE: (u32, u32) = (700, 380);
/// Drawn around points from flagged steps (and in the legend beside them).
pub const FLAG_COLOR: RGBColor = RGBColor(0x1f, 0x23, 0x28);
const GRID_BOLD: RGBColor = RGBColor(0xd8, 0xdc, 0xe2);
const GRID_LIGHT: RGBColor = RGBColor(0xef, 0xf1, 0xf4);
const INK: RGBColor = RGBColor(0x33, 0x3a, 0x44);
const GUIDE: RGBColor = RGBColor(0x6b, 0x72, 0x80);

/// DejaVu Sans, only to measure label widths while laying out; the SVG names "sans-serif".
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() -> Result<(), Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if *ok { Ok(()) } else { Err(Error::Font) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// The CSS border style that draws the same line in a legend.
    pub fn css(self) -> &'static str {
        match self {
            Dash::Solid => "solid",
            Dash::Dashed => "dashed",
            Dash::Dotted => "dotted",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub flagged: bool,
}

#[derive(Clone, Debug)]
pub struct Series {
    /// Names the curve in notes about it ("session-redis p99").
    pub label: String,
    pub color: RGBColor,
    pub dash: Dash,
    pub points: Vec<Point>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
    /// Log where the positive values span more than 20×, linear from zero otherwise.
    Auto,
}

#[derive(Clone, Debug)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    /// Tick positions; chosen from the data where none are given.
    pub ticks: Option<Vec<f64>>,
    pub format: fn(f64) -> String,
}

/// A horizontal reference line, such as the SLO's latency.
#[derive(Clone, Debug)]
pub struct Guide {
    pub y: f64,
    pub label: String,
}

/// A vertical reference line, such as the start of a burst.
#[derive(Clone, Debug)]
pub struct Mark {
    pub x: f64,
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub guides: Vec<Guide>,
    pub marks: Vec<Mark>,
}

/// Draws a chart into an SVG document.
pub fn svg(chart: &Chart) -> Result<String, Error> {
    register_font()?;
    let mut xs: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .collect();
    xs.extend(chart.marks.iter().map(|mark| mark.x));
    let mut ys: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.y))
        .collect();
    ys.extend(chart.guides.iter().map(|guide| guide.y));
    let (x, y) = (Frame::new(&chart.x, &xs), Frame::new(&chart.y, &ys));
    let mut text = String::new();
    draw(chart, &x, &y, &mut text).map_err(|error| Error::Chart(error.to_string()))?;
    Ok(text)
}

fn draw(
    chart: &Chart,
    x: &Frame,
    y: &Frame,
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut context = ChartBuilder::on(&root)
        .margin_top(14)
        .margin_right(24)
        .margin_left(8)
        .margin_bottom(6)
        .x_label_area_size(50)
        .y_label_area_size(84)
        .build_cartesian_2d(x.axis(), y.axis())?;
    let x_format = |value: &f64| (chart.x.format)(x.back(*value));
    let y_format = |value: &f64| (chart.y.format)(y.back(*value));
    context
        .configure_mesh()
        .bold_line_style(GRID_BOLD.stroke_width(1))
        .light_line_style(GRID_LIGHT.stroke_width(1))
        .axis_style(INK.stroke_width(1))
        .x_desc(chart.x.label.as_str())
        .y_desc(chart.y.label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style(("sans-serif", 15).into_font().color(&INK))
        .axis_desc_style(("sans-serif", 16).into_font().color(&INK))
        .draw()?;
    for guide in &chart.guides {
        let Some(level) = y.forward(guide.y) else {
            continue;
        };
        // Right-aligned just above the line, where curves rising to it are least likely to be.
        let label = Label {
            text: &guide.label,
            at: (
                x.high - (x.high - x.low) * 0.01,
                level + (y.high - y.low) * 0.01,
            ),
            pos: Pos::new(HPos::Right, VPos::Bottom),
        };
        reference_line(&mut context, [(x.low, level), (x.high, level)], label)?;
    }
    for mark in &chart.marks {
        let Some(at) = x.forward(mark.x) else {
            continue;
        };
        // Just right of the line, at the top, where the label reads as naming it.
        let label = Label {
            text: &mark.label,
            at: (
                at + (x.high - x.low) * 0.006,
                y.high - (y.high - y.low) * 0.01,
            ),
            pos: Pos::new(HPos::Left, VPos::Top),
        };
        reference_line(&mut context, [(at, y.low), (at, y.high)], label)?;
    }
    for series in &chart.series {
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter_map(|p| Some((x.forward(p.x)?, y.forward(p.y)?)))
            .collect();
        let style = series.color.stroke_width(2);
        match series.dash {
            Dash::Solid => {
                context.draw_series(LineSeries::new(points.clone(), style))?;
            }
            Dash::Dashed => {
                context.draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))?;
            }
            Dash::Dotted => {
                context.draw_series(DashedLineSeries::new(points.clone(), 2, 4, style))?;
            }
        }
        // Markers only where a curve has few points (steps), not on dense spectra.
        if points.len() <= 40 {
            let fill = series.color.filled();
            context.draw_series(points.iter().map(|p| Circle::new(*p, 3, fill)))?;
        }
        let flagged = series
            .points
            .iter()
            .filter(|p| p.flagged)
            .filter_map(|p| Some((x.forward(p.x)?, y.forward(p.y)?)));
        context.draw_series(flagged.map(|p| Circle::new(p, 7, FLAG_COLOR.stroke_width(2))))?;
    }
    root.present()?;
    Ok(())
}

/// Where a reference line's name goes, and which of its corners sits there.
struct Label<'a> {
    text: &'a str,
    at: (f64, f64),
    pos: Pos,
}

/// A thin dashed line from one end to the other, with its name beside it.
fn reference_line<DB: DrawingBackend>(
    context: &mut ChartContext<'_, DB, Cartesian2d<Ticked, Ticked>>,
    ends: [(f64, f64); 2],
    label: Label<'_>,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    context.draw_series(DashedLineSeries::new(ends, 6, 4, GUIDE.stroke_width(1)))?;
    let style = ("sans-serif", 13).into_font().color(&GUIDE).pos(label.pos);
    context.draw_series(std::iter::once(Text::new(
        label.text.to_owned(),
        label.at,
        style,
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_lines_and_flag_markers() {
        let chart = Chart {
            title: "t".into(),
            x: Axis {
                label: "x".into(),
                scale: Scale::Linear,
                ticks: Some(vec![1.0, 2.0]),
                format: |v| v.to_string(),
            },
            y: Axis {
                label: "y".into(),
                scale: Scale::Log,
                ticks: None,
                format: |v| v.to_string(),
            },
            series: vec![Series {
                label: "s".into(),
                color: RGBColor(1, 2, 3),
                dash: Dash::Dashed,
                points: vec![
                    Point {
                        x: 1.0,
                        y: 10.0,
                        flagged: false,
                    },
                    Point {
                        x: 2.0,
                        y: 1000.0,
                        flagged: true,
                    },
                ],
            }],
            marks: vec![Mark {
                x: 1.5,
                label: "burst".into(),
            }],
            guides: vec![Guide {
                y: 500.0,
                label: "SLO".into(),
            }],
        };
        let svg = svg(&chart).expect("drawn");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<polyline") || svg.contains("<line"));
        assert!(svg.to_ascii_lowercase().contains("#1f2328"));
    }
}
