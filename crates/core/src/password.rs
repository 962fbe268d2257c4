//! argon2id password hashing and verification.
//!
//! Verification runs on the blocking pool, never on the async workers (one check costs tens of
//! milliseconds of CPU), and at most one check per core runs at once: each holds ~19 MiB, so an
//! unbounded login storm would otherwise exhaust memory before it exhausted CPU.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Why hashing or checking a password failed. Never carries the password or the hash.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("argon2 parameters out of range: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password check was cancelled")]
    Cancelled,
}

/// argon2id cost parameters. The default is OWASP's first recommendation: 19 MiB, two passes,
/// one lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Cost {
    fn default() -> Self {
        Cost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Cost {
    fn argon2(self) -> Result<Argon2<'static>, Error> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| Error::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes and checks passwords with one set of parameters.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    /// Verified against when the user does not exist, so unknown users and wrong passwords take
    /// the same time (no user enumeration by timing).
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("permits", &self.permits.available_permits())
            .finish()
    }
}

impl Passwords {
    pub fn new(cost: Cost) -> Result<Passwords, Error> {
        let argon2 = cost.argon2()?;
        let mut random = [0u8; 32];
        getrandom_fill(&mut random);
        let dummy_hash = hash_with(&argon2, &random)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Passwords {
            argon2,
            dummy_hash: dummy_hash.into(),
            permits: Arc::new(Semaphore::new(cores)),
        })
    }

    /// A PHC-format argon2id hash of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, Error> {
        hash_with(&self.argon2, password.as_bytes())
    }

    /// Whether `password` matches `stored`. With `stored = None` (no such user) it still runs a
    /// full check against a dummy hash and answers `false`, in the same time as a wrong password.
    /// The comparison of digests is constant-time (argon2's `PasswordVerifier`).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Error> {
        let _permit = self.permits.acquire().await.map_err(|_| Error::Cancelled)?;
        let argon2 = self.argon2.clone();
        let dummy = Arc::clone(&self.dummy_hash);
        tokio::task::spawn_blocking(move || {
            let user_exists = stored.is_some();
            let stored = stored.as_deref().unwrap_or(&dummy);
            // A hash that doesn't parse is treated like a wrong password, after the same work.
            let matches = match PasswordHash::new(stored) {
                Ok(parsed) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(_) => {
                    let parsed = PasswordHash::new(&dummy).ok();
                    if let Some(parsed) = parsed {
                        let _ = argon2.verify_password(password.as_bytes(), &parsed);
                    }
                    false
                }
            };
            user_exists && matches
        })
        .await
        .map_err(|_| Error::Cancelled)
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &[u8]) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

fn getrandom_fill(buf: &mut [u8]) {
    use argon2::password_hash::rand_core::RngCore;
    OsRng.fill_bytes(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn right_password_verifies_and_wrong_one_does_not() {
        let passwords = cheap();
        let hash = passwords.hash("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(
            passwords
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_user_and_garbage_hash_never_verify() {
        let passwords = cheap();
        assert!(!passwords.verify("anything".into(), None).await.unwrap());
        assert!(
            !passwords
                .verify("anything".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn default_cost_is_owasp() {
        assert_eq!(
            Cost::default(),
            Cost {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn debug_output_holds_no_hash() {
        let shown = format!("{:?}", cheap());
        assert!(!shown.contains("argon2"), "{shown}");
    }
}
