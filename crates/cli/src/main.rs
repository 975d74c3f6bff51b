//! `weir`: the command-line entry point.
//!
//! `weir run` executes a definition in memory, `weir validate` prints a definition's diagnostics and
//! `weir conformance` scores the engine against a corpus of cases recorded on AWS.

mod alarms_cmd;
mod client;
mod commands;
mod conformance;
mod durable;
mod functions_cmd;
mod mappings_cmd;
mod resources;
mod server;
mod topics_cmd;
mod workload;

use anyhow::{Context, Result, bail};
use asl::definition::StateMachine;
use asl::driver;
use asl::execution::{ExecutionInfo, Status};
use asl::validate::{self, Diagnostic, ValidationOptions};
use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc: executions allocate many small JSON values, and it serves them about a third
/// faster than the system allocator (`cargo bench -p engine --bench durable`, Express figure).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    ///
    /// Lambda tasks run local commands from the `--functions` registry. Waits and retry intervals
    /// take no time (a virtual clock); tasks take the time they take. Exit status: 0 when the
    /// execution succeeds (its output on stdout), 1 when it fails (error and cause on stderr), 2
    /// when the definition, input or registry is malformed.
    Run {
        /// The definition (Amazon States Language JSON).
        definition: PathBuf,
        /// The execution input, as JSON text [default: {}].
        #[arg(long, conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the execution input from this JSON file.
        #[arg(long, value_name = "FILE")]
        input_file: Option<PathBuf>,
        /// The function registry (JSON) that Lambda tasks run; its format is documented in
        /// the `functions` crate (crates/functions/src/lib.rs).
        #[arg(long, value_name = "FILE")]
        functions: Option<PathBuf>,
        /// The execution name [default: a random UUID, as AWS gives].
        #[arg(long)]
        name: Option<String>,
        /// Print the execution history as JSON lines on stderr.
        #[arg(long)]
        history: bool,
        /// Run as a durable Standard execution on the SQLite store in this directory: waits and
        /// retries take real time, and after a crash the same command (same `--name` and input)
        /// resumes the execution where it stopped.
        #[arg(long, value_name = "DIR")]
        durable: Option<PathBuf>,
        /// Queues and topics to create (or update) in the durable store before the run, for the
        /// tasks that send to them (see crates/cli/src/resources.rs for the format).
        #[arg(long, value_name = "FILE", requires = "durable")]
        resources: Option<PathBuf>,
    },
    /// Validate a definition and print its diagnostics.
    Validate {
        /// The definition (Amazon States Language JSON).
        definition: PathBuf,
        /// Validate for an EXPRESS state machine (no activities, `.sync` or callbacks).
        #[arg(long)]
        express: bool,
    },
    /// Serve the AWS Step Functions API (JSON 1.0 protocol) on one port, on the SQLite store in
    /// the data directory, until SIGTERM or Ctrl-C.
    ///
    /// Point boto3 or the AWS CLI at it with `--endpoint-url http://127.0.0.1:8083`.
    Server {
        /// The data directory.
        #[arg(long, value_name = "DIR", default_value = "weir-data")]
        data: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The port (0 picks a free one and prints it).
        #[arg(long, default_value_t = 8083)]
        port: u16,
        /// The region in ARNs.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// The account in ARNs.
        #[arg(long, default_value = "000000000000")]
        account: String,
        /// Log level (error, warn, info, debug, trace) or a tracing filter; the last one given
        /// wins.
        #[arg(long, default_value = "info", overrides_with = "log_level")]
        log_level: String,
        /// Write logs as JSON lines.
        #[arg(long)]
        log_json: bool,
        /// Require requests signed (AWS SigV4) with this key, given as ACCESS_KEY_ID:SECRET;
        /// repeat for more keys. Without any, every request is accepted as the emulators do.
        #[arg(
            long = "access-key",
            value_name = "ID:SECRET",
            env = "WEIR_ACCESS_KEYS",
            value_delimiter = ','
        )]
        access_keys: Vec<String>,
        /// A function registry (JSON, as for `weir run --functions`): its functions are
        /// registered, and stored, on start, besides those stored earlier (`weir functions`).
        #[arg(long, value_name = "FILE")]
        functions: Option<PathBuf>,
        /// Queues and topics to create (or update) on start (see crates/cli/src/resources.rs).
        #[arg(long, value_name = "FILE")]
        resources: Option<PathBuf>,
        /// Run the engine's clock this many times faster than the wall: a 60-second Wait takes
        /// 60 ms at 1000. For test servers only (the conformance run through the API).
        #[arg(long, default_value_t = 1, hide = true)]
        time_scale: u32,
    },
    /// Run the crash test's workload on a durable store until every execution has ended (see
    /// crates/cli/src/workload.rs).
    #[command(hide = true)]
    Workload {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// How many executions to run.
        #[arg(long)]
        executions: u64,
        /// The file every task attempt appends a line to.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
    },
    /// Run every case of a conformance corpus and write one JSON result line per case.
    Conformance {
        /// The corpus directory (with `index.json` or a `cases/` tree).
        corpus: PathBuf,
        /// Where to write the results (JSON lines).
        #[arg(long)]
        out: PathBuf,
        /// Run the cases through the API of the `weir server` at this URL instead of in
        /// process (start it with `--time-scale 1000` so Waits take no time).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// The `--time-scale` of the server at `--endpoint`: the scripted Lambda functions it
        /// registers sleep that much shorter.
        #[arg(long, default_value_t = 1, value_name = "FACTOR")]
        time_scale: u32,
    },
    /// Acts as one corpus Lambda function (hidden; what `weir conformance --endpoint`
    /// registers): reads the event on stdin and behaves as `--behaviour` says.
    #[command(hide = true)]
    LambdaBehaviour {
        /// The case's `lambda_functions[].behaviour` text.
        #[arg(long)]
        behaviour: String,
        /// Sleeps last this many times shorter.
        #[arg(long, default_value_t = 1)]
        time_scale: u32,
    },
    /// Create, list, describe, update and delete state machines on a running `weir server`.
    StateMachines(commands::StateMachinesArgs),
    /// Start, list, describe, stop and redrive executions on a running `weir server`, and print
    /// their history.
    Executions(commands::ExecutionsArgs),
    /// Test one state through a running `weir server`'s TestState.
    TestState(commands::TestStateArgs),
    /// Register, change, list, describe and delete the functions a running `weir server`'s Lambda
    /// tasks run.
    Functions(functions_cmd::FunctionsArgs),
    /// Print the task logs (stdout and stderr of every attempt) of an execution on a running
    /// `weir server`.
    Logs(functions_cmd::LogsArgs),
    /// Create topics, subscribe queues, functions and HTTP endpoints to them, and publish, on a
    /// running `weir server`.
    Topics(topics_cmd::TopicsArgs),
    /// Create, list, describe, update, enable, disable and delete the event-source mappings
    /// that hand a running `weir server`'s queue messages to state machines and functions.
    Mappings(mappings_cmd::MappingsArgs),
    /// Put, list, read the history of and delete alarms on a running `weir server`'s metrics.
    Alarms(alarms_cmd::AlarmsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            definition,
            input,
            input_file,
            functions,
            name,
            history,
            durable,
            resources,
        } => run(
            &definition,
            input.as_deref(),
            input_file.as_deref(),
            functions.as_deref(),
            name.as_deref(),
            history,
            durable.as_deref().map(|data| durable::Store {
                data,
                resources: resources.as_deref(),
            }),
        ),
        Command::Validate {
            definition,
            express,
        } => validate(&definition, express),
        Command::Server {
            data,
            bind,
            port,
            region,
            account,
            log_level,
            log_json,
            access_keys,
            functions,
            resources,
            time_scale,
        } => {
            init_logging(&log_level, log_json);
            server::run(server::ServerOptions {
                data,
                bind,
                port,
                region,
                account,
                access_keys,
                functions,
                resources,
                time_scale,
            })
            .map(|()| true)
        }
        Command::Workload {
            data,
            executions,
            ledger,
        } => workload::run(&data, executions, &ledger).map(|()| true),
        Command::Conformance {
            corpus,
            out,
            endpoint,
            time_scale,
        } => conformance::run(&corpus, &out, endpoint.as_deref(), time_scale).map(|_| true),
        Command::LambdaBehaviour {
            behaviour,
            time_scale,
        } => conformance::run_behaviour(&behaviour, time_scale).map_err(anyhow::Error::msg),
        Command::StateMachines(args) => commands::state_machines(args),
        Command::Executions(args) => commands::executions(args),
        Command::TestState(args) => commands::test_state(args),
        Command::Functions(args) => functions_cmd::functions(args),
        Command::Logs(args) => functions_cmd::logs(args),
        Command::Topics(args) => topics_cmd::topics(args),
        Command::Mappings(args) => mappings_cmd::mappings(args),
        Command::Alarms(args) => alarms_cmd::alarms(args),
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

