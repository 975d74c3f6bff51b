//! Test support shared by the tests that need a running `weir server`.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

/// A `weir server` on a free port with its own data directory, stopped with SIGTERM by
/// [`Server::stop`] (killed if a test panics first).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    logs: Option<JoinHandle<String>>,
    dir: tempfile::TempDir,
}

impl Server {
    /// A server with default options.
    #[allow(dead_code)] // Not every test binary starts one without options.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// A server started with extra arguments (`--access-key ...`).
    pub fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["server", "--port", "0", "--log-level", "warn", "--data"])
            .arg(dir.path().join("data"))
            .args(extra)
            .env_remove("WEIR_ACCESS_KEYS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("weir server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let endpoint = listening(&mut stderr);
        // Keep reading the log so the server never blocks on a full pipe.
        let logs = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        });
        Server {
            child,
            endpoint,
            logs: Some(logs),
            dir,
        }
    }

    /// The test's own directory (the server's data lives in `data/` inside it).
    #[allow(dead_code)] // Only some test binaries write files beside the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to a file in the test's directory and returns its path.
    #[allow(dead_code)] // Only some test binaries write files beside the server.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("the temp dir is writable");
        path
    }

    /// One SQS call through the JSON protocol, as boto3 makes it, which must succeed; its
    /// answer.
    pub fn sqs(&self, operation: &str, input: &serde_json::Value) -> serde_json::Value {
        self.call(&format!("AmazonSQS.{operation}"), input)
    }

    /// One Step Functions call, which must succeed; its answer.
    pub fn sfn(&self, operation: &str, input: &serde_json::Value) -> serde_json::Value {
        self.call(&format!("AWSStepFunctions.{operation}"), input)
    }

    /// One of weir's own operations (`Weir.PutMetricAlarm`, `Weir.CreateTopic`, ...), which must
    /// succeed; its answer.
    pub fn weir_call(&self, operation: &str, input: &serde_json::Value) -> serde_json::Value {
        self.call(&format!("Weir.{operation}"), input)
    }

    /// One JSON 1.0 call by its full target, which must succeed; its answer.
    fn call(&self, target: &str, input: &serde_json::Value) -> serde_json::Value {
        let operation = target;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(30)))
                .build(),
        );
        let mut answer = agent
            .post(format!("{}/", self.endpoint))
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", target)
            .send(input.to_string())
            .unwrap_or_else(|e| panic!("{operation}: the server does not answer: {e}"));
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .read_to_string()
            .expect("the answer is text");
        assert_eq!(status, 200, "{operation}: {text}");
        serde_json::from_str(&text).expect("the answer is JSON")
    }

    /// SIGTERM, then checks that the server finished cleanly: exit 0 and "weir: stopped";
    /// returns its log.
    pub fn stop(mut self) -> String {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(term.success());
        let status = self.child.wait().expect("the server is reaped");
        let logs = self
            .logs
            .take()
            .map(|logs| logs.join().expect("the log reader ends"))
            .unwrap_or_default();
        assert!(
            status.success(),
            "the server did not stop cleanly: {status}\n{logs}"
        );
        assert!(logs.contains("weir: stopped"), "{logs}");
        logs
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.logs.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the `weir` binary against a server.
#[allow(dead_code)] // Only the binaries that run `weir` client commands use it.
pub trait Weir {
    /// Runs `weir ARGS` against this server (through `WEIR_ENDPOINT`).
    fn weir(&self, args: &[&str]) -> Run;
}

impl Weir for Server {
    fn weir(&self, args: &[&str]) -> Run {
        run(Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(args)
            .env("WEIR_ENDPOINT", &self.endpoint))
    }
}

/// What one `weir` run printed and how it exited.
#[allow(dead_code)] // Only the binaries that run `weir` client commands use it.
pub struct Run {
    /// The exit status.
    pub code: i32,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON.
    #[allow(dead_code)] // Not every test binary reads JSON answers.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the exit status, showing the output when it differs.
    #[allow(dead_code)] // Only the binaries that run `weir` client commands use it.
    pub fn exits(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `command` to its end.
#[allow(dead_code)] // Only the binaries that run `weir` client commands use it.
pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("weir runs");
    Run {
        code: status.code().expect("weir exits, not killed by a signal"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// The cells of the table row whose first cell is `first`.
#[allow(dead_code)] // Not every test binary reads tables.
pub fn row(table: &str, first: &str) -> Vec<String> {
    table
        .lines()
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .find(|cells: &Vec<String>| cells.first().map(String::as_str) == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in:\n{table}"))
}

/// A temporary path as the `&str` argument it is passed as.
#[allow(dead_code)] // Only the binaries that run `weir` client commands use it.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Reads a starting server's stderr up to the line that names its endpoint, and returns it.
pub fn listening(stderr: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = stderr
            .read_line(&mut line)
            .expect("the server writes stderr");
        assert!(read > 0, "the server exited before listening");
        if let Some(address) = line.trim().strip_prefix("weir: listening on ") {
            return address.to_string();
        }
    }
}

/// An environment variable as a number, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator for the crash tests' kill timings, replayable from a seed.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A `weir server` a crash test kills with SIGKILL and starts again on the same data, its log
/// appended to `server.log` in its directory. Client threads follow it through [`Crashable::target`].
pub struct Crashable {
    dir: PathBuf,
    extra: Vec<String>,
    child: Child,
    target: Target,
}

impl Crashable {
    /// Starts `weir server --data DIR/data` with `extra` arguments.
    pub fn start(dir: &Path, extra: &[&str]) -> Crashable {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        let (child, endpoint) = Crashable::spawn(dir, &extra);
        Crashable {
            dir: dir.to_path_buf(),
            extra,
            child,
            target: Target(std::sync::Arc::new(std::sync::Mutex::new(endpoint))),
        }
    }

    fn spawn(dir: &Path, extra: &[String]) -> (Child, String) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("the log opens");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["server", "--port", "0", "--log-level", "warn", "--data"])
            .arg(dir.join("data"))
            .args(extra)
            .env_remove("WEIR_ACCESS_KEYS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("weir server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let endpoint = listening(&mut stderr);
        std::thread::spawn(move || {
            let mut log = log;
            let _ = std::io::copy(&mut stderr, &mut log);
        });
        (child, endpoint)
    }

    /// Where the server answers now, shared with client threads.
    pub fn target(&self) -> Target {
        self.target.clone()
    }

    /// SIGKILL, then the same server again on the same data.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL is sent");
        self.child.wait().expect("the server is reaped");
        let (child, endpoint) = Crashable::spawn(&self.dir, &self.extra);
        self.child = child;
        *self.target.0.lock().expect("not poisoned") = endpoint;
    }

    /// SIGKILL, for good.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is sent");
        self.child.wait().expect("the server is reaped");
    }
}

/// The endpoint of a [`Crashable`] server, which changes with every restart.
#[derive(Clone)]
pub struct Target(std::sync::Arc<std::sync::Mutex<String>>);

impl Target {
    /// The current endpoint.
    pub fn get(&self) -> String {
        self.0.lock().expect("not poisoned").clone()
    }

    /// One JSON 1.0 call by its full target (`AmazonSQS.SendMessage`): the answer, the error
    /// code of a refusal, or `None` when no server answered (down, or a 5xx): the call may or
    /// may not have been carried out.
    pub fn try_call(
        &self,
        agent: &ureq::Agent,
        target: &str,
        input: &serde_json::Value,
    ) -> Option<Result<serde_json::Value, String>> {
        let answer = agent
            .post(format!("{}/", self.get()))
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", target)
            .send(input.to_string())
            .ok()?;
        let status = answer.status().as_u16();
        let text = answer.into_body().read_to_string().ok()?;
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        match status {
            200 => Some(Ok(body)),
            500.. => None,
            _ => Some(Err(body["__type"].as_str().unwrap_or("?").to_string())),
        }
    }
}

/// A blocking HTTP client that reads error answers rather than failing on them.
pub fn agent(timeout: std::time::Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}
