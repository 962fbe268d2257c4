//! What differs between two runs besides their figures: the flow, timing, SLO, machine, server
//! settings and the steps' own flags. Any of these can explain a delta better than the change
//! under test can, so the comparison lists them beside the tables.

use std::collections::BTreeSet;

use crate::format::trim_number;
use crate::model::{Flag, Report, SystemInfo, SystemStep};

/// What differs between the runs besides the figures: the flow, timing, SLO, machine and
/// server settings. Any of these can explain a delta better than the code change can.
pub(super) fn setting_differences(base: &Report, new: &Report) -> Vec<String> {
    let (b, n) = (&base.scenario, &new.scenario);
    let mut system_fields: Vec<(String, String, String)> = Vec::new();
    let fields: Vec<(&str, String, String)> = vec![
        (
            "scenario.accounts",
            b.accounts.to_string(),
            n.accounts.to_string(),
        ),
        (
            "scenario.balances_per_login",
            b.balances_per_login.to_string(),
            n.balances_per_login.to_string(),
        ),
        (
            "scenario.refresh_every",
            format!("{:?}", b.refresh_every),
            format!("{:?}", n.refresh_every),
        ),
        (
            "scenario.logout",
            b.logout.to_string(),
            n.logout.to_string(),
        ),
        (
            "scenario.stagger_logins",
            b.stagger_logins.to_string(),
            n.stagger_logins.to_string(),
        ),
        (
            "scenario.think_time_ms",
            trim_number(b.think_time_ms),
            trim_number(n.think_time_ms),
        ),
        (
            "scenario.balance_source",
            b.balance_source.to_string(),
            n.balance_source.to_string(),
        ),
        (
            "scenario.step_duration_s",
            trim_number(b.step_duration_s),
            trim_number(n.step_duration_s),
        ),
        (
            "scenario.warmup_s",
            trim_number(b.warmup_s),
            trim_number(n.warmup_s),
        ),
        (
            "scenario.repeats",
            b.repeats.to_string(),
            n.repeats.to_string(),
        ),
        (
            "scenario.overrides",
            b.overrides.join(" "),
            n.overrides.join(" "),
        ),
        ("slo", format!("{:?}", base.slo), format!("{:?}", new.slo)),
        (
            "machine.hostname",
            base.machine.hostname.clone(),
            new.machine.hostname.clone(),
        ),
        (
            "machine.cpu_model",
            base.machine.cpu_model.clone(),
            new.machine.cpu_model.clone(),
        ),
        (
            "machine.cores",
            base.machine.cores.to_string(),
            new.machine.cores.to_string(),
        ),
        ("generator", base.generator.clone(), new.generator.clone()),
        (
            "status",
            format!("{:?}", base.status),
            format!("{:?}", new.status),
        ),
    ];
    for new_system in &new.systems {
        let Some(base_system) = base.systems.iter().find(|s| s.name == new_system.name) else {
            continue;
        };
        let name = &new_system.name;
        let cores = |system: &SystemInfo| system.cores.clone().unwrap_or_else(|| "any".into());
        let store_version = |system: &SystemInfo| {
            system
                .store_version
                .clone()
                .unwrap_or_else(|| "(not recorded)".into())
        };
        let owned = [
            (
                format!("{name} cores"),
                cores(base_system),
                cores(new_system),
            ),
            (
                format!("{name} store version"),
                store_version(base_system),
                store_version(new_system),
            ),
        ];
        let keys: BTreeSet<&String> = base_system
            .settings
            .keys()
            .chain(new_system.settings.keys())
            .filter(|key| comparable_setting(key))
            .collect();
        let setting = |system: &SystemInfo, key: &str| {
            system
                .settings
                .get(key)
                .cloned()
                .unwrap_or_else(|| "(unset)".into())
        };
        let settings = keys.into_iter().map(|key| {
            let what = format!("{name} --{key}");
            (what, setting(base_system, key), setting(new_system, key))
        });
        system_fields.extend(owned.into_iter().chain(settings));
    }
    let run_fields = fields
        .into_iter()
        .map(|(what, base, new)| (what.to_owned(), base, new));
    let mut notes: Vec<String> = run_fields
        .chain(system_fields)
        .filter(|(_, base, new)| base != new)
        .map(|(what, base, new)| format!("{what}: {base} (base) → {new} (new)"))
        .collect();
    if b.source != n.source {
        notes.push("the scenario files differ (scenario.source)".into());
    }
    notes
}

/// Paths and addresses name each run's own folder and port (and JWT replicas' shared key file),
/// so they always differ.
fn comparable_setting(key: &str) -> bool {
    !matches!(key, "main-db" | "store" | "listen" | "key-file")
}

/// Flags on either side: a loadgen-bound or partial step measures the run, not the system.
pub(super) fn flag_notes(load: f64, base: &SystemStep, new: &SystemStep) -> Vec<String> {
    let describe = |flag: &Flag| match flag {
        Flag::LoadgenBound { reason } => format!("loadgen-bound ({reason})"),
        Flag::Errors { rate } => format!("errors ({}%)", trim_number(rate * 100.0)),
        Flag::Partial { reason } => format!("partial ({reason})"),
        Flag::SystemDown { reason } => format!("system down ({reason})"),
        Flag::ConnectionsExhausted { waited } => format!("too few connections ({waited} waited)"),
    };
    let load = trim_number(load);
    [("base", base), ("new", new)]
        .into_iter()
        .flat_map(|(run, result)| {
            let load = &load;
            result.flags.iter().map(move |flag| {
                format!(
                    "{} at load {load}: {run} run flagged {}",
                    result.system,
                    describe(flag)
                )
            })
        })
        .collect()
}
