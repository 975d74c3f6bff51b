//! weir's alarms on its own metrics (see the engine's `alarms`), on the JSON 1.0 endpoint under
//! the target prefix `Weir.`, with CloudWatch's members in camelCase.
//!
//! | Operation | Request members | Answer |
//! | --- | --- | --- |
//! | `PutMetricAlarm` | `alarmName`, `metricName`, optional `dimensions` (`[{"name", "value"}]`), `statistic`, `period`, `evaluationPeriods`, optional `datapointsToAlarm` (default `evaluationPeriods`), `threshold`, `comparisonOperator`, optional `treatMissingData` (default `missing`), `alarmDescription`, `alarmActions`, `okActions`, `insufficientDataActions` (topic ARNs) | the alarm |
//! | `PutCompositeAlarm` | `alarmName`, `alarmRule`, optional `alarmDescription` and the three action lists | the alarm |
//! | `DescribeAlarms` | optional `alarmNames`, `alarmNamePrefix`, `stateValue` | `{"metricAlarms": [...], "compositeAlarms": [...]}` by name |
//! | `DescribeAlarmHistory` | optional `alarmName`, `historyItemType` | `{"alarmHistoryItems": [...]}`, newest first |
//! | `DeleteAlarms` | `alarmNames` | `{}` |
//!
//! An alarm: `alarmName`, `alarmArn`, its definition's members, `stateValue`, `stateReason`,
//! `stateUpdatedTimestamp` and `alarmConfigurationUpdatedTimestamp` (epoch seconds). Errors:
//! `ValidationError` for a value weir refuses, `ResourceNotFound` for an alarm that does not
//! exist, `ValidationException` for a missing member.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{epoch, optional, optional_int, required, string_list, wrong_type};
use engine::alarms::{
    Actions, AlarmKind, AlarmRecord, AlarmState, Comparison, MetricAlarm, MissingData, NewAlarm,
    Statistic,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The operations this module answers.
const OPERATIONS: [&str; 8] = [
    "PutMetricAlarm",
    "PutCompositeAlarm",
    "DescribeAlarms",
    "DescribeAlarmHistory",
    "DeleteAlarms",
    "PutDeadlineAlert",
    "DescribeDeadlineAlerts",
    "DeleteDeadlineAlert",
];

/// Whether `operation` (after `Weir.`) is one of the alarm operations.
pub fn handles(operation: &str) -> bool {
    OPERATIONS.contains(&operation)
}

fn invalid(message: String) -> ApiError {
    ApiError::new("ValidationError", message)
}

/// `member`, one of `names`.
fn choice<T>(
    input: &Value,
    member: &str,
    default: Option<&str>,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, ApiError> {
    let given = match (optional(input, member)?, default) {
        (Some(given), _) => given,
        (None, Some(default)) => default,
        (None, None) => required(input, member)?,
    };
    parse(given).ok_or_else(|| {
        invalid(format!(
            "{member} must be one of {}, not {given}",
            names.join(", ")
        ))
    })
}

fn positive(input: &Value, member: &str) -> Result<Option<u64>, ApiError> {
    match optional_int(input, member)? {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(n as u64)),
        Some(n) => Err(invalid(format!("{member} must be at least 1, not {n}"))),
    }
}

fn actions(input: &Value) -> Result<Actions, ApiError> {
    Ok(Actions {
        alarm: string_list(input, "alarmActions")?.unwrap_or_default(),
        ok: string_list(input, "okActions")?.unwrap_or_default(),
        insufficient_data: string_list(input, "insufficientDataActions")?.unwrap_or_default(),
    })
}

fn dimensions(input: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    let member = "dimensions";
    let items = match input.get(member) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type(member, "a list", other)),
    };
    items
        .iter()
        .map(|d| match (d["name"].as_str(), d["value"].as_str()) {
            (Some(name), Some(value)) => Ok((name.to_string(), value.to_string())),
            _ => Err(wrong_type(
                member,
                "a list of {\"name\", \"value\"} strings",
                d,
            )),
        })
        .collect()
}

