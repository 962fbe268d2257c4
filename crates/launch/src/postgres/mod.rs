//! [`PostgresServer`]: a throwaway PostgreSQL cluster (`initdb` + `postgres`) on a free
//! 127.0.0.1 port, in its own temp dir, with the limits and settings a run asked for.
//!
//! # Layout
//!
//! - `host`: finding the binaries and the user to run them as.
//! - `probe`: readiness checks without a database driver.

mod host;
mod probe;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::cgroup::CpuGroup;
use crate::error::Error;
use crate::limits::Limits;
use crate::process::{self, LaunchError, Log, Placement, SIGINT, SIGKILL, SIGQUIT, TempKind, User};

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
/// The server's log file's name in the temp dir.
const LOG: &str = "postgres.log";

/// What a run (or a test) may set on a cluster it owns: the settings that change the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSettings {
    pub limits: Limits,
    /// `shared_buffers` as PostgreSQL reads it (`128MB`); none for its default.
    pub shared_buffers: Option<String>,
    /// `synchronous_commit` (`on`, `off`, `local`, ...); none for its default (`on`).
    pub synchronous_commit: Option<String>,
    /// With `false`, `fsync`, `synchronous_commit` and `full_page_writes` are off: a throwaway
    /// cluster for tests, which durability buys nothing.
    pub durable: bool,
    pub max_connections: u32,
}

impl Default for PostgresSettings {
    /// PostgreSQL's own defaults: durable, 100 connections.
    fn default() -> Self {
        PostgresSettings {
            limits: Limits::default(),
            shared_buffers: None,
            synchronous_commit: None,
            durable: true,
            max_connections: 100,
        }
    }
}

impl PostgresSettings {
    /// The `-c` settings the server starts with.
    fn flags(&self) -> Vec<String> {
        let mut flags = vec![
            "listen_addresses=127.0.0.1".to_owned(),
            format!("max_connections={}", self.max_connections),
        ];
        if !self.durable {
            flags.extend(
                [
                    "fsync=off",
                    "synchronous_commit=off",
                    "full_page_writes=off",
                ]
                .map(String::from),
            );
        }
        if let Some(value) = &self.synchronous_commit {
            flags.push(format!("synchronous_commit={value}"));
        }
        if let Some(value) = &self.shared_buffers {
            flags.push(format!("shared_buffers={value}"));
        }
        flags
    }
}

