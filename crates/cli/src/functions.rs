//! Functions for `weir run`: local commands that stand in for AWS Lambda functions.
//!
//! # The registry
//!
//! `weir run --functions FILE` loads a JSON file that names each function and how to start it:
//!
//! ```json
//! {
//!   "functions": {
//!     "validate-order": {
//!       "command": ["python3", "functions/validate.py"],
//!       "timeout-seconds": 30,
//!       "env": {"LOG_LEVEL": "debug"},
//!       "cwd": "."
//!     }
//!   }
//! }
//! ```
//!
//! Keys are kebab-case, like every weir options file, and unknown keys are refused with the name of
//! the function they appear in. A function name follows Lambda's rule: 1 to 64 letters, digits,
//! hyphens and underscores.
//!
//! - `command` (required): the program and its arguments. The program is looked up on `PATH`
//!   unless it contains a `/`, in which case it is relative to the registry file's directory.
//!   Arguments are passed as they are, never through a shell.
//! - `cwd` (default `.`): the working directory, relative to the registry file's directory.
//!   Relative paths in arguments and in the event are therefore relative to the registry file by
//!   default.
//! - `env` (default none): variables added to weir's own environment.
//! - `timeout-seconds` (default none): the function's own timeout, like a Lambda function's
//!   configured timeout. The Task state's `TimeoutSeconds` applies as well; the shorter one wins.
//!
//! # Which function a Task runs
//!
//! | `Resource` | function | event (stdin) | task result |
//! | --- | --- | --- | --- |
//! | `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` | `NAME` | the task input | the function's result |
//! | `arn:aws:states:::lambda:invoke` | `FunctionName` (a name, `NAME:QUALIFIER`, a partial or full ARN) | `Payload` (`{}` if absent; a string is the JSON text of the event) | `{"ExecutedVersion", "Payload": result, "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode": 200}` as AWS wraps it |
//!
//! Qualifiers (versions, aliases) are accepted and ignored: every call runs the registered command
//! and reports `ExecutedVersion` `$LATEST`. `lambda:invoke` supports the `RequestResponse`
//! invocation type only. Other resources (activities, other service integrations,
//! `.waitForTaskToken`) fail with `States.TaskFailed` and a cause saying `weir run` does not
//! support them yet.
//!
//! # The protocol
//!
//! The function is started once per task attempt. It reads the event as JSON on stdin and writes
//! its result as JSON on stdout (empty stdout is `null`, like a Lambda handler returning nothing).
//! Each line it writes to stderr is copied to weir's stderr, prefixed with `[NAME] `. The
//! environment carries `WEIR_FUNCTION_NAME`, `WEIR_IDEMPOTENCY_KEY` (unique per execution, state,
//! Map index and attempt: the same key means the same piece of work) and `WEIR_ATTEMPT` (0 for the
//! first attempt, 1 for the first retry, ...). An invocation ends when the process has exited and
//! closed its stdout.
//!
//! # Errors
//!
//! Errors carry the names AWS Step Functions reports for Lambda, so `Retry` and `Catch` written for
//! AWS work unchanged. A weir-made cause is the JSON error object Lambda itself would return.
//!
//! | What happens | Error | Cause |
//! | --- | --- | --- |
//! | non-zero exit, stdout a JSON object with a string `errorType` | that `errorType` | stdout as written (function ARN) or compacted (`lambda:invoke`) |
//! | non-zero exit otherwise (or killed by a signal) | `Runtime.ExitError` | `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: ID Error: Runtime exited with error: exit status N"}` |
//! | exit 0, stdout not JSON | `Runtime.MarshalError` | `{"errorType":"Runtime.MarshalError","errorMessage":"Unable to marshal response: ..."}` |
//! | stdout larger than 6 MiB (Lambda's response limit) | `Function.ResponseSizeTooLarge` | the limit |
//! | the program cannot be started | `Runtime.InvalidEntrypoint` | the program, directory and OS error |
//! | the function's `timeout-seconds` passed (process killed) | `Sandbox.Timedout` | `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID Error: Task timed out after N.00 seconds"}` |
//! | the Task's `TimeoutSeconds` passed (process killed) | `States.Timeout` | empty |
//! | no such function in the registry | `Lambda.ResourceNotFoundException` | AWS's `Function not found: ARN (...)`, then the registry file and what it registers |
//! | `lambda:invoke` with a string `Payload` that is not JSON | `Lambda.InvalidRequestContentException` | `Could not parse request body into json` |
//!
//! A function that exits 0 succeeds whatever its JSON says, even `{"errorType": ...}`: only a
//! failing process reports an error, as only a raising handler does on Lambda. AWS documents
//! unhandled Lambda errors as `Lambda.Unknown`; Lambda today returns an `errorType` for process
//! exits (`Runtime.ExitError`) and timeouts (`Sandbox.Timedout`), and Step Functions reports that
//! type, so weir does too. All of these match `States.TaskFailed` and `States.ALL` except
//! `States.Timeout`, which matches `States.Timeout` and `States.ALL`.
//!
//! Killing a function kills its process, not processes it started itself.

