//! The prose sections: each claim with its verdict and figures, the scenario as it ran (its TOML
//! verbatim) and the machine, so a reader can judge the verdicts and run the scenario again.

use std::fmt::Write as _;

use super::escape;
use super::plots::{color, hex};
use crate::claims::{Claim, Verdict};
use crate::format::{bytes, micros_short, number, percent, routing, short, timestamp};
use crate::model::{Report, SystemInfo};

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Supports => "supports",
        Verdict::Contradicts => "contradicts",
        Verdict::Mixed => "mixed",
        Verdict::NotMeasured => "not-measured",
    }
}

/// An overview table of verdicts, then one article per claim.
pub fn claims(report: &Report, claims: &[Claim]) -> String {
    let mut html = format!(
        "<p>What this run measured for each claim under test (each stated beside its verdict), and whether those \
         figures support it. Verdicts come from the numbers below; figures span the {} steps \
         unless a step is named.</p>\n<table class=\"verdicts\"><thead><tr><th>Claim</th>\
         <th>Verdict</th></tr></thead><tbody>\n",
        report.steps.len()
    );
    for claim in claims {
        let _ = writeln!(
            html,
            "<tr><td><a href=\"#claim-{}\">{} {}</a></td><td><span class=\"verdict {}\">{}</span>\
             </td></tr>",
            claim.id.to_ascii_lowercase(),
            claim.id,
            escape(claim.title),
            verdict_class(claim.verdict),
            claim.verdict.label()
        );
    }
    html.push_str("</tbody></table>\n");
    for claim in claims {
        let _ = writeln!(
            html,
            "<article class=\"claim {class}\" id=\"claim-{anchor}\">\n<h3>{id} {title} \
             <span class=\"verdict {class}\">{verdict}</span></h3>\n\
             <p class=\"statement\">{statement}</p>",
            class = verdict_class(claim.verdict),
            anchor = claim.id.to_ascii_lowercase(),
            id = claim.id,
            title = escape(claim.title),
            verdict = claim.verdict.label(),
            statement = escape(claim.statement),
        );
        list(&mut html, "evidence", "Measured", &claim.evidence);
        list(
            &mut html,
            "caveats",
            "What this cannot show",
            &claim.caveats,
        );
        html.push_str("</article>\n");
    }
    html
}

fn list(html: &mut String, class: &str, heading: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(html, "<h4>{heading}</h4>\n<ul class=\"{class}\">\n");
    for item in items {
        let _ = writeln!(html, "<li>{}</li>", escape(item));
    }
    html.push_str("</ul>\n");
}

fn row(html: &mut String, key: &str, value: &str) {
    let _ = writeln!(
        html,
        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
        escape(key),
        escape(value)
    );
}

/// The scenario's settings, its systems and its source.
pub fn scenario(report: &Report) -> String {
    let scenario = &report.scenario;
    let mut html = String::from("<table class=\"facts\"><tbody>\n");
    row(&mut html, "Name", &scenario.name);
    row(&mut html, "File", &scenario.path);
    let overrides = if scenario.overrides.is_empty() {
        "none".to_owned()
    } else {
        scenario.overrides.join(", ")
    };
    row(&mut html, "Command-line overrides", &overrides);
    row(&mut html, "Accounts", &number(f64::from(scenario.accounts)));
    let mut flow = format!(
        "login, then {} balance requests",
        scenario.balances_per_login
    );
    if let Some(every) = scenario.refresh_every {
        let _ = write!(flow, ", a refresh every {every}");
    }
    if scenario.logout {
        flow.push_str(", then logout");
    }
    if scenario.think_time_ms > 0.0 {
        let _ = write!(flow, "; {} ms think time", number(scenario.think_time_ms));
    }
    row(&mut html, "Flow", &flow);
    row(&mut html, "Balances from", scenario.balance_source.as_str());
    let loads: Vec<String> = report.steps.iter().map(|s| short(s.load)).collect();
    row(&mut html, "Steps", &loads.join(", "));
    let timing = format!(
        "{} s measured after {} s of warm-up, {} repeats per step",
        short(scenario.step_duration_s),
        short(scenario.warmup_s),
        scenario.repeats
    );
    row(&mut html, "Timing", &timing);
    let slo = &report.slo;
    let ops: Vec<&str> = slo.operations.iter().map(|op| op.as_str()).collect();
    let slo_text = format!(
        "p{} of {} at most {}; errors at most {}",
        short(slo.percentile),
        ops.join(", "),
        micros_short(slo.latency_us as f64),
        percent(slo.max_error_rate)
    );
    row(&mut html, "SLO", &slo_text);
    html.push_str(
        "</tbody></table>\n<h3>Systems</h3>\n\
         <div class=\"table-wrap\"><table class=\"data\"><thead><tr>\
         <th>System</th><th>Kind</th><th>Store</th><th class=\"num\">Processes</th>\
         <th>Cores</th><th>Settings</th></tr></thead>\n<tbody>\n",
    );
    for (index, system) in report.systems.iter().enumerate() {
        let settings: Vec<String> = system
            .settings
            .iter()
            .map(|(key, value)| format!("<code>{}={}</code>", escape(key), escape(value)))
            .collect();
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\"><span class=\"dot\" style=\"background: {}\"></span>{}</th>\
             <td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"settings\">{}</td></tr>",
            hex(color(index)),
            escape(&system.name),
            escape(system.kind.as_str()),
            escape(&store_shown(system)),
            escape(&processes(system)),
            escape(&cores(system)),
            settings.join(" ")
        );
    }
    let _ = writeln!(
        html,
        "</tbody></table></div>\n<h3>Source</h3>\n<p>Run it again with <code>authbench run \
         {}</code> \
         (this text, saved to that path).</p>\n<pre class=\"source\"><code>{}</code></pre>",
        escape(&scenario.path),
        escape(&scenario.source)
    );
    html
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
pub fn machine(report: &Report) -> String {
    let machine = &report.machine;
    let mut html = String::from("<table class=\"facts\"><tbody>\n");
    row(&mut html, "Host", &machine.hostname);
    row(&mut html, "OS", &machine.os);
    row(&mut html, "Kernel", &machine.kernel);
    row(&mut html, "CPU", &machine.cpu_model);
    row(&mut html, "Logical CPUs", &machine.cores.to_string());
    row(&mut html, "Memory", &bytes(machine.memory_bytes as f64));
    row(&mut html, "authbench", &report.generator);
    let loadgen = format!(
        "cores {}, {} worker threads (pid {})",
        report.loadgen.cores, report.loadgen.worker_threads, report.loadgen.pid
    );
    row(&mut html, "Load generator", &loadgen);
    for system in &report.systems {
        row(&mut html, &escape(&system.name), &processes_shown(system));
    }
    row(&mut html, "Started", &timestamp(&report.started_at));
    row(&mut html, "Finished", &timestamp(&report.finished_at));
    html.push_str(
        "</tbody></table>\n<p class=\"note\">Absolute figures belong to this machine; compare \
         systems within one run, side by side.</p>\n",
    );
    html
}
