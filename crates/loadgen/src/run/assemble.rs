//! From turns to report.json: each system's repeats at a step merged into one [`SystemStep`],
//! the per-request figures the claims rest on derived, flags raised, and every turn's histograms
//! written to `hdr/<system>.<operation>.hlog`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use authbench_report as report;
use authbench_report::slo::SloTarget;
use authbench_report::{
    Derived, Flag, OperationStats, RepeatStats, Resources, SystemInfo, SystemStep,
};

use super::store_sum::{self, StoreSum};
use super::turn::Turn;
use crate::output::{self, Interval, RunDir};
use crate::probe::{IssuerCounts, MetricsLoad, ProcessLoad, StoreLoad};
use crate::recording::{ErrorCounts, Recording};
use crate::scenario::{Load, Operation, Scenario};

/// Above this share of its cores, the load generator may be what limits the step.
const LOADGEN_SATURATED: f64 = 0.9;
/// Flows started late (over 1 ms) with a connection free, above this share: the load generator
/// fell behind its schedule. A few late wake-ups happen on any busy machine; 5% is a pattern.
const SCHEDULE_SLIP: f64 = 0.05;

fn scenario_info(scenario: &Scenario, overrides: &[String]) -> report::ScenarioInfo {
    report::ScenarioInfo {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        path: scenario.path.display().to_string(),
        source: scenario.source.clone(),
        overrides: overrides.to_vec(),
        accounts: scenario.users.accounts.get(),
        balances_per_login: scenario.flow.balances_per_login.get(),
        refresh_every: scenario.flow.refresh_every.map(|n| n.get()),
        logout: scenario.flow.logout,
        stagger_logins: scenario.flow.stagger,
        think_time_ms: scenario.flow.think_time.as_secs_f64() * 1e3,
        balance_source: scenario.balance_source,
        step_duration_s: scenario.timing.step_duration.as_secs_f64(),
        warmup_s: scenario.timing.warmup.as_secs_f64(),
        repeats: scenario.timing.repeats.get(),
    }
}

fn load_of(scenario: &Scenario, step: usize) -> f64 {
    match &scenario.load {
        Load::Closed { vus } => f64::from(vus[step].get()),
        Load::Open { flows_per_second } => flows_per_second[step],
    }
}

/// What a run measured, as report.json holds it: a pure transform of the turns and the systems;
/// nothing here touches the results folder.
pub(super) struct Measured<'a> {
    pub scenario: &'a Scenario,
    pub overrides: &'a [String],
    pub stores: Vec<report::OwnedStoreInfo>,
    pub systems: Vec<SystemInfo>,
    pub turns: &'a [Turn],
    /// Population scenarios: per step, each system's population (in the systems' order).
    pub populations: &'a [Vec<Option<report::Population>>],
    pub status: report::RunStatus,
    pub started_at: SystemTime,
    pub finished_at: SystemTime,
    pub machine: report::Machine,
    pub loadgen: report::LoadgenInfo,
    /// This run's share of a split run, if it is one.
    pub shard: Option<report::ShardInfo>,
}

/// The [`report::Report`] of a run, built in one place.
pub(super) fn report(measured: Measured<'_>) -> Result<report::Report, output::Error> {
    let scenario = measured.scenario;
    let steps = steps(
        scenario,
        &measured.systems,
        measured.turns,
        measured.populations,
    )?;
    Ok(report::Report {
        schema_version: report::SCHEMA_VERSION,
        generator: format!("authbench {}", env!("CARGO_PKG_VERSION")),
        scenario: scenario_info(scenario, measured.overrides),
        machine: measured.machine,
        started_at: humantime::format_rfc3339_millis(measured.started_at).to_string(),
        finished_at: humantime::format_rfc3339_millis(measured.finished_at).to_string(),
        status: measured.status,
        load_model: match scenario.load {
            Load::Closed { .. } => report::LoadModel::Closed,
            Load::Open { .. } => report::LoadModel::Open,
        },
        slo: scenario.slo.clone(),
        loadgen: measured.loadgen,
        stores: measured.stores,
        systems: measured.systems,
        steps,
        shard: measured.shard,
        merged: None,
    })
}

