//! The Kubernetes manifests in `deploy/kubernetes`: valid against Kubernetes' own schemas
//! (kubernetes-validate, strict), the load generator an Indexed Job whose shard count matches
//! its completions, and the scenario they carry one that authbench accepts. A manifest with a
//! mistake must fail the same check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

/// Every manifest, the run's Jobs included.
fn manifests() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in [manifests_dir(), manifests_dir().join("run")] {
        for entry in std::fs::read_dir(&dir).expect("deploy/kubernetes") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    assert!(found.len() >= 7, "only {} manifests", found.len());
    found
}

fn validate(files: &[PathBuf]) -> Output {
    match Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .args(files)
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(error) => panic!(
            "kubernetes-validate not found ({error}): pip install kubernetes-validate \
             (scripts/test.sh does it)"
        ),
    }
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_manifests_pass_kubernetes_schemas() {
    let output = validate(&manifests());
    assert!(output.status.success(), "{}", printed(&output));
}

#[test]
fn a_manifest_with_a_mistake_fails_the_same_check() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(manifests_dir().join("run/loadgen.yaml")).unwrap();
    for (what, from, to) in [
        ("a misspelt field", "completionMode:", "completionMod:"),
        (
            "a count that is not a number",
            "completions: 3",
            "completions: three",
        ),
        (
            "a container list given as one map",
            "      containers:\n        - name:",
            "      containers:\n          name:",
        ),
    ] {
        assert!(original.contains(from), "{from}");
        let broken = dir.path().join("loadgen.yaml");
        std::fs::write(&broken, original.replacen(from, to, 1)).unwrap();
        let output = validate(&[broken]);
        assert!(
            !output.status.success(),
            "{what} passed:\n{}",
            printed(&output)
        );
    }
}

/// The value of `key: value` on the first line that has it, trimmed.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in the manifest"))
}

#[test]
fn the_load_generator_is_an_indexed_job_with_one_shard_per_completion() {
    let job = std::fs::read_to_string(manifests_dir().join("run/loadgen.yaml")).unwrap();
    assert_eq!(field(&job, "completionMode:"), "Indexed");
    assert_eq!(
        field(&job, "backoffLimit:"),
        "0",
        "a failed shard must not rerun late"
    );
    let completions = field(&job, "completions:");
    assert_eq!(field(&job, "parallelism:"), completions);
    let shard = format!("--shard \"${{JOB_COMPLETION_INDEX}}/{completions}\"");
    assert!(job.contains(&shard), "the shard count is not {completions}");
    assert!(job.contains("--start-at \"${START_AT}\""));
    let merge = std::fs::read_to_string(manifests_dir().join("run/merge.yaml")).unwrap();
    assert!(merge.contains("authbench merge /results/shard-*/*/"));
}

#[test]
fn the_scenario_in_the_config_map_is_one_authbench_accepts() {
    let map = std::fs::read_to_string(manifests_dir().join("50-scenario.yaml")).unwrap();
    let (_, block) = map
        .split_once("cluster.toml: |\n")
        .expect("the scenario's key");
    let scenario: String = block
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line.trim()))
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    std::fs::write(&path, &scenario).unwrap();
    let parsed = authbench_loadgen::scenario::parse(&path, &scenario)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(parsed.systems.len(), 2);
    // Split three ways as the Job splits it, every step still has a VU per shard.
    let shard = authbench_loadgen::run::shard::Shard {
        index: 2,
        count: std::num::NonZeroU32::new(3).unwrap(),
        start_at: std::time::SystemTime::now(),
    };
    shard
        .apply(&parsed)
        .expect("the scenario splits three ways");
}
