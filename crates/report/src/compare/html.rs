//! A [`Comparison`] as a self-contained HTML page (no scripts, fonts or images to fetch): the
//! same tables as the text form, with regression rows highlighted.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Comparison;
use super::judge::Verdict;
use super::render::{Detail, LEGEND, runs_line, summary, tables, text_marker, unmatched_lines};

const STYLE: &str = "\
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th.text, td.text { text-align: left; }
td { white-space: nowrap; }
tr.regression { background: #fde2e1; }
td.regression { color: #b00020; font-weight: bold; }
td.noise { color: #777; }
td.improved { color: #1b7f3b; }
";

/// A self-contained HTML page: one table per level, regression rows highlighted.
pub fn render_html(comparison: &Comparison) -> String {
    let extra: Vec<String> = unmatched_lines(comparison)
        .into_iter()
        .chain(comparison.notes.iter().cloned())
        .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "authbench compare" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "authbench compare" }
                p { strong { (summary(comparison)) } }
                p { (runs_line(comparison)) }
                @for table in tables(comparison) { (table_html(&table)) }
                @if !extra.is_empty() {
                    ul { @for line in &extra { li { (line) } } }
                }
                p { (LEGEND) }
            }
        }
    };
    page.into_string()
}

fn table_html(table: &super::render::Table) -> Markup {
    html! {
        h2 { (table.title) }
        table {
            tr {
                @for (column, text) in table.header.iter().enumerate() {
                    th class=[table.is_text(column).then_some("text")] { (text) }
                }
            }
            @for row in &table.rows {
                @let regressed = row.iter().any(|cell| cell.verdict() == Verdict::Regression);
                tr class=[regressed.then_some("regression")] {
                    @for (column, cell) in row.iter().enumerate() {
                        @let class = match cell.verdict() {
                            Verdict::Steady if table.is_text(column) => Some("text"),
                            Verdict::Steady => None,
                            Verdict::Improved => Some("improved"),
                            Verdict::WithinNoise | Verdict::TooFewSamples => Some("noise"),
                            Verdict::Regression => Some("regression"),
                        };
                        td class=[class] {
                            (cell.text(Detail::AbsoluteAndRelative))
                            (text_marker(cell.verdict()).trim_end())
                        }
                    }
                }
            }
        }
    }
}
