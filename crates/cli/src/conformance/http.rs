//! Conformance through the HTTP API: the same cases, sent to a running `weir server` as an AWS
//! client sends them (`CreateStateMachine`, `StartExecution`, `DescribeExecution`,
//! `GetExecutionHistory`, `StartSyncExecution`, `ValidateStateMachineDefinition`, `TestState`),
//! with results in the shape the in-process runner writes, so `score.py` grades both alike.
//!
//! Start the server with `--time-scale 1000` so the corpus's Waits and retry intervals take
//! milliseconds.

use super::{CaseResult, definition_text, options};
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A `weir server` to run cases against.
pub struct Endpoint {
    agent: ureq::Agent,
    url: String,
    run: u64,
    counter: AtomicU64,
    /// The server's clock factor: the scripted functions sleep that much shorter.
    time_scale: u32,
}

/// An API error: AWS's code and message.
struct ApiError {
    code: String,
    message: String,
}

impl Endpoint {
    /// The server at `url` (`http://127.0.0.1:8083`), whose clock runs `time_scale` times fast.
    pub fn new(url: &str, time_scale: u32) -> Endpoint {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Endpoint {
            agent,
            url: url.trim_end_matches('/').to_string() + "/",
            run: u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0),
            counter: AtomicU64::new(0),
            time_scale,
        }
    }

    /// Calls one Step Functions operation.
    fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        self.call_target(&format!("AWSStepFunctions.{operation}"), body)
    }

    /// Calls one operation by its full target (`AWSStepFunctions.X`, `Weir.X`).
    fn call_target(&self, target: &str, body: &Value) -> Result<Value, ApiError> {
        let operation = target;
        let transport = |e: ureq::Error| ApiError {
            code: "Transport".into(),
            message: format!("cannot reach {}: {e}", self.url),
        };
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", target)
            .send(body.to_string())
            .map_err(transport)?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(transport)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| ApiError {
            code: "Transport".into(),
            message: format!("{operation} answered with something not JSON ({e}): {text}"),
        })?;
        if status.is_success() {
            return Ok(value);
        }
        Err(ApiError {
            code: value["__type"].as_str().unwrap_or("Unknown").to_string(),
            message: value["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn unique(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{n}", self.run)
    }
}

/// A transport failure stops the case as skipped (the server is down); API errors are results.
fn skipped(error: ApiError) -> String {
    format!("the server failed: {}: {}", error.code, error.message)
}

/// Runs one case through the API, or says why it cannot.
pub fn run_case(endpoint: &Endpoint, case: &Value) -> CaseResult {
    let api = case.get("api").and_then(Value::as_str).unwrap_or_default();
    match api {
        "start_execution" | "start_sync_execution" => execute(endpoint, case),
        "start_execution(express)" => Err(
            "an asynchronous Express execution's result cannot be read through the API (AWS has \
             no DescribeExecution for Express either)"
                .into(),
        ),
        "validate_state_machine_definition" => validate(endpoint, case),
        "test_state" | "api_error:test_state" => test_state(endpoint, case),
        "api_error:create_state_machine" => create(endpoint, case),
        "api_error:start_execution" | "api_error:start_sync_execution" => {
            refused_start(endpoint, case, api)
        }
        "api_error:update_state_machine" => refused_update(endpoint, case),
        other => Err(format!("API '{other}' is not supported by the runner yet")),
    }
}

fn machine_type(case: &Value) -> &'static str {
    if options(case).express {
        "EXPRESS"
    } else {
        "STANDARD"
    }
}

