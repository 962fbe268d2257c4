//! report.html on the committed reports of real runs: every section and chart is there and
//! drawn, the page loads nothing from anywhere, the scenario and machine are shown, and flags,
//! partial runs and the open model are called out where they belong.

mod common;

use common::{fixture, fixture_path, fixtures};

use authbench_report::claims;
use authbench_report::{
    Flag, LoadModel, Operation, Replica, Report, Routing, RunStatus, Schedule, SystemKind,
    SystemStep, Verify, html,
};

fn render(report: &Report) -> String {
    html::render(report).expect("the report renders")
}

/// The `<figure class="chart" ...> ... </figure>` elements, in order.
fn charts(page: &str) -> Vec<&str> {
    page.split("<figure class=\"chart\"")
        .skip(1)
        .map(|rest| rest.split("</figure>").next().unwrap_or(""))
        .collect()
}

fn results(report: &Report) -> impl Iterator<Item = &SystemStep> {
    report.steps.iter().flat_map(|step| &step.results)
}

/// The charts the issue asks for, counted from what the report holds: throughput, latency per
/// operation, store operations, store CPU, server CPU, cores busy (server or store, each where
/// measured), errors,
/// one spectrum of every system together and one per system, and in the open model one
/// corrected-against-uncorrected chart per operation.
fn expected_charts(report: &Report) -> usize {
    let mut operations: Vec<Operation> = results(report)
        .flat_map(|r| &r.operations)
        .filter(|s| s.requests > 0)
        .map(|s| s.operation)
        .collect();
    operations.sort();
    operations.dedup();
    let any = |f: &dyn Fn(&SystemStep) -> bool| usize::from(results(report).any(f));
    let uncorrected = operations
        .iter()
        .filter(|op| {
            results(report)
                .flat_map(|r| &r.operations)
                .any(|s| s.operation == **op && s.latency_uncorrected.is_some())
        })
        .count();
    1 + operations.len()
        + any(&|r| r.derived.store_operations_per_request.is_some())
        + any(&|r| r.derived.store_cpu_us_per_request.is_some())
        + any(&|r| r.derived.server_cpu_us_per_request.is_some())
        + any(&|r| {
            r.resources.server_cpu_s.is_some()
                || r.store.as_ref().is_some_and(|s| s.cpu_s.is_some())
        })
        + 1
        + 1
        + report.systems.len()
        + uncorrected
        + overload_charts(report)
        + fault_charts(report)
}

/// Rate and errors through the store faults, for each step that had any.
fn fault_charts(report: &Report) -> usize {
    report
        .steps
        .iter()
        .filter(|step| step.results.iter().any(|r| !r.faults.is_empty()))
        .count()
}

/// Rate and p99 through the burst, for each step that had one.
fn overload_charts(report: &Report) -> usize {
    let bursts = report
        .steps
        .iter()
        .filter(|step| {
            step.results
                .iter()
                .any(|r| r.timeline.as_ref().is_some_and(|t| t.burst.is_some()))
        })
        .count();
    2 * bursts
}

#[test]
fn every_fixture_renders_every_section() {
    for (name, report) in fixtures() {
        let page = render(&report);
        let mut sections = vec![
            "summary",
            "claims",
            "throughput",
            "cost",
            "errors",
            "spectrum",
            "steps",
            "flags",
            "scenario",
            "machine",
        ];
        if report.load_model == LoadModel::Open {
            sections.push("coordinated-omission");
        }
        for id in sections {
            assert!(
                page.contains(&format!("<section id=\"{id}\"")),
                "{name}: section {id}"
            );
            assert!(
                page.contains(&format!("href=\"#{id}\"")),
                "{name}: nav link to {id}"
            );
        }
        for claim in ["c1a", "c1b", "c2", "c3", "c4", "c5", "c6", "c7"] {
            assert!(
                page.contains(&format!("id=\"claim-{claim}\"")),
                "{name}: claim {claim}"
            );
        }
    }
}

