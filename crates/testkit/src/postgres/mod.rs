//! [`PostgresServer`]: a throwaway PostgreSQL cluster (`initdb` + `postgres`) on a free port.
//!
//! `initdb` takes a second or two, so tests share one cluster per test process
//! ([`PostgresServer::shared`]) and isolate themselves with [`PostgresServer::fresh_database`];
//! outage tests start their own with [`PostgresServer::start`].
//!
//! # Layout
//!
//! - `host`: finding the binaries and the user to run them as.
//! - `probe`: readiness checks without a database driver.
//! - `shared`: the per-process cluster and its end at exit.

mod host;
mod probe;
mod shared;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{self, LaunchError, Log, SIGINT, SIGKILL, SIGQUIT, TempKind, User};

const INITDB_TIMEOUT: Duration = Duration::from_secs(120);
const INITDB_ARGS: [&str; 8] = [
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
];
/// Generous: after an abrupt stop, a restart replays the WAL first.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const RESTART_PATIENCE: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;
/// Durability buys nothing in a throwaway cluster; connections are raised for parallel tests
/// that each open a pool.
const SETTINGS: [&str; 5] = [
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
];

/// A PostgreSQL cluster on 127.0.0.1 with trust auth for the superuser `postgres`. Dropping it
/// shuts the server down and removes its temp dir.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    /// The directory holding `initdb` and `postgres`.
    bin: PathBuf,
    psql: PathBuf,
    /// Who the server runs as: PostgreSQL refuses to run as root.
    user: Option<User>,
    /// `None` while stopped; behind a lock so that the shared cluster can be stopped at exit.
    child: Mutex<Option<Child>>,
    /// Holds `data/`, the unix socket and the logs.
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Runs `initdb` (trust auth, superuser `postgres`, UTF8) into a fresh temp dir and starts
    /// `postgres` on a free port, returning once it accepts connections.
    ///
    /// # Panics
    ///
    /// When the binaries are missing or the cluster does not come up; the message carries the
    /// log tail. Tests must fail, not skip, when the database cannot be had.
    pub fn start() -> PostgresServer {
        let bin = host::bin_dir();
        let psql = host::psql(&bin);
        let user = host::server_user();
        let dir = process::temp_dir(TempKind::Postgres);
        if let Some(user) = user {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                .unwrap_or_else(|err| panic!("cannot chown {}: {err}", dir.path().display()));
        }
        let child = Mutex::new(None);
        let mut server = PostgresServer {
            port: 0,
            bin,
            psql,
            user,
            child,
            dir,
        };
        server.initdb();
        for _ in 0..PORT_ATTEMPTS {
            server.port = process::free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(LaunchError::PortInUse) => continue,
                Err(LaunchError::Failed(why)) => panic!("{}", server.failure(&why)),
            }
        }
        let why = format!("{PORT_ATTEMPTS} free ports were taken before it bound");
        panic!("{}", server.failure(&why))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> String {
        self.database_url("postgres")
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The temp dir holding `data/`, the unix socket and the logs, for debugging.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates an empty database with a name unique in this cluster and returns its URL, so tests
    /// sharing the cluster cannot see each other's tables.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{serial}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.database_url(&name)
    }

    /// Runs `sql` with the system's `psql` on `database` (a name in this cluster, or a URL) and
    /// returns its unaligned, tuples-only output, trimmed.
    ///
    /// # Panics
    ///
    /// When `psql` fails; the message carries its stderr.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        if !database.contains("://") {
            cmd.args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-p",
                &self.port.to_string(),
            ]);
        }
        let output = cmd
            .args(["-d", database, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", self.psql.display()));
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            panic!(
                "{}",
                self.failure(&format!("psql on {database}: {sql:?}: {stderr}"))
            );
        }
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Shuts the server down (fast shutdown, killed if it lingers) and waits for it: once this
    /// returns, the port refuses connections. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = child.take() {
            process::stop_child(&mut child, SIGINT, Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same port and data (stopping it first if it runs), so
    /// clients that keep the URL reconnect.
    ///
    /// # Panics
    ///
    /// When the port stays taken for 10 s or the server fails to start.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + RESTART_PATIENCE;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(LaunchError::PortInUse) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(LaunchError::PortInUse) => {
                    let why = format!("the port was still in use after {RESTART_PATIENCE:?}");
                    panic!("{}", self.failure(&why))
                }
                Err(LaunchError::Failed(why)) => panic!("{}", self.failure(&why)),
            }
        }
    }

    pub fn is_running(&self) -> bool {
        let child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        child.as_ref().is_some_and(process::is_alive)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command for one of the server binaries, run as the server user from a directory that
    /// user may enter, its output appended to the log file named `log` in the temp dir.
    fn server_command(&self, binary: &str, log: &str) -> (Command, Log) {
        let (log, stdout, stderr) = Log::open(self.dir.path().join(log));
        let mut cmd = Command::new(self.bin.join(binary));
        if let Some(user) = self.user {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd.current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        (cmd, log)
    }

    fn initdb(&self) {
        let (mut cmd, log) = self.server_command("initdb", "initdb.log");
        cmd.arg("-D").arg(self.data_dir()).args(INITDB_ARGS);
        let mut child = process::spawn(cmd, SIGKILL).unwrap_or_else(|err| {
            let why = match self.user {
                // The usual cause: a private TMPDIR that the server user cannot enter.
                Some(_) => format!("cannot run initdb as user `postgres` in the temp dir: {err}"),
                None => format!("cannot run initdb: {err}"),
            };
            panic!("{}", self.failure(&why))
        });
        let status = process::wait_timeout(&mut child, INITDB_TIMEOUT);
        if !status.is_some_and(|status| status.success()) {
            process::stop_child(&mut child, SIGKILL, Duration::ZERO);
            let outcome = status.map_or(format!("timed out after {INITDB_TIMEOUT:?}"), |status| {
                status.to_string()
            });
            let tail = log.tail(30);
            panic!(
                "{}",
                self.failure(&format!("initdb failed ({outcome}); log {tail}"))
            );
        }
    }

    fn launch(&mut self) -> Result<(), LaunchError> {
        let (mut cmd, log) = self.server_command("postgres", "postgres.log");
        let sockets = format!("unix_socket_directories={}", self.dir.path().display());
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string(), "-c", &sockets]);
        for setting in SETTINGS {
            cmd.args(["-c", setting]);
        }
        // SIGQUIT is an immediate shutdown: the server ends its backends and frees its shared
        // memory, where SIGKILL would leave a SysV segment behind.
        let mut child = process::spawn(cmd, SIGQUIT)
            .map_err(|err| LaunchError::Failed(format!("cannot run postgres: {err}")))?;
        let (pid, port, data) = (child.id(), self.port, self.data_dir());
        process::wait_ready(&mut child, READY_TIMEOUT, &log, || {
            probe::is_ready(&data, pid) && probe::accepts_connections(port)
        })?;
        *self.child.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(child);
        Ok(())
    }

    fn failure(&self, why: &str) -> String {
        let dir = self.dir().display();
        match self.port {
            0 => format!("PostgreSQL ({dir}) failed: {why}"),
            port => format!("PostgreSQL on 127.0.0.1:{port} ({dir}) failed: {why}"),
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
