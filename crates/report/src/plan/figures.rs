//! The plan of one system: each planned figure from one measured figure of the capacity step,
//! and the assumptions that connect them.

use crate::compare::step_unit;
use crate::format::routing;
use crate::format::trim_number;
use crate::model::{
    Flag, Operation, Report, Revocation, StoreKind, SystemInfo, SystemKind, SystemStep,
};

use super::instance::instance_size;
use super::lifetime::{DEFAULT_ACCESS_TTL, format_lifetime, lifetime, setting_duration};
use super::{Judged, PlanInput, PlanLine, SystemPlan};

pub(super) fn system_plan(
    report: &Report,
    system: &SystemInfo,
    input: &PlanInput,
    capacity: &Judged,
    steps_meeting: usize,
    judged: &[Judged],
) -> SystemPlan {
    let mut figures = SystemFigures {
        report,
        system,
        result: capacity.result,
        planned: input.target_rps * (1.0 + input.headroom),
        at: format!(
            "at {}={} (steps[{}])",
            step_unit(report),
            trim_number(capacity.step.position()),
            capacity.step.index
        ),
        lines: Vec::new(),
        assumptions: vec![instance_size(report, system)],
    };
    figures.capacity(capacity, steps_meeting, judged);
    figures.store();
    let login_share = figures.sessions(input);
    figures.traffic(login_share);
    SystemPlan {
        name: system.name.clone(),
        never_met: None,
        assumptions: figures.assumptions,
        lines: figures.lines,
    }
}

/// What one system's lines are built from, and the lines and assumptions so far.
struct SystemFigures<'a> {
    report: &'a Report,
    system: &'a SystemInfo,
    /// The capacity step: every per-request figure comes from it.
    result: &'a SystemStep,
    /// The target with headroom.
    planned: f64,
    /// `at vus=32 (steps[5])`: where the capacity step is in report.json.
    at: String,
    lines: Vec<PlanLine>,
    assumptions: Vec<String>,
}

