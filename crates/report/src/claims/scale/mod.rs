//! C6: session servers that scale out need a shared store (or sticky routing). Judged from the
//! systems that ran as several server processes: how many of their authenticated requests a
//! replica answered 401 because it did not know the credential, by where their state lives and
//! how requests reached the replicas, beside JWT replicas that only check a signature.

mod replicated;

use super::{Claim, Run, Style, Verdict};
use crate::format::percent;
use crate::model::{Operation, Revocation, StoreKind};
use replicated::{Reach, Scaled, balancer_line, throughput_line};

/// A session system on a per-process store with round-robin routing "loses its sessions" from
/// this share of 401s on authenticated requests. With N replicas about (N-1)/N of them land on
/// a replica that never saw the login (half with two), so a tenth is far below what the claim
/// predicts and far above anything a working system answers 401.
const LOST_SESSIONS: f64 = 0.10;
/// Below this share of 401s the same system found its sessions anyway, which the claim says it
/// cannot: the replicas shared state after all, or the routing did not spread requests.
const KEPT_SESSIONS: f64 = 0.01;

pub(super) fn scale_out(run: &Run<'_>) -> Claim {
    let scaled: Vec<Scaled<'_, '_>> = run
        .systems
        .iter()
        .filter(|system| system.info.replica_count() > 1 && !system.cells.is_empty())
        .map(Scaled::new)
        .collect();
    if !scaled.iter().any(|s| s.system.style == Style::Session) {
        return not_measured(run, &scaled);
    }
    let mut evidence: Vec<String> = scaled.iter().map(|s| s.line(run)).collect();
    evidence.extend(scaled.iter().filter_map(|s| throughput_line(run, s)));
    evidence.extend(scaled.iter().filter_map(|s| balancer_line(run, s)));
    let limit = run.report.slo.max_error_rate;
    let exposed: Vec<&Scaled<'_, '_>> = scaled.iter().filter(|s| s.exposed()).collect();
    let kept: Vec<(&Scaled<'_, '_>, &str)> = scaled
        .iter()
        .filter_map(|s| Some((s, s.kept_by()?)))
        .collect();
    let mut failed = false;
    for (s, reason) in kept.iter().filter(|(s, _)| s.share() > limit) {
        failed = true;
        evidence.push(format!(
            "{} answered 401 to {} of its authenticated requests although {reason}: more than \
             the SLO's {} error rate.",
            s.system.name(),
            percent(s.share()),
            percent(limit)
        ));
    }
    let names = |systems: &[&Scaled<'_, '_>]| {
        let named: Vec<String> = systems
            .iter()
            .map(|s| format!("{} {}", s.system.name(), percent(s.share())))
            .collect();
        listed(&named)
    };
    let verdict = if exposed.is_empty() {
        evidence.push(
            "No session system kept its sessions in process memory behind round-robin routing, \
             so this run does not show what happens without a shared store or sticky routing."
                .to_owned(),
        );
        Verdict::Mixed
    } else if exposed.iter().all(|s| s.share() < KEPT_SESSIONS) {
        evidence.push(format!(
            "Sessions in process memory behind round-robin routing were found on the replicas \
             that did not see the login ({} answered 401, under {}): this run did not need a \
             shared store or sticky routing.",
            names(&exposed),
            percent(KEPT_SESSIONS)
        ));
        Verdict::Contradicts
    } else if exposed.iter().all(|s| s.share() >= LOST_SESSIONS) && !failed {
        let kept_names: Vec<String> = kept.iter().map(|(s, _)| s.system.name().into()).collect();
        let others = if kept_names.is_empty() {
            String::new()
        } else {
            format!(
                ", while {} stayed within the SLO's {} error rate",
                listed(&kept_names),
                percent(limit)
            )
        };
        evidence.push(format!(
            "Sessions in process memory behind round-robin routing were lost on the replicas \
             that did not see the login ({} answered 401){others}.",
            names(&exposed)
        ));
        Verdict::Supports
    } else {
        let between: Vec<&Scaled<'_, '_>> = exposed
            .iter()
            .copied()
            .filter(|s| s.share() < LOST_SESSIONS)
            .collect();
        if !between.is_empty() {
            evidence.push(format!(
                "Of the session systems in process memory behind round-robin routing, {} \
                 answered 401 to fewer than the {} that losing sessions on the other replicas \
                 gives.",
                names(&between),
                percent(LOST_SESSIONS)
            ));
        }
        Verdict::Mixed
    };
    let caveats = caveats(
        run,
        &scaled,
        verdict == Verdict::Supports && kept.is_empty(),
    );
    Claim::new("C6", verdict, evidence, caveats)
}

