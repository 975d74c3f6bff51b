//! Deadline alerts: "an execution of machine X is not finished N seconds after it started",
//! raised while the execution still runs, not after it ends.
//!
//! An alert is a store document (kind `deadline-alert`, keyed by name) naming a state machine,
//! a number of seconds and the topics to notify. Every tick of the alarm evaluator looks at the
//! machine's running executions; each one past its deadline is announced once to every topic
//! (a JSON message with the alert, the execution and how long it has run). The executions already
//! announced are kept in the document (the last [`MAX_ANNOUNCED`]), so a restart does not
//! announce them again.

use crate::engine::Engine;
use crate::error::Error;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use store::ExecutionFilter;

/// The document kind of deadline alerts.
const KIND: &str = "deadline-alert";

/// How many announced executions an alert remembers.
pub const MAX_ANNOUNCED: usize = 1000;

/// A deadline alert.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineAlert {
    /// Its name.
    pub name: String,
    /// The state machine whose executions it watches.
    pub state_machine_arn: String,
    /// How long an execution may run before it is announced.
    pub after_seconds: u64,
    /// Topic ARNs to notify.
    pub actions: Vec<String>,
}

fn refused(message: impl Into<String>) -> Error {
    Error::NotAllowed {
        code: "ValidationError",
        message: message.into(),
    }
}

impl Engine {
    /// Creates or replaces a deadline alert.
    pub async fn put_deadline_alert(&self, alert: &DeadlineAlert) -> Result<(), Error> {
        if alert.name.is_empty() || alert.name.len() > 255 {
            return Err(refused("The alert name must be 1 to 255 characters long."));
        }
        if alert.after_seconds == 0 {
            return Err(refused("afterSeconds must be at least 1."));
        }
        self.describe_state_machine(&alert.state_machine_arn)
            .await?;
        for topic in &alert.actions {
            self.get_topic(topic).await?;
        }
        loop {
            let current = self.store().get_document(KIND, &alert.name).await?;
            let body = json!({
                "stateMachineArn": alert.state_machine_arn,
                "afterSeconds": alert.after_seconds,
                "actions": alert.actions,
                "announced": [],
            });
            match self
                .store()
                .put_document(
                    KIND,
                    &alert.name,
                    body.to_string(),
                    current.map(|d| d.version),
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(store::Error::Conflict { .. } | store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Every deadline alert, by name.
    pub async fn deadline_alerts(&self) -> Result<Vec<DeadlineAlert>, Error> {
        Ok(self
            .store()
            .list_documents(KIND, "")
            .await?
            .iter()
            .map(|d| read(&d.key, &d.body))
            .collect())
    }

    /// Deletes a deadline alert; `false` if there was none.
    pub async fn delete_deadline_alert(&self, name: &str) -> Result<bool, Error> {
        Ok(self.store().delete_document(KIND, name).await?)
    }

    /// Announces every running execution past an alert's deadline at `now`, once.
    pub(crate) async fn evaluate_deadlines(&self, now: Timestamp) -> Result<(), Error> {
        for document in self.store().list_documents(KIND, "").await? {
            let alert = read(&document.key, &document.body);
            let body: Value = serde_json::from_str(&document.body).unwrap_or(Value::Null);
            let mut announced = crate::documents::string_array(&body["announced"]);
            let limit = SignedDuration::from_secs(alert.after_seconds.min(i64::MAX as u64) as i64);
            let mut late = Vec::new();
            let mut cursor = None;
            loop {
                let page = self
                    .store()
                    .list_executions(ExecutionFilter {
                        state_machine_arn: Some(alert.state_machine_arn.clone()),
                        status: Some("RUNNING".to_string()),
                        cursor,
                        limit: 1000,
                    })
                    .await?;
                for execution in page.items {
                    let due = execution
                        .start_date
                        .saturating_add(limit)
                        .unwrap_or(Timestamp::MAX);
                    if due <= now && !announced.contains(&execution.arn) {
                        late.push(execution);
                    }
                }
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if late.is_empty() {
                continue;
            }
            for execution in &late {
                let message = json!({
                    "AlertName": alert.name,
                    "StateMachineArn": alert.state_machine_arn,
                    "ExecutionArn": execution.arn,
                    "StartDate": execution.start_date.to_string(),
                    "RunningSeconds": now.duration_since(execution.start_date).as_secs(),
                    "DeadlineSeconds": alert.after_seconds,
                    "Region": self.options().region,
                })
                .to_string();
                for topic in &alert.actions {
                    let request = crate::topics::PublishRequest {
                        message: message.clone(),
                        subject: Some(format!(
                            "DEADLINE: \"{}\" in {}",
                            alert.name,
                            self.options().region
                        )),
                        ..crate::topics::PublishRequest::default()
                    };
                    if let Err(error) = self.publish(topic, &request).await {
                        tracing::warn!(alert = %alert.name, %topic, %error, "Deadline alert not published.");
                    }
                }
                tracing::warn!(
                    alert = %alert.name,
                    execution = %execution.arn,
                    "Execution past its deadline."
                );
                announced.push(execution.arn.clone());
            }
            let keep = announced.len().saturating_sub(MAX_ANNOUNCED);
            announced.drain(..keep);
            let mut body = body;
            body["announced"] = json!(announced);
            // A concurrent put or delete wins: its alert starts afresh.
            let _ = self
                .store()
                .put_document(KIND, &alert.name, body.to_string(), Some(document.version))
                .await;
        }
        Ok(())
    }
}

fn read(name: &str, text: &str) -> DeadlineAlert {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    DeadlineAlert {
        name: name.to_string(),
        state_machine_arn: body["stateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        after_seconds: body["afterSeconds"].as_u64().unwrap_or(u64::MAX),
        actions: crate::documents::string_array(&body["actions"]),
    }
}
