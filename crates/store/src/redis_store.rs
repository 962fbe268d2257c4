//! The Redis backend: one multiplexed connection that reconnects by itself; each record a
//! string key that Redis expires, each user's records a sorted set of ids by creation time.
//!
//! Key layout (keys and user names are arbitrary bytes; Redis and Lua are binary-safe):
//! - `{namespace}:r:{id}` → `"{created} {expires} {user_len} {user}{data}"`, expiring at `expires`;
//! - `{namespace}:u:{user}` → sorted set of ids scored by `created`, expiring with the user's
//!   longest-lived record. Members whose record has expired are pruned lazily by the scripts.
//!
//! Needs Redis 7.0 or later (`PEXPIREAT ... GT`).

use std::num::NonZeroU32;
use std::sync::LazyLock;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use crate::backend::{Backend, Options};
use crate::error::{Error, cause};
use crate::record::{Record, now_millis};
use crate::redis_value::{self, EXTEND_INDEX, SPLIT, decode, encode, script_outcome};

/// Drops index members whose record is gone among the oldest `last + 1` (all for -1);
/// returns the live ones, oldest first.
const LIVE_MEMBERS: &str = r"
local function live_members(index, prefix, last)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, last)) do
    if redis.call('EXISTS', prefix .. id) == 1 then
      live[#live + 1] = id
    else
      redis.call('ZREM', index, id)
    end
  end
  return live
end
";

/// KEYS: record, index. ARGV: value, expires, created, id, cap (0: none), record key prefix,
/// index key prefix, user. One script, so that the write and the eviction are atomic even when
/// creates race.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND_INDEX}{LIVE_MEMBERS}{SPLIT}
-- A replaced record that belonged to another user must leave that user's index, or it would
-- be listed there (the index holds ids, and the id now names a live record). pcall: a key of
-- another type is simply overwritten, as SET alone would.
local old = redis.pcall('GET', KEYS[1])
if type(old) == 'string' then
  local _, old_user = split(old)
  if old_user and old_user ~= ARGV[8] then
    redis.call('ZREM', ARGV[7] .. old_user, ARGV[4])
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local cap = tonumber(ARGV[5])
if cap > 0 then
  local live = live_members(KEYS[2], ARGV[6], -1)
  for i = 1, #live - cap do
    redis.call('DEL', ARGV[6] .. live[i])
    redis.call('ZREM', KEYS[2], live[i])
  end
else
  -- Uncapped, a user may hold thousands of records: prune a few of the oldest per create,
  -- which keeps dead members from piling up without scanning the whole index every time.
  live_members(KEYS[2], ARGV[6], 15)
end
extend(KEYS[2], ARGV[2])
return 1"
    ))
});

/// KEYS: record, index. ARGV: expires. Rewrites only the expiry field of a live record, so
/// that a touch can never change anything else. Returns 1 if touched, 0 if gone, -1 if the
/// stored value is not ours.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND_INDEX}
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local created, rest = string.match(value, '^(%-?%d+) %-?%d+ (.*)$')
if not created then return -1 end
redis.call('SET', KEYS[1], created .. ' ' .. ARGV[1] .. ' ' .. rest, 'XX', 'PXAT', ARGV[1])
extend(KEYS[2], ARGV[1])
return 1"
    ))
});

/// KEYS: index. ARGV: record key prefix. Returns `[id, value, id, value, ...]`, oldest first.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LIVE_MEMBERS}
local out = {{}}
for _, id in ipairs(live_members(KEYS[1], ARGV[1], -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[1] .. id)
end
return out"
    ))
});

/// KEYS: index. ARGV: record key prefix.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LIVE_MEMBERS}\nreturn #live_members(KEYS[1], ARGV[1], -1)"
    ))
});

/// KEYS: index. ARGV: record key prefix. Returns how many records were still there.
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local deleted = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  deleted = deleted + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return deleted",
    )
});

pub struct RedisBackend {
    connection: ConnectionManager,
    /// `{namespace}:`, which every key of the namespace starts with.
    namespace_prefix: String,
    record_prefix: String,
    index_prefix: String,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("record_prefix", &self.record_prefix)
            .finish()
    }
}

impl RedisBackend {
    pub async fn open(url: &str, options: &Options) -> Result<Self, Error> {
        let client = Client::open(url).map_err(|error| Error::Open(cause(&error)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.op_timeout))
            // `Store` bounds every operation with its watchdog; a second timer per command
            // here would only add cost.
            .set_response_timeout(None)
            // No retries inside the manager: while Redis is down every operation should fail at
            // once (a 503), and the next operation after a failure starts a fresh attempt, so a
            // restarted Redis is picked up on the first request after it is back.
            .set_number_of_retries(0)
            // The default of 50 queued commands makes callers wait under a burst of concurrent
            // requests on the one connection.
            .set_pipeline_buffer_size(1024);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        let namespace = options.namespace.name();
        Ok(RedisBackend {
            connection,
            namespace_prefix: format!("{namespace}:"),
            record_prefix: format!("{namespace}:r:"),
            index_prefix: format!("{namespace}:u:"),
        })
    }

