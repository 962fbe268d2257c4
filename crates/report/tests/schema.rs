//! The committed JSON Schema matches the types, and report.json files are read back or refused
//! with a message that says why.

use std::collections::BTreeMap;

use authbench_report::{Error, model::*, read, schema, write_json_atomic};

#[test]
fn committed_schema_matches_the_types() {
    let generated = schema::generate();
    if std::env::var_os("AUTHBENCH_BLESS").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(schema::COMMITTED_PATH);
        std::fs::write(path, &generated).expect("write the schema");
        return;
    }
    assert!(
        generated == schema::committed(),
        "{} is out of date: run `AUTHBENCH_BLESS=1 cargo test -p authbench-report --test schema` \
         and commit the result",
        schema::COMMITTED_PATH
    );
}

fn latency(base: u64) -> Latency {
    Latency {
        count: 10,
        min_us: base,
        mean_us: base as f64 * 1.5,
        stdev_us: 1.0,
        p50_us: base,
        p90_us: base * 2,
        p99_us: base * 3,
        p999_us: base * 4,
        p9999_us: base * 4,
        max_us: base * 5,
    }
}

fn sample_report() -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        generator: "authbench 0.1.0".into(),
        scenario: ScenarioInfo {
            name: "sample".into(),
            description: "a sample".into(),
            path: "scenarios/sample.toml".into(),
            source: "name = \"sample\"\n".into(),
            overrides: vec!["repeats=1".into()],
            accounts: 10,
            balances_per_login: 5,
            refresh_every: None,
            logout: false,
            stagger_logins: false,
            think_time_ms: 0.0,
            balance_source: BalanceSource::InProcess,
            step_duration_s: 1.0,
            warmup_s: 0.0,
            repeats: 1,
        },
        machine: Machine {
            hostname: "host".into(),
            os: "Debian".into(),
            kernel: "6.1".into(),
            cpu_model: "cpu".into(),
            cores: 2,
            memory_bytes: 1 << 30,
        },
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        status: RunStatus::Partial {
            reason: "interrupted".into(),
        },
        load_model: LoadModel::Open,
        slo: Slo {
            percentile: 99.0,
            latency_us: 50_000,
            max_error_rate: 0.001,
            operations: vec![Operation::Balance],
        },
        loadgen: LoadgenInfo {
            pid: 1,
            cores: "1".into(),
            worker_threads: 1,
        },
        stores: vec![
            OwnedStoreInfo {
                name: "small-redis".into(),
                kind: StoreKind::Redis,
                url: "redis://127.0.0.1:6400".into(),
                pid: Some(7),
                cores: Some("1".into()),
                settings: [("maxmemory".to_owned(), "64MB".to_owned())].into(),
                cpu_cap: Some(CpuCap {
                    cores: 0.25,
                    enforced_cores: 0.25,
                    mechanism: "cgroup v1 cpu.cfs_quota_us".into(),
                    period_ms: Some(10.0),
                    periods: 100,
                    throttled_periods: 40,
                    throttled_s: 1.5,
                }),
                network: Some(NetworkEmulation {
                    mechanism: "delay relay".into(),
                    rtt_ms: 1.0,
                    measured_rtt_ms: 1.05,
                    direct_rtt_ms: 0.03,
                    relay_pid: 8,
                    relay_cores: None,
                    relay_cpu_s: 0.2,
                }),
                log: Some("logs/store-small-redis.log".into()),
                nodes: Vec::new(),
            },
            OwnedStoreInfo {
                name: "sharded".into(),
                kind: StoreKind::RedisCluster,
                url: "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002".into(),
                pid: None,
                cores: None,
                settings: [("shards".to_owned(), "3".to_owned())].into(),
                cpu_cap: None,
                network: None,
                log: None,
                nodes: vec![OwnedNodeInfo {
                    address: "127.0.0.1:7000".into(),
                    pid: Some(9),
                    cpu_cap: None,
                    log: Some("logs/store-sharded-0.log".into()),
                }],
            },
        ],
        systems: vec![SystemInfo {
            resource: Some(ResourceInfo {
                verify: Verify::Introspect,
                base_url: "http://127.0.0.1:5".into(),
                pid: Some(12),
                introspect_cache_ms: Some(1_000),
                settings: BTreeMap::from([("verify".into(), "introspect".into())]),
                log: Some("logs/a.resource.log".into()),
            }),
            balancer: Some(BalancerInfo {
                kind: Balancer::Nginx,
                version: "nginx/1.22.1".into(),
                base_url: "http://127.0.0.1:2".into(),
                pid: Some(11),
                routing: Routing::Sticky,
                config: Some("logs/a.nginx.conf".into()),
            }),
            name: "a".into(),
            kind: SystemKind::Session,
            base_url: "http://127.0.0.1:1".into(),
            settings: BTreeMap::from([("store".into(), "memory".into())]),
            store: Some(StoreKind::Memory),
            store_version: None,
            store_ceiling: Some(StoreCeiling {
                command: "GET <session key>".into(),
                operations_per_second: 100_000.0,
                cpu_cores: Some(0.9),
                connections: 2,
                in_flight: 32,
                seconds: 2.0,
            }),
            pid: Some(2),
            cores: Some("0".into()),
            log: Some("logs/a.log".into()),
            events: vec![Event {
                at_s: 1.0,
                message: "exited".into(),
            }],
            replicas: vec![
                Replica {
                    base_url: "http://127.0.0.1:1".into(),
                    pid: Some(2),
                    cores: Some("0".into()),
                    log: Some("logs/a.log".into()),
                },
                Replica {
                    base_url: "http://127.0.0.1:3".into(),
                    pid: Some(4),
                    cores: Some("0".into()),
                    log: Some("logs/a.1.log".into()),
                },
            ],
            routing: Some(Routing::RoundRobin),
            store_commands: Some(StoreCommandSample {
                source: "redis_monitor".into(),
                seconds: 1.0,
                commands_seen: 3,
                patterns: vec![KeyPattern {
                    command: "get".into(),
                    key_pattern: "authbench:session:*".into(),
                    count: 3,
                }],
            }),
        }],
        steps: vec![Step {
            index: 0,
            load: 10.0,
            population: Some(1_000),
            results: vec![SystemStep {
                system: "a".into(),
                duration_s: 1.0,
                requests: 10,
                errors: 1,
                requests_per_second: 10.0,
                operations: vec![OperationStats {
                    operation: Operation::Balance,
                    requests: 10,
                    ok: 9,
                    requests_per_second: 10.0,
                    errors: BTreeMap::from([("status_503".into(), 1)]),
                    bytes_sent_per_request: 100.0,
                    bytes_received_per_request: 200.0,
                    latency: latency(100),
                    latency_uncorrected: Some(latency(90)),
                    histogram: "HISTFAAAAB".into(),
                }],
                repeats: vec![RepeatStats {
                    duration_s: 1.0,
                    requests: 10,
                    errors: 1,
                    requests_per_second: 10.0,
                    slo_percentile_us: BTreeMap::from([("balance".into(), 300)]),
                    p50_us: BTreeMap::from([("balance".into(), 120)]),
                    p99_us: BTreeMap::from([("balance".into(), 300)]),
                    store_operations_per_request: Some(1.0),
                    store_cpu_us_per_request: None,
                    server_cpu_us_per_request: Some(50.0),
                    window: Some(MeasuredWindow {
                        start_unix_ms: 1_795_000_000_000,
                        end_unix_ms: 1_795_000_010_000,
                    }),
                    server_rss_bytes: Some(30 << 20),
                    server_open_fds: Some(24),
                    store_keys: Some(1_004),
                }],
                resources: Resources {
                    balancer_cpu_s: Some(0.1),
                    server_cpu_s: Some(0.5),
                    server_peak_rss_bytes: Some(1 << 20),
                    loadgen_cpu_s: 0.2,
                    loadgen_cpu_share: 0.2,
                    loadgen_peak_rss_bytes: 1 << 20,
                },
                store: Some(StoreLoad {
                    kind: StoreKind::Memory,
                    source: StoreLoadSource::ServerMetrics,
                    operations: 10,
                    breakdown: BTreeMap::from([("sessions.load".into(), 10)]),
                    server_counted_operations: Some(10),
                    cpu_s: None,
                    memory_delta_bytes: None,
                    keys_delta: None,
                    nodes: vec![StoreNodeLoad {
                        address: "127.0.0.1:7000".into(),
                        operations: 10,
                        cpu_s: 0.01,
                        keys: 3,
                    }],
                }),
                server_requests: Some(10),
                resource: Some(ResourceLoad {
                    cpu_s: Some(0.2),
                    requests: 9,
                    issuer_calls: 3,
                    issuer_calls_failed: 1,
                    cache_hits: 6,
                    jwks_fetches: 0,
                    jwks_fetches_failed: 0,
                    unknown_kid_refetches: 0,
                    store_operations: 0,
                    cpu_us_per_request: Some(22.2),
                    issuer_calls_per_request: Some(0.333),
                    store_operations_per_request: Some(0.0),
                }),
                population: Some(Population {
                    namespaces: vec!["sessions".into()],
                    live_records: 1_004,
                    added_records: 1_000,
                    load_seconds: 0.1,
                    memory_bytes: Some(2 << 20),
                    bytes_per_record: Some(180.0),
                }),
                timeline: Some(Timeline {
                    points: vec![TimelinePoint {
                        at_s: 0.5,
                        seconds: 0.5,
                        requests: 5,
                        errors: 1,
                        p99_us: 900,
                    }],
                    faults: vec![FaultWindow {
                        kind: "pause".into(),
                        start_s: 0.1,
                        end_s: Some(0.15),
                    }],
                    burst: Some(BurstWindow {
                        start_s: 0.2,
                        end_s: 0.4,
                        factor: 4.0,
                    }),
                }),
                overload: Some(OverloadFigures {
                    before_rps: 10.0,
                    before_p99_us: 800,
                    during_rps: 20.0,
                    during_errors: 1,
                    during_p99_us: 900,
                    after_errors: 0,
                    recovery_s: Some(0.5),
                }),
                faults: vec![FaultFigures {
                    kind: "pause".into(),
                    start_s: 0.1,
                    end_s: Some(0.15),
                    before_rps: 10.0,
                    first_error_s: Some(0.0),
                    recovery_s: Some(0.35),
                    failed_requests: 1,
                    availability: 0.8,
                }],
                credentials_refused: Some(0),
                derived: Derived {
                    store_operations_per_request: Some(1.0),
                    store_cpu_us_per_request: None,
                    server_cpu_us_per_request: Some(50_000.0),
                    balancer_cpu_us_per_request: Some(10.0),
                    store_bytes_per_session: None,
                    store_ops_of_ceiling: Some(0.5),
                    store_cpu_of_ceiling: Some(0.6),
                },
                schedule: Some(Schedule {
                    flows_intended: 10,
                    flows_late: 1,
                    flows_waited_for_connection: 1,
                    max_lag_us: 1500,
                }),
                slo_met: false,
                flags: vec![
                    Flag::Errors { rate: 0.1 },
                    Flag::LoadgenBound {
                        reason: "cpu".into(),
                    },
                    Flag::ConnectionsExhausted { waited: 1 },
                ],
            }],
        }],
        shard: Some(ShardInfo {
            index: 1,
            count: 2,
            start_at: "2026-11-27T10:00:00.000Z".into(),
        }),
        merged: Some(MergeInfo {
            shards: vec![MergedShard {
                index: 1,
                source: "results/a-shard-1".into(),
                hostname: "loadgen-1".into(),
            }],
            min_window_overlap: 0.99,
        }),
    }
}