#[test]
fn every_fixture_has_one_drawn_chart_per_metric() {
    for (name, report) in fixtures() {
        let page = render(&report);
        let found = charts(&page);
        assert_eq!(found.len(), expected_charts(&report), "{name}: chart count");
        let mut ids: Vec<&str> = found.iter().filter_map(|c| c.split('"').nth(1)).collect();
        for chart in &found {
            assert!(
                chart.contains("<svg"),
                "{name}: a chart without svg: {}",
                &chart[..80]
            );
            assert!(
                chart.contains("<polyline") || chart.contains("<path"),
                "{name}: no drawn line"
            );
            assert!(chart.contains("<title"), "{name}: svg without a title");
            assert!(
                chart.contains("<figcaption>"),
                "{name}: figure without a caption"
            );
        }
        for id in [
            "chart-throughput",
            "chart-latency-balance",
            "chart-latency-login",
            "chart-errors",
        ] {
            assert!(ids.contains(&id), "{name}: {id} in {ids:?}");
        }
        // Only external systems have no server process to read.
        let spawned = report
            .systems
            .iter()
            .any(|s| s.kind != SystemKind::External);
        assert_eq!(
            ids.contains(&"chart-server-cpu"),
            spawned,
            "{name}: chart-server-cpu in {ids:?}"
        );
        for system in &report.systems {
            assert!(
                ids.contains(&format!("chart-spectrum-{}", system.name).as_str()),
                "{name}: spectrum of {}",
                system.name
            );
        }
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "{name}: chart ids are unique");
    }
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    for (name, report) in fixtures() {
        let page = render(&report).to_ascii_lowercase();
        for resource in [
            "<link",
            "<script",
            "<img",
            "<iframe",
            "src=",
            "@import",
            "url(",
            "href=\"http",
            "href='http",
        ] {
            assert!(!page.contains(resource), "{name}: {resource}");
        }
        assert!(page.contains("<style>"), "{name}: the style is inline");
    }
}

