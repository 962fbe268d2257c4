//! What the probes read that another program wrote: `/proc/PID/stat` lines (a process name may
//! hold spaces and parentheses) and the `pg_stat_statements` version PostgreSQL reports. The
//! rest of PostgreSQL's answers arrive typed, decoded by tokio-postgres.
//!
//! Property: never a panic (no overflow on huge tick counts); a parsed name is the text between
//! the first `(` and the last `)`.
#![no_main]

use authbench_loadgen::probe::postgres::exec_time_column;
use authbench_loadgen::probe::process::Stat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for ticks in [100, 1] {
        if let Some(stat) = Stat::parse(text, ticks) {
            let open = text.find('(').expect("a name was found");
            let close = text.rfind(')').expect("a name was found");
            assert_eq!(stat.comm, text[open + 1..close]);
        }
    }
    assert!(matches!(
        exec_time_column(text),
        "total_exec_time" | "total_time"
    ));
});
