//! C1b: the session store is the first thing to saturate. Judged only from a measured limit of
//! the store (its ceiling, measured before the steps, and the CPU it had there) against the
//! servers' share of the cores they could use, step by step: a run that never saw a store near
//! its limit cannot support it, and a store inside the server process cannot be told apart
//! from the server.

use super::{Cell, Claim, Run, Style, System, Verdict};
use crate::format::{micros, number, percent, short};
use crate::model::StoreKind;

/// A store at this share of its measured ceiling (operations/s, or CPU against the CPU it used
/// at the ceiling, which a cap bounds) is at its limit: requests queue at the store.
pub(super) const STORE_AT_LIMIT: f64 = 0.8;
/// A store below this share of its ceiling had room to spare.
pub(super) const STORE_WELL_BELOW: f64 = 0.5;
/// Servers using this share of the cores they may use are at their limit.
pub(super) const SERVERS_AT_LIMIT: f64 = 0.85;

/// What one system's steps show about which saturated first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finding {
    StoreFirst,
    ServersFirst,
    Both,
    Neither,
}

pub(super) fn saturates_first(run: &Run<'_>) -> Claim {
    let sessions: Vec<&System<'_>> = run.of(Style::Session).collect();
    if sessions.is_empty() {
        return Claim::not_measured(
            "C1b",
            "No session-backed system ran in this scenario: there is no session store to measure.",
        );
    }
    let mut evidence = Vec::new();
    let mut caveats = Vec::new();
    let mut findings = Vec::new();
    for system in &sessions {
        if let Some(finding) = judge_system(run, system, &mut evidence, &mut caveats) {
            findings.push(finding);
        }
        evidence.extend(crossover(run, system));
    }
    let has = |wanted: Finding| findings.contains(&wanted);
    let verdict = if findings.is_empty() || findings.iter().all(|f| *f == Finding::Neither) {
        Verdict::NotMeasured
    } else if has(Finding::StoreFirst) && !has(Finding::ServersFirst) && !has(Finding::Both) {
        Verdict::Supports
    } else if has(Finding::ServersFirst) && !has(Finding::StoreFirst) && !has(Finding::Both) {
        Verdict::Contradicts
    } else {
        Verdict::Mixed
    };
    caveats.push(format!(
        "Thresholds: the store is at its limit from {} of its measured ceiling (operations/s or \
         CPU), well below it under {}; servers are at their limit from {} of the cores they may \
         use.",
        percent(STORE_AT_LIMIT),
        percent(STORE_WELL_BELOW),
        percent(SERVERS_AT_LIMIT)
    ));
    Claim::new("C1b", verdict, evidence, caveats)
}

/// One system's finding, with its evidence; none where nothing could be judged.
fn judge_system(
    run: &Run<'_>,
    system: &System<'_>,
    evidence: &mut Vec<String>,
    caveats: &mut Vec<String>,
) -> Option<Finding> {
    if matches!(
        system.info.store,
        Some(StoreKind::Memory | StoreKind::Sqlite)
    ) {
        caveats.push(format!(
            "{}'s store ({}) runs inside the server process: the store is the server, so which \
             saturates first is not measured.",
            system.name(),
            system.info.store.map_or("unknown", StoreKind::as_str)
        ));
        return None;
    }
    let fallback = match &system.info.store_ceiling {
        Some(ceiling) => {
            evidence.push(format!(
                "{}'s store ceiling: {} {}/s{} over {} connections.",
                system.name(),
                number(ceiling.operations_per_second),
                ceiling.command,
                ceiling.cpu_cores.map_or(String::new(), |cores| format!(
                    " at {} cores",
                    number(cores)
                )),
                ceiling.connections
            ));
            None
        }
        // Redis runs commands on one thread: one core bounds it whatever was measured.
        None if system.info.store == Some(StoreKind::Redis) => {
            caveats.push(format!(
                "{}: the ceiling of Redis was not measured in this run; Redis runs commands on \
                 one thread, so one core is taken as its limit.",
                system.name()
            ));
            Some(1.0)
        }
        None => {
            caveats.push(format!(
                "{}: the ceiling of {} was not measured in this run (switched off, or the store \
                 could not be measured), so the store's limit is unknown.",
                system.name(),
                system.store_name()
            ));
            return None;
        }
    };
    let limit = system.core_limit(run.report.machine.cores);
    let steps: Vec<Step> = system
        .cells
        .iter()
        .filter_map(|cell| Step::of(cell, limit, fallback))
        .collect();
    let finding = classify(&steps);
    let shown = match finding {
        Finding::StoreFirst => steps
            .iter()
            .find(|s| s.store_at_limit() && !s.servers_at_limit()),
        Finding::ServersFirst => steps
            .iter()
            .find(|s| s.servers_at_limit() && s.store_well_below()),
        Finding::Both => steps
            .iter()
            .find(|s| s.store_at_limit() && s.servers_at_limit()),
        Finding::Neither => steps.iter().max_by(|a, b| a.store.total_cmp(&b.store)),
    };
    if let Some(step) = shown {
        evidence.push(step.line(run, system, limit, finding));
        if finding == Finding::StoreFirst {
            evidence.extend(beside_jwt(run, system, step));
        }
    }
    if finding == Finding::ServersFirst {
        caveats.extend(store_cores_per_server(system));
    }
    Some(finding)
}

