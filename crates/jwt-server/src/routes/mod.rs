//! The HTTP surface of DESIGN.md, one file per group of routes.

pub mod account;
pub mod health;
pub mod login;
pub mod sessions;
