//! One report from the shards of a split run (`authbench run --shard I/N`, then `authbench
//! merge`): latency histograms added per step, system and operation, never percentiles
//! averaged; counts and errors summed; throughput the shards' rates summed, over windows that
//! must overlap.
//!
//! What each shard measured of the systems themselves (the store's load, the servers' own
//! request counts, the store's ceiling) covers every shard's traffic, since all of them hit the
//! same systems at once: those figures come from shard 0, once, not summed. Per-repeat
//! percentiles are not kept (no per-repeat histogram is), nor the open model's uncorrected
//! latency; the step's percentiles, from the added histograms, are exact.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::histogram;
use crate::model::{
    Derived, Flag, MeasuredWindow, MergeInfo, MergedShard, OperationStats, RepeatStats, Report,
    Resources, RunStatus, Schedule, Step, SystemStep,
};
use crate::slo::SloTarget;

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error("nothing to merge: give the results folders of every shard")]
    Nothing,
    #[error("{folder} is not a shard: it was not run with --shard")]
    NotAShard { folder: String },
    #[error("{folder} is from another run than {first}: {why}")]
    Foreign {
        folder: String,
        first: String,
        why: String,
    },
    #[error("{first} and {second} are both shard {index}")]
    Duplicate {
        index: u32,
        first: String,
        second: String,
    },
    #[error("shard{} {} of {count} missing", if missing.len() == 1 { " is" } else { "s are" }, list(missing))]
    Missing { missing: Vec<u32>, count: u32 },
    #[error(
        "step {step}, system {system:?}, repeat {repeat}: the shards' measured windows do not \
         overlap ({why}); they did not run together"
    )]
    NoOverlap {
        step: u32,
        system: String,
        repeat: usize,
        why: String,
    },
    #[error("{folder}: a histogram of step {step}, system {system:?} cannot be read: {why}")]
    Histogram {
        folder: String,
        step: u32,
        system: String,
        why: String,
    },
}

fn list(indexes: &[u32]) -> String {
    let shown: Vec<String> = indexes.iter().map(u32::to_string).collect();
    shown.join(", ")
}

/// The shards' reports (each with the folder it came from, for messages), merged.
pub fn merge(mut shards: Vec<(String, Report)>) -> Result<Report, MergeError> {
    check(&shards)?;
    shards.sort_by_key(|(_, report)| report.shard.as_ref().map_or(0, |shard| shard.index));
    let mut min_overlap: f64 = 1.0;
    let mut steps = Vec::new();
    let first = &shards[0].1;
    for (position, step) in first.steps.iter().enumerate() {
        let mut results = Vec::new();
        for result in &step.results {
            let parts = shards
                .iter()
                .map(|(source, report)| {
                    let part = report.steps[position]
                        .results
                        .iter()
                        .find(|other| other.system == result.system)
                        .ok_or_else(|| foreign(source, &shards[0].0, "its systems differ"))?;
                    Ok((source.as_str(), part))
                })
                .collect::<Result<Vec<_>, MergeError>>()?;
            let (merged, overlap) = system_step(step.index, &parts, first)?;
            min_overlap = min_overlap.min(overlap);
            results.push(merged);
        }
        steps.push(Step {
            index: step.index,
            load: shards.iter().map(|(_, r)| r.steps[position].load).sum(),
            population: None,
            results,
        });
    }
    Ok(report(&shards, steps, min_overlap))
}

fn foreign(source: &str, first: &str, why: &str) -> MergeError {
    MergeError::Foreign {
        folder: source.to_owned(),
        first: first.to_owned(),
        why: why.to_owned(),
    }
}

/// Every shard present once, all of one run.
fn check(shards: &[(String, Report)]) -> Result<(), MergeError> {
    let Some((first_source, first)) = shards.first() else {
        return Err(MergeError::Nothing);
    };
    let shard_of = |(source, report): &(String, Report)| {
        report.shard.clone().ok_or_else(|| MergeError::NotAShard {
            folder: source.clone(),
        })
    };
    let reference = shard_of(&shards[0])?;
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for entry in shards {
        let (source, report) = entry;
        let shard = shard_of(entry)?;
        let differs = |why: &str| Err(foreign(source, first_source, why));
        if report.scenario.source != first.scenario.source {
            return differs("its scenario file differs");
        }
        if shard.count != reference.count {
            return differs(&format!(
                "it is one of {} shards, not {}",
                shard.count, reference.count
            ));
        }
        if shard.start_at != reference.start_at {
            return differs(&format!(
                "it started at {}, not {}",
                shard.start_at, reference.start_at
            ));
        }
        if report.steps.len() != first.steps.len() {
            return differs(&format!(
                "it ran {} steps, not {}",
                report.steps.len(),
                first.steps.len()
            ));
        }
        if let Some(earlier) = seen.insert(shard.index, source) {
            return Err(MergeError::Duplicate {
                index: shard.index,
                first: earlier.to_owned(),
                second: source.clone(),
            });
        }
    }
    let missing: Vec<u32> = (0..reference.count)
        .filter(|index| !seen.contains_key(index))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: reference.count,
        });
    }
    Ok(())
}

