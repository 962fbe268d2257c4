//! Synthetic live records for a population load: the records a namespace's servers write for
//! users who are logged in but not sending requests, loaded straight into the store before a
//! measurement. Shaped like the servers' own (ids as long as theirs, data of a typical size), so
//! that the store's memory per record is a login's; numbered, so that a load can be topped up
//! from where the last one stopped.

use crate::record::{Namespace, Record, UnixMillis};

/// Prefix of every synthetic user name; no seeded account (`userN`) starts with it, so no
/// request of a run ever finds one of these records.
pub const USER_PREFIX: &str = "population-";

/// A session's `data` is the browser's user agent; this one is a common desktop browser's.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/131.0.0.0 Safari/537.36";

/// Record number `n` of a population in `namespace`, live from `now` until `expires`.
pub fn record(namespace: Namespace, n: u64, now: UnixMillis, expires: UnixMillis) -> Record {
    let user = format!("{USER_PREFIX}{n}");
    // 22 characters, as the servers' 128-bit base64url session ids, family ids and jtis.
    let id = format!("p{n:021}");
    let (id, data) = match namespace {
        Namespace::Sessions => (id, USER_AGENT.to_owned()),
        // The SHA-256 of the family's current secret, base64url: 43 characters.
        Namespace::RefreshFamilies => (id, format!("{n:043}")),
        Namespace::Denylist => (id, String::new()),
        // The token's SHA-256 as the id (43 characters); the data its refresh family's id.
        Namespace::AccessTokens => (format!("{n:043}"), format!("p{n:021}")),
        // Keyed by user; the data is the cutoff time.
        Namespace::Cutoffs => (user.clone(), now.to_string()),
    };
    Record {
        id: id.into(),
        user: user.into(),
        created: now,
        expires,
        data: data.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_numbered_distinct_and_shaped_like_the_servers() {
        let one = record(Namespace::Sessions, 7, 1_000, 2_000);
        let other = record(Namespace::Sessions, 8, 1_000, 2_000);
        assert_ne!(one.id, other.id);
        assert_eq!(one.id.len(), 22);
        assert!(one.user.starts_with(USER_PREFIX));
        assert!(one.is_live(1_500));
        assert_eq!(record(Namespace::RefreshFamilies, 7, 0, 1).data.len(), 43);
        let cutoff = record(Namespace::Cutoffs, 7, 1_000, 2_000);
        assert_eq!((&*cutoff.id, &*cutoff.data), ("population-7", "1000"));
    }
}
