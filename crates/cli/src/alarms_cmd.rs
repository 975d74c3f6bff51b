//! `weir alarms`: an API client for a running `weir server`'s alarms on its own metrics (the
//! `Weir.` alarm operations, see the `api` crate's `alarms` module).
//!
//! ```text
//! weir alarms put failures --metric weir_executions_ended_total --dimension status=FAILED \
//!     --statistic Sum --period 60 --evaluation-periods 3 --datapoints-to-alarm 2 \
//!     --threshold 1 --comparison GreaterThanOrEqualToThreshold [--missing notBreaching] \
//!     [--alarm-action TOPIC_ARN] [--ok-action TOPIC_ARN]
//! weir alarms put traffic --metric weir_queue_events_total --dimension event=sent \
//!     --period 300 --evaluation-periods 3 --datapoints-to-alarm 2 --anomaly-band 2 \
//!     [--comparison GreaterThanUpperThreshold]
//! weir alarms put rejects --namespace orders --metric RecordsRejected --dimension stage=validate \
//!     --statistic Sum --period 300 --threshold 10 --comparison GreaterThanOrEqualToThreshold
//! weir alarms put both --rule 'ALARM("failures") AND ALARM("backlog")'
//! weir alarms list | history [NAME] | delete NAME...
//! ```
//!
//! Output and exit status are those of the other client commands (see `commands`).

use crate::commands::{ClientArgs, Session, finish, print_json, table, text, time};
use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// `weir alarms`: the options and the subcommand.
#[derive(Args)]
pub struct AlarmsArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: AlarmCommand,
}

