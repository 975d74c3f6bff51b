//! Custom metrics: numbers a function or a job reports about its own work (records processed,
//! quarantined, rejected), shown at `GET /metrics` beside weir's own and watched by alarms like
//! them.
//!
//! # Two ways in
//! - **A line on stderr** of a command function, in CloudWatch's Embedded Metric Format (EMF),
//!   the format Lambda functions already print (the `aws-embedded-metrics` libraries and
//!   Powertools' `Metrics` write it):
//!
//!   ```json
//!   {"_aws": {"Timestamp": 1764403200000, "CloudWatchMetrics": [{"Namespace": "orders",
//!     "Dimensions": [["stage"]], "Metrics": [{"Name": "RecordsRejected", "Unit": "Count"}]}]},
//!    "stage": "validate", "RecordsRejected": 3}
//!   ```
//!
//!   Each metric's value is the member of the same name (a number, or a list of numbers that
//!   are all recorded); each dimension set names members whose values become labels, and each
//!   set records the metric once. A line that is not JSON, or JSON without `_aws`, is just a log
//!   line; an EMF line that is wrong is logged as a warning naming the problem, and recorded
//!   not at all.
//! - **`Weir.PutMetricData`** on the API (any program: HTTP functions, jobs, scripts), shaped
//!   like CloudWatch's `PutMetricData`: a namespace and up to 1000 datums, each a metric name,
//!   dimensions, a value (or values) and a unit.
//!
//! # What `/metrics` shows
//! A metric `NAME` becomes the family `weir_custom_NAME` (characters Prometheus does not allow
//! in names become `_`), with the label `namespace`, one label per dimension and, for metrics from
//! a function's stderr, the label `function`. The unit decides the type:
//! - `Count` or no unit (CloudWatch's `None`): a **counter** (`weir_custom_NAME_total`), the
//!   sum of every value reported; an alarm's datapoint is then the sum over its period, as
//!   CloudWatch's `Sum` would be. Values must not be negative.
//! - any other unit (`Seconds`, `Milliseconds`, `Bytes`, `Percent`, ...): a **gauge** holding the
//!   last value reported.
//!
//! A name keeps the type it was first reported with: reporting it later with a unit of the other
//! type is refused, naming both. Like weir's own counters, custom metrics live in memory and
//! start again from zero when the process starts. At most [`MAX_SERIES`] series are kept;
//! further new series are refused.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The prefix of custom families' names, after weir's own `weir_`.
pub const PREFIX: &str = "custom_";

/// How many series (name and labels) are kept at most.
pub const MAX_SERIES: usize = 10_000;

/// How many dimensions a datum may have (CloudWatch's limit).
pub const MAX_DIMENSIONS: usize = 30;

/// How many values one datum may carry (CloudWatch's limit for `Values`).
pub const MAX_VALUES: usize = 150;

/// One metric value, or several, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// The metric's name.
    pub name: String,
    /// Its dimensions (label names and values).
    pub dimensions: BTreeMap<String, String>,
    /// The values recorded (at least one).
    pub values: Vec<f64>,
    /// CloudWatch's unit name; `None` for no unit.
    pub unit: Option<String>,
}

/// A custom metric's type, from its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn of(unit: Option<&str>) -> Kind {
        match unit {
            None | Some("Count" | "None") => Kind::Counter,
            Some(_) => Kind::Gauge,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "a counter (unit Count or none)",
            Kind::Gauge => "a gauge (a unit other than Count)",
        }
    }
}

/// One custom family: its type, the unit it was first reported with and its series.
#[derive(Debug)]
struct Family {
    kind: Kind,
    unit: String,
    series: BTreeMap<Vec<(String, String)>, f64>,
}

/// The custom metrics reported since the process started; shared by the engine (which renders
/// them) and whatever reports them (function runners, the API).
#[derive(Debug, Default)]
pub struct CustomMetrics {
    families: Mutex<BTreeMap<String, Family>>,
}

