//! `arn:aws:states:::http:invoke`: AWS's HTTP Task, over plain HTTP.
//!
//! # Request
//! The task's parameters, as AWS documents them for the HTTP Task:
//!
//! | Parameter | Meaning |
//! | --- | --- |
//! | `ApiEndpoint` (required) | the URL; `http://` only (see below) |
//! | `Method` (required) | `GET`, `POST`, `PUT`, `DELETE`, `PATCH`, `OPTIONS` or `HEAD` |
//! | `Headers` | an object of headers; a list value is sent comma-joined |
//! | `QueryParameters` | an object added to the URL's query; a list value repeats the key |
//! | `RequestBody` | a JSON value sent as JSON (`Content-Type: application/json; charset=UTF-8` unless `Headers` set one), or a string sent as it is |
//! | `Transform` | `{"RequestBodyEncoding": "NONE" \| "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "INDICES" \| "REPEAT" \| "COMMAS" \| "BRACKETS"}}`: `URL_ENCODED` sends an object `RequestBody` as `application/x-www-form-urlencoded`, lists as `ArrayFormat` says (`INDICES` by default: `a[0]=x&a[1]=y`; `REPEAT`: `a=x&a=y`; `COMMAS`: `a=x,y`; `BRACKETS`: `a[]=x&a[]=y`) and nested objects as `a[b]=x` |
//! | `Authentication`, `InvocationConfig` | an EventBridge connection (`ConnectionArn`) on AWS; accepted and ignored: weir has no connections, so credentials go in `Headers` |
//!
//! Any other parameter fails the task with `States.TaskFailed` naming it.
//!
//! # Result
//! `{"Headers": {name: [values]}, "ResponseBody": ..., "StatusCode": 200, "StatusText": "OK"}`:
//! header names in lower case, the body parsed as JSON when the response's `Content-Type` is JSON
//! (`application/json` or `...+json`) and it parses, else the body as a string.
//!
//! # Errors
//! | What happens | Error | Cause |
//! | --- | --- | --- |
//! | a status outside 2xx | `States.Http.StatusCode.NNN` | the result object above, as JSON text |
//! | no answer within 60 seconds (AWS's HTTP Task limit) | `States.Http.Socket` | the URL and the limit |
//! | no connection (refused, unreachable, reset) | `States.Http.Socket` | the URL and the OS error |
//! | the Task's `TimeoutSeconds` (when under 60 s) passed | `States.Timeout` | empty |
//! | a response body over 256 KiB | `States.DataLimitExceeded` | the limit |
//! | an `https://` endpoint | `States.TaskFailed` | TLS is not supported yet |
//! | malformed parameters | `States.TaskFailed` | the parameter and what is wrong |

use crate::http::{self, percent_encode};
use crate::invoke::{Attempt, Trace};
use asl::Failure;
use asl::error::names;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// AWS's limit on one HTTP Task request.
const HTTP_TASK_LIMIT: Duration = Duration::from_secs(60);

/// The largest response body an HTTP Task reads (Step Functions' payload limit).
const BODY_LIMIT: u64 = 256 * 1024;

/// The methods the HTTP Task allows.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// A parsed HTTP Task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpTask {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn refuse(cause: impl Into<String>) -> Failure {
    Failure::new(names::TASK_FAILED, cause)
}

/// Reads the task's parameters.
pub(crate) fn parse(input: &Value) -> Result<HttpTask, Failure> {
    let Some(params) = input.as_object() else {
        return Err(refuse(format!(
            "http:invoke needs Parameters with an ApiEndpoint and a Method; the task input is \
             {input}"
        )));
    };
    let known = [
        "ApiEndpoint",
        "Method",
        "Headers",
        "QueryParameters",
        "RequestBody",
        "Transform",
        "Authentication",
        "InvocationConfig",
    ];
    let unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(refuse(format!(
            "http:invoke does not know the parameter(s) {}; it takes {}",
            unknown.join(", "),
            known.join(", ")
        )));
    }
    let Some(endpoint) = params.get("ApiEndpoint").and_then(Value::as_str) else {
        return Err(refuse("http:invoke needs an ApiEndpoint (a URL string)"));
    };
    if endpoint.starts_with("https://") {
        return Err(refuse(format!(
            "http:invoke cannot call {endpoint}: weir does not support TLS (https://) yet; use \
             an http:// endpoint"
        )));
    }
    http::check_http_url(endpoint).map_err(|why| {
        refuse(format!(
            "http:invoke: the ApiEndpoint {endpoint} is not an http:// URL: {why}"
        ))
    })?;
    let method = match params.get("Method").and_then(Value::as_str) {
        Some(m) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => m.to_ascii_uppercase(),
        other => {
            return Err(refuse(format!(
                "http:invoke needs a Method, one of {}; got {}",
                METHODS.join(", "),
                other.map_or("none".to_string(), |m| format!("'{m}'"))
            )));
        }
    };
    let mut url = endpoint.to_string();
    if let Some(query) = params.get("QueryParameters") {
        let Value::Object(query) = query else {
            return Err(refuse("http:invoke: QueryParameters must be an object"));
        };
        let mut pairs = Vec::new();
        for (key, value) in query {
            match value {
                Value::Array(items) => pairs.extend(items.iter().map(|v| (key, scalar(v)))),
                other => pairs.push((key, scalar(other))),
            }
        }
        if !pairs.is_empty() {
            let encoded: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k, b""), percent_encode(v, b"")))
                .collect();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&encoded.join("&"));
        }
    }
    let mut headers = Vec::new();
    if let Some(given) = params.get("Headers") {
        let Value::Object(given) = given else {
            return Err(refuse("http:invoke: Headers must be an object"));
        };
        for (name, value) in given {
            let value = match value {
                Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
                other => scalar(other),
            };
            http::check_header(name, &value)
                .map_err(|why| refuse(format!("http:invoke: Headers {why}")))?;
            headers.push((name.clone(), value));
        }
    }
    let has_header = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(name))
    };
    let (form, array_format) = transform(params.get("Transform"))?;
    let body = match params.get("RequestBody") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone().into_bytes()),
        Some(Value::Object(fields)) if form => {
            if !has_header(&headers, "content-type") {
                headers.push((
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ));
            }
            Some(form_encode(fields, array_format).into_bytes())
        }
        Some(_) if form => {
            return Err(refuse(
                "http:invoke: a URL_ENCODED RequestBody must be an object",
            ));
        }
        Some(value) => {
            if !has_header(&headers, "content-type") {
                headers.push((
                    "Content-Type".to_string(),
                    "application/json; charset=UTF-8".to_string(),
                ));
            }
            Some(value.to_string().into_bytes())
        }
    };
    Ok(HttpTask {
        method,
        url,
        headers,
        body,
    })
}

