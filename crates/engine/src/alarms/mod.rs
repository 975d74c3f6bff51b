//! Alarms on weir's own metrics, modelled on CloudWatch's metric and composite alarms.
//!
//! # Design notes
//! - **Documents.** An alarm is a document of kind `alarm`, keyed by name, holding its
//!   definition, its state, the reason and its history (the last [`MAX_HISTORY`] items). A
//!   transition and its history item are one document write; notifications are published to
//!   the action topics after that write.
//! - **Evaluation** is pure (`evaluate`, `rule`). The sampler (`sample`) reads the metrics as
//!   `GET /metrics` renders them, every period of each alarm, on the engine's clock: a
//!   counter's datapoint is its increase over the period, a gauge's its value at the period's
//!   end; the statistic is taken over the series whose labels match the alarm's dimensions
//!   (`SampleCount` is how many series matched). No matching series is a missing datapoint.
//!   Histograms are refused. Composite alarms are evaluated after the metric alarms, every tick.
//! - **Windows are durable.** An alarm's evaluation range (its last N + 2 datapoints, with their
//!   bands) and when its next period ends are a document of kind `alarm-window`, written once
//!   per period. After a restart the window goes on where it was: the periods the process was
//!   down for are missing datapoints, and counters (which start again from zero with the
//!   process) count from zero for the first period.
//! - **Anomaly detection.** An anomaly alarm (`AlarmKind::Anomaly`) is a metric alarm compared
//!   with a band (`anomaly`) learned from its own datapoints: each datapoint carries the band as
//!   it stood before the datapoint was learned, so `evaluate` judges it like any other. The
//!   model is a document of kind `alarm-model` keyed by the alarm's name, written after each
//!   datapoint learned (once per period at most), read when the alarm's window starts (a put, a
//!   restart), dropped when the alarm is deleted or watches another metric, statistic or period.

pub mod anomaly;
pub mod deadlines;
pub mod evaluate;
pub mod rule;

use crate::engine::{Engine, Inner, lock};
use crate::error::Error;
use evaluate::Datapoint;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, Weak};

/// The document kind of alarms.
const ALARM: &str = "alarm";

/// The document kind of anomaly alarms' models, keyed by the alarm's name.
const ALARM_MODEL: &str = "alarm-model";

/// The document kind of alarms' windows.
const ALARM_WINDOW: &str = "alarm-window";

/// How many history items an alarm keeps.
pub const MAX_HISTORY: usize = 100;

/// The metric families weir exports (see `metrics`), with their types.
const FAMILIES: [(&str, &str); 17] = [
    ("weir_executions_started", "counter"),
    ("weir_executions_ended", "counter"),
    ("weir_execution_duration_seconds", "histogram"),
    ("weir_task_duration_seconds", "histogram"),
    ("weir_state_errors", "counter"),
    ("weir_task_timeouts", "counter"),
    ("weir_heartbeats_missed", "counter"),
    ("weir_queue_messages", "gauge"),
    ("weir_queue_oldest_message_age_seconds", "gauge"),
    ("weir_queue_events", "counter"),
    ("weir_mapping_records", "counter"),
    ("weir_mapping_lag_seconds", "gauge"),
    ("weir_function_invocations", "counter"),
    ("weir_function_duration_seconds", "histogram"),
    ("weir_function_throttles", "counter"),
    ("weir_store_commit_seconds", "histogram"),
    ("weir_store_commit_batch_size", "histogram"),
];

/// The prefix of custom metrics' families (see `metrics::custom`): an alarm may watch one
/// before it is first reported.
const CUSTOM: &str = "weir_custom_";

/// How many periods beyond N an alarm's evaluation range holds: with missing data, CloudWatch
/// evaluates the N most recent real datapoints of a range longer than N (its documentation's
/// examples use five for three); weir keeps N + 2.
const EXTRA_RANGE: usize = 2;

/// How often the evaluator looks for alarms due.
const TICK: SignedDuration = SignedDuration::from_secs(1);

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

