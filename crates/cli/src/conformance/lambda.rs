//! Scripted Lambda functions for the corpus's `lambda` cases.
//!
//! Each case lists its functions with a one-line `behaviour` (identity, raise an exception, sleep,
//! return a constant, ...). [`Functions`] reads those lines and answers the Task states that call
//! the functions the way AWS Lambda and Step Functions' Lambda integrations answer:
//!
//! - `arn:aws:lambda:<region>:<account>:function:<name>` resources: the event is the task input
//!   and the result is what the function returned. An exception fails the task with the exception
//!   type as the error and the Python runtime's error payload as the cause, formatted as
//!   `json.dumps` does (`{"errorMessage": "...", "errorType": ..., "requestId": ..., ...}`).
//! - `arn:aws:states:::lambda:invoke`: the task input carries `FunctionName` and `Payload` (a
//!   string `Payload` is sent as the raw request body); the result is wrapped as `Invoke`'s
//!   response (`ExecutedVersion`, `Payload`, `SdkHttpMetadata`, `SdkResponseMetadata`,
//!   `StatusCode`). An exception's cause is the compact error payload. An unknown function fails
//!   with `Lambda.ResourceNotFoundException`.
//!
//! Request ids, trace ids and the HTTP `Date` header are random or wall-clock values at AWS. The
//! corpus recorded them as LocalStack's snapshot transformers left them: request and trace ids
//! replaced by their header names (`"RequestId": "RequestId"`), dates by ISO-8601 text. The
//! scripted answers carry those same stand-ins, since they have no real value to give.

use asl::Rng;
use asl::driver::TaskAnswer;
use asl::execution::{PAYLOAD_LIMIT, TaskCommand};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

/// What a scripted function does.
#[derive(Debug, Clone, PartialEq)]
enum Behaviour {
    /// Returns the event.
    Identity,
    /// Returns a constant (the JSON its response body holds).
    Constant(Value),
    /// Returns more than the payload limit of text.
    LargeOutput,
    /// Sleeps, then returns the event.
    Sleep(SignedDuration),
    /// Returns the Python string `f'input-event-{event}'`.
    Decorate,
    /// Raises a Python exception.
    Raise {
        /// The exception type.
        error_type: &'static str,
        /// Its message.
        message: &'static str,
        /// The handler line that raises it.
        line: u32,
        /// The statement on that line.
        statement: &'static str,
    },
}

impl Behaviour {
    /// Reads a case's `behaviour` line.
    fn parse(text: &str) -> Option<Behaviour> {
        if text.starts_with("identity") {
            return Some(Behaviour::Identity);
        }
        if text.starts_with("raises Exception('Some exception was raised.')") {
            return Some(Behaviour::Raise {
                error_type: "Exception",
                message: "Some exception was raised.",
                line: 2,
                statement: "raise Exception(\"Some exception was raised.\")",
            });
        }
        if text.starts_with("raises CustomException() with no message") {
            return Some(Behaviour::Raise {
                error_type: "CustomException",
                message: "",
                line: 9,
                statement: "raise CustomException()",
            });
        }
        if text.starts_with("returns 257 KiB of 'a'") {
            return Some(Behaviour::LargeOutput);
        }
        if text.starts_with("sleeps 60 s, then returns the event") {
            return Some(Behaviour::Sleep(SignedDuration::from_secs(60)));
        }
        if text.starts_with("returns the Python str f'input-event-{event}'") {
            return Some(Behaviour::Decorate);
        }
        if let Some(rest) = text.strip_prefix("constant: returns the bytes b'") {
            let body = rest.split_once("' ").map_or(rest, |(body, _)| body);
            return serde_json::from_str(body).ok().map(Behaviour::Constant);
        }
        if let Some(rest) = text.strip_prefix("constant: returns ") {
            return serde_json::from_str(rest).ok().map(Behaviour::Constant);
        }
        None
    }
}

#[derive(Debug, Clone)]
struct Function {
    name: String,
    arn: String,
    behaviour: Behaviour,
}

