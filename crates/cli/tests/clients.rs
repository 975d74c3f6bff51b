//! weir's API driven by real AWS clients: starts `weir server` on a free port and runs a script
//! of `tests/clients/` (`sfn_clients.py`, `activity_clients.py`, `sigv4_clients.py`,
//! `sqs_clients.py`: boto3 and the AWS CLI, from the environment `scripts/client-env.sh`
//! creates) against it, then stops the server with SIGTERM and checks it shut down cleanly.
//!
//! Needs `WEIR_PYTHON` (set by `scripts/test.sh`) or `~/.cache/weir/venv/bin/python`; skipped
//! without one, except under `CI=true`, where it must run.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::Server;

fn python() -> Option<PathBuf> {
    let candidate = match std::env::var_os("WEIR_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/weir/venv/bin/python"),
    };
    candidate.exists().then_some(candidate)
}

/// Runs a client script against `server`; returns whether it passed and its report.
fn run_script(server: &Server, python: &Path, script: &str) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .join(script);
    let out = Command::new(python)
        .arg(&script)
        .env("WEIR_ENDPOINT", &server.endpoint)
        .output()
        .expect("python runs");
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{report}");
    (out.status.success(), report)
}

/// The client environment's python, or `None` (then the test is skipped, except under CI).
fn client_python() -> Option<PathBuf> {
    let found = python();
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must run the client tests: run scripts/client-env.sh first"
        );
        eprintln!("skipped: no client environment (run scripts/client-env.sh)");
    }
    found
}

#[test]
fn boto3_and_the_aws_cli_drive_the_step_functions_api() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start();
    let (passed, report) = run_script(&server, &python, "sfn_clients.py");
    server.stop();
    assert!(passed, "the client tests failed:\n{report}");
}

#[test]
fn activity_workers_written_with_boto3_poll_heartbeat_and_answer() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start();
    let (passed, report) = run_script(&server, &python, "activity_clients.py");
    server.stop();
    assert!(passed, "the activity worker tests failed:\n{report}");
}

#[test]
fn prometheus_parses_the_metrics_endpoint() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start();
    let (passed, report) = run_script(&server, &python, "metrics_clients.py");
    server.stop();
    assert!(passed, "the metrics tests failed:\n{report}");
}

#[test]
fn signed_requests_pass_and_bad_signatures_are_refused() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start_with(&["--access-key", "AKIDWEIRTEST:secret"]);
    let (passed, report) = run_script(&server, &python, "sigv4_clients.py");
    server.stop();
    assert!(passed, "the signature tests failed:\n{report}");
}

#[test]
fn boto3_drives_topics_through_the_sns_api() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start();
    let (passed, report) = run_script(&server, &python, "sns_clients.py");
    server.stop();
    assert!(passed, "the SNS client tests failed:\n{report}");
}

#[test]
fn boto3_drives_durable_queues_through_the_sqs_api() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start();
    let (passed, report) = run_script(&server, &python, "sqs_clients.py");
    server.stop();
    assert!(passed, "the SQS client tests failed:\n{report}");
}