impl AlarmState {
    /// CloudWatch's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// The state called `name`.
    pub fn parse(name: &str) -> Option<AlarmState> {
        [
            AlarmState::Ok,
            AlarmState::Alarm,
            AlarmState::InsufficientData,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// What is computed over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// The sum over the matching series.
    Sum,
    /// Their mean.
    Average,
    /// The largest.
    Maximum,
    /// The smallest.
    Minimum,
    /// How many series matched.
    SampleCount,
}

impl Statistic {
    /// CloudWatch's names, in order.
    pub const NAMES: [&str; 5] = ["Sum", "Average", "Maximum", "Minimum", "SampleCount"];

    /// The statistic called `name`.
    pub fn parse(name: &str) -> Option<Statistic> {
        let all = [
            Statistic::Sum,
            Statistic::Average,
            Statistic::Maximum,
            Statistic::Minimum,
            Statistic::SampleCount,
        ];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The statistic of `values`; `None` when there are none.
    pub fn of(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let sum: f64 = values.iter().sum();
        Some(match self {
            Statistic::Sum => sum,
            Statistic::Average => sum / values.len() as f64,
            Statistic::Maximum => values.iter().copied().fold(f64::MIN, f64::max),
            Statistic::Minimum => values.iter().copied().fold(f64::MAX, f64::min),
            Statistic::SampleCount => values.len() as f64,
        })
    }
}

/// How a datapoint is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>`.
    GreaterThanThreshold,
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `<`.
    LessThanThreshold,
    /// `<=`.
    LessThanOrEqualToThreshold,
    /// Below the anomaly band or above it.
    LessThanLowerOrGreaterThanUpperThreshold,
    /// Above the anomaly band.
    GreaterThanUpperThreshold,
    /// Below the anomaly band.
    LessThanLowerThreshold,
}

impl Comparison {
    /// CloudWatch's names, in order.
    pub const NAMES: [&str; 7] = [
        "GreaterThanThreshold",
        "GreaterThanOrEqualToThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
        "LessThanLowerOrGreaterThanUpperThreshold",
        "GreaterThanUpperThreshold",
        "LessThanLowerThreshold",
    ];

    /// Whether it compares with an anomaly band rather than a threshold.
    pub fn is_band(self) -> bool {
        matches!(
            self,
            Comparison::LessThanLowerOrGreaterThanUpperThreshold
                | Comparison::GreaterThanUpperThreshold
                | Comparison::LessThanLowerThreshold
        )
    }

    /// The operator called `name`.
    pub fn parse(name: &str) -> Option<Comparison> {
        let all = [
            Comparison::GreaterThanThreshold,
            Comparison::GreaterThanOrEqualToThreshold,
            Comparison::LessThanThreshold,
            Comparison::LessThanOrEqualToThreshold,
            Comparison::LessThanLowerOrGreaterThanUpperThreshold,
            Comparison::GreaterThanUpperThreshold,
            Comparison::LessThanLowerThreshold,
        ];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// How a reason words it (`greater than or equal to`).
    pub fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
            Comparison::LessThanLowerOrGreaterThanUpperThreshold => {
                "less than the lower or greater than the upper thresholds"
            }
            Comparison::GreaterThanUpperThreshold => "greater than the upper thresholds",
            Comparison::LessThanLowerThreshold => "less than the lower thresholds",
        }
    }
}

/// `treatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingData {
    /// `missing` (the default).
    Missing,
    /// `notBreaching`.
    NotBreaching,
    /// `breaching`.
    Breaching,
    /// `ignore`.
    Ignore,
}

impl MissingData {
    /// CloudWatch's names, in order.
    pub const NAMES: [&str; 4] = ["missing", "notBreaching", "breaching", "ignore"];

    /// The treatment called `name`.
    pub fn parse(name: &str) -> Option<MissingData> {
        let all = [
            MissingData::Missing,
            MissingData::NotBreaching,
            MissingData::Breaching,
            MissingData::Ignore,
        ];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A metric alarm's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAlarm {
    /// The metric family (`weir_executions_ended_total` or `weir_executions_ended`).
    pub metric_name: String,
    /// Label matchers: a series matches when it has every label with the value given.
    pub dimensions: BTreeMap<String, String>,
    /// What is computed per period.
    pub statistic: Statistic,
    /// The period, in seconds.
    pub period: u64,
    /// N: the periods evaluated.
    pub evaluation_periods: usize,
    /// M: the breaching datapoints among N that put the alarm in ALARM.
    pub datapoints_to_alarm: usize,
    /// The threshold.
    pub threshold: f64,
    /// How datapoints are compared with it.
    pub comparison: Comparison,
    /// How missing datapoints count.
    pub treat_missing_data: MissingData,
}

/// What makes a metric alarm an anomaly alarm: the band it compares with, CloudWatch's
/// `ANOMALY_DETECTION_BAND(m1, WIDTH)` named by `ThresholdMetricId`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyBand {
    /// The band's half-width, in standard deviations (the `2` of `ANOMALY_DETECTION_BAND(m1, 2)`).
    pub width: f64,
    /// The id of the metric among the alarm's metrics (`m1`).
    pub metric_id: String,
    /// The id of the band expression: the alarm's `ThresholdMetricId` (`ad1`).
    pub band_id: String,
}

/// What an alarm watches.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmKind {
    /// A metric.
    Metric(MetricAlarm),
    /// A metric compared with its anomaly band: the alarm's comparison is one of the band
    /// operators and its threshold is unused.
    Anomaly(MetricAlarm, AnomalyBand),
    /// Other alarms, through a rule (its text).
    Composite(String),
}

/// The topics notified of a transition to each state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Actions {
    /// On a transition to ALARM.
    pub alarm: Vec<String>,
    /// To OK.
    pub ok: Vec<String>,
    /// To INSUFFICIENT_DATA.
    pub insufficient_data: Vec<String>,
}

/// A new or replaced alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlarm {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// What it watches.
    pub kind: AlarmKind,
    /// Its actions (topic ARNs).
    pub actions: Actions,
}

/// One entry of an alarm's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    /// When.
    pub timestamp: Timestamp,
    /// `ConfigurationUpdate` or `StateUpdate`.
    pub item_type: String,
    /// `Alarm updated from OK to ALARM`.
    pub summary: String,
    /// JSON text: the old and new state and reason.
    pub data: String,
}

