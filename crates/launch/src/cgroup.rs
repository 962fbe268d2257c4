//! A CPU cap the kernel enforces: a cgroup of the CPU controller with a CFS bandwidth quota
//! (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` where the CPU
//! controller is mounted on its own, as on hybrid hosts). A store that asked for a cap and cannot
//! have one is refused: running it uncapped would measure something else without saying so.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The shortest CFS period a cap uses. The quota is the cap's share of the period, and a group
/// that spends its quota waits for the next period: under the kernel's default of 100 ms, a store
/// capped at 5% would answer in 5 ms bursts with stalls of up to 95 ms between them, which a
/// machine 20 times smaller would not. Short periods spread the same share evenly.
const SHORT_PERIOD_US: u64 = 10_000;
/// The longest: the kernel's default.
const LONG_PERIOD_US: u64 = 100_000;
/// The kernel refuses quotas under 1 ms.
const MIN_QUOTA_US: u64 = 1_000;

/// The period for a cap of `cores`: the shortest from 10 ms whose quota the kernel accepts.
fn period_for(cores: f64) -> u64 {
    let shortest = (MIN_QUOTA_US as f64 / cores).ceil();
    if shortest.is_finite() {
        (shortest as u64).clamp(SHORT_PERIOD_US, LONG_PERIOD_US)
    } else {
        LONG_PERIOD_US
    }
}

/// Where the CPU controller is mounted, and how its files are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub root: PathBuf,
    pub version: Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Unified hierarchy: `cpu.max` holds `QUOTA PERIOD`.
    V2,
    /// The v1 CPU controller: `cpu.cfs_quota_us` and `cpu.cfs_period_us`.
    V1,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2 => "cgroup v2 cpu.max",
            Version::V1 => "cgroup v1 cpu.cfs_quota_us",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error(
        "no CPU controller to cap with: neither cgroup v2 with the cpu controller at \
         /sys/fs/cgroup nor the v1 cpu controller at /sys/fs/cgroup/cpu"
    )]
    NoController,
    #[error("a CPU cap of {cores} cores is below the kernel's smallest quota (0.01 cores)")]
    TooSmall { cores: f64 },
    #[error("cannot {what} {}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("unexpected contents in {}: {text:?}", path.display())]
    Format { path: PathBuf, text: String },
}

impl Controller {
    /// The host's CPU controller: v2 where the unified hierarchy at `/sys/fs/cgroup` offers
    /// `cpu`, else v1 at `/sys/fs/cgroup/cpu`.
    pub fn find() -> Result<Controller, CapError> {
        let unified = Path::new("/sys/fs/cgroup");
        let controllers =
            fs::read_to_string(unified.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|name| name == "cpu") {
            return Ok(Controller {
                root: unified.to_path_buf(),
                version: Version::V2,
            });
        }
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        if v1.join("cpu.cfs_quota_us").exists() {
            return Ok(Controller {
                root: v1.to_path_buf(),
                version: Version::V1,
            });
        }
        Err(CapError::NoController)
    }

    /// Creates the group `name` (replacing a leftover of that name) capped at `cores`.
    pub fn cap(&self, name: &str, cores: f64) -> Result<CpuGroup, CapError> {
        let period_us = period_for(cores);
        let quota_us = (cores * period_us as f64).round() as u64;
        if !cores.is_finite() || quota_us < MIN_QUOTA_US {
            return Err(CapError::TooSmall { cores });
        }
        let dir = self.root.join(name);
        if dir.exists() {
            let _ = fs::remove_dir(&dir);
        }
        if self.version == Version::V2 {
            // Children of the root get the cpu files only once the root hands the controller
            // down; already enabled is fine.
            let control = self.root.join("cgroup.subtree_control");
            write(&control, "+cpu", "enable the cpu controller in")?;
        }
        fs::create_dir(&dir).map_err(|source| CapError::Write {
            what: "create the cgroup",
            path: dir.clone(),
            source,
        })?;
        let group = CpuGroup {
            dir,
            version: self.version,
            cores,
        };
        match self.version {
            Version::V2 => write(
                &group.dir.join("cpu.max"),
                &format!("{quota_us} {period_us}"),
                "set the quota in",
            )?,
            Version::V1 => {
                write(
                    &group.dir.join("cpu.cfs_period_us"),
                    &period_us.to_string(),
                    "set the period in",
                )?;
                write(
                    &group.dir.join("cpu.cfs_quota_us"),
                    &quota_us.to_string(),
                    "set the quota in",
                )?;
            }
        }
        Ok(group)
    }
}

/// A capped group. Processes join it as they start ([`CpuGroup::joiner`]); it is removed when
/// dropped, once they are gone.
#[derive(Debug)]
pub struct CpuGroup {
    dir: PathBuf,
    version: Version,
    cores: f64,
}