/// Every step that ran at least one turn, in order.
fn steps(
    scenario: &Scenario,
    systems: &[SystemInfo],
    turns: &[Turn],
    populations: &[Vec<Option<report::Population>>],
) -> Result<Vec<report::Step>, output::Error> {
    let mut steps = Vec::new();
    for step in 0..scenario.load.steps() {
        let mut results = Vec::new();
        for (index, system) in systems.iter().enumerate() {
            let mine: Vec<&Turn> = turns
                .iter()
                .filter(|t| t.step == step && t.system == system.name)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut result = system_step(scenario, system, &mine)?;
            result.population = populations
                .get(step)
                .and_then(|systems| systems.get(index).cloned().flatten());
            results.push(result);
        }
        if !results.is_empty() {
            steps.push(report::Step {
                index: step as u32,
                load: load_of(scenario, step),
                population: scenario.population.as_ref().map(|p| p.sessions[step]),
                results,
            });
        }
    }
    Ok(steps)
}

fn system_step(
    scenario: &Scenario,
    system: &SystemInfo,
    turns: &[&Turn],
) -> Result<SystemStep, output::Error> {
    let mut merged: Option<Recording> = None;
    let mut wall = Duration::ZERO;
    let mut repeats = Vec::new();
    let mut flags = Vec::new();
    let mut resources = ResourceSum::default();
    let mut store = StoreSum::default();
    let mut server_requests: Option<u64> = Some(0);
    let mut resource: Option<ResourceServerSum> = None;
    for turn in turns {
        if let Some(why) = &turn.skipped {
            flags.push(Flag::SystemDown {
                reason: why.clone(),
            });
            continue;
        }
        if let Some(why) = &turn.partial {
            flags.push(Flag::Partial {
                reason: why.clone(),
            });
        }
        let Some(recording) = &turn.recording else {
            continue;
        };
        wall += turn.wall;
        let turn_store = store_sum::from_turn(turn, system.store);
        repeats.push(repeat_stats(scenario, recording, turn, turn_store.as_ref()));
        resources.add(turn);
        if let Some(load) = &turn.resource {
            resource.get_or_insert_default().add(load);
        }
        store.add(turn_store.as_ref());
        // A resource server answers the balance requests: the servers' count is both.
        let resource_requests = match &turn.resource {
            Some((_, Some(metrics))) => Some(metrics.total_requests),
            Some((_, None)) => None,
            None => Some(0),
        };
        server_requests = match (server_requests, &turn.metrics, resource_requests) {
            (Some(sum), Some(metrics), Some(resource)) => {
                Some(sum + metrics.total_requests + resource)
            }
            _ => None,
        };
        match merged.as_mut() {
            Some(all) => all.merge(recording.clone()),
            None => merged = Some(recording.clone()),
        }
    }
    let seconds = wall.as_secs_f64();
    let per_second = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let mut operations = Vec::new();
    let (mut requests, mut errors, mut logins) = (0, 0, 0);
    if let Some(recording) = &merged {
        for op in Operation::ALL {
            let Some(rec) = recording.operation(op) else {
                continue;
            };
            let count = rec.requests();
            if count == 0 {
                continue;
            }
            requests += count;
            errors += rec.errors().total();
            if op == Operation::Login {
                logins += rec.ok();
            }
            operations.push(OperationStats {
                operation: op,
                requests: count,
                ok: rec.ok(),
                requests_per_second: per_second(count),
                errors: errors_by_kind(rec.errors()),
                bytes_sent_per_request: rec.bytes_sent() as f64 / count as f64,
                bytes_received_per_request: rec.bytes_received() as f64 / count as f64,
                latency: output::latency(rec.latency()),
                latency_uncorrected: rec.raw_latency().map(output::latency),
                histogram: output::encode_histogram(rec.latency())?,
            });
        }
    }
    let store_load = store.finish();
    let per_request =
        |value: Option<f64>| value.and_then(|v| (requests > 0).then(|| v / requests as f64));
    let derived = Derived {
        store_operations_per_request: per_request(store_load.as_ref().map(|s| s.operations as f64)),
        store_cpu_us_per_request: per_request(
            store_load.as_ref().and_then(|s| s.cpu_s).map(|s| s * 1e6),
        ),
        server_cpu_us_per_request: per_request(resources.server_cpu_s.map(|s| s * 1e6)),
        balancer_cpu_us_per_request: per_request(resources.balancer_cpu_s.map(|s| s * 1e6)),
        store_bytes_per_session: store_bytes_per_login(scenario, store_load.as_ref(), logins),
        store_ops_of_ceiling: system.store_ceiling.as_ref().and_then(|ceiling| {
            let load = store_load.as_ref()?;
            (seconds > 0.0)
                .then(|| load.operations as f64 / seconds / ceiling.operations_per_second)
        }),
        store_cpu_of_ceiling: system.store_ceiling.as_ref().and_then(|ceiling| {
            let cpu = store_load.as_ref()?.cpu_s?;
            let at_ceiling = ceiling.cpu_cores.filter(|cores| *cores > 0.0)?;
            (seconds > 0.0).then(|| cpu / seconds / at_ceiling)
        }),
    };
    let schedule = merged
        .as_ref()
        .and_then(|r| r.schedule())
        .map(|s| report::Schedule {
            flows_intended: s.intended,
            flows_late: s.late,
            flows_waited_for_connection: s.late_waiting_for_connection,
            max_lag_us: s.max_lag.as_micros() as u64,
        });
    let error_rate = if requests > 0 {
        errors as f64 / requests as f64
    } else {
        0.0
    };
    if errors > 0 {
        flags.push(Flag::Errors { rate: error_rate });
    }
    let loadgen_cpu_share = resources.loadgen_share(wall, scenario);
    if loadgen_cpu_share > LOADGEN_SATURATED {
        flags.push(Flag::LoadgenBound {
            reason: format!(
                "the load generator used {:.0}% of the CPU it may use",
                loadgen_cpu_share * 100.0
            ),
        });
    }
    if let Some(schedule) = &schedule {
        if schedule.flows_waited_for_connection > 0 {
            flags.push(Flag::ConnectionsExhausted {
                waited: schedule.flows_waited_for_connection,
            });
        }
        let slipped = schedule
            .flows_late
            .saturating_sub(schedule.flows_waited_for_connection);
        if schedule.flows_intended > 0
            && slipped as f64 / schedule.flows_intended as f64 > SCHEDULE_SLIP
        {
            flags.push(Flag::LoadgenBound {
                reason: format!(
                    "{slipped} of {} flows started late with a connection free: the scheduler \
                     fell behind",
                    schedule.flows_intended
                ),
            });
        }
    }
    let timeline = timeline(scenario, turns);
    let credentials_refused = (!scenario.faults.is_empty()).then(|| refused(&operations));
    let mut step = SystemStep {
        system: system.name.clone(),
        duration_s: seconds,
        requests,
        errors,
        requests_per_second: per_second(requests),
        operations,
        repeats,
        resources: Resources {
            server_cpu_s: resources.server_cpu_s,
            balancer_cpu_s: resources.balancer_cpu_s,
            server_peak_rss_bytes: resources.server_peak_rss,
            loadgen_cpu_s: resources.loadgen_cpu_s,
            loadgen_cpu_share,
            loadgen_peak_rss_bytes: resources.loadgen_peak_rss,
        },
        store: store_load,
        server_requests,
        population: None,
        overload: timeline.as_ref().and_then(report::overload::figures),
        faults: timeline
            .as_ref()
            .map(report::faults::figures)
            .unwrap_or_default(),
        credentials_refused,
        timeline,
        resource: resource.map(ResourceServerSum::finish),
        derived,
        schedule,
        slo_met: false,
        flags,
    };
    // Judged as the report and `--slo` judge a step, from the step as report.json holds it.
    step.slo_met = SloTarget::of_run(&scenario.slo)
        .evaluate(&step, &scenario.slo)
        .is_ok_and(|verdict| verdict.met);
    Ok(step)
}

