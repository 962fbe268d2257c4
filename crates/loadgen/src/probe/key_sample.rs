//! Which commands, on which keys, a system's requests send to its store, as the store shows them:
//!
//! - Redis: `MONITOR` for a short while, each command's first key reduced to a pattern
//!   (`shop:session:*`), counted. `MONITOR` passes every command through one more connection
//!   and costs the server throughput while it is on, so a run takes this sample during a
//!   warm-up, never in a measured window. `INFO commandstats` already counts commands by name;
//!   this adds what they touch, so a team can see that its service's `GET` per request is the
//!   session read.
//! - PostgreSQL: `pg_stat_statements` read before and after the same window, each statement's
//!   calls in between with its normalized text (`SELECT ... WHERE id = $1`), when the extension
//!   is loaded.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use authbench_contract::StoreUrl;
use authbench_contract::error::Cause;
use authbench_report::{KeyPattern, StoreCommandSample};

use super::{CONNECT_TIMEOUT, Error, redact};

/// The sample stops after this many commands: enough to see every pattern of a flow many
/// times over, bounded in memory and time on a busy store.
pub const MAX_COMMANDS: u64 = 20_000;
/// The patterns kept, most frequent first.
const MAX_PATTERNS: usize = 20;
/// Commands the run's own probes send, left out of the sample.
const PROBE_COMMANDS: [&str; 2] = ["info", "monitor"];
/// Commands whose first argument is not a key: counted with an empty pattern.
const KEYLESS_COMMANDS: [&str; 12] = [
    "auth", "client", "command", "config", "echo", "hello", "multi", "exec", "ping", "quit",
    "readonly", "select",
];

/// The sample that fits the store URL's scheme (Redis or PostgreSQL), over `duration`.
pub async fn of_store(url: &str, duration: Duration) -> Result<StoreCommandSample, Error> {
    match url.parse::<StoreUrl>() {
        Ok(StoreUrl::Redis(url)) => redis(&url, duration).await,
        Ok(cluster @ StoreUrl::RedisCluster(_)) => redis_cluster(&cluster, duration).await,
        Ok(StoreUrl::Postgres(url)) => postgres(&url, duration).await,
        _ => Err(Error::UnsupportedStore { url: redact(url) }),
    }
}

/// Listens to `url`'s `MONITOR` for `duration` (or until [`MAX_COMMANDS`]).
pub async fn redis(url: &str, duration: Duration) -> Result<StoreCommandSample, Error> {
    let started = Instant::now();
    let (counts, seen) = monitor(url, duration, MAX_COMMANDS).await?;
    Ok(StoreCommandSample {
        source: "redis_monitor".to_owned(),
        seconds: started.elapsed().as_secs_f64(),
        commands_seen: seen,
        patterns: ranked(counts),
    })
}

/// `MONITOR` on every master of a cluster at once, each up to its share of [`MAX_COMMANDS`],
/// the counts added.
async fn redis_cluster(
    cluster: &StoreUrl,
    duration: Duration,
) -> Result<StoreCommandSample, Error> {
    let (_, masters) = super::redis_cluster::master_urls(&cluster.cluster_nodes()).await?;
    let share = MAX_COMMANDS / masters.len().max(1) as u64;
    let started = Instant::now();
    let each = masters.iter().map(|(_, url)| monitor(url, duration, share));
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    let mut seen = 0;
    for (node_counts, node_seen) in futures::future::try_join_all(each).await? {
        for (key, count) in node_counts {
            *counts.entry(key).or_default() += count;
        }
        seen += node_seen;
    }
    Ok(StoreCommandSample {
        source: "redis_monitor".to_owned(),
        seconds: started.elapsed().as_secs_f64(),
        commands_seen: seen,
        patterns: ranked(counts),
    })
}

type Counts = HashMap<(String, String), u64>;