/// An alarm, as `DescribeAlarms` sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRecord {
    /// The definition.
    pub alarm: NewAlarm,
    /// `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`.
    pub arn: String,
    /// Its state.
    pub state: AlarmState,
    /// Why it is in it.
    pub reason: String,
    /// When it entered it.
    pub state_updated: Timestamp,
    /// When its definition was last put.
    pub updated: Timestamp,
    /// Its history, oldest first.
    pub history: Vec<HistoryItem>,
    /// An anomaly alarm's band for the period in progress; `None` while its model warms up and
    /// for other alarms.
    pub band: Option<anomaly::Band>,
}

/// One metric alarm's window in memory.
struct Window {
    /// What it samples ([`model_source`]): another metric, statistic or period starts it again.
    source: Value,
    next_due: Timestamp,
    previous: HashMap<String, f64>,
    datapoints: VecDeque<Datapoint>,
    /// An anomaly alarm's model.
    model: Option<anomaly::Model>,
}

/// The alarms' in-memory state: each metric alarm's datapoints and when it was last evaluated.
#[derive(Default)]
pub(crate) struct Alarms {
    windows: Mutex<HashMap<String, Window>>,
    evaluated: Mutex<HashMap<String, Timestamp>>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::NotAllowed {
        code: "ValidationError",
        message: message.into(),
    }
}

fn not_found(name: &str) -> Error {
    Error::NotAllowed {
        code: "ResourceNotFound",
        message: format!("Alarm {name} does not exist"),
    }
}

/// One series of a rendered metric: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A family read from the text format: its type and series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Family {
    /// `counter`, `gauge`, `histogram`, ...
    pub kind: String,
    /// The series of its main sample (`NAME_total` for counters, `NAME` for gauges).
    pub series: Vec<Series>,
}

/// Reads the OpenMetrics text `GET /metrics` serves into families by name.
pub fn parse_exposition(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                families.entry(name.to_string()).or_default().kind = kind.to_string();
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (head, value) = match line.rfind('}') {
            Some(end) => (&line[..=end], line[end + 1..].trim()),
            None => match line.split_once(' ') {
                Some((h, v)) => (h, v.trim()),
                None => continue,
            },
        };
        let value = value.split(' ').next().unwrap_or_default();
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match head.split_once('{') {
            Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
            None => (head, BTreeMap::new()),
        };
        let family = if families.contains_key(name) {
            name
        } else if let Some(base) = name.strip_suffix("_total") {
            base
        } else {
            continue;
        };
        if let Some(f) = families.get_mut(family) {
            f.series.push(Series { labels, value });
        }
    }
    families
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let name: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || c.is_whitespace())
            .take_while(|c| *c != '=')
            .collect();
        if name.is_empty() || chars.next() != Some('"') {
            return labels;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => {}
                },
                other => value.push(other),
            }
        }
        labels.insert(name, value);
    }
}

impl MetricAlarm {
    /// The family name as rendered (without `_total`).
    fn family(&self) -> &str {
        self.metric_name
            .strip_suffix("_total")
            .unwrap_or(&self.metric_name)
    }

