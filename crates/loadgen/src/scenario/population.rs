//! `[population]`: the live sessions each step loads into the stores while the load stays at
//! one value. Checked with the load (one value, repeated at every step) and with the systems
//! (a population goes into a Redis or PostgreSQL store from outside the servers, in authbench's
//! own record format).

use super::checker::Checker;
use super::file::PopulationFile;
use super::model::{Load, MAX_POPULATION, Population, Server, StoreSpec, System, Target};

const EXAMPLE: &str = "e.g. sessions = [1000, 100000, 1000000]";

/// The population steps, with `load` repeated to as many steps; `Some(None)` without the table.
pub fn population(
    checker: &mut Checker<'_>,
    file: Option<PopulationFile>,
    load: &mut Option<Load>,
) -> Option<Option<Population>> {
    let Some(file) = file else {
        return Some(None);
    };
    let sessions = checker.required(
        file.sessions,
        "population.sessions",
        &format!("list the live sessions to load before each step, {EXAMPLE}"),
    )?;
    let sessions = steps(checker, &sessions)?;
    if let Some(load) = load.as_mut() {
        hold(checker, load, sessions.len())?;
    }
    Some(Some(Population { sessions }))
}

fn steps(checker: &mut Checker<'_>, values: &[i64]) -> Option<Vec<u64>> {
    if values.is_empty() {
        checker.problem(
            "population.sessions",
            format!("is empty; list at least one step, {EXAMPLE}"),
        );
        return None;
    }
    let problems_before = checker.problems.len();
    let mut steps = Vec::with_capacity(values.len());
    for (index, &count) in values.iter().enumerate() {
        let key = format!("population.sessions[{index}]");
        match u64::try_from(count) {
            Ok(count @ 1..=MAX_POPULATION) => steps.push(count),
            _ => {
                checker.problem(
                    &key,
                    format!(
                        "{count} is out of range; each step loads 1 to {MAX_POPULATION} sessions"
                    ),
                );
                continue;
            }
        }
        if let Some(&previous) = index.checked_sub(1).and_then(|before| values.get(before))
            && count <= previous
        {
            checker.problem(
                &key,
                format!(
                    "{count} does not rise above the step before it ({previous}); a population \
                     is topped up step by step, never emptied, so steps must rise strictly"
                ),
            );
        }
    }
    (checker.problems.len() == problems_before).then_some(steps)
}

/// The load's one value, repeated at each of `steps`.
fn hold(checker: &mut Checker<'_>, load: &mut Load, steps: usize) -> Option<()> {
    let (key, values) = match load {
        Load::Closed { vus } => ("load.vus", vus.len()),
        Load::Open { flows_per_second } => ("load.flows_per_second", flows_per_second.len()),
    };
    if values != 1 {
        checker.problem(
            key,
            format!(
                "has {values} steps; with [population] the load stays at one value while the \
                 population steps, so give exactly one"
            ),
        );
        return None;
    }
    match load {
        Load::Closed { vus } => *vus = vec![vus[0]; steps],
        Load::Open { flows_per_second } => *flows_per_second = vec![flows_per_second[0]; steps],
    }
    Some(())
}

/// Every system a population applies to must have a store the run can load: session systems
/// on Redis or PostgreSQL, run by the scenario. JWT systems on an in-process store keep what
/// they store in the server, and simply get no population.
pub fn check_systems(checker: &mut Checker<'_>, systems: &[System]) {
    for (index, system) in systems.iter().enumerate() {
        let prefix = format!("systems[{index}]");
        match &system.target {
            Target::External(_) => checker.problem(
                prefix,
                "is external: its store holds its own record format, and a population is \
                 loaded in authbench's; leave it out of a [population] scenario",
            ),
            Target::Spawned(Server::Session { store, .. }) if !loadable(store) => checker.problem(
                format!("{prefix}.store"),
                format!(
                    "is {}: a population is loaded into the store from outside the server, \
                     which a store inside the server cannot take; use a Redis or PostgreSQL \
                     store",
                    store.kind()
                ),
            ),
            Target::Spawned(_) => {}
        }
    }
}

/// Whether the run can load a population into this store.
pub fn loadable(store: &StoreSpec) -> bool {
    store.server_url().is_some() || matches!(store, StoreSpec::Owned { .. })
}