impl SystemFigures<'_> {
    fn line(&mut self, what: &str, value: f64, unit: &str, from: String) {
        self.lines.push(PlanLine {
            what: what.into(),
            value,
            unit: unit.into(),
            from,
        });
    }

    fn capacity(&mut self, capacity: &Judged, steps_meeting: usize, judged: &[Judged]) {
        let (at, total) = (self.at.clone(), self.result.requests_per_second);
        // A system that scaled out measured what all its processes carried together.
        let replicas = self.system.replica_count();
        let rps = total / replicas as f64;
        let shared = if replicas > 1 {
            format!(" / {replicas} replicas = {total:.1} / {replicas}")
        } else {
            String::new()
        };
        let from = format!(
            "requests_per_second {at}{shared}, the highest of {steps_meeting} step(s) meeting \
             the SLO (there: {})",
            capacity.verdict
        );
        self.line("capacity per instance", rps, "req/s", from);
        let arithmetic = format!("ceil({} req/s / {rps:.1} req/s)", trim_number(self.planned));
        self.line(
            "app instances",
            (self.planned / rps).ceil(),
            "instances",
            arithmetic,
        );
        if let Some(cpu_us) = self.result.derived.server_cpu_us_per_request {
            let summed = if replicas > 1 {
                " (the CPU of every replica, per request)"
            } else {
                ""
            };
            let from =
                format!("target × derived.server_cpu_us_per_request = {cpu_us:.2} µs {at}{summed}");
            self.line("app server CPU", self.planned * cpu_us / 1e6, "cores", from);
        }
        let highest = judged
            .iter()
            .max_by(|a, b| a.step.position().total_cmp(&b.step.position()));
        if highest.is_some_and(|h| h.verdict.met) {
            self.assumptions.push(
                "the SLO still held at the highest measured load, so one instance may carry \
                 more: the capacity is a measured floor, not a limit"
                    .into(),
            );
        }
        let flags = &self.result.flags;
        if flags.iter().any(|f| matches!(f, Flag::LoadgenBound { .. })) {
            self.assumptions.push(format!(
                "the step {at} was loadgen-bound: the load generator, not the server, limited \
                 its throughput"
            ));
        }
    }

    fn store(&mut self) {
        let (at, derived) = (self.at.clone(), &self.result.derived);
        let measured = self.result.store.as_ref();
        let kind = measured.map(|s| s.kind).or(self.system.store);
        let (what, unit) = match kind {
            Some(StoreKind::Redis | StoreKind::RedisCluster) => {
                ("store throughput (Redis commands)", "commands/s")
            }
            Some(StoreKind::Postgres) => {
                ("store throughput (Postgres transactions)", "transactions/s")
            }
            _ => ("store throughput (store calls)", "calls/s"),
        };
        let (operations, cpu_us) = (
            derived.store_operations_per_request,
            derived.store_cpu_us_per_request,
        );
        match operations {
            Some(per_request) => {
                let source =
                    measured.map_or(String::new(), |s| format!(", counted by {}", s.source));
                let from = format!(
                    "target × derived.store_operations_per_request = {per_request:.4} {at}{source}"
                );
                self.line(what, self.planned * per_request, unit, from);
            }
            None => self
                .assumptions
                .push("store operations were not measured: no store throughput".into()),
        }
        match cpu_us {
            Some(cpu_us) => {
                let from =
                    format!("target × derived.store_cpu_us_per_request = {cpu_us:.2} µs {at}");
                self.line("store CPU", self.planned * cpu_us / 1e6, "cores", from);
                if let Some(version) = &self.system.store_version {
                    self.assumptions.push(format!(
                        "store figures were measured on {version}; another version or \
                         configuration of the store may do the same work at another cost"
                    ));
                }
            }
            None => self.assumptions.push(format!(
                "store CPU was not measured for this store ({}): an in-process store's work \
                 is part of the app server CPU",
                kind.map_or("unknown", StoreKind::as_str)
            )),
        }
        self.store_limit(operations, cpu_us);
        let replicas = self.system.replica_count();
        if replicas > 1 && matches!(kind, Some(StoreKind::Memory | StoreKind::Sqlite)) {
            let routed = self.system.routing.map_or(String::new(), |mode| {
                format!(" with {} routing", routing(mode))
            });
            let what = if self.system.kind == SystemKind::Jwt {
                "a refresh family (or a revocation)"
            } else {
                "a session"
            };
            self.assumptions.push(if kind == Some(StoreKind::Memory) {
                format!(
                    "each of the {replicas} measured replicas had its own in-memory store{routed}: \
                     {what} is known to the replica that made it only, so instances need sticky \
                     routing or a shared store (claim C6 judges what this run's routing did)"
                )
            } else {
                format!(
                    "the {replicas} measured replicas shared one SQLite file on this host{routed}; \
                     instances on several hosts could not share it and need a network store or \
                     sticky routing (claim C6)"
                )
            });
        } else if let Some(kind @ (StoreKind::Memory | StoreKind::Sqlite)) = kind {
            self.assumptions.push(format!(
                "the {kind} store lives inside each server (process memory or a local file): \
                 several instances need a shared store or sticky routing (claim C6); the store \
                 figures are what the embedded store did"
            ));
        }
    }

    /// Against the store's ceiling, measured before the steps: how many stores like the one
    /// measured (or shards of it) the target needs, by operations/s and by CPU, and whether the
    /// store or the app tier binds first. Without a measured ceiling, says so.
    fn store_limit(&mut self, operations: Option<f64>, cpu_us: Option<f64>) {
        let Some(ceiling) = &self.system.store_ceiling else {
            if matches!(
                self.system.store,
                Some(StoreKind::Redis | StoreKind::RedisCluster | StoreKind::Postgres)
            ) {
                self.assumptions.push(
                    "the store's own limit was not measured in this run (its ceiling was \
                     switched off or could not be measured): how many stores the target needs \
                     is not planned"
                        .into(),
                );
            }
            return;
        };
        let mut needed = Vec::new();
        if let Some(per_request) = operations.filter(|_| ceiling.operations_per_second > 0.0) {
            let stores = self.planned * per_request / ceiling.operations_per_second;
            needed.push(stores);
            self.line(
                "stores by operations/s",
                stores.ceil(),
                "stores",
                format!(
                    "ceil(target × {per_request:.4} / {:.0} {}/s, the measured ceiling)",
                    ceiling.operations_per_second, ceiling.command
                ),
            );
        }
        if let (Some(cpu_us), Some(cores)) = (cpu_us, ceiling.cpu_cores.filter(|c| *c > 0.0)) {
            let stores = self.planned * cpu_us / 1e6 / cores;
            needed.push(stores);
            self.line(
                "stores by CPU",
                stores.ceil(),
                "stores",
                format!(
                    "ceil(target × {cpu_us:.2} µs / {cores:.3} cores, the store's CPU at its \
                     ceiling)"
                ),
            );
        }
        let Some(stores) = needed.into_iter().reduce(f64::max) else {
            return;
        };
        self.assumptions.push(format!(
            "the store's ceiling was measured with {} connections and {} lookups in flight on \
             each, {} (a cap it ran with is part of it); under the servers' traffic the store spends \
             more CPU per lookup than at its ceiling, where it batches the most, so the CPU \
             line is usually the tighter one",
            ceiling.connections,
            ceiling.in_flight,
            if ceiling.cpu_cores.is_some() {
                "its CPU read from the store itself"
            } else {
                "its CPU not readable"
            }
        ));
        let binding = if stores > 1.0 {
            format!(
                "the store binds: the target needs {:.2} stores like the one measured (shards, \
                 or a store that much larger), whatever the app tier",
                stores
            )
        } else {
            format!(
                "the app tier binds: one store like the one measured carries the target at {:.0}% \
                 of its limit",
                stores * 100.0
            )
        };
        self.assumptions.push(binding);
    }

    /// Logins, the sessions (or refresh families) they leave alive, and the memory those take.
    /// Returns the logins' share of requests.
    fn sessions(&mut self, input: &PlanInput) -> f64 {
        let at = self.at.clone();
        let (login_share, login_from) = operation_share(self.result, Operation::Login);
        let logins = self.planned * login_share;
        self.line(
            "logins",
            logins,
            "req/s",
            format!("target × {login_from} {at}"),
        );
        self.assumptions.push(mix(self.report, self.result));

        let (lifetime, lifetime_from) = lifetime(self.system, input);
        let (holder, holders) = if self.system.kind == SystemKind::Jwt {
            ("refresh family", "refresh families")
        } else {
            ("session", "sessions")
        };
        self.assumptions.push(lifetime_from);
        self.assumptions.push(if self.report.scenario.logout {
            format!(
                "the flow logs out, yet every login's {holder} is counted for its whole \
                 lifetime: an upper bound, since users who log out end theirs early"
            )
        } else {
            format!(
                "users never log out (scenario.logout = false): each login's {holder} lives its \
                 whole lifetime"
            )
        });
        let active = logins * lifetime.as_secs_f64();
        let from = format!("logins/s × lifetime {}", format_lifetime(lifetime));
        self.line(&format!("active {holders}"), active, holders, from);
        // A loaded population measures a record's cost directly, at a known size, whatever
        // the flow does; the largest one loaded is the nearest to a production store.
        if let Some((sessions, bytes)) = population_bytes(self.report, &self.system.name) {
            let from = format!(
                "active {holders} × {bytes:.0} B per record, measured by loading {} \
                 {holders} (population)",
                crate::format::short(sessions as f64)
            );
            self.line("store memory", active * bytes, "bytes", from);
            return login_share;
        }
        let bytes = self.result.derived.store_bytes_per_session;
        match bytes.filter(|bytes| *bytes > 0.0 && !self.report.scenario.logout) {
            Some(bytes) => {
                let from = format!(
                    "active {holders} × derived.store_bytes_per_session = {bytes:.0} B {at}"
                );
                self.line("store memory", active * bytes, "bytes", from);
            }
            None if self.report.scenario.logout => self.assumptions.push(
                "store memory per login is not measured in a flow that logs out (each logout \
                 frees what its login took, so the store's growth says nothing per login): no \
                 memory figure; a run with logout = false measures it"
                    .into(),
            ),
            None => self.assumptions.push(format!(
                "store memory per login was not measured for this store ({}): no memory figure",
                self.system.store.map_or("unknown", StoreKind::as_str)
            )),
        }
        login_share
    }

    /// Refresh and logout requests, and what revocation adds on top of them.
    fn traffic(&mut self, login_share: f64) {
        let at = self.at.clone();
        let (refresh_share, refresh_from) = operation_share(self.result, Operation::Refresh);
        let refreshes = self.planned * refresh_share;
        self.line(
            "refresh requests",
            refreshes,
            "req/s",
            format!("target × {refresh_from} {at}"),
        );
        let (logout_share, logout_from) = operation_share(self.result, Operation::Logout);
        let logouts = self.planned * logout_share;
        let from = format!("target × {logout_from} {at}");
        self.line("logouts (revocations)", logouts, "req/s", from);
        self.revocation(login_share, logouts);
    }

    /// With a denylist or cutoff, every authenticated request looks the token up in the store.
    fn revocation(&mut self, login_share: f64, logouts: f64) {
        let Some(mode) = self.system.revocation() else {
            return;
        };
        if mode == Revocation::None {
            self.assumptions.push(
                "settings.revocation = none: a logged-out access token stays valid until it \
                 expires"
                    .into(),
            );
            return;
        }
        let from = format!(
            "settings.revocation = {mode}: one per authenticated request (all but logins); \
             already inside the store throughput above"
        );
        self.line(
            "revocation lookups",
            self.planned * (1.0 - login_share),
            "lookups/s",
            from,
        );
        if mode == Revocation::Denylist {
            let (access_ttl, source) = setting_duration(self.system, "access-ttl")
                .map_or((DEFAULT_ACCESS_TTL, "the JWT server's default"), |ttl| {
                    (ttl, "settings.access-ttl")
                });
            let from = format!(
                "logouts/s × access-token lifetime {} ({source}): an entry lives until its token \
                 would expire",
                format_lifetime(access_ttl)
            );
            self.line(
                "denylist entries",
                logouts * access_ttl.as_secs_f64(),
                "entries",
                from,
            );
        }
    }
}

