//! The claims under test (C1a, C1b, C2–C7, listed in the README and docs/ARCHITECTURE.md), judged from what one run measured: for each, the
//! figures behind it and whether they support it, contradict it, or were not measured by this
//! scenario. Verdicts come from thresholds on measured ratios, and every sentence quotes numbers
//! from the report, so two runs that measured different things read differently.
//!
//! # Layout
//!
//! - `store`: C1a session store load, C2 stateless tokens.
//! - `saturation`: C1b, whether the session store saturates first, from its measured ceiling.
//! - `tokens`: C3 size, C4 revocation, C5 refresh.
//! - `scale`: C6 scale-out, from systems that ran as several server processes (`replicated`:
//!   each one's 401s by where its state lives and how it was routed).
//! - `algorithms`: C7 algorithms.

mod algorithms;
mod saturation;
mod scale;
mod store;
mod tokens;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::format;
use crate::model::{
    Derived, Flag, Operation, OperationStats, Report, Revocation, StoreKind, StoreLoadSource,
    SystemInfo, SystemStep,
};

/// One claim and what this run says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// `C1a`, `C1b`, then `C2` to `C7`, as the README numbers them.
    pub id: &'static str,
    pub title: &'static str,
    /// The claim as the source articles make it.
    pub statement: &'static str,
    pub verdict: Verdict,
    /// Measured figures, one finding a line.
    pub evidence: Vec<String>,
    /// What the figures cannot show, or what may bias them.
    pub caveats: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Supports,
    Contradicts,
    /// Part of the figures supports the claim and part does not.
    Mixed,
    /// This scenario has nothing that bears on the claim.
    NotMeasured,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Supports => "supports",
            Verdict::Contradicts => "contradicts",
            Verdict::Mixed => "mixed",
            Verdict::NotMeasured => "not measured",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.label())
    }
}

const STATEMENTS: [(&str, &str, &str); 8] = [
    (
        "C1a",
        "Session store load",
        "With sessions, every authenticated request reads the session store, and its load grows \
         with request rate and active users.",
    ),
    (
        "C1b",
        "Store saturates first",
        "As traffic grows, the session store is the first thing to saturate.",
    ),
    (
        "C2",
        "Stateless tokens",
        "JWT validation needs no store: the server checks a signature and scales out without \
         shared state.",
    ),
    (
        "C3",
        "Size",
        "A session id is small; a JWT is larger (bytes on every request; the 4 KB cookie limit).",
    ),
    (
        "C4",
        "Revocation",
        "A stolen JWT can't be revoked without state again (a denylist), which brings store load \
         back. Sessions are revoked by deleting a row, and the store can count a user's active \
         logins.",
    ),
    (
        "C5",
        "Refresh",
        "Short-lived access tokens plus refresh tokens limit exposure, at the cost of refresh \
         traffic that touches state.",
    ),
    (
        "C6",
        "Scale-out",
        "Session servers that scale out need a shared store (or sticky routing).",
    ),
    (
        "C7",
        "Algorithms",
        "Signing algorithms differ in cost and in risk; the alg header must never choose the \
         algorithm.",
    ),
];

impl Claim {
    fn new(
        id: &'static str,
        verdict: Verdict,
        evidence: Vec<String>,
        caveats: Vec<String>,
    ) -> Self {
        let (title, statement) = STATEMENTS
            .iter()
            .find(|(known, _, _)| *known == id)
            .map_or(("", ""), |(_, title, statement)| (*title, *statement));
        Claim {
            id,
            title,
            statement,
            verdict,
            evidence,
            caveats,
        }
    }

    fn not_measured(id: &'static str, why: &str) -> Self {
        Claim::new(id, Verdict::NotMeasured, vec![why.to_owned()], Vec::new())
    }
}

/// Every claim, C1a to C7, in order.
pub fn assess(report: &Report) -> Vec<Claim> {
    let run = Run::new(report);
    vec![
        store::session_load(&run),
        saturation::saturates_first(&run),
        store::stateless(&run),
        tokens::size(&run),
        tokens::revocation(&run),
        tokens::refresh(&run),
        scale::scale_out(&run),
        algorithms::judge(&run),
    ]
}

