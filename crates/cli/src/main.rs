//! `weir`: the command-line entry point.
//!
//! `weir run` executes a definition in memory, `weir validate` prints a definition's diagnostics and
//! `weir conformance` scores the engine against a corpus of cases recorded on AWS.

mod conformance;

use anyhow::{Context, Result, bail};
use asl::definition::StateMachine;
use asl::driver::{self, TaskAnswer};
use asl::execution::{ExecutionInfo, Status};
use asl::validate::{self, Diagnostic, ValidationOptions};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// weir: resilient, Step Functions compatible data pipelines.
#[derive(Parser)]
#[command(name = "weir", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a state machine definition in memory and print its output.
    Run {
        /// The definition (Amazon States Language JSON).
        definition: PathBuf,
        /// The execution input, as JSON text.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Print the execution history as JSON lines on stderr.
        #[arg(long)]
        history: bool,
    },
    /// Validate a definition and print its diagnostics.
    Validate {
        /// The definition (Amazon States Language JSON).
        definition: PathBuf,
        /// Validate for an EXPRESS state machine (no activities, `.sync` or callbacks).
        #[arg(long)]
        express: bool,
    },
    /// Run every case of a conformance corpus and write one JSON result line per case.
    Conformance {
        /// The corpus directory (with `index.json` or a `cases/` tree).
        corpus: PathBuf,
        /// Where to write the results (JSON lines).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            definition,
            input,
            history,
        } => run(&definition, &input, history),
        Command::Validate {
            definition,
            express,
        } => validate(&definition, express),
        Command::Conformance { corpus, out } => conformance::run(&corpus, &out).map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads a definition, or explains every problem in it with its location.
fn load_definition(path: &Path) -> Result<StateMachine> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    StateMachine::load_text(&text, &ValidationOptions::default()).map_err(|diagnostics| {
        let list: Vec<String> = diagnostics.iter().map(describe).collect();
        anyhow::anyhow!(
            "{} is not a valid state machine:\n{}",
            path.display(),
            list.join("\n")
        )
    })
}

/// One diagnostic as a line for people: `  CODE at /States/X/Next: message`.
fn describe(d: &Diagnostic) -> String {
    match &d.location {
        Some(at) => format!("  {} at {at}: {}", d.code, d.message),
        None => format!("  {}: {}", d.code, d.message),
    }
}

fn run(path: &Path, input: &str, show_history: bool) -> Result<bool> {
    let def = load_definition(path)?;
    let input: Value = serde_json::from_str(input)
        .with_context(|| format!("--input is not valid JSON: {input}"))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("definition");
    let info = ExecutionInfo::new(
        &driver::local_state_machine_arn(name),
        "run",
        input,
        jiff::Timestamp::now(),
    );
    let outcome = driver::run(&def, info, rand_seed(), &mut |task| {
        TaskAnswer::fail(
            "States.TaskFailed",
            &format!(
                "weir run has no runner for the resource '{}' yet",
                task.resource
            ),
        )
    });
    if show_history {
        for event in &outcome.history {
            eprintln!("{}", event.to_json());
        }
    }
    match outcome.status {
        Status::Succeeded => {
            let output = outcome.output.unwrap_or(Value::Null);
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(true)
        }
        Status::Running => bail!("the execution stalled with nothing left to wait for"),
        status => {
            let failure = outcome.failure.unwrap_or_else(|| asl::Failure::new("", ""));
            eprintln!("{}: {}", status.as_str(), failure.error);
            if !failure.cause.is_empty() {
                eprintln!("{}", failure.cause);
            }
            Ok(false)
        }
    }
}

fn rand_seed() -> u64 {
    let t = jiff::Timestamp::now();
    (t.as_nanosecond() as u64) ^ u64::from(std::process::id())
}

fn validate(path: &Path, express: bool) -> Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let diagnostics = validate::validate_text(&text, &ValidationOptions { express });
    let ok = !validate::has_errors(&diagnostics);
    let report = serde_json::json!({
        "result": if ok { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ok)
}
