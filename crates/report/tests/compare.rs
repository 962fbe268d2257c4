//! `authbench compare` on real runs: a real regression is found and fails CI, a run compared
//! with itself changes nothing, foreign runs are refused unless forced, and a change inside the
//! repeats' spread is called noise rather than a regression.

mod common;

use common::{FIXTURES, fixture};

use authbench_report::compare::{
    CompareError, CompareOptions, MIN_TAIL_SAMPLES, Verdict, compare, render_html, render_markdown,
    render_text,
};
use authbench_report::{LoadModel, Operation, Report, SystemInfo, SystemStep};

fn options(max_regression: f64) -> CompareOptions {
    CompareOptions {
        max_regression,
        force: false,
    }
}

fn result<'a>(report: &'a Report, system: &str, load: f64) -> &'a SystemStep {
    report
        .steps
        .iter()
        .filter(|step| step.load == load)
        .flat_map(|step| &step.results)
        .find(|result| result.system == system)
        .expect("the fixture has this system at this step")
}

fn result_mut<'a>(report: &'a mut Report, system: &str, load: f64) -> &'a mut SystemStep {
    report
        .steps
        .iter_mut()
        .filter(|step| step.load == load)
        .flat_map(|step| &mut step.results)
        .find(|result| result.system == system)
        .expect("the fixture has this system at this step")
}

fn repeat_range(result: &SystemStep) -> (f64, f64) {
    let rates = result.repeats.iter().map(|r| r.requests_per_second);
    let low = rates.clone().fold(f64::INFINITY, f64::min);
    (low, rates.fold(f64::NEG_INFINITY, f64::max))
}

/// Scales one system's throughput at one step, every repeat included, as a slower build would.
fn scale_throughput(report: &mut Report, system: &str, load: f64, factor: f64) {
    let result = result_mut(report, system, load);
    result.requests_per_second *= factor;
    for op in &mut result.operations {
        op.requests_per_second *= factor;
    }
    for repeat in &mut result.repeats {
        repeat.requests_per_second *= factor;
    }
}

#[test]
fn a_much_costlier_password_hash_shows_as_throughput_regressions() {
    let (base, new) = (fixture("quickstart"), fixture("quickstart-owasp"));
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    assert!(comparison.has_regressions(), "{}", render_text(&comparison));
    assert_eq!(comparison.steps.len(), 12, "4 systems × 3 steps match");
    for step in &comparison.steps {
        let (before, after) = (
            result(&base, &step.system, step.load),
            result(&new, &step.system, step.load),
        );
        let (base_low, base_high) = repeat_range(before);
        let (new_low, new_high) = repeat_range(after);
        let beyond = after.requests_per_second < before.requests_per_second * 0.9;
        let apart = new_high < base_low || base_high < new_low;
        assert!(
            beyond && apart,
            "the fixtures dropped beyond 10% and the repeats' spread"
        );
        assert_eq!(
            step.requests_per_second.verdict,
            Verdict::Regression,
            "{}",
            step.system
        );
        assert_eq!(step.requests_per_second.base, before.requests_per_second);
        assert_eq!(step.requests_per_second.new, after.requests_per_second);
        let relative = after.requests_per_second / before.requests_per_second - 1.0;
        assert!(
            (step.requests_per_second.relative.expect("base above 0") - relative).abs() < 1e-12
        );
    }
    let text = render_text(&comparison);
    let summary = format!(
        "{} regressions beyond the 10% threshold",
        comparison.count(Verdict::Regression)
    );
    assert!(text.starts_with(&summary), "{text}");
    assert!(
        text.contains("scenario.balances_per_login: 200 (base) → 50 (new)"),
        "{text}"
    );
    let first = &comparison.steps[0];
    let row = format!(
        "{:.0} → {:.0} {:+.1}% !",
        first.requests_per_second.base,
        first.requests_per_second.new,
        first.requests_per_second.relative.expect("base above 0") * 100.0
    );
    assert!(text.contains(&row), "{row} in\n{text}");
}

