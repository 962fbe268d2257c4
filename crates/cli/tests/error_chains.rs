//! What a user reads when something fails: each layer says what it was doing once, and the line
//! ends with the root cause as the store, the database or the OS gave it. Exact texts, so a
//! layer that starts repeating its source, or a cause that gets lost, fails here.

use std::process::Command;

use authbench_testkit::postgres::PostgresServer;

const BINARY: &str = env!("CARGO_BIN_EXE_authbench");

/// The last line `authbench` wrote to stderr, and that it failed.
fn failure(args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("authbench runs");
    assert!(!output.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn an_unreachable_redis_ends_with_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    let store = "redis://127.0.0.1:1";
    for (kind, server, what) in [
        ("session", "session", "session store"),
        ("jwt", "JWT", "store"),
    ] {
        assert_eq!(
            failure(&["serve", kind, "--store", store, "--main-db", &main_db]),
            format!(
                "error: cannot start the {server} server: {what} {store}: store unavailable: \
                 Connection refused (os error 111)"
            )
        );
    }
}

#[test]
fn a_postgres_sessions_table_of_another_shape_ends_with_the_servers_message_and_code() {
    let postgres = PostgresServer::start();
    let url = postgres.fresh_database();
    let database = url.rsplit('/').next().unwrap().to_owned();
    postgres.psql(&database, "CREATE TABLE sessions (id integer)");
    let dir = tempfile::tempdir().unwrap();
    let main_db = format!("sqlite://{}", dir.path().join("main.db").display());
    assert_eq!(
        failure(&["serve", "session", "--store", &url, "--main-db", &main_db]),
        format!(
            "error: cannot start the session server: session store {url}: cannot open store: \
             creating the sessions table: column \"username\" does not exist (SQLSTATE 42703)"
        )
    );
}

#[test]
fn a_main_db_that_cannot_be_created_ends_with_sqlites_reason() {
    let main_db = "sqlite:///nonexistent-authbench-dir/main.db";
    assert_eq!(
        failure(&[
            "serve",
            "session",
            "--store",
            "memory",
            "--main-db",
            main_db
        ]),
        format!(
            "error: cannot start the session server: cannot open main_DB {main_db}: error \
             returned from database: (code: 14) unable to open database file"
        )
    );
}

#[test]
fn a_refused_scenario_override_names_the_flag_the_key_and_what_is_allowed() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.toml"
    );
    assert_eq!(
        failure(&["run", scenario, "--warmup", "soon"]),
        format!(
            "error: {scenario}: --warmup (replacing timing.warmup): \"soon\" is not a duration \
             (expected number at 0); write a number and a unit, e.g. \"250ms\", \"5s\" or \"2m\""
        )
    );
}