fn create_machine(endpoint: &Endpoint, case: &Value, text: &str) -> Result<String, ApiError> {
    let created = endpoint.call(
        "CreateStateMachine",
        &json!({
            "name": endpoint.unique("case"),
            "definition": text,
            "roleArn": "arn:aws:iam::000000000000:role/conformance",
            "type": machine_type(case),
        }),
    )?;
    Ok(created["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Replaces the values that are random or wall-clock at AWS (request ids, trace ids, HTTP
/// dates in the SDK metadata of service integration results) with the stand-ins the corpus
/// recorded in their place: LocalStack's snapshot transformers made those replacements when the
/// cases were recorded, so the referee compares weir's real values the way it compared AWS's.
fn normalise_volatile(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(metadata)) = map.get_mut("SdkHttpMetadata") {
                for headers in ["AllHttpHeaders", "HttpHeaders"] {
                    if let Some(Value::Object(headers)) = metadata.get_mut(headers) {
                        for (name, stand_in) in [
                            ("x-amzn-RequestId", "x-amzn-RequestId"),
                            ("X-Amzn-Trace-Id", "X-Amzn-Trace-Id"),
                            ("Date", "date"),
                        ] {
                            if let Some(v) = headers.get_mut(name) {
                                *v = json!(stand_in);
                            }
                        }
                    }
                }
            }
            if let Some(Value::Object(metadata)) = map.get_mut("SdkResponseMetadata")
                && let Some(v) = metadata.get_mut("RequestId")
            {
                *v = json!("RequestId");
            }
            for v in map.values_mut() {
                normalise_volatile(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_volatile),
        _ => {}
    }
}

/// Registers a lambda case's functions on the server: each runs `weir lambda-behaviour` with
/// its scripted behaviour (a name already registered is registered again).
fn register_functions(endpoint: &Endpoint, case: &Value) -> Result<(), String> {
    let weir = std::env::current_exe().map_err(|e| format!("cannot find weir itself: {e}"))?;
    let weir = weir.to_string_lossy().to_string();
    for function in case
        .get("lambda_functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = function["function_name"].as_str().unwrap_or_default();
        let behaviour = function["behaviour"].as_str().unwrap_or_default();
        let scale = endpoint.time_scale.to_string();
        let spec = json!({
            "name": name,
            "command": [weir, "lambda-behaviour", "--behaviour", behaviour, "--time-scale", scale],
            "description": behaviour,
        });
        match endpoint.call_target("Weir.CreateFunction", &spec) {
            Ok(_) => {}
            Err(e) if e.code == "ResourceConflictException" => {
                endpoint
                    .call_target("Weir.UpdateFunction", &spec)
                    .map_err(skipped)?;
            }
            Err(e) => return Err(skipped(e)),
        }
    }
    Ok(())
}

fn execute(endpoint: &Endpoint, case: &Value) -> CaseResult {
    match case.get("kind").and_then(Value::as_str) {
        Some("pure") => {}
        Some("lambda") => register_functions(endpoint, case)?,
        _ => return Err("cases that call outside services are not supported yet".into()),
    }
    let text = definition_text(case).ok_or("case has no definition")?;
    let machine = create_machine(endpoint, case, &text)
        .map_err(|e| format!("definition rejected: {}", e.message))?;
    let input = case.get("input").cloned().unwrap_or(json!({})).to_string();
    let mut result = Map::new();
    if machine_type(case) == "EXPRESS" {
        // A synchronous Express execution: the answer is the result.
        let answer = endpoint
            .call(
                "StartSyncExecution",
                &json!({"stateMachineArn": machine, "name": "case", "input": input}),
            )
            .map_err(skipped)?;
        outcome(&mut result, &answer);
        return Ok(result);
    }
    let started = endpoint
        .call(
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": "case", "input": input}),
        )
        .map_err(skipped)?;
    let arn = started["executionArn"].as_str().unwrap_or_default();
    if case.pointer("/expected/status").and_then(Value::as_str) == Some("ABORTED") {
        // As the in-process runner: the test stopped the execution once it first waited.
        endpoint
            .call("StopExecution", &json!({"executionArn": arn}))
            .map_err(skipped)?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let described = loop {
        let described = endpoint
            .call("DescribeExecution", &json!({"executionArn": arn}))
            .map_err(skipped)?;
        if described["status"] != "RUNNING" {
            break described;
        }
        if Instant::now() > deadline {
            return Err("an execution ran for more than a minute through the API".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    outcome(&mut result, &described);
    let mut types = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(token) = &token {
            request["nextToken"] = json!(token);
        }
        let page = endpoint
            .call("GetExecutionHistory", &request)
            .map_err(skipped)?;
        for event in page["events"].as_array().into_iter().flatten() {
            types.push(event["type"].clone());
        }
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    result.insert("history_event_types".into(), Value::Array(types));
    Ok(result)
}

/// Status, output (parsed) or error and cause, from a DescribeExecution or StartSyncExecution
/// answer.
fn outcome(result: &mut Map<String, Value>, answer: &Value) {
    let status = answer["status"].clone();
    result.insert("status".into(), status.clone());
    if status == "SUCCEEDED" {
        let mut output = answer["output"]
            .as_str()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null);
        normalise_volatile(&mut output);
        result.insert("output".into(), output);
    } else {
        for key in ["error", "cause"] {
            if let Some(value) = answer.get(key) {
                result.insert(key.into(), value.clone());
            }
        }
    }
}

fn validate(endpoint: &Endpoint, case: &Value) -> CaseResult {
    let text = definition_text(case).ok_or("case has no definition")?;
    let answer = endpoint
        .call(
            "ValidateStateMachineDefinition",
            &json!({"definition": text, "type": machine_type(case)}),
        )
        .map_err(skipped)?;
    let mut result = Map::new();
    result.insert("status".into(), json!("VALIDATED"));
    result.insert("result".into(), answer["result"].clone());
    result.insert("diagnostics".into(), answer["diagnostics"].clone());
    Ok(result)
}

fn create(endpoint: &Endpoint, case: &Value) -> CaseResult {
    let text = definition_text(case).ok_or("case has no definition")?;
    let mut request = json!({
        "name": endpoint.unique("case"),
        "definition": text,
        "roleArn": "arn:aws:iam::000000000000:role/conformance",
        "type": machine_type(case),
    });
    // The request members the case sent besides the definition (publish, versionDescription).
    for member in ["publish", "versionDescription"] {
        if let Some(value) = case.pointer(&format!("/api_args/{member}")) {
            request[member] = value.clone();
        }
    }
    refusal(endpoint.call("CreateStateMachine", &request), "CREATED")
}

fn test_state(endpoint: &Endpoint, case: &Value) -> CaseResult {
    let mut request = case
        .get("test_state_args")
        .filter(|a| a.is_object())
        .or_else(|| case.get("api_args"))
        .cloned()
        .unwrap_or(json!({}));
    request["definition"] = json!(definition_text(case).ok_or("case has no definition")?);
    // The corpus leaves out the `roleArn` its tests sent (each run's own IAM role). The tests
    // that mock a state sent one, and AWS shows it in the context object.
    if request.get("mock").is_some() && request.get("roleArn").is_none() {
        request["roleArn"] = json!("arn:aws:iam::000000000000:role/conformance");
    }
    match case.get("input").filter(|i| !i.is_null()) {
        Some(input) => request["input"] = json!(input.to_string()),
        None => {
            if let Some(fields) = request.as_object_mut() {
                fields.remove("input");
            }
        }
    }
    let mut result = Map::new();
    match endpoint.call("TestState", &request) {
        Ok(Value::Object(answer)) => {
            for (key, value) in answer {
                let key = if key == "output" {
                    "output_json".to_string()
                } else {
                    key
                };
                result.insert(key, value);
            }
        }
        Ok(other) => return Err(format!("TestState answered with {other}")),
        Err(error) if error.code == "Transport" => return Err(skipped(error)),
        Err(error) if error.code == "UnsupportedOperation" => {
            return Err(format!("TestState through the API: {}", error.message));
        }
        Err(error) => {
            result.insert("status".into(), json!("API_ERROR"));
            result.insert("error".into(), json!(error.code));
            result.insert("cause".into(), json!(error.message));
            result.insert("operation".into(), json!("TestState"));
        }
    }
    Ok(result)
}

/// Records how a request AWS may refuse went: `accepted` as the status, or its error code and
/// message.
fn refusal(answer: Result<Value, ApiError>, accepted: &str) -> CaseResult {
    let mut result = Map::new();
    match answer {
        Ok(_) => {
            result.insert("status".into(), json!(accepted));
        }
        Err(error) if error.code == "Transport" => return Err(skipped(error)),
        Err(error) => {
            result.insert("status".into(), json!("API_ERROR"));
            result.insert("error".into(), json!(error.code));
            result.insert("cause".into(), json!(error.message));
        }
    }
    Ok(result)
}

/// The execution input as the case sent it: raw text when it recorded a string (invalid JSON on
/// purpose), JSON text otherwise.
fn raw_input(case: &Value) -> Option<String> {
    match case.get("input") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// The case's definition, or (for API cases that recorded none, where only the machine's
/// existence matters) a one-state Pass machine.
fn definition_or_pass(case: &Value) -> String {
    definition_text(case)
        .unwrap_or_else(|| r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.into())
}

/// `StartExecution` / `StartSyncExecution` requests AWS refused: an unknown machine, bad input,
/// a name already used, a Standard machine run synchronously.
fn refused_start(endpoint: &Endpoint, case: &Value, api: &str) -> CaseResult {
    let expected = case.pointer("/expected/error").and_then(Value::as_str);
    let machine = if expected == Some("StateMachineDoesNotExist") {
        case.pointer("/api_args/stateMachineArn")
            .and_then(Value::as_str)
            .ok_or("case has no stateMachineArn")?
            .to_string()
    } else {
        create_machine(endpoint, case, &definition_or_pass(case)).map_err(skipped)?
    };
    let name = case.pointer("/api_args/name").and_then(Value::as_str);
    let mut request = json!({"stateMachineArn": machine});
    if let Some(name) = name {
        request["name"] = json!(name);
    }
    if let Some(input) = raw_input(case) {
        request["input"] = json!(input);
    }
    if expected == Some("ExecutionAlreadyExists") {
        // The test started an execution with this name and other input first.
        let mut first = request.clone();
        first["input"] = json!("{}");
        endpoint.call("StartExecution", &first).map_err(skipped)?;
    }
    let operation = if api == "api_error:start_sync_execution" {
        "StartSyncExecution"
    } else {
        "StartExecution"
    };
    refusal(endpoint.call(operation, &request), "ACCEPTED")
}

/// `UpdateStateMachine` requests AWS refused (nothing to update).
fn refused_update(endpoint: &Endpoint, case: &Value) -> CaseResult {
    let machine = create_machine(endpoint, case, &definition_or_pass(case)).map_err(skipped)?;
    let mut request = case.get("api_args").cloned().unwrap_or(json!({}));
    request["stateMachineArn"] = json!(machine);
    refusal(endpoint.call("UpdateStateMachine", &request), "ACCEPTED")
}