#[test]
fn a_run_compared_with_itself_has_no_regressions_and_zero_deltas() {
    for name in FIXTURES {
        let report = fixture(name);
        let comparison = compare(&report, &report, &options(0.10)).expect("same run");
        assert!(!comparison.has_regressions(), "{name}");
        assert!(comparison.only_in_base.is_empty() && comparison.only_in_new.is_empty());
        // Only the steps' own flags (loadgen-bound in the open-model run) are worth a note.
        let flagged = |note: &String| note.contains(" run flagged ");
        assert!(
            comparison.notes.iter().all(flagged),
            "{name}: {:?}",
            comparison.notes
        );
        let results: usize = report.steps.iter().map(|s| s.results.len()).sum();
        assert_eq!(comparison.steps.len(), results, "{name}");
        for delta in comparison.deltas() {
            assert_eq!(delta.absolute, 0.0, "{name}: {delta:?}");
            assert!(delta.relative.is_none_or(|r| r == 0.0), "{name}: {delta:?}");
            assert_eq!(delta.verdict, Verdict::Steady, "{name}: {delta:?}");
        }
        assert!(render_text(&comparison).starts_with("No regressions beyond the 10% threshold"));
    }
}

#[test]
fn runs_of_different_scenarios_are_refused_naming_both() {
    let error = compare(
        &fixture("quickstart"),
        &fixture("redis-vs-jwt"),
        &options(0.10),
    )
    .expect_err("different scenarios");
    assert_eq!(
        error,
        CompareError::DifferentScenarios {
            base: "quickstart".into(),
            new: "redis-vs-jwt".into()
        }
    );
    let message = error.to_string();
    for part in ["`quickstart`", "`redis-vs-jwt`", "--force"] {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn forcing_compares_the_matching_rows_and_lists_the_rest() {
    let (base, new) = (fixture("quickstart"), fixture("redis-vs-jwt"));
    let forced = CompareOptions {
        max_regression: 0.10,
        force: true,
    };
    let comparison = compare(&base, &new, &forced).expect("forced");
    let pairs = |report: &Report| -> Vec<(String, f64)> {
        report
            .steps
            .iter()
            .flat_map(|s| s.results.iter().map(move |r| (r.system.clone(), s.load)))
            .collect()
    };
    let (base_pairs, new_pairs) = (pairs(&base), pairs(&new));
    let matched: Vec<(String, f64)> = new_pairs
        .iter()
        .filter(|p| base_pairs.contains(p))
        .cloned()
        .collect();
    let compared: Vec<(String, f64)> = comparison
        .steps
        .iter()
        .map(|s| (s.system.clone(), s.load))
        .collect();
    assert_eq!(compared, matched);
    assert!(
        !matched.is_empty(),
        "jwt-hs256 ran at 1, 8 and 32 VUs in both"
    );
    assert_eq!(
        comparison.only_in_base.len(),
        base_pairs.len() - matched.len()
    );
    assert_eq!(
        comparison.only_in_new.len(),
        new_pairs.len() - matched.len()
    );
    assert!(
        comparison
            .only_in_base
            .iter()
            .all(|u| u.operation.is_none())
    );
    let text = render_text(&comparison);
    assert!(
        text.contains("only in base: session-sqlite at vus=1 (every operation)"),
        "{text}"
    );
    assert!(
        text.contains("only in new: session-redis at vus=256 (every operation)"),
        "{text}"
    );
    assert!(
        text.contains("different scenarios compared (--force)"),
        "{text}"
    );
}

#[test]
fn different_load_models_are_refused_unless_forced() {
    let base = fixture("quickstart");
    let mut new = base.clone();
    new.load_model = LoadModel::Open;
    let error = compare(&base, &new, &options(0.10)).expect_err("closed against open");
    assert!(matches!(
        error,
        CompareError::DifferentLoadModels {
            base: "vus",
            new: "flows/s"
        }
    ));
    assert!(error.to_string().contains("--force"), "{error}");
    let forced = CompareOptions {
        max_regression: 0.10,
        force: true,
    };
    assert!(compare(&base, &new, &forced).is_ok());
}

#[test]
fn a_threshold_of_zero_or_less_is_refused() {
    let report = fixture("quickstart");
    for threshold in [0.0, -0.1, f64::NAN] {
        let error = compare(&report, &report, &options(threshold)).expect_err("bad threshold");
        assert!(matches!(error, CompareError::InvalidThreshold(_)));
    }
}

#[test]
fn a_drop_inside_the_repeats_spread_is_within_noise_not_a_regression() {
    let base = fixture("quickstart");
    let (system, load) = ("session-memory", 8.0);
    let mut new = base.clone();
    scale_throughput(&mut new, system, load, 0.95);
    let (base_low, base_high) = repeat_range(result(&base, system, load));
    let (new_low, new_high) = repeat_range(result(&new, system, load));
    assert!(
        new_low <= base_high && base_low <= new_high,
        "the test needs overlapping spreads"
    );

    // 5% is beyond a 2% threshold, so only the noise rule keeps it from counting.
    let comparison = compare(&base, &new, &options(0.02)).expect("same scenario");
    let step = comparison
        .steps
        .iter()
        .find(|s| s.system == system && s.load == load);
    let delta = &step.expect("matched").requests_per_second;
    assert_eq!(delta.verdict, Verdict::WithinNoise, "{delta:?}");
    assert!((delta.relative.expect("base above 0") + 0.05).abs() < 1e-9);
    assert!(
        !comparison.has_regressions(),
        "{}",
        render_text(&comparison)
    );
    assert_eq!(comparison.count(Verdict::WithinNoise), 1);
    assert!(render_text(&comparison).contains("1 change within noise (not counted)"));
}

#[test]
fn a_drop_beyond_the_repeats_spread_is_a_regression() {
    let base = fixture("quickstart");
    let (system, load) = ("session-memory", 8.0);
    let mut new = base.clone();
    scale_throughput(&mut new, system, load, 0.8);
    let (base_low, _) = repeat_range(result(&base, system, load));
    let (_, new_high) = repeat_range(result(&new, system, load));
    assert!(new_high < base_low, "the test needs separate spreads");
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    assert!(comparison.has_regressions());
    assert_eq!(
        comparison.count(Verdict::Regression),
        1,
        "{}",
        render_text(&comparison)
    );
}

#[test]
fn a_p99_rise_inside_the_repeats_spread_is_within_noise() {
    let base = fixture("quickstart");
    let (system, load) = ("session-memory", 8.0);
    let mut new = base.clone();
    let result = result_mut(&mut new, system, load);
    let balance = result
        .operations
        .iter_mut()
        .find(|op| op.operation == Operation::Balance)
        .expect("balance ran");
    balance.latency.p99_us = balance.latency.p99_us * 105 / 100;
    for repeat in &mut result.repeats {
        let p99 = repeat
            .slo_percentile_us
            .get_mut("balance")
            .expect("recorded");
        *p99 = *p99 * 105 / 100;
    }
    let comparison = compare(&base, &new, &options(0.02)).expect("same scenario");
    let step = comparison
        .steps
        .iter()
        .find(|s| s.system == system && s.load == load);
    let balance = step
        .expect("matched")
        .operations
        .iter()
        .find(|op| op.operation == Operation::Balance);
    assert_eq!(
        balance.expect("matched").p99_us.verdict,
        Verdict::WithinNoise
    );
    assert!(!comparison.has_regressions());
}

#[test]
fn errors_from_zero_to_above_the_slo_rate_are_a_regression() {
    let base = fixture("quickstart");
    let mut new = base.clone();
    let result = result_mut(&mut new, "jwt-hs256", 32.0);
    let balance = result
        .operations
        .iter_mut()
        .find(|op| op.operation == Operation::Balance);
    let balance = balance.expect("balance ran");
    let failed = balance.requests / 100;
    balance.errors.insert("status_503".into(), failed);
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    let error_regressions = comparison
        .steps
        .iter()
        .flat_map(|s| &s.operations)
        .filter(|op| op.error_rate.verdict == Verdict::Regression)
        .count();
    assert_eq!(error_regressions, 1);
    assert!(render_markdown(&comparison).contains("0.00% → 1.00% (+1.00pp, from 0) ❌"));
}

#[test]
fn markdown_starts_with_the_summary_and_renders_as_tables() {
    let comparison = compare(
        &fixture("quickstart"),
        &fixture("quickstart-owasp"),
        &options(0.10),
    )
    .expect("same scenario");
    let markdown = render_markdown(&comparison);
    let first = markdown.lines().next().expect("not empty");
    let regressions = comparison.count(Verdict::Regression);
    assert!(
        first.starts_with(&format!(
            "**{regressions} regressions beyond the 10% threshold"
        )),
        "{first}"
    );
    assert!(
        markdown.contains("| system | vus | req/s | store ops/req |"),
        "{markdown}"
    );
    assert!(markdown.contains("| system | vus | operation | req/s | p50 | p99 | p99.9 | errors |"));
    assert!(markdown.contains("|---|--:|--:|"), "{markdown}");
    let rows = markdown
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" → "))
        .count();
    let operations: usize = comparison.steps.iter().map(|s| s.operations.len()).sum();
    assert_eq!(rows, comparison.steps.len() + operations);
}

