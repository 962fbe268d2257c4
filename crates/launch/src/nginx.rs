//! [`NginxBalancer`]: nginx from the system's binary as a load balancer in front of a system's
//! replicas, on a free 127.0.0.1 port in its own temp dir. One process (`master_process off`,
//! one worker's event loop), so that its CPU is one pid's and it dies with the run.
//!
//! Routing: round-robin over the replicas, or sticky: each client connection keeps to one
//! replica (consistent hashing on the client's address and port; in production `ip_hash` keys
//! on the client's address alone, which here, every client on 127.0.0.1, would send all to one
//! replica). A credential cannot be the key: a login has none yet, so its session would be
//! created on the replica the empty key picks, and its next requests, keyed by the new cookie,
//! sent elsewhere.
//! Upstream connections are kept alive, as a production balancer keeps them.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::Error;
use crate::process::{self, LaunchError, Log, Placement, SIGKILL, TempKind};

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;
/// Idle connections nginx keeps open to each replica.
const UPSTREAM_KEEPALIVE: u32 = 256;
const LOG: &str = "nginx.log";

/// How nginx spreads requests over the replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalancerRouting {
    RoundRobin,
    /// By client connection: a client that keeps its connection keeps its replica.
    Sticky,
}

/// nginx in front of `upstreams`, killed (and its temp dir removed) when dropped.
#[derive(Debug)]
pub struct NginxBalancer {
    port: u16,
    child: Option<Child>,
    version: String,
    dir: tempfile::TempDir,
}

impl NginxBalancer {
    /// Starts nginx on a free port in front of `upstreams` and returns once it accepts
    /// connections. `cores`: the cores it may run on, if pinned.
    pub fn start(
        upstreams: &[SocketAddr],
        routing: BalancerRouting,
        cores: Option<Vec<usize>>,
    ) -> Result<NginxBalancer, Error> {
        let binary = process::find_on_path("nginx")
            .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| process::is_executable(p)))
            .ok_or(Error::NotInstalled {
                what: "nginx",
                hint: "install Debian's `nginx` package (scripts/test.sh does this when run as root)",
            })?;
        let dir = process::temp_dir(TempKind::Nginx).map_err(|source| Error::Io {
            server: "nginx".into(),
            what: "create a temp dir".into(),
            source,
        })?;
        let version = version(&binary);
        let mut balancer = NginxBalancer {
            port: 0,
            child: None,
            version,
            dir,
        };
        for _ in 0..PORT_ATTEMPTS {
            balancer.port = process::free_port().map_err(|source| Error::Io {
                server: "nginx".into(),
                what: "find a free port".into(),
                source,
            })?;
            let config = config(balancer.port, upstreams, routing, balancer.dir.path());
            match balancer.launch(&binary, &config, cores.clone()) {
                Ok(()) => return Ok(balancer),
                Err(LaunchError::PortInUse) => continue,
                Err(LaunchError::Failed(why)) => return Err(balancer.failure(why)),
            }
        }
        Err(balancer.failure(format!(
            "{PORT_ATTEMPTS} free ports were taken before it bound"
        )))
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `nginx/1.22.1`, as `nginx -v` says.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The configuration it runs with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    /// Its error log (and anything it printed).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG)
    }

    fn launch(
        &mut self,
        binary: &PathBuf,
        config: &str,
        cores: Option<Vec<usize>>,
    ) -> Result<(), LaunchError> {
        let path = self.config_path();
        std::fs::write(&path, config)
            .map_err(|error| LaunchError::Failed(format!("cannot write its config: {error}")))?;
        let (log, stdout, stderr) = Log::open(self.log_path())
            .map_err(|error| LaunchError::Failed(format!("cannot open its log: {error}")))?;
        let mut cmd = Command::new(binary);
        cmd.arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let mut placement = Placement::new(SIGKILL);
        placement.cores = cores;
        let mut child = process::spawn(cmd, placement).map_err(|error| {
            LaunchError::Failed(format!("cannot run {}: {error}", binary.display()))
        })?;
        let port = self.port;
        process::wait_ready(&mut child, READY_TIMEOUT, &log, || {
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
        })?;
        self.child = Some(child);
        Ok(())
    }

    fn failure(&self, why: String) -> Error {
        Error::Failed {
            server: format!(
                "nginx on 127.0.0.1:{} ({})",
                self.port,
                self.dir.path().display()
            ),
            why,
        }
    }
}

impl Drop for NginxBalancer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::stop_child(&mut child, SIGKILL, Duration::ZERO);
        }
    }
}

/// `nginx/1.22.1`, or `nginx` where `-v` says nothing readable.
fn version(binary: &PathBuf) -> String {
    Command::new(binary)
        .arg("-v")
        .output()
        .ok()
        .and_then(|output| {
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            let version = text.trim().strip_prefix("nginx version: ")?.to_owned();
            Some(version)
        })
        .unwrap_or_else(|| "nginx".to_owned())
}

/// The whole configuration: one process, no access log (a line per request would be cost the
/// balancer does not need), HTTP/1.1 with keep-alive to the replicas.
fn config(
    port: u16,
    upstreams: &[SocketAddr],
    routing: BalancerRouting,
    dir: &std::path::Path,
) -> String {
    let mut servers = String::new();
    for upstream in upstreams {
        let _ = writeln!(servers, "        server {upstream};");
    }
    let hash = match routing {
        BalancerRouting::RoundRobin => "",
        BalancerRouting::Sticky => "        hash $remote_addr$remote_port consistent;\n",
    };
    let dir = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream system {{
{hash}{servers}        keepalive {UPSTREAM_KEEPALIVE};
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://system;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_buffering off;
        }}
    }}
}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_routing_hashes_the_credential_and_round_robin_does_not() {
        let upstreams = [
            SocketAddr::from(([127, 0, 0, 1], 9001)),
            SocketAddr::from(([127, 0, 0, 1], 9002)),
        ];
        let dir = std::path::Path::new("/tmp/x");
        let sticky = config(8000, &upstreams, BalancerRouting::Sticky, dir);
        assert!(sticky.contains("hash $remote_addr$remote_port consistent;"));
        assert!(sticky.contains("server 127.0.0.1:9001;\n        server 127.0.0.1:9002;"));
        assert!(sticky.contains("listen 127.0.0.1:8000"));
        let round_robin = config(8000, &upstreams, BalancerRouting::RoundRobin, dir);
        assert!(!round_robin.contains("hash "));
    }
}
