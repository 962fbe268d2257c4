//! The charts against load (concurrency or arrival rate): throughput, latency per operation,
//! store and server cost per request, the cores each process kept busy, and errors.

use plotters::style::RGBColor;

use super::charts::{Dash, Guide, Scale};
use super::plots::{
    Draft, Figure, Legend, axis, capitalised, figure, load_axis, operation, operations, per_system,
    slo_guide,
};
use crate::format::{micros_short, short};
use crate::model::{LoadModel, Report, SystemStep};

/// Throughput and latency against load.
pub fn load_figures(report: &Report) -> Vec<Figure> {
    let mut figures = Vec::new();
    let (series, legend) = per_system(report, Dash::Solid, "", &|r| Some(r.requests_per_second));
    figures.extend(figure(Draft {
        id: "chart-throughput",
        title: "Throughput",
        caption: "Requests per second each system completed, all operations together. A curve \
                  that flattens is that system's ceiling on this machine."
            .to_owned(),
        x: load_axis(report),
        y: axis("requests/s", Scale::Linear, short),
        series,
        legend,
        guides: Vec::new(),
    }));
    let measured_from = match report.load_model {
        LoadModel::Closed => "from each request's send",
        LoadModel::Open => {
            "from each request's intended send time (corrected for coordinated omission)"
        }
    };
    for op in operations(report) {
        let mut series = Vec::new();
        let mut legend = Vec::new();
        for (dash, suffix, pick) in [
            (
                Dash::Solid,
                " p50",
                (|l: &crate::model::Latency| l.p50_us) as fn(&crate::model::Latency) -> u64,
            ),
            (Dash::Dashed, " p99", |l| l.p99_us),
            (Dash::Dotted, " p99.9", |l| l.p999_us),
        ] {
            let (found, names) = per_system(report, dash, suffix, &|r| {
                operation(r, op).map(|s| pick(&s.latency) as f64)
            });
            series.extend(found);
            if legend.is_empty() {
                legend = names;
            }
        }
        legend.push(Legend::Line {
            label: "p50".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Solid,
        });
        legend.push(Legend::Line {
            label: "p99".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Dashed,
        });
        legend.push(Legend::Line {
            label: "p99.9".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Dotted,
        });
        let name = op.as_str();
        figures.extend(figure(Draft {
            id: &format!("chart-latency-{name}"),
            title: &format!("{} latency", capitalised(name)),
            caption: format!(
                "p50, p99 and p99.9 latency of {name} requests, {measured_from}; log scale."
            ),
            x: load_axis(report),
            y: axis("latency", Scale::Log, micros_short),
            series,
            legend,
            guides: slo_guide(report, op),
        }));
    }
    figures
}

/// A per-request figure charted against load: id, title, caption, scale, tick format, value.
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    Scale,
    fn(f64) -> String,
    fn(&SystemStep) -> Option<f64>,
);

/// Store and server cost per request, and the cores each used.
pub fn cost_figures(report: &Report) -> Vec<Figure> {
    let mut figures = Vec::new();
    let per_request: [Metric; 3] = [
        (
            "chart-store-operations",
            "Store operations per request",
            "Session-store operations per request (Redis commands, Postgres transactions, or the \
             store calls the server counted): 1 means every request read the store.",
            Scale::Linear,
            short,
            |r| r.derived.store_operations_per_request,
        ),
        (
            "chart-store-cpu",
            "Store CPU per request",
            "CPU time of the store's own processes per request. Stores inside the server process \
             (memory, SQLite) have none of their own: their CPU is part of the server's.",
            Scale::Auto,
            micros_short,
            |r| r.derived.store_cpu_us_per_request,
        ),
        (
            "chart-server-cpu",
            "Server CPU per request",
            "CPU time of the server process per request: HTTP, authentication and the balance.",
            Scale::Auto,
            micros_short,
            |r| r.derived.server_cpu_us_per_request,
        ),
    ];
    for (id, title, caption, scale, format, y) in per_request {
        let (series, legend) = per_system(report, Dash::Solid, "", &y);
        figures.extend(figure(Draft {
            id,
            title,
            caption: caption.to_owned(),
            x: load_axis(report),
            y: axis(title, scale, format),
            series,
            legend,
            guides: Vec::new(),
        }));
    }
    let cores = |cpu: Option<f64>, r: &SystemStep| {
        cpu.filter(|_| r.duration_s > 0.0).map(|s| s / r.duration_s)
    };
    let (mut series, mut legend) = per_system(report, Dash::Solid, " server", &|r| {
        cores(r.resources.server_cpu_s, r)
    });
    let (store, _) = per_system(report, Dash::Dashed, " store", &|r| {
        cores(r.store.as_ref().and_then(|s| s.cpu_s), r)
    });
    if !store.is_empty() {
        // External systems have no server process the run can read.
        if !series.is_empty() {
            legend.push(Legend::Line {
                label: "server".into(),
                color: RGBColor(0x55, 0x5b, 0x66),
                dash: Dash::Solid,
            });
        }
        legend.push(Legend::Line {
            label: "store".into(),
            color: RGBColor(0x55, 0x5b, 0x66),
            dash: Dash::Dashed,
        });
    }
    series.extend(store);
    figures.extend(figure(Draft {
        id: "chart-cores",
        title: "CPU cores busy",
        caption: "CPU seconds per second of measured time: the server process (solid) and the \
                  store's own processes (dashed). Whichever reaches the cores it may use first is \
                  what saturates."
            .to_owned(),
        x: load_axis(report),
        y: axis("cores busy", Scale::Linear, short),
        series,
        legend,
        guides: core_guide(report),
    }));
    figures
}

/// The cores each server may use, where every spawned server had the same number.
fn core_guide(report: &Report) -> Vec<Guide> {
    let run = crate::claims::Run::new(report);
    let mut limits = run
        .systems
        .iter()
        .filter(|system| system.info.pid.is_some())
        .map(|system| system.core_limit(report.machine.cores));
    let Some(first) = limits.next() else {
        return Vec::new();
    };
    if limits.any(|limit| limit != first) {
        return Vec::new();
    }
    let unit = if first == 1.0 { "core" } else { "cores" };
    vec![Guide {
        y: first,
        label: format!("each server may use {} {unit}", short(first)),
    }]
}

pub fn error_figure(report: &Report) -> Option<Figure> {
    let rate = |r: &SystemStep| Some(100.0 * r.errors as f64 / r.requests.max(1) as f64);
    let (series, legend) = per_system(report, Dash::Solid, "", &rate);
    let guide = Guide {
        y: report.slo.max_error_rate * 100.0,
        label: format!(
            "SLO: errors ≤ {}%",
            short(report.slo.max_error_rate * 100.0)
        ),
    };
    figure(Draft {
        id: "chart-errors",
        title: "Error rate",
        caption: "Failed requests (connection errors, timeouts, non-2xx answers) as a share of \
                  all requests."
            .to_owned(),
        x: load_axis(report),
        y: axis("errors", Scale::Linear, |v| format!("{}%", short(v))),
        series,
        legend,
        guides: vec![guide],
    })
}