#[test]
fn html_is_self_contained_and_highlights_regression_rows() {
    let comparison = compare(
        &fixture("quickstart"),
        &fixture("quickstart-owasp"),
        &options(0.10),
    )
    .expect("same scenario");
    let html = render_html(&comparison);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external resources"
    );
    assert!(html.contains("<tr class=\"regression\">"));
    let steady = compare(
        &fixture("quickstart"),
        &fixture("quickstart"),
        &options(0.10),
    )
    .expect("same run");
    assert!(!render_html(&steady).contains("<tr class=\"regression\">"));
}

#[test]
fn a_different_store_server_version_is_a_note_beside_the_figures() {
    let mut base = fixture("redis-vs-jwt");
    let mut new = base.clone();
    let name = redis(&mut base).name.clone();
    redis(&mut base).store_version = Some("Redis 7.0.15".into());
    redis(&mut new).store_version = Some("Redis 7.2.4".into());
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    let expected = format!("{name} store version: Redis 7.0.15 (base) → Redis 7.2.4 (new)");
    assert!(
        comparison.notes.contains(&expected),
        "{:?}",
        comparison.notes
    );

    // The same version on both sides says nothing.
    redis(&mut new).store_version = Some("Redis 7.0.15".into());
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    assert!(
        comparison
            .notes
            .iter()
            .all(|note| !note.contains("store version")),
        "{:?}",
        comparison.notes
    );
}

