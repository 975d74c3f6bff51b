//! `weir mappings`: an API client for a running `weir server`'s event-source mappings (the
//! `Weir.*EventSourceMapping` operations, see the `api` crate's `mappings` module), which hand a
//! queue's messages in batches to a state machine or a function.
//!
//! ```text
//! weir mappings create --queue orders --state-machine process-orders --batch-size 50 \
//!     --batching-window 5 --report-batch-item-failures --max-concurrency 4
//! weir mappings create --queue images --function resize --bisect --max-retry-attempts 2 \
//!     --on-failure images-failed
//! weir mappings list [--queue Q] [--target ARN] | describe UUID
//! weir mappings update UUID --batch-size 10 --on-failure none
//! weir mappings enable UUID | disable UUID | delete UUID
//! ```
//!
//! Queues are named by name, ARN or URL; targets by name (made an ARN with `--region` and
//! `--account`) or ARN. `--max-retry-attempts -1` and `--max-record-age -1` remove the limit,
//! `--on-failure none` the destination and `--max-concurrency 0` the concurrency limit. Output
//! and exit status are those of the other client commands (see `commands`): a table or
//! `key: value` lines, `--json` for the server's answer, 1 for an API error, 2 for a usage
//! problem.

use crate::commands::{
    ArnArgs, ClientArgs, Session, finish, print_fields, print_json, table, text, time,
};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

/// `weir mappings`: the options and the subcommand.
#[derive(Args)]
pub struct MappingsArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// How bare target names become ARNs.
    #[command(flatten)]
    pub arns: ArnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: MappingCommand,
}

