//! weir's alarms on its own metrics (see the engine's `alarms`), on the JSON 1.0 endpoint under
//! the target prefix `Weir.`, with CloudWatch's members in camelCase.
//!
//! | Operation | Request members | Answer |
//! | --- | --- | --- |
//! | `PutMetricAlarm` | `alarmName`, `metricName` (one of weir's metrics, or with `namespace` a custom metric reported under that namespace: `weir_custom_NAME{namespace=...}`), optional `dimensions` (`[{"name", "value"}]`), `statistic`, `period`, `evaluationPeriods`, optional `datapointsToAlarm` (default `evaluationPeriods`), `threshold`, `comparisonOperator`, optional `treatMissingData` (default `missing`), `alarmDescription`, `alarmActions`, `okActions`, `insufficientDataActions` (topic ARNs); an anomaly detection alarm has `metrics` and `thresholdMetricId` instead of the metric's members and `threshold` (below) | the alarm |
//! | `PutCompositeAlarm` | `alarmName`, `alarmRule`, optional `alarmDescription` and the three action lists | the alarm |
//! | `DescribeAlarms` | optional `alarmNames`, `alarmNamePrefix`, `stateValue` | `{"metricAlarms": [...], "compositeAlarms": [...]}` by name |
//! | `DescribeAlarmHistory` | optional `alarmName`, `historyItemType` | `{"alarmHistoryItems": [...]}`, newest first |
//! | `DeleteAlarms` | `alarmNames` | `{}` |
//!
//! An anomaly detection alarm takes CloudWatch's shape: `metrics` is one metric,
//! `{"id": "m1", "metricStat": {"metric": {"metricName", "dimensions"}, "period", "stat"},
//! "returnData": true}`, and its band, `{"id": "ad1", "expression":
//! "ANOMALY_DETECTION_BAND(m1, 2)"}` (the width defaults to 2); `thresholdMetricId` is the band's
//! id and `comparisonOperator` one of `LessThanLowerOrGreaterThanUpperThreshold`,
//! `GreaterThanUpperThreshold` and `LessThanLowerThreshold`. No other metric math.
//!
//! An alarm: `alarmName`, `alarmArn`, its definition's members, `stateValue`, `stateReason`,
//! `stateUpdatedTimestamp` and `alarmConfigurationUpdatedTimestamp` (epoch seconds); an anomaly
//! detection alarm also has `weirAnomalyBand`, `{"lower", "upper"}` now, once its model has
//! warmed up (see the engine's `alarms::anomaly`). Errors:
//! `ValidationError` for a value weir refuses, `ResourceNotFound` for an alarm that does not
//! exist, `ValidationException` for a missing member.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{dimensions, epoch, optional, optional_int, required, string_list, wrong_type};
use engine::alarms::{
    Actions, AlarmKind, AlarmRecord, AlarmState, AnomalyBand, Comparison, MetricAlarm, MissingData,
    NewAlarm, Statistic,
};
use serde_json::{Value, json};

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

/// `evaluationPeriods` (N), which every metric alarm needs.
fn evaluation_periods(input: &Value) -> Result<u64, ApiError> {
    positive(input, "evaluationPeriods")?
        .ok_or_else(|| invalid("evaluationPeriods is required".into()))
}

/// `datapointsToAlarm` (M, default N) and `treatMissingData` (default `missing`).
fn datapoints_and_missing(
    input: &Value,
    evaluation_periods: u64,
) -> Result<(usize, MissingData), ApiError> {
    let m = positive(input, "datapointsToAlarm")?.unwrap_or(evaluation_periods);
    let treat = choice(
        input,
        "treatMissingData",
        Some("missing"),
        &MissingData::NAMES,
        MissingData::parse,
    )?;
    Ok((m as usize, treat))
}

fn actions(input: &Value) -> Result<Actions, ApiError> {
    Ok(Actions {
        alarm: string_list(input, "alarmActions")?.unwrap_or_default(),
        ok: string_list(input, "okActions")?.unwrap_or_default(),
        insufficient_data: string_list(input, "insufficientDataActions")?.unwrap_or_default(),
    })
}