fn redis(report: &mut Report) -> &mut SystemInfo {
    let system = report
        .systems
        .iter_mut()
        .find(|s| s.store == Some(authbench_report::model::StoreKind::Redis));
    system.expect("the redis-vs-jwt run has a system on Redis")
}

/// Gives each repeat of one step its own server CPU per request, `spread` around the step's
/// figure (0.05: the repeats range from -5% to +5%), as a run that kept them does.
fn spread_server_cpu(report: &mut Report, system: &str, load: f64, spread: f64) -> f64 {
    let result = result_mut(report, system, load);
    let step = result
        .derived
        .server_cpu_us_per_request
        .expect("the fixture measured server CPU");
    let last = result.repeats.len().saturating_sub(1).max(1) as f64;
    for (i, repeat) in result.repeats.iter_mut().enumerate() {
        let position = -1.0 + 2.0 * i as f64 / last;
        repeat.server_cpu_us_per_request = Some(step * (1.0 + spread * position));
    }
    step
}

fn server_cpu_verdict(base: &Report, new: &Report, system: &str, load: f64) -> Verdict {
    let comparison = compare(base, new, &options(0.02)).expect("same scenario");
    let step = comparison
        .steps
        .iter()
        .find(|s| s.system == system && s.load == load)
        .expect("matched");
    let delta = step.server_cpu_us_per_request.as_ref().expect("measured");
    delta.verdict
}

