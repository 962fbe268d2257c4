//! The shipped scenarios stay valid, and every kind of mistake in a scenario file is reported
//! with the file, the key and what is wrong.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authbench_contract::StoreKind;
use authbench_loadgen::scenario::{
    self, AccessToken, Alg, Argon2, BalanceSource, FaultKind, Load, MainDb, Operation, OwnedServer,
    Resource, Revocation, Routing, Scenario, Server, StoreSpec, Target, Transport, Verify,
};

fn toml_files_in(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios")
}

fn load_ok(path: &Path) -> Scenario {
    scenario::load(path).unwrap_or_else(|error| panic!("{error}"))
}

fn parse_ok(text: &str) -> Scenario {
    scenario::parse(Path::new("/scenarios/minimal.toml"), text)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn parse_err(text: &str) -> String {
    match scenario::parse(Path::new("/scenarios/minimal.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.to_string(),
    }
}

const MINIMAL: &str = r#"
description = "the smallest valid scenario"

[users]
accounts = 10

[flow]
balances_per_login = 5

[load]
model = "closed"
vus = [1, 4]

[timing]
step_duration = "2s"
"#;

#[test]
fn every_shipped_scenario_is_valid_and_documented() {
    let files = toml_files_in(&shipped_dir());
    assert!(
        files.len() >= 6,
        "expected the shipped scenarios, found {files:?}"
    );
    for path in files {
        let scenario = load_ok(&path);
        let stem = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned());
        assert_eq!(Some(scenario.name.clone()), stem, "{}", path.display());
        assert!(
            scenario.source.starts_with('#'),
            "{} must open with comments saying what it answers",
            path.display()
        );
        assert!(
            scenario.source.contains("# Needs:") && scenario.source.contains("# Takes about"),
            "{} must say what it needs installed and how long it takes",
            path.display()
        );
    }
}

#[test]
fn quickstart_measures_for_under_100_seconds() {
    let scenario = load_ok(&shipped_dir().join("quickstart.toml"));
    assert_eq!(scenario.systems.len(), 4);
    assert_eq!(scenario.load_time(), Duration::from_secs(72));
    assert!(scenario.load_time() < Duration::from_secs(100));
    assert_eq!(scenario.balance_source, BalanceSource::InProcess);
    assert_eq!(scenario.main_db, MainDb::Sqlite);
    let stores: Vec<&str> = scenario
        .systems
        .iter()
        .filter_map(|system| match &system.target {
            Target::Spawned(server) => Some(server.store().kind().as_str()),
            Target::External(_) => None,
        })
        .collect();
    assert_eq!(stores, ["sqlite", "memory", "memory", "memory"]);
}

#[test]
fn other_shipped_scenarios_take_three_to_ten_minutes() {
    for path in toml_files_in(&shipped_dir()) {
        if path.ends_with("quickstart.toml") {
            continue;
        }
        let load_time = load_ok(&path).load_time();
        assert!(
            (Duration::from_secs(150)..=Duration::from_secs(600)).contains(&load_time),
            "{}: {load_time:?} of load",
            path.display()
        );
    }
}

/// Each bad file says, in `# expect:` lines, the fragments its message must contain: at least
/// the key and the problem.
#[test]
fn every_bad_scenario_is_refused_naming_file_key_and_problem() {
    let files = toml_files_in(&bad_dir());
    assert!(
        files.len() >= 20,
        "found only {} bad scenarios",
        files.len()
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# expect: "))
            .collect();
        assert!(
            expected.len() >= 2,
            "{}: give the key and the problem",
            path.display()
        );
        let message = match scenario::load(&path) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(error) => error.to_string(),
        };
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        assert!(
            message.contains(&file_name.unwrap_or_default()),
            "no file name in: {message}"
        );
        for fragment in expected {
            assert!(
                message.contains(fragment),
                "{}: expected {fragment:?} in:\n{message}",
                path.display()
            );
        }
    }
}

#[test]
fn unreadable_file_names_its_path() {
    let message = match scenario::load(Path::new("/nonexistent/authbench/missing.toml")) {
        Ok(_) => panic!("a missing file was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("/nonexistent/authbench/missing.toml"),
        "{message}"
    );
}

#[test]
fn omitted_keys_take_their_documented_defaults() {
    let text =
        format!("{MINIMAL}\n[[systems]]\nname = \"s\"\nkind = \"session\"\nstore = \"memory\"\n");
    let scenario = parse_ok(&text);
    assert_eq!(scenario.name, "minimal");
    assert_eq!(scenario.main_db, MainDb::Sqlite);
    assert_eq!(scenario.balance_source, BalanceSource::MainDb);
    assert_eq!(scenario.request_timeout, Duration::from_secs(10));
    assert_eq!(scenario.argon2, Argon2::OWASP);
    assert_eq!(
        scenario.users.max_active,
        NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN)
    );
    assert_eq!(scenario.flow.refresh_every, None);
    assert!(!scenario.flow.logout);
    assert_eq!(scenario.flow.think_time, Duration::ZERO);
    assert_eq!(scenario.timing.warmup, Duration::ZERO);
    assert_eq!(scenario.timing.repeats.get(), 1);
    assert_eq!(scenario.slo.percentile, 99.0);
    assert_eq!(scenario.slo.latency_us, 50_000);
    assert_eq!(scenario.slo.max_error_rate, 0.001);
    assert_eq!(scenario.slo.operations, [Operation::Balance]);
    assert_eq!(scenario.pinning, None);
    assert_eq!(scenario.server_workers, None);
    assert!(matches!(scenario.load, Load::Closed { ref vus } if vus.len() == 2));
}

