//! A process's CPU time and memory from `/proc`: a spawned server's cost, or the load generator's.

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use nix::unistd::{SysconfVar, sysconf};
use serde::Serialize;

use super::window::{Probe, Summable};
use super::{Error, signed_change};

/// `ESRCH`: reading `/proc/PID/...` of a process that has just been reaped.
const NO_SUCH_PROCESS: i32 = 3;

/// One reading of a process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessSample {
    pub pid: u32,
    /// User plus system CPU time of all its threads (`utime + stime`).
    pub cpu: Duration,
    /// CPU time of its children that exited and were waited for (`cutime + cstime`).
    pub reaped_children_cpu: Duration,
    /// Resident memory now (`VmRSS`); 0 for a process without an address space.
    pub rss_bytes: u64,
    /// Highest resident memory since start or the last [`reset_peak_rss`] (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// The cores it may run on, as the kernel lists them (`Cpus_allowed_list`, e.g. `0-3,6`).
    pub allowed_cores: String,
    /// Its open file descriptors (sockets included); `None` where `/proc/PID/fd` can't be
    /// listed (another user's process).
    pub open_fds: Option<u64>,
}

impl ProcessSample {
    /// Reads `/proc/PID/stat` and `/proc/PID/status`.
    pub fn read(pid: u32) -> Result<ProcessSample, Error> {
        let stat = Stat::read(pid)?;
        let path = proc_path(pid, "status");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Proc {
            path: path.clone(),
            source,
        })?;
        let status = Status::parse(&text);
        Ok(ProcessSample {
            pid,
            cpu: stat.cpu,
            reaped_children_cpu: stat.reaped_children_cpu,
            rss_bytes: status.rss_bytes,
            peak_rss_bytes: status.peak_rss_bytes,
            allowed_cores: status.allowed_cores.ok_or_else(|| Error::ProcFormat {
                path,
                what: "no Cpus_allowed_list line".into(),
            })?,
            open_fds: std::fs::read_dir(proc_path(pid, "fd"))
                .ok()
                .map(|entries| entries.count() as u64),
        })
    }

    /// What the process used from this sample (a step's start) to `end` (the step's end).
    pub fn delta(&self, end: &ProcessSample) -> ProcessLoad {
        ProcessLoad {
            pid: end.pid,
            cpu: end.cpu.saturating_sub(self.cpu),
            rss_bytes: end.rss_bytes,
            rss_change_bytes: signed_change(self.rss_bytes, end.rss_bytes),
            peak_rss_bytes: end.peak_rss_bytes,
            allowed_cores: end.allowed_cores.clone(),
            open_fds: end.open_fds,
        }
    }

    pub fn cpu_seconds(&self) -> f64 {
        self.cpu.as_secs_f64()
    }
}

/// A process's use over one step.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessLoad {
    pub pid: u32,
    /// CPU time (user + system, all threads) spent during the step.
    pub cpu: Duration,
    /// Resident memory at the step's end.
    pub rss_bytes: u64,
    /// Resident memory at the end minus at the start.
    pub rss_change_bytes: i64,
    /// The highest resident memory seen by the kernel up to the step's end: the step's own peak
    /// when [`reset_peak_rss`] ran at its start, otherwise the peak since the process started.
    pub peak_rss_bytes: u64,
    /// The cores it was allowed at the step's end.
    pub allowed_cores: String,
    /// Open file descriptors at the step's end.
    pub open_fds: Option<u64>,
}

/// A process's CPU time and memory, read from `/proc` at each sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessProbe {
    pub pid: u32,
}

impl ProcessProbe {
    /// The load generator's own process.
    pub fn current() -> ProcessProbe {
        ProcessProbe {
            pid: std::process::id(),
        }
    }

    /// See [`reset_peak_rss`].
    pub fn reset_peak(&self) -> Result<(), Error> {
        reset_peak_rss(self.pid)
    }
}

impl Probe for ProcessProbe {
    type Sample = ProcessSample;
    type Load = ProcessLoad;

    async fn sample(&self) -> Result<ProcessSample, Error> {
        ProcessSample::read(self.pid)
    }

    fn delta(start: &ProcessSample, end: &ProcessSample) -> Option<ProcessLoad> {
        Some(start.delta(end))
    }
}

