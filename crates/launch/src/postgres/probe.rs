//! Whether a starting server is ready, asked without a database driver.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// Whether `postmaster.pid` names this server and says "ready": what `pg_ctl -w` waits for, and
/// proof that the server answering on the port is ours, not a stranger that took the port.
pub(super) fn is_ready(data: &Path, pid: u32) -> bool {
    let Ok(pidfile) = fs::read_to_string(data.join("postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = pidfile.lines().collect();
    lines.first() == Some(&pid.to_string().as_str())
        && lines.get(7).map(|status| status.trim()) == Some("ready")
}

/// Whether a protocol-3.0 startup as `postgres` gets AuthenticationOk (an `R` message with code
/// 0) over TCP, rather than "the database system is starting up".
pub(super) fn accepts_connections(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let params = b"user\0postgres\0database\0postgres\0\0";
    let length = u32::try_from(8 + params.len()).expect("the startup message is tiny");
    let mut startup = Vec::from(length.to_be_bytes());
    startup.extend_from_slice(&196_608_u32.to_be_bytes()); // protocol 3.0
    startup.extend_from_slice(params);
    let mut reply = [0_u8; 9];
    let timeout = Some(Duration::from_secs(1));
    let ok = stream.set_read_timeout(timeout).is_ok()
        && stream.write_all(&startup).is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && reply[0] == b'R'
        && reply[5..9] == [0, 0, 0, 0];
    // Terminate, so the server does not log an unexpected EOF.
    let _ = stream.write_all(&[b'X', 0, 0, 0, 4]);
    ok
}