/// `operations[refresh].requests / requests = 1576 / 316683`: the measured share of an operation.
fn operation_share(result: &SystemStep, operation: Operation) -> (f64, String) {
    let name = operation.as_str();
    let count = result
        .operations
        .iter()
        .find(|op| op.operation == operation)
        .map(|op| op.requests);
    match count {
        Some(count) if result.requests > 0 => (
            count as f64 / result.requests as f64,
            format!(
                "operations[{name}].requests / requests = {count} / {}",
                result.requests
            ),
        ),
        _ => (0.0, format!("0 {name} requests measured")),
    }
}

fn mix(report: &Report, result: &SystemStep) -> String {
    let scenario = &report.scenario;
    let refresh = scenario.refresh_every.map_or("no refresh".into(), |every| {
        format!("a refresh every {every}")
    });
    let measured: Vec<String> = result
        .operations
        .iter()
        .map(|op| {
            let share = op.requests as f64 / result.requests.max(1) as f64;
            format!("{} {:.2}%", op.operation.as_str(), share * 100.0)
        })
        .collect();
    format!(
        "request mix as measured ({}); the flow: 1 login, {} balance requests, {refresh}{}",
        measured.join(", "),
        scenario.balances_per_login,
        if scenario.logout { ", logout" } else { "" }
    )
}

/// The memory per record measured at the largest population loaded into `system`'s store.
fn population_bytes(report: &Report, system: &str) -> Option<(u64, f64)> {
    report
        .steps
        .iter()
        .filter_map(|step| {
            let result = step.results.iter().find(|r| r.system == system)?;
            let bytes = result.population.as_ref()?.bytes_per_record?;
            (bytes > 0.0).then_some((step.population?, bytes))
        })
        .max_by_key(|(sessions, _)| *sessions)
}
