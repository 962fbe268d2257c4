//! The Redis Cluster backend: the same record values as on one Redis node, laid out so that a
//! lookup by id is one command to one node and everything about one user lives in one slot.
//!
//! Key layout (`hex` is the user name in lower-case hex, so that no user name can break a hash
//! tag's braces):
//! - `{namespace}:r:{id}` → the record, as on one node: the id alone picks its slot, so the
//!   records spread over every shard and a load (`GET`) goes to exactly one node;
//! - `{namespace}:u:{hex}` → sorted set of the user's ids scored by `created`, and
//!   `{namespace}:e:{hex}` → hash of the same ids to their `expires`: one hash tag, so one
//!   slot, so one script keeps the user's index and enforces the cap atomically. The index
//!   carries the expiry because it can no longer ask the record keys, which live elsewhere.
//!
//! Which operations touch one node, and which several:
//! - `load`, `replace_data`: the record's node, one command;
//! - `create`: the record's node (write, returning the old value), then the user's node (index
//!   and cap), then the nodes of any evicted records; a replaced record of another user also
//!   leaves that user's index;
//! - `touch`, `delete`: the record's node, then the user's node;
//! - `count_user`: the user's node; `list_user`, `delete_user`: the user's node, then one
//!   `MGET`/`DEL` that the client splits by slot;
//! - `count_live`, `count_stored`, `ping`: every master.
//!
//! The record and its index are written by separate commands, so between them a reader may
//! see one without the other for a moment: an evicted record can still be loaded until its
//! `DEL` lands, which the create that evicted it sends before it returns. Creates for one user
//! that race are still capped: the cap is enforced by the one script on the user's slot.

use std::num::NonZeroU32;
use std::sync::LazyLock;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{FromRedisValue, Script};

use authbench_contract::redis_cluster::{Master, masters};

use crate::backend::{Backend, Options};
use crate::error::{Error, cause};
use crate::record::{Record, now_millis};
use crate::redis_value::{self, EXTEND_INDEX, decode, encode, script_outcome};

/// The live ids of a user's index among the oldest `last + 1` (all for -1), oldest first;
/// drops the members whose expiry has passed.
const LIVE_IDS: &str = r"
local function live_ids(order, expiry, now, last)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', order, 0, last)) do
    local expires = tonumber(redis.call('HGET', expiry, id))
    if expires and expires > now then
      live[#live + 1] = id
    else
      redis.call('ZREM', order, id)
      redis.call('HDEL', expiry, id)
    end
  end
  return live
end
";

/// KEYS: record. ARGV: value, expires. Writes the record and returns the value it replaced
/// (nil if none, or if it was not a string: a key of another type is simply overwritten).
static PUT_RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local old = redis.pcall('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
if type(old) == 'string' then return old end
return false",
    )
});

/// KEYS: order, expiry. ARGV: id, created, expires, cap (0: none), now. Adds the id to the
/// user's index and returns the ids the cap evicted, whose records the caller deletes.
static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND_INDEX}{LIVE_IDS}
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local cap, now, evicted = tonumber(ARGV[4]), tonumber(ARGV[5]), {{}}
if cap > 0 then
  local live = live_ids(KEYS[1], KEYS[2], now, -1)
  for i = 1, #live - cap do
    redis.call('ZREM', KEYS[1], live[i])
    redis.call('HDEL', KEYS[2], live[i])
    evicted[#evicted + 1] = live[i]
  end
else
  -- Uncapped, a user may hold thousands of records: prune a few of the oldest per create.
  live_ids(KEYS[1], KEYS[2], now, 15)
end
extend(KEYS[1], ARGV[3])
extend(KEYS[2], ARGV[3])
return evicted"
    ))
});

/// KEYS: record. ARGV: expires. As the one-node touch, without the index (another slot).
static TOUCH_RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local created, rest = string.match(value, '^(%-?%d+) %-?%d+ (.*)$')
if not created then return -1 end
redis.call('SET', KEYS[1], created .. ' ' .. ARGV[1] .. ' ' .. rest, 'XX', 'PXAT', ARGV[1])
return 1",
    )
});

/// KEYS: order, expiry. ARGV: id, expires. Carries a touch into the index, if the id is there.
static INDEX_TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND_INDEX}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  extend(KEYS[1], ARGV[2])
  extend(KEYS[2], ARGV[2])
end
return 1"
    ))
});

