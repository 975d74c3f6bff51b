//! weir's API driven by real AWS clients: starts `weir server` on a free port and runs
//! `tests/clients/sfn_clients.py` (boto3 and the AWS CLI, from the environment
//! `scripts/client-env.sh` creates) against it, then stops the server with SIGTERM and checks it
//! shut down cleanly.
//!
//! Needs `WEIR_PYTHON` (set by `scripts/test.sh`) or `~/.cache/weir/venv/bin/python`; skipped
//! without one, except under `CI=true`, where it must run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn python() -> Option<PathBuf> {
    let candidate = match std::env::var_os("WEIR_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/weir/venv/bin/python"),
    };
    candidate.exists().then_some(candidate)
}

/// A running `weir server`, stopped with SIGTERM by [`Server::stop`].
struct Server {
    child: std::process::Child,
    stderr: BufReader<std::process::ChildStderr>,
    endpoint: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let data = tempfile::tempdir().expect("a temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["server", "--port", "0", "--log-level", "warn", "--data"])
            .arg(data.path())
            .args(extra)
            .env_remove("WEIR_ACCESS_KEYS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("weir server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut line = String::new();
        let endpoint = loop {
            line.clear();
            let read = stderr
                .read_line(&mut line)
                .expect("the server writes stderr");
            assert!(read > 0, "the server exited before listening");
            if let Some(address) = line.trim().strip_prefix("weir: listening on ") {
                break address.to_string();
            }
        };
        Server {
            child,
            stderr,
            endpoint,
            _data: data,
        }
    }

    /// Runs a client script against the server; returns whether it passed and its report.
    fn run(&self, python: &Path, script: &str) -> (bool, String) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/clients")
            .join(script);
        let out = Command::new(python)
            .arg(&script)
            .env("WEIR_ENDPOINT", &self.endpoint)
            .output()
            .expect("python runs");
        let report = String::from_utf8_lossy(&out.stderr).into_owned();
        println!("{report}");
        (out.status.success(), report)
    }

    /// SIGTERM: in-flight requests finish, the store flushes, the process exits 0.
    fn stop(mut self) {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(term.success());
        let mut rest = String::new();
        std::thread::sleep(Duration::from_millis(100));
        let _ = std::io::Read::read_to_string(&mut self.stderr, &mut rest);
        let status = self.child.wait().expect("the server is reaped");
        assert!(
            status.success(),
            "the server did not stop cleanly: {status}\n{rest}"
        );
        assert!(rest.contains("weir: stopped"), "{rest}");
    }
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
    let server = Server::start(&[]);
    let (passed, report) = server.run(&python, "sfn_clients.py");
    server.stop();
    assert!(passed, "the client tests failed:\n{report}");
}

#[test]
fn signed_requests_pass_and_bad_signatures_are_refused() {
    let Some(python) = client_python() else {
        return;
    };
    let server = Server::start(&["--access-key", "AKIDWEIRTEST:secret"]);
    let (passed, report) = server.run(&python, "sigv4_clients.py");
    server.stop();
    assert!(passed, "the signature tests failed:\n{report}");
}
