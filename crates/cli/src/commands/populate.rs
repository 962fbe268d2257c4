//! `authbench populate`: synthetic live records loaded straight into a store, in batches, then
//! counted by the store itself.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use authbench_contract::population::PopulationLoad;
use authbench_store::{Options, Record, Store, StoreMetrics, now_millis, population};

use crate::args::PopulateArgs;

/// Records built and sent per batch: bounds this process's memory at any population size.
const BATCH: u64 = 100_000;

pub async fn run(args: &PopulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.from <= args.to,
        "--from {} is above --to {}: nothing to load",
        args.from,
        args.to
    );
    let target = args.store.redacted();
    let mut options = Options::new(args.namespace);
    // A store busy with a million-record batch may answer the count late.
    options.op_timeout = Duration::from_secs(30);
    let store = Store::open(&args.store, options, &StoreMetrics::default())
        .await
        .with_context(|| format!("cannot open store {target} (--store)"))?;
    let ttl = i64::try_from(args.ttl.as_millis()).unwrap_or(i64::MAX);

    let started = Instant::now();
    let mut loaded = 0;
    let mut next = args.from;
    while next < args.to {
        let end = args.to.min(next.saturating_add(BATCH));
        let now = now_millis();
        let batch: Vec<Record> = (next..end)
            .map(|n| population::record(args.namespace, n, now, now.saturating_add(ttl)))
            .collect();
        loaded += store
            .create_many(&batch)
            .await
            .with_context(|| format!("loading records {next}..{end} into {target} failed"))?;
        next = end;
    }
    let seconds = started.elapsed().as_secs_f64();
    let live_records = store
        .count_live()
        .await
        .with_context(|| format!("counting the records in {target} failed"))?;
    let line = PopulationLoad {
        namespace: args.namespace.name().to_owned(),
        from: args.from,
        to: args.to,
        loaded,
        seconds,
        live_records,
    };
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}