/// How lists are written in a form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayFormat {
    Indices,
    Repeat,
    Commas,
    Brackets,
}

/// `Transform`: whether the body is form-encoded, and how lists are written.
fn transform(value: Option<&Value>) -> Result<(bool, ArrayFormat), Failure> {
    let Some(value) = value else {
        return Ok((false, ArrayFormat::Indices));
    };
    let form = match value.get("RequestBodyEncoding").and_then(Value::as_str) {
        None | Some("NONE") => false,
        Some("URL_ENCODED") => true,
        Some(other) => {
            return Err(refuse(format!(
                "http:invoke: Transform.RequestBodyEncoding must be NONE or URL_ENCODED, not \
                 '{other}'"
            )));
        }
    };
    let format = match value
        .pointer("/RequestEncodingOptions/ArrayFormat")
        .and_then(Value::as_str)
    {
        None | Some("INDICES") => ArrayFormat::Indices,
        Some("REPEAT") => ArrayFormat::Repeat,
        Some("COMMAS") => ArrayFormat::Commas,
        Some("BRACKETS") => ArrayFormat::Brackets,
        Some(other) => {
            return Err(refuse(format!(
                "http:invoke: Transform.RequestEncodingOptions.ArrayFormat must be INDICES, \
                 REPEAT, COMMAS or BRACKETS, not '{other}'"
            )));
        }
    };
    Ok((form, format))
}

/// A JSON scalar as form or query text: strings as they are, the rest as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An object as an `application/x-www-form-urlencoded` body.
fn form_encode(fields: &Map<String, Value>, format: ArrayFormat) -> String {
    let mut pairs = Vec::new();
    for (key, value) in fields {
        form_pairs(key, value, format, &mut pairs);
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k, b"[]"), percent_encode(v, b",")))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_pairs(key: &str, value: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
    match value {
        Value::Array(items) => match format {
            ArrayFormat::Commas => {
                let joined = items.iter().map(scalar).collect::<Vec<_>>().join(",");
                out.push((key.to_string(), joined));
            }
            _ => {
                for (i, item) in items.iter().enumerate() {
                    let name = match format {
                        ArrayFormat::Indices => format!("{key}[{i}]"),
                        ArrayFormat::Brackets => format!("{key}[]"),
                        _ => key.to_string(),
                    };
                    form_pairs(&name, item, format, out);
                }
            }
        },
        Value::Object(fields) => {
            for (sub, item) in fields {
                form_pairs(&format!("{key}[{sub}]"), item, format, out);
            }
        }
        other => out.push((key.to_string(), scalar(other))),
    }
}

