//! Instructions per request under callgrind: the one figure of a server's own cost that the
//! machine's noise cannot move. A server runs under `valgrind --tool=callgrind`; after a
//! warm-up its counters are zeroed, wrk drives the route, and the dump's total over the requests
//! served is the user-space instructions per request (the kernel's share is the same for servers
//! that send the same bytes, and is not counted).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `command` (a `taskset -c CPU PROGRAM ARGS...` line) rewritten to run PROGRAM under callgrind,
/// its dumps written to `dir` as `callgrind.<pid>*`.
pub fn under_callgrind(command: &Command, dir: &Path) -> Command {
    let mut args: Vec<&std::ffi::OsStr> = command.get_args().collect();
    // taskset -c CPU: keep those, put valgrind in front of the program.
    let rest = args.split_off(2);
    let mut wrapped = Command::new(command.get_program());
    wrapped
        .args(args)
        .arg("valgrind")
        .arg("--tool=callgrind")
        .arg(format!(
            "--callgrind-out-file={}/callgrind.%p",
            dir.display()
        ))
        .args(rest);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// Zeroes the counters of the callgrind process `pid`.
pub fn zero(pid: u32) {
    control(pid, "-z");
}

/// Dumps the counters of `pid` and returns the instructions counted since the last zero.
pub fn dump(pid: u32, dir: &Path) -> u64 {
    control(pid, "-d");
    let newest = newest_dump(pid, dir);
    let text = std::fs::read_to_string(&newest).expect("the callgrind dump");
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|total| total.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no total in {}", newest.display()))
}

fn control(pid: u32, flag: &str) {
    let status = Command::new("callgrind_control")
        .args([flag, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("callgrind_control (Debian's valgrind package)");
    assert!(status.success(), "callgrind_control {flag} {pid} failed");
}

fn newest_dump(pid: u32, dir: &Path) -> PathBuf {
    let prefix = format!("callgrind.{pid}");
    std::fs::read_dir(dir)
        .expect("the dump folder")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .map(|entry| entry.path())
        .unwrap_or_else(|| panic!("no callgrind dump for pid {pid} in {}", dir.display()))
}