/// What a function invocation gave back.
enum Invocation {
    /// The response body, the JSON it holds, and how long the function ran.
    Returned {
        body: String,
        value: Value,
        duration: SignedDuration,
    },
    /// An unhandled exception.
    Raised {
        error_type: String,
        message: String,
        stack_trace: String,
    },
}

/// The scripted functions of one case.
pub(super) struct Functions {
    functions: Vec<Function>,
    rng: Rng,
    region: String,
    account: String,
}

impl Functions {
    /// Reads a case's `lambda_functions`; a behaviour the script does not know is an error naming
    /// it.
    pub(super) fn from_case(case: &Value, seed: u64) -> Result<Functions, String> {
        let mut functions = Vec::new();
        for f in case
            .get("lambda_functions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = f.get("behaviour").and_then(Value::as_str).unwrap_or("");
            let behaviour = Behaviour::parse(text)
                .ok_or_else(|| format!("unknown Lambda behaviour '{text}'"))?;
            functions.push(Function {
                name: f
                    .get("function_name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                arn: f
                    .get("function_arn")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                behaviour,
            });
        }
        let mut parts = functions
            .first()
            .map(|f| f.arn.split(':').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter();
        let region = parts.nth(3).unwrap_or_else(|| "us-east-1".into());
        let account = parts.next().unwrap_or_else(|| "111111111111".into());
        Ok(Functions {
            functions,
            rng: Rng::new(seed),
            region,
            account,
        })
    }

    /// Whether the script can answer every Task of this definition (every `Resource` in it is a
    /// Lambda function or `lambda:invoke`).
    pub(super) fn covers(definition: &Value) -> bool {
        match definition {
            Value::Object(map) => map.iter().all(|(key, value)| match (key.as_str(), value) {
                ("Resource", Value::String(resource)) => {
                    is_function_arn(resource) || is_invoke(resource)
                }
                _ => Functions::covers(value),
            }),
            Value::Array(items) => items.iter().all(Functions::covers),
            _ => true,
        }
    }

    /// Answers a task at virtual time `now`.
    pub(super) fn answer(&mut self, task: &TaskCommand, now: Timestamp) -> TaskAnswer {
        if is_function_arn(&task.resource) {
            return match self.find(&task.resource) {
                Some(f) => {
                    let event = task.input.clone();
                    match self.invoke(&f, event) {
                        Invocation::Returned {
                            value, duration, ..
                        } => TaskAnswer {
                            duration,
                            ..TaskAnswer::ok(value)
                        },
                        Invocation::Raised {
                            error_type,
                            message,
                            stack_trace,
                        } => {
                            let request_id = self.rng.uuid();
                            let cause =
                                python_error(&error_type, &message, &request_id, &stack_trace);
                            TaskAnswer::fail(&error_type, &cause)
                        }
                    }
                }
                None => self.not_found(&task.resource),
            };
        }
        if !is_invoke(&task.resource) {
            return TaskAnswer::fail(
                "States.TaskFailed",
                &format!("no scripted answer for '{}'", task.resource),
            );
        }
        let name = task
            .input
            .get("FunctionName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(f) = self.find(name) else {
            return self.not_found(name);
        };
        let event = match task.input.get("Payload") {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(body)) => match serde_json::from_str(body) {
                Ok(event) => event,
                Err(_) => {
                    return TaskAnswer::fail(
                        "Lambda.InvalidRequestContentException",
                        "Could not parse request body into json",
                    );
                }
            },
            Some(other) => other.clone(),
        };
        let tail = task.input.get("LogType").and_then(Value::as_str) == Some("Tail");
        match self.invoke(&f, event) {
            Invocation::Returned {
                body,
                value,
                duration,
            } => TaskAnswer {
                duration,
                ..TaskAnswer::ok(invoke_response(value, body.len(), tail, now))
            },
            Invocation::Raised {
                error_type,
                message,
                stack_trace,
            } => {
                let cause = json!({
                    "errorMessage": message,
                    "errorType": error_type,
                    "requestId": self.rng.uuid(),
                    "stackTrace": [stack_trace],
                });
                TaskAnswer::fail(&error_type, &cause.to_string())
            }
        }
    }

    /// The function a name, a full ARN or a partial ARN names (a qualifier is ignored).
    fn find(&self, name: &str) -> Option<Function> {
        let unqualified = if name.starts_with("arn:") {
            name.splitn(8, ':').take(7).collect::<Vec<_>>().join(":")
        } else {
            name.split(':').next().unwrap_or(name).to_string()
        };
        self.functions
            .iter()
            .find(|f| f.arn == unqualified || f.name == unqualified)
            .cloned()
    }

    fn not_found(&mut self, name: &str) -> TaskAnswer {
        let arn = if name.starts_with("arn:") {
            name.to_string()
        } else {
            format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                self.region, self.account
            )
        };
        TaskAnswer::fail(
            "Lambda.ResourceNotFoundException",
            &format!(
                "Function not found: {arn}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {}; Proxy: null)",
                self.rng.uuid()
            ),
        )
    }

