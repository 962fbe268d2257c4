//! report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) that
//! shows what a run measured, what it says about each claim, and how to run it again.
//!
//! # Layout
//!
//! - `axes`: linear and log axes with readable ticks.
//! - `charts`: line charts drawn by plotters into inline SVG.
//! - `plots`: what every chart is made of: colours, series per system, legends, notes.
//! - `trends`: the charts against load (throughput, latency, cost, errors).
//! - `spectra`: the latency percentile spectra from the stored histograms.
//! - `open`: the open model's corrected and uncorrected latency, and its schedule.
//! - `tables`: the summary, every step, flags and failed requests.
//! - `sections`: the claims, the scenario and the machine.

mod axes;
mod charts;
mod open;
mod plots;
mod sections;
mod spectra;
mod tables;
mod trends;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::claims;
use crate::model::{LoadModel, Report, RunStatus};
use plots::{Figure, Legend};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    File(#[from] crate::file::Error),
    #[error("the chart font could not be loaded")]
    Font,
    #[error("cannot draw a chart: {0}")]
    Chart(String),
}

const STYLE: &str = include_str!("style.css");

/// The whole page for a report.
pub fn render(report: &Report) -> Result<String, Error> {
    let mut page = String::with_capacity(512 * 1024);
    let name = escape(&report.scenario.name);
    let _ = writeln!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>authbench: {name}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>"
    );
    header(&mut page, report);
    page.push_str("<main>\n");
    let open = report.load_model == LoadModel::Open || has_uncorrected(report);
    section(&mut page, "summary", "Summary", &tables::summary(report));
    section(
        &mut page,
        "claims",
        "Claims",
        &sections::claims(report, &claims::assess(report)),
    );
    let load = figures(&trends::load_figures(report))?;
    section(&mut page, "throughput", "Throughput and latency", &load);
    let mut cost = figures(&trends::cost_figures(report))?;
    if !report
        .steps
        .iter()
        .flat_map(|s| &s.results)
        .any(|r| r.derived.store_cpu_us_per_request.is_some())
    {
        cost.insert_str(
            0,
            "<p class=\"note\">No system's store ran in processes of its own (stores in memory or \
             SQLite live inside the server), so store CPU is not separable: it is part of the \
             server's CPU. Store operations are counted by the server.</p>\n",
        );
    }
    section(&mut page, "cost", "Store and server cost", &cost);
    let mut errors = figures(&trends::error_figure(report).into_iter().collect::<Vec<_>>())?;
    errors.push_str(&tables::error_kinds(report));
    section(&mut page, "errors", "Errors", &errors);
    let spectrum_intro = match spectra::spectrum_operation(report) {
        Some(op) => format!(
            "<p>The whole latency distribution of {} requests: first every system at its \
             highest step, then each system at its lowest step, its highest step that met the \
             SLO, and its highest step. The right-hand end is the tail a percentile table \
             hides.</p>\n",
            op.as_str()
        ),
        None => String::new(),
    };
    let spectra = figures(&spectra::spectrum_figures(report))?;
    section(
        &mut page,
        "spectrum",
        "Latency spectrum",
        &(spectrum_intro + &spectra),
    );
    if open {
        let body = open::section(report)?;
        section(
            &mut page,
            "coordinated-omission",
            "Corrected and uncorrected latency",
            &body,
        );
    }
    section(&mut page, "steps", "Every step", &tables::steps(report));
    section(
        &mut page,
        "flags",
        "Flags and events",
        &tables::flags(report),
    );
    section(
        &mut page,
        "scenario",
        "Scenario",
        &sections::scenario(report),
    );
    section(&mut page, "machine", "Machine", &sections::machine(report));
    let _ = writeln!(
        page,
        "</main>\n<footer>Written by {} from report.json (schema {}). Self-contained: no \
         script, nothing loaded from the network.</footer>\n</body>\n</html>",
        escape(&report.generator),
        report.schema_version
    );
    Ok(page)
}

