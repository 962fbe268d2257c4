//! Reading report.json (`authbench report`, `compare` and `plan` read files from anywhere).
//!
//! Property: reading never panics, and a report that reads is written back and read again as
//! the same document.
#![no_main]

use std::path::Path;

use authbench_report::file::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/report.json");
    let Ok(report) = parse(path, data) else {
        return;
    };
    let written = serde_json::to_vec(&report).expect("a report writes");
    let again = parse(path, &written).expect("a written report reads");
    assert_eq!(
        serde_json::to_value(&report).expect("value"),
        serde_json::to_value(&again).expect("value"),
    );
});
