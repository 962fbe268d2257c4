//! [`RedisServer`]: a `redis-server` from the system's binary, on a free 127.0.0.1 port in its
//! own temp dir, with the limits and persistence a run asked for; stoppable and restartable on
//! the same port to play a store outage.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::cgroup::CpuGroup;
use crate::error::Error;
use crate::limits::Limits;
use crate::process::{self, LaunchError, Log, Placement, SIGKILL, TempKind};

/// How long a fresh server may take to answer; it usually needs a few milliseconds.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `restart` keeps trying while the old port is still held by someone.
const RESTART_PATIENCE: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;

/// What a run may set on a Redis it owns: the settings that change the answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedisSettings {
    pub limits: Limits,
    /// `maxmemory` as Redis reads it (`256mb`); none for no limit.
    pub maxmemory: Option<String>,
    /// `appendonly yes` with this `appendfsync` (`always`, `everysec`, `no`); none for no
    /// persistence at all (no RDB snapshots either).
    pub appendfsync: Option<String>,
    /// Started as a node of a Redis Cluster (`cluster-enabled`, its node table in its own
    /// dir); [`crate::redis_cluster::RedisCluster`] joins the nodes.
    pub cluster: bool,
}

/// The log file's name in the temp dir.
const LOG: &str = "redis.log";

/// A `redis-server` on 127.0.0.1, killed (and its temp dir and CPU group removed) when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    binary: PathBuf,
    settings: RedisSettings,
    /// `None` while stopped.
    child: Option<Child>,
    /// Declared after `child`: dropped once the server is gone.
    group: Option<CpuGroup>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` with `settings` and returns once it answers `PING`.
    pub fn start(settings: &RedisSettings) -> Result<RedisServer, Error> {
        let binary = process::find_on_path("redis-server").ok_or(Error::NotInstalled {
            what: "redis-server",
            hint: "install Debian's `redis-server` package (scripts/test.sh does this when run \
                   as root)",
        })?;
        let dir = process::temp_dir(TempKind::Redis).map_err(|source| Error::Io {
            server: "Redis".into(),
            what: "create a temp dir".into(),
            source,
        })?;
        let group = settings.limits.group("Redis", "redis")?;
        let mut server = RedisServer {
            port: 0,
            binary,
            settings: settings.clone(),
            child: None,
            group,
            dir,
        };
        for _ in 0..PORT_ATTEMPTS {
            server.port =
                process::free_port().map_err(|source| server.io("find a free port", source))?;
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(LaunchError::PortInUse) => continue,
                Err(LaunchError::Failed(why)) => return Err(server.failure(why)),
            }
        }
        Err(server.failure(format!(
            "{PORT_ATTEMPTS} free ports were taken before it bound"
        )))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The temp dir holding the server's working files and `redis.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log (its stdout and stderr), removed with the temp dir.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG)
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// The CPU group the server runs in, when it is capped.
    pub fn cpu_group(&self) -> Option<&CpuGroup> {
        self.group.as_ref()
    }

    /// The server's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server and waits for it: once this returns, the port refuses connections.
    /// Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An outage should be abrupt; what persistence there is was asked for by the run.
            process::stop_child(&mut child, SIGKILL, Duration::ZERO);
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs), so clients that
    /// keep the URL reconnect. Without persistence the data is gone.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        process::relaunch(RESTART_PATIENCE, || self.launch()).map_err(|why| self.failure(why))
    }

    pub fn is_running(&self) -> bool {
        self.child.as_ref().is_some_and(process::is_alive)
    }

    fn launch(&mut self) -> Result<(), LaunchError> {
        let (log, stdout, stderr) = Log::open(self.dir.path().join(LOG))
            .map_err(|error| LaunchError::Failed(format!("cannot open its log: {error}")))?;
        let mut cmd = Command::new(&self.binary);
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        match &self.settings.appendfsync {
            Some(fsync) => cmd.args(["--appendonly", "yes", "--appendfsync", fsync]),
            None => cmd.args(["--appendonly", "no"]),
        };
        if self.settings.cluster {
            cmd.args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args(["--cluster-node-timeout", "2000"]);
        }
        if let Some(maxmemory) = &self.settings.maxmemory {
            // Sessions must not be evicted behind the run's back: a full store refuses writes.
            cmd.args(["--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"]);
        }
        let mut placement = Placement::new(SIGKILL);
        placement.group = self.group.as_ref().map(CpuGroup::joiner);
        placement.cores = self.settings.limits.cores.clone();
        let mut child = process::spawn(cmd, placement).map_err(|err| {
            LaunchError::Failed(format!("cannot run {}: {err}", self.binary.display()))
        })?;
        // Redis reports its working dir canonicalised; comparing it proves the server that
        // answers is this one, not a stranger that grabbed the port after ours failed to bind.
        let dir = std::fs::canonicalize(self.dir.path())
            .unwrap_or_else(|_| self.dir.path().to_path_buf())
            .display()
            .to_string();
        let port = self.port;
        process::wait_ready(&mut child, READY_TIMEOUT, &log, || answers(port, &dir))?;
        self.child = Some(child);
        Ok(())
    }

    fn failure(&self, why: String) -> Error {
        Error::Failed {
            server: format!(
                "redis-server on 127.0.0.1:{} ({})",
                self.port,
                self.dir().display()
            ),
            why,
        }
    }

    fn io(&self, what: &str, source: std::io::Error) -> Error {
        Error::Io {
            server: format!("redis-server ({})", self.dir().display()),
            what: what.to_owned(),
            source,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the server on `port` answers `PING` with `+PONG` and works in `dir`, spoken as raw
/// inline commands so the crate needs no Redis client.
fn answers(port: u16, dir: &str) -> bool {
    ask(port, "PING\r\nCONFIG GET dir\r\n", |text| {
        text.contains("+PONG\r\n") && text.contains(dir)
    })
}

/// Sends `commands` (inline) to the server on `port` and reads until `done` holds for what came
/// back; false when it never does before the connection or a 500 ms read gives up.
pub(crate) fn ask(port: u16, commands: &str, done: impl Fn(&str) -> bool) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_err()
        || stream.write_all(commands.as_bytes()).is_err()
    {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0_u8; 512];
    loop {
        let text = String::from_utf8_lossy(&reply);
        if done(&text) {
            return true;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
}