/// The alarm subcommands.
#[derive(Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per run: its size does not matter"
)]
pub enum AlarmCommand {
    /// Create or replace an alarm: a metric alarm (--metric ...) or a composite one (--rule).
    Put {
        /// The alarm's name.
        name: String,
        /// A composite alarm's rule (ALARM("a"), OK("b"), INSUFFICIENT_DATA("c"), AND, OR,
        /// NOT, parentheses).
        #[arg(long, conflicts_with = "metric")]
        rule: Option<String>,
        /// The metric family (weir_executions_ended_total, weir_queue_messages, ...), or with
        /// --namespace the name of a custom metric reported under it.
        #[arg(long, required_unless_present = "rule")]
        metric: Option<String>,
        /// The namespace of a custom metric (what EMF lines and PutMetricData report under).
        #[arg(long, requires = "metric")]
        namespace: Option<String>,
        /// A label the series must have; repeat for more.
        #[arg(long = "dimension", value_name = "NAME=VALUE", value_parser = pair)]
        dimensions: Vec<(String, String)>,
        /// Sum, Average, Maximum, Minimum or SampleCount.
        #[arg(long, default_value = "Sum")]
        statistic: String,
        /// The period, in seconds.
        #[arg(long, default_value_t = 60)]
        period: u64,
        /// N: the periods evaluated.
        #[arg(long, default_value_t = 1)]
        evaluation_periods: u64,
        /// M: the breaching datapoints that put the alarm in ALARM [default: N].
        #[arg(long)]
        datapoints_to_alarm: Option<u64>,
        /// The threshold.
        #[arg(long, default_value_t = 0.0)]
        threshold: f64,
        /// Compare with an anomaly detection band this many standard deviations wide either side
        /// of the value the metric's own history expects, instead of a threshold.
        #[arg(long, value_name = "WIDTH", conflicts_with_all = ["rule", "threshold"])]
        anomaly_band: Option<f64>,
        /// GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold or
        /// LessThanOrEqualToThreshold; with --anomaly-band LessThanLowerOrGreaterThanUpperThreshold,
        /// GreaterThanUpperThreshold or LessThanLowerThreshold [default: GreaterThanThreshold, with
        /// --anomaly-band LessThanLowerOrGreaterThanUpperThreshold].
        #[arg(long)]
        comparison: Option<String>,
        /// missing, notBreaching, breaching or ignore.
        #[arg(long, default_value = "missing")]
        missing: String,
        /// A topic notified on a transition to ALARM; repeat for more.
        #[arg(long = "alarm-action", value_name = "TOPIC_ARN")]
        alarm_actions: Vec<String>,
        /// A topic notified on a transition to OK; repeat for more.
        #[arg(long = "ok-action", value_name = "TOPIC_ARN")]
        ok_actions: Vec<String>,
        /// A topic notified on a transition to INSUFFICIENT_DATA; repeat for more.
        #[arg(long = "insufficient-data-action", value_name = "TOPIC_ARN")]
        insufficient_data_actions: Vec<String>,
    },
    /// List the alarms: NAME, STATE, UPDATED, REASON.
    List,
    /// Print the history of one alarm or of all, newest first.
    History {
        /// Only this alarm's.
        name: Option<String>,
    },
    /// Delete alarms.
    Delete {
        /// The alarms' names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// Reads `NAME=VALUE`.
fn pair(given: &str) -> Result<(String, String), String> {
    match given.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, not {given:?}")),
    }
}

/// Runs `weir alarms ...`.
pub fn alarms(args: AlarmsArgs) -> Result<bool> {
    let session = Session::new(&args.client, None);
    finish(run(&session, args.command))
}

fn run(session: &Session, command: AlarmCommand) -> Result<bool> {
    match command {
        AlarmCommand::Put {
            name,
            rule,
            metric,
            dimensions,
            namespace,
            statistic,
            period,
            evaluation_periods,
            datapoints_to_alarm,
            threshold,
            anomaly_band,
            comparison,
            missing,
            alarm_actions,
            ok_actions,
            insufficient_data_actions,
        } => {
            let mut request = json!({"alarmName": name, "alarmActions": alarm_actions,
                                     "okActions": ok_actions,
                                     "insufficientDataActions": insufficient_data_actions});
            let operation = if let Some(rule) = rule {
                request["alarmRule"] = json!(rule);
                "PutCompositeAlarm"
            } else {
                let dimensions: Vec<Value> = dimensions
                    .iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect();
                let comparison = comparison.unwrap_or_else(|| {
                    let default = match anomaly_band {
                        Some(_) => "LessThanLowerOrGreaterThanUpperThreshold",
                        None => "GreaterThanThreshold",
                    };
                    default.to_string()
                });
                for (member, value) in [
                    ("evaluationPeriods", json!(evaluation_periods)),
                    (
                        "datapointsToAlarm",
                        json!(datapoints_to_alarm.unwrap_or(evaluation_periods)),
                    ),
                    ("comparisonOperator", json!(comparison)),
                    ("treatMissingData", json!(missing)),
                ] {
                    request[member] = value;
                }
                match anomaly_band {
                    // CloudWatch's shape: the metric as `m1`, its band as `ad1`.
                    Some(width) => {
                        request["metrics"] = json!([
                            {"id": "m1", "returnData": true,
                             "metricStat": {"metric": {"metricName": metric,
                                                       "dimensions": dimensions},
                                            "period": period, "stat": statistic}},
                            {"id": "ad1", "expression": format!("ANOMALY_DETECTION_BAND(m1, {width})")},
                        ]);
                        request["thresholdMetricId"] = json!("ad1");
                        if let Some(namespace) = &namespace {
                            request["metrics"][0]["metricStat"]["metric"]["namespace"] =
                                json!(namespace);
                        }
                    }
                    None => {
                        for (member, value) in [
                            ("metricName", json!(metric)),
                            ("dimensions", json!(dimensions)),
                            ("statistic", json!(statistic)),
                            ("period", json!(period)),
                            ("threshold", json!(threshold)),
                        ] {
                            request[member] = value;
                        }
                        if let Some(namespace) = &namespace {
                            request["namespace"] = json!(namespace);
                        }
                    }
                }
                "PutMetricAlarm"
            };
            let answer = call(session, operation, request)?;
            if session.json {
                return print_json(&answer);
            }
            println!(
                "{} {}",
                text(&answer, "alarmArn"),
                text(&answer, "stateValue")
            );
            Ok(true)
        }
        AlarmCommand::List => {
            let answer = call(session, "DescribeAlarms", json!({}))?;
            if session.json {
                return print_json(&answer);
            }
            let rows: Vec<Vec<String>> = ["metricAlarms", "compositeAlarms"]
                .iter()
                .flat_map(|kind| answer[*kind].as_array().cloned().unwrap_or_default())
                .map(|a| {
                    vec![
                        text(&a, "alarmName"),
                        text(&a, "stateValue"),
                        time(&a, "stateUpdatedTimestamp"),
                        text(&a, "stateReason"),
                    ]
                })
                .collect();
            print!("{}", table(&["NAME", "STATE", "UPDATED", "REASON"], &rows));
            Ok(true)
        }
        AlarmCommand::History { name } => {
            let request = match name {
                Some(name) => json!({"alarmName": name}),
                None => json!({}),
            };
            let answer = call(session, "DescribeAlarmHistory", request)?;
            if session.json {
                return print_json(&answer);
            }
            let rows: Vec<Vec<String>> = answer["alarmHistoryItems"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| {
                    vec![
                        time(h, "timestamp"),
                        text(h, "alarmName"),
                        text(h, "historyItemType"),
                        text(h, "historySummary"),
                    ]
                })
                .collect();
            print!("{}", table(&["TIME", "ALARM", "TYPE", "SUMMARY"], &rows));
            Ok(true)
        }
        AlarmCommand::Delete { names } => {
            let answer = call(session, "DeleteAlarms", json!({"alarmNames": names}))?;
            if session.json {
                return print_json(&answer);
            }
            println!("deleted {}", names.join(" "));
            Ok(true)
        }
    }
}

fn call(session: &Session, operation: &str, input: Value) -> Result<Value> {
    Ok(session.client.call_weir(operation, &input)?)
}