/// `text` with every character Prometheus does not allow in a metric or label name made `_`:
/// the family of a metric called `text` is `weir_custom_` and this.
pub fn prometheus_name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Checks one datum; the problem, naming the datum, if it is wrong.
fn check(datum: &Datum, at: &str) -> Result<(), String> {
    if datum.name.is_empty() || datum.name.len() > 255 {
        return Err(format!("{at}: the metric name must be 1 to 255 characters"));
    }
    if datum.values.is_empty() {
        return Err(format!("{at} ({}): no value", datum.name));
    }
    if datum.values.len() > MAX_VALUES {
        return Err(format!(
            "{at} ({}): {} values, at most {MAX_VALUES}",
            datum.name,
            datum.values.len()
        ));
    }
    if let Some(v) = datum.values.iter().find(|v| !v.is_finite()) {
        return Err(format!("{at} ({}): {v} is not a finite number", datum.name));
    }
    if Kind::of(datum.unit.as_deref()) == Kind::Counter
        && let Some(v) = datum.values.iter().find(|v| **v < 0.0)
    {
        return Err(format!(
            "{at} ({}): {v} is negative; a metric with unit Count (or none) adds up its values",
            datum.name
        ));
    }
    if datum.dimensions.len() > MAX_DIMENSIONS {
        return Err(format!(
            "{at} ({}): {} dimensions, at most {MAX_DIMENSIONS}",
            datum.name,
            datum.dimensions.len()
        ));
    }
    for (name, value) in &datum.dimensions {
        if name.is_empty() || value.is_empty() {
            return Err(format!(
                "{at} ({}): dimension names and values must not be empty",
                datum.name
            ));
        }
        if prometheus_name(name) == "namespace" {
            return Err(format!(
                "{at} ({}): the dimension name {name} is taken by the namespace label",
                datum.name
            ));
        }
    }
    Ok(())
}

impl CustomMetrics {
    /// Records `data` under `namespace`, with `extra` labels added (e.g. the reporting
    /// function's name) unless a dimension of the same name is given. All or nothing: the first
    /// problem found refuses the whole call, naming the datum as `list[index] (name)`.
    pub fn record(
        &self,
        namespace: &str,
        list: &str,
        data: &[Datum],
        extra: &[(&str, &str)],
    ) -> Result<(), String> {
        if namespace.is_empty() || namespace.len() > 255 {
            return Err("the namespace must be 1 to 255 characters".to_string());
        }
        for (i, datum) in data.iter().enumerate() {
            check(datum, &format!("{list}[{i}]"))?;
        }
        let mut families = self
            .families
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut total: usize = families.values().map(|f| f.series.len()).sum();
        // Check every datum against the kept types and the series limit before changing anything.
        let mut planned: Vec<(String, Vec<(String, String)>)> = Vec::with_capacity(data.len());
        for (i, datum) in data.iter().enumerate() {
            let name = prometheus_name(&datum.name);
            let kind = Kind::of(datum.unit.as_deref());
            let labels = labels(namespace, datum, extra);
            let new_series = match families.get(&name) {
                Some(family) if family.kind != kind => {
                    return Err(format!(
                        "{list}[{i}] ({}): weir_custom_{name} is {}, first reported with unit {}; \
                         unit {} would make it {}",
                        datum.name,
                        family.kind.name(),
                        family.unit,
                        datum.unit.as_deref().unwrap_or("None"),
                        kind.name()
                    ));
                }
                Some(family) => !family.series.contains_key(&labels),
                None => true,
            };
            if new_series && !planned.contains(&(name.clone(), labels.clone())) {
                total += 1;
                if total > MAX_SERIES {
                    return Err(format!(
                        "{list}[{i}] ({}): weir keeps at most {MAX_SERIES} custom series",
                        datum.name
                    ));
                }
            }
            planned.push((name, labels));
        }
        for ((name, labels), datum) in planned.into_iter().zip(data) {
            let kind = Kind::of(datum.unit.as_deref());
            let family = families.entry(name).or_insert_with(|| Family {
                kind,
                unit: datum.unit.clone().unwrap_or_else(|| "None".to_string()),
                series: BTreeMap::new(),
            });
            let value = family.series.entry(labels).or_insert(0.0);
            match kind {
                Kind::Counter => *value += datum.values.iter().sum::<f64>(),
                Kind::Gauge => *value = datum.values.last().copied().unwrap_or(*value),
            }
        }
        Ok(())
    }

    /// The families kept, by Prometheus name (`weir_custom_NAME`), with their type
    /// (`counter` or `gauge`).
    pub fn families(&self) -> Vec<(String, &'static str)> {
        let families = self
            .families
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        families
            .iter()
            .map(|(name, f)| {
                let kind = match f.kind {
                    Kind::Counter => "counter",
                    Kind::Gauge => "gauge",
                };
                (format!("weir_{PREFIX}{name}"), kind)
            })
            .collect()
    }
}

fn labels(namespace: &str, datum: &Datum, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels: BTreeMap<String, String> = datum
        .dimensions
        .iter()
        .map(|(k, v)| (prometheus_name(k), v.clone()))
        .collect();
    labels.insert("namespace".to_string(), namespace.to_string());
    for (k, v) in extra {
        labels
            .entry(prometheus_name(k))
            .or_insert_with(|| v.to_string());
    }
    labels.into_iter().collect()
}

