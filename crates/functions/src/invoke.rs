//! Calling one function once: which function a resource names, starting the command (or posting
//! to the endpoint), reading its answer and naming its errors as AWS does. Everything here
//! blocks: the async handler calls it on a blocking thread.

use crate::http;
use crate::logs::Tail;
use crate::spec::{Function, Kind};
use asl::Failure;
use asl::error::names;
use serde_json::{Map, Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// The region and account of ARNs weir makes up for function names given without an ARN.
pub(crate) const DEFAULT_FUNCTION_ARN_PREFIX: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:";

/// Lambda's limit on a synchronous response payload (6 MiB).
pub(crate) const RESPONSE_LIMIT_BYTES: u64 = 6 * 1024 * 1024;

/// What stderr lines of command functions are copied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Echo {
    /// weir's stderr, each line prefixed with `[NAME] ` (`weir run`).
    #[default]
    Stderr,
    /// `tracing` events at DEBUG level with the function's name (`weir server`: shown with
    /// `--log-level functions=debug`).
    Debug,
    /// Nowhere (the lines are still kept in the task log).
    Off,
}

/// The kinds of resources this runtime serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    Function,
    /// `arn:aws:states:::lambda:invoke`.
    Invoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    InvokeCallback,
    /// `arn:aws:states:::http:invoke`.
    Http,
}

/// Which of this runtime's resources `resource` is, if any.
pub(crate) fn classify(resource: &str) -> Option<Resource> {
    if lambda_arn_function(resource).is_some() {
        return Some(Resource::Function);
    }
    match resource.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "states", "", "", "lambda", "invoke"] => Some(Resource::Invoke),
        [
            "arn",
            _,
            "states",
            "",
            "",
            "lambda",
            "invoke.waitForTaskToken",
        ] => Some(Resource::InvokeCallback),
        ["arn", _, "states", "", "", "http", "invoke"] => Some(Resource::Http),
        _ => None,
    }
}

/// The function and event a `lambda:invoke` task's parameters name.
pub(crate) fn invoke_target(input: &Value) -> Result<(&str, Value), Failure> {
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
                "weir supports the lambda:invoke InvocationType RequestResponse only, not {other}"
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
    Ok((reference, event))
}

/// The function name in `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
pub(crate) fn lambda_arn_function(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] if !name.is_empty() => Some(*name),
        _ => None,
    }
}

/// The function name in a `FunctionName`: a name, `NAME:QUALIFIER`, `ACCOUNT:function:NAME` or an
/// ARN.
pub(crate) fn function_name(reference: &str) -> &str {
    if let Some(name) = lambda_arn_function(reference) {
        return name;
    }
    let rest = reference
        .split_once(":function:")
        .map_or(reference, |(_, rest)| rest);
    rest.split_once(':').map_or(rest, |(name, _)| name)
}

/// The full function ARN AWS names in `ResourceNotFoundException` for `reference`.
pub(crate) fn not_found_arn(reference: &str) -> String {
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
    arn
}

/// A request id in UUID form, derived from the idempotency key so runs are reproducible.
pub(crate) fn request_id(key: &str) -> String {
    asl::Rng::from_key(key).uuid()
}

/// Lambda's `LogResult` for `LogType: Tail`: the base64 of the last 4 KB of the invocation's
/// log, which is the function's stderr between Lambda's `START`, `END` and `REPORT` lines.
pub(crate) fn log_result(
    request_id: &str,
    stderr: &crate::logs::Tail,
    started: std::time::Instant,
) -> String {
    use base64::Engine as _;
    const LIMIT: usize = 4096;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let mut log = format!("START RequestId: {request_id} Version: $LATEST\n");
    log.push_str(&stderr.text());
    if !log.ends_with('\n') {
        log.push('\n');
    }
    log.push_str(&format!(
        "END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {millis:.2} ms\n"
    ));
    let bytes = log.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(LIMIT)..];
    base64::engine::general_purpose::STANDARD.encode(tail)
}

/// A JSON error object as Lambda returns it.
pub(crate) fn lambda_error(error_type: &str, message: &str) -> Failure {
    let cause = json!({"errorType": error_type, "errorMessage": message});
    Failure::new(error_type, cause.to_string())
}

