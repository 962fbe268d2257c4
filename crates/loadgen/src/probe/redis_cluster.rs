//! A Redis Cluster's own account of its load: every master's `INFO`, read together and summed,
//! each node's share kept so that a hot shard shows.

use authbench_contract::error::Cause;
use authbench_contract::redis_cluster::{Master, masters};
use serde::Serialize;

use super::redis::{NodeLoad, RedisLoad, RedisProbe, RedisSample};
use super::{CONNECT_TIMEOUT, Error, redact};

/// A [`RedisProbe`] on each master the cluster listed when the probe connected.
#[derive(Debug, Clone)]
pub struct RedisClusterProbe {
    nodes: Vec<(Master, RedisProbe)>,
    /// The URL of the node that listed them, password and all: where the ceiling asks which
    /// slot a key hashes to.
    seed: String,
    version: String,
}

/// One reading of every master, in the probe's node order.
#[derive(Debug, Clone, Serialize)]
pub struct RedisClusterSample {
    pub nodes: Vec<(String, RedisSample)>,
}

impl RedisClusterProbe {
    /// Asks the first node that answers for the cluster's masters and opens a probe on each.
    /// `nodes`: `redis://` URLs of the nodes a `redis+cluster://` URL names.
    pub async fn connect(nodes: &[String]) -> Result<RedisClusterProbe, Error> {
        let (seed, listed) = master_urls(nodes).await?;
        let mut probes = Vec::new();
        for (master, url) in listed {
            let probe = RedisProbe::connect(&url).await?;
            probes.push((master, probe));
        }
        let version = probes.first().map_or_else(String::new, |(_, probe)| {
            format!("{} (cluster of {} masters)", probe.version(), probes.len())
        });
        if probes.is_empty() {
            return Err(Error::RedisInfo {
                url: redact(&seed),
                what: "CLUSTER NODES lists no master".to_owned(),
            });
        }
        Ok(RedisClusterProbe {
            nodes: probes,
            seed,
            version,
        })
    }

    /// `Redis 7.0.15 (cluster of 3 masters)`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every node's `INFO`, asked at once.
    pub async fn sample(&self) -> Result<RedisClusterSample, Error> {
        let samples =
            futures::future::try_join_all(self.nodes.iter().map(|(_, probe)| probe.sample()))
                .await?;
        Ok(RedisClusterSample {
            nodes: self
                .nodes
                .iter()
                .map(|(master, _)| master.address())
                .zip(samples)
                .collect(),
        })
    }

    /// The masters as listed when the probe connected, with their slots.
    pub fn masters(&self) -> impl Iterator<Item = &Master> {
        self.nodes.iter().map(|(master, _)| master)
    }

    /// The URL of the node the probe first reached (password included: not for messages).
    pub fn seed_url(&self) -> &str {
        &self.seed
    }
}

impl RedisClusterSample {
    /// The cluster's load from this sample to `end`: every node's summed, each node's kept.
    pub fn delta(&self, end: &RedisClusterSample) -> RedisLoad {
        let loads = self
            .nodes
            .iter()
            .zip(&end.nodes)
            .map(|((address, start), (_, end))| (address.clone(), start.delta(end)));
        RedisLoad::sum(loads)
    }

    /// `used_memory` of every node together.
    pub fn used_memory_bytes(&self) -> u64 {
        self.nodes
            .iter()
            .map(|(_, sample)| sample.used_memory_bytes)
            .sum()
    }
}

impl RedisLoad {
    /// Several nodes' loads as one, each node's figures kept in [`RedisLoad::nodes`].
    pub fn sum(loads: impl IntoIterator<Item = (String, RedisLoad)>) -> RedisLoad {
        let mut total = RedisLoad::default();
        for (address, load) in loads {
            for (command, calls) in &load.calls {
                *total.calls.entry(command.clone()).or_default() += calls;
            }
            total.total_calls = total.total_calls.saturating_add(load.total_calls);
            total.script_calls = total.script_calls.saturating_add(load.script_calls);
            total.failed_calls = total.failed_calls.saturating_add(load.failed_calls);
            total.commands_usec = total.commands_usec.saturating_add(load.commands_usec);
            total.cpu += load.cpu;
            total.memory_change_bytes += load.memory_change_bytes;
            total.keys_change += load.keys_change;
            total.keys += load.keys;
            total.restarted |= load.restarted;
            total.nodes.push(NodeLoad {
                address,
                total_calls: load.total_calls,
                cpu: load.cpu,
                keys: load.keys,
            });
        }
        total
    }
}

/// Every master of the cluster with a `redis://` URL for it (the seed's password applied), as
/// the first node in `nodes` that answers lists them; and that node's URL.
pub async fn master_urls(nodes: &[String]) -> Result<(String, Vec<(Master, String)>), Error> {
    let (seed, listed) = first_answer(nodes).await?;
    let userinfo = seed
        .strip_prefix("redis://")
        .and_then(|rest| rest.rsplit_once('@'))
        .map_or(String::new(), |(userinfo, _)| format!("{userinfo}@"));
    let urls = masters(&listed)
        .into_iter()
        .map(|master| {
            let url = format!("redis://{userinfo}{}", master.address());
            (master, url)
        })
        .collect();
    Ok((seed, urls))
}

/// The `CLUSTER NODES` text of the first node in `nodes` that answers, and that node's URL.
async fn first_answer(nodes: &[String]) -> Result<(String, String), Error> {
    let mut last = None;
    for url in nodes {
        match cluster_nodes(url).await {
            Ok(listed) => return Ok((url.clone(), listed)),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or(Error::RedisInfo {
        url: String::new(),
        what: "the cluster URL names no node".to_owned(),
    }))
}

async fn cluster_nodes(url: &str) -> Result<String, Error> {
    let failed = |what: &'static str| {
        move |error: redis::RedisError| Error::Redis {
            url: redact(url),
            what,
            source: Cause::of(&error),
        }
    };
    let client = redis::Client::open(url).map_err(|source| Error::InvalidUrl {
        probe: "Redis Cluster",
        url: redact(url),
        why: source.to_string(),
    })?;
    let config = redis::AsyncConnectionConfig::new().set_connection_timeout(Some(CONNECT_TIMEOUT));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(failed("a connection"))?;
    redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut connection)
        .await
        .map_err(failed("CLUSTER NODES"))
}
