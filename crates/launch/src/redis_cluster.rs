//! [`RedisCluster`]: a Redis Cluster of several masters, each a [`RedisServer`] node with the
//! same settings (a CPU cap per shard), joined with `redis-cli --cluster create` and ready once
//! every node says `cluster_state:ok`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::process;
use crate::redis::{RedisServer, RedisSettings, ask};

/// The fewest masters `redis-cli --cluster create` accepts.
pub const MIN_MASTERS: usize = 3;
/// How long the nodes may take to agree once joined; it usually takes about a second.
const AGREE_TIMEOUT: Duration = Duration::from_secs(15);

/// Every node of a running cluster, stopped when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes with `settings`, joins them (the 16,384 slots spread evenly, no
    /// replicas) and returns once every node serves the whole slot table.
    pub fn start(masters: usize, settings: &RedisSettings) -> Result<RedisCluster, Error> {
        if masters < MIN_MASTERS {
            return Err(Error::Failed {
                server: "Redis Cluster".into(),
                why: format!("{masters} masters asked for; a cluster needs at least {MIN_MASTERS}"),
            });
        }
        let cli = process::find_on_path("redis-cli").ok_or(Error::NotInstalled {
            what: "redis-cli",
            hint: "install Debian's `redis-tools` package (scripts/test.sh does this when run as \
                   root)",
        })?;
        let node_settings = RedisSettings {
            cluster: true,
            ..settings.clone()
        };
        let nodes = (0..masters)
            .map(|_| RedisServer::start(&node_settings))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = RedisCluster { nodes };
        let addresses: Vec<String> = cluster.addresses();
        let output = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .map_err(|source| Error::Io {
                server: "Redis Cluster".into(),
                what: format!("run {}", cli.display()),
                source,
            })?;
        if !output.status.success() {
            return Err(cluster.failure(format!(
                "`redis-cli --cluster create` failed: {}",
                String::from_utf8_lossy(&output.stdout).trim()
            )));
        }
        cluster.wait_until_agreed()?;
        Ok(cluster)
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`: every node, as the servers take it.
    pub fn url(&self) -> String {
        format!("redis+cluster://{}", self.addresses().join(","))
    }

    /// `127.0.0.1:PORT` of each node.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect()
    }

    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    fn wait_until_agreed(&self) -> Result<(), Error> {
        let deadline = Instant::now() + AGREE_TIMEOUT;
        let agreed = |port| {
            ask(port, "CLUSTER INFO\r\n", |text| {
                text.contains("cluster_state:ok") && text.contains("cluster_slots_ok:16384")
            })
        };
        while Instant::now() < deadline {
            if self.nodes.iter().all(|node| agreed(node.port())) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(self.failure(format!(
            "the nodes did not all report cluster_state:ok within {} s",
            AGREE_TIMEOUT.as_secs()
        )))
    }

    fn failure(&self, why: String) -> Error {
        Error::Failed {
            server: format!("Redis Cluster on {}", self.addresses().join(", ")),
            why,
        }
    }
}
