//! A [`Comparison`] as a self-contained HTML page (no scripts, fonts or images to fetch): the
//! same tables as the text form, with regression rows highlighted.

use std::fmt::Write as _;

use super::Comparison;
use super::judge::Verdict;
use super::render::{Detail, LEGEND, runs_line, summary, tables, text_marker, unmatched_lines};

/// A self-contained HTML page: one table per level, regression rows highlighted.
pub fn render_html(comparison: &Comparison) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>authbench compare</title>\n<style>\n\
         body { font-family: system-ui, sans-serif; margin: 2em; }\n\
         table { border-collapse: collapse; margin-bottom: 2em; }\n\
         th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }\n\
         th.text, td.text { text-align: left; }\n\
         td { white-space: nowrap; }\n\
         tr.regression { background: #fde2e1; }\n\
         td.regression { color: #b00020; font-weight: bold; }\n\
         td.noise { color: #777; }\n\
         td.improved { color: #1b7f3b; }\n\
         </style>\n</head>\n<body>\n",
    );
    let _ = writeln!(out, "<h1>authbench compare</h1>");
    let _ = writeln!(
        out,
        "<p><strong>{}</strong></p>",
        escape_html(&summary(comparison))
    );
    let _ = writeln!(out, "<p>{}</p>", escape_html(&runs_line(comparison)));
    for table in tables(comparison) {
        let _ = writeln!(out, "<h2>{}</h2>\n<table>", escape_html(table.title));
        let header: Vec<String> = table
            .header
            .iter()
            .enumerate()
            .map(|(column, text)| {
                let class = if table.is_text(column) {
                    " class=\"text\""
                } else {
                    ""
                };
                format!("<th{class}>{}</th>", escape_html(text))
            })
            .collect();
        let _ = writeln!(out, "<tr>{}</tr>", header.concat());
        for row in &table.rows {
            let regressed = row.iter().any(|cell| cell.verdict() == Verdict::Regression);
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, cell)| {
                    let class = match cell.verdict() {
                        Verdict::Steady if table.is_text(column) => " class=\"text\"",
                        Verdict::Steady => "",
                        Verdict::Improved => " class=\"improved\"",
                        Verdict::WithinNoise | Verdict::TooFewSamples => " class=\"noise\"",
                        Verdict::Regression => " class=\"regression\"",
                    };
                    let text = escape_html(&cell.text(Detail::AbsoluteAndRelative));
                    format!(
                        "<td{class}>{text}{}</td>",
                        text_marker(cell.verdict()).trim_end()
                    )
                })
                .collect();
            let class = if regressed {
                " class=\"regression\""
            } else {
                ""
            };
            let _ = writeln!(out, "<tr{class}>{}</tr>", cells.concat());
        }
        let _ = writeln!(out, "</table>");
    }
    let extra: Vec<String> = unmatched_lines(comparison)
        .into_iter()
        .chain(comparison.notes.iter().cloned())
        .collect();
    if !extra.is_empty() {
        let items: Vec<String> = extra
            .iter()
            .map(|line| format!("<li>{}</li>", escape_html(line)))
            .collect();
        let _ = writeln!(out, "<ul>\n{}\n</ul>", items.join("\n"));
    }
    let _ = writeln!(out, "<p>{}</p>\n</body>\n</html>", escape_html(LEGEND));
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
