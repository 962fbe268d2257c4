//! docker-compose.yml for real: the stack brought up with podman-compose on podman (runc,
//! cgroupfs), with local stand-ins for the official images (tests/compose/images.sh: Debian's
//! redis-server, PostgreSQL and nginx from debootstrap, and this build's authbench), a short
//! run of the load generator's service through nginx against both systems, then down. Zero
//! errors, and every replica answered some of the requests.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BINARY, http, json_field, login_request, report_json, requests_served, text};

/// How long the stack may take to be ready: Postgres initialises its cluster on first start.
const READY_WITHIN: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "{name} not found: the compose stack test needs podman, runc, podman-compose and \
         debootstrap (scripts/test.sh installs them when run as root)"
    )
}

/// The stack of one test: its project name, its images and its results folder; brought down
/// (containers, network, volumes) when dropped, whatever happened.
struct Stack {
    project: String,
    image: String,
    results: tempfile::TempDir,
}

impl Stack {
    fn compose(&self, args: &[&str]) -> Command {
        let mut command = Command::new(tool("podman-compose"));
        command
            .current_dir(repo())
            .args(["-p", &self.project])
            .args(args)
            .env("AUTHBENCH_IMAGE", &self.image)
            .env("REDIS_IMAGE", &self.image)
            .env("POSTGRES_IMAGE", &self.image)
            .env("NGINX_IMAGE", &self.image)
            .env("AUTHBENCH_RESULTS", self.results.path())
            .stdin(Stdio::null());
        command
    }

    fn container(&self, service: &str, index: u32) -> String {
        format!("{}_{service}_{index}", self.project)
    }

    /// `podman inspect` of one container, one Go template.
    fn inspect(&self, container: &str, format: &str) -> Option<String> {
        let output = Command::new(tool("podman"))
            .args(["inspect", "--format", format, container])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    fn address(&self, container: &str) -> String {
        let ip = self
            .inspect(
                container,
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            )
            .unwrap_or_else(|| panic!("no address for {container}"));
        format!("{ip}:8080")
    }
}

impl Stack {
    /// The last lines each container logged, for a failure's message.
    fn logs(&self) -> String {
        let mut all = String::new();
        for service in [
            "redis",
            "postgres",
            "session-server",
            "jwt-server",
            "balancer",
        ] {
            for index in 1..=2 {
                let container = self.container(service, index);
                let Ok(output) = Command::new(tool("podman"))
                    .args(["logs", "--tail", "15", &container])
                    .output()
                else {
                    continue;
                };
                if output.status.success() {
                    all.push_str(&format!("--- {container}\n{}", text(&output)));
                }
            }
        }
        all
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "-v"]).output();
    }
}

fn check(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed:\n{}", text(output));
}

fn served(address: &str) -> u64 {
    requests_served(address)
}

/// Whether user1 logs in through `address` (the balancer's port for one system).
fn logs_in(address: &str) -> bool {
    let request = login_request();
    std::panic::catch_unwind(|| http(address, &request))
        .is_ok_and(|answer| answer.starts_with("HTTP/1.1 200"))
}

fn answers(address: &str) -> bool {
    std::net::TcpStream::connect_timeout(
        &address.parse().expect("an address"),
        Duration::from_millis(500),
    )
    .is_ok()
}

#[test]
fn the_compose_stack_serves_both_systems_through_nginx_from_every_replica() {
    let built = Command::new(repo().join("tests/compose/images.sh"))
        .arg(BINARY)
        .output()
        .expect("run tests/compose/images.sh");
    check(&built, "building the stand-in images");
    let image = String::from_utf8_lossy(&built.stdout).trim().to_owned();
    let stack = Stack {
        project: format!("authbench-test-{}", std::process::id()),
        image,
        results: tempfile::tempdir().unwrap(),
    };
    let started = Instant::now();
    check(
        &stack.compose(&["up", "-d"]).output().unwrap(),
        "podman-compose up",
    );

    // podman-compose does not wait for `condition: service_healthy` on this podman: wait here.
    let seed = stack.container("seed", 1);
    let replicas: Vec<String> = ["session-server", "jwt-server"]
        .iter()
        .flat_map(|service| (1..=2).map(move |n| (service, n)))
        .map(|(service, n)| stack.container(service, n))
        .collect();
    loop {
        let seeded = stack.inspect(&seed, "{{.State.Status}} {{.State.ExitCode}}");
        let up = replicas.iter().all(|c| answers(&stack.address(c)));
        if seeded.as_deref() == Some("exited 0") && up {
            break;
        }
        assert!(
            started.elapsed() < READY_WITHIN,
            "the stack was not ready within {READY_WITHIN:?}: seed {seeded:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Up is not yet serving: a server opens its main_DB and store connections on first use.
    let balancer = stack.address(&stack.container("balancer", 1));
    let host = balancer.trim_end_matches(":8080").to_owned();
    for port in [8080, 8081] {
        while !logs_in(&format!("{host}:{port}")) {
            assert!(
                started.elapsed() < READY_WITHIN,
                "no login through the balancer's port {port} within {READY_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    eprintln!("stack ready in {:?}", started.elapsed());

    let run = stack
        .compose(&["--profile", "run", "run", "--rm", "loadgen"])
        .args([
            "--step-duration",
            "2s",
            "--warmup",
            "2s",
            "--repeats",
            "1",
            "--steps",
            "2",
        ])
        .output()
        .unwrap();
    check(&run, "the load generator's run");
    let runs: Vec<PathBuf> = std::fs::read_dir(stack.results.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("report.json").is_file())
        .collect();
    assert_eq!(runs.len(), 1, "one run folder: {runs:?}");
    let report = report_json(&runs[0]);
    for step in report["steps"].as_array().unwrap() {
        for result in step["results"].as_array().unwrap() {
            assert!(result["requests"].as_u64().unwrap() > 0, "{result}");
            assert_eq!(
                result["errors"],
                0,
                "{}: {}\nthe stack's logs:\n{}",
                result["system"],
                result["operations"],
                stack.logs()
            );
        }
    }
    for replica in &replicas {
        let count = served(&stack.address(replica));
        assert!(count > 0, "{replica} answered no request through nginx");
        eprintln!("{replica}: {count} requests");
    }
    sticky_by_header_keeps_one_token_on_one_replica(&stack);
    eprintln!("stack test took {:?}", started.elapsed());
}

/// The balancer's sticky JWT port: twenty requests with one token all reach one replica.
fn sticky_by_header_keeps_one_token_on_one_replica(stack: &Stack) {
    let balancer = stack.address(&stack.container("balancer", 1));
    let host = balancer.trim_end_matches(":8080");
    let login = http(&format!("{host}:8081"), &login_request());
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let token = json_field(&login, "access_token");
    let replicas = [
        stack.container("jwt-server", 1),
        stack.container("jwt-server", 2),
    ];
    let before: Vec<u64> = replicas.iter().map(|r| served(&stack.address(r))).collect();
    for _ in 0..20 {
        let answer = http(
            &format!("{host}:8083"),
            &format!(
                "GET /user/balance HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
                 Connection: close\r\n\r\n"
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let after: Vec<u64> = replicas.iter().map(|r| served(&stack.address(r))).collect();
    // Each scrape of /metrics is not counted; the 20 balances are.
    let grew: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert!(
        grew == [20, 0] || grew == [0, 20],
        "one token spread over replicas: {grew:?}"
    );
}
