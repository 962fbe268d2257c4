//! `authbench run` with replicas: each replica is its own server process, the load generator
//! spreads requests over them as a load balancer would, and the report shows what claim C6 says:
//! sessions kept in each process's memory break under round-robin routing and work with sticky
//! routing, while JWT replicas sharing one signing key need no shared state.

mod common;

use std::process::{Command, Stdio};

use common::{BINARY, assert_matches_schema, only_run_dir, report_json, spawn_listening, text};

const SCENARIO: &str = r#"
description = "two replicas each, tiny durations"
main_db = "sqlite"
balance_source = "in-process"

[users]
accounts = 50

[argon2]
memory_kib = 1024
iterations = 1

[flow]
balances_per_login = 20
logout = false

[load]
model = "closed"
vus = [4]

[timing]
step_duration = "1s"
warmup = "0s"
repeats = 1

[[systems]]
name = "memory-round-robin"
kind = "session"
store = "memory"
replicas = 2

[[systems]]
name = "memory-sticky"
kind = "session"
store = "memory"
replicas = 2
routing = "sticky"

[[systems]]
name = "jwt"
kind = "jwt"
store = "memory"
replicas = 3
"#;

fn process_is_alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn replicas_share_the_load_and_only_per_process_sessions_break_under_round_robin() {
    let results = tempfile::tempdir().unwrap();
    let scenario = results.path().join("scale.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&scenario)
        .arg("--results")
        .arg(results.path().join("out"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let run_dir = only_run_dir(&results.path().join("out"));
    let report = report_json(&run_dir);
    assert_matches_schema(&report);

    let systems = report["systems"].as_array().unwrap();
    let replicas_of = |name: &str| {
        let system = systems.iter().find(|s| s["name"] == name).unwrap();
        (
            system["replicas"].as_array().unwrap().clone(),
            system["routing"].clone(),
        )
    };
    for (name, count, routing) in [
        ("memory-round-robin", 2, "round-robin"),
        ("memory-sticky", 2, "sticky"),
        ("jwt", 3, "round-robin"),
    ] {
        let (replicas, shown) = replicas_of(name);
        assert_eq!(replicas.len(), count, "{name}");
        assert_eq!(shown, routing, "{name}");
        let mut pids: Vec<u64> = replicas
            .iter()
            .map(|r| r["pid"].as_u64().unwrap())
            .collect();
        pids.dedup();
        assert_eq!(pids.len(), count, "{name}: one process per replica");
        for (index, replica) in replicas.iter().enumerate() {
            let log = run_dir.join(replica["log"].as_str().unwrap());
            assert!(log.is_file(), "{name} replica {index}: {}", log.display());
        }
        // Every replica was stopped with the run.
        assert!(pids.iter().all(|pid| !process_is_alive(*pid)), "{name}");
    }

    let result = |name: &str| {
        report["steps"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["system"] == name)
            .unwrap()
            .clone()
    };
    for name in ["memory-round-robin", "memory-sticky", "jwt"] {
        let r = result(name);
        // The servers' own counts, summed over the replicas, are the load generator's.
        assert_eq!(r["server_requests"], r["requests"], "{name}");
    }
    let balance_401 = |name: &str| {
        let r = result(name);
        let balance = r["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|op| op["operation"] == "balance")
            .unwrap()
            .clone();
        let refused = balance["errors"]["status_401"].as_u64().unwrap_or(0);
        (refused, balance["requests"].as_u64().unwrap())
    };
    // A replica has never seen a session made on its sibling: about half the balance requests
    // land there and are refused.
    let (refused, balances) = balance_401("memory-round-robin");
    let share = refused as f64 / balances as f64;
    assert!(
        (0.3..=0.8).contains(&share),
        "{refused} of {balances} refused"
    );
    // Sticky routing keeps each user on the replica that knows the session; JWT replicas all
    // verify with the one key the run made for them.
    for name in ["memory-sticky", "jwt"] {
        assert_eq!(result(name)["errors"], 0, "{name}: {:?}", balance_401(name));
    }
    assert!(!run_dir.join("data").exists(), "the shared key is scratch");
}

/// A server started by the test, as someone else's deployment would be; killed when dropped.
struct Deployed {
    child: std::process::Child,
    address: String,
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deploy_jwt(main_db: &str, key: &std::path::Path) -> Deployed {
    let mut command = Command::new(BINARY);
    command
        .args([
            "serve",
            "jwt",
            "--listen",
            "127.0.0.1:0",
            "--store",
            "memory",
        ])
        .args(["--alg", "HS256", "--main-db", main_db, "--key-file"])
        .arg(key);
    let (child, address) = spawn_listening(&mut command);
    Deployed {
        child,
        address: format!("http://{address}"),
    }
}

/// The balance requests a server counted, from its own /metrics.
fn balances_counted(base_url: &str) -> u64 {
    use std::io::{Read as _, Write as _};
    let address = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|line| {
            line.starts_with("authbench_http_requests_total{") && line.contains("/user/balance")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[test]
fn an_external_system_given_two_base_urls_is_driven_on_both() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let seeded = Command::new(BINARY)
        .args(["seed", "--main-db", &main_db, "--users", "20"])
        .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"])
        .arg("--credentials-csv")
        .arg(dir.path().join("users.csv"))
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{}", text(&seeded));
    let key = dir.path().join("shared.key");
    let keygen = Command::new(BINARY)
        .args(["keygen", "--alg", "HS256", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", text(&keygen));
    let replicas = [deploy_jwt(&main_db, &key), deploy_jwt(&main_db, &key)];

    let scenario = dir.path().join("fleet.toml");
    std::fs::write(
        &scenario,
        format!(
            "description = \"an external fleet of two\"\n[users]\naccounts = 20\n\
             [flow]\nbalances_per_login = 20\nlogout = false\n\
             [load]\nmodel = \"closed\"\nvus = [4]\n\
             [timing]\nstep_duration = \"1s\"\nwarmup = \"0s\"\n\
             [[systems]]\nname = \"fleet\"\nkind = \"external\"\n\
             base_url = [\"{}\", \"{}\"]\ncredentials_csv = \"users.csv\"\n",
            replicas[0].address, replicas[1].address
        ),
    )
    .unwrap();
    let output = Command::new(BINARY)
        .arg("run")
        .arg(&scenario)
        .arg("--results")
        .arg(dir.path().join("out"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let run_dir = only_run_dir(&dir.path().join("out"));
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let system = &report["systems"][0];
    assert_eq!(system["replicas"].as_array().unwrap().len(), 2);
    assert_eq!(system["routing"], "round-robin");
    let result = &report["steps"][0]["results"][0];
    assert_eq!(result["errors"], 0, "{result}");
    // Both /metrics were read and summed: the servers' count is the load generator's.
    assert_eq!(result["server_requests"], result["requests"]);
    // Round robin reached both replicas, about evenly.
    let counted: Vec<u64> = replicas
        .iter()
        .map(|replica| balances_counted(&replica.address))
        .collect();
    let (low, high) = (counted[0].min(counted[1]), counted[0].max(counted[1]));
    assert!(
        low > 0 && high <= 2 * low,
        "balances per replica: {counted:?}"
    );
}

const BEHIND_NGINX: &str = r#"
description = "replicas behind nginx, and the same replicas routed by the load generator"
main_db = "sqlite"
balance_source = "in-process"

[users]
accounts = 50

[argon2]
memory_kib = 1024
iterations = 1

[flow]
balances_per_login = 20

[load]
model = "closed"
vus = [4]

[timing]
step_duration = "1s"
warmup = "0s"
repeats = 1

[[systems]]
name = "memory-sticky-nginx"
kind = "session"
store = "memory"
replicas = 2
routing = "sticky"
balancer = "nginx"

[[systems]]
name = "jwt-nginx"
kind = "jwt"
store = "memory"
alg = "HS256"
replicas = 2
balancer = "nginx"

[[systems]]
name = "jwt-direct"
kind = "jwt"
store = "memory"
alg = "HS256"
replicas = 2
"#;

/// `balancer = "nginx"`: the run starts nginx in front of the replicas, sends everything to
/// it, counts its CPU, keeps its configuration, compares the hop with the load generator's own
/// routing in C6, and leaves no nginx behind.
#[test]
fn replicas_behind_nginx_answer_through_it_and_its_hop_is_measured() {
    let (_dir, run_dir, _output) = common::run_scenario(BEHIND_NGINX);
    let report = report_json(&run_dir);
    assert_matches_schema(&report);
    let systems = report["systems"].as_array().unwrap();
    let mut nginx_pids = Vec::new();
    for name in ["memory-sticky-nginx", "jwt-nginx"] {
        let info = systems.iter().find(|s| s["name"] == name).unwrap();
        let balancer = &info["balancer"];
        assert!(
            balancer["version"].as_str().unwrap().starts_with("nginx/"),
            "{balancer}"
        );
        assert_ne!(balancer["base_url"], info["replicas"][0]["base_url"]);
        let config = balancer["config"].as_str().unwrap();
        let kept = std::fs::read_to_string(run_dir.join(config)).unwrap();
        for replica in info["replicas"].as_array().unwrap() {
            let address = replica["base_url"]
                .as_str()
                .unwrap()
                .trim_start_matches("http://");
            assert!(kept.contains(&format!("server {address};")), "{kept}");
        }
        nginx_pids.push(balancer["pid"].as_u64().unwrap());
    }
    for result in report["steps"][0]["results"].as_array().unwrap() {
        let name = result["system"].as_str().unwrap();
        assert_eq!(result["errors"], 0, "{name}: {result}");
        assert_eq!(result["server_requests"], result["requests"], "{name}");
        let balancer_cpu = result["resources"]["balancer_cpu_s"].as_f64();
        if name.ends_with("-nginx") {
            assert!(
                balancer_cpu.is_some_and(|cpu| cpu > 0.0),
                "{name}: {result}"
            );
        } else {
            assert_eq!(balancer_cpu, None, "{name}");
        }
    }
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("jwt-nginx took every request through nginx/"));
    assert!(html.contains("of jwt-direct, whose requests the load generator spread itself"));
    for pid in nginx_pids {
        assert!(!process_is_alive(pid), "nginx {pid} outlived the run");
    }
}
