//! Counts and times every store operation: the session_DB load as the server sees it.

use std::time::Duration;

use authbench_contract::metrics;
use authbench_core::latency::Latency;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::record::Namespace;

/// One store operation, as labelled in `/metrics`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Op {
    create,
    load,
    touch,
    replace_data,
    delete,
    list_user,
    count_user,
    delete_user,
    purge_expired,
    ping,
}

impl Op {
    /// In declaration order: [`OpHandles::get`] indexes by `op as usize`.
    const ALL: [Op; 10] = [
        Op::create,
        Op::load,
        Op::touch,
        Op::replace_data,
        Op::delete,
        Op::list_user,
        Op::count_user,
        Op::delete_user,
        Op::purge_expired,
        Op::ping,
    ];
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Outcome {
    ok,
    error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CountLabels {
    backend: &'static str,
    namespace: &'static str,
    op: Op,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeLabels {
    backend: &'static str,
    namespace: &'static str,
    op: Op,
}

/// The metric families, shared by every store of one server (the JWT server has two: refresh
/// families and the denylist), told apart by their labels. Register once, then hand clones to
/// [`crate::Store::open`].
#[derive(Clone, Debug)]
pub struct StoreMetrics {
    operations: Family<CountLabels, Counter>,
    seconds: Family<TimeLabels, Latency>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        StoreMetrics {
            operations: Family::default(),
            // 10 µs .. ~5 s: a Redis GET on loopback sits near the bottom, an outage timeout near the top.
            seconds: Family::new_with_constructor(|| {
                Latency::doubling_from(Duration::from_micros(10))
            }),
        }
    }
}

impl StoreMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            metrics::STORE_OPERATIONS,
            "Store operations by backend, namespace, operation and outcome",
            self.operations.clone(),
        );
        registry.register(
            metrics::STORE_OPERATION_SECONDS,
            "Store operation latency as the server sees it",
            self.seconds.clone(),
        );
    }

    /// Resolves the label lookups once, so recording on the hot path is two atomic adds and a
    /// histogram observation with no hashing.
    pub(crate) fn handles(&self, backend: &'static str, namespace: Namespace) -> OpHandles {
        let namespace = namespace.name();
        let per_op = Op::ALL.map(|op| {
            let count = |outcome| {
                self.operations
                    .get_or_create(&CountLabels {
                        backend,
                        namespace,
                        op,
                        outcome,
                    })
                    .clone()
            };
            OpHandle {
                ok: count(Outcome::ok),
                error: count(Outcome::error),
                seconds: self
                    .seconds
                    .get_or_create(&TimeLabels {
                        backend,
                        namespace,
                        op,
                    })
                    .clone(),
            }
        });
        OpHandles { per_op }
    }
}

#[derive(Debug)]
pub(crate) struct OpHandle {
    ok: Counter,
    error: Counter,
    seconds: Latency,
}

impl OpHandle {
    pub(crate) fn record(&self, succeeded: bool, elapsed: Duration) {
        if succeeded {
            self.ok.inc();
        } else {
            self.error.inc();
        }
        self.seconds.observe(elapsed);
    }
}

#[derive(Debug)]
pub(crate) struct OpHandles {
    per_op: [OpHandle; Op::ALL.len()],
}

impl OpHandles {
    pub(crate) fn get(&self, op: Op) -> &OpHandle {
        &self.per_op[op as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_indexes_its_own_handle() {
        // Stops compiling when a variant is added: add it to `Op::ALL` too, in the same place.
        for op in Op::ALL {
            match op {
                Op::create
                | Op::load
                | Op::touch
                | Op::replace_data
                | Op::delete
                | Op::list_user
                | Op::count_user
                | Op::delete_user
                | Op::purge_expired
                | Op::ping => {}
            }
        }
        for (index, op) in Op::ALL.into_iter().enumerate() {
            assert_eq!(op as usize, index, "{op:?} is out of place in Op::ALL");
        }
    }
}