/// How a system authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Session,
    Jwt,
    /// External systems: the report does not know their auth style.
    Unknown,
}

/// The report seen per system: its measured steps in rising load.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    pub report: &'a Report,
    pub systems: Vec<System<'a>>,
}

#[derive(Debug)]
pub(crate) struct System<'a> {
    pub info: &'a SystemInfo,
    pub style: Style,
    pub cells: Vec<Cell<'a>>,
}

/// One system at one step that measured something.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cell<'a> {
    pub load: f64,
    pub result: &'a SystemStep,
}

impl<'a> Run<'a> {
    pub fn new(report: &'a Report) -> Self {
        let systems = report
            .systems
            .iter()
            .map(|info| {
                let cells = report
                    .steps
                    .iter()
                    .filter_map(|step| {
                        let result = step.results.iter().find(|r| r.system == info.name)?;
                        let down = result
                            .flags
                            .iter()
                            .any(|flag| matches!(flag, Flag::SystemDown { .. }));
                        (!down && result.requests > 0).then_some(Cell {
                            load: step.position(),
                            result,
                        })
                    })
                    .collect();
                let style = match info.kind.as_str() {
                    "session" => Style::Session,
                    "jwt" => Style::Jwt,
                    _ => Style::Unknown,
                };
                System { info, style, cells }
            })
            .collect();
        Run { report, systems }
    }

    pub fn of(&self, style: Style) -> impl Iterator<Item = &System<'a>> {
        self.systems
            .iter()
            .filter(move |system| system.style == style && !system.cells.is_empty())
    }

    /// A step's position with its unit: its load, or its population in a population run.
    pub fn load(&self, value: f64) -> String {
        format::position(self.report, value)
    }

    /// "9 steps, 1–256 VUs" for a system's measured steps.
    pub fn loads(&self, system: &System<'_>) -> String {
        match (system.cells.first(), system.cells.last()) {
            (Some(first), Some(last)) if first.load != last.load => format!(
                "{} steps, {}",
                system.cells.len(),
                format::positions(self.report, first.load, last.load)
            ),
            (Some(only), _) => format!("1 step, {}", self.load(only.load)),
            _ => "no steps".to_owned(),
        }
    }

    /// A caveat naming the flagged steps among some systems' figures, if any.
    pub fn flag_caveat<'s>(&self, systems: impl IntoIterator<Item = &'s System<'a>>) -> Vec<String>
    where
        'a: 's,
    {
        let flagged: Vec<String> = systems
            .into_iter()
            .flat_map(|system| {
                system.cells.iter().flat_map(move |cell| {
                    cell.result.flags.iter().map(move |flag| {
                        format!(
                            "{} at {}: {}",
                            system.name(),
                            self.load(cell.load),
                            format::flag(flag)
                        )
                    })
                })
            })
            .collect();
        if flagged.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "These figures include flagged steps, which may not show the system's own limits: \
                 {}.",
                flagged.join("; ")
            )]
        }
    }
}