/// Writes `report` as `run_dir/report.html`, atomically.
pub fn write(report: &Report, run_dir: &Path) -> Result<PathBuf, Error> {
    let page = render(report)?;
    let path = run_dir.join("report.html");
    crate::file::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

fn has_uncorrected(report: &Report) -> bool {
    report
        .steps
        .iter()
        .flat_map(|step| &step.results)
        .flat_map(|result| &result.operations)
        .any(|stats| stats.latency_uncorrected.is_some())
}

const NAV: [(&str, &str); 11] = [
    ("summary", "Summary"),
    ("claims", "Claims"),
    ("throughput", "Throughput and latency"),
    ("cost", "Store and server cost"),
    ("errors", "Errors"),
    ("spectrum", "Spectrum"),
    ("coordinated-omission", "Corrected latency"),
    ("steps", "Every step"),
    ("flags", "Flags"),
    ("scenario", "Scenario"),
    ("machine", "Machine"),
];

fn header(page: &mut String, report: &Report) {
    let model = match report.load_model {
        LoadModel::Closed => "closed model (virtual users)",
        LoadModel::Open => "open model (arrival rate)",
    };
    let _ = writeln!(
        page,
        "<header>\n<p class=\"kicker\">authbench report</p>\n<h1>{}</h1>\n\
         <p class=\"lede\">{}</p>\n<p class=\"meta\">{} systems · {} steps · {model} · {} repeats \
         per step · started {} · \
         finished {}</p>",
        escape(&report.scenario.name),
        escape(&report.scenario.description),
        report.systems.len(),
        report.steps.len(),
        report.scenario.repeats,
        escape(&crate::format::timestamp(&report.started_at)),
        escape(&crate::format::timestamp(&report.finished_at)),
    );
    if let RunStatus::Partial { reason } = &report.status {
        let _ = writeln!(
            page,
            "<p class=\"banner\" role=\"alert\"><strong>Partial run.</strong> {}: the figures \
             below are what was measured before it stopped.</p>",
            escape(reason)
        );
    }
    let open = report.load_model == LoadModel::Open || has_uncorrected(report);
    page.push_str("<nav aria-label=\"Sections\"><ul>\n");
    for (id, label) in NAV {
        if id == "coordinated-omission" && !open {
            continue;
        }
        let _ = writeln!(page, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    page.push_str("</ul></nav>\n</header>\n");
}

fn section(page: &mut String, id: &str, title: &str, body: &str) {
    let _ = writeln!(
        page,
        "<section id=\"{id}\" aria-labelledby=\"{id}-heading\">\n\
         <h2 id=\"{id}-heading\"><a class=\"anchor\" href=\"#{id}\">{title}</a></h2>\n\
         {body}</section>"
    );
}

fn figures(figures: &[Figure]) -> Result<String, Error> {
    let mut html = String::from("<div class=\"charts\">\n");
    for figure in figures {
        html.push_str(&figure_html(figure)?);
    }
    html.push_str("</div>\n");
    Ok(html)
}

fn figure_html(figure: &Figure) -> Result<String, Error> {
    let svg = charts::svg(&figure.chart)?;
    let id = &figure.id;
    let title = escape(&figure.chart.title);
    // Inline SVG needs no namespace, and role + title make it an image with a name for
    // screen readers.
    let svg = svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-labelledby=\"{id}-title\" "),
            1,
        );
    let svg = match svg.find('>') {
        Some(end) => format!(
            "{}<title id=\"{id}-title\">{title}</title>{}",
            &svg[..=end],
            &svg[end + 1..]
        ),
        None => svg,
    };
    let mut legend = String::from("<ul class=\"legend\">");
    for item in &figure.legend {
        match item {
            Legend::Line { label, color, dash } => {
                let _ = write!(
                    legend,
                    "<li><span class=\"swatch\" style=\"border-top: 3px {} {}\"></span>\
                     {}</li>",
                    dash.css(),
                    plots::hex(*color),
                    escape(label)
                );
            }
            Legend::Flagged => legend.push_str(
                "<li><span class=\"ring\"></span><span>flagged step \
                 (see <a href=\"#flags\">Flags</a>)</span></li>",
            ),
            Legend::Guide(label) => {
                let item = escape(label);
                let _ = write!(
                    legend,
                    "<li><span class=\"swatch guide\"></span>{item}</li>"
                );
            }
        }
    }
    legend.push_str("</ul>");
    Ok(format!(
        "<figure class=\"chart\" id=\"{id}\">\n\
         <figcaption><span class=\"chart-title\">{title}</span> {}</figcaption>\n\
         <div class=\"plot\">{svg}</div>\n{legend}\n</figure>\n",
        escape(&figure.caption)
    ))
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}