/// A resource server's load over a step's turns.
#[derive(Default)]
struct ResourceServerSum {
    cpu_s: Option<f64>,
    requests: u64,
    issuer: IssuerCounts,
    store_operations: u64,
}

impl ResourceServerSum {
    fn add(&mut self, (process, metrics): &(Option<ProcessLoad>, Option<MetricsLoad>)) {
        if let Some(process) = process {
            *self.cpu_s.get_or_insert(0.0) += process.cpu.as_secs_f64();
        }
        if let Some(metrics) = metrics {
            self.requests += metrics.total_requests;
            self.issuer.add(metrics.issuer);
            self.store_operations += metrics.total_store_operations;
        }
    }

    fn finish(self) -> report::ResourceLoad {
        let per_request = |value: f64| (self.requests > 0).then(|| value / self.requests as f64);
        report::ResourceLoad {
            cpu_s: self.cpu_s,
            requests: self.requests,
            issuer_calls: self.issuer.issuer_calls,
            issuer_calls_failed: self.issuer.issuer_calls_failed,
            cache_hits: self.issuer.cache_hits,
            jwks_fetches: self.issuer.jwks_fetches,
            jwks_fetches_failed: self.issuer.jwks_fetches_failed,
            unknown_kid_refetches: self.issuer.unknown_kid_refetches,
            store_operations: self.store_operations,
            cpu_us_per_request: self.cpu_s.and_then(|cpu| per_request(cpu * 1e6)),
            issuer_calls_per_request: per_request(self.issuer.issuer_calls as f64),
            store_operations_per_request: per_request(self.store_operations as f64),
        }
    }
}