#[test]
fn a_server_cpu_rise_inside_the_repeats_spread_is_within_noise_and_beyond_it_a_regression() {
    let (system, load) = ("session-memory", 8.0);
    let mut base = fixture("quickstart");
    assert!(result(&base, system, load).repeats.len() >= 2);
    spread_server_cpu(&mut base, system, load, 0.05);

    // 4% more CPU per request: beyond a 2% threshold, inside the repeats' ±5%.
    let mut new = base.clone();
    let step = spread_server_cpu(&mut new, system, load, 0.05);
    let raised = |report: &mut Report, factor: f64| {
        let result = result_mut(report, system, load);
        result.derived.server_cpu_us_per_request = Some(step * factor);
        for repeat in &mut result.repeats {
            repeat.server_cpu_us_per_request = repeat.server_cpu_us_per_request.map(|v| v * factor);
        }
    };
    raised(&mut new, 1.04);
    assert_eq!(
        server_cpu_verdict(&base, &new, system, load),
        Verdict::WithinNoise
    );

    // 20% more: the new repeats' lowest is above the base's highest.
    let mut new = base.clone();
    raised(&mut new, 1.20);
    assert_eq!(
        server_cpu_verdict(&base, &new, system, load),
        Verdict::Regression
    );

    // A base run that did not keep the figure per repeat: the threshold alone decides.
    let mut old = fixture("quickstart");
    for repeat in &mut result_mut(&mut old, system, load).repeats {
        repeat.server_cpu_us_per_request = None;
    }
    let mut new = old.clone();
    result_mut(&mut new, system, load)
        .derived
        .server_cpu_us_per_request = Some(step * 1.04);
    assert_eq!(
        server_cpu_verdict(&old, &new, system, load),
        Verdict::Regression
    );
}

#[test]
fn a_p50_rise_inside_the_repeats_spread_is_within_noise() {
    let (system, load) = ("session-memory", 8.0);
    let mut base = fixture("quickstart");
    let p50 = |report: &Report| {
        let balance = result(report, system, load)
            .operations
            .iter()
            .find(|op| op.operation == Operation::Balance)
            .expect("balance ran");
        balance.latency.p50_us
    };
    let step_p50 = p50(&base);
    let count = result(&base, system, load).repeats.len() as u64;
    for (i, repeat) in result_mut(&mut base, system, load)
        .repeats
        .iter_mut()
        .enumerate()
    {
        // From 10% under to 10% over the step's p50.
        let value = step_p50 * (90 + 20 * i as u64 / (count - 1).max(1)) / 100;
        repeat.p50_us.insert("balance".into(), value);
    }
    let mut new = base.clone();
    let result = result_mut(&mut new, system, load);
    for op in &mut result.operations {
        if op.operation == Operation::Balance {
            op.latency.p50_us = op.latency.p50_us * 105 / 100;
        }
    }
    for repeat in &mut result.repeats {
        let value = repeat.p50_us.get_mut("balance").expect("kept");
        *value = *value * 105 / 100;
    }
    let comparison = compare(&base, &new, &options(0.02)).expect("same scenario");
    let balance = comparison
        .steps
        .iter()
        .find(|s| s.system == system && s.load == load)
        .and_then(|s| {
            s.operations
                .iter()
                .find(|op| op.operation == Operation::Balance)
        })
        .expect("matched");
    assert_eq!(balance.p50_us.verdict, Verdict::WithinNoise, "{balance:?}");
}

#[test]
fn a_p99_change_on_too_few_requests_is_not_counted_but_one_on_enough_is() {
    let base = fixture("quickstart");
    let (system, load) = ("session-sqlite", 8.0);
    let requests = |op: Operation| {
        let result = result(&base, system, load);
        let stats = result.operations.iter().find(|o| o.operation == op);
        stats.expect("ran").requests as f64
    };
    // The test needs logins too few for a p99 and balance requests enough for one.
    assert!(requests(Operation::Login) * 0.01 < MIN_TAIL_SAMPLES);
    assert!(requests(Operation::Balance) * 0.01 >= MIN_TAIL_SAMPLES);

    let mut new = base.clone();
    for op in &mut result_mut(&mut new, system, load).operations {
        op.latency.p99_us *= 2;
    }
    for repeat in &mut result_mut(&mut new, system, load).repeats {
        for p99 in repeat.slo_percentile_us.values_mut() {
            *p99 *= 2;
        }
    }
    let comparison = compare(&base, &new, &options(0.10)).expect("same scenario");
    let step = comparison
        .steps
        .iter()
        .find(|s| s.system == system && s.load == load)
        .expect("matched");
    let verdict = |op: Operation| {
        let found = step.operations.iter().find(|o| o.operation == op);
        found.expect("matched").p99_us.verdict
    };
    assert_eq!(verdict(Operation::Login), Verdict::TooFewSamples);
    assert_eq!(verdict(Operation::Balance), Verdict::Regression);
    assert_eq!(comparison.count(Verdict::Regression), 1);
    let text = render_text(&comparison);
    assert!(
        text.contains("1 percentile change on too few samples (not counted)"),
        "{text}"
    );
}
