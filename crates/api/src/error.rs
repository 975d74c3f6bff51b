//! The API's one error type: an AWS error code, a message for the caller and an HTTP status,
//! rendered as AWS's JSON 1.0 protocol renders errors (`{"__type", "message"}` and the
//! `x-amzn-ErrorType` header), with the `x-amzn-query-error` header for services that moved from
//! AWS's query protocol (SQS).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// AWS's error code (`StateMachineDoesNotExist`, `ValidationException`, ...).
    pub code: &'static str,
    /// The message for the caller: says what is wrong and where.
    pub message: String,
    /// The HTTP status (400 for the caller's mistakes, 500 for ours).
    pub status: StatusCode,
    /// For a service that moved from AWS's query protocol (SQS): its error code there
    /// (`AWS.SimpleQueueService.NonExistentQueue`), sent as the `x-amzn-query-error` header
    /// (`CODE;Sender`), which the SDKs report as the error's code.
    pub query_code: Option<&'static str>,
}

impl ApiError {
    /// A 400 error with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            query_code: None,
        }
    }

    /// `ValidationException`: a parameter breaks a constraint.
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::new("ValidationException", message)
    }

    /// `InvalidArn`: an ARN that is malformed or of the wrong resource type.
    pub fn invalid_arn(arn: &str, why: &str) -> Self {
        ApiError::new("InvalidArn", format!("Invalid Arn: '{why}: {arn}'"))
    }

    /// A failure of weir itself: logged in full, answered without internals.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "Request failed inside weir.");
        ApiError {
            code: "InternalServerError",
            message: "An internal error occurred; the server log has the details.".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            query_code: None,
        }
    }
}

impl From<engine::Error> for ApiError {
    fn from(error: engine::Error) -> Self {
        match error {
            engine::Error::Store(_) | engine::Error::Corrupt { .. } => ApiError::internal(error),
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message}).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        if let Some(code) = self.query_code {
            let fault = if self.status.is_server_error() {
                "Receiver"
            } else {
                "Sender"
            };
            if let Ok(value) = HeaderValue::from_str(&format!("{code};{fault}")) {
                headers.insert("x-amzn-query-error", value);
            }
        }
        response
    }
}
