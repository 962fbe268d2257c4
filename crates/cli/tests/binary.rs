//! The `authbench` binary as users and the load generator run it: `seed`, then `serve session` on
//! port 0 configured through environment variables, the `listening on` line, and a clean exit on
//! SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_authbench");

fn http(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn seeded_server_configured_from_env_serves_then_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "10"])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    assert!(String::from_utf8_lossy(&seed.stdout).contains("seeded 10 users"));

    let mut server = Command::new(BINARY)
        .args(["serve", "session"])
        .env("AUTHBENCH_LISTEN", "127.0.0.1:0")
        .env("AUTHBENCH_MAIN_DB", &main_db)
        .env("AUTHBENCH_STORE", "memory")
        .env("AUTHBENCH_TTL", "90s")
        .env("AUTHBENCH_INSECURE_COOKIE", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .expect("listening line")
        .to_owned();
    assert!(
        !address.ends_with(":0"),
        "a real port is printed: {address}"
    );

    let body = r#"{"username":"user7","password":"pass-7"}"#;
    let login = http(
        &address,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let cookie = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie.contains("Max-Age=90"),
        "AUTHBENCH_TTL applies: {cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "AUTHBENCH_INSECURE_COOKIE applies: {cookie}"
    );

    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        !log.contains("pass-7"),
        "a password reached the log:\n{log}"
    );
    assert!(!log.contains("argon2id$"), "a hash reached the log:\n{log}");
}

#[test]
fn seeding_ten_thousand_users_takes_under_fifteen_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let started = Instant::now();
    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "10000"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "seeding 10,000 users took {elapsed:?}"
    );
}

#[test]
fn unusable_settings_fail_fast_with_the_flag_named() {
    let cases: [(&[&str], &str); 4] = [
        (&["serve", "session", "--listen", "nowhere"], "--listen"),
        (&["serve", "session", "--store", "ftp://x"], "--store"),
        (
            &[
                "serve",
                "session",
                "--store",
                "memory",
                "--main-db",
                "mysql://x/y",
            ],
            "main_DB",
        ),
        (&["seed", "--users", "0"], "--users"),
    ];
    for (args, expected) in cases {
        let output = Command::new(BINARY).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected} in:\n{stderr}"
        );
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let output = Command::new(BINARY)
        .args([
            "serve",
            "session",
            "--store",
            "memory",
            "--main-db",
            &main_db,
            "--listen",
            &address,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}