/// An error of the Lambda service itself, worded as the AWS SDK words it in Step Functions causes.
pub(crate) fn service_error(
    code: &str,
    status: u16,
    message: &str,
    request_id: &str,
    detail: &str,
) -> Failure {
    let cause = format!(
        "{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; Request ID: \
         {request_id}; Proxy: null)"
    );
    let cause = if detail.is_empty() {
        cause
    } else {
        format!("{cause}. weir: {detail}")
    };
    Failure::new(format!("Lambda.{code}"), cause)
}

/// One attempt of a task: what identifies it and how long it may take.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The task's idempotency key.
    pub idempotency_key: String,
    /// The attempt number.
    pub attempt: u64,
    /// The Task state's `TimeoutSeconds`.
    pub timeout_seconds: u64,
    /// When the attempt started (time spent waiting for a concurrency slot counts).
    pub started: Instant,
    /// Where stderr lines go.
    pub echo: Echo,
    /// Where custom metrics printed on stderr (EMF lines) go, under the engine.
    pub reporter: Option<Arc<engine::metrics::Reporter>>,
}

impl Attempt {
    /// The request id of this attempt.
    pub(crate) fn request_id(&self) -> String {
        request_id(&self.idempotency_key)
    }
}

/// What an attempt leaves for its log.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    /// How it ended.
    pub status: String,
    /// Its stdout (or response body).
    pub stdout: Tail,
    /// Its stderr.
    pub stderr: Tail,
}

impl Trace {
    /// The trace of an attempt that started nothing.
    pub(crate) fn not_started() -> Trace {
        Trace {
            status: "not started".to_string(),
            ..Trace::default()
        }
    }
}

/// What a function answered.
pub(crate) struct Reply {
    /// Its result.
    pub result: Value,
    /// The length of its response body (stdout).
    pub body_length: usize,
}

/// How one call reports: the function ARN as `Resource` passes an error object on as written,
/// `lambda:invoke` compacts it, as Step Functions does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// A function ARN as the `Resource`.
    Direct,
    /// `lambda:invoke`.
    Invoke,
}

/// Runs function `name` once with `event` and reads its result.
pub(crate) fn call(
    name: &str,
    function: &Function,
    event: &Value,
    attempt: &Attempt,
    style: Style,
) -> (Result<Reply, Failure>, Trace) {
    let limits = Limits::new(function, attempt);
    match &function.kind {
        Kind::Command {
            program,
            args,
            cwd,
            env,
        } => {
            let command = Spawn {
                name,
                program,
                args,
                cwd,
                env,
                memory_mb: function.memory_mb,
            };
            run_command(&command, event, attempt, &limits, style)
        }
        Kind::Http { url, headers } => {
            post_event(name, url, headers, event, attempt, &limits, style)
        }
    }
}

/// How long an attempt may run, and what passing that limit is called.
struct Limits {
    limit: Duration,
    task_limit: Duration,
    request_id: String,
}

impl Limits {
    fn new(function: &Function, attempt: &Attempt) -> Limits {
        let task_limit = Duration::from_secs(attempt.timeout_seconds);
        let limit = function
            .timeout_seconds
            .map(Duration::from_secs)
            .map_or(task_limit, |t| t.min(task_limit));
        Limits {
            limit,
            task_limit,
            request_id: attempt.request_id(),
        }
    }

    /// The failure of an attempt killed at the limit: the function's own timeout
    /// (`Sandbox.Timedout`) or the task's (`States.Timeout`).
    fn timed_out(&self) -> Failure {
        if self.limit < self.task_limit {
            lambda_error(
                "Sandbox.Timedout",
                &format!(
                    "RequestId: {} Error: Task timed out after {:.2} seconds",
                    self.request_id,
                    self.limit.as_secs_f64()
                ),
            )
        } else {
            Failure::new(names::TIMEOUT, "")
        }
    }
}

/// A command function about to start.
struct Spawn<'s> {
    name: &'s str,
    program: &'s Path,
    args: &'s [String],
    cwd: &'s Path,
    env: &'s std::collections::BTreeMap<String, String>,
    memory_mb: Option<u64>,
}