/// Authenticated requests answered 401 or 403: credentials the system no longer knew.
fn refused(operations: &[OperationStats]) -> u64 {
    operations
        .iter()
        .filter(|o| o.operation != Operation::Login)
        .flat_map(|o| ["status_401", "status_403"].map(|kind| o.errors.get(kind).copied()))
        .flatten()
        .sum()
}

/// The first measured turn's timeline, with the scenario's burst and the faults as they
/// happened in that turn.
fn timeline(scenario: &Scenario, turns: &[&Turn]) -> Option<report::Timeline> {
    let turn = turns.iter().find(|turn| !turn.timeline.is_empty())?;
    Some(report::Timeline {
        faults: turn.faults.clone(),
        points: turn.timeline.clone(),
        burst: scenario.overload.map(|overload| report::BurstWindow {
            start_s: overload.start.as_secs_f64(),
            end_s: overload.end().as_secs_f64(),
            factor: overload.factor,
        }),
    })
}

/// The store's memory growth per login, when that growth is the logins' sessions (or refresh
/// families): only in flows that never log out, since a logout frees what its login took (or
/// swaps it for a denylist entry), and the growth of a step then says nothing per login (a
/// revocation run measured -28 B).
fn store_bytes_per_login(
    scenario: &Scenario,
    store: Option<&report::StoreLoad>,
    logins: u64,
) -> Option<f64> {
    if scenario.flow.logout || logins == 0 {
        return None;
    }
    let grown = store?.memory_delta_bytes.filter(|bytes| *bytes > 0)?;
    Some(grown as f64 / logins as f64)
}

fn errors_by_kind(errors: &ErrorCounts) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for (kind, count) in [
        ("connect", errors.connect),
        ("timeout", errors.timeout),
        ("protocol", errors.protocol),
    ] {
        if count > 0 {
            kinds.insert(kind.to_owned(), count);
        }
    }
    for (code, count) in &errors.status {
        kinds.insert(format!("status_{code}"), *count);
    }
    kinds
}

/// One repeat (one turn) on its own: enough of its figures for a comparison to see how much the
/// step's repeats disagree with each other.
fn repeat_stats(
    scenario: &Scenario,
    recording: &Recording,
    turn: &Turn,
    store: Option<&report::StoreLoad>,
) -> RepeatStats {
    let (mut slo_percentile_us, mut p50_us, mut p99_us) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut requests, mut errors) = (0, 0);
    let micros = |latency: Duration| latency.as_micros() as u64;
    for op in Operation::ALL {
        let Some(rec) = recording.operation(op) else {
            continue;
        };
        requests += rec.requests();
        errors += rec.errors().total();
        let name = op.as_str().to_owned();
        if let Some(latency) = rec.percentile(scenario.slo.percentile) {
            slo_percentile_us.insert(name.clone(), micros(latency));
        }
        if let Some(latency) = rec.percentile(50.0) {
            p50_us.insert(name.clone(), micros(latency));
        }
        if let Some(latency) = rec.percentile(99.0) {
            p99_us.insert(name, micros(latency));
        }
    }
    let seconds = turn.wall.as_secs_f64();
    let per_request =
        |value: Option<f64>| value.and_then(|v| (requests > 0).then(|| v / requests as f64));
    RepeatStats {
        duration_s: seconds,
        requests,
        errors,
        requests_per_second: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        slo_percentile_us,
        p50_us,
        p99_us,
        store_operations_per_request: per_request(store.map(|s| s.operations as f64)),
        store_cpu_us_per_request: per_request(store.and_then(|s| s.cpu_s).map(|s| s * 1e6)),
        server_cpu_us_per_request: per_request(
            turn.server
                .as_ref()
                .map(|server| server.cpu_seconds() * 1e6),
        ),
        window: turn.window,
        server_rss_bytes: turn.server.as_ref().map(|server| server.rss_bytes),
        server_open_fds: turn.server.as_ref().and_then(|server| server.open_fds),
        store_keys: match &turn.store {
            Some(StoreLoad::Redis(redis)) => Some(redis.keys),
            _ => None,
        },
    }
}

#[derive(Default)]
struct ResourceSum {
    server_cpu_s: Option<f64>,
    balancer_cpu_s: Option<f64>,
    server_peak_rss: Option<u64>,
    loadgen_cpu_s: f64,
    loadgen_peak_rss: u64,
}