use anyhow::{Context, Result, bail};
use asl::Failure;
use asl::driver::TaskAnswer;
use asl::error::names;
use asl::execution::TaskCommand;
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The region and account of ARNs weir makes up for function names given without an ARN.
const DEFAULT_FUNCTION_ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:000000000000:function:";

/// Lambda's limit on a synchronous response payload (6 MiB).
const RESPONSE_LIMIT_BYTES: u64 = 6 * 1024 * 1024;

/// The registry file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    functions: Map<String, Value>,
}

/// One function as written in the registry file (see the module documentation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FunctionFile {
    command: Vec<String>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cwd: Option<PathBuf>,
}

/// A function ready to start: paths resolved against the registry file's directory.
#[derive(Debug, Clone)]
struct Function {
    program: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
    env: BTreeMap<String, String>,
    timeout: Option<Duration>,
}

/// The functions `weir run` can run, usually loaded from a registry file with [`Registry::load`].
#[derive(Debug, Default)]
pub struct Registry {
    source: Option<PathBuf>,
    functions: BTreeMap<String, Function>,
}

impl Registry {
    /// Loads a registry file. The error names the file and lists every problem in it.
    pub fn load(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the function registry {}", path.display()))?;
        let value: Value = serde_json::from_str(&text).with_context(|| {
            format!("the function registry {} is not valid JSON", path.display())
        })?;
        if !value.is_object() {
            bail!(
                "the function registry {} must be a JSON object with a \"functions\" object",
                path.display()
            );
        }
        let file: RegistryFile = serde_json::from_value(value)
            .with_context(|| format!("the function registry {} is malformed", path.display()))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot resolve the directory of {}", path.display()))?;
        let mut problems = Vec::new();
        let mut functions = BTreeMap::new();
        for (name, spec) in file.functions {
            if let Some(function) = resolve_function(&name, spec, &dir, &mut problems) {
                functions.insert(name, function);
            }
        }
        if !problems.is_empty() {
            bail!(
                "the function registry {} is not valid:\n  {}",
                path.display(),
                problems.join("\n  ")
            );
        }
        Ok(Registry {
            source: Some(path.to_path_buf()),
            functions,
        })
    }

    /// Runs one task and answers it; `duration` is the wall time the task took.
    pub fn run(&self, task: &TaskCommand) -> TaskAnswer {
        let started = Instant::now();
        let mut answer = match self.perform(task) {
            Ok(output) => TaskAnswer::ok(output),
            Err(f) => TaskAnswer::fail(&f.error, &f.cause),
        };
        answer.duration =
            SignedDuration::try_from(started.elapsed()).unwrap_or(SignedDuration::MAX);
        answer
    }

