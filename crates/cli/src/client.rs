//! A blocking client for a running `weir server`: AWS's JSON 1.0 protocol over plain HTTP.
//!
//! Every call is `POST /` with `Content-Type: application/x-amz-json-1.0`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>` (or `Weir.<Operation>` for weir's own operations)
//! and the request members as a JSON object. A
//! 2xx answer is the response members as a JSON object; a 4xx or 5xx answer is
//! `{"__type": code, "message": text}`, which becomes [`Error::Api`]. Anything else (no
//! connection, an answer that is not the protocol's) is the caller's setup problem, not the
//! API's, and gets its own variant so the CLI can exit with a different status.
//!
//! Requests are not signed: `weir server` accepts unsigned requests unless it is configured with
//! access keys.

use serde_json::Value;
use std::time::Duration;

/// The endpoint `weir server` listens on by default.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8083";

/// The largest answer read (a history page of 1000 events with large payloads is well below).
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the request with an AWS error (`StateMachineDoesNotExist`, ...).
    #[error("{code}: {message}")]
    Api {
        /// AWS's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// No connection to the server.
    #[error("cannot reach weir server at {endpoint}: is `weir server` running? ({detail})")]
    Unreachable {
        /// The endpoint called.
        endpoint: String,
        /// What the network layer said.
        detail: String,
    },
    /// The server answered, but not as `weir server` answers.
    #[error("{endpoint} did not answer as weir server does: {detail}")]
    Protocol {
        /// The endpoint called.
        endpoint: String,
        /// What was wrong with the answer.
        detail: String,
    },
}

/// A connection to one `weir server`.
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the region, when set: requests are
    /// then signed (SigV4), for servers started with `--access-key`.
    credentials: Option<(String, String, String)>,
}

impl Client {
    /// A client for the server at `endpoint` (`http://HOST:PORT`). Nothing is sent yet.
    pub fn new(endpoint: &str) -> Client {
        let config = ureq::Agent::config_builder()
            // 4xx and 5xx carry the protocol's error body: read it rather than fail.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(300)))
            .max_redirects(0)
            .user_agent(format!("weir-cli/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let credentials = match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => {
                let region = std::env::var("AWS_REGION")
                    .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|_| "us-east-1".to_string());
                Some((id, secret, region))
            }
            _ => None,
        };
        Client {
            agent: ureq::Agent::new_with_config(config),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
        }
    }

    /// Calls `operation` (`DescribeStateMachine`, ...) with the request members in `input` and
    /// returns the response members.
    pub fn call(&self, operation: &str, input: &Value) -> Result<Value, Error> {
        self.call_target(&format!("AWSStepFunctions.{operation}"), input)
    }

    /// Calls one of weir's own operations (`CreateFunction`, `GetTaskLogs`, ...): the target
    /// `Weir.<operation>` on the same endpoint.
    pub fn call_weir(&self, operation: &str, input: &Value) -> Result<Value, Error> {
        self.call_target(&format!("Weir.{operation}"), input)
    }

    fn call_target(&self, target: &str, input: &Value) -> Result<Value, Error> {
        let url = format!("{}/", self.endpoint);
        let body = input.to_string();
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", target);
        if let Some((id, secret, region)) = &self.credentials {
            let now = jiff::Timestamp::now();
            let date = api::sigv4::amz_date(now);
            let host = self
                .endpoint
                .split_once("://")
                .map_or(self.endpoint.as_str(), |(_, rest)| rest)
                .to_string();
            let headers = vec![
                (
                    "content-type".to_string(),
                    "application/x-amz-json-1.0".to_string(),
                ),
                ("host".to_string(), host),
                ("x-amz-date".to_string(), date.clone()),
                ("x-amz-target".to_string(), target.to_string()),
            ];
            let signed = api::sigv4::SignedRequest {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: body.as_bytes(),
            };
            let authorization = api::sigv4::sign(&signed, id, secret, region, "states", now);
            request = request
                .header("X-Amz-Date", &date)
                .header("Authorization", &authorization);
        }
        let answer = request.send(body).map_err(|e| self.transport_error(e))?;
        let status = answer.status().as_u16();
        let text = answer
            .into_body()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| self.transport_error(e))?;
        let body: Option<Value> = serde_json::from_str(&text).ok();
        match (status, body) {
            (200..=299, Some(body @ Value::Object(_))) => Ok(body),
            (400..=599, Some(body)) if body.get("__type").is_some() => Err(api_error(&body)),
            (status, _) => Err(Error::Protocol {
                endpoint: self.endpoint.clone(),
                detail: format!("HTTP {status} with the body {}", excerpt(&text)),
            }),
        }
    }

    fn transport_error(&self, error: ureq::Error) -> Error {
        let endpoint = self.endpoint.clone();
        match error {
            ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_) => Error::Unreachable {
                endpoint,
                detail: error.to_string(),
            },
            other => Error::Protocol {
                endpoint,
                detail: other.to_string(),
            },
        }
    }
}

/// `{"__type": code, "message": text}` as an error. AWS may qualify the code
/// (`com.amazonaws.states#StateMachineDoesNotExist`); the part after `#` is the code.
fn api_error(body: &Value) -> Error {
    let code = body
        .get("__type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or(code);
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    Error::Api {
        code: code.to_string(),
        message: message.to_string(),
    }
}

/// The start of an unexpected answer, for an error message.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qualified_codes_are_shortened() {
        let error = api_error(&json!({
            "__type": "com.amazonaws.states#StateMachineDoesNotExist",
            "message": "gone",
        }));
        assert_eq!(error.to_string(), "StateMachineDoesNotExist: gone");
    }

    #[test]
    fn long_bodies_are_cut() {
        let text = "x".repeat(500);
        assert_eq!(excerpt(&text).len(), 200 + 2 + 3);
    }
}
