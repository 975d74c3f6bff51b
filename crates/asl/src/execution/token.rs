//! Task tokens: how a callback (`SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`) finds
//! the task it answers.
//!
//! A token names the execution, the thread and the wake id of one task attempt, so it needs no
//! table of its own: the execution's snapshot already says whether that attempt still waits, and
//! a token outlives crashes and restarts because the snapshot does. Every retry and every visit
//! of the state has a fresh wake id, so a token answers exactly one attempt; an answer that
//! arrives after the attempt ended (timed out, retried, aborted) finds no waiting task.
//!
//! The text is `base64url(weir1 NL thread NL wake NL execution-arn)` without padding: opaque to
//! users, as AWS's tokens are, and at most about 330 characters for the longest execution ARN
//! (AWS allows 1024).

use super::ThreadId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The format marker at the start of every token.
const MARKER: &str = "weir1";

/// What a task token points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskToken {
    /// The execution ARN.
    pub execution_arn: String,
    /// The thread that runs the task.
    pub thread: ThreadId,
    /// The wake id of the task attempt.
    pub wake: u64,
}

impl TaskToken {
    /// The token of one task attempt.
    pub fn new(execution_arn: &str, thread: ThreadId, wake: u64) -> Self {
        TaskToken {
            execution_arn: execution_arn.to_string(),
            thread,
            wake,
        }
    }

    /// The token as text (what `$$.Task.Token` holds).
    pub fn encode(&self) -> String {
        let plain = format!(
            "{MARKER}\n{}\n{}\n{}",
            self.thread, self.wake, self.execution_arn
        );
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a token's text; `None` if it is not a token weir made.
    pub fn decode(text: &str) -> Option<TaskToken> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.splitn(4, '\n');
        if parts.next()? != MARKER {
            return None;
        }
        let thread = parts.next()?.parse().ok()?;
        let wake = parts.next()?.parse().ok()?;
        let execution_arn = parts.next()?;
        if !execution_arn.starts_with("arn:") {
            return None;
        }
        Some(TaskToken::new(execution_arn, thread, wake))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_other_text() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
        let token = TaskToken::new(arn, 7, 42);
        let text = token.encode();
        assert!(!text.contains(arn), "a token is opaque: {text}");
        assert_eq!(TaskToken::decode(&text), Some(token));
        assert_ne!(text, TaskToken::new(arn, 7, 43).encode());
        for bad in [
            "",
            "not a token",
            "d2VpcjEKMQoyCg",
            &URL_SAFE_NO_PAD.encode("weir2\n1\n2\narn:x"),
        ] {
            assert_eq!(TaskToken::decode(bad), None, "{bad}");
        }
    }
}