    /// The matching series, keyed by their labels.
    fn matching(&self, families: &BTreeMap<String, Family>) -> HashMap<String, f64> {
        families
            .get(self.family())
            .map(|f| {
                f.series
                    .iter()
                    .filter(|s| {
                        self.dimensions
                            .iter()
                            .all(|(k, v)| s.labels.get(k) == Some(v))
                    })
                    .map(|s| (format!("{:?}", s.labels), s.value))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the metric is a counter, by its type as rendered.
    fn is_counter(&self, families: &BTreeMap<String, Family>) -> bool {
        families
            .get(self.family())
            .is_some_and(|f| f.kind == "counter")
    }
}

fn check(alarm: &NewAlarm) -> Result<(), Error> {
    if alarm.name.is_empty() || alarm.name.len() > 255 {
        return Err(invalid(
            "AlarmName must be between 1 and 255 characters long",
        ));
    }
    match &alarm.kind {
        AlarmKind::Metric(m) | AlarmKind::Anomaly(m, _) => {
            if m.period == 0 {
                return Err(invalid("Period must be at least 1 second"));
            }
            if m.evaluation_periods == 0 {
                return Err(invalid("EvaluationPeriods must be at least 1"));
            }
            if m.datapoints_to_alarm == 0 || m.datapoints_to_alarm > m.evaluation_periods {
                return Err(invalid(
                    "DatapointsToAlarm must be between 1 and EvaluationPeriods",
                ));
            }
            if !m.threshold.is_finite() {
                return Err(invalid("Threshold must be a finite number"));
            }
            check_band(&alarm.kind, m)?;
        }
        AlarmKind::Composite(text) => {
            let rule = rule::Rule::parse(text).map_err(|e| invalid(format!("AlarmRule: {e}")))?;
            if rule.alarms().contains(&alarm.name.as_str()) {
                return Err(invalid("AlarmRule: an alarm cannot refer to itself"));
            }
        }
    }
    Ok(())
}

/// Refuses a band operator without a band, a threshold operator with one, and a band that is
/// not a positive width between two distinct ids.
fn check_band(kind: &AlarmKind, m: &MetricAlarm) -> Result<(), Error> {
    let op = m.comparison.as_str();
    match kind {
        AlarmKind::Metric(_) if m.comparison.is_band() => Err(invalid(format!(
            "ComparisonOperator: {op} compares with an anomaly detection band, which needs \
             ThresholdMetricId"
        ))),
        AlarmKind::Anomaly(..) if !m.comparison.is_band() => Err(invalid(format!(
            "ComparisonOperator: {op} compares with Threshold; an anomaly detection alarm uses \
             LessThanLowerOrGreaterThanUpperThreshold, GreaterThanUpperThreshold or \
             LessThanLowerThreshold"
        ))),
        AlarmKind::Anomaly(_, band) if !(band.width.is_finite() && band.width > 0.0) => {
            Err(invalid(format!(
                "ANOMALY_DETECTION_BAND: the width must be a positive number, not {}",
                band.width
            )))
        }
        AlarmKind::Anomaly(_, band)
            if band.metric_id.is_empty()
                || band.band_id.is_empty()
                || band.metric_id == band.band_id =>
        {
            Err(invalid(
                "Metrics: the metric and its ANOMALY_DETECTION_BAND need two distinct ids",
            ))
        }
        _ => Ok(()),
    }
}

/// What a metric alarm samples, and so what an anomaly model was learned from: a stored model
/// of another source is dropped.
fn model_source(m: &MetricAlarm) -> Value {
    json!({
        "metricName": m.metric_name,
        "dimensions": m.dimensions,
        "statistic": m.statistic.as_str(),
        "period": m.period,
    })
}

impl Engine {
    /// The ARN of the alarm called `name`.
    pub fn alarm_arn(&self, name: &str) -> String {
        let options = self.options();
        format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            options.region, options.account
        )
    }

    /// Creates or replaces an alarm (`PutMetricAlarm`, `PutCompositeAlarm`). A new alarm starts
    /// in INSUFFICIENT_DATA; a replaced one keeps its state and history.
    pub async fn put_alarm(&self, alarm: NewAlarm) -> Result<AlarmRecord, Error> {
        check(&alarm)?;
        let families = parse_exposition(&self.render_metrics().await?);
        match &alarm.kind {
            AlarmKind::Metric(m) | AlarmKind::Anomaly(m, _) => match FAMILIES
                .iter()
                .find(|(n, _)| *n == m.family())
                .map(|(_, k)| *k)
                .or_else(|| {
                    // A custom metric not reported yet has no data (and no type) yet.
                    m.family().strip_prefix(CUSTOM).filter(|c| !c.is_empty())?;
                    let rendered = families.get(m.family()).map(|f| f.kind.as_str());
                    Some(rendered.unwrap_or("gauge"))
                }) {
                None => {
                    return Err(invalid(format!(
                        "MetricName: {} is not a weir metric (GET /metrics lists them; \
                         custom metrics are weir_custom_NAME)",
                        m.metric_name
                    )));
                }
                Some("counter" | "gauge") => {}
                Some(other) => {
                    return Err(invalid(format!(
                        "MetricName: {} is a {other}; alarms watch counters and gauges only",
                        m.metric_name
                    )));
                }
            },
            AlarmKind::Composite(text) => {
                let rule =
                    rule::Rule::parse(text).map_err(|e| invalid(format!("AlarmRule: {e}")))?;
                for name in rule.alarms() {
                    if self.find_alarm(name).await?.is_none() {
                        return Err(invalid(format!(
                            "AlarmRule: the alarm {name} does not exist"
                        )));
                    }
                }
            }
        }
        for arn in alarm
            .actions
            .alarm
            .iter()
            .chain(&alarm.actions.ok)
            .chain(&alarm.actions.insufficient_data)
        {
            self.get_topic(arn)
                .await
                .map_err(|_| invalid(format!("Invalid action: {arn} is not a weir topic")))?;
        }
        let now = self.clock().now();
        let existing = self.store().get_document(ALARM, &alarm.name).await?;
        let (mut record, expected) = match existing {
            Some(document) => {
                let mut record = read(self, &alarm.name, &document.body)?;
                record.alarm = alarm.clone();
                record.updated = now;
                push(
                    &mut record,
                    now,
                    "ConfigurationUpdate",
                    format!("Alarm \"{}\" updated", alarm.name),
                    json!({}),
                );
                (record, Some(document.version))
            }
            None => {
                let mut record = AlarmRecord {
                    arn: self.alarm_arn(&alarm.name),
                    alarm: alarm.clone(),
                    state: AlarmState::InsufficientData,
                    reason: "Unchecked: Initial alarm creation".to_string(),
                    state_updated: now,
                    updated: now,
                    history: Vec::new(),
                    band: None,
                };
                push(
                    &mut record,
                    now,
                    "ConfigurationUpdate",
                    format!("Alarm \"{}\" created", alarm.name),
                    json!({}),
                );
                (record, None)
            }
        };
        self.store()
            .put_document(ALARM, &alarm.name, body(&record), expected)
            .await?;
        let model = match &alarm.kind {
            AlarmKind::Anomaly(m, band) => {
                let model = self.load_model(&alarm.name, m).await?;
                record.band = model.band(now, band.width);
                Some(model)
            }
            _ => {
                self.store()
                    .delete_document(ALARM_MODEL, &alarm.name)
                    .await?;
                None
            }
        };
        if let AlarmKind::Metric(m) | AlarmKind::Anomaly(m, _) = &alarm.kind {
            lock(&self.inner().alarms.windows).insert(
                alarm.name.clone(),
                Window {
                    source: model_source(m),
                    next_due: due(now, m.period),
                    previous: m.matching(&families),
                    datapoints: VecDeque::new(),
                    model,
                },
            );
        }
        Ok(record)
    }

    /// The stored model of the anomaly alarm `name` when it was learned from `m`'s metric,
    /// statistic and period; otherwise (none, another source, unreadable) a new one, and the
    /// stored one is deleted.
    async fn load_model(&self, name: &str, m: &MetricAlarm) -> Result<anomaly::Model, Error> {
        let config = anomaly::Config::for_period(m.period);
        let Some(document) = self.store().get_document(ALARM_MODEL, name).await? else {
            return Ok(anomaly::Model::new(config));
        };
        if let Some(model) = stored_model(m, &document.body) {
            return Ok(model);
        }
        tracing::info!(alarm = %name, "Anomaly model dropped: learned from another metric.");
        self.store().delete_document(ALARM_MODEL, name).await?;
        Ok(anomaly::Model::new(config))
    }

    /// Stores the model (its [`anomaly::Model::to_json`]) of the anomaly alarm `name` on `m`.
    async fn save_model(&self, name: &str, m: &MetricAlarm, model: Value) -> Result<(), Error> {
        let body = json!({"source": model_source(m), "model": model}).to_string();
        crate::documents::upsert(self.store().as_ref(), ALARM_MODEL, name, body).await
    }

    /// Sets the band of each anomaly alarm among `records`, at `now`, from the stored models
    /// (`models`: the `alarm-model` documents, by alarm name).
    fn add_bands(
        &self,
        records: &mut [AlarmRecord],
        models: &HashMap<String, String>,
        now: Timestamp,
    ) {
        for record in records {
            if let AlarmKind::Anomaly(m, band) = &record.alarm.kind {
                record.band = models
                    .get(&record.alarm.name)
                    .and_then(|body| stored_model(m, body))
                    .and_then(|model| model.band(now, band.width));
            }
        }
    }

    async fn find_alarm(&self, name: &str) -> Result<Option<AlarmRecord>, Error> {
        match self.store().get_document(ALARM, name).await? {
            Some(d) => read(self, name, &d.body).map(Some),
            None => Ok(None),
        }
    }

    /// One alarm (an anomaly alarm with its current band).
    pub async fn get_alarm(&self, name: &str) -> Result<AlarmRecord, Error> {
        let mut record = self
            .find_alarm(name)
            .await?
            .ok_or_else(|| not_found(name))?;
        if let AlarmKind::Anomaly(..) = record.alarm.kind {
            let models = self
                .store()
                .get_document(ALARM_MODEL, name)
                .await?
                .map(|d| (name.to_string(), d.body))
                .into_iter()
                .collect();
            self.add_bands(
                std::slice::from_mut(&mut record),
                &models,
                self.clock().now(),
            );
        }
        Ok(record)
    }

    /// Every alarm whose name starts with `prefix`, by name (anomaly alarms with their current
    /// band).
    pub async fn list_alarms(&self, prefix: &str) -> Result<Vec<AlarmRecord>, Error> {
        let mut records = self.records(prefix).await?;
        if records
            .iter()
            .any(|r| matches!(r.alarm.kind, AlarmKind::Anomaly(..)))
        {
            let models = self
                .store()
                .list_documents(ALARM_MODEL, prefix)
                .await?
                .into_iter()
                .map(|d| (d.key, d.body))
                .collect();
            self.add_bands(&mut records, &models, self.clock().now());
        }
        Ok(records)
    }

    /// Every alarm whose name starts with `prefix`, by name, without bands.
    async fn records(&self, prefix: &str) -> Result<Vec<AlarmRecord>, Error> {
        self.store()
            .list_documents(ALARM, prefix)
            .await?
            .iter()
            .map(|d| read(self, &d.key, &d.body))
            .collect()
    }

    /// Deletes alarms; `ResourceNotFound` (and nothing deleted) when one does not exist.
    pub async fn delete_alarms(&self, names: &[String]) -> Result<(), Error> {
        for name in names {
            if self.find_alarm(name).await?.is_none() {
                return Err(not_found(name));
            }
        }
        for name in names {
            self.store().delete_document(ALARM, name).await?;
            self.store().delete_document(ALARM_MODEL, name).await?;
            self.store().delete_document(ALARM_WINDOW, name).await?;
            lock(&self.inner().alarms.windows).remove(name);
            lock(&self.inner().alarms.evaluated).remove(name);
        }
        Ok(())
    }

    /// When the evaluator last evaluated the alarm called `name`, or started its window (after a
    /// restart); tests wait on this.
    pub fn alarm_evaluated(&self, name: &str) -> Option<Timestamp> {
        lock(&self.inner().alarms.evaluated).get(name).copied()
    }

    /// One round of the evaluator at `now`: every metric alarm whose period ended takes its
    /// datapoint and is evaluated, then every composite alarm.
    async fn evaluate_alarms(&self, now: Timestamp) -> Result<(), Error> {
        let records = self.records("").await?;
        let mut states: HashMap<String, AlarmState> = records
            .iter()
            .map(|r| (r.alarm.name.clone(), r.state))
            .collect();
        let mut families = None;
        for record in &records {
            let (m, band) = match &record.alarm.kind {
                AlarmKind::Metric(m) => (m, None),
                AlarmKind::Anomaly(m, band) => (m, Some(band)),
                AlarmKind::Composite(_) => continue,
            };
            let source = model_source(m);
            let fits = |w: &Window| w.source == source && w.model.is_some() == band.is_some();
            let window = {
                let mut windows = lock(&self.inner().alarms.windows);
                match windows.get(&record.alarm.name) {
                    Some(w) if w.next_due > now && fits(w) => continue,
                    Some(w) if fits(w) => None,
                    _ => {
                        windows.remove(&record.alarm.name);
                        Some(())
                    }
                }
            };
            if families.is_none() {
                families = Some(parse_exposition(&self.render_metrics().await?));
            }
            // Rendered once per tick, at the first alarm that needs it, and shared by the rest.
            let Some(families) = families.as_ref() else {
                continue;
            };
            let current = m.matching(families);
            if window.is_some() {
                // Unknown here (a restart, another node's put): go on with its stored window, or
                // start one now.
                let model = match band {
                    Some(_) => Some(self.load_model(&record.alarm.name, m).await?),
                    None => None,
                };
                let (next_due, previous, datapoints) =
                    match self.load_window(&record.alarm.name, &source).await? {
                        // The counters started again with this process: from zero.
                        Some((next_due, datapoints)) => (next_due, HashMap::new(), datapoints),
                        None => (due(now, m.period), current, VecDeque::new()),
                    };
                lock(&self.inner().alarms.windows).insert(
                    record.alarm.name.clone(),
                    Window {
                        source: model_source(m),
                        next_due,
                        previous,
                        datapoints,
                        model,
                    },
                );
                lock(&self.inner().alarms.evaluated).insert(record.alarm.name.clone(), now);
                continue;
            }
            let (datapoints, learned, stored): (Vec<Datapoint>, Option<Value>, String) = {
                let mut windows = lock(&self.inner().alarms.windows);
                let Some(w) = windows.get_mut(&record.alarm.name) else {
                    continue;
                };
                let period = SignedDuration::from_secs(m.period as i64);
                let mut learned = false;
                while w.next_due <= now {
                    let start = w.next_due.saturating_sub(period).unwrap_or(w.next_due);
                    let last = w.next_due.saturating_add(period).map_or(true, |n| n > now);
                    let value = if !last || current.is_empty() {
                        None
                    } else if m.is_counter(families) {
                        let increases: Vec<f64> = current
                            .iter()
                            .map(|(k, v)| {
                                let before = w.previous.get(k).copied().unwrap_or(0.0);
                                if *v >= before { v - before } else { *v }
                            })
                            .collect();
                        m.statistic.of(&increases)
                    } else {
                        let values: Vec<f64> = current.values().copied().collect();
                        m.statistic.of(&values)
                    };
                    // Judged against the band as it stood before the datapoint was learned.
                    let judged = match (w.model.as_mut(), band) {
                        (Some(model), Some(band)) => {
                            let judged = model.band(start, band.width);
                            if let Some(value) = value {
                                model.learn(start, value);
                                learned = true;
                            }
                            judged
                        }
                        _ => None,
                    };
                    w.datapoints.push_back(Datapoint {
                        at: start,
                        value,
                        band: judged,
                    });
                    while w.datapoints.len() > m.evaluation_periods + EXTRA_RANGE {
                        w.datapoints.pop_front();
                    }
                    w.next_due = w.next_due.saturating_add(period).unwrap_or(Timestamp::MAX);
                }
                w.previous = current;
                let learned = learned
                    .then(|| w.model.as_ref().map(anomaly::Model::to_json))
                    .flatten();
                (
                    w.datapoints.iter().copied().collect(),
                    learned,
                    window_body(w),
                )
            };
            if let Err(error) = self.save_window(&record.alarm.name, stored).await {
                tracing::warn!(alarm = %record.alarm.name, %error, "Alarm window not stored.");
            }
            if let Some(model) = learned
                && let Err(error) = self.save_model(&record.alarm.name, m, model).await
            {
                tracing::warn!(alarm = %record.alarm.name, %error, "Anomaly model not stored.");
            }
            let (state, reason) = evaluate::evaluate(m, record.state, &datapoints);
            if state != record.state {
                self.transition(&record.alarm.name, state, &reason, now)
                    .await?;
                states.insert(record.alarm.name.clone(), state);
            }
            lock(&self.inner().alarms.evaluated).insert(record.alarm.name.clone(), now);
        }
        for record in &records {
            let AlarmKind::Composite(text) = &record.alarm.kind else {
                continue;
            };
            let Ok(rule) = rule::Rule::parse(text) else {
                continue;
            };
            let holds = rule.holds(&|name| states.get(name).copied());
            let state = if holds {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            if state != record.state {
                let reason = format!(
                    "Alarm rule {text} evaluated to {}",
                    if holds { "TRUE" } else { "FALSE" }
                );
                self.transition(&record.alarm.name, state, &reason, now)
                    .await?;
                states.insert(record.alarm.name.clone(), state);
            }
            lock(&self.inner().alarms.evaluated).insert(record.alarm.name.clone(), now);
        }
        Ok(())
    }

    /// Moves an alarm to `state`, records it in its history, then notifies its topics.
    async fn transition(
        &self,
        name: &str,
        state: AlarmState,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let Some(document) = self.store().get_document(ALARM, name).await? else {
            return Ok(());
        };
        let mut record = read(self, name, &document.body)?;
        let old = record.state;
        let old_reason = std::mem::replace(&mut record.reason, reason.to_string());
        record.state = state;
        record.state_updated = now;
        push(
            &mut record,
            now,
            "StateUpdate",
            format!("Alarm updated from {} to {}", old.as_str(), state.as_str()),
            json!({
                "version": "1.0",
                "oldState": {"stateValue": old.as_str(), "stateReason": old_reason},
                "newState": {"stateValue": state.as_str(), "stateReason": reason},
            }),
        );
        self.store()
            .put_document(ALARM, name, body(&record), Some(document.version))
            .await?;
        let actions = match state {
            AlarmState::Alarm => &record.alarm.actions.alarm,
            AlarmState::Ok => &record.alarm.actions.ok,
            AlarmState::InsufficientData => &record.alarm.actions.insufficient_data,
        };
        let message = json!({
            "AlarmName": name,
            "AlarmDescription": record.alarm.description,
            "AlarmArn": record.arn,
            "NewStateValue": state.as_str(),
            "NewStateReason": reason,
            "OldStateValue": old.as_str(),
            "StateChangeTime": now.to_string(),
            "Region": self.options().region,
        })
        .to_string();
        for topic in actions {
            let request = crate::topics::PublishRequest {
                message: message.clone(),
                subject: Some(format!(
                    "{}: \"{name}\" in {}",
                    state.as_str(),
                    self.options().region
                )),
                ..crate::topics::PublishRequest::default()
            };
            if let Err(error) = self.publish(topic, &request).await {
                tracing::warn!(alarm = %name, %topic, %error, "Alarm notification not published.");
            }
        }
        Ok(())
    }
}

/// A window as its `alarm-window` document holds it.
fn window_body(w: &Window) -> String {
    let datapoints: Vec<Value> = w
        .datapoints
        .iter()
        .map(|d| {
            json!({
                "at": d.at.to_string(),
                "value": d.value,
                "band": d.band.map(|b| json!({"lower": b.lower, "upper": b.upper})),
            })
        })
        .collect();
    json!({"source": w.source, "nextDue": w.next_due.to_string(), "datapoints": datapoints})
        .to_string()
}

impl Engine {
    /// The stored window of alarm `name` (when its next period ends, its datapoints), if there
    /// is one and it sampled `source`.
    async fn load_window(
        &self,
        name: &str,
        source: &Value,
    ) -> Result<Option<(Timestamp, VecDeque<Datapoint>)>, Error> {
        let Some(document) = self.store().get_document(ALARM_WINDOW, name).await? else {
            return Ok(None);
        };
        let value = crate::documents::parse(ALARM_WINDOW, name, &document.body)?;
        if &value["source"] != source {
            return Ok(None);
        }
        let Some(next_due) = crate::documents::timestamp(&value, "nextDue") else {
            return Ok(None);
        };
        let datapoints = value["datapoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                Some(Datapoint {
                    at: crate::documents::timestamp(d, "at")?,
                    value: d["value"].as_f64(),
                    band: match (d["band"]["lower"].as_f64(), d["band"]["upper"].as_f64()) {
                        (Some(lower), Some(upper)) => Some(anomaly::Band { lower, upper }),
                        _ => None,
                    },
                })
            })
            .collect();
        Ok(Some((next_due, datapoints)))
    }