/// What the kernel holds for a group: the cap it enforces, and how often it throttled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Enforced {
    /// Quota over period, as read back from the kernel's files.
    pub cores: f64,
    pub quota_us: u64,
    pub period_us: u64,
    /// CFS periods in which the group ran, and those in which it hit the quota.
    pub periods: u64,
    pub throttled_periods: u64,
    /// Total time the group's tasks waited for the next period.
    pub throttled_us: u64,
}

impl CpuGroup {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cap asked for, in cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// What a child writes, before exec, to join the group: the path of the group's
    /// `cgroup.procs`, into which writing `0` moves the writer.
    pub fn joiner(&self) -> Joiner {
        let path = self.dir.join("cgroup.procs");
        Joiner {
            path: CString::new(path.as_os_str().as_bytes()).expect("a cgroup path has no NUL"),
        }
    }

    /// Moves a running process (all its threads) into the group.
    pub fn add(&self, pid: u32) -> Result<(), CapError> {
        write(
            &self.dir.join("cgroup.procs"),
            &pid.to_string(),
            "add a process to",
        )
    }

    /// The processes in the group now.
    pub fn pids(&self) -> Result<Vec<u32>, CapError> {
        let path = self.dir.join("cgroup.procs");
        let text = read(&path)?;
        Ok(text
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect())
    }

    /// The cap as the kernel holds it, and its throttling counters so far.
    pub fn enforced(&self) -> Result<Enforced, CapError> {
        let (quota_us, period_us) = match self.version {
            Version::V2 => {
                let path = self.dir.join("cpu.max");
                let text = read(&path)?;
                let mut fields = text.split_whitespace();
                let quota = fields.next().and_then(|q| q.parse().ok());
                let period = fields.next().and_then(|p| p.parse().ok());
                match (quota, period) {
                    (Some(quota), Some(period)) => (quota, period),
                    _ => return Err(CapError::Format { path, text }),
                }
            }
            Version::V1 => (
                number(&self.dir.join("cpu.cfs_quota_us"))?,
                number(&self.dir.join("cpu.cfs_period_us"))?,
            ),
        };
        let stat_path = self.dir.join("cpu.stat");
        let stat = read(&stat_path)?;
        let field = |name: &str| {
            stat.lines().find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name)
                    .then(|| value.trim().parse::<u64>().ok())
                    .flatten()
            })
        };
        // v1 counts throttled time in ns, v2 in µs.
        let throttled_us = match self.version {
            Version::V2 => field("throttled_usec"),
            Version::V1 => field("throttled_time").map(|ns| ns / 1_000),
        };
        Ok(Enforced {
            cores: quota_us as f64 / period_us.max(1) as f64,
            quota_us,
            period_us,
            periods: field("nr_periods").unwrap_or(0),
            throttled_periods: field("nr_throttled").unwrap_or(0),
            throttled_us: throttled_us.unwrap_or(0),
        })
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        // Fails while a process is still inside: then the group outlives us, and the next
        // group of that name replaces it.
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The one thing a forked child does to join a group: open `cgroup.procs` and write `0`.
#[derive(Debug, Clone)]
pub struct Joiner {
    path: CString,
}

impl Joiner {
    /// Moves the calling process into the group. Async-signal-safe (open, write, close and
    /// nothing that allocates), so it may run between fork and exec.
    #[allow(unsafe_code)]
    pub fn join_self(&self) -> io::Result<()> {
        // SAFETY: `path` is a valid NUL-terminated string we own; the buffer is a static byte.
        unsafe {
            let fd = libc::open(self.path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            let error = (written != 1).then(io::Error::last_os_error);
            libc::close(fd);
            error.map_or(Ok(()), Err)
        }
    }
}

fn write(path: &Path, text: &str, what: &'static str) -> Result<(), CapError> {
    fs::write(path, text).map_err(|source| CapError::Write {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<String, CapError> {
    fs::read_to_string(path).map_err(|source| CapError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn number(path: &Path) -> Result<u64, CapError> {
    let text = read(path)?;
    text.trim().parse().map_err(|_| CapError::Format {
        path: path.to_path_buf(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_get_the_shortest_period_whose_quota_the_kernel_accepts() {
        assert_eq!(period_for(0.5), 10_000);
        assert_eq!(period_for(0.1), 10_000);
        assert_eq!(period_for(0.05), 20_000);
        assert_eq!(period_for(0.01), 100_000);
        assert_eq!(period_for(0.0), 100_000);
        for cores in [0.01, 0.03, 0.05, 0.2, 1.5] {
            let quota = (cores * period_for(cores) as f64).round() as u64;
            assert!(quota >= MIN_QUOTA_US, "{cores}: quota {quota} µs");
        }
    }
}
