//! [`RedisServer`]: one throwaway `redis-server` per test, without persistence, that a test can
//! stop and restart on the same port to play a store outage.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{self, LaunchError, Log, SIGKILL, TempKind};

/// How long a fresh server may take to answer; it usually needs a few milliseconds.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `restart` keeps trying while the old port is still held by someone.
const RESTART_PATIENCE: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;

/// A `redis-server` on 127.0.0.1, killed (and its temp dir removed) when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    binary: PathBuf,
    /// `None` while stopped.
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free 127.0.0.1 port (`--save "" --appendonly no`, in its own
    /// temp dir) and returns once it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is missing or does not come up; the message carries its log tail.
    /// Tests must fail, not skip, when the store they exercise cannot be had.
    pub fn start() -> RedisServer {
        let binary = process::find_on_path("redis-server").unwrap_or_else(|| {
            panic!(
                "redis-server not found on PATH: install Debian's `redis-server` package \
                 (scripts/test.sh does this when run as root)"
            )
        });
        let dir = process::temp_dir(TempKind::Redis);
        let mut server = RedisServer {
            port: 0,
            binary,
            child: None,
            dir,
        };
        for _ in 0..PORT_ATTEMPTS {
            server.port = process::free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(LaunchError::PortInUse) => continue,
                Err(LaunchError::Failed(why)) => panic!("{}", server.failure(&why)),
            }
        }
        panic!(
            "{}",
            server.failure(&format!(
                "{PORT_ATTEMPTS} free ports were taken before it bound"
            ))
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The temp dir holding the server's working files and `redis.log`, for debugging.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server and waits for it: once this returns, the port refuses connections.
    /// Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // No persistence, so nothing is lost by SIGKILL, and an outage should be abrupt.
            process::stop_child(&mut child, SIGKILL, Duration::ZERO);
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs), so clients that
    /// keep the URL reconnect. The data is gone: there is no persistence.
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
                Err(LaunchError::PortInUse) => panic!(
                    "{}",
                    self.failure(&format!(
                        "the port was still in use after {RESTART_PATIENCE:?}"
                    ))
                ),
                Err(LaunchError::Failed(why)) => panic!("{}", self.failure(&why)),
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.as_ref().is_some_and(process::is_alive)
    }

    fn launch(&mut self) -> Result<(), LaunchError> {
        let (log, stdout, stderr) = Log::open(self.dir.path().join("redis.log"));
        let mut cmd = Command::new(&self.binary);
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let mut child = process::spawn(cmd, SIGKILL).map_err(|err| {
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

    fn failure(&self, why: &str) -> String {
        format!(
            "redis-server on 127.0.0.1:{} ({}) failed: {why}",
            self.port,
            self.dir().display()
        )
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
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_err()
        || stream.write_all(b"PING\r\nCONFIG GET dir\r\n").is_err()
    {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0_u8; 512];
    loop {
        let text = String::from_utf8_lossy(&reply);
        if text.contains("+PONG\r\n") && text.contains(dir) {
            return true;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
}