/// The `dimensions` of `input`, named `member` in messages.
/// Runs one alarm operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let engine = &api.engine;
    match operation {
        "PutMetricAlarm" | "PutCompositeAlarm" => {
            let kind = if operation == "PutCompositeAlarm" {
                AlarmKind::Composite(required(input, "alarmRule")?.to_string())
            } else if !matches!(input.get("metrics"), None | Some(Value::Null)) {
                anomaly_alarm(input)?
            } else {
                let evaluation_periods = evaluation_periods(input)?;
                if let Some(id) = optional(input, "thresholdMetricId")? {
                    return Err(invalid(format!(
                        "thresholdMetricId {id} names an ANOMALY_DETECTION_BAND expression of \
                         metrics, which is missing"
                    )));
                }
                let comparison = choice(
                    input,
                    "comparisonOperator",
                    None,
                    &Comparison::NAMES,
                    Comparison::parse,
                )?;
                if comparison.is_band() {
                    return Err(invalid(format!(
                        "comparisonOperator {} compares with an anomaly detection band: give \
                         metrics with an ANOMALY_DETECTION_BAND expression and thresholdMetricId",
                        comparison.as_str()
                    )));
                }
                let threshold = match input.get("threshold") {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or_default(),
                    None | Some(Value::Null) => {
                        return Err(invalid("threshold is required".into()));
                    }
                    Some(other) => return Err(wrong_type("threshold", "a number", other)),
                };
                let (metric_name, dimensions) = metric_of(input, "")?;
                let statistic = choice(
                    input,
                    "statistic",
                    None,
                    &Statistic::NAMES,
                    Statistic::parse,
                )?;
                let period = positive(input, "period")?
                    .ok_or_else(|| invalid("period is required".into()))?;
                let (datapoints_to_alarm, treat_missing_data) =
                    datapoints_and_missing(input, evaluation_periods)?;
                AlarmKind::Metric(MetricAlarm {
                    metric_name,
                    dimensions,
                    statistic,
                    period,
                    evaluation_periods: evaluation_periods as usize,
                    datapoints_to_alarm,
                    threshold,
                    comparison,
                    treat_missing_data,
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
                    AlarmKind::Metric(_) | AlarmKind::Anomaly(..) => {
                        metric.push(alarm_json(&record));
                    }
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
                                AlarmKind::Metric(_) | AlarmKind::Anomaly(..) => "MetricAlarm",
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

/// Whether `id` is a metric id as CloudWatch has them: a lowercase letter, then letters, digits
/// and underscores.
fn is_metric_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The metric id and width of `ANOMALY_DETECTION_BAND(ID)` or `ANOMALY_DETECTION_BAND(ID, WIDTH)`
/// (the width defaults to 2, as CloudWatch's does).
fn band_expression(text: &str) -> Option<(&str, Option<&str>)> {
    let args = text
        .trim()
        .strip_prefix("ANOMALY_DETECTION_BAND")?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    match args.split_once(',') {
        Some((id, width)) => Some((id.trim(), Some(width.trim()))),
        None => Some((args.trim(), None)),
    }
}

/// An anomaly detection alarm from CloudWatch's `metrics` and `thresholdMetricId` (see the
/// module docs), every refusal naming the member at fault.
fn anomaly_alarm(input: &Value) -> Result<AlarmKind, ApiError> {
    for member in ["metricName", "dimensions", "statistic", "period"] {
        if !matches!(input.get(member), None | Some(Value::Null)) {
            return Err(invalid(format!(
                "{member} must not be given with metrics: the metric is metrics[].metricStat"
            )));
        }
    }
    if !matches!(input.get("threshold"), None | Some(Value::Null)) {
        return Err(invalid(
            "threshold must not be given with metrics: the threshold is the \
             ANOMALY_DETECTION_BAND named by thresholdMetricId"
                .into(),
        ));
    }
    let comparison = choice(
        input,
        "comparisonOperator",
        None,
        &Comparison::NAMES,
        Comparison::parse,
    )?;
    let Some(band_id) = optional(input, "thresholdMetricId")? else {
        return Err(invalid(format!(
            "thresholdMetricId is required with metrics: it names the ANOMALY_DETECTION_BAND \
             expression {} compares the metric with",
            comparison.as_str()
        )));
    };
    if !comparison.is_band() {
        return Err(invalid(format!(
            "comparisonOperator {} compares with threshold; an anomaly detection alarm uses \
             LessThanLowerOrGreaterThanUpperThreshold, GreaterThanUpperThreshold or \
             LessThanLowerThreshold",
            comparison.as_str()
        )));
    }
    let queries = match input.get("metrics") {
        Some(Value::Array(queries)) => queries,
        Some(other) => return Err(wrong_type("metrics", "a list of metric queries", other)),
        None => return Err(invalid("metrics is required".into())),
    };
    if !queries.iter().any(|q| q["id"].as_str() == Some(band_id)) {
        return Err(invalid(format!(
            "thresholdMetricId {band_id} is not the id of any of metrics"
        )));
    }
    let mut ids: Vec<&str> = Vec::new();
    let mut stat = None;
    let mut band = None;
    for (i, query) in queries.iter().enumerate() {
        if !query.is_object() {
            return Err(wrong_type(
                &format!("metrics[{i}]"),
                "a metric query",
                query,
            ));
        }
        let Some(id) = optional(query, "id")? else {
            return Err(invalid(format!("metrics[{i}].id is required")));
        };
        if !is_metric_id(id) {
            return Err(invalid(format!(
                "metrics[{i}].id {id} must start with a lowercase letter and hold only letters, \
                 digits and underscores"
            )));
        }
        if ids.contains(&id) {
            return Err(invalid(format!("metrics[{i}].id {id} is given twice")));
        }
        ids.push(id);
        let given = |member: &str| !matches!(query.get(member), None | Some(Value::Null));
        match (given("metricStat"), optional(query, "expression")?) {
            (true, None) if id == band_id => {
                return Err(invalid(format!(
                    "thresholdMetricId {band_id} names a metricStat; it must name an \
                     ANOMALY_DETECTION_BAND expression"
                )));
            }
            (true, None) if stat.is_some() => {
                return Err(invalid(format!(
                    "metrics[{i}] ({id}) is a second metricStat: an alarm watches one metric"
                )));
            }
            (true, None) => stat = Some((i, id, &query["metricStat"])),
            (false, Some(expression)) if id == band_id => band = Some((i, expression)),
            (false, Some(_)) => {
                return Err(invalid(format!(
                    "metrics[{i}] ({id}): weir's only metric math is the ANOMALY_DETECTION_BAND \
                     named by thresholdMetricId ({band_id})"
                )));
            }
            _ => {
                return Err(invalid(format!(
                    "metrics[{i}] ({id}) needs one of metricStat and expression"
                )));
            }
        }
    }
    let Some((s, metric_id, metric_stat)) = stat else {
        return Err(invalid(
            "metrics has no metricStat: an anomaly detection alarm watches one metric".into(),
        ));
    };
    let Some((b, expression)) = band else {
        return Err(invalid(format!(
            "thresholdMetricId {band_id} names no ANOMALY_DETECTION_BAND expression"
        )));
    };
    let Some((of, width)) = band_expression(expression) else {
        return Err(invalid(format!(
            "metrics[{b}].expression must be ANOMALY_DETECTION_BAND({metric_id}, WIDTH), not \
             {expression}"
        )));
    };
    if of != metric_id {
        return Err(invalid(format!(
            "metrics[{b}].expression: ANOMALY_DETECTION_BAND of {of}, which is not the id of the \
             metricStat ({metric_id})"
        )));
    }
    let width = match width.map(str::parse::<f64>) {
        None => 2.0,
        Some(Ok(w)) if w.is_finite() && w > 0.0 => w,
        _ => {
            return Err(invalid(format!(
                "metrics[{b}].expression: the band's width must be a positive number, in {expression}"
            )));
        }
    };
    let at = format!("metrics[{s}].metricStat");
    if !metric_stat.is_object() {
        return Err(wrong_type(&at, "a metricStat", metric_stat));
    }
    let metric = &metric_stat["metric"];
    if metric["metricName"].as_str().is_none() {
        return Err(invalid(format!("{at}.metric.metricName is required")));
    }
    let (metric_name, dimensions) = metric_of(metric, &format!("{at}.metric."))?;
    let statistic = match metric_stat["stat"].as_str() {
        Some(name) => Statistic::parse(name).ok_or_else(|| {
            invalid(format!(
                "{at}.stat must be one of {}, not {name}",
                Statistic::NAMES.join(", ")
            ))
        })?,
        None => return Err(invalid(format!("{at}.stat is required"))),
    };
    let period = match metric_stat["period"].as_u64() {
        Some(p) if p >= 1 => p,
        _ => {
            return Err(invalid(format!(
                "{at}.period is required: a whole number of seconds, at least 1"
            )));
        }
    };
    let evaluation_periods = evaluation_periods(input)?;
    let (datapoints_to_alarm, treat_missing_data) =
        datapoints_and_missing(input, evaluation_periods)?;
    Ok(AlarmKind::Anomaly(
        MetricAlarm {
            metric_name,
            dimensions,
            statistic,
            period,
            evaluation_periods: evaluation_periods as usize,
            datapoints_to_alarm,
            threshold: 0.0,
            comparison,
            treat_missing_data,
        },
        AnomalyBand {
            width,
            metric_id: metric_id.to_string(),
            band_id: band_id.to_string(),
        },
    ))
}

/// The metric and dimensions a CloudWatch-style reference names (`at` prefixes member names in
/// errors): `metricName` alone is one of weir's own metrics (`weir_queue_messages`); with a
/// `namespace`, the custom metric `NAME` reported under it (family `weir_custom_NAME`, label
/// `namespace`). `AWS/...` namespaces are refused: weir publishes none of AWS's metrics.
fn metric_of(
    input: &Value,
    at: &str,
) -> Result<(String, std::collections::BTreeMap<String, String>), ApiError> {
    let name = required(input, "metricName")?;
    let mut dimensions = dimensions(input, &format!("{at}dimensions"))?;
    let Some(namespace) = optional(input, "namespace")? else {
        return Ok((name.to_string(), dimensions));
    };
    if namespace.starts_with("AWS/") {
        return Err(invalid(format!(
            "{at}namespace {namespace}: weir publishes none of AWS's metrics; watch weir's own \
             (GET /metrics lists them, without a namespace) or a custom metric's namespace"
        )));
    }
    if dimensions.contains_key("namespace") {
        return Err(invalid(format!(
            "{at}dimensions: a dimension named namespace cannot go with the namespace member"
        )));
    }
    dimensions.insert("namespace".to_string(), namespace.to_string());
    let custom = engine::metrics::custom::prometheus_name(name);
    Ok((format!("weir_custom_{custom}"), dimensions))
}

/// The `namespace`, `metricName` and `dimensions` members of an alarm's metric: a custom metric
/// with a `namespace` label shows as CloudWatch names it, weir's own metrics by their names.
fn metric_members(m: &MetricAlarm) -> (Option<String>, String, Vec<Value>) {
    let mut dimensions = m.dimensions.clone();
    let custom = m
        .metric_name
        .strip_prefix("weir_custom_")
        .map(|n| n.strip_suffix("_total").unwrap_or(n));
    let (namespace, name) = match (custom, dimensions.remove("namespace")) {
        (Some(name), Some(namespace)) => (Some(namespace), name.to_string()),
        (_, namespace) => {
            if let Some(namespace) = namespace {
                dimensions.insert("namespace".to_string(), namespace);
            }
            (None, m.metric_name.clone())
        }
    };
    let dimensions = dimensions
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    (namespace, name, dimensions)
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
            let (namespace, metric_name, dimensions) = metric_members(m);
            if let Some(namespace) = namespace {
                out["namespace"] = json!(namespace);
            }
            for (key, value) in [
                ("metricName", json!(metric_name)),
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
        AlarmKind::Anomaly(m, band) => {
            let (namespace, metric_name, dimensions) = metric_members(m);
            let mut metric = json!({"metricName": metric_name, "dimensions": dimensions});
            if let Some(namespace) = namespace {
                metric["namespace"] = json!(namespace);
            }
            let metrics = json!([
                {"id": band.metric_id, "returnData": true,
                 "metricStat": {"metric": metric,
                                "period": m.period, "stat": m.statistic.as_str()}},
                {"id": band.band_id, "returnData": true,
                 "expression": format!("ANOMALY_DETECTION_BAND({}, {})", band.metric_id, band.width),
                 "label": format!("{} (expected)", m.metric_name)},
            ]);
            for (key, value) in [
                ("metrics", metrics),
                ("thresholdMetricId", json!(band.band_id)),
                ("evaluationPeriods", json!(m.evaluation_periods)),
                ("datapointsToAlarm", json!(m.datapoints_to_alarm)),
                ("comparisonOperator", json!(m.comparison.as_str())),
                ("treatMissingData", json!(m.treat_missing_data.as_str())),
            ] {
                out[key] = value;
            }
            if let Some(now) = record.band {
                out["weirAnomalyBand"] = json!({"lower": now.lower, "upper": now.upper});
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

    /// An API on a fresh SQLite store in `dir` and a manual clock.
    async fn api_in(dir: &tempfile::TempDir) -> Api {
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
        Api {
            engine,
            functions: Arc::new(::functions::Registry::new()),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            keys: None,
        }
    }

    fn anomaly_input() -> Value {
        json!({"alarmName": "traffic", "evaluationPeriods": 3, "datapointsToAlarm": 2,
               "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
               "thresholdMetricId": "ad1",
               "metrics": [
                   {"id": "m1", "returnData": true,
                    "metricStat": {"metric": {"metricName": "weir_queue_events_total",
                                              "dimensions": [{"name": "event", "value": "sent"}]},
                                   "period": 300, "stat": "Sum"}},
                   {"id": "ad1", "expression": "ANOMALY_DETECTION_BAND(m1, 2)"}]})
    }

    #[tokio::test]
    async fn anomaly_alarms_take_and_give_cloudwatchs_shape() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let api = api_in(&dir).await;
        let (status, answer) = call(&api, "PutMetricAlarm", anomaly_input()).await;
        assert_eq!(status, 200, "{answer}");
        let (_, answer) = call(&api, "DescribeAlarms", json!({})).await;
        let alarm = &answer["metricAlarms"][0];
        assert_eq!(alarm["thresholdMetricId"], "ad1");
        assert_eq!(
            alarm["metrics"][0],
            json!({"id": "m1", "returnData": true,
                   "metricStat": {"metric": {"metricName": "weir_queue_events_total",
                                             "dimensions": [{"name": "event", "value": "sent"}]},
                                  "period": 300, "stat": "Sum"}})
        );
        assert_eq!(alarm["metrics"][1]["id"], "ad1");
        assert_eq!(
            alarm["metrics"][1]["expression"],
            "ANOMALY_DETECTION_BAND(m1, 2)"
        );
        assert_eq!(
            alarm["comparisonOperator"],
            "LessThanLowerOrGreaterThanUpperThreshold"
        );
        assert_eq!(alarm["datapointsToAlarm"], 2);
        assert_eq!(alarm["stateValue"], "INSUFFICIENT_DATA");
        assert!(alarm.get("threshold").is_none() && alarm.get("metricName").is_none());
        // No band before the model has learned a day of datapoints.
        assert!(alarm.get("weirAnomalyBand").is_none(), "{alarm}");
        // The width defaults to 2; the shape given back is the shape that was put.
        let mut input = anomaly_input();
        input["metrics"][1]["expression"] = json!("ANOMALY_DETECTION_BAND(m1)");
        let (status, answer) = call(&api, "PutMetricAlarm", input).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["metrics"][1]["expression"],
            "ANOMALY_DETECTION_BAND(m1, 2)"
        );

        let refused = |change: fn(&mut Value)| {
            let mut input = anomaly_input();
            change(&mut input);
            input
        };
        let cases: [(Value, &str); 12] = [
            (
                refused(|i| i["metrics"][1]["expression"] = json!("ANOMALY_DETECTION_BAND(m2, 2)")),
                "metrics[1].expression: ANOMALY_DETECTION_BAND of m2, which is not the id of the \
                 metricStat (m1)",
            ),
            (
                refused(|i| i["metrics"][1]["expression"] = json!("m1 * 2")),
                "metrics[1].expression must be ANOMALY_DETECTION_BAND(m1, WIDTH), not m1 * 2",
            ),
            (
                refused(|i| {
                    i["metrics"][1]["expression"] = json!("ANOMALY_DETECTION_BAND(m1, -1)")
                }),
                "metrics[1].expression: the band's width must be a positive number",
            ),
            (
                refused(|i| i["thresholdMetricId"] = json!("ad2")),
                "thresholdMetricId ad2 is not the id of any of metrics",
            ),
            (
                refused(|i| i["thresholdMetricId"] = json!("m1")),
                "thresholdMetricId m1 names a metricStat; it must name an ANOMALY_DETECTION_BAND \
                 expression",
            ),
            (
                refused(|i| {
                    i.as_object_mut().map(|o| o.remove("thresholdMetricId"));
                }),
                "thresholdMetricId is required with metrics",
            ),
            (
                refused(|i| i["threshold"] = json!(5)),
                "threshold must not be given with metrics",
            ),
            (
                refused(|i| i["comparisonOperator"] = json!("GreaterThanThreshold")),
                "comparisonOperator GreaterThanThreshold compares with threshold",
            ),
            (
                refused(|i| i["metrics"][0]["id"] = json!("M1")),
                "metrics[0].id M1 must start with a lowercase letter",
            ),
            (
                refused(|i| i["metrics"][0]["metricStat"]["stat"] = json!("p99")),
                "metrics[0].metricStat.stat must be one of",
            ),
            (
                refused(|i| i["metricName"] = json!("weir_queue_messages")),
                "metricName must not be given with metrics",
            ),
            (
                json!({"alarmName": "t", "metricName": "weir_queue_messages",
                       "statistic": "Sum", "period": 60, "evaluationPeriods": 1,
                       "comparisonOperator": "GreaterThanUpperThreshold"}),
                "comparisonOperator GreaterThanUpperThreshold compares with an anomaly detection \
                 band: give metrics",
            ),
        ];
        for (input, message) in cases {
            let (status, answer) = call(&api, "PutMetricAlarm", input).await;
            assert_eq!(
                (status, &answer["__type"]),
                (400, &json!("ValidationError")),
                "{answer}"
            );
            let got = answer["message"].as_str().unwrap_or_default();
            assert!(got.contains(message), "{got}");
        }
    }

    #[tokio::test]
    async fn a_namespace_names_a_custom_metric_as_cloudwatch_does() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let api = api_in(&dir).await;
        let put = json!({"alarmName": "rejects", "namespace": "orders",
                         "metricName": "RecordsRejected",
                         "dimensions": [{"name": "stage", "value": "validate"}],
                         "statistic": "Sum", "period": 60, "evaluationPeriods": 1,
                         "threshold": 5, "comparisonOperator": "GreaterThanOrEqualToThreshold"});
        let (status, answer) = call(&api, "PutMetricAlarm", put.clone()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["namespace"], "orders");
        assert_eq!(answer["metricName"], "RecordsRejected");
        assert_eq!(
            answer["dimensions"],
            json!([{"name": "stage", "value": "validate"}])
        );
        let stored = api.engine.get_alarm("rejects").await.expect("stored");
        let AlarmKind::Metric(m) = stored.alarm.kind else {
            panic!("a metric alarm");
        };
        assert_eq!(m.metric_name, "weir_custom_RecordsRejected");
        assert_eq!(
            m.dimensions.get("namespace").map(String::as_str),
            Some("orders")
        );
        for (change, error) in [
            (json!({"namespace": "AWS/States"}), "AWS's metrics"),
            (
                json!({"dimensions": [{"name": "namespace", "value": "x"}]}),
                "cannot go with the namespace member",
            ),
        ] {
            let mut bad = put.clone();
            for (k, v) in change.as_object().expect("an object") {
                bad[k] = v.clone();
            }
            let (status, answer) = call(&api, "PutMetricAlarm", bad).await;
            assert_eq!(status, 400, "{answer}");
            assert!(
                answer["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(error)),
                "{answer}"
            );
        }
    }

    #[tokio::test]
    async fn alarms_are_put_described_and_deleted() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let api = api_in(&dir).await;
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