impl Spawn<'_> {
    /// The process to start: the program itself, or `prlimit --as=BYTES -- program args` when
    /// the function has a memory limit.
    fn command(&self, request_id: &str) -> Result<Command, Failure> {
        let mut command = match self.memory_mb {
            None => Command::new(self.program),
            Some(mb) => {
                // prlimit would report a missing program as its own exit status 127: find it
                // first, so the error is the one a direct start gives.
                if resolve_program(self.program, self.cwd).is_none() {
                    return Err(
                        self.cannot_start(request_id, "No such file or directory (os error 2)")
                    );
                }
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--as={}", mb.saturating_mul(1024 * 1024)))
                    .arg("--")
                    .arg(self.program);
                command
            }
        };
        command
            .args(self.args)
            .current_dir(self.cwd)
            .envs(self.env)
            .env("WEIR_FUNCTION_NAME", self.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(command)
    }

    /// `Runtime.InvalidEntrypoint`: the program cannot be started, and why.
    fn cannot_start(&self, request_id: &str, why: &str) -> Failure {
        lambda_error(
            "Runtime.InvalidEntrypoint",
            &format!(
                "RequestId: {request_id} Error: cannot start {} in {}: {why}",
                self.program.display(),
                self.cwd.display()
            ),
        )
    }
}

/// Where `program` is: itself when it has a `/` (relative to `cwd`), else the first match on
/// `PATH`.
fn resolve_program(program: &Path, cwd: &Path) -> Option<PathBuf> {
    if program.to_string_lossy().contains('/') {
        let path = cwd.join(program);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| cwd.join(dir).join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs a command function once with `event` on stdin.
fn run_command(
    spawn: &Spawn<'_>,
    event: &Value,
    attempt: &Attempt,
    limits: &Limits,
    style: Style,
) -> (Result<Reply, Failure>, Trace) {
    let request_id = limits.request_id.as_str();
    let mut trace = Trace::not_started();
    // The wait for a concurrency slot may have used the whole time: start nothing then.
    if attempt.started.elapsed() >= limits.limit {
        return (Err(limits.timed_out()), trace);
    }
    let mut command = match spawn.command(request_id) {
        Ok(command) => command,
        Err(failure) => return (Err(failure), trace),
    };
    let spawned = command
        .env("WEIR_IDEMPOTENCY_KEY", &attempt.idempotency_key)
        .env("WEIR_ATTEMPT", attempt.attempt.to_string())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let why = if spawn.memory_mb.is_some() {
                format!("{e} (memory-mb runs the function under prlimit, from util-linux)")
            } else {
                e.to_string()
            };
            return (Err(spawn.cannot_start(request_id, &why)), trace);
        }
    };

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
        let name = spawn.name.to_string();
        let echo = attempt.echo;
        let reporter = attempt.reporter.clone();
        thread::spawn(move || {
            let _ = err_tx.send(read_stderr(stderr, &name, echo, reporter.as_deref()));
        });
    }

    let limit = limits.limit;
    let elapsed = attempt.started.elapsed();
    let status = match wait(&mut child, limit.saturating_sub(elapsed)) {
        Ok(Some(status)) => status,
        Ok(None) => {
            trace.status = format!("killed: timed out after {:.2} s", limit.as_secs_f64());
            trace.stderr = err_rx
                .recv_timeout(Duration::from_secs(1))
                .unwrap_or_default();
            return (Err(limits.timed_out()), trace);
        }
        Err(e) => {
            trace.status = format!("unknown: {e}");
            return (
                Err(lambda_error(
                    "Runtime.ExitError",
                    &format!("RequestId: {request_id} Error: cannot wait for the function: {e}"),
                )),
                trace,
            );
        }
    };
    trace.status = describe_exit(status);
    let remaining = limit.saturating_sub(attempt.started.elapsed());
    let stdout = match out_rx.recv_timeout(remaining) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return (
                Err(lambda_error(
                    "Runtime.ExitError",
                    &format!(
                        "RequestId: {request_id} Error: cannot read the function's stdout: {e}"
                    ),
                )),
                trace,
            );
        }
        // A process the function started still holds stdout open: the invocation is not over.
        Err(_) => {
            trace.status = format!("{}; stdout still open at the time limit", trace.status);
            return (Err(limits.timed_out()), trace);
        }
    };
    trace.stdout.push(&stdout);
    // Let the last stderr lines through before the execution moves on.
    trace.stderr = err_rx
        .recv_timeout(Duration::from_secs(1))
        .unwrap_or_default();
    if stdout.len() as u64 > RESPONSE_LIMIT_BYTES {
        return (Err(too_large()), trace);
    }
    let exit = Exit {
        status,
        memory_mb: spawn.memory_mb,
        stderr: &trace.stderr,
    };
    let outcome = outcome(&exit, &stdout, request_id, style);
    (outcome, trace)
}