#[test]
fn a_written_report_validates_against_the_schema_and_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let report = sample_report();
    write_json_atomic(&path, &report).unwrap();

    let schema: serde_json::Value = serde_json::from_str(schema::committed()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&written)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(read(&path).unwrap(), report);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

/// A version-1 file (written before run-owned stores) reads as a run without any.
#[test]
fn a_version_1_report_reads_with_no_owned_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut value = serde_json::to_value(sample_report()).unwrap();
    value["schema_version"] = 1.into();
    value.as_object_mut().unwrap().remove("stores");
    std::fs::write(&path, value.to_string()).unwrap();
    let report = read(&path).expect("a version-1 report reads");
    assert!(report.stores.is_empty());
    assert_eq!(report.schema_version, 1);
}

/// A version-2 file (written before population steps) reads as a run without any.
#[test]
fn a_version_2_report_reads_with_no_population() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let mut value = serde_json::to_value(sample_report()).unwrap();
    value["schema_version"] = 2.into();
    let step = &mut value["steps"][0];
    step.as_object_mut().unwrap().remove("population");
    step["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("population");
    std::fs::write(&path, value.to_string()).unwrap();
    let report = read(&path).expect("a version-2 report reads");
    assert_eq!(report.steps[0].population, None);
    assert_eq!(report.steps[0].results[0].population, None);
}

#[test]
fn old_foreign_and_broken_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");

    std::fs::write(&path, r#"{"schema_version": 0}"#).unwrap();
    let error = read(&path).unwrap_err();
    assert!(matches!(error, Error::Version { found: 0, .. }), "{error}");
    assert!(error.to_string().contains("schema_version 0"), "{error}");

    std::fs::write(&path, r#"{"k6": true}"#).unwrap();
    let error = read(&path).unwrap_err();
    assert!(
        error.to_string().contains("not an authbench report"),
        "{error}"
    );

    std::fs::write(&path, "{").unwrap();
    assert!(matches!(read(&path).unwrap_err(), Error::NotJson { .. }));

    std::fs::write(&path, r#"{"schema_version": 1, "steps": 3}"#).unwrap();
    let error = read(&path).unwrap_err();
    assert!(matches!(error, Error::Shape { .. }), "{error}");

    std::fs::write(&path, r#"{"schema_version": 8}"#).unwrap();
    let error = read(&path).unwrap_err();
    assert!(
        error.to_string().contains("reads versions 1 to 7"),
        "{error}"
    );

    let error = read(&dir.path().join("missing.json")).unwrap_err();
    assert!(error.to_string().contains("missing.json"), "{error}");
}
