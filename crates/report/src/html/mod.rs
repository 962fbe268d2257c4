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
//! - `population`: a population run's loads, store counts and memory per step.
//! - `faults`: the store faults' timelines and figures.
//! - `tables`: the summary, every step, flags and failed requests.
//! - `sections`: the claims, the scenario and the machine.
//! - `store_commands`: each system's store commands by key pattern.
//! - `shards`: a sharded store's load, shard by shard.

mod axes;
mod charts;
mod drift;
mod faults;
mod open;
mod overload;
mod plots;
mod population;
mod sections;
mod services;
mod shards;
mod spectra;
mod store_commands;
mod tables;
mod trends;

use std::path::{Path, PathBuf};

use maud::{DOCTYPE, Markup, PreEscaped, html};

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
    let open = report.load_model == LoadModel::Open || has_uncorrected(report);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "authbench: " (report.scenario.name) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (header(report, open))
                main {
                    (section("summary", "Summary", tables::summary(report)))
                    (section("claims", "Claims", sections::claims(report, &claims::assess(report))))
                    (section("throughput", "Throughput and latency", figures(&trends::load_figures(report))?))
                    (section("cost", "Store and server cost", cost(report)?))
                    @if report.steps_population() {
                        (section("population", "Session population", population::section(report)))
                    }
                    @if overload::present(report) {
                        (section("overload", "Overload", html! {
                            (overload::section(report))
                            (figures(&overload::figures(report))?)
                        }))
                    }
                    @if services::present(report) {
                        (section("services", "Across services", services::section(report)))
                    }
                    @if faults::present(report) {
                        (section("faults", "Faults", html! {
                            (faults::section(report))
                            (figures(&faults::figures(report))?)
                        }))
                    }
                    @if drift::present(report) {
                        (section("drift", "Drift over the run", drift::section(report)))
                    }
                    (section("errors", "Errors", errors(report)?))
                    (section("spectrum", "Latency spectrum", spectrum(report)?))
                    @if open {
                        (section("coordinated-omission", "Corrected and uncorrected latency", open::section(report)?))
                    }
                    (section("steps", "Every step", tables::steps(report)))
                    (section("flags", "Flags and events", tables::flags(report)))
                    (section("scenario", "Scenario", sections::scenario(report)))
                    (section("machine", "Machine", sections::machine(report)))
                }
                footer {
                    "Written by " (report.generator) " from report.json (schema "
                    (report.schema_version) "). Self-contained: no script, nothing loaded from \
                     the network."
                }
            }
        }
    };
    Ok(page.into_string())
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

/// The cost charts, with a note where no store ran in a process of its own.
fn cost(report: &Report) -> Result<Markup, Error> {
    let separable = report
        .steps
        .iter()
        .flat_map(|s| &s.results)
        .any(|r| r.derived.store_cpu_us_per_request.is_some());
    Ok(html! {
        @if !separable {
            p.note {
                "No system's store ran in processes of its own (stores in memory or SQLite live \
                 inside the server), so store CPU is not separable: it is part of the server's \
                 CPU. Store operations are counted by the server."
            }
        }
        (figures(&trends::cost_figures(report))?)
    })
}

fn errors(report: &Report) -> Result<Markup, Error> {
    let chart: Vec<Figure> = trends::error_figure(report).into_iter().collect();
    Ok(html! {
        (figures(&chart)?)
        (tables::error_kinds(report))
    })
}

fn spectrum(report: &Report) -> Result<Markup, Error> {
    Ok(html! {
        @if let Some(op) = spectra::spectrum_operation(report) {
            p {
                "The whole latency distribution of " (op.as_str()) " requests: first every \
                 system at its highest step, then each system at its lowest step, its highest \
                 step that met the SLO, and its highest step. The right-hand end is the tail a \
                 percentile table hides."
            }
        }
        (figures(&spectra::spectrum_figures(report))?)
    })
}