    /// Stores alarm `name`'s window (its [`window_body`]).
    async fn save_window(&self, name: &str, body: String) -> Result<(), Error> {
        crate::documents::upsert(self.store().as_ref(), ALARM_WINDOW, name, body).await
    }
}

/// The end of the first period of an alarm put at `now`.
fn due(now: Timestamp, period: u64) -> Timestamp {
    now.saturating_add(SignedDuration::from_secs(period as i64))
        .unwrap_or(Timestamp::MAX)
}

fn push(record: &mut AlarmRecord, now: Timestamp, item_type: &str, summary: String, data: Value) {
    record.history.push(HistoryItem {
        timestamp: now,
        item_type: item_type.to_string(),
        summary,
        data: data.to_string(),
    });
    let excess = record.history.len().saturating_sub(MAX_HISTORY);
    record.history.drain(..excess);
}

fn body(record: &AlarmRecord) -> String {
    let alarm = &record.alarm;
    let mut kind = match &alarm.kind {
        AlarmKind::Metric(m) | AlarmKind::Anomaly(m, _) => json!({
            "metricName": m.metric_name,
            "dimensions": m.dimensions,
            "statistic": m.statistic.as_str(),
            "period": m.period,
            "evaluationPeriods": m.evaluation_periods,
            "datapointsToAlarm": m.datapoints_to_alarm,
            "threshold": m.threshold,
            "comparisonOperator": m.comparison.as_str(),
            "treatMissingData": m.treat_missing_data.as_str(),
        }),
        AlarmKind::Composite(rule) => json!({ "alarmRule": rule }),
    };
    if let AlarmKind::Anomaly(_, band) = &alarm.kind {
        kind["anomalyBand"] = json!({"width": band.width, "metricId": band.metric_id,
                                     "bandId": band.band_id});
    }
    kind["description"] = json!(alarm.description);
    kind["alarmActions"] = json!(alarm.actions.alarm);
    kind["okActions"] = json!(alarm.actions.ok);
    kind["insufficientDataActions"] = json!(alarm.actions.insufficient_data);
    kind["state"] = json!(record.state.as_str());
    kind["reason"] = json!(record.reason);
    kind["stateUpdated"] = json!(record.state_updated.to_string());
    kind["updated"] = json!(record.updated.to_string());
    kind["history"] = record
        .history
        .iter()
        .map(|h| {
            json!({"timestamp": h.timestamp.to_string(), "type": h.item_type,
                   "summary": h.summary, "data": h.data})
        })
        .collect();
    kind.to_string()
}