/// Several processes (a system's replicas) over the same window, as one: CPU and memory summed
/// (their peaks need not coincide, so the summed peak is an upper bound), the first process's
/// pid and cores.
impl Summable for ProcessLoad {
    fn add(&mut self, other: ProcessLoad) {
        self.cpu += other.cpu;
        self.rss_bytes += other.rss_bytes;
        self.rss_change_bytes += other.rss_change_bytes;
        self.peak_rss_bytes += other.peak_rss_bytes;
        self.open_fds = self.open_fds.zip(other.open_fds).map(|(a, b)| a + b);
    }
}

impl ProcessLoad {
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu.as_secs_f64()
    }

    /// Average cores kept busy over `elapsed` (1.0 = one core for the whole step).
    pub fn busy_cores(&self, elapsed: Duration) -> f64 {
        if elapsed.is_zero() {
            return 0.0;
        }
        self.cpu.as_secs_f64() / elapsed.as_secs_f64()
    }
}

/// Resets the process's peak resident memory (`VmHWM`) to its current RSS, so that the next
/// reading shows the peak of the step that starts now. Needs the right to write to
/// `/proc/PID/clear_refs` (the same user, or `CAP_SYS_PTRACE`); failing that is an error for
/// the caller to report, since only the per-step peak is lost.
pub fn reset_peak_rss(pid: u32) -> Result<(), Error> {
    let path = proc_path(pid, "clear_refs");
    // "5" resets the peak RSS only; the other values clear page-referenced bits as well.
    std::fs::write(&path, b"5").map_err(|source| Error::ResetPeak { pid, path, source })
}

/// The CPU time (user + system) of every listed process that is still there: one that has
/// exited counts as nothing, since its time is no longer readable.
pub fn total_cpu(pids: impl IntoIterator<Item = u32>) -> Result<Duration, Error> {
    let mut total = Duration::ZERO;
    for pid in pids {
        match Stat::read(pid) {
            Ok(stat) => total += stat.cpu,
            Err(Error::Proc { source, .. }) if vanished(&source) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(total)
}

fn vanished(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NotFound || error.raw_os_error() == Some(NO_SUCH_PROCESS)
}

/// The fields of `/proc/PID/stat` the probes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The executable's name as the kernel keeps it (at most 15 bytes; may hold spaces and `)`).
    pub comm: String,
    pub ppid: u32,
    /// `utime + stime`.
    pub cpu: Duration,
    /// `cutime + cstime`.
    pub reaped_children_cpu: Duration,
}

impl Stat {
    /// Reads `/proc/PID/stat`.
    pub fn read(pid: u32) -> Result<Stat, Error> {
        let path = proc_path(pid, "stat");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Proc {
            path: path.clone(),
            source,
        })?;
        Stat::parse(&text, clock_ticks()?).ok_or_else(|| Error::ProcFormat {
            path,
            what: format!("unexpected stat line {:?}", text.trim_end()),
        })
    }

    /// Parses one `/proc/PID/stat` line, with `ticks_per_second` from `sysconf(_SC_CLK_TCK)`.
    ///
    /// The name sits in parentheses and may itself contain spaces and parentheses, so it ends
    /// at the last `)`; the numeric fields follow it.
    pub fn parse(line: &str, ticks_per_second: u64) -> Option<Stat> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let comm = line.get(open + 1..close)?.to_owned();
        // Fields after the name, from field 3 (state) on: ppid is field 4, utime 14, stime 15,
        // cutime 16, cstime 17 (proc(5), counting from 1).
        let fields: Vec<&str> = line.get(close + 1..)?.split_ascii_whitespace().collect();
        let field = |number: usize| fields.get(number - 3).copied();
        let ticks = |number: usize| -> Option<u64> { field(number)?.parse().ok() };
        // cutime and cstime are signed in the kernel's format, though never negative in practice.
        let signed_ticks = |number: usize| -> Option<u64> {
            field(number)?
                .parse::<i64>()
                .ok()
                .map(|v| v.max(0).unsigned_abs())
        };
        let to_duration = |ticks: u64| ticks_to_duration(ticks, ticks_per_second);
        Some(Stat {
            comm,
            ppid: field(4)?.parse().ok()?,
            // Saturating: the fields are whatever the file holds, up to u64::MAX each.
            cpu: to_duration(ticks(14)?.saturating_add(ticks(15)?)),
            reaped_children_cpu: to_duration(signed_ticks(16)?.saturating_add(signed_ticks(17)?)),
        })
    }
}

