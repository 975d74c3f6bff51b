//! The conformance runner: runs corpus cases recorded against AWS and writes one result per case.
//!
//! The corpus format is described in the corpus's `README.md`: `index.json` lists the cases and
//! each case holds a definition, an input, the API that was called and AWS's recorded answer. The
//! runner writes the JSON lines that `score.py` grades. Cases it cannot run yet are skipped with a
//! reason printed in the summary, never guessed.
//!
//! `lambda` cases run with the scripted functions of [`lambda`]; TestState cases go through
//! [`asl::test_state::test_state`].

pub mod http;
mod lambda;

pub use lambda::run_behaviour;

use anyhow::{Context, Result};
use asl::definition::StateMachine;
use asl::driver::{self, TaskAnswer};
use asl::execution::{ExecutionInfo, Status};
use asl::test_state::TestStateRequest;
use asl::validate::{self, ValidationOptions};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The fixed start time of conformance runs, so outputs that print it are reproducible.
const START: &str = "2024-01-01T00:00:00Z";

/// Runs every case under `corpus` and writes results to `out`: in process, or through the API of
/// the `weir server` at `endpoint`.
pub fn run(corpus: &Path, out: &Path, endpoint: Option<&str>, time_scale: u32) -> Result<()> {
    let endpoint = endpoint.map(|url| http::Endpoint::new(url, time_scale));
    let cases = list_cases(corpus)?;
    let mut file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut ran = 0usize;
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for path in &cases {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let case: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let result = match &endpoint {
            Some(endpoint) => http::run_case(endpoint, &case),
            None => run_case(&case),
        };
        match result {
            Ok(mut result) => {
                result.insert("id".into(), case.get("id").cloned().unwrap_or(Value::Null));
                writeln!(file, "{}", Value::Object(result))?;
                ran += 1;
            }
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    }
    println!(
        "ran {ran} of {} cases; results in {}",
        cases.len(),
        out.display()
    );
    for (reason, n) in skipped {
        println!("skipped {n:>4}: {reason}");
    }
    Ok(())
}

fn list_cases(corpus: &Path) -> Result<Vec<PathBuf>> {
    let index = corpus.join("index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index)?;
        let rows: Vec<Value> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON array", index.display()))?;
        return Ok(rows
            .iter()
            .filter_map(|r| r.get("path").and_then(Value::as_str))
            .map(|p| corpus.join(p))
            .collect());
    }
    let mut out = Vec::new();
    let mut stack = vec![corpus.join("cases")];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

type CaseResult = std::result::Result<Map<String, Value>, String>;

fn run_case(case: &Value) -> CaseResult {
    let api = case.get("api").and_then(Value::as_str).unwrap_or_default();
    match api {
        "start_execution" | "start_execution(express)" | "start_sync_execution" => execute(case),
        "validate_state_machine_definition" => validate_definition(case),
        "test_state" | "api_error:test_state" => test_state(case),
        "api_error:create_state_machine"
            if case.pointer("/api_args/versionDescription").is_none() =>
        {
            create_state_machine(case)
        }
        other => Err(format!("API '{other}' is not supported by the runner yet")),
    }
}

/// The definition as the test sent it: its text when recorded, else the JSON value.
fn definition_text(case: &Value) -> Option<String> {
    match case.get("definition_text") {
        Some(Value::String(text)) => Some(text.clone()),
        _ => case
            .get("definition")
            .filter(|d| !d.is_null())
            .map(Value::to_string),
    }
}

fn options(case: &Value) -> ValidationOptions {
    let kind = case
        .pointer("/api_args/type")
        .or_else(|| case.get("state_machine_type"))
        .and_then(Value::as_str);
    ValidationOptions {
        express: kind == Some("EXPRESS"),
    }
}

/// `ValidateStateMachineDefinition`: the result and every diagnostic.
fn validate_definition(case: &Value) -> CaseResult {
    let text = definition_text(case).ok_or("case has no definition")?;
    let diagnostics = validate::validate_text(&text, &options(case));
    let ok = !validate::has_errors(&diagnostics);
    let mut result = Map::new();
    result.insert("status".into(), json!("VALIDATED"));
    result.insert("result".into(), json!(if ok { "OK" } else { "FAIL" }));
    result.insert(
        "diagnostics".into(),
        serde_json::to_value(&diagnostics).map_err(|e| e.to_string())?,
    );
    Ok(result)
}

/// `CreateStateMachine` of a definition: `InvalidDefinition` when AWS's rules reject it.
fn create_state_machine(case: &Value) -> CaseResult {
    let text = definition_text(case).ok_or("case has no definition")?;
    let mut result = Map::new();
    match StateMachine::load_text(&text, &options(case)) {
        Ok(_) => {
            result.insert("status".into(), json!("CREATED"));
        }
        Err(diagnostics) => {
            result.insert("status".into(), json!("API_ERROR"));
            result.insert("error".into(), json!("InvalidDefinition"));
            result.insert(
                "cause".into(),
                json!(validate::invalid_definition_cause(&diagnostics, &text)),
            );
        }
    }
    Ok(result)
}

fn execute(case: &Value) -> CaseResult {
    let definition = case.get("definition").ok_or("case has no definition")?;
    let def = StateMachine::load(definition, &options(case)).map_err(|diagnostics| {
        format!(
            "definition rejected: {}",
            diagnostics
                .first()
                .map(|d| d.message.as_str())
                .unwrap_or("?")
        )
    })?;
    let mut functions = match case.get("kind").and_then(Value::as_str) {
        Some("pure") => None,
        Some("lambda") if lambda::Functions::covers(definition) => {
            Some(lambda::Functions::from_case(case, 11)?)
        }
        Some("lambda") => return Err("lambda cases that call other services too".into()),
        _ => return Err("cases that call outside services are not supported yet".into()),
    };
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let start = START.parse().map_err(|e| format!("bad start time: {e}"))?;
    let arn = driver::local_state_machine_arn("conformance");
    let express = case.get("state_machine_type").and_then(Value::as_str) == Some("EXPRESS");
    let sync = case.get("api").and_then(Value::as_str) == Some("start_sync_execution");
    let info = if express {
        ExecutionInfo::new_express(
            &arn,
            "case",
            "00000000-0000-4000-8000-000000000000",
            input,
            start,
            sync,
        )
    } else {
        ExecutionInfo::new(&arn, "case", input, start)
    };
    // The task answerer is not told the virtual time; the only use of it, the HTTP Date header of
    // `lambda:invoke`'s result, carries the execution's start time instead.
    let mut tasks = |task: &asl::execution::TaskCommand| match functions.as_mut() {
        Some(functions) => functions.answer(task, start),
        None => TaskAnswer::fail(
            "States.TaskFailed",
            &format!("no task runner for '{}'", task.resource),
        ),
    };
    let mut runner = driver::Runner::start(&def, info, 7, &mut tasks);
    // A case recorded as ABORTED is one whose test called StopExecution while the execution
    // waited; do the same once the execution first has to wait.
    let stopped_by_test =
        case.pointer("/expected/status").and_then(Value::as_str) == Some("ABORTED");
    if stopped_by_test {
        runner.stop(None, None);
    }
    while runner.advance(&mut tasks) {}
    let outcome = runner.finish();
    let mut result = Map::new();
    result.insert("status".into(), json!(outcome.status.as_str()));
    match outcome.status {
        Status::Succeeded => {
            result.insert("output".into(), outcome.output.unwrap_or(Value::Null));
        }
        _ => {
            if let Some(f) = outcome.failure {
                result.insert("error".into(), json!(f.error));
                result.insert("cause".into(), json!(f.cause));
            }
        }
    }
    let types: Vec<Value> = outcome
        .history
        .iter()
        .map(|e| Value::String(e.event_type.clone()))
        .collect();
    result.insert("history_event_types".into(), Value::Array(types));
    Ok(result)
}

/// `TestState`: the request from `test_state_args` (or, for rejected requests, `api_args`).
fn test_state(case: &Value) -> CaseResult {
    let args = case
        .get("test_state_args")
        .filter(|a| a.is_object())
        .or_else(|| case.get("api_args"))
        .cloned()
        .unwrap_or(json!({}));
    let now = START.parse().map_err(|e| format!("bad start time: {e}"))?;
    let mut request = TestStateRequest::from_api(&args, now, 7);
    // The corpus leaves out the `roleArn` its tests sent (each run's own IAM role). The tests
    // that mock a state sent one, and AWS shows it in the context object.
    if request.role_arn.is_none() && request.mock.is_some() {
        request.role_arn = Some("arn:aws:iam::000000000000:role/conformance".into());
    }
    request.definition = definition_text(case).ok_or("case has no definition")?;
    request.input = case
        .get("input")
        .filter(|i| !i.is_null())
        .map(Value::to_string);
    let mut result = Map::new();
    match asl::test_state::test_state(&request) {
        Ok(response) => {
            let Value::Object(wire) = response.to_json() else {
                return Err("TestState answer is not an object".into());
            };
            for (key, value) in wire {
                // The output is JSON text on the wire; `output_json` is how score.py takes it.
                let key = if key == "output" {
                    "output_json".into()
                } else {
                    key
                };
                result.insert(key, value);
            }
        }
        Err(e) if e.is_unsupported() => {
            return Err("TestState of a Task without a mock would call its service".into());
        }
        Err(e) => {
            result.insert("status".into(), json!("API_ERROR"));
            result.insert("error".into(), json!(e.code()));
            result.insert("cause".into(), json!(e.to_string()));
            result.insert("operation".into(), json!("TestState"));
        }
    }
    Ok(result)
}