impl System<'_> {
    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.info.settings.get(key).map(String::as_str)
    }

    /// The JWT revocation mode; none where the report does not say.
    pub fn revocation(&self) -> Revocation {
        self.info.revocation().unwrap_or(Revocation::None)
    }

    /// The cores the server could use: its CPU affinity (the machine's cores where it had none),
    /// bounded by its worker threads. A system that scaled out could use every core any of its
    /// replicas could, each replica with its own workers.
    pub fn core_limit(&self, machine_cores: u32) -> f64 {
        let info = self.info;
        let lists: Vec<Option<&str>> = if info.replicas.is_empty() {
            vec![info.cores.as_deref()]
        } else {
            info.replicas.iter().map(|r| r.cores.as_deref()).collect()
        };
        let allowed = lists
            .into_iter()
            .try_fold(BTreeSet::new(), |mut all, list| {
                all.extend(cpu_list(list?)?);
                Some(all)
            })
            .map_or(machine_cores, |all| all.len() as u32);
        let workers = self.setting("workers").and_then(|w| w.parse::<u32>().ok());
        let workers = workers.map(|w| w * info.replica_count() as u32);
        f64::from(workers.map_or(allowed, |w| w.min(allowed)).max(1))
    }

    /// The smallest and largest of a per-request figure over the measured steps.
    pub fn extent(&self, figure: impl Fn(&Derived) -> Option<f64>) -> Option<(f64, f64)> {
        format::extent(
            self.cells
                .iter()
                .filter_map(|cell| figure(&cell.result.derived)),
        )
    }

    pub fn top(&self) -> Option<&Cell<'_>> {
        self.cells.last()
    }

    /// Requests of one operation over every measured step.
    pub fn requests(&self, operation: Operation) -> u64 {
        self.cells
            .iter()
            .filter_map(|cell| cell.operation(operation))
            .map(|stats| stats.requests)
            .sum()
    }

    /// Store operations over every measured step.
    pub fn store_operations(&self) -> Option<u64> {
        let counted: Vec<u64> = self
            .cells
            .iter()
            .filter_map(|cell| cell.result.store.as_ref().map(|store| store.operations))
            .collect();
        (!counted.is_empty()).then(|| counted.iter().sum())
    }

    /// What one store operation is, in the store's own terms.
    pub fn store_unit(&self) -> &'static str {
        let source = self
            .cells
            .iter()
            .find_map(|cell| cell.result.store.as_ref());
        match source.map(|store| store.source) {
            Some(StoreLoadSource::RedisInfo) => "Redis commands",
            Some(StoreLoadSource::PgStat) => "Postgres transactions",
            Some(StoreLoadSource::ServerMetrics) | None => "store calls",
        }
    }

    /// The store's name for sentences: "Redis", "Postgres", "the SQLite store".
    pub fn store_name(&self) -> String {
        match self.info.store {
            Some(StoreKind::Redis) => "Redis".to_owned(),
            Some(StoreKind::RedisCluster) => "the Redis Cluster".to_owned(),
            Some(StoreKind::Postgres) => "Postgres".to_owned(),
            Some(StoreKind::Sqlite) => "the SQLite store".to_owned(),
            Some(StoreKind::Memory) => "the in-memory store".to_owned(),
            None => "the store".to_owned(),
        }
    }
}

/// The cores of a Cpus_allowed_list such as `0-3,6`.
pub(crate) fn cpu_list(list: &str) -> Option<BTreeSet<u32>> {
    list.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .try_fold(BTreeSet::new(), |mut cores, part| {
            let (low, high) = part.split_once('-').unwrap_or((part, part));
            let (low, high) = (low.parse::<u32>().ok()?, high.parse::<u32>().ok()?);
            (low <= high).then_some(())?;
            cores.extend(low..=high);
            Some(cores)
        })
}

impl Cell<'_> {
    pub fn operation(&self, operation: Operation) -> Option<&OperationStats> {
        self.result
            .operations
            .iter()
            .find(|stats| stats.operation == operation && stats.requests > 0)
    }

    /// "repeats 34,210–35,930 req/s" where the step ran more than once.
    pub fn repeat_spread(&self) -> String {
        let span = format::extent(self.result.repeats.iter().map(|r| r.requests_per_second));
        match span {
            Some((low, high)) if self.result.repeats.len() > 1 => format!(
                " (repeats {} req/s)",
                format::span(low, high, format::number)
            ),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cpu_list;

    #[test]
    fn cpu_lists_count_ranges_and_singles() {
        let len = |list| cpu_list(list).map(|cores| cores.len());
        assert_eq!(len("0"), Some(1));
        assert_eq!(len("0-3,6"), Some(5));
        assert_eq!(len("0-3,2"), Some(4), "overlaps count once");
        assert_eq!(len("2-1"), None);
        assert_eq!(len("x"), None);
    }
}
