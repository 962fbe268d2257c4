//! The systems under test as processes: seeding main_DB with `authbench seed`, starting each
//! server with `authbench serve ...` on port 0, watching it, and stopping it. Servers run as their
//! own processes so their CPU and memory are measured apart from the load generator's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::scenario::{
    AccessToken, Alg, Argon2, BalanceSource, Resource, Server, StoreSpec, Verify,
};

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to drain and exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start {program}{hint}")]
    Launch {
        program: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("seeding main_DB failed (exit {status}): {output}")]
    Seed { status: String, output: String },
    #[error("writing the shared signing key of `{system}` failed (exit {status}): {output}")]
    Keygen {
        system: String,
        status: String,
        output: String,
    },
    #[error(
        "server `{system}` exited before it was ready ({status}); last lines of {log}:\n{tail}"
    )]
    Exited {
        system: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("server `{system}` printed no address within {seconds} s; see {log}")]
    NotReady {
        system: String,
        seconds: u64,
        log: PathBuf,
    },
    #[error("cannot use {path}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: expected `username,password`")]
    Credentials { path: PathBuf, line: usize },
    #[error("{path} holds {found} accounts; the scenario needs {needed}")]
    TooFewCredentials {
        path: PathBuf,
        found: usize,
        needed: usize,
    },
}

pub use crate::flow::Credential;

/// Runs `authbench seed` and returns the accounts it created, read back from its CSV.
pub async fn seed(
    exe: &Path,
    main_db_url: &str,
    accounts: u32,
    argon2: Argon2,
    credentials_csv: &Path,
) -> Result<Vec<Credential>, Error> {
    let output = Command::new(exe)
        .arg("seed")
        .args(["--main-db", main_db_url, "--users", &accounts.to_string()])
        .args(argon2_flags(argon2))
        .arg("--credentials-csv")
        .arg(credentials_csv)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| launch_error(exe, source))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(Error::Seed {
            status: output.status.to_string(),
            output: text.trim().to_owned(),
        });
    }
    read_credentials(credentials_csv, accounts as usize)
}