fn run(
    path: &Path,
    input: Option<&str>,
    input_file: Option<&Path>,
    functions: Option<&Path>,
    name: Option<&str>,
    show_history: bool,
    durable: Option<durable::Store<'_>>,
) -> Result<bool> {
    let def = load_definition(path)?;
    let input: Value = match input_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the input file {}", file.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("the input file {} is not valid JSON", file.display()))?
        }
        None => {
            let text = input.unwrap_or("{}");
            serde_json::from_str(text)
                .with_context(|| format!("--input is not valid JSON: {text}"))?
        }
    };
    let seed = rand_seed();
    // AWS's rule for execution names; without one, AWS names an execution with a random UUID.
    let forbidden =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    let execution_name = match name {
        Some(name)
            if name.is_empty() || name.chars().count() > 80 || name.chars().any(forbidden) =>
        {
            bail!(
                "--name {name:?} is not a valid execution name: 1 to 80 characters, without \
                 whitespace or any of < > {{ }} [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : /"
            )
        }
        Some(name) => name.to_string(),
        None => asl::Rng::new(seed.rotate_left(32)).uuid(),
    };
    let machine = path
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.strip_suffix(".asl").unwrap_or(s))
        .unwrap_or("definition");
    let info = ExecutionInfo::new(
        &driver::local_state_machine_arn(machine),
        &execution_name,
        input,
        jiff::Timestamp::now(),
    );
    if let Some(store) = durable {
        let definition = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let finished = durable::run(durable::DurableRun {
            data: store.data,
            resources: store.resources,
            machine,
            definition: &definition,
            input: &info.input.to_string(),
            name: &execution_name,
            functions,
        })?;
        if show_history {
            for event in &finished.history {
                eprintln!("{event}");
            }
        }
        if finished.status == "SUCCEEDED" {
            let output: Value = serde_json::from_str(finished.output.as_deref().unwrap_or("null"))?;
            println!("{}", serde_json::to_string_pretty(&output)?);
            return Ok(true);
        }
        eprintln!(
            "{}: {}",
            finished.status,
            finished.error.as_deref().unwrap_or_default()
        );
        if let Some(cause) = finished.cause.filter(|c| !c.is_empty()) {
            eprintln!("{cause}");
        }
        return Ok(false);
    }
    let registry = match functions {
        Some(file) => ::functions::Registry::load(file)?,
        None => ::functions::Registry::new(),
    };
    let outcome = driver::run(&def, info, seed, &mut |task| registry.run(task));
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

/// Logs to stderr through `tracing`, filtered by `level` (`info`, or a filter such as
/// `engine=debug,info`), as text or JSON lines.
fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (never in this binary) would only be ignored.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