#[test]
fn jwt_system_defaults_to_hs256_header_tokens_without_revocation() {
    let text = format!(
        "{MINIMAL}\n[[systems]]\nname = \"j\"\nkind = \"jwt\"\n\
         store = \"${{AUTHBENCH_TEST_SURELY_UNSET_2:-redis://127.0.0.1:6379/3}}\"\n"
    );
    let scenario = parse_ok(&text);
    let expected = Server::Jwt {
        store: StoreSpec::Redis {
            url: "redis://127.0.0.1:6379/3".into(),
        },
        alg: Alg::Hs256,
        revocation: Revocation::None,
        transport: Transport::Header,
        access_ttl: None,
        access_token: AccessToken::Jwt,
    };
    assert_eq!(scenario.systems[0].target, Target::Spawned(expected));
    assert_eq!(scenario.systems[0].resource, None);
}

#[test]
fn an_opaque_system_with_an_introspecting_resource_server_and_issuer_faults() {
    let system = r#"
[[systems]]
name = "o"
kind = "opaque"
store = "sqlite"
access_ttl = "2m"
resource = "introspect"
introspect_cache = "500ms"

[[faults]]
kind = "issuer-pause"
at = "500ms"
duration = "1s"
"#;
    let text = format!("{MINIMAL}{system}");
    let scenario = parse_ok(&text);
    let Target::Spawned(Server::Jwt {
        access_token,
        access_ttl,
        ..
    }) = &scenario.systems[0].target
    else {
        panic!("not a token server: {:?}", scenario.systems[0].target);
    };
    assert_eq!(*access_token, AccessToken::Opaque);
    assert_eq!(*access_ttl, Some(Duration::from_secs(120)));
    assert_eq!(
        scenario.systems[0].resource,
        Some(Resource {
            verify: Verify::Introspect,
            introspect_cache: Duration::from_millis(500),
        })
    );
    assert_eq!(scenario.faults[0].kind, FaultKind::IssuerPause);
}

#[test]
fn external_system_resolves_its_csv_beside_the_scenario() {
    let text = format!(
        "{MINIMAL}\n[[systems]]\nname = \"staging\"\nkind = \"external\"\n\
         base_url = \"http://10.0.0.5:8080/\"\ncredentials_csv = \"staging-users.csv\"\n\
         store = \"postgres://u@10.0.0.6/db\"\n"
    );
    let Target::External(external) = parse_ok(&text).systems.remove(0).target else {
        panic!("expected an external system");
    };
    assert_eq!(external.base_urls, ["http://10.0.0.5:8080"]);
    assert_eq!(external.metrics_urls, ["http://10.0.0.5:8080/metrics"]);
    assert_eq!(
        external.credentials_csv,
        Path::new("/scenarios/staging-users.csv")
    );
    assert_eq!(
        external.store.map(|store| store.kind().as_str()),
        Some("postgres")
    );
}

#[test]
fn an_external_system_given_a_list_of_urls_runs_as_that_many_replicas() {
    let text = format!(
        "{MINIMAL}\n[[systems]]\nname = \"fleet\"\nkind = \"external\"\n\
         base_url = [\"http://10.0.0.5:8080\", \"http://10.0.0.6:8080\"]\n\
         metrics_url = [\"http://10.0.0.5:9090/metrics\", \"http://10.0.0.6:9090/metrics\"]\n\
         routing = \"sticky\"\ncredentials_csv = \"users.csv\"\n"
    );
    let system = parse_ok(&text).systems.remove(0);
    assert_eq!(system.replicas.get(), 2);
    assert_eq!(system.routing, Routing::Sticky);
    let Target::External(external) = system.target else {
        panic!("expected an external system");
    };
    assert_eq!(
        external.base_urls,
        ["http://10.0.0.5:8080", "http://10.0.0.6:8080"]
    );
    assert_eq!(
        external.metrics_urls,
        [
            "http://10.0.0.5:9090/metrics",
            "http://10.0.0.6:9090/metrics"
        ]
    );
}