fn caveats(run: &Run<'_>, scaled: &[Scaled<'_, '_>], no_controls: bool) -> Vec<String> {
    let cores: Vec<String> = scaled
        .iter()
        .map(|s| {
            let lists: Vec<&str> = s
                .system
                .info
                .replicas
                .iter()
                .map(|replica| replica.cores.as_deref().unwrap_or("any"))
                .collect();
            format!("{} on cores {}", s.system.name(), lists.join(" / "))
        })
        .collect();
    let mut caveats = vec![
        format!(
            "The replicas share this one machine's {} cores with each other and with the load \
             generator ({}): replicas on several hosts would each bring their own, so requests/s \
             here is not what scaling out over machines gives.",
            run.report.machine.cores,
            cores.join("; ")
        ),
        hop(scaled),
    ];
    if no_controls {
        caveats.push(
            "No replicated session system ran on a shared store or with sticky routing, so the \
             run shows the need, not that either meets it."
                .to_owned(),
        );
    }
    for s in scaled {
        let name = s.system.name();
        if s.system.style == Style::Session && s.reach == Reach::Host {
            caveats.push(format!(
                "{name}'s replicas share one SQLite file because they run on one host; on several \
                 hosts each would open its own, and sessions would be lost as with process memory."
            ));
        }
        let revoking = s.system.revocation() != Revocation::None;
        let refreshing = s
            .operations
            .iter()
            .any(|(op, _, _)| *op == Operation::Refresh);
        if s.system.style == Style::Jwt && s.reach == Reach::Process && (revoking || refreshing) {
            caveats.push(format!(
                "{name} keeps its refresh families (and any revocations) in each process's \
                 memory: a refresh on another replica than the login's fails, and a revocation \
                 reaches only the replica that made it, which no 401 shows."
            ));
        }
        let other = s.errors.saturating_sub(s.unauthorized()) as f64 / s.requests.max(1) as f64;
        if other > run.report.slo.max_error_rate {
            caveats.push(format!(
                "{name} also had {} of its requests fail otherwise (timeouts, refused \
                 connections, other statuses): failures that do not tell where sessions live, \
                 so the verdict rests on the 401s.",
                percent(other)
            ));
        }
    }
    if scaled.iter().any(|s| s.system.style == Style::Jwt) {
        caveats.push(
            "The JWT replicas share their signing key (the run gives them one key file): with \
             keys of their own they would reject each other's tokens too."
                .to_owned(),
        );
    }
    caveats.extend(run.flag_caveat(scaled.iter().map(|s| s.system)));
    caveats
}

/// No session system ran as several processes: where each one's sessions live, and how a
/// scenario measures the claim.
/// What the run says of the balancer hop: measured where a system went through nginx, not
/// modelled where the load generator routed.
fn hop(scaled: &[Scaled<'_, '_>]) -> String {
    let balanced: Vec<String> = scaled
        .iter()
        .filter(|s| s.system.info.balancer.is_some())
        .map(|s| s.system.name().to_owned())
        .collect();
    let direct = scaled.len() - balanced.len();
    match (balanced.is_empty(), direct) {
        (true, _) => "A real load balancer adds a hop (its latency, connections and limits) that \
                      the load generator does not model: it sends each request straight to the \
                      replica its routing picks; `balancer = \"nginx\"` puts one in front."
            .to_owned(),
        (false, 0) => format!(
            "{} went through nginx on this machine, which shares its cores with the replicas: a \
             balancer on a host of its own costs the app tier none of its CPU.",
            listed(&balanced)
        ),
        (false, _) => format!(
            "{} went through nginx on this machine, which shares its cores with the replicas; \
             the others' requests went straight from the load generator to a replica, with no \
             balancer hop.",
            listed(&balanced)
        ),
    }
}

fn not_measured(run: &Run<'_>, scaled: &[Scaled<'_, '_>]) -> Claim {
    let mut evidence: Vec<String> = run
        .of(Style::Session)
        .map(|system| {
            let reach = match system.info.store {
                Some(StoreKind::Memory) => {
                    "process memory: a second replica would not see these sessions, so scaling \
                     out needs sticky routing or a shared store"
                }
                Some(StoreKind::Sqlite) => {
                    "a SQLite file: replicas on one host could share it, replicas on several \
                     hosts could not"
                }
                Some(StoreKind::Redis | StoreKind::RedisCluster | StoreKind::Postgres) => {
                    "a network store that several replicas could share"
                }
                _ => "a store whose reach the report does not know",
            };
            format!("{} keeps its sessions in {reach}.", system.name())
        })
        .collect();
    if evidence.is_empty() {
        evidence.push("No session-backed system ran in this scenario.".to_owned());
    }
    evidence.extend(scaled.iter().map(|s| s.line(run)));
    let ran = if scaled.is_empty() {
        "Every system ran as a single server process"
    } else {
        "No session system ran as several server processes"
    };
    let caveats = vec![format!(
        "{ran}; scale-out needs several replicas behind one address, which this run did not \
         have. A scenario that sets `replicas` (and `routing`) on its systems measures it, as \
         scenarios/scale-out.toml does."
    )];
    Claim::new("C6", Verdict::NotMeasured, evidence, caveats)
}

/// "a", "a and b", "a, b and c".
fn listed(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