/// Runs `authbench keygen` for a JWT system whose replicas must all sign and verify with one key
/// (each server would otherwise make its own at start, and reject its siblings' tokens).
pub async fn keygen(exe: &Path, system: &str, alg: Alg, out: &Path) -> Result<(), Error> {
    let output = Command::new(exe)
        .args(["keygen", "--alg", alg.as_str(), "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| launch_error(exe, source))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Keygen {
        system: system.to_owned(),
        status: output.status.to_string(),
        output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

/// Reads `username,password` lines (after a header line) and checks there are enough.
pub fn read_credentials(path: &Path, needed: usize) -> Result<Vec<Credential>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::File {
        path: path.to_owned(),
        source,
    })?;
    let mut credentials = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let (username, password) = line.split_once(',').ok_or(Error::Credentials {
            path: path.to_owned(),
            line: index + 1,
        })?;
        credentials.push(Credential {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    if credentials.len() < needed {
        return Err(Error::TooFewCredentials {
            path: path.to_owned(),
            found: credentials.len(),
            needed,
        });
    }
    Ok(credentials)
}

fn argon2_flags(argon2: Argon2) -> [String; 6] {
    [
        "--argon2-memory-kib".into(),
        argon2.memory_kib.to_string(),
        "--argon2-iterations".into(),
        argon2.iterations.to_string(),
        "--argon2-parallelism".into(),
        argon2.parallelism.to_string(),
    ]
}

fn launch_error(program: &Path, source: std::io::Error) -> Error {
    let hint = match source.kind() {
        std::io::ErrorKind::NotFound if program == Path::new("taskset") => {
            " (pinning needs taskset: install Debian's util-linux package)"
        }
        std::io::ErrorKind::NotFound => " (not found: build it, or pass --server-binary)",
        _ => "",
    };
    Error::Launch {
        program: program.display().to_string(),
        source,
        hint,
    }
}

/// Everything a spawned server needs besides its own [`Server`] settings.
#[derive(Clone, Debug)]
pub struct Launch<'a> {
    pub exe: &'a Path,
    pub main_db_url: &'a str,
    pub balance_source: BalanceSource,
    pub workers: Option<u32>,
    /// `--request-timeout`; `None`: the server's default.
    pub request_timeout: Option<Duration>,
    /// Cores to pin the server to (through `taskset`).
    pub cores: Option<&'a [u32]>,
    /// Folder for SQLite store files.
    pub data_dir: &'a Path,
    pub log: PathBuf,
    /// JWT only: the signing key every replica of the system shares, and a rotation replaces.
    pub key_file: Option<&'a Path>,
    /// The secret callers of `/introspect` present, given to issuers and resource servers in
    /// the environment.
    pub introspection_secret: Option<&'a str>,
}

/// A server the run started.
#[derive(Debug)]
pub struct Spawned {
    pub pid: u32,
    pub base_url: String,
    /// The server's settings as flags, for the report.
    pub settings: Vec<(String, String)>,
    pub log: PathBuf,
    child: Child,
    /// The server's stdin: it exits when this closes (`--exit-with-stdin`).
    _lifeline: Option<tokio::process::ChildStdin>,
}

/// The command-line flags that configure `server`, as (flag, value) pairs; boolean flags have
/// an empty value.
pub fn server_flags(system: &str, server: &Server, launch: &Launch<'_>) -> Vec<(String, String)> {
    let store = store_flag(system, server, launch);
    let mut flags: Vec<(String, String)> = vec![
        ("--listen".into(), "127.0.0.1:0".into()),
        ("--main-db".into(), launch.main_db_url.into()),
        ("--store".into(), store),
        (
            "--balance-source".into(),
            launch.balance_source.as_str().into(),
        ),
        ("--insecure-cookie".into(), String::new()),
        ("--exit-with-stdin".into(), String::new()),
    ];
    let duration = |d: &Duration| humantime::format_duration(*d).to_string();
    match server {
        Server::Session {
            touch,
            ttl,
            idle_timeout,
            ..
        } => {
            if let Some(touch) = touch {
                flags.push(("--touch".into(), touch.as_str().into()));
            }
            if let Some(ttl) = ttl {
                flags.push(("--ttl".into(), duration(ttl)));
            }
            if let Some(idle) = idle_timeout {
                flags.push(("--idle-timeout".into(), duration(idle)));
            }
        }
        Server::Jwt {
            alg,
            revocation,
            transport,
            access_ttl,
            access_token,
            ..
        } => {
            if *access_token == AccessToken::Opaque {
                flags.push(("--access-token".into(), access_token.as_str().into()));
            }
            flags.push(("--alg".into(), alg.as_str().into()));
            flags.push(("--revocation".into(), revocation.as_str().into()));
            flags.push(("--transport".into(), transport.as_str().into()));
            if let Some(ttl) = access_ttl {
                flags.push(("--access-ttl".into(), duration(ttl)));
            }
            if let Some(key_file) = launch.key_file {
                flags.push(("--key-file".into(), key_file.display().to_string()));
            }
        }
    }
    if let Some(workers) = launch.workers {
        flags.push(("--workers".into(), workers.to_string()));
    }
    if let Some(timeout) = &launch.request_timeout {
        flags.push(("--request-timeout".into(), duration(timeout)));
    }
    flags
}

/// `--store` of `system`'s server: the URL, or the SQLite file in the run's data folder.
fn store_flag(system: &str, server: &Server, launch: &Launch<'_>) -> String {
    match server.store() {
        StoreSpec::Memory => "memory".to_owned(),
        StoreSpec::Sqlite => format!("sqlite://{}/{system}-store.db", launch.data_dir.display()),
        StoreSpec::Redis { url }
        | StoreSpec::RedisCluster { url }
        | StoreSpec::Postgres { url } => url.clone(),
        // The run replaces a run-owned store with its URL before any server starts; a name that
        // slipped through would be refused by the server, naming it.
        StoreSpec::Owned { name, .. } => name.clone(),
    }
}

/// Starts `authbench serve session|jwt ...` and waits for its `listening on http://ADDR` line.
/// Its stdout and stderr go to `launch.log`.
pub async fn spawn(system: &str, server: &Server, launch: &Launch<'_>) -> Result<Spawned, Error> {
    let flags = server_flags(system, server, launch);
    let kind = match server {
        Server::Session { .. } => "session",
        Server::Jwt { .. } => "jwt",
    };
    start(system, kind, flags, launch).await
}

/// Starts `authbench serve resource ...` beside `system`, checking requests as `resource` says
/// against the issuer at `issuer_url` (its store for the `store` style, its key algorithm for
/// `jwks`), and waits for its address line.
pub async fn spawn_resource(
    system: &str,
    resource: &Resource,
    (issuer_url, server): (&str, &Server),
    launch: &Launch<'_>,
) -> Result<Spawned, Error> {
    let mut flags: Vec<(String, String)> = vec![
        ("--listen".into(), "127.0.0.1:0".into()),
        ("--main-db".into(), launch.main_db_url.into()),
        (
            "--balance-source".into(),
            launch.balance_source.as_str().into(),
        ),
        ("--exit-with-stdin".into(), String::new()),
        ("--verify".into(), resource.verify.as_str().into()),
    ];
    match resource.verify {
        Verify::Jwks => {
            flags.push((
                "--jwks-url".into(),
                format!("{issuer_url}{}", authbench_contract::routes::JWKS),
            ));
            if let Server::Jwt { alg, .. } = server {
                flags.push(("--algs".into(), alg.as_str().into()));
            }
        }
        Verify::Store => flags.push(("--store".into(), store_flag(system, server, launch))),
        Verify::Introspect => {
            flags.push((
                "--introspect-url".into(),
                format!("{issuer_url}{}", authbench_contract::routes::INTROSPECT),
            ));
            flags.push((
                "--introspect-cache".into(),
                humantime::format_duration(resource.introspect_cache).to_string(),
            ));
        }
    }
    if let Some(workers) = launch.workers {
        flags.push(("--workers".into(), workers.to_string()));
    }
    start(system, "resource", flags, launch).await
}

/// `authbench serve <kind> <flags>`, pinned as `launch` says, until it prints its address.
async fn start(
    system: &str,
    kind: &str,
    flags: Vec<(String, String)>,
    launch: &Launch<'_>,
) -> Result<Spawned, Error> {
    let mut command = match launch.cores {
        Some(cores) => {
            let list: Vec<String> = cores.iter().map(u32::to_string).collect();
            let mut command = Command::new("taskset");
            command.arg("-c").arg(list.join(",")).arg(launch.exe);
            command
        }
        None => Command::new(launch.exe),
    };
    command.arg("serve").arg(kind);
    if let Some(secret) = launch.introspection_secret {
        command.env(authbench_contract::routes::INTROSPECTION_SECRET_ENV, secret);
    }
    for (flag, value) in &flags {
        command.arg(flag);
        if !value.is_empty() {
            command.arg(value);
        }
    }
    let log_file = std::fs::File::create(&launch.log).map_err(|source| Error::File {
        path: launch.log.clone(),
        source,
    })?;
    let stderr = log_file.try_clone().map_err(|source| Error::File {
        path: launch.log.clone(),
        source,
    })?;
    let program = if launch.cores.is_some() {
        Path::new("taskset")
    } else {
        launch.exe
    };
    // Its own process group: a Ctrl-C at the terminal reaches the run, which ends the turn and
    // then stops the servers, rather than killing them mid-turn. The stdin pipe is the safety
    // net: when the run dies however it dies, the pipe closes and the server exits.
    let mut child = command
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| launch_error(program, source))?;
    let pid = child.id().unwrap_or_default();
    let lifeline = child.stdin.take();
    let stdout = child.stdout.take().ok_or_else(|| Error::File {
        path: launch.log.clone(),
        source: std::io::Error::other("no stdout pipe"),
    })?;
    let mut log = tokio::fs::File::from_std(log_file);
    let mut lines = BufReader::new(stdout).lines();
    let address = tokio::time::timeout(START_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = log.write_all(line.as_bytes()).await;
            let _ = log.write_all(b"\n").await;
            if let Some(address) = line.trim().strip_prefix("listening on ") {
                return Some(address.to_owned());
            }
        }
        None
    })
    .await;
    let base_url = match address {
        Ok(Some(address)) => address,
        Ok(None) => {
            let status = match child.wait().await {
                Ok(status) => status.to_string(),
                Err(error) => error.to_string(),
            };
            return Err(Error::Exited {
                system: system.to_owned(),
                status,
                tail: log_tail(&launch.log, 15),
                log: launch.log.clone(),
            });
        }
        Err(_) => {
            return Err(Error::NotReady {
                system: system.to_owned(),
                seconds: START_TIMEOUT.as_secs(),
                log: launch.log.clone(),
            });
        }
    };
    // The rest of stdout keeps going to the log; the pipe must be drained or the server blocks.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = log.write_all(line.as_bytes()).await;
            let _ = log.write_all(b"\n").await;
        }
        let _ = log.flush().await;
    });
    Ok(Spawned {
        pid,
        base_url,
        settings: flags,
        log: launch.log.clone(),
        child,
        _lifeline: lifeline,
    })
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Spawned {
    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(error) => Some(error.to_string()),
        }
    }

    /// SIGTERM, a few seconds to drain, then SIGKILL.
    pub async fn stop(mut self) {
        // Closing stdin first lets the server's stdin watcher finish, so its runtime can exit.
        drop(self._lifeline.take());
        if self.exited().is_some() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
