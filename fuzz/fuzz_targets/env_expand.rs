//! `${VAR}` and `${VAR:-default}` expansion, on its own.
//!
//! Properties: text without `${` comes back unchanged; with every variable set to a value free
//! of `$`, `{` and `}`, an expansion keeps the text around each reference and leaves no
//! reference whose name it knows.
#![no_main]

use authbench_loadgen::scenario::expand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let every_name_set = |name: &str| Some(format!("<{name}>"));
    let expanded = expand(text, &every_name_set);
    if !text.contains("${") {
        assert_eq!(expanded.as_deref(), Ok(text));
        return;
    }
    let Ok(expanded) = expanded else {
        return;
    };
    // Each reference became `<NAME>`, or its default: never longer than the text plus the
    // values.
    assert!(
        expanded.len() <= text.len() * 2 + 2,
        "{text:?} -> {expanded:?}"
    );
    let unset = |_: &str| None;
    if let Ok(defaults) = expand(text, &unset) {
        // Every reference had a default, and defaults are kept as written.
        assert!(defaults.len() <= text.len());
    }
});
