//! `[[stores]]` tables to [`OwnedStore`]s: stores the run starts itself (Redis, a Redis Cluster
//! of several shards, PostgreSQL), with a CPU cap the kernel enforces (per shard for a
//! cluster), cores, and the settings that change the answer. Keys of the other kind (a
//! `maxmemory` on PostgreSQL) are named as such.

use std::time::Duration;

use authbench_launch::{Limits, PostgresSettings, RedisSettings};

use super::checker::Checker;
use super::file::StoreFile;
use super::model::{OwnedServer, OwnedStore};
use super::values;

/// The smallest cap the kernel takes (a 1 ms quota in a 100 ms period).
const MIN_CPUS: f64 = 0.01;
/// The longest emulated round trip: beyond a second, requests time out before they measure.
const MAX_RTT: Duration = Duration::from_secs(1);
/// The most shards a run-owned cluster may have: each is a process, and more than this on one
/// machine measures the machine, not the cluster.
const MAX_SHARDS: i64 = 16;

/// Every store, in file order.
pub fn stores(checker: &mut Checker<'_>, files: Vec<StoreFile>) -> Option<Vec<OwnedStore>> {
    let problems_before = checker.problems.len();
    let mut stores: Vec<OwnedStore> = Vec::with_capacity(files.len());
    for (index, file) in files.into_iter().enumerate() {
        let prefix = format!("stores[{index}]");
        let name = store_name(checker, file.name.as_deref(), &prefix, &stores);
        let limits = limits(checker, &file, &prefix);
        let rtt = checker.optional(file.rtt.clone(), |checker, text| {
            rtt(checker, &text, &format!("{prefix}.rtt"))
        });
        let server = limits.and_then(|limits| server(checker, file, &prefix, limits));
        let cluster = matches!(server, Some(OwnedServer::RedisCluster { .. }));
        if cluster && rtt.is_some_and(|rtt| rtt.is_some()) {
            checker.problem(
                format!("{prefix}.rtt"),
                "a delay relay cannot sit in front of a Redis Cluster: its clients reach each \
                 node at the address the cluster gives them; leave `rtt` out",
            );
            continue;
        }
        if let (Some(name), Some(server), Some(rtt)) = (name, server, rtt) {
            stores.push(OwnedStore { name, server, rtt });
        }
    }
    (checker.problems.len() == problems_before).then_some(stores)
}

fn store_name(
    checker: &mut Checker<'_>,
    name: Option<&str>,
    prefix: &str,
    earlier: &[OwnedStore],
) -> Option<String> {
    let key = format!("{prefix}.name");
    let name = checker.required(
        name,
        &key,
        "each store needs a unique name, which systems give as their `store`",
    )?;
    if !values::is_name(name) || name == "memory" || name == "sqlite" {
        checker.problem(
            &key,
            format!(
                "{name:?} is not a valid store name; {} (and not \"memory\" or \"sqlite\", which \
                 are stores of their own)",
                values::NAME_RULE
            ),
        );
        return None;
    }
    if earlier.iter().any(|store| store.name == name) {
        checker.problem(
            &key,
            format!("{name:?} names another store too; names must be unique"),
        );
        return None;
    }
    Some(name.to_owned())
}

/// A round trip for the delay relay: zero (the relay's own hop, for a baseline) up to a second.
fn rtt(checker: &mut Checker<'_>, text: &str, key: &str) -> Option<Duration> {
    let rtt = checker.duration(text, key)?;
    if rtt > MAX_RTT {
        checker.problem(
            key,
            format!("{text:?} is too long; an emulated round trip is at most 1s"),
        );
        return None;
    }
    Some(rtt)
}

fn limits(checker: &mut Checker<'_>, file: &StoreFile, prefix: &str) -> Option<Limits> {
    let cpus = match file.cpus {
        Some(cpus) if !(cpus.is_finite() && cpus >= MIN_CPUS) => {
            checker.problem(
                format!("{prefix}.cpus"),
                format!(
                    "{cpus} is out of range; a CPU cap is at least {MIN_CPUS} cores (the kernel's \
                     smallest quota), e.g. 0.25 for a quarter of one core"
                ),
            );
            return None;
        }
        cpus => cpus,
    };
    let cores = match &file.cores {
        None => None,
        Some(cores) => Some(core_list(checker, cores, &format!("{prefix}.cores"))?),
    };
    Some(Limits { cpus, cores })
}

fn core_list(checker: &mut Checker<'_>, cores: &[i64], key: &str) -> Option<Vec<usize>> {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores.is_empty() {
        checker.problem(
            key,
            "is empty; list the cores the store may run on, e.g. [1]",
        );
        return None;
    }
    let mut list = Vec::with_capacity(cores.len());
    for &core in cores {
        match usize::try_from(core) {
            Ok(core) if core < available => list.push(core),
            _ => {
                checker.problem(
                    key,
                    format!(
                        "core {core} does not exist here: this machine has cores 0 to {}",
                        available - 1
                    ),
                );
                return None;
            }
        }
    }
    Some(list)
}

