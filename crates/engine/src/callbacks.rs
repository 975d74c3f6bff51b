//! Callbacks: `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`, which answer an
//! activity task or a `.waitForTaskToken` task by its token.
//!
//! The token names the execution, thread and wake id of one task attempt
//! ([`asl::execution::TaskToken`]); the answer is an ordinary event for that execution, so it is
//! committed like a task's result and ignored by `step` if the attempt no longer waits. The
//! caller learns which: an answer for an attempt that ended (timed out, retried, stopped) gets
//! AWS's `TaskTimedOut` error.

use crate::engine::Engine;
use crate::error::Error;
use crate::work;
use asl::execution::{Event, PAYLOAD_LIMIT, TaskToken, ThreadId};
use serde_json::Value;

/// AWS's limit on `SendTaskFailure`'s `error`.
pub const MAX_ERROR_LENGTH: usize = 256;
/// AWS's limit on `SendTaskFailure`'s `cause`.
pub const MAX_CAUSE_LENGTH: usize = 32_768;

impl Engine {
    /// Answers the task of `token` with `output` (JSON text), as `SendTaskSuccess` does.
    pub async fn send_task_success(&self, token: &str, output: &str) -> Result<(), Error> {
        if output.len() > PAYLOAD_LIMIT {
            return Err(rejected(
                "InvalidOutput",
                format!(
                    "The output is {} bytes, more than the limit of {PAYLOAD_LIMIT} bytes",
                    output.len()
                ),
            ));
        }
        let output: Value = serde_json::from_str(output).map_err(|e| {
            rejected(
                "InvalidOutput",
                format!("Invalid Output: the output is not a JSON text: {e}"),
            )
        })?;
        self.answer(token, |thread, wake| Event::TaskSucceeded {
            thread,
            wake,
            output,
        })
        .await
    }

    /// Fails the task of `token` with `error` and `cause`, as `SendTaskFailure` does.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<(), Error> {
        let error = error.unwrap_or_default();
        let cause = cause.unwrap_or_default();
        if error.chars().count() > MAX_ERROR_LENGTH {
            return Err(rejected(
                "ValidationException",
                format!(
                    "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to {MAX_ERROR_LENGTH}"
                ),
            ));
        }
        if cause.chars().count() > MAX_CAUSE_LENGTH {
            return Err(rejected(
                "ValidationException",
                format!(
                    "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to {MAX_CAUSE_LENGTH}"
                ),
            ));
        }
        let (error, cause) = (error.to_string(), cause.to_string());
        self.answer(token, |thread, wake| Event::TaskFailed {
            thread,
            wake,
            error,
            cause,
        })
        .await
    }

    /// Records a heartbeat for the task of `token`, as `SendTaskHeartbeat` does: its
    /// `HeartbeatSeconds` deadline starts over.
    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), Error> {
        self.answer(token, |thread, wake| Event::TaskHeartbeat { thread, wake })
            .await
    }

    /// Delivers the event made by `event` to the task attempt of `token`.
    async fn answer(
        &self,
        token: &str,
        event: impl FnOnce(ThreadId, u64) -> Event,
    ) -> Result<(), Error> {
        let Some(task) = TaskToken::decode(token) else {
            return Err(rejected("InvalidToken", "Invalid token".to_string()));
        };
        let event = event(task.thread, task.wake);
        let ends_task = !matches!(event, Event::TaskHeartbeat { .. });
        // An answer ends the attempt: its work item (a `.waitForTaskToken` call still running)
        // goes in the same commit.
        let work = ends_task.then(|| work::task_id(&task.execution_arn, task.thread, task.wake));
        let delivered = match self
            .inner()
            .send(
                &task.execution_arn,
                event,
                work,
                Some((task.thread, task.wake)),
            )
            .await
        {
            Ok(delivered) => delivered,
            Err(Error::ExecutionDoesNotExist { .. }) => {
                return Err(rejected(
                    "TaskDoesNotExist",
                    "Task does not exist anymore".to_string(),
                ));
            }
            Err(e) => return Err(e),
        };
        if !delivered.task_waited {
            return Err(rejected(
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'".to_string(),
            ));
        }
        Ok(())
    }
}

/// A refused callback with AWS's error code.
fn rejected(code: &'static str, message: String) -> Error {
    Error::NotAllowed { code, message }
}