    /// Runs a function on an event as the Python runtime would.
    fn invoke(&mut self, f: &Function, event: Value) -> Invocation {
        let returned = |value: Value, duration: SignedDuration| Invocation::Returned {
            body: python_json(&value),
            value,
            duration,
        };
        match &f.behaviour {
            Behaviour::Identity => returned(event, SignedDuration::ZERO),
            Behaviour::Sleep(d) => returned(event, *d),
            Behaviour::Constant(v) => returned(v.clone(), SignedDuration::ZERO),
            Behaviour::Decorate => returned(
                Value::String(format!("input-event-{}", python_repr(&event))),
                SignedDuration::ZERO,
            ),
            Behaviour::LargeOutput => {
                let text = "a".repeat(257 * 1024);
                debug_assert!(text.len() > PAYLOAD_LIMIT);
                Invocation::Returned {
                    body: text.clone(),
                    value: Value::String(text),
                    duration: SignedDuration::ZERO,
                }
            }
            Behaviour::Raise {
                error_type,
                message,
                line,
                statement,
            } => Invocation::Raised {
                error_type: error_type.to_string(),
                message: message.to_string(),
                stack_trace: format!(
                    "  File \"/var/task/handler.py\", line {line}, in handler\n    {statement}\n"
                ),
            },
        }
    }
}

