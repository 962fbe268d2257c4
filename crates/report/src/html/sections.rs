//! The prose sections: each claim with its verdict and figures, the scenario as it ran (its TOML
//! verbatim) and the machine, so a reader can judge the verdicts and run the scenario again.

use maud::{Markup, html};

use super::plots::{color, hex};
use crate::claims::{Claim, Verdict};
use crate::format::{bytes, micros_short, number, percent, routing, short, timestamp};
use crate::model::{CpuCap, Report, SystemInfo};

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Supports => "supports",
        Verdict::Contradicts => "contradicts",
        Verdict::Mixed => "mixed",
        Verdict::NotMeasured => "not-measured",
    }
}

/// An overview table of verdicts, then one article per claim.
pub fn claims(report: &Report, claims: &[Claim]) -> Markup {
    html! {
        p {
            "What this run measured for each claim under test (each stated beside its verdict), \
             and whether those figures support it. Verdicts come from the numbers below; figures \
             span the " (report.steps.len()) " steps unless a step is named."
        }
        table.verdicts {
            thead { tr { th { "Claim" } th { "Verdict" } } }
            tbody {
                @for claim in claims {
                    tr {
                        td {
                            a href={ "#claim-" (claim.id.to_ascii_lowercase()) } {
                                (claim.id) " " (claim.title)
                            }
                        }
                        td { span.verdict.(verdict_class(claim.verdict)) { (claim.verdict.label()) } }
                    }
                }
            }
        }
        @for claim in claims {
            article.claim.(verdict_class(claim.verdict)) id={ "claim-" (claim.id.to_ascii_lowercase()) } {
                h3 {
                    (claim.id) " " (claim.title) " "
                    span.verdict.(verdict_class(claim.verdict)) { (claim.verdict.label()) }
                }
                p.statement { (claim.statement) }
                (list("evidence", "Measured", &claim.evidence))
                (list("caveats", "What this cannot show", &claim.caveats))
            }
        }
    }
}

fn list(class: &str, heading: &str, items: &[String]) -> Markup {
    html! {
        @if !items.is_empty() {
            h4 { (heading) }
            ul class=(class) { @for item in items { li { (item) } } }
        }
    }
}

fn facts<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> Markup {
    html! {
        table.facts {
            tbody {
                @for (key, value) in rows { tr { th scope="row" { (key) } td { (value) } } }
            }
        }
    }
}

