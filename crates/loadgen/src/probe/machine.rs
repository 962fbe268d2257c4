//! The machine a run ran on, for the reader who wants to reproduce it: from `/proc` and
//! `/etc/os-release`, like every other `/proc` reading of the load generator (all under `probe`).

use authbench_report::Machine;

/// What the reader needs to know about the machine to reproduce a run.
pub fn describe() -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_owned())
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let memory_bytes = read("/proc/meminfo")
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("MemTotal:")?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or_default();
    Machine {
        hostname: read("/proc/sys/kernel/hostname").trim().to_owned(),
        os,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        cpu_model,
        // Counted from /proc/cpuinfo: after pinning, available_parallelism() sees only ours.
        cores: match read("/proc/cpuinfo")
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count()
        {
            0 => std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
            n => n as u32,
        },
        memory_bytes,
    }
}
