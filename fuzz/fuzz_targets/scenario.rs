//! Scenario files: TOML syntax, every key's validation, `${VAR}` expansion in URLs.
//!
//! Property: parsing never panics, and a scenario that parses round-trips: the same document
//! written out again by the TOML library (other spacing, quoting, key order and table style)
//! validates into an equal `Scenario`, so validation depends on the values alone.
#![no_main]

use std::path::Path;

use authbench_loadgen::scenario::parse_with_lookup;
use libfuzzer_sys::fuzz_target;

fn lookup(name: &str) -> Option<String> {
    match name {
        "HOST" => Some("127.0.0.1".into()),
        "PORT" => Some("6379".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/scenario.toml");
    let Ok(scenario) = parse_with_lookup(path, text, &lookup) else {
        return;
    };
    let table: toml::Table = toml::from_str(text).expect("a valid scenario is a TOML table");
    let rewritten = toml::to_string(&table).expect("a TOML table writes out");
    let mut again = parse_with_lookup(path, &rewritten, &lookup)
        .unwrap_or_else(|error| panic!("the rewritten scenario is refused: {error}\n{rewritten}"));
    // The scenario keeps its file's text, for the report: the one field that must differ.
    again.source.clone_from(&scenario.source);
    assert_eq!(
        scenario, again,
        "the rewritten scenario differs\n{rewritten}"
    );
});