    /// Keys matching `pattern`, by `SCAN`, not `KEYS`: the server keeps answering other clients
    /// between batches.
    async fn scan_count(&self, pattern: &str) -> Result<u64, Error> {
        let mut connection = self.connection.clone();
        let (mut cursor, mut count) = (0u64, 0u64);
        loop {
            let (next, keys): (u64, Vec<redis::Value>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH)
                .query_async(&mut connection)
                .await?;
            count += keys.len() as u64;
            if next == 0 {
                return Ok(count);
            }
            cursor = next;
        }
    }

    fn record_key(&self, id: &str) -> String {
        let mut key = String::with_capacity(self.record_prefix.len() + id.len());
        key.push_str(&self.record_prefix);
        key.push_str(id);
        key
    }

    /// The keys of [`CREATE`], in its order.
    fn create_keys(&self, record: &Record) -> (String, String) {
        (self.record_key(&record.id), self.index_key(&record.user))
    }

    /// The arguments of [`CREATE`], in its order; `cap` 0 for none.
    #[allow(clippy::type_complexity)]
    fn create_args<'a>(
        &'a self,
        record: &'a Record,
        cap: u32,
    ) -> (String, i64, i64, &'a str, u32, &'a str, &'a str, &'a str) {
        (
            encode(record),
            record.expires,
            record.created,
            &record.id,
            cap,
            &self.record_prefix,
            &self.index_prefix,
            &record.user,
        )
    }

    fn index_key(&self, user: &str) -> String {
        let mut key = String::with_capacity(self.index_prefix.len() + user.len());
        key.push_str(&self.index_prefix);
        key.push_str(user);
        key
    }
}

/// Records per pipeline in [`Backend::create_many`].
const BULK_PIPELINE: usize = 1_000;

/// Keys examined per `SCAN` call in [`Backend::count_live`].
const SCAN_BATCH: u32 = 10_000;

impl Backend for RedisBackend {
    async fn create(&self, record: &Record, max_per_user: Option<NonZeroU32>) -> Result<(), Error> {
        let cap = max_per_user.map_or(0, NonZeroU32::get);
        let _: i64 = CREATE
            .key(self.create_keys(record))
            .arg(self.create_args(record, cap))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    async fn create_many(&self, records: &[Record]) -> Result<u64, Error> {
        // The create script itself, so the layout is exactly a login's, sent as pipelines of
        // EVALSHA: one round trip per thousand records instead of one per record.
        let mut connection = self.connection.clone();
        let hash = CREATE.load_async(&mut connection).await?;
        for chunk in records.chunks(BULK_PIPELINE) {
            let mut pipeline = redis::pipe();
            for record in chunk {
                pipeline
                    .cmd("EVALSHA")
                    .arg(&hash)
                    .arg(2)
                    .arg(self.create_keys(record))
                    .arg(self.create_args(record, 0))
                    .ignore();
            }
            let () = pipeline.query_async(&mut connection).await?;
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
            // PXAT in the past would delete the record: a touch only ever extends a live one.
            return Ok(false);
        }
        let touched: i64 = TOUCH
            .key(self.record_key(&record.id))
            .key(self.index_key(&record.user))
            .arg(record.expires)
            .invoke_async(&mut self.connection.clone())
            .await?;
        script_outcome(touched, &record.id)
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
        let (deleted, _): (u64, u64) = redis::pipe()
            .cmd("DEL")
            .arg(&key)
            .cmd("ZREM")
            .arg(self.index_key(&user))
            .arg(id)
            .query_async(&mut connection)
            .await?;
        Ok(deleted > 0)
    }

    async fn list_user(&self, user: &str) -> Result<Vec<Record>, Error> {
        let flat: Vec<Option<Vec<u8>>> = LIST
            .key(self.index_key(user))
            .arg(&self.record_prefix)
            .invoke_async(&mut self.connection.clone())
            .await?;
        let now = now_millis();
        let mut records = Vec::with_capacity(flat.len() / 2);
        let mut pairs = flat.into_iter();
        while let (Some(id), Some(value)) = (pairs.next(), pairs.next()) {
            let Some(id) = id.and_then(|id| String::from_utf8(id).ok()) else {
                return Err(Error::Corrupt(format!(
                    "index of user {user:?} is malformed"
                )));
            };
            // Gone between the script's EXISTS and GET: expired, so not listed.
            let Some(value) = value else { continue };
            let record = decode(&id, value)?;
            if record.is_live(now) {
                records.push(record);
            }
        }
        Ok(records)
    }

    async fn count_user(&self, user: &str) -> Result<u64, Error> {
        Ok(COUNT
            .key(self.index_key(user))
            .arg(&self.record_prefix)
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn delete_user(&self, user: &str) -> Result<u64, Error> {
        Ok(DELETE_USER
            .key(self.index_key(user))
            .arg(&self.record_prefix)
            .invoke_async(&mut self.connection.clone())
            .await?)
    }

    async fn purge_expired(&self) -> Result<u64, Error> {
        // Redis expires record keys, and index keys, by itself.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), Error> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}
