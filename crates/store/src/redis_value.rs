//! What the Redis backends share: a record's value format, its decoding, and the Lua pieces that
//! work on one record or one index key (so they run the same on one node and in a cluster).

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

use crate::error::Error;
use crate::record::{Record, now_millis};

/// Extends an index key's expiry to `exp` unless it already lasts longer. `GT` treats a key
/// without expiry as lasting forever, so a fresh index needs the plain form.
pub(crate) const EXTEND_INDEX: &str = r"
local function extend(index, exp)
  if redis.call('PEXPIREAT', index, exp, 'GT') == 0 and redis.call('PTTL', index) == -1 then
    redis.call('PEXPIREAT', index, exp)
  end
end
";

/// Splits a stored value into its header (`"{created} {expires} {user_len} "`), user and data;
/// nil where the value is not in this store's format.
pub(crate) const SPLIT: &str = r"
local function split(value)
  local _, head, user_len = string.find(value, '^%-?%d+ %-?%d+ (%d+) ')
  if not head then return nil end
  local user_end = head + tonumber(user_len)
  if user_end > #value then return nil end
  return string.sub(value, 1, head), string.sub(value, head + 1, user_end),
    string.sub(value, user_end + 1)
end
";

/// KEYS: record. ARGV: expected data, new data, now. Swaps the data of a live record whose data
/// equals the expected, keeping its expiry. Returns 1 if swapped, 0 if not, -1 if the stored
/// value is not ours. `now` keeps the contract when the clocks of Redis and the caller disagree.
pub(crate) static REPLACE_DATA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{SPLIT}
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local head, user, data = split(value)
if not head then return -1 end
local expires = tonumber(string.match(head, '^%-?%d+ (%-?%d+) '))
if expires <= tonumber(ARGV[3]) or data ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], head .. user .. ARGV[2], 'XX', 'KEEPTTL')
return 1"
    ))
});

/// `"{created} {expires} {user_len} {user}{data}"`: the user's length makes the split
/// unambiguous whatever bytes the user name and data hold.
pub(crate) fn encode(record: &Record) -> String {
    let mut value = String::with_capacity(48 + record.user.len() + record.data.len());
    use std::fmt::Write as _;
    let _ = write!(
        value,
        "{} {} {} ",
        record.created,
        record.expires,
        record.user.len()
    );
    value.push_str(&record.user);
    value.push_str(&record.data);
    value
}

pub(crate) fn decode(id: &str, value: Vec<u8>) -> Result<Record, Error> {
    let corrupt = || Error::Corrupt(format!("record {id:?} is not in this store's format"));
    let value = std::str::from_utf8(&value).map_err(|_| corrupt())?;
    let mut fields = value.splitn(4, ' ');
    let mut int = || {
        fields
            .next()
            .and_then(|field| field.parse::<i64>().ok())
            .ok_or_else(corrupt)
    };
    let (created, expires, user_len) = (int()?, int()?, int()?);
    let rest = fields.next().ok_or_else(corrupt)?;
    let user_len = usize::try_from(user_len).map_err(|_| corrupt())?;
    let user = rest.get(..user_len).ok_or_else(corrupt)?;
    let data = rest.get(user_len..).ok_or_else(corrupt)?;
    // Each field goes straight from the reply into its shared string: one copy, one
    // allocation each, on the path every authenticated request takes.
    Ok(Record {
        id: id.into(),
        user: user.into(),
        created,
        expires,
        data: data.into(),
    })
}

/// What a record script's answer means: 1 done, 0 not (gone, or not as expected), anything
/// else a value that is not in this store's format.
pub(crate) fn script_outcome(answer: i64, id: &str) -> Result<bool, Error> {
    match answer {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(Error::Corrupt(format!(
            "record {id:?} is not in this store's format"
        ))),
    }
}

/// The live record at `key` (id `id`), by one `GET`: the lookup every authenticated request
/// makes, the same on one node and in a cluster.
pub(crate) async fn load_live(
    connection: &mut (impl ConnectionLike + Send),
    key: String,
    id: &str,
) -> Result<Option<Record>, Error> {
    let value: Option<Vec<u8>> = redis::cmd("GET").arg(key).query_async(connection).await?;
    // Redis expires by its own clock; this keeps the contract when the clocks disagree.
    let now = now_millis();
    match value {
        Some(value) => Ok(Some(decode(id, value)?).filter(|record| record.is_live(now))),
        None => Ok(None),
    }
}

/// [`REPLACE_DATA`] on the record at `key` (id `id`): whether it swapped.
pub(crate) async fn replace_data(
    connection: &mut (impl ConnectionLike + Send),
    key: String,
    id: &str,
    (expected, new): (&str, &str),
) -> Result<bool, Error> {
    let replaced: i64 = REPLACE_DATA
        .key(key)
        .arg(expected)
        .arg(new)
        .arg(now_millis())
        .invoke_async(connection)
        .await?;
    script_outcome(replaced, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_separators_in_user_and_data() {
        let record = Record {
            id: "a b".into(),
            user: "x 3 y\n".into(),
            created: -5,
            expires: 1_700_000_000_000,
            data: " 12 z ".into(),
        };
        assert_eq!(decode("a b", encode(&record).into_bytes()).unwrap(), record);
    }

    #[test]
    fn foreign_values_are_corrupt_not_panics() {
        for value in [
            "",
            "1",
            "1 2",
            "1 2 3",
            "1 2 9 ab",
            "x 2 0 ",
            "1 2 -1 a",
            "1 2 1 \u{e9}",
        ] {
            assert!(
                matches!(decode("id", value.into()), Err(Error::Corrupt(_))),
                "{value:?}"
            );
        }
        assert!(matches!(
            decode("id", vec![0xff, 0xfe]),
            Err(Error::Corrupt(_))
        ));
    }
}