impl Collector for CustomMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let families = self
            .families
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (name, family) in families.iter() {
            let full = format!("{PREFIX}{name}");
            let help = format!("Custom metric {name} (unit {})", family.unit);
            let kind = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            let mut metric = encoder.encode_descriptor(&full, &help, None, kind)?;
            for (labels, value) in &family.series {
                let series = metric.encode_family(labels)?;
                match family.kind {
                    Kind::Counter => ConstCounter::new(*value).encode(series)?,
                    Kind::Gauge => ConstGauge::new(*value).encode(series)?,
                }
            }
        }
        Ok(())
    }
}

/// What an EMF line carries: its namespace and datums, one per metric and dimension set.
#[derive(Debug, Clone, PartialEq)]
pub struct Emf {
    /// The directive's namespace.
    pub namespace: String,
    /// The datums.
    pub data: Vec<Datum>,
}

/// Reads a line in CloudWatch's Embedded Metric Format: `None` when the line is not EMF (not a
/// JSON object with an `_aws` member), else the directives it carries or what is wrong with it.
pub fn parse_emf(line: &str) -> Option<Result<Vec<Emf>, String>> {
    let line = line.trim();
    if !line.starts_with('{') || !line.contains("\"_aws\"") {
        return None;
    }
    let value: Value = serde_json::from_str(line).ok()?;
    let aws = value.get("_aws")?;
    Some(emf_directives(&value, aws))
}

