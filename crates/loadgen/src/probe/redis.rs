//! The Redis server's own account of its load: `INFO all` (command stats, CPU, memory, keys).

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;

use authbench_contract::error::Cause;

use super::{CONNECT_TIMEOUT, Error, SAMPLE_TIMEOUT, counter_delta, redact, signed_change};

/// The probe's own command: excluded from every delta so that probing costs nothing on paper.
const PROBE_COMMAND: &str = "info";
/// Commands that run a script; the commands a script runs are counted again under their own
/// names.
const SCRIPT_COMMANDS: [&str; 6] = [
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
];

/// A connection of its own to one Redis server, used only for `INFO`.
#[derive(Debug, Clone)]
pub struct RedisProbe {
    connection: ConnectionManager,
    /// The URL with its password redacted, for messages.
    url: String,
    /// `Redis 7.0.15`, from `INFO server` at connection time.
    version: String,
}

impl RedisProbe {
    /// Opens the probe's connection; fails within about two seconds when nobody answers.
    pub async fn connect(url: &str) -> Result<RedisProbe, Error> {
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|source| Error::InvalidUrl {
            probe: "Redis",
            url: shown.clone(),
            why: source.to_string(),
        })?;
        // A connection manager reconnects after the server comes back (a restart by a fault).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(SAMPLE_TIMEOUT))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|error| Error::Redis {
                url: shown.clone(),
                what: "a connection",
                source: Cause::of(&error),
            })?;
        // Asked once, before any step's first sample, so it never lands in a step's counts.
        let server: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection.clone())
            .await
            .map_err(|error| Error::Redis {
                url: shown.clone(),
                what: "INFO server",
                source: Cause::of(&error),
            })?;
        Ok(RedisProbe {
            connection,
            url: shown,
            version: server_version(&server),
        })
    }

    /// The server's name and version, as shown in reports.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// One `INFO all`: a single command, whatever the server's version. Asked a second time
    /// when the first fails, which is how the connection learns the server came back.
    pub async fn sample(&self) -> Result<RedisSample, Error> {
        let mut connection = self.connection.clone();
        let info = redis::cmd("INFO").arg("all").to_owned();
        let first: Result<String, _> = info.query_async(&mut connection).await;
        let text = match first {
            Ok(text) => text,
            Err(_) => info
                .query_async(&mut connection)
                .await
                .map_err(|error| Error::Redis {
                    url: self.url.clone(),
                    what: "INFO",
                    source: Cause::of(&error),
                })?,
        };
        RedisSample::parse(&text).map_err(|what| Error::RedisInfo {
            url: self.url.clone(),
            what,
        })
    }
}

/// `Redis <redis_version>` from the text of `INFO server`; servers that speak the protocol
/// without that line (forks, proxies) are shown as such rather than refused.
fn server_version(info: &str) -> String {
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix("redis_version:"))
        .map_or_else(
            || "Redis-compatible (no redis_version in INFO)".to_owned(),
            |version| format!("Redis {version}"),
        )
}

/// Calls and time of one command since the server started (or `CONFIG RESETSTAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommandStat {
    /// Executions, including those that ended in an error (`failed_calls`), but not those
    /// refused before running (`rejected_calls`).
    pub calls: u64,
    /// Time spent executing it, in microseconds.
    pub usec: u64,
    /// Executions that ended in an error (Redis 6.2+; 0 from older servers).
    pub failed_calls: u64,
}

/// One reading of `INFO all`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RedisSample {
    /// By lowercase command name as Redis reports it (subcommands as `config|get`).
    pub commands: BTreeMap<String, CommandStat>,
    /// `used_cpu_user + used_cpu_sys` of the server process (all its threads).
    pub cpu: Duration,
    pub used_memory_bytes: u64,
    /// Keys summed over every database.
    pub keys: u64,
    pub total_commands_processed: u64,
    pub process_id: u32,
}

