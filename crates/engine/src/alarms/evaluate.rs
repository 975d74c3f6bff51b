//! The pure part of metric alarms: from an alarm's definition, its current state and the
//! datapoints of its last `evaluationPeriods` periods to its next state and the reason, worded as
//! CloudWatch words it. No clock, no store, no metrics: the sampler in `alarms` feeds it.
//!
//! # Missing data (CloudWatch's documented rules)
//! - When none of the N datapoints is missing, the alarm is in ALARM when at least M of them
//!   breach, and OK otherwise; `treatMissingData` plays no part.
//! - `missing`: the real datapoints are evaluated alone; when all N are missing the alarm goes to
//!   INSUFFICIENT_DATA.
//! - `ignore`: as `missing`, but when all N are missing the alarm keeps its state.
//! - `breaching`: missing datapoints count as breaching, used only as few times as needed.
//! - `notBreaching`: missing datapoints count as within the threshold.

use super::{AlarmState, Comparison, MetricAlarm, MissingData};
use jiff::Timestamp;

/// One period's value: `None` when the metric had no data in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    /// The start of the period.
    pub at: Timestamp,
    /// The period's statistic.
    pub value: Option<f64>,
}

/// Whether `value` breaches the alarm's threshold.
pub fn breaches(alarm: &MetricAlarm, value: f64) -> bool {
    let t = alarm.threshold;
    match alarm.comparison {
        Comparison::GreaterThanThreshold => value > t,
        Comparison::GreaterThanOrEqualToThreshold => value >= t,
        Comparison::LessThanThreshold => value < t,
        Comparison::LessThanOrEqualToThreshold => value <= t,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn verb(n: usize) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

/// A datapoint as CloudWatch lists it in a reason: `5.0 (29/11/26 16:35:00)`.
fn shown(value: f64, at: Timestamp) -> String {
    format!("{value:?} ({})", at.strftime("%d/%m/%y %H:%M:%S"))
}

/// The alarm's next state and why, from `datapoints` (oldest first; only the last
/// `evaluation_periods` count, and fewer than that count as missing). With `ignore` and every
/// datapoint missing the answer is `current` and an empty reason: nothing changes.
pub fn evaluate(
    alarm: &MetricAlarm,
    current: AlarmState,
    datapoints: &[Datapoint],
) -> (AlarmState, String) {
    let n = alarm.evaluation_periods.max(1);
    let m = alarm.datapoints_to_alarm.clamp(1, n);
    let window = &datapoints[datapoints.len().saturating_sub(n)..];
    // Newest first, as CloudWatch lists them.
    let real: Vec<(f64, Timestamp)> = window
        .iter()
        .rev()
        .filter_map(|d| d.value.map(|v| (v, d.at)))
        .collect();
    let missing = n - real.len();
    let (breaching, within): (Vec<_>, Vec<_>) = real.iter().partition(|(v, _)| breaches(alarm, *v));
    let op = alarm.comparison.words();
    let threshold = alarm.threshold;
    let alarm_reason = |count: usize, listed: &[&(f64, Timestamp)]| {
        let list: Vec<String> = listed.iter().map(|(v, at)| shown(*v, *at)).collect();
        format!(
            "Threshold Crossed: {count} out of the last {n} datapoints [{}] {} {op} the threshold \
             ({threshold:?}) (minimum {} for {} -> ALARM transition).",
            list.join(", "),
            verb(count),
            plural(m, "datapoint", "datapoints"),
            current.as_str(),
        )
    };
    let ok_reason = |listed: &[&(f64, Timestamp)]| {
        let list: Vec<String> = listed.iter().map(|(v, at)| shown(*v, *at)).collect();
        format!(
            "Threshold Crossed: {} [{}] {} not {op} the threshold ({threshold:?}).",
            plural(listed.len(), "datapoint", "datapoints"),
            list.join(", "),
            verb(listed.len()),
        )
    };
    let all_missing = |treated: &str| {
        format!(
            "Threshold Crossed: no datapoints were received for {} and {} missing {} {} treated \
             as [{treated}].",
            plural(n, "period", "periods"),
            n,
            if n == 1 { "datapoint" } else { "datapoints" },
            verb(n),
        )
    };
    if breaching.len() >= m {
        return (AlarmState::Alarm, alarm_reason(breaching.len(), &breaching));
    }
    if missing == 0 {
        return (AlarmState::Ok, ok_reason(&within));
    }
    match alarm.treat_missing_data {
        MissingData::Missing | MissingData::Ignore if real.is_empty() => {
            if alarm.treat_missing_data == MissingData::Ignore {
                (current, String::new())
            } else {
                (
                    AlarmState::InsufficientData,
                    format!(
                        "Insufficient Data: {} {} unknown.",
                        plural(n, "datapoint", "datapoints"),
                        verb(n)
                    ),
                )
            }
        }
        MissingData::Missing | MissingData::Ignore => (AlarmState::Ok, ok_reason(&within)),
        MissingData::Breaching if breaching.len() + missing >= m => {
            if real.is_empty() {
                (AlarmState::Alarm, all_missing("Breaching"))
            } else {
                (
                    AlarmState::Alarm,
                    alarm_reason(breaching.len() + missing, &breaching),
                )
            }
        }
        MissingData::Breaching | MissingData::NotBreaching => {
            if real.is_empty() {
                (AlarmState::Ok, all_missing("NonBreaching"))
            } else {
                (AlarmState::Ok, ok_reason(&within))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{MetricAlarm, Statistic};
    use std::collections::BTreeMap;

    fn alarm(n: usize, m: usize, treat: MissingData) -> MetricAlarm {
        MetricAlarm {
            metric_name: "weir_queue_events_total".into(),
            dimensions: BTreeMap::new(),
            statistic: Statistic::Sum,
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 1.0,
            comparison: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: treat,
        }
    }

    /// `X` breaches, `0` does not, `-` is missing; oldest first.
    fn points(text: &str) -> Vec<Datapoint> {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a timestamp");
        text.chars()
            .filter(|c| !c.is_whitespace())
            .enumerate()
            .map(|(i, c)| Datapoint {
                at: t0 + jiff::SignedDuration::from_mins(i as i64),
                value: match c {
                    'X' => Some(5.0),
                    '0' => Some(0.0),
                    _ => None,
                },
            })
            .collect()
    }

    #[test]
    fn missing_data_table() {
        use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};
        // CloudWatch's rules for 3 of 3, from state OK then from state ALARM: datapoints,
        // then missing / ignore / breaching / notBreaching.
        let cases = [
            ("0 X X", [O, O, O, O], [O, O, O, O]),
            ("0 0 X", [O, O, O, O], [O, O, O, O]),
            ("0 0 0", [O, O, O, O], [O, O, O, O]),
            ("X X X", [A, A, A, A], [A, A, A, A]),
            ("0 0 -", [O, O, O, O], [O, O, O, O]),
            ("0 - -", [O, O, O, O], [O, O, O, O]),
            ("X X -", [O, O, A, O], [O, O, A, O]),
            ("X - -", [O, O, A, O], [O, O, A, O]),
            ("- - -", [I, O, A, O], [I, A, A, O]),
        ];
        let treatments = [
            MissingData::Missing,
            MissingData::Ignore,
            MissingData::Breaching,
            MissingData::NotBreaching,
        ];
        for (data, from_ok, from_alarm) in cases {
            for (current, expected) in [(O, from_ok), (A, from_alarm)] {
                for (treat, want) in treatments.iter().zip(expected) {
                    let (got, _) = evaluate(&alarm(3, 3, *treat), current, &points(data));
                    assert_eq!(got, want, "{data} {treat:?} from {current:?}");
                }
            }
        }
    }

    #[test]
    fn m_of_n() {
        let a = alarm(5, 2, MissingData::Missing);
        assert_eq!(
            evaluate(&a, AlarmState::Ok, &points("0 X 0 0 X")).0,
            AlarmState::Alarm
        );
        assert_eq!(
            evaluate(&a, AlarmState::Ok, &points("0 0 0 0 X")).0,
            AlarmState::Ok
        );
        // Only the last N count.
        assert_eq!(
            evaluate(&a, AlarmState::Ok, &points("X 0 0 0 0 X")).0,
            AlarmState::Ok
        );
    }

    #[test]
    fn reasons_are_worded_as_cloudwatch_words_them() {
        let a = alarm(1, 1, MissingData::Missing);
        let (_, reason) = evaluate(&a, AlarmState::Ok, &points("X"));
        assert_eq!(
            reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (01/01/26 00:00:00)] was \
             greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM \
             transition)."
        );
        let (_, reason) = evaluate(&a, AlarmState::Alarm, &points("0"));
        assert_eq!(
            reason,
            "Threshold Crossed: 1 datapoint [0.0 (01/01/26 00:00:00)] was not greater than or \
             equal to the threshold (1.0)."
        );
        let (_, reason) = evaluate(&a, AlarmState::Ok, &points("-"));
        assert_eq!(reason, "Insufficient Data: 1 datapoint was unknown.");
        let b = alarm(2, 1, MissingData::NotBreaching);
        let (_, reason) = evaluate(&b, AlarmState::Alarm, &points("- -"));
        assert_eq!(
            reason,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing \
             datapoints were treated as [NonBreaching]."
        );
    }
}