/// Runs one alarm operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let engine = &api.engine;
    match operation {
        "PutMetricAlarm" | "PutCompositeAlarm" => {
            let kind = if operation == "PutCompositeAlarm" {
                AlarmKind::Composite(required(input, "alarmRule")?.to_string())
            } else {
                let evaluation_periods = positive(input, "evaluationPeriods")?
                    .ok_or_else(|| invalid("evaluationPeriods is required".into()))?;
                let threshold = match input.get("threshold") {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or_default(),
                    None | Some(Value::Null) => {
                        return Err(invalid("threshold is required".into()));
                    }
                    Some(other) => return Err(wrong_type("threshold", "a number", other)),
                };
                AlarmKind::Metric(MetricAlarm {
                    metric_name: required(input, "metricName")?.to_string(),
                    dimensions: dimensions(input)?,
                    statistic: choice(
                        input,
                        "statistic",
                        None,
                        &Statistic::NAMES,
                        Statistic::parse,
                    )?,
                    period: positive(input, "period")?
                        .ok_or_else(|| invalid("period is required".into()))?,
                    evaluation_periods: evaluation_periods as usize,
                    datapoints_to_alarm: positive(input, "datapointsToAlarm")?
                        .unwrap_or(evaluation_periods)
                        as usize,
                    threshold,
                    comparison: choice(
                        input,
                        "comparisonOperator",
                        None,
                        &Comparison::NAMES,
                        Comparison::parse,
                    )?,
                    treat_missing_data: choice(
                        input,
                        "treatMissingData",
                        Some("missing"),
                        &MissingData::NAMES,
                        MissingData::parse,
                    )?,
                })
            };
            let record = engine
                .put_alarm(NewAlarm {
                    name: required(input, "alarmName")?.to_string(),
                    description: optional(input, "alarmDescription")?
                        .unwrap_or_default()
                        .to_string(),
                    kind,
                    actions: actions(input)?,
                })
                .await?;
            Ok(alarm_json(&record))
        }
        "DescribeAlarms" => {
            let names = string_list(input, "alarmNames")?;
            let prefix = optional(input, "alarmNamePrefix")?.unwrap_or_default();
            let state = match optional(input, "stateValue")? {
                Some(s) => Some(
                    AlarmState::parse(s)
                        .ok_or_else(|| invalid(format!("stateValue {s} is not a state")))?,
                ),
                None => None,
            };
            let (mut metric, mut composite) = (Vec::new(), Vec::new());
            for record in engine.list_alarms(prefix).await? {
                if names
                    .as_ref()
                    .is_some_and(|n| !n.contains(&record.alarm.name))
                    || state.is_some_and(|s| s != record.state)
                {
                    continue;
                }
                match record.alarm.kind {
                    AlarmKind::Metric(_) => metric.push(alarm_json(&record)),
                    AlarmKind::Composite(_) => composite.push(alarm_json(&record)),
                }
            }
            Ok(json!({"metricAlarms": metric, "compositeAlarms": composite}))
        }
        "DescribeAlarmHistory" => {
            let kind = optional(input, "historyItemType")?;
            let records = match optional(input, "alarmName")? {
                Some(name) => vec![engine.get_alarm(name).await?],
                None => engine.list_alarms("").await?,
            };
            let mut items: Vec<(jiff::Timestamp, Value)> = records
                .iter()
                .flat_map(|r| {
                    r.history
                        .iter()
                        .rev()
                        .filter(|h| kind.is_none_or(|k| k == h.item_type))
                        .map(|h| {
                            let kind = match r.alarm.kind {
                                AlarmKind::Metric(_) => "MetricAlarm",
                                AlarmKind::Composite(_) => "CompositeAlarm",
                            };
                            (
                                h.timestamp,
                                json!({"alarmName": r.alarm.name, "alarmType": kind,
                                       "timestamp": epoch(h.timestamp),
                                       "historyItemType": h.item_type,
                                       "historySummary": h.summary, "historyData": h.data}),
                            )
                        })
                })
                .collect();
            items.sort_by_key(|item| std::cmp::Reverse(item.0));
            let items: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
            Ok(json!({ "alarmHistoryItems": items }))
        }
        "DeleteAlarms" => {
            let names = string_list(input, "alarmNames")?
                .ok_or_else(|| invalid("alarmNames is required".into()))?;
            engine.delete_alarms(&names).await?;
            Ok(json!({}))
        }
        "PutDeadlineAlert" => {
            let after = match input.get("afterSeconds") {
                Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                    invalid("afterSeconds must be a whole number of seconds".into())
                })?,
                None | Some(Value::Null) => return Err(invalid("afterSeconds is required".into())),
                Some(other) => return Err(wrong_type("afterSeconds", "a number", other)),
            };
            let alert = engine::alarms::deadlines::DeadlineAlert {
                name: required(input, "alertName")?.to_string(),
                state_machine_arn: required(input, "stateMachineArn")?.to_string(),
                after_seconds: after,
                actions: string_list(input, "actions")?.unwrap_or_default(),
            };
            engine.put_deadline_alert(&alert).await?;
            Ok(json!({}))
        }
        "DescribeDeadlineAlerts" => {
            let alerts: Vec<Value> = engine
                .deadline_alerts()
                .await?
                .into_iter()
                .map(|a| {
                    json!({"alertName": a.name, "stateMachineArn": a.state_machine_arn,
                           "afterSeconds": a.after_seconds, "actions": a.actions})
                })
                .collect();
            Ok(json!({ "deadlineAlerts": alerts }))
        }
        "DeleteDeadlineAlert" => {
            let name = required(input, "alertName")?;
            if !engine.delete_deadline_alert(name).await? {
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("No deadline alert is named {name}"),
                ));
            }
            Ok(json!({}))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: Weir.{other}"),
        )),
    }
}

