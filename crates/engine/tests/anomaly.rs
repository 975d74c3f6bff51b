//! Anomaly-detection alarms through the engine on a real SQLite file and a manual clock: an
//! alarm on a queue's sent counter, with an hourly period (24 buckets a day), learns a daily
//! pattern driven by sending messages. It has no band the first day, stays OK over the pattern,
//! goes to ALARM on a spike with a notification to its topic, back to OK after, and keeps its
//! learned model when the engine is reopened on the same file.

mod support;

use engine::alarms::{
    Actions, AlarmKind, AlarmState, AnomalyBand, Comparison, MetricAlarm, MissingData, NewAlarm,
    Statistic,
};
use engine::queues::{ReceiveRequest, SendRequest};
use engine::{Engine, Handlers, ManualClock};
use jiff::SignedDuration;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{engine_with, open, setup};

const HOUR: i64 = 3600;

fn traffic_alarm(topic: &str) -> NewAlarm {
    NewAlarm {
        name: "traffic".to_string(),
        description: "Sends outside the usual daily pattern".to_string(),
        kind: AlarmKind::Anomaly(
            MetricAlarm {
                metric_name: "weir_queue_events_total".to_string(),
                dimensions: [("queue", "work"), ("event", "sent")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                statistic: Statistic::Sum,
                period: HOUR as u64,
                evaluation_periods: 1,
                datapoints_to_alarm: 1,
                threshold: 0.0,
                comparison: Comparison::LessThanLowerOrGreaterThanUpperThreshold,
                treat_missing_data: MissingData::Missing,
            },
            AnomalyBand {
                width: 2.0,
                metric_id: "m1".to_string(),
                band_id: "ad1".to_string(),
            },
        ),
        actions: Actions {
            alarm: vec![topic.to_string()],
            ok: vec![topic.to_string()],
            insufficient_data: Vec::new(),
        },
    }
}

/// Messages sent in hour `i` (from the start): 10 at 03:00, 100 at 15:00, ±1 from day to day.
fn usual(i: i64) -> usize {
    let hour = (i % 24) as f64;
    let wave = 55.0 - 45.0 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos();
    let noise = ((i * 5 + i / 24) % 3) as f64 - 1.0;
    (wave + noise).round() as usize
}

async fn send(engine: &Engine, n: usize) {
    let requests = (0..n)
        .map(|i| SendRequest {
            body: format!("m{i}"),
            ..SendRequest::default()
        })
        .collect();
    engine.send_messages("work", requests).await.expect("sends");
}

/// Waits (on the wall, up to ten seconds) until the evaluator has seen the alarm at the clock's
/// current time.
async fn evaluated(engine: &Engine, clock: &ManualClock) {
    let now = engine::Clock::now(clock);
    for _ in 0..10_000 {
        if engine.alarm_evaluated("traffic") == Some(now) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("traffic not evaluated at {now}");
}

/// Sends `n` messages in the hour, ends it, and returns the alarm's state after it.
async fn hour(engine: &Engine, clock: &ManualClock, n: usize) -> AlarmState {
    send(engine, n).await;
    clock.advance(SignedDuration::from_secs(HOUR));
    evaluated(engine, clock).await;
    engine.get_alarm("traffic").await.expect("the alarm").state
}

fn notes(engine_notes: &[Value]) -> Vec<(&str, &str)> {
    engine_notes
        .iter()
        .map(|n| {
            (
                n["OldStateValue"].as_str().unwrap_or_default(),
                n["NewStateValue"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

async fn received(engine: &Engine) -> Vec<Value> {
    engine
        .receive_messages(
            "inbox",
            &ReceiveRequest {
                max: 10,
                visibility_timeout: Some(HOUR as u64),
                wait_seconds: Some(0),
            },
        )
        .await
        .expect("receives")
        .iter()
        .map(|m| serde_json::from_str(&m.body).expect("JSON"))
        .collect()
}

#[tokio::test]
async fn an_anomaly_alarm_learns_a_daily_pattern_flags_a_spike_and_survives_a_restart() {
    let (dir, engine, clock) = setup(Handlers::new()).await;
    let none = BTreeMap::new();
    engine
        .create_queue("work", &none, &none)
        .await
        .expect("queue");
    let topic = support::topic_into_queue(&engine, "alerts", "inbox").await;
    let put = engine.put_alarm(traffic_alarm(&topic)).await.expect("puts");
    assert_eq!(put.state, AlarmState::InsufficientData);
    assert_eq!(put.band, None);

    // Day 0: no band yet, every datapoint counts as missing.
    for i in 0..24 {
        assert_eq!(
            hour(&engine, &clock, usual(i)).await,
            AlarmState::InsufficientData,
            "hour {i}"
        );
    }
    // Days 1 to 3: OK all along, with the warm-up's band, then the seasonal one from day 3.
    for i in 24..96 {
        assert_eq!(
            hour(&engine, &clock, usual(i)).await,
            AlarmState::Ok,
            "hour {i}"
        );
    }
    // Day 4, 03:00 and 15:00: the band of the hour, narrow and far apart.
    for i in 96..99 {
        assert_eq!(hour(&engine, &clock, usual(i)).await, AlarmState::Ok);
    }
    let trough = engine.get_alarm("traffic").await.expect("the alarm").band;
    let trough = trough.expect("a band");
    assert!(
        trough.lower <= 10.0 && 10.0 <= trough.upper && trough.upper < 15.0,
        "{trough:?}"
    );
    for i in 99..111 {
        assert_eq!(hour(&engine, &clock, usual(i)).await, AlarmState::Ok);
    }
    let peak = engine.get_alarm("traffic").await.expect("the alarm").band;
    let peak = peak.expect("a band");
    assert!(
        peak.lower > 85.0 && peak.lower <= 100.0 && 100.0 <= peak.upper,
        "{peak:?}"
    );

    // 15:00: three times the usual peak.
    assert_eq!(hour(&engine, &clock, 300).await, AlarmState::Alarm);
    let alarm = engine.get_alarm("traffic").await.expect("the alarm");
    assert!(
        alarm.reason.starts_with(
            "Thresholds Crossed: 1 out of the last 1 datapoints [300.0 (05/01/26 15:00:00)] was \
             less than the lower thresholds ["
        ),
        "{}",
        alarm.reason
    );
    assert!(
        alarm
            .reason
            .ends_with("(minimum 1 datapoint for OK -> ALARM transition).")
    );
    // 16:00: as usual again.
    assert_eq!(hour(&engine, &clock, usual(112)).await, AlarmState::Ok);

    let notes_sent = received(&engine).await;
    assert_eq!(
        notes(&notes_sent),
        [
            ("INSUFFICIENT_DATA", "OK"),
            ("OK", "ALARM"),
            ("ALARM", "OK")
        ]
    );
    assert_eq!(notes_sent[1]["AlarmName"], "traffic");
    assert_eq!(notes_sent[1]["StateChangeTime"], "2026-01-05T16:00:00Z");

    // Reopened on the same file, the alarm has the band it had.
    let before = engine.get_alarm("traffic").await.expect("the alarm").band;
    let before = before.expect("a band");
    drop(engine);
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let after = engine.get_alarm("traffic").await.expect("the alarm").band;
    let after = after.expect("the learned band survives");
    assert!(
        (after.lower - before.lower).abs() < 1e-6 && (after.upper - before.upper).abs() < 1e-6,
        "{before:?} {after:?}"
    );
    // Its evaluator starts the window, with the stored model: the next usual hour is judged at
    // once (a new model would have no band: INSUFFICIENT_DATA), and a drop to 0 is an anomaly.
    evaluated(&engine, &clock).await;
    assert_eq!(hour(&engine, &clock, usual(113)).await, AlarmState::Ok);
    assert_eq!(hour(&engine, &clock, 0).await, AlarmState::Alarm);

    // Deleting the alarm deletes its model: a new alarm of the same name starts afresh.
    engine
        .delete_alarms(&["traffic".to_string()])
        .await
        .expect("deletes");
    let put = engine
        .put_alarm(traffic_alarm(&topic))
        .await
        .expect("puts again");
    assert_eq!(put.band, None);
}

#[tokio::test]
async fn band_operators_and_anomaly_alarms_go_together() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    let mut alarm = traffic_alarm("");
    alarm.actions = Actions::default();
    let AlarmKind::Anomaly(metric, band) = alarm.kind.clone() else {
        unreachable!("an anomaly alarm")
    };
    let cases = [
        (
            AlarmKind::Metric(metric.clone()),
            "ComparisonOperator: LessThanLowerOrGreaterThanUpperThreshold compares with an \
             anomaly detection band",
        ),
        (
            AlarmKind::Anomaly(
                MetricAlarm {
                    comparison: Comparison::GreaterThanThreshold,
                    ..metric.clone()
                },
                band.clone(),
            ),
            "ComparisonOperator: GreaterThanThreshold compares with Threshold",
        ),
        (
            AlarmKind::Anomaly(
                metric.clone(),
                AnomalyBand {
                    width: 0.0,
                    ..band.clone()
                },
            ),
            "the width must be a positive number",
        ),
        (
            AlarmKind::Anomaly(
                metric.clone(),
                AnomalyBand {
                    band_id: "m1".to_string(),
                    ..band.clone()
                },
            ),
            "two distinct ids",
        ),
    ];
    for (kind, error) in cases {
        alarm.kind = kind;
        let refused = engine.put_alarm(alarm.clone()).await.expect_err("refused");
        assert!(refused.to_string().contains(error), "{refused}");
    }
}
