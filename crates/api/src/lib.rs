//! The HTTP API: AWS's JSON 1.0 protocol for Step Functions on one port, so boto3, the AWS CLI
//! and the SDKs talk to weir as they talk to AWS.
//!
//! Every request is `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>` and a JSON body;
//! answers are JSON, errors are `{"__type": code, "message": text}` with HTTP 400 (the caller's
//! mistake) or 500 (weir's), as AWS answers them. Timestamps are epoch seconds. weir's own
//! operations (functions and task logs, see `functions`) use the target prefix `Weir.`; queues
//! speak SQS's JSON protocol under `AmazonSQS.` (see `sqs`).

mod activities;
mod alarms;
mod custom_metrics;
mod error;
mod functions;
mod mappings;
mod sfn;
pub mod sigv4;
mod sns;
mod sqs;
mod topics;
mod wire;

pub use error::ApiError;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use engine::Engine;
use std::future::Future;
use std::sync::Arc;

/// The largest request body accepted (AWS: definitions up to 1 MiB, inputs up to 256 KiB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// What the API serves and how.
#[derive(Clone)]
pub struct Api {
    /// The engine the operations drive.
    pub engine: Engine,
    /// The functions Lambda tasks run, changed by the `Weir.` operations (the registry the
    /// engine's task handler runs).
    pub functions: Arc<::functions::Registry>,
    /// The region in ARNs and answers.
    pub region: String,
    /// The account in ARNs and answers.
    pub account: String,
    /// When set, every request must carry a valid SigV4 signature by one of these keys; when
    /// `None`, any credentials are accepted (as the emulators do).
    pub keys: Option<sigv4::Keys>,
}

/// The router: `POST /` for every AWS operation, `GET /metrics` for Prometheus.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/", post(handle))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(Arc::new(api))
}

/// `GET /metrics`: every metric in the OpenMetrics text format (see `engine::metrics`). Needs
/// no signature, as Prometheus scrapes without one; bind the server to a trusted interface.
async fn metrics(State(api): State<Arc<Api>>) -> Response {
    match api.engine.render_metrics().await {
        Ok(text) => {
            let mut response = (StatusCode::OK, Body::from(text)).into_response();
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "Metrics could not be rendered.");
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(api))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(api): State<Arc<Api>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError {
                code: "RequestEntityTooLargeException",
                message: format!("The request body is larger than {MAX_BODY} bytes."),
                status: StatusCode::PAYLOAD_TOO_LARGE,
                query_code: None,
            }
            .into_response();
        }
    };
    if let Some(keys) = &api.keys
        && let Err(error) = check_signature(keys, &parts, &body)
    {
        return error.into_response();
    }
    if parts.headers.get("x-amz-target").is_none() {
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        let pairs = sns::form_pairs(&body);
        if sns::is_sns(content_type, &pairs) {
            return sns::handle(&api, pairs).await;
        }
    }
    match dispatch(&api, &parts.headers, &body).await {
        Ok(answer) => json_response(answer),
        Err(error) => error.into_response(),
    }
}

/// Verifies the request's SigV4 signature against the configured keys.
fn check_signature(
    keys: &sigv4::Keys,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Result<(), ApiError> {
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    if parts.headers.get("host").is_none()
        && let Some(authority) = parts.uri.authority()
    {
        headers.push(("host".to_string(), authority.to_string()));
    }
    let request = sigv4::SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    sigv4::verify(&request, keys, jiff::Timestamp::now())
        .map(drop)
        .map_err(|error| ApiError {
            code: error.code(),
            message: error.to_string(),
            status: StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            query_code: None,
        })
}

async fn dispatch(
    api: &Api,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Value, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                "UnknownOperationException",
                "The request has no X-Amz-Target header naming the operation.",
            )
        })?;
    let input: serde_json::Value = if body.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !input.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "The request body must be a JSON object.",
        ));
    }
    match target.split_once('.') {
        Some(("AWSStepFunctions", operation)) => sfn::call(api, operation, &input).await,
        Some(("Weir", operation)) if operation.contains("EventSourceMapping") => {
            mappings::call(api, operation, &input).await
        }
        Some(("Weir", operation)) if custom_metrics::handles(operation) => {
            custom_metrics::call(api, operation, &input).await
        }
        Some(("Weir", operation)) if alarms::handles(operation) => {
            alarms::call(api, operation, &input).await
        }
        Some(("Weir", operation)) if topics::handles(operation) => {
            topics::call(api, operation, &input).await
        }
        Some(("Weir", operation)) => functions::call(api, operation, &input).await,
        Some(("AmazonSQS", operation)) => sqs::call(api, headers, operation, &input).await,
        _ => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: {target}"),
        )),
    }
}

fn json_response(answer: serde_json::Value) -> Response {
    let mut response = (StatusCode::OK, Body::from(answer.to_string())).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}
