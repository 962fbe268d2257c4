//! What every chart of the report is made of: system colours, series per system across the
//! steps, legends, reference lines, and the notes a figure needs (curves drawn over each other).

use plotters::style::RGBColor;

use super::charts::{Axis, Chart, Dash, Guide, Point, Scale, Series};
use crate::format::{self, micros_short, short};
use crate::model::{Operation, Report, SystemStep};

/// Okabe–Ito's colour-blind-safe palette, then two darker tones; system N always gets colour N.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x88, 0x22, 0x55),
];

pub fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

pub fn hex(color: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

/// A chart with what the page says around it.
#[derive(Debug)]
pub struct Figure {
    /// The element id: `chart-throughput`, `chart-latency-balance`, ...
    pub id: String,
    pub chart: Chart,
    pub caption: String,
    pub legend: Vec<Legend>,
}

#[derive(Clone, Debug)]
pub enum Legend {
    Line {
        label: String,
        color: RGBColor,
        dash: Dash,
    },
    /// The ring drawn around points from flagged steps.
    Flagged,
    Guide(String),
}

/// Lowercase letters, digits and dashes, for element ids.
pub fn slug(text: &str) -> String {
    let mut slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.truncate(60);
    slug
}

/// One system at every step where it ran, with whether the step was flagged.
pub fn points(report: &Report, system: &str, y: &dyn Fn(&SystemStep) -> Option<f64>) -> Vec<Point> {
    report
        .steps
        .iter()
        .filter_map(|step| {
            let result = step.results.iter().find(|r| r.system == system)?;
            if result.requests == 0 {
                return None;
            }
            Some(Point {
                x: step.position(),
                y: y(result).filter(|value| value.is_finite())?,
                flagged: !result.flags.is_empty(),
            })
        })
        .collect()
}

pub fn load_axis(report: &Report) -> Axis {
    let loads: Vec<f64> = report.steps.iter().map(|step| step.position()).collect();
    let (low, high) = format::extent(loads.iter().copied()).unwrap_or((1.0, 1.0));
    let scale = if low > 0.0 && high / low >= 8.0 {
        Scale::Log
    } else {
        Scale::Linear
    };
    Axis {
        label: if report.steps_population() {
            "live sessions in the store (population)".to_owned()
        } else {
            format::load_axis(report.load_model).to_owned()
        },
        scale,
        ticks: Some(loads),
        format: short,
    }
}

/// One series per system in its colour, legend entries beside them.
pub fn per_system(
    report: &Report,
    dash: Dash,
    suffix: &str,
    y: &dyn Fn(&SystemStep) -> Option<f64>,
) -> (Vec<Series>, Vec<Legend>) {
    let mut series = Vec::new();
    let mut legend = Vec::new();
    for (index, system) in report.systems.iter().enumerate() {
        let found = points(report, &system.name, y);
        if found.is_empty() {
            continue;
        }
        let label = format!("{}{suffix}", system.name);
        series.push(Series {
            label,
            color: color(index),
            dash,
            points: found,
        });
        legend.push(Legend::Line {
            label: system.name.clone(),
            color: color(index),
            dash: Dash::Solid,
        });
    }
    (series, legend)
}

/// What a figure is made of, before it is checked for points and given its notes.
pub struct Draft<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub caption: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub legend: Vec<Legend>,
    pub guides: Vec<Guide>,
}

pub fn figure(draft: Draft<'_>) -> Option<Figure> {
    let Draft {
        id,
        title,
        caption,
        x,
        y,
        series,
        mut legend,
        guides,
    } = draft;
    if series.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    if series.iter().any(|s| s.points.iter().any(|p| p.flagged)) {
        legend.push(Legend::Flagged);
    }
    legend.extend(guides.iter().map(|g| Legend::Guide(g.label.clone())));
    let caption = caption + &coincident(&series);
    let chart = Chart {
        title: title.to_owned(),
        x,
        y,
        series,
        guides,
        marks: Vec::new(),
    };
    Some(Figure {
        id: id.to_owned(),
        chart,
        caption,
        legend,
    })
}

/// Names curves drawn over one another, which would otherwise look like a missing system.
fn coincident(series: &[Series]) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.y.abs()))
        .fold(0.0, f64::max);
    let same = |a: &Series, b: &Series| {
        a.dash == b.dash
            && a.points.len() == b.points.len()
            && a.points
                .iter()
                .zip(&b.points)
                .all(|(p, q)| p.x == q.x && (p.y - q.y).abs() <= 0.005 * top.max(f64::MIN_POSITIVE))
    };
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut placed = vec![false; series.len()];
    for (i, first) in series.iter().enumerate() {
        if placed[i] || first.points.is_empty() {
            continue;
        }
        let mut group = vec![first.label.as_str()];
        for (j, other) in series.iter().enumerate().skip(i + 1) {
            if !placed[j] && same(first, other) {
                placed[j] = true;
                group.push(other.label.as_str());
            }
        }
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
        .iter()
        .map(|group| match group.split_last() {
            Some((last, rest)) => {
                format!(" {} and {last} lie on top of one another.", rest.join(", "))
            }
            None => String::new(),
        })
        .collect()
}

pub fn axis(label: &str, scale: Scale, format: fn(f64) -> String) -> Axis {
    Axis {
        label: label.to_owned(),
        scale,
        ticks: None,
        format,
    }
}

/// The operations that ran in any step, in flow order.
pub fn operations(report: &Report) -> Vec<Operation> {
    let mut found: Vec<Operation> = report
        .steps
        .iter()
        .flat_map(|step| step.results.iter())
        .flat_map(|result| result.operations.iter())
        .filter(|stats| stats.requests > 0)
        .map(|stats| stats.operation)
        .collect();
    found.sort();
    found.dedup();
    found
}

pub fn operation(
    result: &SystemStep,
    operation: Operation,
) -> Option<&crate::model::OperationStats> {
    result
        .operations
        .iter()
        .find(|stats| stats.operation == operation && stats.latency.count > 0)
}

pub fn slo_guide(report: &Report, op: Operation) -> Vec<Guide> {
    if !report.slo.operations.contains(&op) {
        return Vec::new();
    }
    vec![Guide {
        y: report.slo.latency_us as f64,
        label: format!(
            "SLO: p{} ≤ {}",
            short(report.slo.percentile),
            micros_short(report.slo.latency_us as f64)
        ),
    }]
}

pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