fn read(engine: &Engine, name: &str, text: &str) -> Result<AlarmRecord, Error> {
    let value = crate::documents::parse(ALARM, name, text)?;
    let corrupt = |what: &str| crate::documents::corrupt(ALARM, name, format!("bad {what}"));
    let strings = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = if let Some(rule) = value["alarmRule"].as_str() {
        AlarmKind::Composite(rule.to_string())
    } else {
        let text = |key: &str| value[key].as_str().unwrap_or_default();
        let number = |key: &str| value[key].as_u64().ok_or_else(|| corrupt(key));
        let m = MetricAlarm {
            metric_name: text("metricName").to_string(),
            dimensions: crate::documents::strings(&value["dimensions"]),
            statistic: Statistic::parse(text("statistic")).ok_or_else(|| corrupt("statistic"))?,
            period: number("period")?,
            evaluation_periods: number("evaluationPeriods")? as usize,
            datapoints_to_alarm: number("datapointsToAlarm")? as usize,
            threshold: value["threshold"]
                .as_f64()
                .ok_or_else(|| corrupt("threshold"))?,
            comparison: Comparison::parse(text("comparisonOperator"))
                .ok_or_else(|| corrupt("comparisonOperator"))?,
            treat_missing_data: MissingData::parse(text("treatMissingData"))
                .ok_or_else(|| corrupt("treatMissingData"))?,
        };
        let band = &value["anomalyBand"];
        if band.is_object() {
            let id = |key: &str| band[key].as_str().map(str::to_string);
            AlarmKind::Anomaly(
                m,
                AnomalyBand {
                    width: band["width"]
                        .as_f64()
                        .ok_or_else(|| corrupt("anomalyBand"))?,
                    metric_id: id("metricId").ok_or_else(|| corrupt("anomalyBand"))?,
                    band_id: id("bandId").ok_or_else(|| corrupt("anomalyBand"))?,
                },
            )
        } else {
            AlarmKind::Metric(m)
        }
    };
    let history = value["history"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|h| HistoryItem {
                    timestamp: crate::documents::timestamp(h, "timestamp")
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                    item_type: h["type"].as_str().unwrap_or_default().to_string(),
                    summary: h["summary"].as_str().unwrap_or_default().to_string(),
                    data: h["data"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(AlarmRecord {
        arn: engine.alarm_arn(name),
        alarm: NewAlarm {
            name: name.to_string(),
            description: value["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            kind,
            actions: Actions {
                alarm: strings("alarmActions"),
                ok: strings("okActions"),
                insufficient_data: strings("insufficientDataActions"),
            },
        },
        state: value["state"]
            .as_str()
            .and_then(AlarmState::parse)
            .ok_or_else(|| corrupt("state"))?,
        reason: value["reason"].as_str().unwrap_or_default().to_string(),
        state_updated: crate::documents::timestamp(&value, "stateUpdated")
            .ok_or_else(|| corrupt("stateUpdated"))?,
        updated: crate::documents::timestamp(&value, "updated")
            .ok_or_else(|| corrupt("updated"))?,
        history,
        band: None,
    })
}

/// The model stored in the `alarm-model` document `body` when it was learned from `m`'s metric,
/// statistic and period.
fn stored_model(m: &MetricAlarm, body: &str) -> Option<anomaly::Model> {
    let value: Value = serde_json::from_str(body).ok()?;
    if value["source"] != model_source(m) {
        return None;
    }
    anomaly::Model::from_json(anomaly::Config::for_period(m.period), &value["model"])
}

/// The evaluator: every [`TICK`] of the engine's clock, one round (see
/// `Engine::evaluate_alarms`). Ends when the engine is dropped.
pub(crate) async fn evaluator(inner: Weak<Inner>) {
    loop {
        let clock = {
            let Some(inner) = inner.upgrade() else { return };
            let engine = Engine::from_inner(inner);
            let now = engine.clock().now();
            if let Err(error) = engine.evaluate_alarms(now).await {
                tracing::warn!(%error, "Alarms not evaluated.");
            }
            if let Err(error) = engine.evaluate_deadlines(now).await {
                tracing::warn!(%error, "Deadline alerts not evaluated.");
            }
            engine.clock().clone()
        };
        let next = clock.now().saturating_add(TICK).unwrap_or(Timestamp::MAX);
        clock.sleep_until(next).await;
    }
}
