//! The committed overload and soak runs: the figures read off a timeline are reproducible from
//! it, recovery and drift come out as the runs measured them, and report.html shows both.

mod common;

use authbench_report::drift;
use authbench_report::html::render;
use authbench_report::model::Operation;
use authbench_report::overload;
use authbench_report::summary;
use common::fixture;

#[test]
fn the_overload_run_recovered_within_seconds_of_every_burst() {
    let report = fixture("overload");
    let results: Vec<_> = report.steps.iter().flat_map(|step| &step.results).collect();
    assert_eq!(results.len(), 4, "two systems at two rates");
    for result in results {
        let timeline = result.timeline.as_ref().expect("every turn has a timeline");
        let burst = timeline.burst.expect("the scenario's burst");
        assert_eq!(
            (burst.start_s, burst.end_s, burst.factor),
            (20.0, 40.0, 30.0)
        );
        let stored = result.overload.as_ref().expect("figures for the burst");
        assert_eq!(
            overload::figures(timeline).as_ref(),
            Some(stored),
            "{}",
            result.system
        );
        // The burst was felt: p99 during it far above before it, and requests refused.
        assert!(
            stored.during_p99_us > 100 * stored.before_p99_us,
            "{}: {stored:?}",
            result.system
        );
        assert!(stored.during_errors > 0, "{}", result.system);
        let recovery = stored.recovery_s.expect("recovered before the step's end");
        assert!(recovery <= 5.0, "{}: {recovery} s", result.system);
        // Every failure was an answer from the server: a 503.
        for op in &result.operations {
            assert!(
                op.errors.keys().all(|kind| kind == "status_503"),
                "{}: {:?}",
                result.system,
                op.errors
            );
        }
    }
    let html = render(&report).expect("report.html");
    assert!(
        html.contains(r#"<section id="overload""#),
        "an Overload section"
    );
    for rate in ["20-flows-s", "40-flows-s"] {
        assert!(html.contains(&format!(r#"id="chart-overload-rate-{rate}""#)));
        assert!(html.contains(&format!(r#"id="chart-overload-p99-{rate}""#)));
    }
    assert!(html.contains("burst ×30"));
    // The text a run prints when it ends says the same.
    let summary = summary::table(&report);
    assert!(
        summary.contains("Burst at flows/s=40 (30x from 20 s to 40 s):"),
        "{summary}"
    );
    assert!(
        summary.contains("back 3.5 s after it; 18924 errors during it"),
        "{summary}"
    );
}

#[test]
fn the_soak_run_shows_no_drift_and_its_stores_level_off() {
    let report = fixture("soak");
    for result in report.steps.iter().flat_map(|step| &step.results) {
        let drift = drift::of(result, Operation::Balance).expect("three repeats");
        let rss = drift.server_rss_bytes.expect("server memory per repeat");
        let fds = drift.server_open_fds.expect("descriptors per repeat");
        let keys = drift.store_keys.expect("Redis keys per repeat");
        assert!(
            rss.last <= rss.first + (16 << 20),
            "{}: {rss:?}",
            result.system
        );
        assert!(fds.last <= fds.first + 8, "{}: {fds:?}", result.system);
        assert!(
            keys.last as f64 <= keys.first as f64 * 1.25 + 200.0,
            "{}: {keys:?}",
            result.system
        );
        assert_eq!(result.errors, 0);
    }
    let html = render(&report).expect("report.html");
    assert!(html.contains(r#"<section id="drift""#), "a Drift section");
    let other = render(&fixture("quickstart")).expect("report.html");
    assert!(
        !other.contains(r#"<section id="drift""#) && !other.contains(r#"<section id="overload""#)
    );
}