/// The fields of `/proc/PID/status` the probes use.
#[derive(Debug, Default)]
struct Status {
    rss_bytes: u64,
    peak_rss_bytes: u64,
    allowed_cores: Option<String>,
}

impl Status {
    fn parse(text: &str) -> Status {
        let mut status = Status::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "VmRSS" => status.rss_bytes = kilobytes(value),
                "VmHWM" => status.peak_rss_bytes = kilobytes(value),
                "Cpus_allowed_list" => status.allowed_cores = Some(value.to_owned()),
                _ => {}
            }
        }
        status
    }
}

/// `"1234 kB"` in bytes; the kernel always writes kB (1024 bytes) here.
fn kilobytes(value: &str) -> u64 {
    value
        .split_ascii_whitespace()
        .next()
        .and_then(|number| number.parse::<u64>().ok())
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// Clock ticks per second, the unit of the times in `/proc/PID/stat` (100 on almost every
/// Linux system, but that is the kernel's choice, not a constant).
fn clock_ticks() -> Result<u64, Error> {
    static TICKS: OnceLock<Result<u64, String>> = OnceLock::new();
    let ticks = TICKS.get_or_init(|| match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => Ok(ticks.unsigned_abs()),
        Ok(_) => Err("no value".to_owned()),
        Err(errno) => Err(errno.to_string()),
    });
    ticks.clone().map_err(Error::ClockTicks)
}

fn ticks_to_duration(ticks: u64, ticks_per_second: u64) -> Duration {
    let per_second = ticks_per_second.max(1);
    let nanos = u128::from(ticks % per_second) * 1_000_000_000 / u128::from(per_second);
    // `nanos` is below 1e9, so it fits.
    Duration::new(ticks / per_second, u32::try_from(nanos).unwrap_or(0))
}

fn proc_path(pid: u32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_name_with_spaces_and_parentheses_ends_at_the_last_parenthesis() {
        let line = "4242 (my (odd) name) x) S 17 4242 4242 0 -1 4194560 500 0 0 0 \
                    250 130 7 3 20 0 4 0 123456 1000000 300 18446744073709551615 0 0 0 0 0";
        let stat = Stat::parse(line, 100).expect("parses");
        assert_eq!(stat.comm, "my (odd) name) x");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.cpu, Duration::from_millis(3800));
        assert_eq!(stat.reaped_children_cpu, Duration::from_millis(100));
    }

    #[test]
    fn huge_tick_counts_saturate_instead_of_overflowing() {
        // Found by the proc_and_postgres fuzz target: utime + stime past u64::MAX.
        let max = u64::MAX;
        let line = format!("7 (x) R 1 7 7 0 -1 0 0 0 0 0 {max} {max} 0 0 20 0 1 0 5 0 0");
        let stat = Stat::parse(&line, 100).expect("a full line");
        assert_eq!(stat.cpu, ticks_to_duration(max, 100));
    }

    #[test]
    fn truncated_stat_line_is_rejected() {
        assert_eq!(Stat::parse("12 (sh) S 1 12 12", 100), None);
        assert_eq!(Stat::parse("no parentheses at all", 100), None);
    }

    #[test]
    fn ticks_convert_at_the_given_rate() {
        assert_eq!(ticks_to_duration(150, 100), Duration::from_millis(1500));
        assert_eq!(ticks_to_duration(3, 250), Duration::from_millis(12));
    }

    #[test]
    fn status_gives_rss_peak_and_cores() {
        let text = "Name:\tsh\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n\
                    Cpus_allowed:\tf\nCpus_allowed_list:\t0-3\n";
        let status = Status::parse(text);
        assert_eq!(status.rss_bytes, 1024 * 1024);
        assert_eq!(status.peak_rss_bytes, 2048 * 1024);
        assert_eq!(status.allowed_cores.as_deref(), Some("0-3"));
    }
}