fn emf_directives(root: &Value, aws: &Value) -> Result<Vec<Emf>, String> {
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        return Err("_aws.CloudWatchMetrics must be a list".to_string());
    };
    let mut out = Vec::with_capacity(directives.len());
    for (d, directive) in directives.iter().enumerate() {
        let at = format!("_aws.CloudWatchMetrics[{d}]");
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}.Namespace must be a string"))?;
        let sets: Vec<Vec<&str>> = match directive.get("Dimensions") {
            None | Some(Value::Null) => vec![Vec::new()],
            Some(Value::Array(sets)) if sets.is_empty() => vec![Vec::new()],
            Some(Value::Array(sets)) => sets
                .iter()
                .enumerate()
                .map(|(s, set)| {
                    set.as_array()
                        .ok_or_else(|| format!("{at}.Dimensions[{s}] must be a list of names"))?
                        .iter()
                        .map(|k| {
                            k.as_str().ok_or_else(|| {
                                format!("{at}.Dimensions[{s}] must be a list of names")
                            })
                        })
                        .collect::<Result<Vec<&str>, String>>()
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("{at}.Dimensions must be a list of lists")),
        };
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}.Metrics must be a list"))?;
        let mut data = Vec::new();
        for (m, metric) in metrics.iter().enumerate() {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{at}.Metrics[{m}].Name must be a string"))?;
            let unit = match metric.get("Unit") {
                None | Some(Value::Null) => None,
                Some(Value::String(u)) => Some(u.clone()),
                Some(_) => return Err(format!("{at}.Metrics[{m}].Unit must be a string")),
            };
            let values = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().unwrap_or(f64::NAN)],
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_f64()
                            .ok_or_else(|| format!("the values of {name} must be numbers"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(format!("the value of {name} must be a number")),
                None => return Err(format!("the metric {name} has no member with its value")),
            };
            for set in &sets {
                let mut dimensions = BTreeMap::new();
                for key in set {
                    let value = match root.get(*key) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        Some(Value::Bool(b)) => b.to_string(),
                        _ => {
                            return Err(format!(
                                "the dimension {key} has no member with a string value"
                            ));
                        }
                    };
                    dimensions.insert((*key).to_string(), value);
                }
                data.push(Datum {
                    name: name.to_string(),
                    dimensions,
                    values: values.clone(),
                    unit: unit.clone(),
                });
            }
        }
        out.push(Emf {
            namespace: namespace.to_string(),
            data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;
    use std::sync::Arc;

    fn datum(name: &str, dims: &[(&str, &str)], values: &[f64], unit: Option<&str>) -> Datum {
        Datum {
            name: name.to_string(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            values: values.to_vec(),
            unit: unit.map(str::to_string),
        }
    }

    fn render(custom: &Arc<CustomMetrics>) -> String {
        let mut registry = Registry::with_prefix("weir");
        registry.register_collector(Box::new(Arc::clone(custom)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        text
    }

    #[test]
    fn counts_add_up_and_other_units_keep_the_last_value() {
        let custom = Arc::new(CustomMetrics::default());
        let rejected = datum("RecordsRejected", &[("stage", "validate")], &[2.0], None);
        custom
            .record(
                "orders",
                "data",
                std::slice::from_ref(&rejected),
                &[("function", "check")],
            )
            .expect("records");
        custom
            .record("orders", "data", &[rejected], &[("function", "check")])
            .expect("records");
        custom
            .record(
                "orders",
                "data",
                &[datum("load.seconds", &[], &[3.0, 1.5], Some("Seconds"))],
                &[],
            )
            .expect("records");
        let text = render(&custom);
        assert!(
            text.contains("# TYPE weir_custom_RecordsRejected counter"),
            "{text}"
        );
        assert!(
            text.contains(
                "weir_custom_RecordsRejected_total{function=\"check\",namespace=\"orders\",stage=\"validate\"} 4"
            ),
            "{text}"
        );
        assert!(
            text.contains("weir_custom_load_seconds{namespace=\"orders\"} 1.5"),
            "{text}"
        );
        assert_eq!(
            custom.families(),
            vec![
                ("weir_custom_RecordsRejected".to_string(), "counter"),
                ("weir_custom_load_seconds".to_string(), "gauge"),
            ]
        );
    }

    #[test]
    fn bad_data_is_refused_whole_and_named() {
        let custom = CustomMetrics::default();
        let good = datum("Processed", &[], &[1.0], Some("Count"));
        let negative = datum("Processed", &[], &[-1.0], Some("Count"));
        let error = custom
            .record("orders", "data", &[good.clone(), negative], &[])
            .expect_err("negative count");
        assert!(error.starts_with("data[1] (Processed)"), "{error}");
        assert!(custom.families().is_empty(), "nothing recorded");
        custom
            .record("orders", "data", &[good], &[])
            .expect("records");
        let error = custom
            .record(
                "orders",
                "data",
                &[datum("Processed", &[], &[1.0], Some("Seconds"))],
                &[],
            )
            .expect_err("type change");
        assert!(error.contains("first reported with unit Count"), "{error}");
        for (bad, why) in [
            (datum("", &[], &[1.0], None), "1 to 255"),
            (datum("x", &[], &[], None), "no value"),
            (datum("x", &[], &[f64::NAN], None), "finite"),
            (datum("x", &[("namespace", "a")], &[1.0], None), "taken"),
            (datum("x", &[("k", "")], &[1.0], None), "empty"),
        ] {
            let error = custom.record("orders", "data", &[bad], &[]).expect_err(why);
            assert!(error.contains(why), "{why}: {error}");
        }
        assert!(
            custom
                .record("", "data", &[datum("x", &[], &[1.0], None)], &[])
                .is_err()
        );
    }

    #[test]
    fn the_series_limit_holds() {
        let custom = CustomMetrics::default();
        let data: Vec<Datum> = (0..MAX_SERIES)
            .map(|i| datum("n", &[("i", &i.to_string())], &[1.0], None))
            .collect();
        custom
            .record("ns", "data", &data, &[])
            .expect("at the limit");
        let error = custom
            .record(
                "ns",
                "data",
                &[datum("n", &[("i", "new")], &[1.0], None)],
                &[],
            )
            .expect_err("over the limit");
        assert!(error.contains("at most 10000"), "{error}");
        custom
            .record(
                "ns",
                "data",
                &[datum("n", &[("i", "0")], &[1.0], None)],
                &[],
            )
            .expect("an existing series still counts");
    }

    #[test]
    fn emf_lines_are_read() {
        let line = r#"{"_aws":{"Timestamp":1764403200000,"CloudWatchMetrics":[{"Namespace":"orders","Dimensions":[["stage"],[]],"Metrics":[{"Name":"Rejected","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]},"stage":"validate","Rejected":3,"Latency":[12,14]}"#;
        let directives = parse_emf(line).expect("EMF").expect("valid");
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0].namespace, "orders");
        assert_eq!(
            directives[0].data,
            vec![
                datum("Rejected", &[("stage", "validate")], &[3.0], Some("Count")),
                datum("Rejected", &[], &[3.0], Some("Count")),
                datum(
                    "Latency",
                    &[("stage", "validate")],
                    &[12.0, 14.0],
                    Some("Milliseconds")
                ),
                datum("Latency", &[], &[12.0, 14.0], Some("Milliseconds")),
            ]
        );
        assert_eq!(parse_emf("processing 10 records"), None);
        assert_eq!(parse_emf(r#"{"level":"info"}"#), None);
        for (bad, why) in [
            (r#"{"_aws":{}}"#, "CloudWatchMetrics must be a list"),
            (
                r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[]}]}}"#,
                "Namespace",
            ),
            (
                r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Metrics":[{"Name":"x"}]}]}}"#,
                "no member with its value",
            ),
            (
                r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[{"Name":"x"}]}]},"x":1}"#,
                "the dimension d",
            ),
        ] {
            let error = parse_emf(bad).expect("EMF").expect_err(why);
            assert!(error.contains(why), "{why}: {error}");
        }
    }
}