impl RedisSample {
    /// Parses the text of `INFO`; the sections it needs must be there.
    pub fn parse(text: &str) -> Result<RedisSample, String> {
        let mut sample = RedisSample::default();
        let (mut cpu_seconds, mut seen) = (0.0_f64, Seen::default());
        for line in text.lines() {
            let Some((key, value)) = line.trim_end().split_once(':') else {
                continue;
            };
            let number = || value.trim().parse::<u64>().map_err(|_| bad(key, value));
            if let Some(command) = key.strip_prefix("cmdstat_") {
                let stat = parse_command_stat(value).ok_or_else(|| bad(key, value))?;
                sample.commands.insert(command.to_ascii_lowercase(), stat);
                continue;
            }
            let database = key.strip_prefix("db");
            if database.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
                let keys = fields(value).find(|(name, _)| *name == "keys");
                let keys = keys.and_then(|(_, v)| v.parse::<u64>().ok());
                sample.keys += keys.ok_or_else(|| bad(key, value))?;
                continue;
            }
            match key {
                "used_cpu_sys" | "used_cpu_user" => {
                    cpu_seconds += value.trim().parse::<f64>().map_err(|_| bad(key, value))?;
                    seen.cpu += 1;
                }
                "used_memory" => (sample.used_memory_bytes, seen.memory) = (number()?, true),
                "total_commands_processed" => {
                    (sample.total_commands_processed, seen.total) = (number()?, true);
                }
                "process_id" => {
                    let pid = value.trim().parse().map_err(|_| bad(key, value))?;
                    (sample.process_id, seen.process_id) = (pid, true);
                }
                _ => {}
            }
        }
        // Section headers have no ':'; an idle server still has this one (with `info` in it).
        seen.commandstats = text.lines().any(|line| line.trim_end() == "# Commandstats");
        seen.missing()
            .map_or(Ok(()), |missing| Err(format!("no {missing} in the reply")))?;
        sample.cpu = Duration::try_from_secs_f64(cpu_seconds.max(0.0)).unwrap_or_default();
        Ok(sample)
    }

    /// The server's load from this sample (a step's start) to `end` (the step's end).
    pub fn delta(&self, end: &RedisSample) -> RedisLoad {
        // A restart (or `CONFIG RESETSTAT`) starts the counters again from zero, so the end's
        // counts are the best figure for the step.
        let restarted = end.process_id != self.process_id
            || end.total_commands_processed < self.total_commands_processed;
        let mut calls = BTreeMap::new();
        let (mut total_calls, mut script_calls, mut failed_calls, mut commands_usec) = (0, 0, 0, 0);
        for (name, stat) in &end.commands {
            if name == PROBE_COMMAND {
                continue;
            }
            let before = if restarted {
                CommandStat::default()
            } else {
                self.commands.get(name).copied().unwrap_or_default()
            };
            let count = counter_delta(before.calls, stat.calls);
            if count == 0 {
                continue;
            }
            calls.insert(name.clone(), count);
            // Saturating: the counters are whatever the server answered, up to u64::MAX each.
            total_calls = u64::saturating_add(total_calls, count);
            if SCRIPT_COMMANDS.contains(&name.as_str()) {
                script_calls = u64::saturating_add(script_calls, count);
            }
            commands_usec =
                u64::saturating_add(commands_usec, counter_delta(before.usec, stat.usec));
            failed_calls = u64::saturating_add(
                failed_calls,
                counter_delta(before.failed_calls, stat.failed_calls),
            );
        }
        let cpu = if restarted {
            end.cpu
        } else {
            end.cpu.saturating_sub(self.cpu)
        };
        RedisLoad {
            calls,
            total_calls,
            script_calls,
            failed_calls,
            commands_usec,
            cpu,
            memory_change_bytes: signed_change(self.used_memory_bytes, end.used_memory_bytes),
            keys_change: signed_change(self.keys, end.keys),
            keys: end.keys,
            restarted,
            nodes: Vec::new(),
        }
    }
}

/// The Redis server's load over one step. The probe's own `INFO` calls are left out of every
/// count and time.
///
/// Redis counts a command that a script runs (`redis.call('GET', ...)`) under its own name as
/// well as under the `EVALSHA` that ran it, and the script's time includes it: one store
/// operation done by a script that reads and writes two keys shows as one `evalsha` call plus
/// those calls, so [`Self::total_calls`] counts commands executed, not round trips.
/// [`Self::script_calls`] is the number of scripts run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RedisLoad {
    /// Commands executed, by lowercase name, only those that ran.
    pub calls: BTreeMap<String, u64>,
    /// The sum of [`Self::calls`].
    pub total_calls: u64,
    /// `EVAL`, `EVALSHA`, `FCALL` and their read-only forms: one per scripted store operation,
    /// plus an `EVALSHA` that failed (`NOSCRIPT`) the first time a client ran each script.
    pub script_calls: u64,
    /// Calls among [`Self::total_calls`] that ended in an error.
    pub failed_calls: u64,
    /// Time executing those commands, in microseconds; a script's inner commands are counted in
    /// it and again on their own.
    pub commands_usec: u64,
    /// The server process's CPU time (user + system).
    pub cpu: Duration,
    /// `used_memory` at the end minus at the start.
    pub memory_change_bytes: i64,
    /// Keys at the end minus at the start, over every database.
    pub keys_change: i64,
    /// Keys in every database at the step's end (Redis's own count).
    pub keys: u64,
    /// The server restarted or its stats were reset during the step: the counts are the end's.
    pub restarted: bool,
    /// Each node's share, for a cluster (see [`RedisLoad::sum`]); empty for one server.
    pub nodes: Vec<NodeLoad>,
}

/// One cluster node's share of a load.
#[derive(Debug, Clone, Serialize)]
pub struct NodeLoad {
    /// `host:port`.
    pub address: String,
    pub total_calls: u64,
    pub cpu: Duration,
    pub keys: u64,
}

impl RedisLoad {
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu.as_secs_f64()
    }
}

