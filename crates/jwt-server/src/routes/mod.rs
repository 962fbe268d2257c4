//! The server's HTTP surface, one file per group of routes.

pub mod account;
pub mod health;
pub mod introspect;
pub mod login;
pub mod sessions;