#[test]
fn the_scenario_source_is_shown_verbatim_and_escaped() {
    let mut report = fixture("quickstart");
    let source = report.scenario.source.clone();
    let escaped = source
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let page = render(&report);
    assert!(
        page.contains(&escaped),
        "the TOML source appears escaped and whole"
    );
    report.scenario.source = "description = \"</pre><script>alert(1)</script>\"".to_owned();
    let page = render(&report);
    assert!(!page.contains("<script"));
    assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// Every text a run carries into the page (names, descriptions, settings, fault messages, error
/// kinds) is escaped exactly once, wherever it lands: in content, in a table header cell, in an
/// attribute.
#[test]
fn text_from_the_run_is_escaped_once_everywhere() {
    let hostile = "<b>x</b> & \"y\"";
    let once = "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;";
    let mut report = fixture("quickstart");
    report.scenario.name = hostile.to_owned();
    report.scenario.description = hostile.to_owned();
    let old_name = report.systems[0].name.clone();
    report.systems[0].name = hostile.to_owned();
    report.systems[0]
        .settings
        .insert(hostile.to_owned(), hostile.to_owned());
    report.systems[0]
        .events
        .push(authbench_report::model::Event {
            at_s: 1.0,
            message: hostile.to_owned(),
        });
    for result in report.steps.iter_mut().flat_map(|step| &mut step.results) {
        if result.system == old_name {
            result.system = hostile.to_owned();
            result.operations[0].errors.insert(hostile.to_owned(), 1);
        }
    }
    let page = render(&report);
    assert!(
        !page.contains("<b>x"),
        "no tag from the run reaches the page"
    );
    assert!(!page.contains("&amp;lt;"), "nothing is escaped twice");
    let shown = page.matches(once).count();
    // Title, heading, lede; the system in the summary, every step row, the scenario's systems
    // table, the machine table and the faults list; the setting's key and value; the error kind.
    assert!(
        shown >= 10,
        "the text is shown escaped wherever it lands ({shown} times)"
    );
}

#[test]
fn the_machine_the_store_versions_and_the_cores_each_process_had_are_shown() {
    let mut report = fixture("redis-vs-jwt");
    let redis = report
        .systems
        .iter_mut()
        .find(|s| s.store == Some(authbench_report::model::StoreKind::Redis))
        .expect("a system on Redis");
    redis.store_version = Some("Redis 7.0.15".into());
    let page = render(&report);
    assert!(page.contains("<td>redis (Redis 7.0.15)</td>"));
    for text in [
        &report.machine.kernel,
        &report.machine.cpu_model,
        &report.machine.os,
        &report.generator,
    ] {
        assert!(page.contains(text.as_str()), "{text}");
    }
    assert!(page.contains(&format!(
        "cores {}, {} worker threads",
        report.loadgen.cores, report.loadgen.worker_threads
    )));
}

#[test]
fn flagged_steps_are_marked_on_charts_in_tables_and_in_claims() {
    let mut report = fixture("redis-vs-jwt");
    let last = report.steps.last_mut().expect("steps");
    last.results[0].flags.push(Flag::LoadgenBound {
        reason: "cpu 97%".to_owned(),
    });
    let page = render(&report);
    assert!(page.contains("load generator bound (cpu 97%)"));
    assert!(page.contains("<tr class=\"flagged\">"));
    assert!(
        page.contains("class=\"ring\""),
        "the legend explains the ring"
    );
    let throughput = charts(&page)
        .into_iter()
        .find(|c| c.contains("chart-throughput"))
        .expect("chart");
    assert!(
        throughput.contains("<circle") && throughput.contains("stroke=\"#1F2328\""),
        "a ring on the point"
    );
    let c1 = claims::assess(&report)
        .into_iter()
        .find(|c| c.id == "C1a")
        .expect("C1a");
    assert!(
        c1.caveats
            .iter()
            .any(|c| c.contains("flagged") && c.contains("cpu 97%"))
    );
}

#[test]
fn a_run_that_measured_nothing_still_renders_and_claims_nothing() {
    let mut report = fixture("quickstart");
    report.steps.clear();
    report.status = RunStatus::Partial {
        reason: "the first system did not start".to_owned(),
    };
    let page = render(&report);
    assert!(charts(&page).is_empty());
    assert!(page.contains("the first system did not start"));
    for claim in claims::assess(&report) {
        assert_eq!(claim.verdict, claims::Verdict::NotMeasured, "{}", claim.id);
    }
}

#[test]
fn a_partial_run_says_so_first() {
    let mut report = fixture("quickstart");
    report.status = RunStatus::Partial {
        reason: "interrupted (Ctrl-C)".to_owned(),
    };
    let page = render(&report);
    let banner = page.find("Partial run.").expect("banner");
    assert!(banner < page.find("id=\"summary\"").expect("summary"));
}

/// The quickstart run as if it had been an open-model one, for the fields only that model fills.
fn open_model() -> Report {
    let mut report = fixture("quickstart");
    report.load_model = LoadModel::Open;
    for result in report.steps.iter_mut().flat_map(|step| &mut step.results) {
        result.schedule = Some(Schedule {
            flows_intended: 1000,
            flows_late: 12,
            flows_waited_for_connection: 3,
            max_lag_us: 4500,
        });
        for stats in &mut result.operations {
            let mut raw = stats.latency.clone();
            raw.p50_us /= 2;
            raw.p99_us /= 4;
            raw.p999_us /= 4;
            stats.latency_uncorrected = Some(raw);
        }
    }
    report
}

#[test]
fn the_open_model_shows_corrected_and_uncorrected_latency_side_by_side() {
    let report = open_model();
    let page = render(&report);
    assert!(page.contains("<section id=\"coordinated-omission\""));
    assert!(page.contains("coordinated omission"));
    assert!(page.contains("id=\"chart-omission-balance\""));
    assert!(page.contains("Waited for a connection"));
    assert!(page.contains("flows/s"));
    assert_eq!(charts(&page).len(), expected_charts(&report));
}

#[test]
fn write_puts_report_html_in_the_run_folder() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        fixture_path("postgres-vs-jwt"),
        dir.path().join("report.json"),
    )
    .expect("copied");
    let report = fixture("postgres-vs-jwt");
    let path = html::write(&report, dir.path()).expect("written");
    assert_eq!(path, dir.path().join("report.html"));
    let written = std::fs::read_to_string(&path).expect("readable");
    assert_eq!(written, render(&report));
    let missing = html::write(&report, &dir.path().join("nowhere")).expect_err("no folder");
    assert!(missing.to_string().contains("report.html"), "{missing}");
}

/// A partial run can stop anywhere: before a system's first turn, mid-step, after one step.
/// Every such cut of every fixture must render (and its claims be judged) without a panic.
#[test]
fn every_partial_cut_of_every_fixture_renders() {
    for (name, full) in fixtures() {
        for keep_steps in 0..=full.steps.len() {
            for keep_results in 0..=full.systems.len() {
                let mut cut = full.clone();
                cut.status = RunStatus::Partial {
                    reason: "interrupted (Ctrl-C)".into(),
                };
                cut.steps.truncate(keep_steps);
                if let Some(last) = cut.steps.last_mut() {
                    last.results.truncate(keep_results);
                }
                let _ = claims::assess(&cut);
                if let Err(error) = html::render(&cut) {
                    panic!("{name} cut at {keep_steps} steps, {keep_results} results: {error}");
                }
            }
        }
    }
}

