//! Connecting what the run reads around every turn of a system that is up: its processes, the
//! store it uses (from the store itself), and its own counts on `/metrics`.

use authbench_contract::error::Chain;

use super::spawn::Launched;
use crate::probe::{MetricsProbe, ProcessProbe, Replicas, StoreProbe};
use crate::scenario::{RequestCounter, ServerCounts, StoreSpec};
use crate::system::Spawned;

/// The probes on one system.
#[derive(Debug)]
pub(crate) struct Probes {
    /// Each replica's server process; none for an external system.
    pub processes: Replicas<ProcessProbe>,
    /// The balancer's process, where the run started one in front of the replicas.
    pub balancer: Option<ProcessProbe>,
    /// Each replica's `/metrics` (what the scenario lists for an external system).
    pub metrics: Replicas<MetricsProbe>,
    /// The store's own counters, where it runs in a server of its own (Redis, PostgreSQL).
    pub store: Option<StoreProbe>,
    /// The Redis or PostgreSQL the system uses, for the sample of its commands.
    pub store_url: Option<String>,
    /// The resource server beside the system: its process and its `/metrics`.
    pub resource: Option<(ProcessProbe, MetricsProbe)>,
}

/// The probes on a resource server, read once.
pub(super) async fn resource(one: &Spawned) -> Result<(ProcessProbe, MetricsProbe), String> {
    let url = format!("{}/metrics", one.base_url);
    let probe =
        MetricsProbe::new(&url, &RequestCounter::reference()).map_err(|e| Chain(&e).to_string())?;
    probe.sample().await.map_err(|error| {
        format!(
            "its resource server's /metrics is unreachable ({})",
            Chain(&error)
        )
    })?;
    Ok((ProcessProbe { pid: one.pid }, probe))
}

/// Connects every probe, reading each once: a system whose store or `/metrics` cannot be read
/// fails the run before anything is measured. The error is the message for the system.
pub(super) async fn connect(launched: &Launched) -> Result<Probes, String> {
    let store_url = launched.store.as_ref().and_then(StoreSpec::server_url);
    let store = match store_url {
        Some(url) => Some(
            StoreProbe::connect(url)
                .await
                .map_err(|e| Chain(&e).to_string())?,
        ),
        None => None,
    };
    let counter = match &launched.mapping.server_counts {
        ServerCounts::Counter(counter) => counter.clone(),
        // Nothing to scrape: the scenario lists no metrics URLs for such a system.
        ServerCounts::None => RequestCounter::reference(),
    };
    let mut metrics = Vec::with_capacity(launched.metrics_urls.len());
    for url in &launched.metrics_urls {
        let probe = MetricsProbe::new(url, &counter).map_err(|e| Chain(&e).to_string())?;
        if let Err(error) = probe.sample().await {
            return Err(format!(
                "its /metrics is unreachable ({}); the run compares the server's own counts \
                 with the load generator's",
                Chain(&error)
            ));
        }
        metrics.push(probe);
    }
    let processes = launched
        .spawned
        .iter()
        .map(|one| ProcessProbe { pid: one.pid })
        .collect();
    let store_url = store_url.map(str::to_owned);
    Ok(Probes {
        processes: Replicas(processes),
        balancer: None,
        metrics: Replicas(metrics),
        store,
        store_url,
        resource: None,
    })
}