/// Which saturated first over a system's steps: the store if some step had it at its limit
/// while the servers had room (and no step the reverse), the servers if some step had them at
/// theirs while the store was well below its ceiling.
fn classify(steps: &[Step]) -> Finding {
    let store_first = steps
        .iter()
        .any(|s| s.store_at_limit() && !s.servers_at_limit());
    let servers_first = steps
        .iter()
        .any(|s| s.servers_at_limit() && s.store_well_below());
    match (store_first, servers_first) {
        (true, false) => Finding::StoreFirst,
        (false, true) => Finding::ServersFirst,
        (true, true) => Finding::Both,
        (false, false)
            if steps
                .iter()
                .any(|s| s.store_at_limit() && s.servers_at_limit()) =>
        {
            Finding::Both
        }
        (false, false) => Finding::Neither,
    }
}

/// One step's utilisation of the store and of the servers.
#[derive(Clone, Copy, Debug)]
struct Step {
    load: f64,
    /// The larger of operations/s and CPU over the ceiling's.
    store: f64,
    store_ops: Option<f64>,
    store_cpu: Option<f64>,
    /// Server cores used over the cores they may use.
    servers: f64,
    server_cores: f64,
    requests_per_second: f64,
}

impl Step {
    /// `cpu_limit`: the store's CPU limit in cores where no ceiling was measured.
    fn of(cell: &Cell<'_>, limit: f64, cpu_limit: Option<f64>) -> Option<Step> {
        let derived = &cell.result.derived;
        let seconds = cell.result.duration_s;
        let (store_ops, store_cpu) = match cpu_limit {
            None => (derived.store_ops_of_ceiling, derived.store_cpu_of_ceiling),
            Some(cores) => {
                let cpu = cell.result.store.as_ref()?.cpu_s?;
                (None, Some(cpu / seconds / cores))
            }
        };
        let store = store_ops.into_iter().chain(store_cpu).reduce(f64::max)?;
        let server_cores = cell.result.resources.server_cpu_s? / seconds;
        (seconds > 0.0 && limit > 0.0).then_some(Step {
            load: cell.load,
            store,
            store_ops,
            store_cpu,
            servers: server_cores / limit,
            server_cores,
            requests_per_second: cell.result.requests_per_second,
        })
    }

    fn store_at_limit(&self) -> bool {
        self.store >= STORE_AT_LIMIT
    }

    fn store_well_below(&self) -> bool {
        self.store < STORE_WELL_BELOW
    }

    fn servers_at_limit(&self) -> bool {
        self.servers >= SERVERS_AT_LIMIT
    }

    /// "At 64 VUs (23,100 requests/s), Redis ran at 93% of its ceiling's operations/s and 97%
    /// of its CPU there, while session-redis's servers used 1.10 of 2 cores (55%): the store
    /// saturated first."
    fn line(&self, run: &Run<'_>, system: &System<'_>, limit: f64, finding: Finding) -> String {
        let shares = [
            self.store_ops
                .map(|share| format!("{} of its ceiling's operations/s", percent(share))),
            self.store_cpu
                .map(|share| format!("{} of its CPU limit", percent(share))),
        ];
        let shares: Vec<String> = shares.into_iter().flatten().collect();
        let conclusion = match finding {
            Finding::StoreFirst => "the store saturated first",
            Finding::ServersFirst => {
                "the servers saturated first, with the store well below its limit"
            }
            Finding::Both => "both were at their limits",
            Finding::Neither => "neither reached its limit (the step nearest the store's limit)",
        };
        format!(
            "At {} ({} requests/s), {} ran at {}, while {}'s servers used {} of {} ({}): {}.",
            run.load(self.load),
            number(self.requests_per_second),
            system.store_name(),
            shares.join(" and "),
            system.name(),
            number(self.server_cores),
            cores(limit),
            percent(self.servers),
            conclusion
        )
    }
}