fn too_large() -> Failure {
    lambda_error(
        "Function.ResponseSizeTooLarge",
        &format!(
            "Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes)."
        ),
    )
}

fn describe_exit(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// Waits for the child at most `limit`; kills it then and returns `None`.
fn wait(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
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

/// Reads the function's stderr to its end, copying each line to `echo`, keeping the tail and
/// recording the custom metrics of EMF lines with `reporter`.
fn read_stderr(
    stderr: ChildStderr,
    name: &str,
    echo: Echo,
    reporter: Option<&engine::metrics::Reporter>,
) -> Tail {
    let mut reader = BufReader::new(stderr);
    let mut tail = Tail::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return tail,
            Ok(_) => {
                tail.push(&line);
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                if let Some(reporter) = reporter {
                    record_emf(reporter, name, text);
                }
                match echo {
                    Echo::Stderr => {
                        let mut err = std::io::stderr().lock();
                        let _ = writeln!(err, "[{name}] {text}");
                    }
                    Echo::Debug => tracing::debug!(function = %name, "{text}"),
                    Echo::Off => {}
                }
            }
        }
    }
}

/// Records the custom metrics of `line` when it is in the Embedded Metric Format, labelled with
/// the function's name; a wrong EMF line is a warning and records nothing.
fn record_emf(reporter: &engine::metrics::Reporter, function: &str, line: &str) {
    let Some(parsed) = engine::metrics::custom::parse_emf(line) else {
        return;
    };
    let recorded = parsed.and_then(|directives| {
        directives.iter().try_for_each(|d| {
            reporter
                .custom
                .record(&d.namespace, "Metrics", &d.data, &[("function", function)])
        })
    });
    if let Err(problem) = recorded {
        tracing::warn!(%function, %problem, "A custom metric line (EMF) on stderr was not recorded.");
    }
}

/// How a finished function process ended.
struct Exit<'e> {
    status: ExitStatus,
    memory_mb: Option<u64>,
    stderr: &'e Tail,
}

/// What a program prints when an allocation fails: Python, glibc's `strerror(ENOMEM)`, shells
/// and most runtimes, Rust's default allocation error handler, C++'s `std::bad_alloc`.
const OUT_OF_MEMORY_MARKERS: [&str; 5] = [
    "MemoryError",
    "Cannot allocate memory",
    "out of memory",
    "memory allocation of",
    "std::bad_alloc",
];

/// The task's outcome from the exit status and stdout of a finished function.
fn outcome(
    exit: &Exit<'_>,
    stdout: &[u8],
    request_id: &str,
    style: Style,
) -> Result<Reply, Failure> {
    let text = String::from_utf8_lossy(stdout);
    let text = text.trim();
    if exit.status.success() {
        return json_result(text, "stdout");
    }
    if let Some(failure) = reported_error(text, style) {
        return Err(failure);
    }
    let how = describe_exit(exit.status);
    if let Some(mb) = exit.memory_mb {
        let tail = exit.stderr.clone().finish().text;
        if OUT_OF_MEMORY_MARKERS.iter().any(|m| tail.contains(m)) {
            return Err(lambda_error(
                "Runtime.OutOfMemory",
                &format!(
                    "RequestId: {request_id} Error: Runtime exited with error: {how} (an \
                     allocation failed under the function's memory limit of {mb} MB)"
                ),
            ));
        }
    }
    Err(lambda_error(
        "Runtime.ExitError",
        &format!("RequestId: {request_id} Error: Runtime exited with error: {how}"),
    ))
}