/// Commands by (name, key pattern) that `url` ran over `duration`, up to `budget` of them; and
/// how many were seen.
async fn monitor(url: &str, duration: Duration, budget: u64) -> Result<(Counts, u64), Error> {
    let shown = redact(url);
    let failed = |error: redis::RedisError| Error::Redis {
        url: shown.clone(),
        what: "MONITOR",
        source: Cause::of(&error),
    };
    let client = redis::Client::open(url).map_err(failed)?;
    let monitor = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_monitor())
        .await
        .map_err(|_| Error::Redis {
            url: shown.clone(),
            what: "MONITOR",
            source: Cause::new("no answer within the connect timeout"),
        })?
        .map_err(failed)?;
    let mut lines = monitor.into_on_message::<String>();
    let deadline = Instant::now() + duration;
    let mut counts: Counts = HashMap::new();
    let mut seen = 0;
    while seen < budget {
        let line = tokio::select! {
            line = lines.next() => line,
            () = tokio::time::sleep_until(deadline) => None,
        };
        let Some(line) = line else { break };
        if let Some((command, key)) = command_and_key(&line)
            && !PROBE_COMMANDS.contains(&command.as_str())
        {
            seen += 1;
            *counts.entry((command, key_pattern(&key))).or_default() += 1;
        }
    }
    Ok((counts, seen))
}

/// Statements of this database by `pg_stat_statements`: id, calls and normalized text.
const STATEMENTS: &str = "SELECT queryid, calls, query FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND queryid IS NOT NULL";
/// The longest statement text kept.
const MAX_STATEMENT_CHARS: usize = 200;

/// Each statement's calls during `duration` in `url`'s database, from `pg_stat_statements`.
/// Fails, saying so, where the extension is not loaded there.
pub async fn postgres(url: &str, duration: Duration) -> Result<StoreCommandSample, Error> {
    let shown = redact(url);
    let failed = |what: &'static str| {
        let shown = shown.clone();
        move |error: tokio_postgres::Error| Error::Postgres {
            url: shown,
            what,
            source: Cause::of(&error),
        }
    };
    let connect = tokio_postgres::connect(url, tokio_postgres::NoTls);
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| Error::Postgres {
            url: shown.clone(),
            what: "a connection",
            source: Cause::new("no answer within the connect timeout"),
        })?
        .map_err(failed("a connection"))?;
    tokio::spawn(connection);
    let read = || async {
        let rows = client
            .query(STATEMENTS, &[])
            .await
            .map_err(failed("pg_stat_statements (is the extension loaded?)"))?;
        Ok::<_, Error>(
            rows.iter()
                .map(|row| {
                    let calls: i64 = row.get(1);
                    let query: String = row.get(2);
                    (row.get::<_, i64>(0), (calls, query))
                })
                .collect::<HashMap<i64, (i64, String)>>(),
        )
    };
    let started = Instant::now();
    let before = read().await?;
    tokio::time::sleep_until(started + duration).await;
    let after = read().await?;
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    let mut seen = 0;
    for (id, (calls, query)) in after {
        let earlier = before.get(&id).map_or(0, |(calls, _)| *calls);
        let delta = u64::try_from(calls - earlier).unwrap_or(0);
        if delta == 0 || query.contains("pg_stat_statements") {
            continue;
        }
        seen += delta;
        let verb = query
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let text: String = text.chars().take(MAX_STATEMENT_CHARS).collect();
        *counts.entry((verb, text)).or_default() += delta;
    }
    Ok(StoreCommandSample {
        source: "pg_stat_statements".to_owned(),
        seconds: started.elapsed().as_secs_f64(),
        commands_seen: seen,
        patterns: ranked(counts),
    })
}

fn ranked(counts: HashMap<(String, String), u64>) -> Vec<KeyPattern> {
    let mut patterns: Vec<KeyPattern> = counts
        .into_iter()
        .map(|((command, key_pattern), count)| KeyPattern {
            command,
            key_pattern,
            count,
        })
        .collect();
    patterns.sort_by(|a, b| {
        (b.count, &a.command, &a.key_pattern).cmp(&(a.count, &b.command, &b.key_pattern))
    });
    patterns.truncate(MAX_PATTERNS);
    patterns
}

/// The command (lower case) and its first argument from a `MONITOR` line:
/// `1700000000.123456 [0 127.0.0.1:5000] "GET" "shop:session:abc"`. A keyless command has an
/// empty key.
pub fn command_and_key(line: &str) -> Option<(String, String)> {
    let (_, arguments) = line.split_once("] ")?;
    let mut quoted = QuotedArguments(arguments);
    let command = quoted.next()?.to_ascii_lowercase();
    let key = if KEYLESS_COMMANDS.contains(&command.as_str()) {
        String::new()
    } else {
        quoted.next().unwrap_or_default()
    };
    Some((command, key))
}