    /// Runs one task: its result, or its failure as an ASL error.
    pub fn perform(&self, task: &TaskCommand) -> Result<Value, Failure> {
        let request_id = request_id(&task.idempotency_key);
        match target(&task.resource, &task.input)? {
            Target::Direct { reference } => {
                let call = Call {
                    task,
                    request_id: &request_id,
                    raw_error_cause: true,
                };
                let reply = self.invoke(reference, &task.input, &call)?;
                Ok(reply.result)
            }
            Target::Invoke { reference, event } => {
                let call = Call {
                    task,
                    request_id: &request_id,
                    raw_error_cause: false,
                };
                let reply = self.invoke(reference, &event, &call)?;
                Ok(invoke_output(reply, &request_id))
            }
        }
    }

    fn invoke(&self, reference: &str, event: &Value, call: &Call<'_>) -> Result<Reply, Failure> {
        let name = function_name(reference);
        let Some(function) = self.functions.get(name) else {
            return Err(self.not_found(reference, name, call.request_id));
        };
        execute(name, function, event, call)
    }

    fn not_found(&self, reference: &str, name: &str, request_id: &str) -> Failure {
        let mut arn = if reference.starts_with("arn:") {
            reference.to_string()
        } else if reference.contains(":function:") {
            format!("arn:aws:lambda:us-east-1:{reference}")
        } else {
            format!("{DEFAULT_FUNCTION_ARN_PREFIX}{reference}")
        };
        if arn.split(':').count() == 7 {
            arn.push_str(":$LATEST");
        }
        let detail = match &self.source {
            None => "no --functions registry was given".to_string(),
            Some(path) => {
                let known: Vec<&str> = self.functions.keys().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "it registers none".to_string()
                } else {
                    format!("it registers {}", known.join(", "))
                };
                format!(
                    "the function registry {} has no function '{name}'; {known}",
                    path.display()
                )
            }
        };
        Failure::new(
            "Lambda.ResourceNotFoundException",
            format!(
                "Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: \
                 ResourceNotFoundException; Request ID: {request_id}; Proxy: null). weir: {detail}"
            ),
        )
    }
}

/// Checks one registry entry, adding what is wrong with it to `problems`.
fn resolve_function(
    name: &str,
    spec: Value,
    dir: &Path,
    problems: &mut Vec<String>,
) -> Option<Function> {
    let before = problems.len();
    if !is_function_name(name) {
        problems.push(format!(
            "function '{name}': the name must be 1 to 64 letters, digits, hyphens or underscores"
        ));
    }
    let spec: FunctionFile = match serde_json::from_value(spec) {
        Ok(spec) => spec,
        Err(e) => {
            problems.push(format!("function '{name}': {e}"));
            return None;
        }
    };
    let mut command = spec.command.into_iter();
    let program = match command.next() {
        Some(p) if !p.is_empty() => p,
        _ => {
            problems.push(format!(
                "function '{name}': `command` must start with the program to run"
            ));
            String::new()
        }
    };
    let program = if program.contains('/') {
        let path = dir.join(&program);
        if !path.is_file() {
            problems.push(format!(
                "function '{name}': the program {} does not exist",
                path.display()
            ));
        }
        path
    } else {
        PathBuf::from(program)
    };
    let cwd = dir.join(spec.cwd.unwrap_or_else(|| PathBuf::from(".")));
    if !cwd.is_dir() {
        problems.push(format!(
            "function '{name}': the directory {} (`cwd`) does not exist",
            cwd.display()
        ));
    }
    if spec.timeout_seconds == Some(0) {
        problems.push(format!(
            "function '{name}': `timeout-seconds` must be at least 1"
        ));
    }
    for key in spec.env.keys() {
        if key.is_empty() || key.contains(['=', '\0']) {
            problems.push(format!(
                "function '{name}': `env` has an invalid variable name '{key}'"
            ));
        }
    }
    (problems.len() == before).then(|| Function {
        program,
        args: command.collect(),
        cwd,
        env: spec.env,
        timeout: spec.timeout_seconds.map(Duration::from_secs),
    })
}