/// Which required lines `INFO` had.
#[derive(Debug, Default)]
struct Seen {
    cpu: u8,
    memory: bool,
    total: bool,
    process_id: bool,
    commandstats: bool,
}

impl Seen {
    fn missing(&self) -> Option<&'static str> {
        [
            (self.cpu < 2, "used_cpu_sys/used_cpu_user"),
            (!self.memory, "used_memory"),
            (!self.total, "total_commands_processed"),
            (!self.process_id, "process_id"),
            (!self.commandstats, "Commandstats section"),
        ]
        .into_iter()
        .find_map(|(missing, name)| missing.then_some(name))
    }
}

/// `calls=1,usec=6,usec_per_call=6.00,...`
fn parse_command_stat(value: &str) -> Option<CommandStat> {
    let (mut calls, mut usec, mut failed_calls) = (None, None, 0);
    for (name, number) in fields(value) {
        match name {
            "calls" => calls = number.parse().ok(),
            "usec" => usec = number.parse().ok(),
            "failed_calls" => failed_calls = number.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some(CommandStat {
        calls: calls?,
        usec: usec?,
        failed_calls,
    })
}

fn fields(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value
        .trim()
        .split(',')
        .filter_map(|field| field.split_once('='))
}

fn bad(key: &str, value: &str) -> String {
    format!("unreadable line {key}:{}", value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nprocess_id:4321\r\n\r\n\
        # Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n\r\n\
        # Stats\r\ntotal_commands_processed:40\r\n\r\n\
        # CPU\r\nused_cpu_sys:0.250000\r\nused_cpu_user:0.500000\r\n\
        used_cpu_sys_children:0.000000\r\n\r\n\
        # Commandstats\r\n\
        cmdstat_get:calls=10,usec=30,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_config|resetstat:calls=1,usec=35,usec_per_call=35.00\r\n\
        cmdstat_info:calls=2,usec=90,usec_per_call=45.00\r\n\r\n\
        # Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb2:keys=4,expires=0,avg_ttl=0\r\n";

    #[test]
    fn command_counts_past_u64_saturate_instead_of_overflowing() {
        // Found by the redis_info fuzz target: two commands whose calls add up past u64::MAX.
        let max = u64::MAX;
        let huge = format!(
            "cmdstat_get:calls={max},usec={max},failed_calls={max}\r\n\
             cmdstat_set:calls={max},usec={max},failed_calls={max}\r\n"
        );
        let end = INFO.replace("cmdstat_get:", &format!("{huge}cmdstat_old:"));
        let end = RedisSample::parse(&end).expect("parses");
        let load = RedisSample::parse(INFO).expect("parses").delta(&end);
        assert_eq!(
            (load.total_calls, load.commands_usec, load.failed_calls),
            (max, max, max)
        );
    }

    #[test]
    fn version_comes_from_info_server_and_a_fork_without_it_is_named_so() {
        assert_eq!(server_version(INFO), "Redis 7.0.15");
        assert_eq!(
            server_version("# Server\r\nprocess_id:1\r\n"),
            "Redis-compatible (no redis_version in INFO)"
        );
    }

    #[test]
    fn info_text_gives_commands_cpu_memory_and_keys() {
        let sample = RedisSample::parse(INFO).expect("parses");
        let get = CommandStat {
            calls: 10,
            usec: 30,
            failed_calls: 0,
        };
        assert_eq!(sample.commands["get"], get);
        assert_eq!(sample.commands["config|resetstat"].calls, 1);
        assert_eq!(sample.cpu, Duration::from_millis(750));
        assert_eq!(sample.used_memory_bytes, 1_048_576);
        assert_eq!(sample.keys, 7);
        assert_eq!(sample.total_commands_processed, 40);
        assert_eq!(sample.process_id, 4321);
    }

    #[test]
    fn info_without_command_stats_is_rejected() {
        let error = RedisSample::parse("# Server\r\nprocess_id:1\r\n").expect_err("incomplete");
        assert!(error.contains("no "), "{error}");
    }

    #[test]
    fn delta_leaves_out_the_probe_and_counts_scripts() {
        let start = RedisSample::parse(INFO).expect("parses");
        let mut end = start.clone();
        let stat = |calls, usec| CommandStat {
            calls,
            usec,
            failed_calls: 0,
        };
        end.commands.insert("get".into(), stat(15, 50));
        end.commands.insert("evalsha".into(), stat(2, 40));
        end.commands.insert("info".into(), stat(3, 135));
        end.total_commands_processed += 8;
        end.keys -= 2;
        end.cpu += Duration::from_millis(10);
        let load = start.delta(&end);
        assert_eq!(load.calls.get("get"), Some(&5));
        assert_eq!(load.calls.get("info"), None);
        assert_eq!(
            (load.total_calls, load.script_calls, load.commands_usec),
            (7, 2, 60)
        );
        assert_eq!(
            (load.keys_change, load.cpu),
            (-2, Duration::from_millis(10))
        );
        assert!(!load.restarted);
    }
}