/// Sends the request and shapes the answer as the HTTP Task's result.
pub(crate) fn run(task: &HttpTask, attempt: &Attempt) -> (Result<Value, Failure>, Trace) {
    let mut trace = Trace::not_started();
    let task_limit = Duration::from_secs(attempt.timeout_seconds);
    let limit = HTTP_TASK_LIMIT.min(task_limit);
    let timed_out = || {
        if limit < HTTP_TASK_LIMIT {
            Failure::new(names::TIMEOUT, "")
        } else {
            Failure::new(
                "States.Http.Socket",
                format!(
                    "{} {} did not answer within {} seconds",
                    task.method,
                    task.url,
                    HTTP_TASK_LIMIT.as_secs()
                ),
            )
        }
    };
    let remaining = limit.saturating_sub(attempt.started.elapsed());
    if remaining.is_zero() {
        return (Err(timed_out()), trace);
    }
    let sent = http::send(http::Request {
        method: &task.method,
        url: &task.url,
        headers: task.headers.clone(),
        body: task.body.clone(),
        timeout: remaining,
        limit: BODY_LIMIT,
    });
    let reply = match sent {
        Ok(reply) => reply,
        Err(http::Failed::Timeout) => {
            trace.status = format!("timed out after {} s", limit.as_secs());
            return (Err(timed_out()), trace);
        }
        Err(http::Failed::Connect(detail)) => {
            trace.status = format!("no connection: {detail}");
            let cause = format!("{} {} failed: {detail}", task.method, task.url);
            return (Err(Failure::new("States.Http.Socket", cause)), trace);
        }
        Err(http::Failed::Other(detail)) => {
            trace.status = format!("failed: {detail}");
            let cause = format!("{} {} failed: {detail}", task.method, task.url);
            return (Err(refuse(cause)), trace);
        }
    };
    trace.status = format!("HTTP {} {}", reply.status, reply.reason);
    trace.stdout.push(&reply.body);
    if reply.too_large {
        let cause = format!(
            "The response body of {} {} is larger than {BODY_LIMIT} bytes, the payload limit.",
            task.method, task.url
        );
        return (Err(Failure::new(names::DATA_LIMIT_EXCEEDED, cause)), trace);
    }
    let result = result(&reply);
    if (200..300).contains(&reply.status) {
        (Ok(result), trace)
    } else {
        let error = format!("States.Http.StatusCode.{}", reply.status);
        (Err(Failure::new(error, result.to_string())), trace)
    }
}

/// The HTTP Task's result object.
fn result(reply: &http::Reply) -> Value {
    let mut headers = Map::new();
    for (name, value) in &reply.headers {
        match headers.get_mut(name) {
            Some(Value::Array(values)) => values.push(json!(value)),
            _ => {
                headers.insert(name.clone(), json!([value]));
            }
        }
    }
    let json_type = reply.headers.iter().any(|(name, value)| {
        let media = value.split(';').next().unwrap_or_default().trim();
        name == "content-type" && (media == "application/json" || media.ends_with("+json"))
    });
    let text = String::from_utf8_lossy(&reply.body);
    let body = json_type
        .then(|| serde_json::from_str::<Value>(&text).ok())
        .flatten()
        .unwrap_or_else(|| Value::String(text.into_owned()));
    json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": reply.status,
        "StatusText": reply.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_encoded_into_the_url() {
        let task = parse(&json!({
            "ApiEndpoint": "http://127.0.0.1:9/items?x=1",
            "Method": "get",
            "QueryParameters": {"q": "a b", "tag": ["x", "y"], "n": 3},
        }))
        .expect("valid");
        assert_eq!(task.method, "GET");
        assert_eq!(
            task.url,
            "http://127.0.0.1:9/items?x=1&q=a%20b&tag=x&tag=y&n=3"
        );
        assert_eq!(task.body, None);
    }

    #[test]
    fn url_encoded_bodies_follow_the_array_format() {
        let body = json!({"a": ["x", "y"], "b": {"c": 1}, "d": "e f"});
        let encode = |format: &str| {
            let task = parse(&json!({
                "ApiEndpoint": "http://127.0.0.1:9/",
                "Method": "POST",
                "RequestBody": body,
                "Transform": {
                    "RequestBodyEncoding": "URL_ENCODED",
                    "RequestEncodingOptions": {"ArrayFormat": format},
                },
            }))
            .expect("valid");
            assert!(task.headers.contains(&(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string()
            )));
            String::from_utf8(task.body.expect("a body")).expect("text")
        };
        assert_eq!(encode("INDICES"), "a[0]=x&a[1]=y&b[c]=1&d=e%20f");
        assert_eq!(encode("REPEAT"), "a=x&a=y&b[c]=1&d=e%20f");
        assert_eq!(encode("COMMAS"), "a=x,y&b[c]=1&d=e%20f");
        assert_eq!(encode("BRACKETS"), "a[]=x&a[]=y&b[c]=1&d=e%20f");
    }

    #[test]
    fn malformed_parameters_name_what_is_wrong() {
        let cases = [
            (json!({"Method": "GET"}), "needs an ApiEndpoint"),
            (
                json!({"ApiEndpoint": "https://example.com/", "Method": "GET"}),
                "does not support TLS",
            ),
            (
                json!({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "TRACE"}),
                "got 'TRACE'",
            ),
            (
                json!({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "GET", "Body": 1}),
                "does not know the parameter(s) Body",
            ),
            (
                json!({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "GET",
                       "Headers": {"Host": "x"}}),
                "header 'Host'",
            ),
        ];
        for (input, expected) in cases {
            let failure = parse(&input).expect_err("refused");
            assert_eq!(failure.error, names::TASK_FAILED);
            assert!(
                failure.cause.contains(expected),
                "{expected:?} in {}",
                failure.cause
            );
        }
        let ignored = json!({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "GET",
                             "Authentication": {"ConnectionArn": "arn:aws:events:x"}});
        assert!(parse(&ignored).is_ok());
    }
}
