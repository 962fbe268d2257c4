//! The store's own ceiling: how many session lookups per second it answers when saturated, with
//! exactly the command a session server's lookup sends, over as many connections as the servers
//! hold to it, under whatever limits it runs with (a CPU cap, a relay's distance), and the CPU
//! it uses there. Measured before the steps, so that each step's store load can be read as a
//! share of what the store can do rather than of an assumption.
//!
//! - Redis: `GET` of a key holding a record the size of a session's. On a Redis Cluster, every
//!   master at once, each with a key of its own slots and as many connections as one server
//!   holds: the cluster's ceiling is the sum.
//! - PostgreSQL: the store's prepared primary-key `SELECT` of a session's columns with the expiry
//!   in the query, on a temporary table of the sessions table's shape (one per connection, gone
//!   with it: nothing is left in the database).
//!
//! A JWT system's revocation check (its denylist entry by `jti`, or its user's cutoff) is the
//! same lookup on another namespace, and for a token that was never revoked it finds nothing:
//! [`Lookup::Revocation`] measures that miss.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authbench_contract::error::Cause;

use super::{Error, RedisClusterProbe, StoreProbe, Window, redact};

/// Lookups in flight on each connection: enough that the store, not the round trip, is the
/// limit (a relay's distance included).
pub const IN_FLIGHT: usize = 32;

/// What a ceiling looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A session by id: found, a session-sized record back.
    Session,
    /// A denylist entry or cutoff of a token that was never revoked: nothing found.
    Revocation,
}

/// What the ceiling measurement found.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    pub operations_per_second: f64,
    /// The store's CPU at the ceiling, in cores; none where the store's CPU is not readable.
    pub cpu_cores: Option<f64>,
    pub connections: u32,
    pub seconds: f64,
    /// The command measured, as the report shows it.
    pub command: &'static str,
}

/// A 47-byte value, the size of a session record with a short user agent.
const RECORD: &str = "1795709572011 1795738372011 user1 curl/7.88.1\n";
const REDIS_KEY: &str = "authbench:ceiling:record";
/// Never set: what a revocation check of a token nobody revoked asks for.
const REDIS_ABSENT_KEY: &str = "authbench:ceiling:absent";
const POSTGRES_ID: &str = "ceiling-id";
const POSTGRES_ABSENT_ID: &str = "ceiling-absent";

