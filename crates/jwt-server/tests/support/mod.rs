//! Helpers shared by this crate's integration tests.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod forge;