/// The scenario's settings, its systems and its source.
pub fn scenario(report: &Report) -> Markup {
    let scenario = &report.scenario;
    html! {
        (facts(scenario_facts(report)))
        h3 { "Systems" }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "System" } th { "Kind" } th { "Store" } th.num { "Processes" }
                        th { "Cores" } th { "Settings" }
                    }
                }
                tbody {
                    @for (index, system) in report.systems.iter().enumerate() {
                        tr {
                            th scope="row" {
                                span.dot style={ "background: " (hex(color(index))) } {}
                                (system.name)
                            }
                            td { (system.kind.as_str()) }
                            td { (store_shown(system)) }
                            td.num { (processes(system)) }
                            td { (cores(system)) }
                            td.settings {
                                @for (i, (key, value)) in system.settings.iter().enumerate() {
                                    @if i > 0 { " " }
                                    code { (key) "=" (value) }
                                }
                                @if let Some(balancer) = &system.balancer {
                                    " " code { "balancer=" (balancer.version) }
                                    " at " code { (balancer.base_url) }
                                    @if let Some(config) = &balancer.config {
                                        " (" a href=(config) { "config" } ")"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !report.stores.is_empty() {
            (owned_stores(report))
        }
        (ceilings(report))
        (super::store_commands::section(report))
        (super::shards::section(report))
        h3 { "Source" }
        p {
            "Run it again with " code { "authbench run " (scenario.path) }
            " (this text, saved to that path)."
        }
        pre.source { code { (scenario.source) } }
    }
}

/// Each store ceiling measured before the steps, by system.
fn ceilings(report: &Report) -> Markup {
    let measured: Vec<_> = report
        .systems
        .iter()
        .filter_map(|system| Some((system, system.store_ceiling.as_ref()?)))
        .collect();
    html! {
        @if !measured.is_empty() {
            h3 { "Store ceilings" }
            p {
                "Measured before the steps by saturating each session store with the lookup a \
                 session server sends, over as many connections as the servers hold to it, under \
                 its limits. The steps table gives each step's store load as a share of it."
            }
            ul {
                @for (system, ceiling) in &measured {
                    li {
                        (system.name) ": " (number(ceiling.operations_per_second)) " lookups/s"
                        @if let Some(cores) = ceiling.cpu_cores {
                            " at " (number(cores)) " store cores"
                        }
                        " (" code { (ceiling.command) } ", " (ceiling.connections)
                        " connections × " (ceiling.in_flight) " in flight, "
                        (short(ceiling.seconds)) " s)"
                    }
                }
            }
        }
    }
}

/// The stores the run started, and the limits the kernel enforced on them: a cap or a core list
/// emulates a smaller store machine, and the table says which emulation ran.
fn owned_stores(report: &Report) -> Markup {
    html! {
        h3 { "Stores the run started" }
        div.table-wrap {
            table.data {
                thead {
                    tr {
                        th { "Store" } th { "Kind" } th { "URL" } th { "CPU cap" }
                        th.num { "Throttled periods" } th { "Cores" } th { "Distance" }
                        th { "Settings" }
                    }
                }
                tbody {
                    @for store in &report.stores {
                        tr {
                            th scope="row" { (store.name) }
                            td { (store.kind.as_str()) }
                            td { code { (store.url) } }
                            @if store.nodes.is_empty() {
                                (cap_cells(store.cpu_cap.as_ref()))
                            } @else {
                                td { "per shard, below" } td.num { "–" }
                            }
                            td { (store.cores.as_deref().unwrap_or("any")) }
                            td {
                                @match &store.network {
                                    Some(network) => {
                                        (short(network.rtt_ms)) " ms RTT asked, "
                                        (short(network.measured_rtt_ms)) " ms measured through a \
                                         delay relay (direct: " (short(network.direct_rtt_ms))
                                        " ms); relay CPU " (short(network.relay_cpu_s)) " s"
                                    }
                                    None => "loopback",
                                }
                            }
                            td.settings {
                                @for (i, (key, value)) in store.settings.iter().enumerate() {
                                    @if i > 0 { " " }
                                    code { (key) "=" (value) }
                                }
                            }
                        }
                        @for node in &store.nodes {
                            tr {
                                th scope="row" { "↳ shard " code { (node.address) } }
                                td { "node" @if let Some(pid) = node.pid { ", pid " (pid) } }
                                td { @if let Some(log) = &node.log { a href=(log) { "log" } } }
                                (cap_cells(node.cpu_cap.as_ref()))
                                td { (store.cores.as_deref().unwrap_or("any")) }
                                td { "loopback" }
                                td {}
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The CPU cap as asked and enforced, and how often the kernel held the store back.
fn cap_cells(cap: Option<&CpuCap>) -> Markup {
    html! {
        td {
            @match cap {
                Some(cap) => {
                    (short(cap.cores)) " cores asked, "
                    (short(cap.enforced_cores)) " enforced ("
                    (cap.mechanism)
                    @if let Some(period) = cap.period_ms {
                        ", per " (short(period)) " ms period"
                    }
                    ")"
                }
                None => "none",
            }
        }
        td.num {
            @match cap {
                Some(cap) => {
                    (cap.throttled_periods) " of " (cap.periods)
                    " (" (short(cap.throttled_s)) " s held back)"
                }
                None => "–",
            }
        }
    }
}

fn scenario_facts(report: &Report) -> Vec<(&'static str, String)> {
    let scenario = &report.scenario;
    let overrides = if scenario.overrides.is_empty() {
        "none".to_owned()
    } else {
        scenario.overrides.join(", ")
    };
    let mut flow = format!(
        "login, then {} balance requests",
        scenario.balances_per_login
    );
    if let Some(every) = scenario.refresh_every {
        flow.push_str(&format!(", a refresh every {every}"));
    }
    if scenario.logout {
        flow.push_str(", then logout");
    }
    if scenario.stagger_logins {
        flow.push_str(" (each user's first login cut short by a share, spreading the logins)");
    }
    if scenario.think_time_ms > 0.0 {
        flow.push_str(&format!(
            "; {} ms think time",
            number(scenario.think_time_ms)
        ));
    }
    let loads: Vec<String> = report.steps.iter().map(|s| short(s.position())).collect();
    let timing = format!(
        "{} s measured after {} s of warm-up, {} repeats per step",
        short(scenario.step_duration_s),
        short(scenario.warmup_s),
        scenario.repeats
    );
    let slo = &report.slo;
    let ops: Vec<&str> = slo.operations.iter().map(|op| op.as_str()).collect();
    let slo_text = format!(
        "p{} of {} at most {}; errors at most {}",
        short(slo.percentile),
        ops.join(", "),
        micros_short(slo.latency_us as f64),
        percent(slo.max_error_rate)
    );
    let mut facts = vec![
        ("Name", scenario.name.clone()),
        ("File", scenario.path.clone()),
        ("Command-line overrides", overrides),
        ("Accounts", number(f64::from(scenario.accounts))),
        ("Flow", flow),
        ("Balances from", scenario.balance_source.as_str().to_owned()),
        ("Steps", loads.join(", ")),
        ("Timing", timing),
        ("SLO", slo_text),
    ];
    facts.extend(split_facts(report));
    facts
}

/// Where a run was one shard of several, or merged from them.
fn split_facts(report: &Report) -> Option<(&'static str, String)> {
    if let Some(shard) = &report.shard {
        return Some((
            "Shard",
            format!(
                "{} of {} (0-based), every turn at a fixed offset from {}; merge the shards with \
                 authbench merge",
                shard.index, shard.count, shard.start_at
            ),
        ));
    }
    let merged = report.merged.as_ref()?;
    let sources: Vec<String> = merged
        .shards
        .iter()
        .map(|shard| format!("{} ({}, on {})", shard.index, shard.source, shard.hostname))
        .collect();
    Some((
        "Merged from shards",
        format!(
            "{}; histograms added, counts summed; the measured windows overlapped by at least {}",
            sources.join(", "),
            percent(merged.min_window_overlap)
        ),
    ))
}

/// `1`, or `2 (round robin)` for a system that scaled out.
fn processes(system: &SystemInfo) -> String {
    match (system.replica_count(), system.routing) {
        (1, _) => "1".to_owned(),
        (n, Some(mode)) => format!("{n} ({})", routing(mode)),
        (n, None) => n.to_string(),
    }
}

/// The CPU affinity of each server process: `0`, or `0 / 1` for two replicas.
fn cores(system: &SystemInfo) -> String {
    if system.replicas.is_empty() {
        return system.cores.as_deref().unwrap_or("any").to_owned();
    }
    let lists: Vec<&str> = system
        .replicas
        .iter()
        .map(|replica| replica.cores.as_deref().unwrap_or("any"))
        .collect();
    lists.join(" / ")
}

/// The store's kind, with the server's own version where a probe asked it.
fn store_shown(system: &SystemInfo) -> String {
    match (&system.store, &system.store_version) {
        (Some(store), Some(version)) => format!("{store} ({version})"),
        (Some(store), None) => store.to_string(),
        (None, _) => "–".into(),
    }
}

/// The cores, worker threads and pid of a system's process, or of each of its replicas.
fn processes_shown(system: &SystemInfo) -> String {
    let workers = system.settings.get("workers");
    let pid = |pid: Option<u32>| pid.map_or(String::new(), |pid| format!(" (pid {pid})"));
    if system.replicas.is_empty() {
        let workers = workers.map_or(String::new(), |w| format!(", {w} worker threads"));
        return format!(
            "cores {}{workers}{}",
            system.cores.as_deref().unwrap_or("any"),
            pid(system.pid)
        );
    }
    let each: Vec<String> = system
        .replicas
        .iter()
        .map(|replica| {
            let cores = replica.cores.as_deref().unwrap_or("any");
            format!("cores {cores}{}", pid(replica.pid))
        })
        .collect();
    let routed = system
        .routing
        .map_or(String::new(), |mode| format!(", {} routing", routing(mode)));
    let workers = workers.map_or(String::new(), |w| format!("; {w} worker threads each"));
    format!(
        "{} processes{routed}: {}{workers}",
        system.replicas.len(),
        each.join("; ")
    )
}

/// The machine, the versions and the cores each process had.
pub fn machine(report: &Report) -> Markup {
    let machine = &report.machine;
    let loadgen = format!(
        "cores {}, {} worker threads (pid {})",
        report.loadgen.cores, report.loadgen.worker_threads, report.loadgen.pid
    );
    let mut rows: Vec<(&str, String)> = vec![
        ("Host", machine.hostname.clone()),
        ("OS", machine.os.clone()),
        ("Kernel", machine.kernel.clone()),
        ("CPU", machine.cpu_model.clone()),
        ("Logical CPUs", machine.cores.to_string()),
        ("Memory", bytes(machine.memory_bytes as f64)),
        ("authbench", report.generator.clone()),
        ("Load generator", loadgen),
    ];
    rows.extend(
        report
            .systems
            .iter()
            .map(|system| (system.name.as_str(), processes_shown(system))),
    );
    rows.push(("Started", timestamp(&report.started_at)));
    rows.push(("Finished", timestamp(&report.finished_at)));
    html! {
        (facts(rows))
        p.note {
            "Absolute figures belong to this machine; compare systems within one run, side by \
             side."
        }
    }
}
