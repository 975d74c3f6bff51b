//! The client subcommands: `weir state-machines`, `weir executions` and `weir test-state` call a
//! running `weir server` (see `client`) and print its answers for people, or with `--json` as the
//! server gave them, for scripts.
//!
//! Readable output: lists are aligned tables (every page, following `nextToken`, unless `--max`
//! stops earlier), single resources are `key: value` lines, timestamps are RFC 3339 in UTC and
//! JSON payloads are shown inline when short, pretty-printed below their key otherwise.
//!
//! Exit status (returned to `main` as in the other subcommands): `Ok(true)` is 0; `Ok(false)` is
//! 1, for an API error (printed here as `error: <Code>: <message>`) or an execution or test that
//! failed; `Err` is 2, for a usage problem (an unreadable file, input that is not JSON) or a server
//! that cannot be reached.

use crate::client::{self, Client};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the server is and how answers are printed.
#[derive(Args)]
#[command(next_help_heading = "Client options")]
pub struct ClientArgs {
    /// The `weir server` to call.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "WEIR_ENDPOINT",
        default_value = client::DEFAULT_ENDPOINT
    )]
    pub endpoint: String,
    /// Print the server's JSON answer instead of a readable rendering.
    #[arg(long, global = true)]
    pub json: bool,
}

/// How a bare state machine name becomes an ARN:
/// `arn:aws:states:<region>:<account>:stateMachine:<name>`.
#[derive(Args)]
#[command(next_help_heading = "Client options")]
pub struct ArnArgs {
    /// The region in ARNs made from bare names.
    #[arg(long, global = true, default_value = "us-east-1")]
    pub region: String,
    /// The account in ARNs made from bare names.
    #[arg(long, global = true, default_value = "000000000000")]
    pub account: String,
}

/// `weir state-machines`: the options and the subcommand.
#[derive(Args)]
pub struct StateMachinesArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// How names become ARNs.
    #[command(flatten)]
    pub arns: ArnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: StateMachineCommand,
}

/// The state machine subcommands. MACHINE is an ARN or a bare name.
#[derive(Subcommand)]
pub enum StateMachineCommand {
    /// Create a state machine from a definition file.
    Create {
        /// The state machine's name.
        #[arg(long)]
        name: String,
        /// The definition (Amazon States Language JSON).
        #[arg(long, value_name = "FILE")]
        definition: PathBuf,
        /// The state machine type.
        #[arg(
            long = "type",
            value_name = "TYPE",
            default_value = "STANDARD",
            value_parser = ["STANDARD", "EXPRESS"],
            ignore_case = true
        )]
        kind: String,
        /// The execution role [default: arn:aws:iam::<account>:role/weir-execution].
        #[arg(long, value_name = "ARN")]
        role_arn: Option<String>,
    },
    /// List the state machines: NAME, TYPE, CREATED.
    List {
        /// List at most this many.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max: Option<u64>,
    },
    /// Describe a state machine, with its definition.
    Describe {
        /// The state machine (ARN or name).
        machine: String,
    },
    /// Replace a state machine's definition (a new revision).
    Update {
        /// The state machine (ARN or name).
        machine: String,
        /// The new definition (Amazon States Language JSON).
        #[arg(long, value_name = "FILE")]
        definition: PathBuf,
    },
    /// Delete a state machine.
    Delete {
        /// The state machine (ARN or name).
        machine: String,
    },
}

/// `weir executions`: the options and the subcommand.
#[derive(Args)]
pub struct ExecutionsArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// How names become ARNs.
    #[command(flatten)]
    pub arns: ArnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: ExecutionCommand,
}

