//! The `authbench` binary as users and the load generator run it: `seed`, then `serve session` on
//! port 0 configured through environment variables, the `listening on` line, and a clean exit on
//! SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{BINARY, http};

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

    let login = login(&address, 7);
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

/// Starts `authbench serve jwt` with `args` and `env`, returns the child and its address (or the
/// child's stderr if it exited instead).
fn spawn_jwt(
    main_db: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(std::process::Child, String), String> {
    let mut server = Command::new(BINARY)
        .args([
            "serve",
            "jwt",
            "--listen",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--main-db",
            main_db,
        ])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("listening on http://") {
        Some(address) => Ok((server, address.to_owned())),
        None => {
            let mut stderr = String::new();
            server
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            let _ = server.wait();
            Err(stderr)
        }
    }
}

/// `POST /login` as seeded user `n`, returning the raw response.
fn login(address: &str, n: u32) -> String {
    let body = format!(r#"{{"username":"user{n}","password":"pass-{n}"}}"#);
    http(
        address,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn stop(mut server: std::process::Child) -> String {
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(server.wait().unwrap().success());
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[test]
fn jwt_server_takes_its_secret_from_the_environment_and_refuses_weak_ones() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "3"])
        .output()
        .unwrap();
    assert!(seed.status.success());

    let weak = spawn_jwt(&main_db, &[], &[("AUTHBENCH_JWT_SECRET", "too-short")]).unwrap_err();
    assert!(
        weak.contains("32"),
        "the refusal should say how long a secret must be:\n{weak}"
    );
    assert!(
        !weak.contains("too-short"),
        "the secret reached the log:\n{weak}"
    );

    let secret = "a-benchmark-secret-of-more-than-32-bytes";
    let (server, address) = spawn_jwt(&main_db, &[], &[("AUTHBENCH_JWT_SECRET", secret)]).unwrap();
    let response = login(&address, 2);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let token = response
        .split(r#""access_token":""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let log = stop(server);
    for secret_thing in [secret, &token, "pass-2"] {
        assert!(
            !log.contains(secret_thing),
            "{secret_thing:.12}… reached the log:\n{log}"
        );
    }
}

#[test]
fn jwt_server_loads_a_pem_key_file() {
    use authbench_jwt_server::keys::{Alg, generate_private_pem};
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "3"])
        .output()
        .unwrap();
    assert!(seed.status.success());
    for alg in [Alg::Es256, Alg::EdDsa] {
        let path = dir.path().join(format!("{alg}.pem"));
        std::fs::write(&path, generate_private_pem(alg).unwrap()).unwrap();
        let key_file = path.display().to_string();
        let (server, address) = spawn_jwt(
            &main_db,
            &["--alg", alg.as_str(), "--key-file", &key_file],
            &[],
        )
        .unwrap();
        assert!(login(&address, 2).starts_with("HTTP/1.1 200"));
        stop(server);
    }
    let missing = spawn_jwt(
        &main_db,
        &["--alg", "ES256", "--key-file", "/nonexistent.pem"],
        &[],
    )
    .unwrap_err();
    assert!(
        missing.contains("/nonexistent.pem"),
        "the error should name the file:\n{missing}"
    );
}

#[test]
fn keygen_writes_an_owner_only_key_that_serve_jwt_loads_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let key = dir.path().join("rs256.pem").display().to_string();
    let made = Command::new(BINARY)
        .args(["keygen", "--alg", "RS256", "--out", &key])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = Command::new(BINARY)
        .args(["keygen", "--alg", "RS256", "--out", &key])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing key must not be overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--out"));

    let seed = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "3"])
        .output()
        .unwrap();
    assert!(seed.status.success());
    let (server, address) =
        spawn_jwt(&main_db, &["--alg", "RS256", "--key-file", &key], &[]).unwrap();
    assert!(login(&address, 2).starts_with("HTTP/1.1 200"));
    stop(server);
}
