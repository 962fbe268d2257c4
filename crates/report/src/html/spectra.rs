//! The latency percentile spectra, HdrHistogram style: latency against 1/(1-q) on log axes, per
//! system at its lowest step, its highest that met the SLO and its highest, from the stored
//! histograms.

use plotters::style::RGBColor;

use super::charts::{Axis, Dash, Point, Scale, Series};
use super::plots::{
    Draft, Figure, Legend, axis, color, figure, operation, operations, slo_guide, slug,
};
use crate::format::{self, micros_short};
use crate::histogram;
use crate::model::{Operation, OperationStats, Report, SystemStep};

/// The operation whose spectrum is drawn: the SLO's first, else balance.
pub fn spectrum_operation(report: &Report) -> Option<Operation> {
    let ran = operations(report);
    report
        .slo
        .operations
        .iter()
        .copied()
        .find(|op| ran.contains(op))
        .or_else(|| {
            ran.contains(&Operation::Balance)
                .then_some(Operation::Balance)
                .or_else(|| ran.first().copied())
        })
}

/// The steps a system ran the operation at, in rising load.
fn ran<'a>(report: &'a Report, system: &str, op: Operation) -> Vec<(f64, &'a SystemStep)> {
    report
        .steps
        .iter()
        .filter_map(|step| {
            let result = step.results.iter().find(|r| r.system == system)?;
            operation(result, op).map(|_| (step.position(), result))
        })
        .collect()
}

/// One step's spectrum as a curve, or why it could not be drawn.
fn curve(
    label: String,
    stats: &OperationStats,
    color: RGBColor,
    dash: Dash,
) -> Result<Series, String> {
    let decoded = histogram::decode(&stats.histogram).map_err(|error| error.to_string())?;
    let points = histogram::spectrum(&decoded)
        .iter()
        .map(|p| Point {
            x: p.x,
            y: p.value_us as f64,
            flagged: false,
        })
        .collect();
    Ok(Series {
        label,
        color,
        dash,
        points,
    })
}

/// The percentile axis, as far as the samples reach.
fn percentile_axis(series: &[Series]) -> Axis {
    let reach = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .fold(1.0f64, f64::max);
    // 1, 2, 10, 100, ...: 0%, 50%, 90%, 99%, ...
    let ticks = [1.0, 2.0]
        .into_iter()
        .chain((1..=9).map(|e| 10f64.powi(e)))
        .filter(|t| *t <= reach * 1.0001)
        .collect();
    Axis {
        label: "percentile".into(),
        scale: Scale::Log,
        ticks: Some(ticks),
        format: histogram::quantile_label,
    }
}

/// Every system's spectrum at its highest step on one chart, then one chart per system at its
/// lowest step, its highest that met the SLO and its highest.
pub fn spectrum_figures(report: &Report) -> Vec<Figure> {
    let Some(op) = spectrum_operation(report) else {
        return Vec::new();
    };
    let name = op.as_str();
    let load = |value: f64| format::position(report, value);
    let mut figures = Vec::new();
    let (mut series, mut legend, mut notes) = (Vec::new(), Vec::new(), String::new());
    for (index, system) in report.systems.iter().enumerate() {
        let Some(&(at, result)) = ran(report, &system.name, op).last() else {
            continue;
        };
        let Some(stats) = operation(result, op) else {
            continue;
        };
        match curve(system.name.clone(), stats, color(index), Dash::Solid) {
            Ok(drawn) => series.push(drawn),
            Err(error) => {
                notes.push_str(&format!(
                    " {}'s histogram could not be read: {error}.",
                    system.name
                ));
                continue;
            }
        }
        let flagged = if result.flags.is_empty() {
            ""
        } else {
            ", flagged"
        };
        legend.push(Legend::Line {
            label: format!("{} at {}{flagged}", system.name, load(at)),
            color: color(index),
            dash: Dash::Solid,
        });
    }
    figures.extend(figure(Draft {
        id: "chart-spectrum-top",
        title: &format!("Every system's {name} latency spectrum at its highest step"),
        caption: format!(
            "Latency of {name} requests at every percentile, each system at the highest step it \
             ran; both axes log scale, so each extra nine gets the same width.{notes}"
        ),
        x: percentile_axis(&series),
        y: axis("latency", Scale::Log, micros_short),
        series,
        legend,
        guides: slo_guide(report, op),
    }));
    for (index, system) in report.systems.iter().enumerate() {
        figures.extend(system_spectrum(report, op, index, &system.name));
    }
    figures
}

/// One system's spectrum at its lowest step, its highest that met the SLO and its highest.
fn system_spectrum(report: &Report, op: Operation, index: usize, system: &str) -> Option<Figure> {
    let ran = ran(report, system, op);
    if ran.is_empty() {
        // A partial run can end before this system's first turn.
        return None;
    }
    let met = ran.iter().rposition(|(_, r)| r.slo_met);
    let mut chosen: Vec<(usize, Vec<&str>, Dash)> = Vec::new();
    for (position, label, dash) in [
        (Some(0), "lowest step", Dash::Dotted),
        (met, "highest that met the SLO", Dash::Dashed),
        (ran.len().checked_sub(1), "highest step", Dash::Solid),
    ] {
        let Some(position) = position else { continue };
        match chosen.iter_mut().find(|(p, _, _)| *p == position) {
            // One step can be all three; it is drawn once, in the style of the last name.
            Some(existing) => {
                existing.1.push(label);
                existing.2 = dash;
            }
            None => chosen.push((position, vec![label], dash)),
        }
    }
    let (mut series, mut legend, mut notes) = (Vec::new(), Vec::new(), String::new());
    for (position, labels, dash) in chosen {
        let (at, result) = ran[position];
        let at = format::position(report, at);
        let Some(stats) = operation(result, op) else {
            continue;
        };
        match curve(format!("{system} at {at}"), stats, color(index), dash) {
            Ok(drawn) => series.push(drawn),
            Err(error) => {
                notes.push_str(&format!(
                    " The histogram at {at} could not be read: {error}."
                ));
                continue;
            }
        }
        let flagged = if result.flags.is_empty() {
            ""
        } else {
            ", flagged"
        };
        legend.push(Legend::Line {
            label: format!("{at} ({}{flagged})", labels.join(", ")),
            color: color(index),
            dash,
        });
    }
    let name = op.as_str();
    figure(Draft {
        id: &format!("chart-spectrum-{}", slug(system)),
        title: &format!("{system}: {name} latency spectrum"),
        caption: format!(
            "{system}'s {name} latency at every percentile, from its HDR histograms.{notes}"
        ),
        x: percentile_axis(&series),
        y: axis("latency", Scale::Log, micros_short),
        series,
        legend,
        guides: slo_guide(report, op),
    })
}
