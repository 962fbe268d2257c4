//! report.html in a real browser: headless Chromium opens it from a file with no network, logs
//! no console errors, and every chart is in the rendered page and has something drawn in it.
//! `AUTHBENCH_BLESS=1` also refreshes the README's screenshot, `docs/report.png`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("which").arg(name).output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!(
        "no Chromium found: install Debian's `chromium` package (scripts/test.sh does it when run \
         as root); this test opens report.html in a real browser"
    );
}

fn headless(page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("report.json")
}

/// Each `<figure class="chart"...>` ... `</figure>` block of the rendered DOM.
fn charts(dom: &str) -> Vec<&str> {
    dom.split("<figure")
        .skip(1)
        .filter(|block| block.trim_start().starts_with("class=\"chart"))
        .map(|block| block.split("</figure>").next().unwrap_or(""))
        .collect()
}

fn drawn_elements(svg_block: &str) -> usize {
    [
        "<path",
        "<line",
        "<polyline",
        "<polygon",
        "<rect",
        "<circle",
    ]
    .iter()
    .map(|tag| svg_block.matches(tag).count())
    .sum()
}

#[test]
fn report_html_opens_in_chromium_with_every_chart_drawn_and_no_console_errors() {
    for name in ["redis-vs-jwt", "quickstart"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture(name), dir.path().join("report.json")).unwrap();
        let page = authbench_report::html::write(
            &authbench_report::read(&dir.path().join("report.json")).expect("report.json"),
            dir.path(),
        )
        .expect("report.html written");
        let written = std::fs::read_to_string(&page).unwrap();
        let expected = charts(&written).len();
        assert!(
            expected >= 6,
            "{name}: only {expected} charts in report.html"
        );

        let output = headless(&page, &["--virtual-time-budget=3000", "--dump-dom"]);
        assert!(
            output.status.success(),
            "{name}: chromium failed: {output:?}"
        );
        let log = String::from_utf8_lossy(&output.stderr);
        let console_errors: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
            .collect();
        assert!(
            console_errors.is_empty(),
            "{name}: console errors: {console_errors:#?}"
        );

        let dom = String::from_utf8_lossy(&output.stdout);
        let rendered = charts(&dom);
        assert_eq!(
            rendered.len(),
            expected,
            "{name}: every chart is in the rendered page"
        );
        for (index, chart) in rendered.iter().enumerate() {
            assert!(chart.contains("<svg"), "{name}: chart {index} has no svg");
            assert!(
                drawn_elements(chart) >= 5,
                "{name}: chart {index} is (nearly) empty: {}",
                &chart[..chart.len().min(300)]
            );
        }

        let shot = dir.path().join("report.png");
        let output = headless(
            &page,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,2200",
                "--hide-scrollbars",
            ],
        );
        assert!(
            output.status.success(),
            "{name}: screenshot failed: {output:?}"
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 20_000,
            "{name}: the screenshot is blank or tiny ({size} bytes)"
        );
        if name == "redis-vs-jwt" && std::env::var_os("AUTHBENCH_BLESS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&shot, docs.join("report.png")).unwrap();
        }
    }
}