/// A PostgreSQL cluster on 127.0.0.1 with trust auth for the superuser `postgres`. Dropping it
/// shuts the server down and removes its temp dir and CPU group.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    /// The directory holding `initdb` and `postgres`.
    bin: PathBuf,
    psql: PathBuf,
    /// Who the server runs as: PostgreSQL refuses to run as root.
    user: Option<User>,
    settings: PostgresSettings,
    /// `None` while stopped; behind a lock so that a shared cluster can be stopped at exit.
    child: Mutex<Option<Child>>,
    /// Declared after `child`: dropped once the server is gone.
    group: Option<CpuGroup>,
    /// Holds `data/`, the unix socket and the logs.
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Runs `initdb` (trust auth, superuser `postgres`, UTF8) into a fresh temp dir and starts
    /// `postgres` on a free port with `settings`, returning once it accepts connections.
    pub fn start(settings: &PostgresSettings) -> Result<PostgresServer, Error> {
        let bin = host::bin_dir()?;
        let psql = host::psql(&bin)?;
        let user = host::server_user()?;
        let io = |what: &str, source| Error::Io {
            server: "PostgreSQL".into(),
            what: what.to_owned(),
            source,
        };
        let dir = process::temp_dir(TempKind::Postgres).map_err(|e| io("create a temp dir", e))?;
        if let Some(user) = user {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                .map_err(|e| io("hand the temp dir to user `postgres`", e))?;
        }
        let group = settings.limits.group("PostgreSQL", "pg")?;
        let mut server = PostgresServer {
            port: 0,
            bin,
            psql,
            user,
            settings: settings.clone(),
            child: Mutex::new(None),
            group,
            dir,
        };
        server.initdb()?;
        for _ in 0..PORT_ATTEMPTS {
            server.port = process::free_port().map_err(|e| io("find a free port", e))?;
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(LaunchError::PortInUse) => continue,
                Err(LaunchError::Failed(why)) => return Err(server.failure(why)),
            }
        }
        let why = format!("{PORT_ATTEMPTS} free ports were taken before it bound");
        Err(server.failure(why))
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

    /// The temp dir holding `data/`, the unix socket and the logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log (its stdout and stderr), removed with the temp dir.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG)
    }

    pub fn settings(&self) -> &PostgresSettings {
        &self.settings
    }

    /// The CPU group the cluster runs in, when it is capped.
    pub fn cpu_group(&self) -> Option<&CpuGroup> {
        self.group.as_ref()
    }

    /// The postmaster's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        let child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        child.as_ref().map(Child::id)
    }

    /// Runs `sql` with the system's `psql` on `database` (a name in this cluster, or a URL) and
    /// returns its unaligned, tuples-only output, trimmed.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, Error> {
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
            .map_err(|source| Error::Io {
                server: self.name(),
                what: format!("run {}", self.psql.display()),
                source,
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.failure(format!("psql on {database}: {sql:?}: {}", stderr.trim())));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Shuts the server down (fast shutdown, killed if it lingers) and waits for it: once this
    /// returns, the port refuses connections. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = child.take() {
            process::stop_child(&mut child, SIGINT, Duration::from_secs(10));
        }
    }

    /// An immediate shutdown through a shared reference, for a cluster held in a static and
    /// stopped at exit; does nothing if another thread holds the server.
    pub fn stop_now(&self) {
        if let Ok(mut child) = self.child.try_lock()
            && let Some(mut child) = child.take()
        {
            process::stop_child(&mut child, SIGQUIT, Duration::from_secs(5));
        }
    }

    /// Starts the server again on the same port and data (stopping it first if it runs), so
    /// clients that keep the URL reconnect.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        process::relaunch(RESTART_PATIENCE, || self.launch()).map_err(|why| self.failure(why))
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
    fn server_command(&self, binary: &str, log: &str) -> Result<(Command, Log), LaunchError> {
        let (log, stdout, stderr) = Log::open(self.dir.path().join(log))
            .map_err(|error| LaunchError::Failed(format!("cannot open its log: {error}")))?;
        let mut cmd = Command::new(self.bin.join(binary));
        cmd.current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        Ok((cmd, log))
    }

    fn placement(&self, death_signal: libc::c_int, capped: bool) -> Placement {
        let mut placement = Placement::new(death_signal);
        placement.user = self.user;
        if capped {
            placement.group = self.group.as_ref().map(CpuGroup::joiner);
            placement.cores = self.settings.limits.cores.clone();
        }
        placement
    }

    fn initdb(&self) -> Result<(), Error> {
        let (mut cmd, log) = self
            .server_command("initdb", "initdb.log")
            .map_err(|e| match e {
                LaunchError::Failed(why) => self.failure(why),
                LaunchError::PortInUse => self.failure("port in use".into()),
            })?;
        cmd.arg("-D").arg(self.data_dir()).args(INITDB_ARGS);
        // initdb is set-up, not the store at work: it runs uncapped.
        let mut child = process::spawn(cmd, self.placement(SIGKILL, false)).map_err(|err| {
            self.failure(match self.user {
                // The usual cause: a private TMPDIR that the server user cannot enter.
                Some(_) => format!("cannot run initdb as user `postgres` in the temp dir: {err}"),
                None => format!("cannot run initdb: {err}"),
            })
        })?;
        let status = process::wait_timeout(&mut child, INITDB_TIMEOUT);
        if !status.is_some_and(|status| status.success()) {
            process::stop_child(&mut child, SIGKILL, Duration::ZERO);
            let outcome = status.map_or(format!("timed out after {INITDB_TIMEOUT:?}"), |status| {
                status.to_string()
            });
            let tail = log.tail(30);
            return Err(self.failure(format!("initdb failed ({outcome}); log {tail}")));
        }
        Ok(())
    }

    fn launch(&mut self) -> Result<(), LaunchError> {
        let (mut cmd, log) = self.server_command("postgres", LOG)?;
        let sockets = format!("unix_socket_directories={}", self.dir.path().display());
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string(), "-c", &sockets]);
        for setting in self.settings.flags() {
            cmd.args(["-c", &setting]);
        }
        // SIGQUIT is an immediate shutdown: the server ends its backends and frees its shared
        // memory, where SIGKILL would leave a SysV segment behind.
        let mut child = process::spawn(cmd, self.placement(SIGQUIT, true))
            .map_err(|err| LaunchError::Failed(format!("cannot run postgres: {err}")))?;
        let (pid, port, data) = (child.id(), self.port, self.data_dir());
        process::wait_ready(&mut child, READY_TIMEOUT, &log, || {
            probe::is_ready(&data, pid) && probe::accepts_connections(port)
        })?;
        *self.child.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(child);
        Ok(())
    }

    fn name(&self) -> String {
        let dir = self.dir().display();
        match self.port {
            0 => format!("PostgreSQL ({dir})"),
            port => format!("PostgreSQL on 127.0.0.1:{port} ({dir})"),
        }
    }

    fn failure(&self, why: String) -> Error {
        Error::Failed {
            server: self.name(),
            why,
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