/// The mapping subcommands.
#[derive(Subcommand)]
pub enum MappingCommand {
    /// Create a mapping from a queue to a state machine or a function (enabled unless
    /// `--disabled`).
    Create {
        /// The queue to read (name, ARN or URL).
        #[arg(long, value_name = "QUEUE")]
        queue: String,
        /// What to hand batches to (one of --state-machine and --function).
        #[command(flatten)]
        target: TargetArgs,
        /// Its settings.
        #[command(flatten)]
        settings: SettingsArgs,
        /// Create it disabled (no poller until `weir mappings enable`).
        #[arg(long)]
        disabled: bool,
    },
    /// List the mappings: UUID, QUEUE, TARGET, STATE, BATCH, MODIFIED.
    List {
        /// Only this queue's mappings (name, ARN or URL).
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
        /// Only the mappings to this target ARN.
        #[arg(long, value_name = "ARN")]
        target: Option<String>,
    },
    /// Describe a mapping.
    Describe {
        /// The mapping's UUID.
        uuid: String,
    },
    /// Change a mapping: only the options given change (its queue never does).
    Update {
        /// The mapping's UUID.
        uuid: String,
        /// A new target.
        #[command(flatten)]
        target: TargetArgs,
        /// What changes.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Start a mapping's poller.
    Enable {
        /// The mapping's UUID.
        uuid: String,
    },
    /// Stop a mapping's poller (batches already handed over finish).
    Disable {
        /// The mapping's UUID.
        uuid: String,
    },
    /// Delete a mapping (batches already handed over finish).
    Delete {
        /// The mapping's UUID.
        uuid: String,
    },
}

/// A mapping's target: a state machine or a function (one of them; required by `create`).
#[derive(Args)]
#[group(required = false, multiple = false)]
pub struct TargetArgs {
    /// A state machine (name or ARN; a version or alias ARN too).
    #[arg(long, value_name = "NAME|ARN")]
    pub state_machine: Option<String>,
    /// A function registered with the server (name or ARN).
    #[arg(long, value_name = "NAME|ARN")]
    pub function: Option<String>,
}

/// A mapping's settings, as options.
#[derive(Args)]
pub struct SettingsArgs {
    /// The most messages per batch (1 to 10000; over 10 needs --batching-window).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<u64>,
    /// How long to gather a batch (MaximumBatchingWindowInSeconds, 0 to 300).
    #[arg(long, value_name = "SECONDS")]
    pub batching_window: Option<u64>,
    /// Read `batchItemFailures` from the target's response (ReportBatchItemFailures).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub report_batch_item_failures: Option<bool>,
    /// Split a failing batch in halves and retry each (BisectBatchOnFunctionError).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub bisect: Option<bool>,
    /// Give a record up after this many retries (0 to 10000; -1 leaves it to the queue).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_retry_attempts: Option<i64>,
    /// Give a record up when older than this (60 to 604800; -1 for no limit).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub max_record_age: Option<i64>,
    /// The queue records given up go to (name or ARN; `none` removes it).
    #[arg(long, value_name = "QUEUE")]
    pub on_failure: Option<String>,
    /// At most this many batches at once (2 to 1000; 0 removes the limit).
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<u64>,
}

/// Runs `weir mappings ...`.
pub fn mappings(args: MappingsArgs) -> Result<bool> {
    let session = Session::new(&args.client, Some(&args.arns));
    let arns = &args.arns;
    finish(match args.command {
        MappingCommand::Create {
            queue,
            target,
            settings,
            disabled,
        } => {
            let mut request = settings_members(&settings);
            request.insert("eventSourceArn".into(), json!(queue_name(&queue)));
            let target = target_arn(arns, target.state_machine, target.function)?;
            request.insert("targetArn".into(), json!(target));
            request.insert("enabled".into(), json!(!disabled));
            put(&session, "CreateEventSourceMapping", request)
        }
        MappingCommand::List { queue, target } => list(&session, queue, target),
        MappingCommand::Describe { uuid } => {
            put(&session, "GetEventSourceMapping", uuid_member(&uuid))
        }
        MappingCommand::Update {
            uuid,
            target,
            settings,
        } => {
            let mut request = settings_members(&settings);
            request.extend(uuid_member(&uuid));
            if target.state_machine.is_some() || target.function.is_some() {
                let target = target_arn(arns, target.state_machine, target.function)?;
                request.insert("targetArn".into(), json!(target));
            }
            put(&session, "UpdateEventSourceMapping", request)
        }
        MappingCommand::Enable { uuid } => switch(&session, &uuid, true),
        MappingCommand::Disable { uuid } => switch(&session, &uuid, false),
        MappingCommand::Delete { uuid } => delete(&session, &uuid),
    })
}

fn uuid_member(uuid: &str) -> Map<String, Value> {
    Map::from_iter([("uuid".to_string(), json!(uuid))])
}

/// A queue's name from its name, ARN (`arn:aws:sqs:...:NAME`) or URL (`.../ACCOUNT/NAME`).
fn queue_name(queue: &str) -> &str {
    if queue.starts_with("http://") || queue.starts_with("https://") {
        queue
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(queue)
    } else {
        queue
    }
}

/// The target's ARN: a state machine's or a function's, made from a bare name when needed.
fn target_arn(
    arns: &ArnArgs,
    state_machine: Option<String>,
    function: Option<String>,
) -> Result<String> {
    let (kind, name) = match (state_machine, function) {
        (Some(machine), None) => (("states", "stateMachine"), machine),
        (None, Some(function)) => (("lambda", "function"), function),
        _ => bail!("give one of --state-machine and --function"),
    };
    if name.starts_with("arn:") {
        return Ok(name);
    }
    let ((service, resource), region, account) = (kind, &arns.region, &arns.account);
    Ok(format!(
        "arn:aws:{service}:{region}:{account}:{resource}:{name}"
    ))
}

/// The request members of the settings given.
fn settings_members(settings: &SettingsArgs) -> Map<String, Value> {
    let mut request = Map::new();
    let numbers = [
        ("batchSize", settings.batch_size.map(Value::from)),
        (
            "maximumBatchingWindowInSeconds",
            settings.batching_window.map(Value::from),
        ),
        (
            "maximumRetryAttempts",
            settings.max_retry_attempts.map(Value::from),
        ),
        (
            "maximumRecordAgeInSeconds",
            settings.max_record_age.map(Value::from),
        ),
        (
            "bisectBatchOnFunctionError",
            settings.bisect.map(Value::from),
        ),
    ];
    for (member, value) in numbers {
        if let Some(value) = value {
            request.insert(member.into(), value);
        }
    }
    if let Some(report) = settings.report_batch_item_failures {
        let types: &[&str] = if report {
            &["ReportBatchItemFailures"]
        } else {
            &[]
        };
        request.insert("functionResponseTypes".into(), json!(types));
    }
    if let Some(destination) = &settings.on_failure {
        let config = if destination == "none" || destination.is_empty() {
            json!({})
        } else {
            json!({"onFailure": {"destination": queue_name(destination)}})
        };
        request.insert("destinationConfig".into(), config);
    }
    if let Some(n) = settings.max_concurrency {
        let config = if n == 0 {
            json!({})
        } else {
            json!({"maximumConcurrency": n})
        };
        request.insert("scalingConfig".into(), config);
    }
    request
}

fn call(session: &Session, operation: &str, input: Map<String, Value>) -> Result<Value> {
    Ok(session.client.call_weir(operation, &Value::Object(input))?)
}

fn put(session: &Session, operation: &str, request: Map<String, Value>) -> Result<bool> {
    let answer = call(session, operation, request)?;
    show(session, &answer)
}

fn switch(session: &Session, uuid: &str, enabled: bool) -> Result<bool> {
    let mut request = uuid_member(uuid);
    request.insert("enabled".into(), json!(enabled));
    put(session, "UpdateEventSourceMapping", request)
}

fn delete(session: &Session, uuid: &str) -> Result<bool> {
    let answer = call(session, "DeleteEventSourceMapping", uuid_member(uuid))?;
    if session.json {
        return print_json(&answer);
    }
    println!("deleted {uuid}");
    Ok(true)
}

/// The name at the end of an ARN member.
fn short(value: &Value, key: &str) -> String {
    let arn = text(value, key);
    arn.rsplit(':').next().unwrap_or(&arn).to_string()
}

fn show(session: &Session, mapping: &Value) -> Result<bool> {
    if session.json {
        return print_json(mapping);
    }
    let unlimited = |key: &str| match mapping.get(key).and_then(Value::as_i64) {
        Some(-1) | None => "-".to_string(),
        Some(n) => n.to_string(),
    };
    let report = mapping
        .get("functionResponseTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| !types.is_empty());
    let destination = mapping
        .pointer("/destinationConfig/onFailure/destination")
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string();
    let concurrency = mapping
        .pointer("/scalingConfig/maximumConcurrency")
        .map_or_else(|| "-".to_string(), Value::to_string);
    let fields = vec![
        ("uuid", text(mapping, "uuid")),
        ("arn", text(mapping, "eventSourceMappingArn")),
        ("queue", text(mapping, "eventSourceArn")),
        ("target", text(mapping, "targetArn")),
        ("state", text(mapping, "state")),
        ("batch size", text(mapping, "batchSize")),
        (
            "batching window (s)",
            text(mapping, "maximumBatchingWindowInSeconds"),
        ),
        ("report batch item failures", report.to_string()),
        (
            "bisect on error",
            text(mapping, "bisectBatchOnFunctionError"),
        ),
        ("max retry attempts", unlimited("maximumRetryAttempts")),
        ("max record age (s)", unlimited("maximumRecordAgeInSeconds")),
        ("on failure", destination),
        ("max concurrency", concurrency),
        ("created", time(mapping, "creationDate")),
        ("modified", time(mapping, "lastModified")),
    ];
    print_fields(&fields);
    Ok(true)
}

fn list(session: &Session, queue: Option<String>, target: Option<String>) -> Result<bool> {
    let mut request = Map::new();
    if let Some(queue) = &queue {
        request.insert("eventSourceArn".into(), json!(queue_name(queue)));
    }
    if let Some(target) = target {
        request.insert("targetArn".into(), json!(target));
    }
    let answer = call(session, "ListEventSourceMappings", request)?;
    if session.json {
        return print_json(&answer);
    }
    let mappings = answer
        .get("eventSourceMappings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = mappings
        .iter()
        .map(|m| {
            vec![
                text(m, "uuid"),
                short(m, "eventSourceArn"),
                text(m, "targetArn"),
                text(m, "state"),
                text(m, "batchSize"),
                time(m, "lastModified"),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["UUID", "QUEUE", "TARGET", "STATE", "BATCH", "MODIFIED"],
            &rows
        )
    );
    Ok(true)
}