/// What JWT systems without revocation (no store on the request path) served at the same load,
/// on servers like these: the throughput the store cost the session system.
fn beside_jwt(run: &Run<'_>, system: &System<'_>, step: &Step) -> Option<String> {
    let served: Vec<String> = run
        .of(Style::Jwt)
        .filter(|jwt| jwt.revocation() == crate::model::Revocation::None)
        .filter_map(|jwt| {
            let cell = jwt.cells.iter().find(|cell| cell.load == step.load)?;
            let rps = cell.result.requests_per_second;
            (step.requests_per_second > 0.0).then(|| {
                format!(
                    "{} served {} requests/s ({}× {}'s)",
                    jwt.name(),
                    number(rps),
                    short(rps / step.requests_per_second),
                    system.name()
                )
            })
        })
        .collect();
    (!served.is_empty()).then(|| {
        format!(
            "At the same load, without the store on the request path: {}.",
            served.join("; ")
        )
    })
}

/// Where in the run the session system stopped meeting the SLO while a JWT system at the same
/// step still met it: the load, the population, or (across systems on stores at different
/// distances) the store, at which the answer flips. None without JWT systems to set beside it.
fn crossover(run: &Run<'_>, system: &System<'_>) -> Option<String> {
    let jwts: Vec<&System<'_>> = run.of(Style::Jwt).collect();
    if jwts.is_empty() {
        return None;
    }
    let flipped = system.cells.iter().find_map(|cell| {
        if cell.result.slo_met {
            return None;
        }
        let met: Vec<&str> = jwts
            .iter()
            .filter(|jwt| {
                jwt.cells
                    .iter()
                    .any(|other| other.load == cell.load && other.result.slo_met)
            })
            .map(|jwt| jwt.name())
            .collect();
        (!met.is_empty()).then_some((cell, met))
    });
    Some(match flipped {
        Some((cell, met)) => {
            let last_met = system
                .cells
                .iter()
                .take_while(|earlier| earlier.load != cell.load)
                .filter(|earlier| earlier.result.slo_met)
                .last()
                .map_or(String::new(), |earlier| {
                    format!(" (it met it up to {})", run.load(earlier.load))
                });
            format!(
                "Crossover: at {}, {} missed the SLO{} while {} met it.",
                run.load(cell.load),
                system.name(),
                last_met,
                met.join(" and ")
            )
        }
        None if system.cells.iter().all(|cell| cell.result.slo_met) => format!(
            "No crossover: {} met the SLO at every step it ran ({}){}.",
            system.name(),
            run.loads(system),
            top_p99s(run, system, &jwts)
        ),
        None => format!(
            "No crossover: wherever {} missed the SLO, no JWT system met it at the same step.",
            system.name()
        ),
    })
}

/// "; at its top step (256 VUs) balance p99 was 4.1 ms, against 2.2 ms for jwt-hs256": how
/// far from crossing the run ended.
fn top_p99s(run: &Run<'_>, system: &System<'_>, jwts: &[&System<'_>]) -> String {
    let p99 = |cell: &Cell<'_>| {
        cell.result
            .operations
            .iter()
            .find(|op| op.operation == crate::model::Operation::Balance && op.latency.count > 0)
            .map(|op| op.latency.p99_us as f64)
    };
    let Some(top) = system.cells.last() else {
        return String::new();
    };
    let Some(own) = p99(top) else {
        return String::new();
    };
    let others: Vec<String> = jwts
        .iter()
        .filter_map(|jwt| {
            let cell = jwt.cells.iter().find(|cell| cell.load == top.load)?;
            Some(format!("{} for {}", micros(p99(cell)?), jwt.name()))
        })
        .collect();
    let against = if others.is_empty() {
        String::new()
    } else {
        format!(", against {}", others.join(" and "))
    };
    format!(
        "; at its top step ({}) balance p99 was {}{against}",
        run.load(top.load),
        micros(own)
    )
}

/// "1 core", "2 cores", "1.5 cores".
fn cores(count: f64) -> String {
    if count == 1.0 {
        "1 core".to_owned()
    } else {
        format!("{} cores", short(count))
    }
}

/// Where the servers saturated first: how many server cores like these one store core keeps up
/// with, from the CPU each spent per request at the top step.
fn store_cores_per_server(system: &System<'_>) -> Option<String> {
    let derived = &system.top()?.result.derived;
    let (server_us, store_us) = derived
        .server_cpu_us_per_request
        .zip(derived.store_cpu_us_per_request)
        .filter(|(_, store_us)| *store_us > 0.0)?;
    Some(format!(
        "Per request {}'s servers spent {} of CPU and {} {}, so one store core keeps up with \
         about {} server cores like these: the store saturates first only when that many share \
         it, or when the store has less than a core (a cap, as in scenarios/store-bound.toml).",
        system.name(),
        micros(server_us),
        system.store_name(),
        micros(store_us),
        number(server_us / store_us)
    ))
}