/// Saturates the store at `url` with `lookup` over `connections` connections for `duration`.
pub async fn measure(
    probe: &StoreProbe,
    url: &str,
    connections: u32,
    duration: Duration,
    lookup: Lookup,
) -> Result<Ceiling, Error> {
    let done = Arc::new(AtomicU64::new(0));
    let window = Window::open(probe).await;
    let started = Instant::now();
    // PostgreSQL's connections stay open until the closing sample: a backend that exits takes
    // its CPU time with it.
    let mut open = Vec::new();
    let redis_command = match lookup {
        Lookup::Session => "GET <session key>",
        Lookup::Revocation => "GET <denylist or cutoff key> (absent: a token not revoked)",
    };
    let command = match probe {
        StoreProbe::Redis(_) => {
            let target = RedisTarget {
                url: url.to_owned(),
                present: REDIS_KEY.to_owned(),
                absent: REDIS_ABSENT_KEY.to_owned(),
            };
            redis_load(&[target], connections, duration, &done, lookup).await?;
            redis_command
        }
        StoreProbe::RedisCluster(cluster) => {
            let targets = cluster_targets(cluster).await?;
            redis_load(&targets, connections, duration, &done, lookup).await?;
            redis_command
        }
        StoreProbe::Postgres(_) => {
            open = postgres_load(url, connections, duration, &done, lookup).await?;
            match lookup {
                Lookup::Session => {
                    "SELECT username, created, expires, data FROM <sessions> WHERE id = $1 AND \
                     expires > $2"
                }
                Lookup::Revocation => {
                    "SELECT username, created, expires, data FROM <denylist or cutoffs> WHERE id \
                     = $1 AND expires > $2 (no row: a token not revoked)"
                }
            }
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let load = window.close().await?;
    // Dropped here rather than left to each backend's exit, which finishes after the client
    // has gone: the store holds nothing of the ceiling's once this returns.
    for client in open {
        let _ = client
            .batch_execute("DROP TABLE IF EXISTS pg_temp.authbench_ceiling")
            .await;
    }
    let operations = done.load(Ordering::Relaxed);
    Ok(Ceiling {
        operations_per_second: operations as f64 / seconds,
        cpu_cores: load
            .and_then(|load| load.cpu_seconds())
            .map(|cpu| cpu / seconds),
        connections,
        seconds,
        command,
    })
}

fn redis_error<'a>(url: &'a str, what: &'static str) -> impl Fn(redis::RedisError) -> Error + 'a {
    move |error| Error::Redis {
        url: redact(url),
        what,
        source: Cause::of(&error),
    }
}

/// One Redis server to saturate, and the keys it serves: one holding a record, one never set.
struct RedisTarget {
    url: String,
    present: String,
    absent: String,
}

/// Every master of the cluster, each with keys that hash to its own slots (asked of the
/// cluster with `CLUSTER KEYSLOT`, so that no lookup is redirected).
async fn cluster_targets(cluster: &RedisClusterProbe) -> Result<Vec<RedisTarget>, Error> {
    let seed = cluster.seed_url();
    let client = redis::Client::open(seed).map_err(redis_error(seed, "the ceiling"))?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(redis_error(seed, "the ceiling"))?;
    let userinfo = seed
        .strip_prefix("redis://")
        .and_then(|rest| rest.rsplit_once('@'))
        .map_or(String::new(), |(userinfo, _)| format!("{userinfo}@"));
    let mut targets = Vec::new();
    for master in cluster.masters() {
        let mut keys = Vec::new();
        for prefix in [REDIS_KEY, REDIS_ABSENT_KEY] {
            let mut found = None;
            for n in 0..KEY_SEARCH {
                let key = format!("{prefix}:{n}");
                let slot: u16 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .map_err(redis_error(seed, "CLUSTER KEYSLOT"))?;
                if master.serves(slot) {
                    found = Some(key);
                    break;
                }
            }
            keys.push(found.ok_or_else(|| Error::RedisInfo {
                url: redact(seed),
                what: format!(
                    "no key of {KEY_SEARCH} tried hashes to {}",
                    master.address()
                ),
            })?);
        }
        let [present, absent] = <[String; 2]>::try_from(keys).expect("two prefixes, two keys");
        targets.push(RedisTarget {
            url: format!("redis://{userinfo}{}", master.address()),
            present,
            absent,
        });
    }
    Ok(targets)
}

/// Keys tried per master before giving up: a master serving even 1/16 of the slots is hit
/// within a few dozen.
const KEY_SEARCH: usize = 10_000;

/// `connections` raw connections to each target at once, for `duration`.
async fn redis_load(
    targets: &[RedisTarget],
    connections: u32,
    duration: Duration,
    done: &Arc<AtomicU64>,
    lookup: Lookup,
) -> Result<(), Error> {
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    let mut setups = Vec::new();
    for target in targets {
        let url = target.url.as_str();
        let client = redis::Client::open(url).map_err(redis_error(url, "the ceiling"))?;
        let mut setup = client
            .get_multiplexed_async_connection()
            .await
            .map_err(redis_error(url, "the ceiling"))?;
        let _: () = redis::cmd("SET")
            .arg(&target.present)
            .arg(RECORD)
            .query_async(&mut setup)
            .await
            .map_err(redis_error(url, "the ceiling's record"))?;
        let info = client.get_connection_info();
        let address = info.addr().to_string();
        let address = address.trim_start_matches("redis://").to_owned();
        let hello = Arc::new(hello(info.redis_settings()));
        let (key, reply) = match lookup {
            Lookup::Session => (
                &target.present,
                format!("${}\r\n{RECORD}\r\n", RECORD.len()),
            ),
            Lookup::Revocation => (&target.absent, "$-1\r\n".to_owned()),
        };
        let batch = Arc::new((get(key).repeat(IN_FLIGHT), reply));
        for _ in 0..connections {
            let (address, hello, done, batch) =
                (address.clone(), hello.clone(), done.clone(), batch.clone());
            let url = redact(url);
            workers.push(tokio::spawn(async move {
                let outcome = redis_connection(&address, &hello, &batch, deadline, &done).await;
                outcome.map_err(|error| Error::Redis {
                    url,
                    what: "the ceiling",
                    source: Cause::of(&error),
                })
            }));
        }
        setups.push((setup, &target.present));
    }
    for worker in workers {
        // A worker that panicked: named by the store it was measuring, like any failure.
        let shown = targets.first().map(|t| redact(&t.url)).unwrap_or_default();
        worker.await.map_err(|error| Error::Redis {
            url: shown,
            what: "the ceiling",
            source: Cause::of(&std::io::Error::other(error.to_string())),
        })??;
    }
    for (mut setup, key) in setups {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(key).query_async(&mut setup).await;
    }
    Ok(())
}

/// What a raw connection sends before its lookups, as the servers' client does: `AUTH` where the
/// URL carries a password (with the user where it names one), `SELECT` where it names a
/// database other than 0. Each is answered `+OK`.
fn hello(settings: &redis::RedisConnectionInfo) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    if let Some(password) = settings.password() {
        let mut auth = vec!["AUTH".to_owned()];
        auth.extend(settings.username().map(str::to_owned));
        auth.push(password.to_owned());
        commands.push(auth);
    }
    if settings.db() != 0 {
        commands.push(vec!["SELECT".to_owned(), settings.db().to_string()]);
    }
    commands
}

/// `GET key` in RESP.
fn get(key: &str) -> String {
    resp(&["GET".to_owned(), key.to_owned()])
}

/// One command in RESP.
fn resp(args: &[String]) -> String {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    out
}

/// One connection sending [`IN_FLIGHT`] `GET`s at a time (`batch`: the requests, and the one
/// reply each gets), written as one batch and read back whole, as `redis-benchmark -P` does:
/// the client spends next to nothing per lookup, so the store is the limit. Raw RESP, since
/// every reply has the same known size.
async fn redis_connection(
    address: &str,
    hello: &[Vec<String>],
    batch: &(String, String),
    deadline: Instant,
    done: &AtomicU64,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    for command in hello {
        stream.write_all(resp(command).as_bytes()).await?;
        let mut ok = [0u8; 5];
        stream.read_exact(&mut ok).await?;
        if &ok != b"+OK\r\n" {
            // The password is never echoed: only the command's name.
            return Err(std::io::Error::other(format!(
                "{} was refused: {:?}",
                command[0],
                String::from_utf8_lossy(&ok)
            )));
        }
    }
    let (batch, reply) = batch;
    let mut replies = vec![0u8; reply.len() * IN_FLIGHT];
    while Instant::now() < deadline {
        stream.write_all(batch.as_bytes()).await?;
        stream.read_exact(&mut replies).await?;
        if !replies.starts_with(reply.as_bytes()) {
            return Err(std::io::Error::other(format!(
                "unexpected reply to GET: {:?}",
                String::from_utf8_lossy(&replies[..reply.len().min(replies.len())])
            )));
        }
        done.fetch_add(IN_FLIGHT as u64, Ordering::Relaxed);
    }
    Ok(())
}

fn postgres_error(url: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |error| Error::Postgres {
        url: redact(url),
        what: "the ceiling",
        source: Cause::of(&error),
    }
}

async fn postgres_load(
    url: &str,
    connections: u32,
    duration: Duration,
    done: &Arc<AtomicU64>,
    lookup: Lookup,
) -> Result<Vec<Arc<tokio_postgres::Client>>, Error> {
    let id = match lookup {
        Lookup::Session => POSTGRES_ID,
        Lookup::Revocation => POSTGRES_ABSENT_ID,
    };
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(postgres_error(url))?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "CREATE TEMP TABLE authbench_ceiling (id TEXT COLLATE \"C\" PRIMARY KEY, \
                 username TEXT COLLATE \"C\" NOT NULL, created BIGINT NOT NULL, \
                 expires BIGINT NOT NULL, data TEXT NOT NULL); \
                 INSERT INTO authbench_ceiling VALUES ('{POSTGRES_ID}', 'user1', 0, {}, '{}')",
                i64::MAX,
                RECORD.trim()
            ))
            .await
            .map_err(postgres_error(url))?;
        let select = client
            .prepare(
                "SELECT username, created, expires, data FROM authbench_ceiling \
                 WHERE id = $1 AND expires > $2",
            )
            .await
            .map_err(postgres_error(url))?;
        let client = Arc::new(client);
        clients.push(client.clone());
        for _ in 0..IN_FLIGHT {
            let (client, select, done) = (client.clone(), select.clone(), done.clone());
            workers.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    client.query_opt(&select, &[&id, &0_i64]).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, tokio_postgres::Error>(())
            }));
        }
    }
    for worker in workers {
        worker
            .await
            .map_err(|error| Error::Postgres {
                url: redact(url),
                what: "the ceiling",
                source: Cause::of(&error),
            })?
            .map_err(postgres_error(url))?;
    }
    Ok(clients)
}
