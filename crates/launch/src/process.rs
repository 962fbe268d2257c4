//! What every launched server needs from the operating system: finding binaries, free ports,
//! temp dirs that outlive a crashed run only until the next one, and children that cannot outlive
//! the process that started them, started inside their CPU group, on their cores, as their user.
//!
//! Every child is spawned from one dedicated thread that lives as long as the process, with
//! `PR_SET_PDEATHSIG` set: the kernel sends that signal when the *spawning thread* exits, so a
//! child spawned straight from a short-lived thread (a test's, or a runtime's blocking pool)
//! would be killed as soon as that thread ends, even while its server is still in use.

use std::ffi::c_int;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cgroup::Joiner;
pub use crate::log_file::Log;
pub use libc::{SIGINT, SIGKILL, SIGQUIT};

/// Why a server did not come up on a port.
#[derive(Debug)]
pub enum LaunchError {
    /// Another socket holds the port: worth trying again (a new port, or the same one later).
    PortInUse,
    /// Anything else; the message says what happened and carries the log tail.
    Failed(String),
}

/// The first executable called `name` in a directory of `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A port that was free a moment ago. Another process may take it before the server binds it;
/// callers retry with a new one when the server reports the port in use.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// What the temp dirs are for; only dirs of these kinds are ever removed as stale.
#[derive(Debug, Clone, Copy)]
pub enum TempKind {
    Redis,
    Postgres,
    Nginx,
}

impl TempKind {
    const ALL: [TempKind; 3] = [TempKind::Redis, TempKind::Postgres, TempKind::Nginx];

    fn prefix(self) -> &'static str {
        match self {
            TempKind::Redis => "authbench-redis-",
            TempKind::Postgres => "authbench-pg-",
            TempKind::Nginx => "authbench-nginx-",
        }
    }
}

/// A fresh temp dir named `authbench-<kind>-<pid>-<random>`, after removing those that dead
/// processes left (a run or test process that was killed).
pub fn temp_dir(kind: TempKind) -> io::Result<tempfile::TempDir> {
    remove_stale_temp_dirs();
    tempfile::Builder::new()
        .prefix(&format!("{}{}-", kind.prefix(), std::process::id()))
        .tempdir()
}

fn remove_stale_temp_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let pid = TempKind::ALL
            .iter()
            .find_map(|kind| name.strip_prefix(kind.prefix()))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _random)| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            // Best effort: a dir we may not remove (another user's) is not ours to worry about.
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The uid and gid a server runs as when we run as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

/// Looks `name` up in `/etc/passwd`: enough for system users, and no libc call needed.
pub fn lookup_user(name: &str) -> Option<User> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [user, _, uid, gid, ..] if *user == name => Some(User {
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
            }),
            _ => None,
        }
    })
}

/// Polls until `ready` says yes, the child exits, or `timeout` passes (then the child is killed).
pub fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    log: &Log,
    mut ready: impl FnMut() -> bool,
) -> Result<(), LaunchError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let tail = log.tail(30);
            return Err(
                if tail.to_ascii_lowercase().contains("address already in use") {
                    LaunchError::PortInUse
                } else {
                    LaunchError::Failed(format!("exited during startup ({status}); log {tail}"))
                },
            );
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            stop_child(child, SIGKILL, Duration::ZERO);
            let tail = log.tail(30);
            return Err(LaunchError::Failed(format!(
                "not ready after {timeout:?}; log {tail}"
            )));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Calls `launch` until the server is up, trying again while its old port is still held (by a
/// socket in TIME_WAIT, or a stranger), for at most `patience`. The error says why it gave up.
pub fn relaunch(
    patience: Duration,
    mut launch: impl FnMut() -> Result<(), LaunchError>,
) -> Result<(), String> {
    let deadline = Instant::now() + patience;
    loop {
        match launch() {
            Ok(()) => return Ok(()),
            Err(LaunchError::PortInUse) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(100));
            }
            Err(LaunchError::PortInUse) => {
                return Err(format!("the port was still in use after {patience:?}"));
            }
            Err(LaunchError::Failed(why)) => return Err(why),
        }
    }
}

