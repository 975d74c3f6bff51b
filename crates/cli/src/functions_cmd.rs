//! `weir functions` and `weir logs`: API clients for a running `weir server`'s functions (the
//! `Weir.` operations, see the `api` crate's `functions` module) and task logs.
//!
//! ```text
//! weir functions create resize --timeout-seconds 30 --concurrency 2 -- python3 ./resize.py
//! weir functions create price --url http://127.0.0.1:9000/price --header X-Token=t
//! weir functions update resize --memory-mb 512
//! weir functions list | describe NAME | delete NAME
//! weir logs EXECUTION_ARN [--state NAME] [--attempt N]
//! ```
//!
//! A command function's program and arguments follow `--`. Relative paths (a program containing
//! a `/`, and `--cwd`) are made absolute here, against the directory `weir` runs in, so the
//! server finds what the user meant. Output and exit status are those of the other client
//! commands (see `commands`): tables or `key: value` lines, `--json` for the server's answer, 1
//! for an API error, 2 for a usage problem.

use crate::commands::{ClientArgs, Session, finish, print_fields, print_json, table, text, time};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// `weir functions`: the options and the subcommand.
#[derive(Args)]
pub struct FunctionsArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: FunctionCommand,
}

/// The function subcommands.
#[derive(Subcommand)]
pub enum FunctionCommand {
    /// Register a function: a local command (after `--`) or an HTTP endpoint (`--url`).
    Create {
        /// The function's name (1 to 64 letters, digits, hyphens, underscores).
        name: String,
        /// What it runs and how.
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Change a function: only the options given change (a command after `--` replaces a URL,
    /// and `--url` replaces a command).
    Update {
        /// The function's name.
        name: String,
        /// What changes.
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// List the functions: NAME, RUNS, TIMEOUT, CONCURRENCY, MODIFIED.
    List,
    /// Describe a function.
    Describe {
        /// The function's name.
        name: String,
    },
    /// Delete a function (attempts already running finish).
    Delete {
        /// The function's name.
        name: String,
    },
}

/// A function's settings, as options.
#[derive(Args)]
pub struct SpecArgs {
    /// The HTTP endpoint (http://) the event is POSTed to, instead of a command.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The command's working directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// A variable for the command's environment (repeat for more).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// A header sent to the endpoint (repeat for more).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// The function's own timeout.
    #[arg(long, value_name = "SECONDS")]
    pub timeout_seconds: Option<u64>,
    /// The command's address-space limit, in MiB (enforced with prlimit).
    #[arg(long, value_name = "MIB")]
    pub memory_mb: Option<u64>,
    /// At most this many attempts of the function at once.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u64>,
    /// Free text for people.
    #[arg(long)]
    pub description: Option<String>,
    /// The program and its arguments, after `--`.
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub command: Vec<String>,
}

/// `weir logs`: one execution's task logs.
#[derive(Args)]
pub struct LogsArgs {
    /// The execution ARN.
    pub execution: String,
    /// Only this state's attempts.
    #[arg(long, value_name = "NAME")]
    pub state: Option<String>,
    /// Only this attempt number (0 for the first attempt, 1 for the first retry, ...).
    #[arg(long, value_name = "N")]
    pub attempt: Option<u64>,
    /// The server and the output format (last: its options have their own help heading).
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `weir functions ...`.
pub fn functions(args: FunctionsArgs) -> Result<bool> {
    let session = Session::new(&args.client, None);
    finish(match args.command {
        FunctionCommand::Create { name, spec } => {
            if spec.command.is_empty() && spec.url.is_none() {
                bail!(
                    "give the command after `--` (weir functions create NAME -- PROGRAM ARGS) or --url"
                );
            }
            let mut spec = spec;
            // The command's relative paths mean what they mean where `weir` runs.
            if !spec.command.is_empty() && spec.cwd.is_none() {
                spec.cwd = Some(PathBuf::from("."));
            }
            put(&session, "CreateFunction", &name, &spec)
        }
        FunctionCommand::Update { name, spec } => put(&session, "UpdateFunction", &name, &spec),
        FunctionCommand::List => list(&session),
        FunctionCommand::Describe { name } => describe(&session, &name),
        FunctionCommand::Delete { name } => delete(&session, &name),
    })
}

/// Runs `weir logs ...`.
pub fn logs(args: LogsArgs) -> Result<bool> {
    let session = Session::new(&args.client, None);
    finish(print_logs(&session, &args))
}

fn describe(session: &Session, name: &str) -> Result<bool> {
    let answer = call(session, "GetFunction", json!({"name": name}))?;
    show(session, &answer)
}

fn delete(session: &Session, name: &str) -> Result<bool> {
    let answer = call(session, "DeleteFunction", json!({"name": name}))?;
    if session.json {
        return print_json(&answer);
    }
    println!("deleted {name}");
    Ok(true)
}

fn call(session: &Session, operation: &str, input: Value) -> Result<Value> {
    Ok(session.client.call_weir(operation, &input)?)
}

/// `NAME=VALUE` pairs as an object.
fn pairs(option: &str, given: &[String]) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in given {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--{option} takes NAME=VALUE, not {pair:?}"))?;
        map.insert(name.to_string(), json!(value));
    }
    Ok(map)
}

/// `path` made absolute against the current directory.
fn absolute(path: &Path) -> Result<String> {
    let path = std::path::absolute(path)
        .with_context(|| format!("cannot resolve the path {}", path.display()))?;
    Ok(path.to_string_lossy().into_owned())
}

/// The request members of a create or update.
fn members(name: &str, spec: &SpecArgs) -> Result<Value> {
    let mut request = Map::new();
    request.insert("name".into(), json!(name));
    if let Some((program, args)) = spec.command.split_first() {
        let program = if program.contains('/') {
            absolute(Path::new(program))?
        } else {
            program.clone()
        };
        let mut command = vec![program];
        command.extend(args.iter().cloned());
        request.insert("command".into(), json!(command));
    }
    if let Some(url) = &spec.url {
        request.insert("url".into(), json!(url));
    }
    if let Some(cwd) = &spec.cwd {
        request.insert("workingDirectory".into(), json!(absolute(cwd)?));
    }
    if !spec.env.is_empty() {
        request.insert(
            "environment".into(),
            Value::Object(pairs("env", &spec.env)?),
        );
    }
    if !spec.headers.is_empty() {
        request.insert(
            "headers".into(),
            Value::Object(pairs("header", &spec.headers)?),
        );
    }
    let numbers = [
        ("timeoutSeconds", spec.timeout_seconds),
        ("memoryMb", spec.memory_mb),
        ("concurrency", spec.concurrency),
    ];
    for (member, value) in numbers {
        if let Some(value) = value {
            request.insert(member.into(), json!(value));
        }
    }
    if let Some(description) = &spec.description {
        request.insert("description".into(), json!(description));
    }
    Ok(Value::Object(request))
}

fn put(session: &Session, operation: &str, name: &str, spec: &SpecArgs) -> Result<bool> {
    let answer = call(session, operation, members(name, spec)?)?;
    show(session, &answer)
}

/// What a function runs, on one line: its command or its URL.
fn runs(function: &Value) -> String {
    match function.get("command").and_then(Value::as_array) {
        Some(command) => command
            .iter()
            .map(|part| part.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" "),
        None => text(function, "url"),
    }
}

fn show(session: &Session, function: &Value) -> Result<bool> {
    if session.json {
        return print_json(function);
    }
    let object = |key: &str| {
        function
            .get(key)
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    let mut fields = vec![
        ("name", text(function, "name")),
        ("arn", text(function, "functionArn")),
        ("runs", runs(function)),
    ];
    if let Some(cwd) = function.get("workingDirectory").and_then(Value::as_str) {
        fields.push(("directory", cwd.to_string()));
    }
    if let Some(env) = object("environment") {
        fields.push(("environment", env));
    }
    if let Some(headers) = object("headers") {
        fields.push(("headers", headers));
    }
    for (label, key) in [
        ("timeout", "timeoutSeconds"),
        ("memory (MiB)", "memoryMb"),
        ("concurrency", "concurrency"),
        ("description", "description"),
    ] {
        if function.get(key).is_some() {
            fields.push((label, text(function, key)));
        }
    }
    fields.push(("created", time(function, "creationDate")));
    fields.push(("modified", time(function, "lastModified")));
    print_fields(&fields);
    Ok(true)
}

fn list(session: &Session) -> Result<bool> {
    let answer = call(session, "ListFunctions", json!({}))?;
    if session.json {
        return print_json(&answer);
    }
    let functions = answer
        .get("functions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = functions
        .iter()
        .map(|f| {
            vec![
                text(f, "name"),
                runs(f),
                text(f, "timeoutSeconds"),
                text(f, "concurrency"),
                time(f, "lastModified"),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["NAME", "RUNS", "TIMEOUT", "CONCURRENCY", "MODIFIED"],
            &rows
        )
    );
    Ok(true)
}

fn print_logs(session: &Session, args: &LogsArgs) -> Result<bool> {
    let mut request = json!({"executionArn": args.execution});
    if let Some(state) = &args.state {
        request["stateName"] = json!(state);
    }
    if let Some(attempt) = args.attempt {
        request["attempt"] = json!(attempt);
    }
    let answer = call(session, "GetTaskLogs", request)?;
    if session.json {
        return print_json(&answer);
    }
    let logs = answer
        .get("logs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if logs.is_empty() {
        eprintln!("no task logs for {}", args.execution);
    }
    for (i, log) in logs.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let mut fields = vec![
            ("state", text(log, "stateName")),
            ("attempt", text(log, "attempt")),
            ("function", text(log, "functionName")),
            ("status", text(log, "status")),
            ("started", time(log, "startDate")),
            ("stopped", time(log, "stopDate")),
        ];
        for key in ["error", "cause"] {
            if let Some(value) = log.get(key).and_then(Value::as_str) {
                fields.push((key, value.to_string()));
            }
        }
        for (label, key, truncated) in [
            ("stdout", "stdout", "stdoutTruncated"),
            ("stderr", "stderr", "stderrTruncated"),
        ] {
            let mut shown = text(log, key).trim_end_matches('\n').to_string();
            if log.get(truncated).and_then(Value::as_bool) == Some(true) {
                shown = format!("(earlier output dropped)\n{shown}");
            }
            fields.push((label, shown));
        }
        print_fields(&fields);
    }
    Ok(true)
}