/// Runs one scripted behaviour as a real weir function would run: the event on stdin, the
/// result on stdout (exit 0), or the Python runtime's error payload on stdout (exit 1). A sleep
/// lasts `1 / time_scale` of its recorded length, to match a server whose clock runs that much
/// faster. Used by `weir lambda-behaviour`, the command the conformance run through the API
/// registers as each case's functions.
pub fn run_behaviour(text: &str, time_scale: u32) -> Result<bool, String> {
    use std::io::{Read, Write};
    let behaviour =
        Behaviour::parse(text).ok_or_else(|| format!("unknown Lambda behaviour '{text}'"))?;
    let mut stdin = String::new();
    std::io::stdin()
        .read_to_string(&mut stdin)
        .map_err(|e| format!("cannot read the event: {e}"))?;
    let event: Value = serde_json::from_str(&stdin).unwrap_or(Value::Null);
    let function = Function {
        name: String::new(),
        arn: String::new(),
        behaviour,
    };
    let mut functions = Functions {
        functions: Vec::new(),
        rng: Rng::new(u64::from(std::process::id())),
        region: String::new(),
        account: String::new(),
    };
    let (body, ok) = match functions.invoke(&function, event) {
        Invocation::Returned {
            value, duration, ..
        } => {
            let scaled = duration.as_secs_f64() / f64::from(time_scale.max(1));
            std::thread::sleep(std::time::Duration::from_secs_f64(scaled.max(0.0)));
            // What the Python runtime sends for the returned value.
            (python_json(&value), true)
        }
        Invocation::Raised {
            error_type,
            message,
            stack_trace,
        } => (
            python_error(&error_type, &message, &functions.rng.uuid(), &stack_trace),
            false,
        ),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the result: {e}"))?;
    Ok(ok)
}

/// The Python runtime's error payload, as `json.dumps` writes it.
fn python_error(error_type: &str, message: &str, request_id: &str, stack_trace: &str) -> String {
    format!(
        "{{\"errorMessage\": {}, \"errorType\": {}, \"requestId\": {}, \"stackTrace\": [{}]}}",
        Value::String(message.to_string()),
        Value::String(error_type.to_string()),
        Value::String(request_id.to_string()),
        Value::String(stack_trace.to_string())
    )
}

fn is_function_arn(resource: &str) -> bool {
    resource.starts_with("arn:aws:lambda:") && resource.contains(":function:")
}

fn is_invoke(resource: &str) -> bool {
    resource == "arn:aws:states:::lambda:invoke"
}

/// `lambda:invoke`'s result for a function that returned `payload` in a body of `length` bytes.
fn invoke_response(payload: Value, length: usize, tail: bool, now: Timestamp) -> Value {
    let length = length.to_string();
    let date = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let log = "U1RBUlQgUmVxdWVzdElkOiBSZXF1ZXN0SWQK";
    let mut all = Map::new();
    if tail {
        all.insert("X-Amz-Log-Result".into(), json!([log]));
    }
    for (key, value) in [
        ("X-Amz-Executed-Version", json!(["$LATEST"])),
        ("x-amzn-Remapped-Content-Length", json!(["0"])),
        ("Connection", json!(["keep-alive"])),
        ("x-amzn-RequestId", json!("x-amzn-RequestId")),
        ("Content-Length", json!([length])),
        ("Date", json!(date)),
        ("X-Amzn-Trace-Id", json!("X-Amzn-Trace-Id")),
        ("Content-Type", json!(["application/json"])),
    ] {
        all.insert(key.into(), value);
    }
    let mut headers = Map::new();
    for (key, value) in [
        ("Connection", "keep-alive"),
        ("Content-Length", length.as_str()),
        ("Content-Type", "application/json"),
        ("Date", date.as_str()),
        ("X-Amz-Executed-Version", "$LATEST"),
    ] {
        headers.insert(key.into(), json!(value));
    }
    if tail {
        headers.insert("X-Amz-Log-Result".into(), json!(log));
    }
    for (key, value) in [
        ("x-amzn-Remapped-Content-Length", "0"),
        ("x-amzn-RequestId", "x-amzn-RequestId"),
        ("X-Amzn-Trace-Id", "X-Amzn-Trace-Id"),
    ] {
        headers.insert(key.into(), json!(value));
    }
    let mut response = Map::new();
    response.insert("ExecutedVersion".into(), json!("$LATEST"));
    if tail {
        response.insert("LogResult".into(), json!(log));
    }
    response.insert("Payload".into(), payload);
    response.insert(
        "SdkHttpMetadata".into(),
        json!({ "AllHttpHeaders": all, "HttpHeaders": headers, "HttpStatusCode": 200 }),
    );
    response.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": "RequestId" }),
    );
    response.insert("StatusCode".into(), json!(200));
    Value::Object(response)
}

/// JSON text as Python's `json.dumps` writes it (`, ` and `: ` separators, ASCII only): the body
/// the Python runtime answers with.
fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(value, &mut out);
    out
}