/// A successful answer's result: empty is `null`, otherwise it must be JSON.
fn json_result(text: &str, what: &str) -> Result<Reply, Failure> {
    let reply = |result| Reply {
        result,
        body_length: text.len(),
    };
    if text.is_empty() {
        return Ok(reply(Value::Null));
    }
    serde_json::from_str(text).map(reply).map_err(|e| {
        lambda_error(
            "Runtime.MarshalError",
            &format!(
                "Unable to marshal response: {what} is not JSON ({e}): {}",
                preview(text)
            ),
        )
    })
}

/// The error a failing function reported: a JSON object with a string `errorType`.
fn reported_error(text: &str, style: Style) -> Option<Failure> {
    let Ok(Value::Object(error)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let Some(Value::String(error_type)) = error.get("errorType") else {
        return None;
    };
    let cause = match style {
        Style::Direct => text.to_string(),
        Style::Invoke => Value::Object(error.clone()).to_string(),
    };
    Some(Failure::new(error_type.clone(), cause))
}

/// Posts `event` to an HTTP function and reads its result.
fn post_event(
    name: &str,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    event: &Value,
    attempt: &Attempt,
    limits: &Limits,
    style: Style,
) -> (Result<Reply, Failure>, Trace) {
    let request_id = limits.request_id.as_str();
    let mut trace = Trace::not_started();
    let remaining = limits.limit.saturating_sub(attempt.started.elapsed());
    if remaining.is_zero() {
        return (Err(limits.timed_out()), trace);
    }
    let mut all = vec![
        ("X-Weir-Function-Name".to_string(), name.to_string()),
        (
            "X-Weir-Idempotency-Key".to_string(),
            attempt.idempotency_key.clone(),
        ),
        ("X-Weir-Attempt".to_string(), attempt.attempt.to_string()),
    ];
    if !headers
        .keys()
        .any(|h| h.eq_ignore_ascii_case("content-type"))
    {
        all.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    all.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    let sent = http::send(http::Request {
        method: "POST",
        url,
        headers: all,
        body: Some(event.to_string().into_bytes()),
        timeout: remaining,
        limit: RESPONSE_LIMIT_BYTES,
    });
    let reply = match sent {
        Ok(reply) => reply,
        Err(http::Failed::Timeout) => {
            trace.status = format!("timed out after {:.2} s", limits.limit.as_secs_f64());
            return (Err(limits.timed_out()), trace);
        }
        Err(http::Failed::Connect(detail) | http::Failed::Other(detail)) => {
            trace.status = format!("no answer: {detail}");
            let failure = service_error(
                "SdkClientException",
                0,
                "Unable to execute HTTP request",
                request_id,
                &format!("POST {url} failed: {detail}"),
            );
            return (Err(failure), trace);
        }
    };
    trace.status = format!("HTTP {} {}", reply.status, reply.reason);
    trace.stdout.push(&reply.body);
    if reply.too_large {
        return (Err(too_large()), trace);
    }
    let text = String::from_utf8_lossy(&reply.body);
    let text = text.trim();
    if (200..300).contains(&reply.status) {
        return (json_result(text, "the response body"), trace);
    }
    if let Some(failure) = reported_error(text, style) {
        return (Err(failure), trace);
    }
    let (code, message) = match reply.status {
        429 => ("TooManyRequestsException", "Rate Exceeded."),
        502..=504 => (
            "ServiceException",
            "The function's endpoint is unavailable.",
        ),
        _ => ("Unknown", "The function failed without an error type."),
    };
    let detail = format!(
        "POST {url} answered HTTP {} {} with the body {}",
        reply.status,
        reply.reason,
        preview(text)
    );
    (
        Err(service_error(
            code,
            reply.status,
            message,
            request_id,
            &detail,
        )),
        trace,
    )
}

/// The task result of `lambda:invoke`, shaped as Step Functions shows Lambda's `Invoke` response
/// (headers in the order AWS gives them).
pub(crate) fn invoke_output(reply: Reply, request_id: &str, log: Option<&str>) -> Value {
    let length = reply.body_length.to_string();
    let now = jiff::Timestamp::now();
    let date = now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let trace = format!(
        "root=1-{:08x}-{};sampled=0",
        now.as_second(),
        request_id.replace('-', "").get(..24).unwrap_or_default()
    );
    let log_header = log.map(|log| ("X-Amz-Log-Result", log));
    let all: Map<String, Value> = log_header
        .into_iter()
        .chain([
            ("X-Amz-Executed-Version", "$LATEST"),
            ("x-amzn-Remapped-Content-Length", "0"),
            ("Connection", "keep-alive"),
            ("x-amzn-RequestId", request_id),
            ("Content-Length", &length),
            ("Date", &date),
            ("X-Amzn-Trace-Id", &trace),
            ("Content-Type", "application/json"),
        ])
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    let one: Map<String, Value> = [
        ("Connection", "keep-alive"),
        ("Content-Length", &length),
        ("Content-Type", "application/json"),
        ("Date", &date),
        ("X-Amz-Executed-Version", "$LATEST"),
    ]
    .into_iter()
    .chain(log_header)
    .chain([
        ("x-amzn-Remapped-Content-Length", "0"),
        ("x-amzn-RequestId", request_id),
        ("X-Amzn-Trace-Id", &trace),
    ])
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect();
    let mut out = Map::new();
    out.insert("ExecutedVersion".into(), json!("$LATEST"));
    if let Some(log) = log {
        out.insert("LogResult".into(), json!(log));
    }
    out.insert("Payload".into(), reply.result);
    out.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all, "HttpHeaders": one, "HttpStatusCode": 200}),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": request_id}),
    );
    out.insert("StatusCode".into(), json!(200));
    Value::Object(out)
}