/// Lambda's rule for function names.
fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What a Task's `Resource` asks for.
#[derive(Debug, PartialEq)]
enum Target<'t> {
    /// A function ARN as the `Resource`: the task input is the event.
    Direct { reference: &'t str },
    /// `arn:aws:states:::lambda:invoke`: `FunctionName` and `Payload` come from the task input.
    Invoke { reference: &'t str, event: Value },
}

fn target<'t>(resource: &'t str, input: &'t Value) -> Result<Target<'t>, Failure> {
    if lambda_arn_function(resource).is_some() {
        return Ok(Target::Direct {
            reference: resource,
        });
    }
    let integration = match resource.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "states", "", "", "lambda", action] => Some(*action),
        _ => None,
    };
    if integration == Some("invoke") {
        return invoke_target(input);
    }
    let why = if integration == Some("invoke.waitForTaskToken") {
        "callbacks (.waitForTaskToken) need a task token service, which weir run does not have yet"
    } else {
        "it runs Lambda functions only for now (arn:aws:lambda:REGION:ACCOUNT:function:NAME and \
         arn:aws:states:::lambda:invoke)"
    };
    Err(Failure::new(
        names::TASK_FAILED,
        format!("weir run does not support the resource '{resource}' yet: {why}"),
    ))
}

fn invoke_target(input: &Value) -> Result<Target<'_>, Failure> {
    let refuse = |cause: String| Failure::new(names::TASK_FAILED, cause);
    let Some(params) = input.as_object() else {
        return Err(refuse(format!(
            "lambda:invoke needs Parameters with a FunctionName; the task input is {input}"
        )));
    };
    let Some(reference) = params.get("FunctionName").and_then(Value::as_str) else {
        return Err(refuse(
            "lambda:invoke needs a FunctionName (a function name or ARN) in its Parameters"
                .to_string(),
        ));
    };
    match params.get("InvocationType").and_then(Value::as_str) {
        None | Some("RequestResponse") => {}
        Some(other) => {
            return Err(refuse(format!(
                "weir run supports the lambda:invoke InvocationType RequestResponse only, not {other}"
            )));
        }
    }
    // A string Payload is the request body itself, as the AWS SDK sends it.
    let event = match params.get("Payload") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(body)) => serde_json::from_str(body).map_err(|_| {
            Failure::new(
                "Lambda.InvalidRequestContentException",
                "Could not parse request body into json",
            )
        })?,
        Some(payload) => payload.clone(),
    };
    Ok(Target::Invoke { reference, event })
}

/// The function name in `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
fn lambda_arn_function(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] if !name.is_empty() => Some(*name),
        _ => None,
    }
}

/// The function name in a `FunctionName`: a name, `NAME:QUALIFIER`, `ACCOUNT:function:NAME` or an
/// ARN.
fn function_name(reference: &str) -> &str {
    if let Some(name) = lambda_arn_function(reference) {
        return name;
    }
    let rest = reference
        .split_once(":function:")
        .map_or(reference, |(_, rest)| rest);
    rest.split_once(':').map_or(rest, |(name, _)| name)
}

