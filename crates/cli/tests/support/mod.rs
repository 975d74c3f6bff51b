//! Test support shared by the tests that need a running `weir server`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

    /// SIGTERM, then checks that the server finished cleanly: exit 0 and "weir: stopped".
    pub fn stop(mut self) {
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
