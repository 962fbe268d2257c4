//! A service authbench did not write, through flow mappings: the Flask shop in
//! `tests/foreign-app` (its own paths, a form login, a `shop_session` cookie in Redis, or an
//! HS256 token nested in the JSON answer with refresh tokens in Redis), run twice against one
//! throwaway Redis and measured by its shipped scenario. Both modes run without errors, the
//! shop's own request counter agrees with the load generator's count, and Redis shows the
//! session reads.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authbench_testkit::redis::RedisServer;
use common::{BINARY, assert_matches_schema, only_run_dir, report_json, text};

const MODULES: &str = "flask, waitress, redis, prometheus_client, jwt";

fn foreign_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/foreign-app")
}

/// One shop process, killed when dropped.
struct Shop {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    listener.local_addr().unwrap().port()
}

fn require_python_modules() {
    let found = Command::new("python3")
        .args(["-c", &format!("import {MODULES}")])
        .output();
    match found {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "the foreign app needs {MODULES}: pip install -r tests/foreign-app/requirements.txt \
             (scripts/test.sh does it); python3 said: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => panic!("python3 not found ({error}); the foreign app test runs it"),
    }
}

fn start_shop(mode: &str, redis_url: &str, logs: &Path) -> Shop {
    let port = free_port();
    let log = logs.join(format!("shop-{mode}.log"));
    let child = Command::new("python3")
        .arg(foreign_dir().join("app.py"))
        .args([
            "--mode",
            mode,
            "--port",
            &port.to_string(),
            "--redis",
            redis_url,
        ])
        .arg("--users")
        .arg(foreign_dir().join("users.csv"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(logs.join(format!("shop-{mode}.err"))).unwrap())
        .spawn()
        .expect("python3 starts the shop");
    let shop = Shop {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    wait_until_healthy(&shop, port, logs, mode);
    shop
}

fn wait_until_healthy(shop: &Shop, port: u16, logs: &Path, mode: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(answer) = get(port, "/api/health")
            && answer.starts_with("HTTP/1.1 200")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let errors = std::fs::read_to_string(logs.join(format!("shop-{mode}.err"))).unwrap_or_default();
    panic!(
        "the {mode} shop at {} did not answer /api/health within 15 s (log {}): {errors}",
        shop.url,
        shop.log.display()
    );
}

/// A plain HTTP/1.1 GET; the whole answer as text.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn the_foreign_shop_runs_through_its_mapping_in_both_modes() {
    require_python_modules();
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let sessions = start_shop("sessions", &redis.url(), dir.path());
    let jwt = start_shop("jwt", &redis.url(), dir.path());

    let results = dir.path().join("results");
    let output = Command::new(BINARY)
        .arg("run")
        .arg(foreign_dir().join("shop.toml"))
        .args(["--step-duration", "1s", "--warmup", "500ms", "--steps", "2"])
        .arg("--results")
        .arg(&results)
        .env("SHOP_SESSIONS_URL", &sessions.url)
        .env("SHOP_JWT_URL", &jwt.url)
        .env("SHOP_REDIS_URL", redis.url())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("as many as were sent"), "{stdout}");
    let report = report_json(&only_run_dir(&results));
    assert_matches_schema(&report);

    for step in report["steps"].as_array().unwrap() {
        for result in step["results"].as_array().unwrap() {
            check_step(result);
        }
    }
    for system in report["systems"].as_array().unwrap() {
        check_system(system);
    }
}

/// Every request answered as the mapping expects, and as many counted by the shop itself.
fn check_step(result: &serde_json::Value) {
    let system = result["system"].as_str().unwrap();
    let requests = result["requests"].as_u64().unwrap();
    assert!(requests > 0, "{system}: no requests");
    assert_eq!(result["errors"], 0, "{system}: {}", result["operations"]);
    assert_eq!(
        result["server_requests"].as_u64(),
        Some(requests),
        "{system}: the shop's own counter against the load generator's"
    );
    let count = |operation: &str| {
        result["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["operation"] == operation)
            .map_or(0, |o| o["requests"].as_u64().unwrap())
    };
    let balances = count("balance");
    assert!(count("login") > 0 && balances > 0, "{system}");
    let commands = &result["store"]["breakdown"];
    let command = |name: &str| commands[name].as_u64().unwrap_or(0);
    match system {
        // The session read: one GET per protected request, and no refresh (no refresh token).
        "shop-sessions" => {
            assert_eq!(count("refresh"), 0);
            assert!(command("get") >= balances, "{system}: {commands}");
        }
        // Tokens are checked without Redis: it sees logins and refreshes only.
        "shop-jwt" => {
            assert!(count("refresh") > 0, "{system}: refresh every 10 balances");
            assert_eq!(command("get"), 0, "{system}: {commands}");
            assert!(command("getdel") > 0, "{system}: {commands}");
        }
        other => panic!("unexpected system {other}"),
    }
}

/// The mapping is recorded, and Redis's own view names the session reads by key pattern.
fn check_system(system: &serde_json::Value) {
    let name = system["name"].as_str().unwrap();
    let settings = &system["settings"];
    assert_eq!(
        settings["mapping.login"], "POST /api/auth/token (form body) -> 200",
        "{name}"
    );
    let sample = &system["store_commands"];
    assert_eq!(sample["source"], "redis_monitor", "{name}: {sample}");
    let patterns = sample["patterns"].as_array().expect("patterns");
    let first = &patterns[0];
    match name {
        "shop-sessions" => {
            assert_eq!(
                (first["command"].as_str(), first["key_pattern"].as_str()),
                (Some("get"), Some("shop:session:*")),
                "{patterns:?}"
            );
        }
        // Keyless commands (a new connection's HELLO) aside, only refresh tokens.
        _ => assert!(
            patterns
                .iter()
                .all(|p| p["key_pattern"] == "shop:refresh:*" || p["key_pattern"] == ""),
            "{name}: {patterns:?}"
        ),
    }
}
