//! The deterministic accounts `authbench seed` creates, so a load generator can log in as any of
//! them without reading main_DB.
//!
//! User `n` (1-based) is `user{n}` with password `pass-{n mod 64}` and a balance of
//! `10_000 + (n * 7_919) mod 990_000` cents. Only 64 distinct passwords exist, so seeding hashes
//! 64 passwords (in parallel, with rayon) rather than one per user: 10,000 users seed in about a
//! second instead of minutes. Users sharing a password share its hash (and salt); acceptable for
//! throwaway benchmark accounts, never for real ones.

use std::num::NonZeroU32;

use rayon::prelude::*;

use crate::maindb::{self, MainDb, NewAccount};
use crate::password::{self, Passwords};

/// How many distinct passwords the seeded users share.
pub const DISTINCT_PASSWORDS: u32 = 64;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Password(#[from] password::Error),
    #[error(transparent)]
    MainDb(#[from] maindb::Error),
}

/// The user name of seeded user `n` (1-based).
pub fn username(n: u32) -> String {
    format!("user{n}")
}

/// The password of seeded user `n`.
pub fn password(n: u32) -> String {
    format!("pass-{}", n % DISTINCT_PASSWORDS)
}

/// The balance of seeded user `n`, in cents.
pub fn balance_cents(n: u32) -> i64 {
    10_000 + (i64::from(n) * 7_919) % 990_000
}

/// What a seed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub users: u32,
    pub distinct_hashes: u32,
}

/// Creates (or resets) users 1..=`users` in main_DB.
pub async fn seed(db: &MainDb, passwords: &Passwords, users: NonZeroU32) -> Result<Seeded, Error> {
    let users = users.get();
    // The password indices in use: all of them once there are at least 64 users.
    let in_use: Vec<u32> = if users >= DISTINCT_PASSWORDS {
        (0..DISTINCT_PASSWORDS).collect()
    } else {
        (1..=users).collect()
    };
    let hasher = passwords.clone();
    // Argon2 is CPU-bound: hash on rayon's pool, off the async workers.
    let hashed: Vec<(u32, String)> = tokio::task::spawn_blocking(move || {
        in_use
            .into_par_iter()
            .map(|i| hasher.hash(&format!("pass-{i}")).map(|hash| (i, hash)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|_| password::Error::Cancelled)??;
    let distinct_hashes = u32::try_from(hashed.len()).unwrap_or(u32::MAX);
    let mut by_index = vec![String::new(); DISTINCT_PASSWORDS as usize];
    for (i, hash) in hashed {
        by_index[i as usize] = hash;
    }

    let names: Vec<String> = (1..=users).map(username).collect();
    let accounts: Vec<NewAccount<'_>> = (1..=users)
        .zip(&names)
        .map(|(n, name)| NewAccount {
            username: name,
            password_hash: &by_index[(n % DISTINCT_PASSWORDS) as usize],
            balance_cents: balance_cents(n),
        })
        .collect();
    db.upsert_accounts(&accounts).await?;
    Ok(Seeded {
        users,
        distinct_hashes,
    })
}

/// An in-memory main_DB seeded with `users` accounts at a negligible argon2 cost, for unit tests.
#[cfg(test)]
pub(crate) async fn seeded_test_db(users: u32) -> (MainDb, Passwords) {
    let db = MainDb::connect("sqlite::memory:", std::time::Duration::from_secs(5))
        .await
        .expect("in-memory main_DB");
    let cheap = password::Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let passwords = Passwords::new(cheap).expect("argon2 params");
    let users = NonZeroU32::new(users).expect("at least one user");
    seed(&db, &passwords, users).await.expect("seed");
    (db, passwords)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_scheme_is_stable() {
        assert_eq!(username(1), "user1");
        assert_eq!(password(1), "pass-1");
        assert_eq!(password(64), "pass-0");
        assert_eq!(password(130), "pass-2");
        assert_eq!(balance_cents(1), 17_919);
    }

    #[tokio::test]
    async fn seeded_users_log_in_with_the_documented_passwords() {
        let (db, passwords) = seeded_test_db(200).await;
        assert_eq!(db.count_accounts().await.unwrap(), 200);
        for n in [1, 64, 65, 200] {
            let hash = db.password_hash(&username(n)).await.unwrap();
            assert!(
                passwords.verify(password(n), hash.clone()).await.unwrap(),
                "user{n}"
            );
            assert!(
                !passwords.verify(password(n + 1), hash).await.unwrap(),
                "user{n} wrong pw"
            );
            assert_eq!(
                db.balance_cents(&username(n)).await.unwrap(),
                Some(balance_cents(n))
            );
        }
        // Seeding again resets rather than duplicating, with one hash per distinct password.
        let again = seed(&db, &passwords, NonZeroU32::new(200).unwrap())
            .await
            .unwrap();
        assert_eq!(
            again,
            Seeded {
                users: 200,
                distinct_hashes: 64
            }
        );
        assert_eq!(db.count_accounts().await.unwrap(), 200);
    }

    #[tokio::test]
    async fn fewer_users_than_passwords_hash_only_the_passwords_in_use() {
        let (db, passwords) = seeded_test_db(1).await;
        let seeded = seed(&db, &passwords, NonZeroU32::new(3).unwrap())
            .await
            .unwrap();
        assert_eq!(
            seeded,
            Seeded {
                users: 3,
                distinct_hashes: 3
            }
        );
        let hash = db.password_hash("user3").await.unwrap();
        assert!(passwords.verify(password(3), hash).await.unwrap());
    }
}