fn server(
    checker: &mut Checker<'_>,
    file: StoreFile,
    prefix: &str,
    limits: Limits,
) -> Option<OwnedServer> {
    let kind_key = format!("{prefix}.kind");
    let kind = checker.required(
        file.kind.as_deref(),
        &kind_key,
        "say which store to start: \"redis\", \"redis-cluster\" or \"postgres\"",
    )?;
    let redis_keys = [
        ("maxmemory", file.maxmemory.is_some()),
        ("appendfsync", file.appendfsync.is_some()),
    ];
    let postgres_keys = [
        ("shared_buffers", file.shared_buffers.is_some()),
        ("synchronous_commit", file.synchronous_commit.is_some()),
    ];
    let cluster_keys = [("shards", file.shards.is_some())];
    let foreign = |checker: &mut Checker<'_>, keys: &[(&str, bool)], owner: &str| {
        let mut clean = true;
        for (key, set) in keys {
            if *set {
                checker.problem(
                    format!("{prefix}.{key}"),
                    format!("applies to {owner} stores only; this store is kind = {kind:?}"),
                );
                clean = false;
            }
        }
        clean
    };
    match kind {
        "redis" | "redis-cluster" => {
            let clean = foreign(checker, &postgres_keys, "postgres");
            let shards = match kind {
                "redis" => foreign(checker, &cluster_keys, "redis-cluster").then_some(None),
                _ => shards(checker, file.shards, &format!("{prefix}.shards")).map(Some),
            };
            let appendfsync = one_of(
                checker,
                file.appendfsync,
                &format!("{prefix}.appendfsync"),
                ("an appendfsync policy", &["always", "everysec", "no"]),
                " (leave it out for no persistence)",
            )?;
            let maxmemory = match file.maxmemory {
                Some(text) => Some(memory_size(checker, &text, &format!("{prefix}.maxmemory"))?),
                None => None,
            };
            let settings = RedisSettings {
                cluster: false,
                limits,
                maxmemory,
                appendfsync,
            };
            match (clean, shards?) {
                (false, _) => None,
                (true, None) => Some(OwnedServer::Redis(settings)),
                (true, Some(shards)) => Some(OwnedServer::RedisCluster { settings, shards }),
            }
        }
        "postgres" => {
            let clean = foreign(checker, &redis_keys, "redis")
                & foreign(checker, &cluster_keys, "redis-cluster");
            let synchronous_commit = one_of(
                checker,
                file.synchronous_commit,
                &format!("{prefix}.synchronous_commit"),
                (
                    "a synchronous_commit setting",
                    &["on", "off", "local", "remote_write", "remote_apply"],
                ),
                "",
            )?;
            let shared_buffers = match file.shared_buffers {
                Some(text) => Some(memory_size(
                    checker,
                    &text,
                    &format!("{prefix}.shared_buffers"),
                )?),
                None => None,
            };
            clean.then_some(OwnedServer::Postgres(PostgresSettings {
                limits,
                shared_buffers,
                synchronous_commit,
                ..PostgresSettings::default()
            }))
        }
        other => {
            checker.problem(
                &kind_key,
                format!(
                    "{other:?} is not a store the run can start; allowed: \"redis\", \
                     \"redis-cluster\", \"postgres\""
                ),
            );
            None
        }
    }
}

/// A cluster's masters: three unless given (the fewest a cluster takes), at most
/// [`MAX_SHARDS`].
fn shards(checker: &mut Checker<'_>, shards: Option<i64>, key: &str) -> Option<usize> {
    let min = authbench_launch::redis_cluster::MIN_MASTERS as i64;
    match shards.unwrap_or(min) {
        n if (min..=MAX_SHARDS).contains(&n) => usize::try_from(n).ok(),
        n => {
            checker.problem(
                key,
                format!(
                    "{n} is out of range; a Redis Cluster has {min} to {MAX_SHARDS} shards here \
                     (one process each, its CPU cap its own)"
                ),
            );
            None
        }
    }
}

/// An optional setting that takes one of `allowed`: `Some(None)` when absent, `None` (with a
/// problem naming what is allowed) for anything else.
fn one_of(
    checker: &mut Checker<'_>,
    value: Option<String>,
    key: &str,
    (what, allowed): (&str, &[&str]),
    hint: &str,
) -> Option<Option<String>> {
    match value {
        None => Some(None),
        Some(value) if allowed.contains(&value.as_str()) => Some(Some(value)),
        Some(other) => {
            let listed: Vec<String> = allowed.iter().map(|value| format!("{value:?}")).collect();
            checker.problem(
                key,
                format!(
                    "{other:?} is not {what}; allowed: {}{hint}",
                    listed.join(", ")
                ),
            );
            None
        }
    }
}

/// A memory size as both Redis and PostgreSQL read it: digits, then `kB`, `MB` or `GB` (the
/// case PostgreSQL insists on), e.g. `256MB`. Checked here, since a server refuses anything else
/// only once started.
fn memory_size(checker: &mut Checker<'_>, text: &str, key: &str) -> Option<String> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(unit, "kB" | "MB" | "GB");
    if !ok {
        checker.problem(
            key,
            format!("{text:?} is not a memory size; write digits and kB, MB or GB, e.g. \"256MB\""),
        );
        return None;
    }
    Some(text.to_owned())
}