/// KEYS: order, expiry. ARGV: now. The user's live ids, oldest first.
static INDEX_LIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LIVE_IDS}\nreturn live_ids(KEYS[1], KEYS[2], tonumber(ARGV[1]), -1)"
    ))
});

/// KEYS: order, expiry. Deletes the user's index; returns every id it held.
static INDEX_DROP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2])
return ids",
    )
});

/// Records created at once by [`Backend::create_many`]: the cluster connection pipelines
/// concurrent commands to each node, one round trip for many.
const BULK_CONCURRENCY: usize = 512;

/// Keys examined per `SCAN` call on each master.
const SCAN_BATCH: u32 = 10_000;

pub struct RedisClusterBackend {
    connection: ClusterConnection,
    namespace_prefix: String,
    record_prefix: String,
    order_prefix: String,
    expiry_prefix: String,
}

impl std::fmt::Debug for RedisClusterBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClusterBackend")
            .field("record_prefix", &self.record_prefix)
            .finish()
    }
}

/// The two keys of a user's index, in the order the index scripts take them.
type IndexKeys = (String, String);

impl RedisClusterBackend {
    /// `nodes`: `redis://` URLs of any of the cluster's nodes; the client learns the rest.
    pub async fn open(nodes: &[String], options: &Options) -> Result<Self, Error> {
        let client = ClusterClientBuilder::new(nodes.to_vec())
            .connection_timeout(options.op_timeout)
            // A redirect (MOVED, ASK) counts as a retry: two let a request follow a slot that
            // moved. While a node is down, requests to its slots fail at once after them.
            .retries(2)
            .min_retry_wait(5)
            .max_retry_wait(50)
            .build()
            .map_err(|error| Error::Open(cause(&error)))?;
        let connection = client.get_async_connection().await?;
        let namespace = options.namespace.name();
        Ok(RedisClusterBackend {
            connection,
            namespace_prefix: format!("{namespace}:"),
            record_prefix: format!("{namespace}:r:"),
            order_prefix: format!("{namespace}:u:"),
            expiry_prefix: format!("{namespace}:e:"),
        })
    }

    fn record_key(&self, id: &str) -> String {
        let mut key = String::with_capacity(self.record_prefix.len() + id.len());
        key.push_str(&self.record_prefix);
        key.push_str(id);
        key
    }

    fn index_keys(&self, user: &str) -> IndexKeys {
        let tag = hex(user);
        (
            format!("{}{{{tag}}}", self.order_prefix),
            format!("{}{{{tag}}}", self.expiry_prefix),
        )
    }

    /// Removes `id` from `user`'s index (a record deleted, or replaced by another user's).
    async fn unlink(&self, user: &str, id: &str) -> Result<(), Error> {
        let (order, expiry) = self.index_keys(user);
        let () = redis::pipe()
            .cmd("ZREM")
            .arg(order)
            .arg(id)
            .ignore()
            .cmd("HDEL")
            .arg(expiry)
            .arg(id)
            .ignore()
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// Deletes record keys of several slots at once; how many were there.
    async fn delete_records(&self, ids: &[String]) -> Result<u64, Error> {
        if ids.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = ids.iter().map(|id| self.record_key(id)).collect();
        Ok(redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut self.connection.clone())
            .await?)
    }

    /// Every master, failing ones included, from the cluster's own view of itself.
    async fn masters(&self) -> Result<Vec<Master>, Error> {
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(masters(&nodes))
    }

    /// Keys matching `pattern` on every master, by `SCAN`.
    async fn scan_count(&self, pattern: &str) -> Result<u64, Error> {
        let mut total = 0;
        for Master { host, port, .. } in self.masters().await? {
            let mut cursor = 0u64;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(SCAN_BATCH);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port,
                });
                let reply = self.connection.clone().route_command(scan, routing).await?;
                let (next, keys): (u64, Vec<redis::Value>) =
                    FromRedisValue::from_redis_value(reply).map_err(redis::RedisError::from)?;
                total += keys.len() as u64;
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(total)
    }
}