/// `"a" "b\"c"` as its unescaped strings (Redis escapes `"`, `\` and non-printable bytes).
struct QuotedArguments<'a>(&'a str);

impl Iterator for QuotedArguments<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let rest = self.0.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    self.0 = &rest[at + 1..];
                    return Some(value);
                }
                '\\' => match chars.next()?.1 {
                    'x' => {
                        let high = chars.next()?.1.to_digit(16)?;
                        let low = chars.next()?.1.to_digit(16)?;
                        value.push(char::from((high * 16 + low) as u8));
                    }
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
        None
    }
}

/// `key` with its variable parts as `*`: between `:` (and `/`, `.`), a part that holds a digit
/// and is at least 4 long, or is at least 16 long with both cases of letters (base64), is an
/// id or a user name; the rest is the key's layout (`shop:session:*`,
/// `authbench:user:*:sessions`, `refresh_families:r:*`).
pub fn key_pattern(key: &str) -> String {
    let mut pattern = String::with_capacity(key.len());
    let mut part = String::new();
    let flush = |part: &mut String, pattern: &mut String| {
        let mixed_case = part.bytes().any(|b| b.is_ascii_uppercase())
            && part.bytes().any(|b| b.is_ascii_lowercase());
        let variable = (part.len() >= 16 && mixed_case)
            || (part.len() >= 4 && part.bytes().any(|b| b.is_ascii_digit()));
        pattern.push_str(if variable { "*" } else { part });
        part.clear();
    };
    for c in key.chars() {
        if matches!(c, ':' | '/' | '.' | '{' | '}') {
            flush(&mut part, &mut pattern);
            pattern.push(c);
        } else {
            part.push(c);
        }
    }
    flush(&mut part, &mut pattern);
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_give_the_command_and_first_key() {
        let line = r#"1700000000.123456 [0 127.0.0.1:5000] "GET" "shop:session:abc""#;
        assert_eq!(
            command_and_key(line),
            Some(("get".into(), "shop:session:abc".into()))
        );
        let escaped = r#"1.0 [0 unix:/tmp/r.sock] "SET" "a\"b\\c\x41" "v" "EX" "60""#;
        assert_eq!(
            command_and_key(escaped),
            Some(("set".into(), "a\"b\\cA".into()))
        );
        assert_eq!(
            command_and_key(r#"1.0 [0 lua] "PING""#),
            Some(("ping".into(), String::new()))
        );
        assert_eq!(
            command_and_key(r#"1.0 [0 127.0.0.1:1] "HELLO" "3""#),
            Some(("hello".into(), String::new()))
        );
        assert_eq!(command_and_key("OK"), None);
    }

    #[test]
    fn ids_and_user_names_become_stars_and_the_layout_stays() {
        assert_eq!(
            key_pattern("shop:session:_ibmwoYKyVnTwlkTRIQYyLVBBydPQsLs"),
            "shop:session:*"
        );
        assert_eq!(
            key_pattern("authbench:user:user42:sessions"),
            "authbench:user:*:sessions"
        );
        assert_eq!(key_pattern("rate/2024/v1"), "rate/*/v1");
        assert_eq!(key_pattern("{user:shopper7}:refresh"), "{user:*}:refresh");
        assert_eq!(key_pattern("config"), "config");
        assert_eq!(
            key_pattern("refresh_families:r:QmFzZTY0SWRXaXRoTm9EaWdpdHM"),
            "refresh_families:r:*"
        );
    }

    #[test]
    fn patterns_are_ranked_most_frequent_first() {
        let counts = HashMap::from([
            (("set".into(), "s:*".into()), 2),
            (("get".into(), "s:*".into()), 9),
            (("del".into(), "s:*".into()), 2),
        ]);
        let ranked: Vec<(String, u64)> = ranked(counts)
            .into_iter()
            .map(|p| (p.command, p.count))
            .collect();
        assert_eq!(
            ranked,
            [("get".into(), 9), ("del".into(), 2), ("set".into(), 2)]
        );
    }
}