/// The start of a long text, for error messages.
pub(crate) fn preview(text: &str) -> String {
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
    fn resources_are_classified() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:f:live";
        assert_eq!(classify(arn), Some(Resource::Function));
        assert_eq!(
            classify("arn:aws:states:::lambda:invoke"),
            Some(Resource::Invoke)
        );
        assert_eq!(
            classify("arn:aws-cn:states:::lambda:invoke.waitForTaskToken"),
            Some(Resource::InvokeCallback)
        );
        assert_eq!(
            classify("arn:aws:states:::http:invoke"),
            Some(Resource::Http)
        );
        for other in [
            "arn:aws:states:us-east-1:123456789012:activity:review",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:lambda:us-east-1:1:layer:x",
        ] {
            assert_eq!(classify(other), None, "{other}");
        }
    }

    #[test]
    fn invoke_payloads_default_to_an_empty_object_and_strings_are_json_text() {
        let input = json!({"FunctionName": "f", "Payload": {"a": 1}});
        let (name, event) = invoke_target(&input).expect("valid");
        assert_eq!((name, event), ("f", json!({"a": 1})));
        let (_, event) = invoke_target(&json!({"FunctionName": "f"})).expect("valid");
        assert_eq!(event, json!({}));
        let (_, event) =
            invoke_target(&json!({"FunctionName": "f", "Payload": "[1]"})).expect("valid");
        assert_eq!(event, json!([1]));
        let bad =
            invoke_target(&json!({"FunctionName": "f", "Payload": "{"})).expect_err("not JSON");
        assert_eq!(bad.error, "Lambda.InvalidRequestContentException");
        let event_mode = invoke_target(&json!({"FunctionName": "f", "InvocationType": "Event"}))
            .expect_err("not supported");
        assert!(
            event_mode.cause.contains("RequestResponse"),
            "{}",
            event_mode.cause
        );
    }

    #[test]
    fn request_ids_are_uuids_fixed_by_the_key() {
        let id = request_id("arn:x/State/3/0");
        assert_eq!(id, request_id("arn:x/State/3/0"));
        assert_ne!(id, request_id("arn:x/State/3/1"));
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn not_found_arns_are_completed_as_aws_completes_them() {
        assert_eq!(
            not_found_arn("f"),
            "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"
        );
        assert_eq!(
            not_found_arn("arn:aws:lambda:eu-west-1:1:function:f:live"),
            "arn:aws:lambda:eu-west-1:1:function:f:live"
        );
    }
}