/// Waits up to `timeout` for the child to exit.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Whether the child is still running. Reads `/proc` so that `&self` methods can ask without
/// reaping: an exited but unreaped child is a zombie (`Z`) there.
pub fn is_alive(child: &Child) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{}/stat", child.id())) else {
        return false;
    };
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so look after the last `)`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// Sends `first`, gives the child `grace` to exit, then kills it, and reaps it in every case, so
/// the server's sockets are closed when this returns.
pub fn stop_child(child: &mut Child, first: c_int, grace: Duration) {
    if first != SIGKILL {
        signal(child, first);
        if wait_timeout(child, grace).is_some() {
            return;
        }
    }
    // Fails only if the child was already reaped, which `wait` below then reports.
    let _ = child.kill();
    let _ = child.wait();
}

/// How a child starts, beyond its command: the signal the kernel sends it when we die, the CPU
/// group it joins, the cores it may use and the user it runs as.
#[derive(Debug, Clone)]
pub struct Placement {
    pub death_signal: c_int,
    pub group: Option<Joiner>,
    pub cores: Option<Vec<usize>>,
    pub user: Option<User>,
}

impl Placement {
    pub fn new(death_signal: c_int) -> Placement {
        Placement {
            death_signal,
            group: None,
            cores: None,
            user: None,
        }
    }
}

/// Spawns `cmd` placed as `placement` says.
pub fn spawn(cmd: Command, placement: Placement) -> io::Result<Child> {
    type Request = (Command, Placement, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("authbench-spawner".into())
            .spawn(move || {
                for (mut cmd, placement, reply) in incoming {
                    let spawned = place(&mut cmd, placement).and_then(|()| cmd.spawn());
                    // The caller may have given up waiting: nothing to do then.
                    let _ = reply.send(spawned);
                }
            })
            .expect("cannot start the spawner thread");
        requests
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .send((cmd, placement, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawner thread did not answer"))?
}

/// Sets up the child's side of `placement`: everything between fork and exec, in an order that
/// works: the cgroup is joined while still root (only root may move a task between groups it does
/// not own), then the cores are set, then the user is dropped to, and last the death signal (a
/// credential change would clear it).
#[allow(unsafe_code)]
fn place(cmd: &mut Command, placement: Placement) -> io::Result<()> {
    let parent = libc::pid_t::try_from(std::process::id()).map_err(io::Error::other)?;
    let cores = placement.cores.map(|cores| {
        // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write within it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for core in cores {
            unsafe { libc::CPU_SET(core, &mut set) };
        }
        set
    });
    let Placement {
        death_signal,
        group,
        user,
        ..
    } = placement;
    // SAFETY: the closure runs in the forked child before exec. It calls only async-signal-safe
    // functions (open/write/close through the joiner, sched_setaffinity, setgroups, setgid,
    // setuid, prctl, getppid) on data prepared before the fork, and builds errors from raw codes
    // without allocating.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(group) = &group {
                group.join_self()?;
            }
            if let Some(set) = &cores
                && libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set) != 0
            {
                return Err(io::Error::last_os_error());
            }
            if let Some(user) = user
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(user.gid) != 0
                    || libc::setuid(user.uid) != 0)
            {
                return Err(io::Error::last_os_error());
            }
            let option = libc::PR_SET_PDEATHSIG;
            if libc::prctl(option, death_signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died between fork and prctl: the signal will never come, so give up.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    Ok(())
}

/// Sends `sig` to a child that has not been reaped yet.
#[allow(unsafe_code)]
pub fn signal(child: &Child, sig: c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill touches no memory of ours. The pid cannot have been recycled: the child is
    // ours and unreaped (callers hold its `Child` and only reap it after signalling).
    unsafe { libc::kill(pid, sig) };
}

#[allow(unsafe_code)]
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `handler` when the process exits normally (`main` returns, or `std::process::exit`): the
/// only hook that statics get.
#[allow(unsafe_code)]
pub fn at_exit(handler: extern "C" fn()) {
    // SAFETY: atexit only stores the function pointer; `handler` is a plain Rust function that
    // does not unwind across the C boundary (callers keep it panic-free).
    unsafe { libc::atexit(handler) };
}