fn alarm_json(record: &AlarmRecord) -> Value {
    let alarm = &record.alarm;
    let mut out = json!({
        "alarmName": alarm.name,
        "alarmArn": record.arn,
        "alarmDescription": alarm.description,
        "alarmActions": alarm.actions.alarm,
        "okActions": alarm.actions.ok,
        "insufficientDataActions": alarm.actions.insufficient_data,
        "stateValue": record.state.as_str(),
        "stateReason": record.reason,
        "stateUpdatedTimestamp": epoch(record.state_updated),
        "alarmConfigurationUpdatedTimestamp": epoch(record.updated),
    });
    match &alarm.kind {
        AlarmKind::Metric(m) => {
            let dimensions: Vec<Value> = m
                .dimensions
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            for (key, value) in [
                ("metricName", json!(m.metric_name)),
                ("dimensions", json!(dimensions)),
                ("statistic", json!(m.statistic.as_str())),
                ("period", json!(m.period)),
                ("evaluationPeriods", json!(m.evaluation_periods)),
                ("datapointsToAlarm", json!(m.datapoints_to_alarm)),
                ("threshold", json!(m.threshold)),
                ("comparisonOperator", json!(m.comparison.as_str())),
                ("treatMissingData", json!(m.treat_missing_data.as_str())),
            ] {
                out[key] = value;
            }
        }
        AlarmKind::Composite(rule) => out["alarmRule"] = json!(rule),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use engine::{Engine, Handlers, ManualClock, Options};
    use std::sync::Arc;
    use tower::ServiceExt;

    async fn call(api: &Api, operation: &str, input: Value) -> (u16, Value) {
        let request = Request::post("/")
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("Weir.{operation}"))
            .body(Body::from(input.to_string()))
            .expect("a request");
        let response = crate::router(api.clone())
            .oneshot(request)
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn alarms_are_put_described_and_deleted() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Arc::new(
            store_sqlite::SqliteStore::open(
                &dir.path().join("weir.db"),
                store_sqlite::Options::default(),
            )
            .expect("a store"),
        );
        let clock = Arc::new(ManualClock::new(
            "2026-01-01T00:00:00Z".parse().expect("a timestamp"),
        ));
        let engine = Engine::start(store, clock, Arc::new(Handlers::new()), Options::default())
            .await
            .expect("the engine starts");
        let api = Api {
            engine,
            functions: Arc::new(::functions::Registry::new()),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            keys: None,
        };
        let (status, answer) = call(
            &api,
            "PutMetricAlarm",
            json!({"alarmName": "failures", "metricName": "weir_executions_ended_total",
                   "dimensions": [{"name": "status", "value": "FAILED"}],
                   "statistic": "Sum", "period": 60, "evaluationPeriods": 3,
                   "datapointsToAlarm": 2, "threshold": 1,
                   "comparisonOperator": "GreaterThanOrEqualToThreshold",
                   "treatMissingData": "notBreaching"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["stateValue"], "INSUFFICIENT_DATA");
        assert_eq!(
            answer["alarmArn"],
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:failures"
        );
        let (status, answer) = call(
            &api,
            "PutCompositeAlarm",
            json!({"alarmName": "both", "alarmRule": "ALARM(failures) AND NOT OK(\"nope\")"}),
        )
        .await;
        assert_eq!(
            (status, &answer["__type"]),
            (400, &json!("ValidationError"))
        );
        let (status, answer) = call(
            &api,
            "PutCompositeAlarm",
            json!({"alarmName": "both", "alarmRule": "ALARM(failures) OR FALSE"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        for (input, code) in [
            (
                json!({"alarmName": "h", "metricName": "weir_task_duration_seconds",
                       "statistic": "Sum", "period": 60, "evaluationPeriods": 1,
                       "threshold": 1, "comparisonOperator": "LessThanThreshold"}),
                "ValidationError",
            ),
            (
                json!({"alarmName": "s", "metricName": "weir_queue_messages",
                       "statistic": "Median", "period": 60, "evaluationPeriods": 1,
                       "threshold": 1, "comparisonOperator": "LessThanThreshold"}),
                "ValidationError",
            ),
        ] {
            let (status, answer) = call(&api, "PutMetricAlarm", input).await;
            assert_eq!((status, &answer["__type"]), (400, &json!(code)), "{answer}");
        }
        let (_, answer) = call(&api, "DescribeAlarms", json!({})).await;
        assert_eq!(answer["metricAlarms"][0]["alarmName"], "failures");
        assert_eq!(answer["metricAlarms"][0]["datapointsToAlarm"], 2);
        assert_eq!(
            answer["compositeAlarms"][0]["alarmRule"],
            "ALARM(failures) OR FALSE"
        );
        let (_, answer) = call(&api, "DescribeAlarmHistory", json!({"alarmName": "both"})).await;
        assert_eq!(
            answer["alarmHistoryItems"][0]["historySummary"],
            "Alarm \"both\" created"
        );
        let (status, _) = call(&api, "DeleteAlarms", json!({"alarmNames": ["both"]})).await;
        assert_eq!(status, 200);
        let (status, answer) = call(&api, "DeleteAlarms", json!({"alarmNames": ["both"]})).await;
        assert_eq!(
            (status, &answer["__type"]),
            (400, &json!("ResourceNotFound"))
        );

        // Deadline alerts: a machine that exists, a number of seconds, topics that exist.
        let machine = api
            .engine
            .create_state_machine(engine::NewStateMachine {
                name: "nightly".into(),
                definition: json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
                    .to_string(),
                express: false,
                role_arn: String::new(),
            })
            .await
            .expect("a machine")
            .arn;
        let (status, answer) = call(
            &api,
            "PutDeadlineAlert",
            json!({"alertName": "late", "stateMachineArn": machine, "afterSeconds": 600}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let (status, answer) = call(
            &api,
            "PutDeadlineAlert",
            json!({"alertName": "late", "stateMachineArn": machine}),
        )
        .await;
        assert_eq!(
            (status, &answer["__type"]),
            (400, &json!("ValidationError"))
        );
        let (_, answer) = call(&api, "DescribeDeadlineAlerts", json!({})).await;
        assert_eq!(answer["deadlineAlerts"][0]["afterSeconds"], 600);
        let (status, _) = call(&api, "DeleteDeadlineAlert", json!({"alertName": "late"})).await;
        assert_eq!(status, 200);
        let (status, answer) =
            call(&api, "DeleteDeadlineAlert", json!({"alertName": "late"})).await;
        assert_eq!(
            (status, &answer["__type"]),
            (400, &json!("ResourceNotFound"))
        );
    }
}