/// One system at one step from every shard's; and the least overlap of their windows.
fn system_step(
    step: u32,
    parts: &[(&str, &SystemStep)],
    first: &Report,
) -> Result<(SystemStep, f64), MergeError> {
    let head = parts[0].1;
    let (repeats, overlap) = repeats(step, parts)?;
    let duration_s = repeats.iter().map(|repeat| repeat.duration_s).sum();
    let operations = operations(step, parts)?;
    let requests = parts.iter().map(|(_, p)| p.requests).sum();
    let errors = parts.iter().map(|(_, p)| p.errors).sum();
    let per_request =
        |value: Option<f64>| value.and_then(|v| (requests > 0).then(|| v / requests as f64));
    let store = head.store.clone();
    let derived = Derived {
        store_operations_per_request: per_request(store.as_ref().map(|s| s.operations as f64)),
        store_cpu_us_per_request: per_request(
            store.as_ref().and_then(|s| s.cpu_s).map(|s| s * 1e6),
        ),
        server_cpu_us_per_request: per_request(head.resources.server_cpu_s.map(|s| s * 1e6)),
        ..head.derived.clone()
    };
    let mut merged = SystemStep {
        system: head.system.clone(),
        duration_s,
        requests,
        errors,
        requests_per_second: parts.iter().map(|(_, p)| p.requests_per_second).sum(),
        operations,
        repeats,
        resources: resources(parts),
        store,
        server_requests: head.server_requests,
        population: None,
        timeline: None,
        overload: None,
        faults: Vec::new(),
        credentials_refused: None,
        // Taken once, like the servers' counts: a resource server serves every shard's traffic.
        resource: head.resource.clone(),
        derived,
        schedule: schedule(parts),
        slo_met: false,
        flags: flags(parts, requests, errors),
    };
    merged.slo_met = SloTarget::of_run(&first.slo)
        .evaluate(&merged, &first.slo)
        .is_ok_and(|verdict| verdict.met);
    Ok((merged, overlap))
}

/// Each repeat over the shards' common window.
fn repeats(
    step: u32,
    parts: &[(&str, &SystemStep)],
) -> Result<(Vec<RepeatStats>, f64), MergeError> {
    let head = parts[0].1;
    let mut least: f64 = 1.0;
    let mut merged = Vec::new();
    for (repeat, first) in head.repeats.iter().enumerate() {
        let no_overlap = |why: String| MergeError::NoOverlap {
            step,
            system: head.system.clone(),
            repeat,
            why,
        };
        let mut windows = Vec::new();
        for (source, part) in parts {
            let window = part
                .repeats
                .get(repeat)
                .and_then(|r| r.window)
                .ok_or_else(|| no_overlap(format!("{source} has no window for it")))?;
            windows.push(window);
        }
        let start = windows.iter().map(|w| w.start_unix_ms).max().unwrap_or(0);
        let end = windows.iter().map(|w| w.end_unix_ms).min().unwrap_or(0);
        let longest = windows
            .iter()
            .map(|w| w.end_unix_ms.saturating_sub(w.start_unix_ms))
            .max()
            .unwrap_or(0);
        if end <= start {
            return Err(no_overlap(format!(
                "the latest starts at {start} ms, the earliest ends at {end} ms"
            )));
        }
        least = least.min((end - start) as f64 / longest.max(1) as f64);
        let sum = |f: fn(&RepeatStats) -> u64| {
            parts
                .iter()
                .filter_map(|(_, p)| p.repeats.get(repeat))
                .map(f)
                .sum::<u64>()
        };
        merged.push(RepeatStats {
            duration_s: (end - start) as f64 / 1e3,
            requests: sum(|r| r.requests),
            errors: sum(|r| r.errors),
            requests_per_second: parts
                .iter()
                .filter_map(|(_, p)| p.repeats.get(repeat))
                .map(|r| r.requests_per_second)
                .sum(),
            slo_percentile_us: BTreeMap::new(),
            p50_us: BTreeMap::new(),
            p99_us: BTreeMap::new(),
            store_operations_per_request: None,
            store_cpu_us_per_request: None,
            server_cpu_us_per_request: None,
            window: Some(MeasuredWindow {
                start_unix_ms: start,
                end_unix_ms: end,
            }),
            server_rss_bytes: first.server_rss_bytes,
            server_open_fds: first.server_open_fds,
            store_keys: first.store_keys,
        });
    }
    Ok((merged, least))
}

