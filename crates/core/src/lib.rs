//! authbench-core: main_DB (accounts, argon2id passwords, balances) and the HTTP plumbing both
//! servers share.
//!
//! # Layout
//!
//! - [`account`]: the login check and the balance answer both servers share.
//! - [`balances`]: where `GET /user/balance` reads from (main_DB, or an in-process copy).
//! - [`deadline`]: one timer that bounds many operations in time (store calls, requests).
//! - [`ids`]: unguessable base64url ids from the OS CSPRNG.
//! - [`maindb`]: the accounts table on SQLite or Postgres, with embedded migrations.
//! - [`latency`]: a lock-free duration histogram for `/metrics`.
//! - [`password`]: argon2id hashing and constant-time verification off the async workers.
//! - [`seed`]: the deterministic seeded accounts (user names, passwords, balances).
//! - [`http`]: JSON errors, limits, timeouts, metrics, `/healthz` bodies and the serve loop.
//! - [`server`]: the options and start-up parts both servers share.
//! - [`time`]: times as the HTTP answers show them.

pub mod account;
pub mod balances;
pub mod deadline;
pub mod http;
pub mod ids;
pub mod latency;
pub mod maindb;
pub mod password;
pub mod seed;
pub mod server;
pub mod time;