const NAV: [(&str, &str); 16] = [
    ("summary", "Summary"),
    ("claims", "Claims"),
    ("throughput", "Throughput and latency"),
    ("cost", "Store and server cost"),
    ("population", "Population"),
    ("overload", "Overload"),
    ("services", "Across services"),
    ("faults", "Faults"),
    ("drift", "Drift"),
    ("errors", "Errors"),
    ("spectrum", "Spectrum"),
    ("coordinated-omission", "Corrected latency"),
    ("steps", "Every step"),
    ("flags", "Flags"),
    ("scenario", "Scenario"),
    ("machine", "Machine"),
];

fn header(report: &Report, open: bool) -> Markup {
    let model = match report.load_model {
        LoadModel::Closed => "closed model (virtual users)",
        LoadModel::Open => "open model (arrival rate)",
    };
    html! {
        header {
            p.kicker { "authbench report" }
            h1 { (report.scenario.name) }
            p.lede { (report.scenario.description) }
            p.meta {
                (report.systems.len()) " systems · " (report.steps.len()) " steps · " (model)
                " · " (report.scenario.repeats) " repeats per step · started "
                (crate::format::timestamp(&report.started_at)) " · finished "
                (crate::format::timestamp(&report.finished_at))
            }
            @if let RunStatus::Partial { reason } = &report.status {
                p.banner role="alert" {
                    strong { "Partial run." } " " (reason) ": the figures below are what was \
                     measured before it stopped."
                }
            }
            nav aria-label="Sections" {
                ul {
                    @for (id, label) in NAV {
                        @if (id != "coordinated-omission" || open)
                            && (id != "population" || report.steps_population())
                            && (id != "overload" || overload::present(report))
                            && (id != "faults" || faults::present(report))
                            && (id != "services" || services::present(report))
                            && (id != "drift" || drift::present(report))
                        {
                            li { a href={ "#" (id) } { (label) } }
                        }
                    }
                }
            }
        }
    }
}

fn section(id: &str, title: &str, body: Markup) -> Markup {
    html! {
        section id=(id) aria-labelledby={ (id) "-heading" } {
            h2 id={ (id) "-heading" } { a.anchor href={ "#" (id) } { (title) } }
            (body)
        }
    }
}

fn figures(figures: &[Figure]) -> Result<Markup, Error> {
    let drawn = figures
        .iter()
        .map(figure_html)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(html! {
        div.charts { @for figure in drawn { (figure) } }
    })
}

fn figure_html(figure: &Figure) -> Result<Markup, Error> {
    let svg = charts::svg(&figure.chart)?;
    let id = &figure.id;
    // Inline SVG needs no namespace, and role + title make it an image with a name for screen
    // readers. The SVG is plotters' output, escaped by plotters; only the title is ours.
    let svg = svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-labelledby=\"{id}-title\" "),
            1,
        );
    let title = html! { title id={ (id) "-title" } { (figure.chart.title) } };
    let svg = match svg.find('>') {
        Some(end) => format!("{}{}{}", &svg[..=end], title.0, &svg[end + 1..]),
        None => svg,
    };
    Ok(html! {
        figure.chart id=(id) {
            figcaption {
                span.chart-title { (figure.chart.title) } " " (figure.caption)
            }
            div.plot { (PreEscaped(svg)) }
            ul.legend {
                @for item in &figure.legend { (legend_item(item)) }
            }
        }
    })
}

fn legend_item(item: &Legend) -> Markup {
    match item {
        Legend::Line { label, color, dash } => html! {
            li {
                span.swatch style={ "border-top: 3px " (dash.css()) " " (plots::hex(*color)) } {}
                (label)
            }
        },
        Legend::Flagged => html! {
            li {
                span.ring {}
                span { "flagged step (see " a href="#flags" { "Flags" } ")" }
            }
        },
        Legend::Guide(label) => html! {
            li { span.swatch.guide {} (label) }
        },
    }
}
