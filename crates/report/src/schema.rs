//! The JSON Schema of report.json, generated from [`crate::model`]. The committed copy in
//! `schema/report.schema.json` lets other tools validate files without this crate; a test keeps
//! it equal to what the types generate.

use crate::model::Report;

/// Where the committed schema lives, relative to this crate.
pub const COMMITTED_PATH: &str = "schema/report.schema.json";

/// The schema as pretty JSON, ending in a newline.
pub fn generate() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The committed schema, embedded at build time.
pub fn committed() -> &'static str {
    include_str!("../schema/report.schema.json")
}