/// The task result of `lambda:invoke`, shaped as Step Functions shows Lambda's `Invoke` response
/// (headers in the order AWS gives them).
fn invoke_output(reply: Reply, request_id: &str) -> Value {
    let length = reply.body_length.to_string();
    let now = jiff::Timestamp::now();
    let date = now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let trace = format!(
        "root=1-{:08x}-{};sampled=0",
        now.as_second(),
        request_id.replace('-', "").get(..24).unwrap_or_default()
    );
    let all: Map<String, Value> = [
        ("X-Amz-Executed-Version", "$LATEST"),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("Connection", "keep-alive"),
        ("x-amzn-RequestId", request_id),
        ("Content-Length", &length),
        ("Date", &date),
        ("X-Amzn-Trace-Id", &trace),
        ("Content-Type", "application/json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!([v])))
    .collect();
    let one: Map<String, Value> = [
        ("Connection", "keep-alive"),
        ("Content-Length", &length),
        ("Content-Type", "application/json"),
        ("Date", &date),
        ("X-Amz-Executed-Version", "$LATEST"),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("x-amzn-RequestId", request_id),
        ("X-Amzn-Trace-Id", &trace),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": reply.result,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": one,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

/// A request id in UUID form, derived from the idempotency key so runs are reproducible.
fn request_id(key: &str) -> String {
    let hash = |mut h: u64| {
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A JSON error object as Lambda returns it.
fn lambda_error(error_type: &str, message: &str) -> Failure {
    let cause = json!({"errorType": error_type, "errorMessage": message});
    Failure::new(error_type, cause.to_string())
}

/// One call of a function: the task it serves and how to report it.
struct Call<'c> {
    task: &'c TaskCommand,
    request_id: &'c str,
    /// Whether a function's error object becomes the cause as written (a function ARN as the
    /// `Resource`) or compacted (`lambda:invoke`), as Step Functions does.
    raw_error_cause: bool,
}

/// What a function answered.
struct Reply {
    result: Value,
    /// The length of its stdout (the response body).
    body_length: usize,
}

/// Runs `function` once with `event` on stdin and reads its result.
fn execute(
    name: &str,
    function: &Function,
    event: &Value,
    call: &Call<'_>,
) -> Result<Reply, Failure> {
    let (task, request_id) = (call.task, call.request_id);
    let started = Instant::now();
    let mut child = Command::new(&function.program)
        .args(&function.args)
        .current_dir(&function.cwd)
        .envs(&function.env)
        .env("WEIR_FUNCTION_NAME", name)
        .env("WEIR_IDEMPOTENCY_KEY", &task.idempotency_key)
        .env("WEIR_ATTEMPT", task.attempt.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            lambda_error(
                "Runtime.InvalidEntrypoint",
                &format!(
                    "RequestId: {request_id} Error: cannot start {} in {}: {e}",
                    function.program.display(),
                    function.cwd.display()
                ),
            )
        })?;

    // Three pipes, one thread each, so a function that writes before it has read its whole event
    // cannot deadlock with weir.
    let payload = event.to_string().into_bytes();
    if let Some(mut stdin) = child.stdin.take() {
        // A function may exit without reading its event; the broken pipe is not an error.
        thread::spawn(move || stdin.write_all(&payload));
    }
    let (out_tx, out_rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let read = stdout
                .take(RESPONSE_LIMIT_BYTES + 1)
                .read_to_end(&mut bytes);
            let _ = out_tx.send(read.map(|_| bytes));
        });
    }
    let (err_tx, err_rx) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        let prefix = name.to_string();
        thread::spawn(move || {
            forward_stderr(stderr, &prefix);
            let _ = err_tx.send(());
        });
    }

    let task_limit = Duration::from_secs(task.timeout_seconds);
    let limit = function.timeout.map_or(task_limit, |t| t.min(task_limit));
    let timed_out = || {
        if limit < task_limit {
            lambda_error(
                "Sandbox.Timedout",
                &format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    limit.as_secs_f64()
                ),
            )
        } else {
            Failure::new(names::TIMEOUT, "")
        }
    };
    let Some(status) = wait(&mut child, started, limit).map_err(|e| {
        lambda_error(
            "Runtime.ExitError",
            &format!("RequestId: {request_id} Error: cannot wait for the function: {e}"),
        )
    })?
    else {
        return Err(timed_out());
    };
    let remaining = limit.saturating_sub(started.elapsed());
    let stdout = match out_rx.recv_timeout(remaining) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return Err(lambda_error(
                "Runtime.ExitError",
                &format!("RequestId: {request_id} Error: cannot read the function's stdout: {e}"),
            ));
        }
        // A process the function started still holds stdout open: the invocation is not over.
        Err(_) => return Err(timed_out()),
    };
    // Let the last stderr lines through before the execution moves on.
    let _ = err_rx.recv_timeout(Duration::from_secs(1));
    if stdout.len() as u64 > RESPONSE_LIMIT_BYTES {
        return Err(lambda_error(
            "Function.ResponseSizeTooLarge",
            &format!(
                "Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes)."
            ),
        ));
    }
    outcome(status, &stdout, call)
}

