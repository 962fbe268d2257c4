//! One share of a run split over several load generators (`authbench run --shard I/N`): the
//! load divided, each shard's accounts its own, and every turn started at a fixed offset from a
//! common start time, so that the shards' measured windows line up and `authbench merge` can
//! add their histograms.

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use crate::flow::Credential;
use crate::scenario::{Load, Scenario, Target};

/// Time between one turn's end and the next turn's start, for what happens between turns
/// (closing probes, the next turn's connections): each shard takes its own time for it, and
/// the fixed schedule absorbs the difference.
pub const TURN_GAP: Duration = Duration::from_secs(2);

/// This load generator's share of a split run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// From 0 to `count - 1`.
    pub index: u32,
    pub count: NonZeroU32,
    /// When the first turn starts, on every shard.
    pub start_at: SystemTime,
}

/// Why a scenario cannot be split as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("shard {index} of {count} does not exist; shards are numbered 0 to {last}", last = count - 1)]
    NoSuchShard { index: u32, count: u32 },
    #[error(
        "system {system:?} is started by the run; a split run drives external systems only, \
         which every shard reaches at the same URLs"
    )]
    SpawnedSystem { system: String },
    #[error("the scenario has {what}, which a split run cannot share between its shards")]
    Unshareable { what: &'static str },
    #[error(
        "step {step} has {vus} VUs, fewer than the {count} shards: each shard needs at least one"
    )]
    TooFewVus { step: usize, vus: u32, count: u32 },
}

impl Shard {
    /// The scenario as this shard runs it: each step's VUs (or flows per second) divided
    /// between the shards, the remainder to the lowest indexes, so that the shards together
    /// send the whole load.
    pub fn apply(&self, scenario: &Scenario) -> Result<Scenario, ShardError> {
        let count = self.count.get();
        if self.index >= count {
            return Err(ShardError::NoSuchShard {
                index: self.index,
                count,
            });
        }
        if let Some(system) = scenario
            .systems
            .iter()
            .find(|system| matches!(system.target, Target::Spawned(_)))
        {
            return Err(ShardError::SpawnedSystem {
                system: system.name.clone(),
            });
        }
        for (unshareable, what) in [
            (!scenario.stores.is_empty(), "[[stores]]"),
            (!scenario.faults.is_empty(), "[[faults]]"),
            (scenario.population.is_some(), "a [population]"),
            (scenario.overload.is_some(), "an [overload] burst"),
        ] {
            if unshareable {
                return Err(ShardError::Unshareable { what });
            }
        }
        let mut shared = scenario.clone();
        shared.load = match &scenario.load {
            Load::Closed { vus } => Load::Closed {
                vus: vus
                    .iter()
                    .enumerate()
                    .map(|(step, vus)| self.vus(step, vus.get()))
                    .collect::<Result<_, _>>()?,
            },
            Load::Open { flows_per_second } => Load::Open {
                flows_per_second: flows_per_second
                    .iter()
                    .map(|rate| rate / f64::from(count))
                    .collect(),
            },
        };
        // One shard measures the store's ceiling, before the start: N at once would each
        // find a share of it.
        if self.index > 0 {
            shared.store_ceiling = None;
        }
        Ok(shared)
    }

    fn vus(&self, step: usize, vus: u32) -> Result<NonZeroU32, ShardError> {
        let count = self.count.get();
        let share = vus / count + u32::from(self.index < vus % count);
        NonZeroU32::new(share).ok_or(ShardError::TooFewVus { step, vus, count })
    }

    /// This shard's accounts: every `count`-th from its index, so no two shards log in as the
    /// same user.
    pub fn accounts(&self, all: Vec<Credential>) -> Vec<Credential> {
        all.into_iter()
            .skip(self.index as usize)
            .step_by(self.count.get() as usize)
            .collect()
    }

    /// When turn `turn` (counted over the whole run, from 0) starts: the same instant on every
    /// shard.
    pub fn turn_start(&self, scenario: &Scenario, turn: u64) -> SystemTime {
        let slot = scenario.timing.warmup + scenario.timing.step_duration + TURN_GAP;
        let offset = slot.saturating_mul(u32::try_from(turn).unwrap_or(u32::MAX));
        self.start_at + offset
    }