fn write_python_json(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                    c => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            out.push('"');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(&Value::String(key.clone()), out);
                out.push_str(": ");
                write_python_json(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Python's `repr` of the value `json.loads` gives for this JSON.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(behaviour: &str) -> Value {
        json!({ "lambda_functions": [{
            "function_name": "f",
            "function_arn": "arn:aws:lambda:us-east-1:111111111111:function:f",
            "behaviour": behaviour,
        }] })
    }

    fn task(resource: &str, input: Value) -> TaskCommand {
        TaskCommand {
            thread: 0,
            wake: 0,
            state: "S".into(),
            resource: resource.into(),
            input,
            idempotency_key: String::new(),
            timeout_seconds: 60,
            heartbeat_seconds: None,
            attempt: 0,
        }
    }

    #[test]
    fn reads_every_behaviour_of_the_corpus() {
        for text in [
            "identity: returns the event",
            "raises Exception('Some exception was raised.') (Python runtime error payload)",
            "raises CustomException() with no message (Python runtime error payload)",
            "returns 257 KiB of 'a' as bytes (exceeds the 256 KiB payload limit)",
            "sleeps 60 s, then returns the event",
            "returns the Python str f'input-event-{event}' (Python repr of the event)",
            "constant: returns {\"Return\": \"HelloWorld\"}",
        ] {
            assert!(Behaviour::parse(text).is_some(), "{text}");
        }
        assert_eq!(
            Behaviour::parse(
                "constant: returns the bytes b'\"HelloWorld!\"' (JSON string \"HelloWorld!\")"
            ),
            Some(Behaviour::Constant(json!("HelloWorld!")))
        );
        assert!(Functions::from_case(&case("writes to S3"), 1).is_err());
    }

    #[test]
    fn invoke_wraps_the_payload_and_measures_the_python_body() {
        let mut fs = Functions::from_case(&case("identity: returns the event"), 1).expect("known");
        let now = Timestamp::UNIX_EPOCH;
        let answer = fs.answer(
            &task(
                "arn:aws:states:::lambda:invoke",
                json!({ "FunctionName": "f", "Payload": { "body": "string body" } }),
            ),
            now,
        );
        let asl::driver::TaskResult::Succeed(out) = answer.result else {
            panic!("identity succeeds");
        };
        assert_eq!(out["Payload"], json!({ "body": "string body" }));
        assert_eq!(
            out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"],
            "23"
        );
        assert_eq!(out["StatusCode"], 200);
        let raw = fs.answer(
            &task(
                "arn:aws:states:::lambda:invoke",
                json!({ "FunctionName": "arn:aws:lambda:us-east-1:111111111111:function:f", "Payload": "0.0" }),
            ),
            now,
        );
        let asl::driver::TaskResult::Succeed(out) = raw.result else {
            panic!("identity succeeds");
        };
        assert_eq!(out["Payload"], json!(0.0));
    }

    #[test]
    fn exceptions_carry_the_python_error_payload() {
        let mut fs = Functions::from_case(
            &case("raises CustomException() with no message (Python runtime error payload)"),
            1,
        )
        .expect("known");
        let answer = fs.answer(
            &task(
                "arn:aws:lambda:us-east-1:111111111111:function:f",
                json!({}),
            ),
            Timestamp::UNIX_EPOCH,
        );
        let asl::driver::TaskResult::Fail { error, cause } = answer.result else {
            panic!("raises");
        };
        assert_eq!(error, "CustomException");
        assert!(cause.starts_with("{\"errorMessage\": \"\", \"errorType\": \"CustomException\""));
        let missing = fs.answer(
            &task(
                "arn:aws:states:::lambda:invoke",
                json!({ "FunctionName": "nope" }),
            ),
            Timestamp::UNIX_EPOCH,
        );
        let asl::driver::TaskResult::Fail { error, cause } = missing.result else {
            panic!("no such function");
        };
        assert_eq!(error, "Lambda.ResourceNotFoundException");
        assert!(cause.starts_with(
            "Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope:$LATEST"
        ));
    }

    #[test]
    fn python_forms() {
        assert_eq!(
            python_repr(&json!(["string-literal", null, true, {"a": "it's"}])),
            "['string-literal', None, True, {'a': \"it's\"}]"
        );
        assert_eq!(
            python_json(&json!({"a": [1, "é"]})),
            "{\"a\": [1, \"\\u00e9\"]}"
        );
    }
}