/// The execution subcommands. MACHINE is an ARN or a bare name.
#[derive(Subcommand)]
pub enum ExecutionCommand {
    /// Start an execution; with --wait, wait for its end and print its output.
    ///
    /// With --wait the exit status is 0 when the execution succeeds (its output on stdout) and 1
    /// when it fails, times out or is aborted (error and cause on stderr). An EXPRESS machine runs
    /// through StartSyncExecution.
    Start {
        /// The state machine (ARN or name).
        machine: String,
        /// The execution name [default: a UUID the server picks].
        #[arg(long)]
        name: Option<String>,
        /// The execution input, as JSON text [default: {}].
        #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the execution input from this JSON file.
        #[arg(long, value_name = "FILE")]
        input_file: Option<PathBuf>,
        /// Wait for the execution to end (on a terminal, show its progress on stderr).
        #[arg(long)]
        wait: bool,
    },
    /// List a state machine's executions, newest first: NAME, STATUS, STARTED, STOPPED.
    List {
        /// The state machine (ARN or name).
        machine: String,
        /// Only executions with this status.
        #[arg(
            long,
            value_name = "STATUS",
            value_parser = STATUSES,
            ignore_case = true
        )]
        status: Option<String>,
        /// List at most this many.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max: Option<u64>,
    },
    /// Describe an execution: status, dates, input, output, error.
    Describe {
        /// The execution ARN.
        execution: String,
    },
    /// Print an execution's history: ID, TYPE, STATE/DETAIL, TIME.
    History {
        /// The execution ARN.
        execution: String,
        /// Newest event first.
        #[arg(long)]
        reverse: bool,
        /// Print at most this many events.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max: Option<u64>,
    },
    /// Stop a running execution (it ends ABORTED).
    Stop {
        /// The execution ARN.
        execution: String,
        /// The error code recorded.
        #[arg(long)]
        error: Option<String>,
        /// The cause recorded.
        #[arg(long)]
        cause: Option<String>,
    },
    /// Redrive a failed, timed-out or aborted execution from where it stopped.
    Redrive {
        /// The execution ARN.
        execution: String,
    },
}

/// The execution statuses ListExecutions filters on.
const STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

/// `weir test-state`: run one state through the server's TestState.
#[derive(Args)]
pub struct TestStateArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The state's definition, or a whole state machine with --state-name.
    #[arg(long, value_name = "FILE")]
    pub definition: PathBuf,
    /// The state to test when the definition is a whole state machine [default: its StartAt].
    #[arg(long, value_name = "NAME")]
    pub state_name: Option<String>,
    /// The state input, as JSON text [default: {}].
    #[arg(long, value_name = "JSON")]
    pub input: Option<String>,
    /// How much of the state's data processing to show.
    #[arg(
        long,
        value_name = "LEVEL",
        value_parser = ["INFO", "DEBUG", "TRACE"],
        ignore_case = true
    )]
    pub inspection_level: Option<String>,
}

/// Runs `weir state-machines ...`.
pub fn state_machines(args: StateMachinesArgs) -> Result<bool> {
    let session = Session::new(&args.client, Some(&args.arns));
    finish(match args.command {
        StateMachineCommand::Create {
            name,
            definition,
            kind,
            role_arn,
        } => create_machine(&session, &name, &definition, &kind, role_arn.as_deref()),
        StateMachineCommand::List { max } => list_machines(&session, max),
        StateMachineCommand::Describe { machine } => describe_machine(&session, &machine),
        StateMachineCommand::Update {
            machine,
            definition,
        } => update_machine(&session, &machine, &definition),
        StateMachineCommand::Delete { machine } => delete_machine(&session, &machine),
    })
}

/// Runs `weir executions ...`.
pub fn executions(args: ExecutionsArgs) -> Result<bool> {
    let session = Session::new(&args.client, Some(&args.arns));
    finish(match args.command {
        ExecutionCommand::Start {
            machine,
            name,
            input,
            input_file,
            wait,
        } => {
            let input = read_input(input.as_deref(), input_file.as_deref())?;
            start_execution(&session, &machine, name.as_deref(), &input, wait)
        }
        ExecutionCommand::List {
            machine,
            status,
            max,
        } => list_executions(&session, &machine, status.as_deref(), max),
        ExecutionCommand::Describe { execution } => describe_execution(&session, &execution),
        ExecutionCommand::History {
            execution,
            reverse,
            max,
        } => history(&session, &execution, reverse, max),
        ExecutionCommand::Stop {
            execution,
            error,
            cause,
        } => stop_execution(&session, &execution, error.as_deref(), cause.as_deref()),
        ExecutionCommand::Redrive { execution } => redrive_execution(&session, &execution),
    })
}

/// Runs `weir test-state ...`.
pub fn test_state(args: TestStateArgs) -> Result<bool> {
    let session = Session::new(&args.client, None);
    finish(run_test_state(&session, &args))
}

/// An API error is reported here and exits 1; anything else goes up to `main` (exit 2).
pub(crate) fn finish(result: Result<bool>) -> Result<bool> {
    match result {
        Err(error) => match error.downcast_ref::<client::Error>() {
            Some(api @ client::Error::Api { .. }) => {
                eprintln!("error: {api}");
                Ok(false)
            }
            _ => Err(error),
        },
        ok => ok,
    }
}