    /// What report.json records of the shard.
    pub fn info(&self) -> authbench_report::ShardInfo {
        authbench_report::ShardInfo {
            index: self.index,
            count: self.count.get(),
            start_at: humantime::format_rfc3339_millis(self.start_at).to_string(),
        }
    }
}

/// Waits until `at` by the wall clock; returns how late the wait found it (zero if early).
pub async fn wait_until(at: SystemTime) -> Duration {
    match at.duration_since(SystemTime::now()) {
        Ok(ahead) => {
            tokio::time::sleep(ahead).await;
            Duration::ZERO
        }
        Err(behind) => behind.duration(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(vus: &str, kind: &str) -> Scenario {
        let system = match kind {
            "external" => {
                "kind = \"external\"\nbase_url = \"http://127.0.0.1:1\"\nmetrics_url = \
                 \"http://127.0.0.1:1/metrics\"\ncredentials_csv = \"users.csv\""
            }
            _ => "kind = \"session\"\nstore = \"memory\"",
        };
        let text = format!(
            "description = \"t\"\n[users]\naccounts = 20\n[flow]\nbalances_per_login = 1\n\
             [load]\nmodel = \"closed\"\nvus = {vus}\n[timing]\nstep_duration = \"1s\"\n\
             [[systems]]\nname = \"s\"\n{system}\n"
        );
        crate::scenario::parse(Path::new("test.toml"), &text).expect("a valid scenario")
    }

    fn shard(index: u32, count: u32) -> Shard {
        Shard {
            index,
            count: NonZeroU32::new(count).unwrap(),
            start_at: SystemTime::UNIX_EPOCH,
        }
    }

    fn vus(scenario: &Scenario) -> Vec<u32> {
        match &scenario.load {
            Load::Closed { vus } => vus.iter().map(|v| v.get()).collect(),
            Load::Open { .. } => Vec::new(),
        }
    }

    #[test]
    fn the_shards_vus_add_up_to_the_scenarios_remainder_first() {
        let whole = scenario("[7, 12]", "external");
        let split: Vec<Vec<u32>> = (0..3)
            .map(|i| vus(&shard(i, 3).apply(&whole).unwrap()))
            .collect();
        assert_eq!(split, [vec![3, 4], vec![2, 4], vec![2, 4]]);
    }

    #[test]
    fn each_shard_has_accounts_of_its_own() {
        let all: Vec<Credential> = (0..7)
            .map(|n| Credential {
                username: format!("user{n}"),
                password: String::new(),
            })
            .collect();
        let names = |i| -> Vec<String> {
            shard(i, 3)
                .accounts(all.clone())
                .into_iter()
                .map(|c| c.username)
                .collect()
        };
        assert_eq!(names(0), ["user0", "user3", "user6"]);
        assert_eq!(names(2), ["user2", "user5"]);
    }

    #[test]
    fn spawned_systems_and_steps_smaller_than_the_shards_are_refused() {
        assert_eq!(
            shard(0, 2).apply(&scenario("[4]", "session")).unwrap_err(),
            ShardError::SpawnedSystem { system: "s".into() }
        );
        assert_eq!(
            shard(2, 3)
                .apply(&scenario("[2, 4]", "external"))
                .unwrap_err(),
            ShardError::TooFewVus {
                step: 0,
                vus: 2,
                count: 3
            }
        );
        assert_eq!(
            shard(3, 3).apply(&scenario("[4]", "external")).unwrap_err(),
            ShardError::NoSuchShard { index: 3, count: 3 }
        );
    }

    #[test]
    fn turns_start_at_fixed_offsets_from_the_common_start() {
        let whole = scenario("[4]", "external");
        let slot = whole.timing.warmup + whole.timing.step_duration + TURN_GAP;
        assert_eq!(
            shard(1, 2).turn_start(&whole, 3),
            SystemTime::UNIX_EPOCH + slot * 3
        );
    }
}