/// Waits for the child until `limit` has passed since `started`; kills it then and returns `None`.
fn wait(
    child: &mut Child,
    started: Instant,
    limit: Duration,
) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let elapsed = started.elapsed();
        if elapsed >= limit {
            // It may have exited just now; either way it is gone after `wait`.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(pause.min(limit - elapsed));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Copies the function's stderr to weir's, one prefixed line at a time.
fn forward_stderr(stderr: ChildStderr, name: &str) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "[{name}] {}", text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// The task's outcome from the exit status and stdout of a finished function.
fn outcome(status: ExitStatus, stdout: &[u8], call: &Call<'_>) -> Result<Reply, Failure> {
    let text = String::from_utf8_lossy(stdout);
    let text = text.trim();
    if status.success() {
        let reply = |result| Reply {
            result,
            body_length: text.len(),
        };
        if text.is_empty() {
            return Ok(reply(Value::Null));
        }
        return serde_json::from_str(text).map(reply).map_err(|e| {
            lambda_error(
                "Runtime.MarshalError",
                &format!(
                    "Unable to marshal response: stdout is not JSON ({e}): {}",
                    preview(text)
                ),
            )
        });
    }
    if let Ok(Value::Object(error)) = serde_json::from_str::<Value>(text)
        && let Some(Value::String(error_type)) = error.get("errorType")
    {
        let cause = if call.raw_error_cause {
            text.to_string()
        } else {
            Value::Object(error.clone()).to_string()
        };
        return Err(Failure::new(error_type.clone(), cause));
    }
    let how = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    };
    Err(lambda_error(
        "Runtime.ExitError",
        &format!(
            "RequestId: {} Error: Runtime exited with error: {how}",
            call.request_id
        ),
    ))
}

/// The start of a long text, for error messages.
fn preview(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_arns_names_and_partial_arns() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:load-orders";
        assert_eq!(function_name(arn), "load-orders");
        assert_eq!(function_name(&format!("{arn}:prod")), "load-orders");
        assert_eq!(function_name("load-orders"), "load-orders");
        assert_eq!(function_name("load-orders:7"), "load-orders");
        assert_eq!(
            function_name("123456789012:function:load-orders"),
            "load-orders"
        );
    }

    #[test]
    fn resources_map_to_direct_calls_invokes_or_unsupported() {
        let input = json!({"FunctionName": "f", "Payload": {"a": 1}});
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:f:live";
        assert_eq!(target(arn, &input), Ok(Target::Direct { reference: arn }));
        assert_eq!(
            target("arn:aws:states:::lambda:invoke", &input),
            Ok(Target::Invoke {
                reference: "f",
                event: json!({"a": 1})
            })
        );
        let no_payload = json!({"FunctionName": "f"});
        assert_eq!(
            target("arn:aws:states:::lambda:invoke", &no_payload),
            Ok(Target::Invoke {
                reference: "f",
                event: json!({})
            })
        );
        for unsupported in [
            "arn:aws:states:us-east-1:123456789012:activity:review",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
        ] {
            let Err(f) = target(unsupported, &input) else {
                panic!("{unsupported} should be refused");
            };
            assert_eq!(f.error, names::TASK_FAILED);
            assert!(f.cause.contains("weir run does not support"), "{}", f.cause);
        }
    }

    #[test]
    fn request_ids_are_uuids_fixed_by_the_key() {
        let id = request_id("arn:x/State/3/0");
        assert_eq!(id, request_id("arn:x/State/3/0"));
        assert_ne!(id, request_id("arn:x/State/3/1"));
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
    }
}