/// `user` as lower-case hex: safe inside a hash tag whatever bytes it holds.
fn hex(user: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(user.len() * 2);
    for byte in user.bytes() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

impl Backend for RedisClusterBackend {
    async fn create(&self, record: &Record, max_per_user: Option<NonZeroU32>) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let old: Option<Vec<u8>> = PUT_RECORD
            .key(self.record_key(&record.id))
            .arg(encode(record))
            .arg(record.expires)
            .invoke_async(&mut connection)
            .await?;
        // A foreign value has no user whose index could list it.
        let old_user = old.and_then(|old| decode(&record.id, old).ok().map(|old| old.user));
        if let Some(old_user) = old_user.filter(|old_user| *old_user != record.user) {
            self.unlink(&old_user, &record.id).await?;
        }
        let cap = max_per_user.map_or(0, NonZeroU32::get);
        let evicted: Vec<String> = INDEX_ADD
            .key(self.index_keys(&record.user))
            .arg(&*record.id)
            .arg(record.created)
            .arg(record.expires)
            .arg(cap)
            .arg(now_millis())
            .invoke_async(&mut connection)
            .await?;
        self.delete_records(&evicted).await?;
        Ok(())
    }

    async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        let mut pending = FuturesUnordered::new();
        for record in records {
            if pending.len() >= BULK_CONCURRENCY
                && let Some(created) = pending.next().await
            {
                created?;
            }
            pending.push(self.create(record, None));
        }
        while let Some(created) = pending.next().await {
            created?;
        }
        Ok(records.len() as u64)
    }

    async fn count_live(&self) -> Result<u64, Error> {
        // Redis expires keys itself, so every record key it returns is live.
        self.scan_count(&format!("{}*", self.record_prefix)).await
    }

    async fn count_stored(&self) -> Result<u64, Error> {
        self.scan_count(&format!("{}*", self.namespace_prefix))
            .await
    }

    async fn load(&self, id: &str) -> Result<Option<Record>, Error> {
        redis_value::load_live(&mut self.connection.clone(), self.record_key(id), id).await
    }

    async fn touch(&self, record: &Record) -> Result<bool, Error> {
        if record.expires <= now_millis() {
            return Ok(false);
        }
        let mut connection = self.connection.clone();
        let touched: i64 = TOUCH_RECORD
            .key(self.record_key(&record.id))
            .arg(record.expires)
            .invoke_async(&mut connection)
            .await?;
        if !script_outcome(touched, &record.id)? {
            return Ok(false);
        }
        let _: i64 = INDEX_TOUCH
            .key(self.index_keys(&record.user))
            .arg(&*record.id)
            .arg(record.expires)
            .invoke_async(&mut connection)
            .await?;
        Ok(true)
    }

    async fn replace_data(&self, id: &str, expected: &str, new: &str) -> Result<bool, Error> {
        let mut connection = self.connection.clone();
        redis_value::replace_data(&mut connection, self.record_key(id), id, (expected, new)).await
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let key = self.record_key(id);
        let mut connection = self.connection.clone();
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        let Some(value) = value else { return Ok(false) };
        let user = decode(id, value)?.user;
        let deleted: u64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        self.unlink(&user, id).await?;
        Ok(deleted > 0)
    }

    async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        let mut connection = self.connection.clone();
        let ids: Vec<String> = INDEX_LIVE
            .key(self.index_keys(user))
            .arg(now_millis())
            .invoke_async(&mut connection)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.record_key(id)).collect();
        // MGET over several slots: the client splits it per node and answers in key order.
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut connection)
            .await?;
        let now = now_millis();
        let mut records = Vec::with_capacity(ids.len());
        for (id, value) in ids.iter().zip(values) {
            // Gone since the index was read: expired or deleted, so not listed.
            let Some(value) = value else { continue };
            let record = decode(id, value)?;
            if record.is_live(now) && *record.user == *user {
                records.push(record);
            }
        }
        Ok(records)
    }

    async fn count_user(&self, user: &str) -> Result<u64, Error> {
        let ids: Vec<redis::Value> = INDEX_LIVE
            .key(self.index_keys(user))
            .arg(now_millis())
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(ids.len() as u64)
    }

    async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        let ids: Vec<String> = INDEX_DROP
            .key(self.index_keys(user))
            .invoke_async(&mut self.connection.clone())
            .await?;
        self.delete_records(&ids).await
    }

    async fn purge_expired(&self) -> Result<u64, Error> {
        // Redis expires record keys, and index keys, by itself.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), Error> {
        // Every master by address, not the client's own fan-out, which skips a node it has
        // lost: the store answers only if every shard does.
        for Master { host, port, .. } in self.masters().await? {
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
            self.connection
                .clone()
                .route_command(redis::cmd("PING"), routing)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_tags_are_hex_so_braces_in_names_cannot_split_a_user() {
        assert_eq!(hex("a{b}"), "617b627d");
        assert_eq!(hex(""), "");
    }
}