#[test]
fn the_systems_table_shows_how_many_processes_a_system_ran_as_and_how_they_were_routed() {
    let mut report = fixture("quickstart");
    let memory = report
        .systems
        .iter_mut()
        .find(|s| s.name == "session-memory")
        .expect("the fixture has session-memory");
    memory.replicas = [(0u32, 1001), (1, 1002)]
        .into_iter()
        .map(|(core, pid)| Replica {
            base_url: format!("http://127.0.0.1:{}", 40_000 + pid),
            pid: Some(pid),
            cores: Some(core.to_string()),
            log: Some(format!("logs/session-memory.{core}.log")),
        })
        .collect();
    memory.routing = Some(Routing::RoundRobin);
    let page = render(&report);
    let systems = page
        .split("<h3>Systems</h3>")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the Systems table");
    assert!(systems.contains("<th class=\"num\">Processes</th>"));
    let row = |name: &str| {
        systems
            .split("<tr>")
            .find(|row| row.contains(&format!("</span>{name}")))
            .unwrap_or_else(|| panic!("a row for {name}"))
            .to_owned()
    };
    let scaled = row("session-memory");
    assert!(
        scaled.contains("<td class=\"num\">2 (round robin)</td><td>0 / 1</td>"),
        "{scaled}"
    );
    assert!(
        row("session-sqlite").contains("<td class=\"num\">1</td><td>0</td>"),
        "one process"
    );
    assert!(
        page.contains(
            "2 processes, round robin routing: cores 0 (pid 1001); cores 1 (pid 1002); 1 worker \
             threads each"
        ),
        "the machine section lists each replica's cores and pid"
    );
    assert!(page.contains("title=\"2 server processes, round robin routing\">×2</span>"));
}

#[test]
fn a_sharded_store_shows_each_shards_share_cap_and_log() {
    let report = fixture("store-scale");
    let page = render(&report);
    assert!(page.contains("Store load by shard"));
    let cluster = report
        .stores
        .iter()
        .find(|store| !store.nodes.is_empty())
        .expect("a cluster among the stores");
    for node in &cluster.nodes {
        assert!(page.contains(&node.address), "{}", node.address);
        let log = node.log.as_deref().expect("each node's log kept");
        assert!(page.contains(&format!("href=\"{log}\"")), "{log}");
    }
    assert!(page.contains("per shard, below"));
    // One row per step and shard of the sharded system, each with the even share beside it.
    let rows = page.matches("<td class=\"num\">33.3%</td>").count();
    assert_eq!(rows, report.steps.len() * cluster.nodes.len());
    let summary = authbench_report::summary::table(&report);
    assert!(
        summary.contains("Store commands by shard (last step):"),
        "{summary}"
    );
    assert!(summary.contains("(even: 33.3% each)"), "{summary}");
}

#[test]
fn across_services_shows_each_styles_cost_the_rotation_and_the_issuer_pause() {
    let report = fixture("sso");
    let page = render(&report);
    assert!(page.contains("Across services"));
    assert!(
        page.contains("href=\"#services\""),
        "the section is in the navigation"
    );
    for verify in ["jwks", "introspect", "store"] {
        assert!(page.contains(&format!("<code>{verify}</code>")), "{verify}");
    }
    assert!(page.contains("Key rotation") && page.contains("Issuer paused"));
    assert!(page.contains("(cache 1000 ms)"));
    let rows = authbench_report::services::rows(&report);
    assert_eq!(rows.len(), report.steps.len() * report.systems.len());
    for row in &rows {
        match row.verify {
            Verify::Jwks => {
                assert_eq!(row.issuer_calls_per_request, Some(0.0), "{row:?}");
                assert!(
                    row.rotation.is_some_and(|r| r.failed_requests == 0),
                    "{row:?}"
                );
            }
            Verify::Store => assert!(row.resource_store_per_request >= Some(0.95), "{row:?}"),
            Verify::Introspect => assert!(row.issuer_calls_per_request > Some(0.0), "{row:?}"),
        }
    }
    let summary = authbench_report::summary::table(&report);
    assert!(
        summary.contains("At the resource server, per balance request:"),
        "{summary}"
    );
    assert!(summary.contains("may pass for up to 1000 ms"), "{summary}");
    let assessed = claims::assess(&report);
    let evidence = |id: &str| {
        assessed
            .iter()
            .find(|claim| claim.id == id)
            .map(|claim| claim.evidence.join("\n"))
            .unwrap_or_default()
    };
    assert!(
        evidence("C2").contains("Across services, sso-jwt"),
        "{}",
        evidence("C2")
    );
    assert!(
        evidence("C4").contains("sso-opaque (introspection)"),
        "{}",
        evidence("C4")
    );
    assert!(
        evidence("C4").contains("may pass for up to 1000 ms"),
        "{}",
        evidence("C4")
    );
}