#[test]
fn error_rates_are_percentages_and_rates_may_be_integers() {
    let text = MINIMAL
        .replace("vus = [1, 4]", "flows_per_second = [5, 7.5]")
        .replace("model = \"closed\"", "model = \"open\"")
        .replace("accounts = 10", "accounts = 10\nmax_active = 8")
        + "\n[slo]\nmax_error_rate = \"2%\"\noperations = [\"login\", \"balance\"]\n"
        + "\n[[systems]]\nname = \"s\"\nkind = \"session\"\nstore = \"sqlite\"\n";
    let scenario = parse_ok(&text);
    assert_eq!(scenario.slo.max_error_rate, 0.02);
    assert_eq!(
        scenario.load,
        Load::Open {
            flows_per_second: vec![5.0, 7.5]
        }
    );
    assert_eq!(scenario.users.max_active.get(), 8);
}

#[test]
fn slo_operation_the_flow_never_makes_is_refused() {
    let text = format!(
        "{MINIMAL}\n[slo]\noperations = [\"logout\"]\n\n[[systems]]\nname = \"s\"\n\
         kind = \"session\"\nstore = \"memory\"\n"
    );
    let message = parse_err(&text);
    assert!(message.contains("slo.operations[0]"), "{message}");
    assert!(message.contains("flow.logout is false"), "{message}");
}

#[test]
fn closed_max_active_below_the_largest_step_is_refused() {
    let text = MINIMAL.replace("accounts = 10", "accounts = 10\nmax_active = 2")
        + "\n[[systems]]\nname = \"s\"\nkind = \"session\"\nstore = \"memory\"\n";
    let message = parse_err(&text);
    assert!(
        message.contains("minimal.toml:6: users.max_active"),
        "{message}"
    );
    assert!(
        message.contains("below the largest VU step (4)"),
        "{message}"
    );
}

#[test]
fn error_rate_of_the_wrong_type_says_what_is_allowed() {
    let text = format!(
        "{MINIMAL}\n[slo]\nmax_error_rate = true\n\n[[systems]]\nname = \"s\"\n\
         kind = \"session\"\nstore = \"memory\"\n"
    );
    let message = parse_err(&text);
    assert!(message.contains("slo.max_error_rate"), "{message}");
    assert!(message.contains("a percentage like \"0.1%\""), "{message}");
}

#[test]
fn a_bare_number_error_rate_is_refused_as_the_slo_flag_refuses_it() {
    let text = format!(
        "{MINIMAL}\n[slo]\nmax_error_rate = 1\n\n[[systems]]\nname = \"s\"\n\
         kind = \"session\"\nstore = \"memory\"\n"
    );
    let message = parse_err(&text);
    assert!(message.contains("slo.max_error_rate"), "{message}");
    assert!(message.contains("could mean 1% or 100%"), "{message}");
}

#[test]
fn a_run_owned_store_is_named_by_systems_and_carries_its_limits_and_settings() {
    let text = format!(
        "{MINIMAL}\n\
         [[stores]]\nname = \"small-redis\"\nkind = \"redis\"\ncpus = 0.25\ncores = [0]\n\
         maxmemory = \"256MB\"\nappendfsync = \"everysec\"\n\n\
         [[stores]]\nname = \"pg\"\nkind = \"postgres\"\nshared_buffers = \"64MB\"\n\
         synchronous_commit = \"off\"\n\n\
         [[systems]]\nname = \"s\"\nkind = \"session\"\nstore = \"small-redis\"\n\n\
         [[systems]]\nname = \"j\"\nkind = \"jwt\"\nstore = \"pg\"\nrevocation = \"denylist\"\n"
    );
    let scenario = parse_ok(&text);
    let [redis, postgres] = scenario.stores.as_slice() else {
        panic!("two stores: {:?}", scenario.stores)
    };
    let OwnedServer::Redis(settings) = &redis.server else {
        panic!("{redis:?}")
    };
    assert_eq!(settings.limits.cpus, Some(0.25));
    assert_eq!(settings.limits.cores, Some(vec![0]));
    assert_eq!(settings.maxmemory.as_deref(), Some("256MB"));
    assert_eq!(settings.appendfsync.as_deref(), Some("everysec"));
    let OwnedServer::Postgres(settings) = &postgres.server else {
        panic!("{postgres:?}")
    };
    assert_eq!(settings.shared_buffers.as_deref(), Some("64MB"));
    assert_eq!(settings.synchronous_commit.as_deref(), Some("off"));
    assert!(
        settings.durable,
        "a run-owned PostgreSQL keeps PostgreSQL's durability"
    );
    let Target::Spawned(server) = &scenario.systems[0].target else {
        panic!()
    };
    assert_eq!(
        server.store(),
        &StoreSpec::Owned {
            name: "small-redis".into(),
            kind: StoreKind::Redis
        }
    );
}
