//! Task logs: what each attempt printed, kept as store documents.
//!
//! # Format
//! One document of kind [`KIND`] per attempt, keyed `EXECUTION_ARN|START|IDEMPOTENCY_KEY`
//! (`START` in RFC 3339 with nanoseconds, so one execution's logs list in the order they started
//! and a prefix listing on `EXECUTION_ARN|` finds exactly that execution's). The body is JSON
//! owned by this module: execution ARN, state, attempt, idempotency key, function name (none for
//! `http:invoke`), resource, start and end (microseconds since the epoch), status, error and cause
//! (when the attempt failed) and the two streams, each the last [`STREAM_LIMIT`] bytes with a
//! `truncated` flag.
//!
//! An attempt delivered twice (the engine redelivers work after a crash) ran twice and has two
//! logs. A log that cannot be written is reported at WARN level and does not fail the task: the
//! log is a record of the work, not part of it.

use crate::Error;
use jiff::Timestamp;
use serde_json::{Value, json};
use store::{Document, Store};

/// The document kind of task logs.
pub const KIND: &str = "task-log";

/// How many bytes of each stream a log keeps: the last ones.
pub const STREAM_LIMIT: usize = 256 * 1024;

/// The end of a stream: its last bytes, up to a limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Tail {
    /// Adds `chunk` at the end, dropping the oldest bytes beyond [`STREAM_LIMIT`].
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim in large steps so a chatty stream does not move its buffer on every line.
        if self.bytes.len() > 2 * STREAM_LIMIT {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.bytes.len() > STREAM_LIMIT {
            let cut = self.bytes.len() - STREAM_LIMIT;
            self.bytes.drain(..cut);
            self.truncated = true;
        }
    }

    /// What the stream holds so far, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The kept text (invalid UTF-8 replaced) and whether earlier bytes were dropped.
    pub(crate) fn finish(mut self) -> Stream {
        self.trim();
        Stream {
            text: String::from_utf8_lossy(&self.bytes).into_owned(),
            truncated: self.truncated,
        }
    }
}

/// One captured stream of an attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// The last [`STREAM_LIMIT`] bytes, as text.
    pub text: String,
    /// Whether earlier output was dropped.
    pub truncated: bool,
}

/// The log of one task attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLog {
    /// The execution it belongs to.
    pub execution_arn: String,
    /// The Task state's name.
    pub state: String,
    /// The attempt number (0 for the first).
    pub attempt: u64,
    /// The attempt's idempotency key.
    pub idempotency_key: String,
    /// The function called (none for `http:invoke` or an attempt refused before a function was
    /// found).
    pub function: Option<String>,
    /// The Task state's resource.
    pub resource: String,
    /// When the attempt started (before waiting for a concurrency slot).
    pub started: Timestamp,
    /// When it ended.
    pub ended: Timestamp,
    /// How it ended: `exit status 0`, `killed: timeout`, `HTTP 200 OK`, `not started`, ...
    pub status: String,
    /// The error, when the attempt failed.
    pub error: Option<String>,
    /// The cause, when the attempt failed.
    pub cause: Option<String>,
    /// Standard output (for an HTTP call: the response body).
    pub stdout: Stream,
    /// Standard error (empty for HTTP calls).
    pub stderr: Stream,
}

impl TaskLog {
    /// The document key: see the module documentation.
    pub fn key(&self) -> String {
        format!(
            "{}|{:.9}|{}",
            self.execution_arn, self.started, self.idempotency_key
        )
    }

    fn body(&self) -> String {
        json!({
            "execution": self.execution_arn,
            "state": self.state,
            "attempt": self.attempt,
            "idempotency-key": self.idempotency_key,
            "function": self.function,
            "resource": self.resource,
            "started": self.started.as_microsecond(),
            "ended": self.ended.as_microsecond(),
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "stdout": {"text": self.stdout.text, "truncated": self.stdout.truncated},
            "stderr": {"text": self.stderr.text, "truncated": self.stderr.truncated},
        })
        .to_string()
    }

    fn from_document(document: &Document) -> Result<TaskLog, Error> {
        let corrupt = |detail: &str| Error::Corrupt {
            what: format!("task log {}", document.key),
            detail: detail.to_string(),
        };
        let value: Value =
            serde_json::from_str(&document.body).map_err(|e| corrupt(&e.to_string()))?;
        let text = |key: &str| {
            value[key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| corrupt(&format!("no {key}")))
        };
        let optional = |key: &str| value[key].as_str().map(str::to_string);
        let time = |key: &str| {
            value[key]
                .as_i64()
                .and_then(|n| Timestamp::from_microsecond(n).ok())
                .ok_or_else(|| corrupt(&format!("no {key} time")))
        };
        let stream = |key: &str| Stream {
            text: value[key]["text"].as_str().unwrap_or_default().to_string(),
            truncated: value[key]["truncated"].as_bool().unwrap_or(false),
        };
        Ok(TaskLog {
            execution_arn: text("execution")?,
            state: text("state")?,
            attempt: value["attempt"]
                .as_u64()
                .ok_or_else(|| corrupt("no attempt"))?,
            idempotency_key: text("idempotency-key")?,
            function: optional("function"),
            resource: text("resource")?,
            started: time("started")?,
            ended: time("ended")?,
            status: text("status")?,
            error: optional("error"),
            cause: optional("cause"),
            stdout: stream("stdout"),
            stderr: stream("stderr"),
        })
    }
}

/// Writes one attempt's log; a log that exists already (the same attempt started at the same
/// nanosecond) is left as it is.
pub(crate) async fn write(store: &dyn Store, log: &TaskLog) -> Result<(), Error> {
    match store.put_document(KIND, &log.key(), log.body(), None).await {
        Ok(_) | Err(store::Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(Error::Store(e)),
    }
}

/// The logs of one execution's attempts, in the order they started: all of them, or those of one
/// state, or of one attempt number, or both.
pub async fn logs(
    store: &dyn Store,
    execution_arn: &str,
    state: Option<&str>,
    attempt: Option<u64>,
) -> Result<Vec<TaskLog>, Error> {
    let documents = store
        .list_documents(KIND, &format!("{execution_arn}|"))
        .await
        .map_err(Error::Store)?;
    let mut logs = Vec::new();
    for document in &documents {
        let log = TaskLog::from_document(document)?;
        // Execution names cannot contain `|`, so the prefix matches this execution only; the
        // body's ARN is checked all the same, against a key written by something else.
        if log.execution_arn != execution_arn
            || state.is_some_and(|s| s != log.state)
            || attempt.is_some_and(|a| a != log.attempt)
        {
            continue;
        }
        logs.push(log);
    }
    logs.sort_by_key(|log| log.started);
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_keeps_the_last_bytes_and_says_it_cut() {
        let mut tail = Tail::default();
        tail.push(b"first line\n");
        for _ in 0..(3 * STREAM_LIMIT / 1000) {
            tail.push(&[b'x'; 1000]);
        }
        tail.push(b"last line\n");
        let stream = tail.finish();
        assert!(stream.truncated);
        assert_eq!(stream.text.len(), STREAM_LIMIT);
        assert!(stream.text.ends_with("last line\n"));
        assert!(!stream.text.contains("first line"));

        let mut short = Tail::default();
        short.push(b"hello");
        assert_eq!(
            short.finish(),
            Stream {
                text: "hello".into(),
                truncated: false
            }
        );
    }
}