/// The client, how to print and how to name machines, for one command.
pub(crate) struct Session {
    pub(crate) client: Client,
    pub(crate) json: bool,
    region: String,
    account: String,
}

impl Session {
    pub(crate) fn new(client: &ClientArgs, arns: Option<&ArnArgs>) -> Session {
        let (region, account) = arns
            .map(|a| (a.region.clone(), a.account.clone()))
            .unwrap_or_default();
        Session {
            client: Client::new(&client.endpoint),
            json: client.json,
            region,
            account,
        }
    }

    fn call(&self, operation: &str, input: Value) -> Result<Value> {
        Ok(self.client.call(operation, &input)?)
    }

    /// An ARN as given, a bare name as the ARN of that state machine.
    fn machine_arn(&self, machine: &str) -> String {
        if machine.starts_with("arn:") {
            machine.to_string()
        } else {
            format!(
                "arn:aws:states:{}:{}:stateMachine:{machine}",
                self.region, self.account
            )
        }
    }
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The execution input as JSON text, checked here so a typo is a usage error.
fn read_input(input: Option<&str>, input_file: Option<&Path>) -> Result<String> {
    let (text, source) = match (input, input_file) {
        (_, Some(file)) => (
            read_file(file)?,
            format!("the input file {}", file.display()),
        ),
        (Some(text), None) => (text.to_string(), format!("--input {:?}", excerpt(text, 80))),
        (None, None) => return Ok("{}".to_string()),
    };
    serde_json::from_str::<Value>(&text).with_context(|| format!("{source} is not valid JSON"))?;
    Ok(text)
}

fn create_machine(
    session: &Session,
    name: &str,
    definition: &Path,
    kind: &str,
    role_arn: Option<&str>,
) -> Result<bool> {
    let definition = read_file(definition)?;
    let role_arn = match role_arn {
        Some(arn) => arn.to_string(),
        None => format!("arn:aws:iam::{}:role/weir-execution", session.account),
    };
    let answer = session.call(
        "CreateStateMachine",
        json!({
            "name": name,
            "definition": definition,
            "type": kind.to_uppercase(),
            "roleArn": role_arn,
        }),
    )?;
    if session.json {
        return print_json(&answer);
    }
    print_fields(&[
        ("arn", text(&answer, "stateMachineArn")),
        ("created", time(&answer, "creationDate")),
    ]);
    Ok(true)
}

fn list_machines(session: &Session, max: Option<u64>) -> Result<bool> {
    let (machines, token) = list_all(
        session,
        "ListStateMachines",
        Map::new(),
        "stateMachines",
        max,
    )?;
    if session.json {
        return print_list("stateMachines", machines, token);
    }
    let rows = machines
        .iter()
        .map(|m| vec![text(m, "name"), text(m, "type"), time(m, "creationDate")])
        .collect::<Vec<_>>();
    print!("{}", table(&["NAME", "TYPE", "CREATED"], &rows));
    Ok(true)
}

fn describe_machine(session: &Session, machine: &str) -> Result<bool> {
    let answer = session.call(
        "DescribeStateMachine",
        json!({"stateMachineArn": session.machine_arn(machine)}),
    )?;
    if session.json {
        return print_json(&answer);
    }
    let definition = answer
        .get("definition")
        .and_then(Value::as_str)
        .map(pretty_payload)
        .unwrap_or_default();
    print_fields(&[
        ("name", text(&answer, "name")),
        ("arn", text(&answer, "stateMachineArn")),
        ("type", text(&answer, "type")),
        ("status", text(&answer, "status")),
        ("role", text(&answer, "roleArn")),
        ("created", time(&answer, "creationDate")),
        ("revision", text(&answer, "revisionId")),
        ("definition", definition),
    ]);
    Ok(true)
}

fn update_machine(session: &Session, machine: &str, definition: &Path) -> Result<bool> {
    let definition = read_file(definition)?;
    let answer = session.call(
        "UpdateStateMachine",
        json!({"stateMachineArn": session.machine_arn(machine), "definition": definition}),
    )?;
    if session.json {
        return print_json(&answer);
    }
    print_fields(&[
        ("updated", time(&answer, "updateDate")),
        ("revision", text(&answer, "revisionId")),
    ]);
    Ok(true)
}

fn delete_machine(session: &Session, machine: &str) -> Result<bool> {
    let arn = session.machine_arn(machine);
    let answer = session.call("DeleteStateMachine", json!({"stateMachineArn": arn}))?;
    if session.json {
        return print_json(&answer);
    }
    println!("deleted {arn}");
    Ok(true)
}

fn start_execution(
    session: &Session,
    machine: &str,
    name: Option<&str>,
    input: &str,
    wait: bool,
) -> Result<bool> {
    let arn = session.machine_arn(machine);
    let mut request = json!({"stateMachineArn": arn, "input": input});
    if let Some(name) = name {
        request["name"] = json!(name);
    }
    if wait {
        // An Express execution keeps no history to poll: run it synchronously instead.
        let described = session.call("DescribeStateMachine", json!({"stateMachineArn": arn}))?;
        if described.get("type").and_then(Value::as_str) == Some("EXPRESS") {
            let outcome = session.call("StartSyncExecution", request)?;
            return print_outcome(session, &outcome);
        }
    }
    let started = session.call("StartExecution", request)?;
    if !wait {
        if session.json {
            return print_json(&started);
        }
        print_fields(&[
            ("arn", text(&started, "executionArn")),
            ("started", time(&started, "startDate")),
        ]);
        return Ok(true);
    }
    let execution = started
        .get("executionArn")
        .and_then(Value::as_str)
        .context("the server's StartExecution answer has no executionArn")?;
    let outcome = wait_for_end(session, execution)?;
    print_outcome(session, &outcome)
}

/// Polls DescribeExecution until the execution has ended (neither RUNNING nor PENDING_REDRIVE),
/// showing progress on a terminal.
fn wait_for_end(session: &Session, execution: &str) -> Result<Value> {
    let mut progress = std::io::stderr()
        .is_terminal()
        .then(|| Progress::new(execution));
    let mut delay = Duration::from_millis(20);
    loop {
        let described = session.call("DescribeExecution", json!({"executionArn": execution}))?;
        let status = described.get("status").and_then(Value::as_str);
        if !matches!(status, Some("RUNNING" | "PENDING_REDRIVE")) {
            return Ok(described);
        }
        if let Some(progress) = &mut progress {
            progress.update(session);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

/// The live one-line view of a running execution on stderr: elapsed time, the state it last
/// entered and how many events it has. Cleared when dropped.
struct Progress {
    execution: String,
    since: Instant,
    state: String,
    events: u64,
    drawn: bool,
}

impl Progress {
    fn new(execution: &str) -> Progress {
        Progress {
            execution: execution.to_string(),
            since: Instant::now(),
            state: String::new(),
            events: 0,
            drawn: false,
        }
    }

    /// Reads the newest events and redraws the line. Best effort: a failed read keeps what was
    /// known (a real problem shows in the next DescribeExecution).
    fn update(&mut self, session: &Session) {
        let newest = session.call(
            "GetExecutionHistory",
            json!({"executionArn": self.execution, "reverseOrder": true, "maxResults": 20}),
        );
        if let Ok(answer) = newest {
            let events = answer
                .get("events")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if let Some(id) = events
                .first()
                .and_then(|e| e.get("id"))
                .and_then(Value::as_u64)
            {
                self.events = id;
            }
            let entered = events.iter().find_map(|e| {
                let kind = e.get("type").and_then(Value::as_str)?;
                if !kind.ends_with("StateEntered") {
                    return None;
                }
                e.pointer("/stateEnteredEventDetails/name")
                    .and_then(Value::as_str)
            });
            if let Some(state) = entered {
                self.state = state.to_string();
            }
        }
        let state = if self.state.is_empty() {
            "-".to_string()
        } else {
            excerpt(&self.state, 40)
        };
        let line = format!(
            "running {}  state: {state}  events: {}",
            elapsed(self.since.elapsed()),
            self.events
        );
        let mut stderr = std::io::stderr().lock();
        // Progress is decoration: a terminal that refuses it changes nothing.
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        self.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

/// `4.2s`, `3m07s`, `1h02m`.
fn elapsed(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{:.1}s", duration.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// An ended execution (DescribeExecution or StartSyncExecution): its output on stdout when it
/// succeeded, its status, error and cause on stderr otherwise.
fn print_outcome(session: &Session, outcome: &Value) -> Result<bool> {
    let status = outcome
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let succeeded = status == "SUCCEEDED";
    if session.json {
        print_json(outcome)?;
        return Ok(succeeded);
    }
    if succeeded {
        let output = outcome
            .get("output")
            .and_then(Value::as_str)
            .unwrap_or("null");
        match serde_json::from_str::<Value>(output) {
            Ok(value) => println!("{}", serde_json::to_string_pretty(&value)?),
            Err(_) => println!("{output}"),
        }
        return Ok(true);
    }
    eprintln!("{status}: {}", text_or_empty(outcome, "error"));
    let cause = text_or_empty(outcome, "cause");
    if !cause.is_empty() {
        eprintln!("{cause}");
    }
    Ok(false)
}

fn list_executions(
    session: &Session,
    machine: &str,
    status: Option<&str>,
    max: Option<u64>,
) -> Result<bool> {
    let mut request = Map::new();
    request.insert(
        "stateMachineArn".into(),
        json!(session.machine_arn(machine)),
    );
    if let Some(status) = status {
        request.insert("statusFilter".into(), json!(status.to_uppercase()));
    }
    let (executions, token) = list_all(session, "ListExecutions", request, "executions", max)?;
    if session.json {
        return print_list("executions", executions, token);
    }
    let rows = executions
        .iter()
        .map(|e| {
            vec![
                text(e, "name"),
                text(e, "status"),
                time(e, "startDate"),
                time(e, "stopDate"),
            ]
        })
        .collect::<Vec<_>>();
    print!(
        "{}",
        table(&["NAME", "STATUS", "STARTED", "STOPPED"], &rows)
    );
    Ok(true)
}

fn describe_execution(session: &Session, execution: &str) -> Result<bool> {
    let answer = session.call("DescribeExecution", json!({"executionArn": execution}))?;
    if session.json {
        return print_json(&answer);
    }
    let mut fields = vec![
        ("name", text(&answer, "name")),
        ("arn", text(&answer, "executionArn")),
        ("state machine", text(&answer, "stateMachineArn")),
        ("status", text(&answer, "status")),
        ("started", time(&answer, "startDate")),
        ("stopped", time(&answer, "stopDate")),
    ];
    if let Some(count) = answer.get("redriveCount").and_then(Value::as_u64)
        && count > 0
    {
        fields.push(("redrives", count.to_string()));
        fields.push(("redriven", time(&answer, "redriveDate")));
    }
    let mut redrive = text(&answer, "redriveStatus");
    if let Some(reason) = answer.get("redriveStatusReason").and_then(Value::as_str) {
        redrive = format!("{redrive} ({reason})");
    }
    fields.push(("redrive status", redrive));
    for (label, key) in [("error", "error"), ("cause", "cause")] {
        if let Some(value) = answer.get(key).and_then(Value::as_str) {
            fields.push((label, value.to_string()));
        }
    }
    for key in ["input", "output"] {
        if let Some(value) = answer.get(key).and_then(Value::as_str) {
            fields.push((key, payload(value)));
        }
    }
    print_fields(&fields);
    Ok(true)
}

fn history(session: &Session, execution: &str, reverse: bool, max: Option<u64>) -> Result<bool> {
    let mut request = Map::new();
    request.insert("executionArn".into(), json!(execution));
    request.insert("reverseOrder".into(), json!(reverse));
    let (events, token) = list_all(session, "GetExecutionHistory", request, "events", max)?;
    if session.json {
        return print_list("events", events, token);
    }
    let rows = events
        .iter()
        .map(|e| {
            vec![
                text(e, "id"),
                text(e, "type"),
                event_detail(e),
                time(e, "timestamp"),
            ]
        })
        .collect::<Vec<_>>();
    print!("{}", table(&["ID", "TYPE", "STATE/DETAIL", "TIME"], &rows));
    Ok(true)
}

/// The one thing worth showing about an event: the state it entered or left, the error, the
/// resource called, else its output or input, else its counts.
fn event_detail(event: &Value) -> String {
    let Some(details) = event.as_object().and_then(|m| {
        m.iter()
            .find(|(key, _)| key.ends_with("EventDetails"))
            .map(|(_, details)| details)
    }) else {
        return String::new();
    };
    let field = |key: &str| details.get(key).and_then(Value::as_str);
    let detail = if let Some(name) = field("name") {
        match details.get("index").and_then(Value::as_u64) {
            Some(index) => format!("{name} [{index}]"),
            None => name.to_string(),
        }
    } else if let Some(error) = field("error") {
        match field("cause").filter(|c| !c.is_empty()) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        }
    } else if let Some(resource) = field("resource") {
        match field("resourceType") {
            Some(kind) => format!("{kind}:{resource}"),
            None => resource.to_string(),
        }
    } else if let Some(output) = field("output") {
        format!("output {}", compact(output))
    } else if let Some(input) = field("input") {
        format!("input {}", compact(input))
    } else {
        // Counts and flags (`redriveCount`, `length`): shown as they are named.
        details
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, value)| value.is_number() || value.is_boolean())
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    excerpt(&detail.split_whitespace().collect::<Vec<_>>().join(" "), 80)
}

fn stop_execution(
    session: &Session,
    execution: &str,
    error: Option<&str>,
    cause: Option<&str>,
) -> Result<bool> {
    let mut request = json!({"executionArn": execution});
    if let Some(error) = error {
        request["error"] = json!(error);
    }
    if let Some(cause) = cause {
        request["cause"] = json!(cause);
    }
    let answer = session.call("StopExecution", request)?;
    if session.json {
        return print_json(&answer);
    }
    print_fields(&[("stopped", time(&answer, "stopDate"))]);
    Ok(true)
}

fn redrive_execution(session: &Session, execution: &str) -> Result<bool> {
    let answer = session.call("RedriveExecution", json!({"executionArn": execution}))?;
    if session.json {
        return print_json(&answer);
    }
    print_fields(&[("redriven", time(&answer, "redriveDate"))]);
    Ok(true)
}

fn run_test_state(session: &Session, args: &TestStateArgs) -> Result<bool> {
    let mut request = json!({
        "definition": read_file(&args.definition)?,
        "input": read_input(args.input.as_deref(), None)?,
    });
    if let Some(name) = &args.state_name {
        request["stateName"] = json!(name);
    }
    if let Some(level) = &args.inspection_level {
        request["inspectionLevel"] = json!(level.to_uppercase());
    }
    let answer = session.call("TestState", request)?;
    let failed = answer.get("status").and_then(Value::as_str) == Some("FAILED");
    if session.json {
        print_json(&answer)?;
        return Ok(!failed);
    }
    let mut fields = vec![("status", text(&answer, "status"))];
    if let Some(next) = answer.get("nextState").and_then(Value::as_str) {
        fields.push(("next state", next.to_string()));
    }
    for key in ["error", "cause"] {
        if let Some(value) = answer.get(key).and_then(Value::as_str) {
            fields.push((key, value.to_string()));
        }
    }
    if let Some(output) = answer.get("output").and_then(Value::as_str) {
        fields.push(("output", payload(output)));
    }
    if let Some(Value::Object(inspection)) = answer.get("inspectionData") {
        let inner: Vec<(&str, String)> = inspection
            .iter()
            .map(|(key, value)| {
                let shown = match value {
                    Value::String(text) => payload(text),
                    other => other.to_string(),
                };
                (key.as_str(), shown)
            })
            .collect();
        fields.push(("inspection data", render_fields(&inner)));
    }
    print_fields(&fields);
    Ok(!failed)
}

/// Every item of a paged list operation, following `nextToken`; at most `max`, then also the
/// token to continue after them, if the server has more.
fn list_all(
    session: &Session,
    operation: &str,
    mut request: Map<String, Value>,
    key: &str,
    max: Option<u64>,
) -> Result<(Vec<Value>, Option<String>)> {
    let max = max.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // Pages end exactly at `max`, so the token the server gives continues right after it.
        let page_size = max.map_or(1000, |m| m.saturating_sub(items.len()).min(1000));
        request.insert("maxResults".into(), json!(page_size));
        match &token {
            Some(token) => request.insert("nextToken".into(), json!(token)),
            None => request.remove("nextToken"),
        };
        let answer = session.call(operation, Value::Object(request.clone()))?;
        let page = match answer.get(key) {
            Some(Value::Array(page)) => page.clone(),
            _ => Vec::new(),
        };
        let empty = page.is_empty();
        items.extend(page);
        token = answer
            .get("nextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(max) = max
            && items.len() >= max
        {
            items.truncate(max);
            break;
        }
        if token.is_none() || empty {
            break;
        }
    }
    Ok((items, token))
}

pub(crate) fn print_json(value: &Value) -> Result<bool> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(true)
}

/// A merged list answer: `{key: [every item], "nextToken": where --max stopped}`.
fn print_list(key: &str, items: Vec<Value>, token: Option<String>) -> Result<bool> {
    let mut answer = Map::new();
    answer.insert(key.into(), Value::Array(items));
    if let Some(token) = token {
        answer.insert("nextToken".into(), json!(token));
    }
    print_json(&Value::Object(answer))
}

/// A member as text: strings as they are, numbers as written, missing as `-`.
pub(crate) fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn text_or_empty(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A timestamp member (epoch seconds) as RFC 3339 in UTC with milliseconds; missing as `-`.
pub(crate) fn time(value: &Value, key: &str) -> String {
    match value.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::Number(n)) => match n.as_f64().and_then(rfc3339) {
            Some(shown) => shown,
            None => n.to_string(),
        },
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn rfc3339(epoch_seconds: f64) -> Option<String> {
    let millis = (epoch_seconds * 1000.0).round();
    if !millis.is_finite() || millis.abs() > 1e17 {
        return None;
    }
    let at = jiff::Timestamp::from_millisecond(millis as i64).ok()?;
    Some(format!("{at:.3}"))
}

/// A JSON payload (given as JSON text): compact on the line when short, pretty below otherwise.
fn payload(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let compact = value.to_string();
    if compact.chars().count() <= 60 {
        compact
    } else {
        serde_json::to_string_pretty(&value).unwrap_or(compact)
    }
}

/// A JSON payload pretty-printed (a definition).
fn pretty_payload(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_string())
}

/// A JSON payload on one line.
fn compact(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => value.to_string(),
        Err(_) => text.to_string(),
    }
}

/// At most `max` characters of `text`, with `...` when cut.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

pub(crate) fn print_fields(fields: &[(&str, String)]) {
    print!("{}", render_fields(fields));
}

/// `key: value` lines with the values aligned; a value of several lines goes below its key,
/// indented.
fn render_fields(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .filter(|(_, value)| !value.contains('\n'))
        .map(|(key, _)| key.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (key, value) in fields {
        if value.contains('\n') {
            out.push_str(&format!("{key}:\n"));
            for line in value.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        } else {
            let label = format!("{key}:");
            out.push_str(&format!("{label:width$} {value}\n"));
        }
    }
    out
}

/// Rows under a header, each column as wide as its widest cell, two spaces apart.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:width$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["a".to_string(), "STANDARD".to_string(), "t1".to_string()],
            vec![
                "longer".to_string(),
                "EXPRESS".to_string(),
                "t2".to_string(),
            ],
        ];
        assert_eq!(
            table(&["NAME", "TYPE", "CREATED"], &rows),
            "NAME    TYPE      CREATED\n\
             a       STANDARD  t1\n\
             longer  EXPRESS   t2\n"
        );
    }

    #[test]
    fn fields_align_and_blocks_go_below() {
        let shown = render_fields(&[
            ("name", "x".to_string()),
            ("state machine", "y".to_string()),
            ("output", "{\n  \"a\": 1\n}".to_string()),
        ]);
        assert_eq!(
            shown,
            "name:          x\nstate machine: y\noutput:\n  {\n    \"a\": 1\n  }\n"
        );
    }

    #[test]
    fn epoch_seconds_become_rfc3339() {
        assert_eq!(
            rfc3339(1_700_000_000.5).as_deref(),
            Some("2023-11-14T22:13:20.500Z")
        );
        assert_eq!(time(&json!({}), "startDate"), "-");
    }

    #[test]
    fn event_details_show_the_state_or_the_error() {
        let entered = json!({"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "P", "input": "{}"}});
        assert_eq!(event_detail(&entered), "P");
        let failed = json!({"type": "ExecutionFailed", "executionFailedEventDetails": {"error": "Broken", "cause": "on\npurpose"}});
        assert_eq!(event_detail(&failed), "Broken: on purpose");
        let started = json!({"type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{\"n\": 1}"}});
        assert_eq!(event_detail(&started), "input {\"n\":1}");
        let redriven = json!({"type": "ExecutionRedriven", "executionRedrivenEventDetails": {"redriveCount": 1}});
        assert_eq!(event_detail(&redriven), "redriveCount=1");
    }

    #[test]
    fn elapsed_time_reads_well() {
        assert_eq!(elapsed(Duration::from_millis(4200)), "4.2s");
        assert_eq!(elapsed(Duration::from_secs(187)), "3m07s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
    }
}
