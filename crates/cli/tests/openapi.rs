//! Both servers against their own `/openapi.json`, with schemathesis (a property-based API
//! tester from PyPI) generating requests from the document: valid and invalid bodies, missing
//! and wrong credentials, every operation. No answer may be a 5xx, and every answer must match
//! the document (status, content type, headers, body schema). Bounded in time per run.
//!
//! Each server is tested twice: logged in (the logout operations left out, so that the
//! credential lives through the run) and with no credentials at all, every operation.

mod common;

use std::process::{Command, Stdio};

use common::{Server, http, json_field, login_request, seed_main_db, serve};
/// Seconds of generated requests per schemathesis run.
const SECONDS_PER_RUN: &str = "8";

fn seed(dir: &std::path::Path) -> String {
    seed_main_db(dir, 4)
}

/// POST /login as user1; the answer's head and body.
fn login(address: &str) -> String {
    let answer = http(address, &login_request());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// One schemathesis run against `server`; `credential` is a header for every request.
fn schemathesis(server: &Server, credential: Option<&str>) {
    let mut command = Command::new("st");
    command
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.address))
        .args(["--checks", "all", "--max-time", SECONDS_PER_RUN])
        .args(["--generation-database", "none", "--no-color"]);
    if let Some(header) = credential {
        command
            .args(["--header", header])
            .args(["--exclude-operation-id", "logout"])
            .args(["--exclude-operation-id", "logoutEverywhere"]);
    }
    let output = match command.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "schemathesis (`st`) not found ({error}): pip install schemathesis \
             (scripts/test.sh does it)"
        ),
    };
    let printed = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{printed}"
    );
    assert!(
        printed.contains("Tested:"),
        "schemathesis tested nothing:\n{printed}"
    );
}

#[test]
fn the_session_server_matches_its_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = seed(dir.path());
    let server = serve(
        "session",
        &main_db,
        &[("AUTHBENCH_INSECURE_COOKIE", "true")],
    );
    let id = json_field(&login(&server.address), "session_id");
    schemathesis(&server, Some(&format!("Cookie: sid={id}")));
    schemathesis(&server, None);
}

#[test]
fn the_jwt_server_matches_its_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let main_db = seed(dir.path());
    let server = serve("jwt", &main_db, &[("AUTHBENCH_ALG", "HS256")]);
    let token = json_field(&login(&server.address), "access_token");
    schemathesis(&server, Some(&format!("Authorization: Bearer {token}")));
    schemathesis(&server, None);
}