/// Each operation that ran on any shard: its histograms added, its counts summed.
fn operations(step: u32, parts: &[(&str, &SystemStep)]) -> Result<Vec<OperationStats>, MergeError> {
    let mut merged: Vec<(OperationStats, Histogram<u64>)> = Vec::new();
    for (source, part) in parts {
        for op in &part.operations {
            let unreadable = |why: String| MergeError::Histogram {
                folder: (*source).to_owned(),
                step,
                system: part.system.clone(),
                why,
            };
            let histogram =
                histogram::decode(&op.histogram).map_err(|e| unreadable(e.to_string()))?;
            match merged.iter_mut().find(|(m, _)| m.operation == op.operation) {
                None => {
                    // Each shard's histogram covers its own range; the sum grows to hold all.
                    let mut histogram = histogram;
                    histogram.auto(true);
                    merged.push((op.clone(), histogram));
                }
                Some((sum, total)) => {
                    total
                        .add(&histogram)
                        .map_err(|e| unreadable(format!("{e:?}")))?;
                    add_operation(sum, op);
                }
            }
        }
    }
    merged
        .into_iter()
        .map(|(mut op, histogram)| {
            op.latency = histogram::latency(&histogram);
            op.latency_uncorrected = None;
            op.histogram = histogram::encode(&histogram).map_err(|why| MergeError::Histogram {
                folder: "the merge".to_owned(),
                step,
                system: String::new(),
                why,
            })?;
            Ok(op)
        })
        .collect()
}

/// `more`'s counts added to `sum`'s; bytes per request weighted by requests.
fn add_operation(sum: &mut OperationStats, more: &OperationStats) {
    let requests = sum.requests + more.requests;
    let weighted = |a: f64, b: f64| {
        if requests == 0 {
            0.0
        } else {
            (a * sum.requests as f64 + b * more.requests as f64) / requests as f64
        }
    };
    sum.bytes_sent_per_request = weighted(sum.bytes_sent_per_request, more.bytes_sent_per_request);
    sum.bytes_received_per_request = weighted(
        sum.bytes_received_per_request,
        more.bytes_received_per_request,
    );
    sum.requests = requests;
    sum.ok += more.ok;
    sum.requests_per_second += more.requests_per_second;
    for (kind, count) in &more.errors {
        *sum.errors.entry(kind.clone()).or_default() += count;
    }
}

/// The load generators' CPU summed (the busiest one's share kept); the servers' from shard 0.
fn resources(parts: &[(&str, &SystemStep)]) -> Resources {
    let head = &parts[0].1.resources;
    Resources {
        server_cpu_s: head.server_cpu_s,
        balancer_cpu_s: head.balancer_cpu_s,
        server_peak_rss_bytes: head.server_peak_rss_bytes,
        loadgen_cpu_s: parts.iter().map(|(_, p)| p.resources.loadgen_cpu_s).sum(),
        loadgen_cpu_share: parts
            .iter()
            .map(|(_, p)| p.resources.loadgen_cpu_share)
            .fold(0.0, f64::max),
        loadgen_peak_rss_bytes: parts
            .iter()
            .map(|(_, p)| p.resources.loadgen_peak_rss_bytes)
            .max()
            .unwrap_or(0),
    }
}

fn schedule(parts: &[(&str, &SystemStep)]) -> Option<Schedule> {
    let schedules: Vec<&Schedule> = parts
        .iter()
        .filter_map(|(_, p)| p.schedule.as_ref())
        .collect();
    (!schedules.is_empty()).then(|| Schedule {
        flows_intended: schedules.iter().map(|s| s.flows_intended).sum(),
        flows_late: schedules.iter().map(|s| s.flows_late).sum(),
        flows_waited_for_connection: schedules
            .iter()
            .map(|s| s.flows_waited_for_connection)
            .sum(),
        max_lag_us: schedules.iter().map(|s| s.max_lag_us).max().unwrap_or(0),
    })
}

/// Every shard's flags once each, the error rate taken again over the whole.
fn flags(parts: &[(&str, &SystemStep)], requests: u64, errors: u64) -> Vec<Flag> {
    let mut flags: Vec<Flag> = Vec::new();
    for flag in parts.iter().flat_map(|(_, p)| &p.flags) {
        if !matches!(flag, Flag::Errors { .. }) && !flags.contains(flag) {
            flags.push(flag.clone());
        }
    }
    if errors > 0 {
        flags.push(Flag::Errors {
            rate: errors as f64 / requests.max(1) as f64,
        });
    }
    flags
}

/// The merged report around its steps: the run as shard 0 saw it, over every shard's time.
fn report(shards: &[(String, Report)], steps: Vec<Step>, min_overlap: f64) -> Report {
    let first = &shards[0].1;
    let reasons: Vec<String> = shards
        .iter()
        .filter_map(|(source, report)| match &report.status {
            RunStatus::Partial { reason } => Some(format!("{source}: {reason}")),
            RunStatus::Complete => None,
        })
        .collect();
    Report {
        started_at: shards
            .iter()
            .map(|(_, r)| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: shards
            .iter()
            .map(|(_, r)| r.finished_at.clone())
            .max()
            .unwrap_or_default(),
        status: if reasons.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Partial {
                reason: reasons.join("; "),
            }
        },
        steps,
        shard: None,
        merged: Some(MergeInfo {
            shards: shards
                .iter()
                .map(|(source, report)| MergedShard {
                    index: report.shard.as_ref().map_or(0, |s| s.index),
                    source: source.clone(),
                    hostname: report.machine.hostname.clone(),
                })
                .collect(),
            min_window_overlap: min_overlap,
        }),
        ..first.clone()
    }
}
