//! A step's store load, summed over its repeats: from the store itself where it can be read
//! (Redis INFO, pg_stat_database and the Postgres processes' CPU), from the server's /metrics for
//! stores inside the server process (memory, SQLite).

use std::collections::BTreeMap;

use authbench_report::{StoreKind, StoreLoad as Reported, StoreLoadSource, StoreNodeLoad};

use super::turn::Turn;
use crate::probe::{MetricsLoad, StoreLoad};

#[derive(Debug, Default)]
pub(crate) struct StoreSum {
    total: Option<Reported>,
}

impl StoreSum {
    /// Adds one turn's load, as [`from_turn`] reads it.
    pub fn add(&mut self, one: Option<&Reported>) {
        let Some(one) = one.cloned() else {
            return;
        };
        match self.total.as_mut() {
            None => self.total = Some(one),
            Some(total) => {
                total.operations += one.operations;
                for (key, value) in one.breakdown {
                    *total.breakdown.entry(key).or_default() += value;
                }
                total.server_counted_operations = sum(
                    total.server_counted_operations,
                    one.server_counted_operations,
                    |a, b| a + b,
                );
                total.cpu_s = sum(total.cpu_s, one.cpu_s, |a, b| a + b);
                total.memory_delta_bytes =
                    sum(total.memory_delta_bytes, one.memory_delta_bytes, |a, b| {
                        a + b
                    });
                total.keys_delta = sum(total.keys_delta, one.keys_delta, |a, b| a + b);
                add_nodes(&mut total.nodes, one.nodes);
            }
        }
    }

    /// The summed load.
    pub fn finish(self) -> Option<Reported> {
        self.total
    }
}

/// Each node's share added to the same node's, by address; a node first seen is appended.
fn add_nodes(total: &mut Vec<StoreNodeLoad>, more: Vec<StoreNodeLoad>) {
    for node in more {
        match total.iter_mut().find(|seen| seen.address == node.address) {
            Some(seen) => {
                seen.operations += node.operations;
                seen.cpu_s += node.cpu_s;
                seen.keys = node.keys;
            }
            None => total.push(node),
        }
    }
}

fn sum<T>(a: Option<T>, b: Option<T>, add: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(add(a, b)),
        _ => None,
    }
}

/// One turn's store load on its own; `kind` is the system's store, where known.
pub(super) fn from_turn(turn: &Turn, kind: Option<StoreKind>) -> Option<Reported> {
    let counted = turn.metrics.as_ref().map(|m| m.total_store_operations);
    match (&turn.store, &turn.metrics) {
        (Some(StoreLoad::Redis(redis)), _) => Some(Reported {
            kind: if redis.nodes.is_empty() {
                StoreKind::Redis
            } else {
                StoreKind::RedisCluster
            },
            source: StoreLoadSource::RedisInfo,
            operations: redis.total_calls,
            breakdown: redis.calls.clone(),
            server_counted_operations: counted,
            cpu_s: Some(redis.cpu_seconds()),
            memory_delta_bytes: Some(redis.memory_change_bytes),
            keys_delta: Some(redis.keys_change),
            nodes: redis
                .nodes
                .iter()
                .map(|node| StoreNodeLoad {
                    address: node.address.clone(),
                    operations: node.total_calls,
                    cpu_s: node.cpu.as_secs_f64(),
                    keys: node.keys,
                })
                .collect(),
        }),
        (Some(StoreLoad::Postgres(pg)), _) => {
            let mut breakdown = BTreeMap::from([
                ("xact_commit".to_owned(), pg.xact_commit),
                ("xact_rollback".to_owned(), pg.xact_rollback),
                ("tup_returned".to_owned(), pg.tup_returned),
                ("tup_fetched".to_owned(), pg.tup_fetched),
                ("tup_inserted".to_owned(), pg.tup_inserted),
                ("tup_updated".to_owned(), pg.tup_updated),
                ("tup_deleted".to_owned(), pg.tup_deleted),
                ("blks_hit".to_owned(), pg.blks_hit),
                ("blks_read".to_owned(), pg.blks_read),
            ]);
            if let Some(statements) = pg.statements {
                breakdown.insert("statements".to_owned(), statements);
            }
            Some(Reported {
                kind: StoreKind::Postgres,
                source: StoreLoadSource::PgStat,
                operations: pg.xact_commit + pg.xact_rollback,
                breakdown,
                server_counted_operations: counted,
                cpu_s: pg.cpu_seconds(),
                memory_delta_bytes: Some(pg.relation_bytes),
                keys_delta: Some(pg.tup_inserted as i64 - pg.tup_deleted as i64),
                nodes: Vec::new(),
            })
        }
        // A server's count of store calls with no store known to name (an external system
        // given no store URL) is left out: a load must say which store bore it.
        (None, Some(metrics)) if metrics.total_store_operations > 0 => {
            kind.map(|kind| from_metrics(metrics, kind))
        }
        _ => None,
    }
}

/// In-process stores have no counters of their own: the server's count is all there is.
fn from_metrics(metrics: &MetricsLoad, kind: StoreKind) -> Reported {
    let mut breakdown = BTreeMap::new();
    for op in &metrics.store_operations {
        *breakdown
            .entry(format!("{}.{}", op.namespace, op.op))
            .or_default() += op.operations;
    }
    Reported {
        kind,
        source: StoreLoadSource::ServerMetrics,
        operations: metrics.total_store_operations,
        breakdown,
        server_counted_operations: Some(metrics.total_store_operations),
        cpu_s: None,
        memory_delta_bytes: None,
        keys_delta: None,
        nodes: Vec::new(),
    }
}