impl ResourceSum {
    fn add(&mut self, turn: &Turn) {
        if let Some(server) = &turn.server {
            *self.server_cpu_s.get_or_insert(0.0) += server.cpu_seconds();
            let peak = self.server_peak_rss.get_or_insert(0);
            *peak = (*peak).max(server.peak_rss_bytes);
        }
        if let Some(balancer) = &turn.balancer {
            *self.balancer_cpu_s.get_or_insert(0.0) += balancer.cpu_seconds();
        }
        if let Some(own) = &turn.loadgen {
            self.loadgen_cpu_s += own.cpu_seconds();
            self.loadgen_peak_rss = self.loadgen_peak_rss.max(own.peak_rss_bytes);
        }
    }

    fn loadgen_share(&self, wall: Duration, scenario: &Scenario) -> f64 {
        let cores = match &scenario.pinning {
            Some(pinning) => pinning.loadgen.len(),
            None => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        };
        let capacity = wall.as_secs_f64() * cores as f64;
        if capacity > 0.0 {
            self.loadgen_cpu_s / capacity
        } else {
            0.0
        }
    }
}

/// One hlog per system and operation (and a second, `.uncorrected`, in the open model), with one
/// interval per turn tagged `step<i>-r<repeat>`.
pub(super) fn write_hlogs(
    scenario: &Scenario,
    systems: &[SystemInfo],
    turns: &[Turn],
    dir: &RunDir,
    started_at: SystemTime,
) -> Result<(), output::Error> {
    for system in systems {
        for op in Operation::ALL {
            let mut corrected = Vec::new();
            let mut raw = Vec::new();
            for turn in turns.iter().filter(|t| t.system == system.name) {
                let Some(recording) = &turn.recording else {
                    continue;
                };
                let Some(rec) = recording.operation(op) else {
                    continue;
                };
                if rec.latency().is_empty() {
                    continue;
                }
                let tag = format!("step{}-r{}", turn.step, turn.repeat);
                corrected.push(Interval {
                    start: turn.start,
                    duration: turn.wall,
                    tag: tag.clone(),
                    histogram: rec.latency().clone(),
                });
                if let Some(histogram) = rec.raw_latency() {
                    raw.push(Interval {
                        start: turn.start,
                        duration: turn.wall,
                        tag,
                        histogram: histogram.clone(),
                    });
                }
            }
            let base = format!("{}.{}", system.name, op.as_str());
            let what = format!("{} {} ({})", system.name, op.as_str(), scenario.name);
            if !corrected.is_empty() {
                output::write_hlog(
                    &dir.hdr.join(format!("{base}.hlog")),
                    started_at,
                    &what,
                    &corrected,
                )?;
            }
            if !raw.is_empty() {
                output::write_hlog(
                    &dir.hdr.join(format!("{base}.uncorrected.hlog")),
                    started_at,
                    &format!("{what}, latency from the actual send"),
                    &raw,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(logout: bool) -> Scenario {
        let text = format!(
            "description = \"d\"\n[users]\naccounts = 10\n\
             [flow]\nbalances_per_login = 5\nlogout = {logout}\n\
             [load]\nmodel = \"closed\"\nvus = [1]\n[timing]\nstep_duration = \"1s\"\n\
             [[systems]]\nname = \"a\"\nkind = \"session\"\nstore = \"memory\"\n"
        );
        crate::scenario::parse(Path::new("test.toml"), &text).expect("a valid scenario")
    }

    fn grown(bytes: i64) -> report::StoreLoad {
        report::StoreLoad {
            kind: report::StoreKind::Redis,
            source: report::StoreLoadSource::RedisInfo,
            operations: 0,
            breakdown: BTreeMap::new(),
            server_counted_operations: None,
            cpu_s: None,
            memory_delta_bytes: Some(bytes),
            keys_delta: None,
            nodes: Vec::new(),
        }
    }

    #[test]
    fn store_bytes_per_login_only_where_logins_keep_what_they_made() {
        let keeps = scenario(false);
        assert_eq!(
            store_bytes_per_login(&keeps, Some(&grown(2_000)), 10),
            Some(200.0)
        );
        // The allocator can give memory back while sessions are made: no figure, not a negative.
        assert_eq!(store_bytes_per_login(&keeps, Some(&grown(-280)), 10), None);
        assert_eq!(store_bytes_per_login(&keeps, Some(&grown(2_000)), 0), None);
        assert_eq!(store_bytes_per_login(&keeps, None, 10), None);
        // Logouts free what logins took: the step's growth says nothing per login.
        let logs_out = scenario(true);
        assert_eq!(
            store_bytes_per_login(&logs_out, Some(&grown(2_000)), 10),
            None
        );
    }
}
