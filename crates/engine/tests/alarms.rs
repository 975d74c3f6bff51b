//! Alarms on weir's own metrics through the engine on a real SQLite file and a manual clock: an
//! M-of-N metric alarm on a queue's sent counter moves INSUFFICIENT_DATA -> OK -> ALARM -> OK,
//! each transition recorded in its history and published to a topic whose queue subscription we
//! read; a composite alarm follows its rule; histograms and unknown metrics are refused.

mod support;

use engine::alarms::{
    Actions, AlarmKind, AlarmState, Comparison, MetricAlarm, MissingData, NewAlarm, Statistic,
};
use engine::queues::{ReceiveRequest, SendRequest};
use engine::{Engine, Handlers, ManualClock};
use jiff::SignedDuration;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::setup;

fn sent_alarm(name: &str, queue: &str, topic: &str) -> NewAlarm {
    NewAlarm {
        name: name.to_string(),
        description: String::new(),
        kind: AlarmKind::Metric(MetricAlarm {
            metric_name: "weir_queue_events_total".to_string(),
            dimensions: [("queue", queue), ("event", "sent")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            statistic: Statistic::Sum,
            period: 60,
            evaluation_periods: 3,
            datapoints_to_alarm: 2,
            threshold: 2.0,
            comparison: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: MissingData::Missing,
        }),
        actions: Actions {
            alarm: vec![topic.to_string()],
            ok: vec![topic.to_string()],
            insufficient_data: Vec::new(),
        },
    }
}

async fn send(engine: &Engine, queue: &str, n: usize) {
    let requests = (0..n)
        .map(|i| SendRequest {
            body: format!("m{i}"),
            ..SendRequest::default()
        })
        .collect();
    engine.send_messages(queue, requests).await.expect("sends");
}

/// Advances one period and waits (on the wall, up to ten seconds) until every alarm named was
/// evaluated at the new time.
async fn period(engine: &Engine, clock: &ManualClock, names: &[&str]) {
    clock.advance(SignedDuration::from_secs(60));
    let now = engine::Clock::now(clock);
    for _ in 0..1000 {
        if names.iter().all(|n| engine.alarm_evaluated(n) == Some(now)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("alarms not evaluated at {now}");
}

async fn state(engine: &Engine, name: &str) -> AlarmState {
    engine
        .get_alarm(name)
        .await
        .expect("the alarm exists")
        .state
}

#[tokio::test]
async fn m_of_n_alarm_notifies_its_topic_and_a_composite_follows() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    let none = BTreeMap::new();
    for queue in ["work", "other"] {
        engine
            .create_queue(queue, &none, &none)
            .await
            .expect("queue");
    }
    let topic = support::topic_into_queue(&engine, "alerts", "inbox").await;
    let a = engine
        .put_alarm(sent_alarm("a", "work", &topic))
        .await
        .expect("puts a");
    assert_eq!(a.state, AlarmState::InsufficientData);
    assert_eq!(a.reason, "Unchecked: Initial alarm creation");
    engine
        .put_alarm(sent_alarm("b", "other", ""))
        .await
        .expect_err("no such topic");
    let mut b = sent_alarm("b", "other", &topic);
    b.actions = Actions::default();
    engine.put_alarm(b).await.expect("puts b");
    let composite = NewAlarm {
        name: "c".to_string(),
        description: String::new(),
        kind: AlarmKind::Composite(r#"ALARM("a") AND OK("b")"#.to_string()),
        actions: Actions::default(),
    };
    engine.put_alarm(composite).await.expect("puts c");
    let all = ["a", "b", "c"];

    // [3]: one breaching datapoint of the two needed and nothing within the threshold: with
    // `missing`, CloudWatch has nothing to conclude (INSUFFICIENT_DATA).
    send(&engine, "work", 3).await;
    period(&engine, &clock, &all).await;
    assert_eq!(state(&engine, "a").await, AlarmState::InsufficientData);
    assert_eq!(state(&engine, "b").await, AlarmState::Ok);
    assert_eq!(state(&engine, "c").await, AlarmState::Ok);
    // [3, 2]: two of three.
    send(&engine, "work", 2).await;
    period(&engine, &clock, &all).await;
    assert_eq!(state(&engine, "a").await, AlarmState::Alarm);
    assert_eq!(state(&engine, "c").await, AlarmState::Alarm);
    // [3, 2, 0]: still two of three.
    period(&engine, &clock, &all).await;
    assert_eq!(state(&engine, "a").await, AlarmState::Alarm);
    // [2, 0, 1]: one of three.
    send(&engine, "work", 1).await;
    period(&engine, &clock, &all).await;
    let a = engine.get_alarm("a").await.expect("a");
    assert_eq!(a.state, AlarmState::Ok);
    assert_eq!(
        a.reason,
        "Threshold Crossed: 2 datapoints [1.0 (01/01/26 00:03:00), 0.0 (01/01/26 00:02:00)] were \
         not greater than or equal to the threshold (2.0)."
    );
    let summaries: Vec<&str> = a.history.iter().map(|h| h.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Alarm \"a\" created",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
            "Alarm updated from ALARM to OK",
        ]
    );
    assert_eq!(state(&engine, "c").await, AlarmState::Ok);

    let received = engine
        .receive_messages(
            "inbox",
            &ReceiveRequest {
                max: 10,
                visibility_timeout: Some(60),
                wait_seconds: Some(0),
            },
        )
        .await
        .expect("receives");
    let notes: Vec<Value> = received
        .iter()
        .map(|m| serde_json::from_str(&m.body).expect("JSON"))
        .collect();
    let changes: Vec<(&str, &str)> = notes
        .iter()
        .map(|n| {
            (
                n["OldStateValue"].as_str().unwrap_or_default(),
                n["NewStateValue"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(changes, [("INSUFFICIENT_DATA", "ALARM"), ("ALARM", "OK")]);
    assert_eq!(notes[0]["AlarmName"], "a");
    assert_eq!(notes[0]["StateChangeTime"], "2026-01-01T00:02:00Z");
    assert!(
        notes[0]["NewStateReason"]
            .as_str()
            .is_some_and(|r| r.starts_with("Threshold Crossed: 2 out of the last 3 datapoints"))
    );

    engine
        .delete_alarms(&["a".to_string(), "nope".to_string()])
        .await
        .expect_err("nope does not exist");
    engine
        .delete_alarms(&["c".to_string()])
        .await
        .expect("deletes");
    let left: Vec<String> = engine
        .list_alarms("")
        .await
        .expect("lists")
        .into_iter()
        .map(|r| r.alarm.name)
        .collect();
    assert_eq!(left, ["a", "b"]);
}

#[tokio::test]
async fn missing_data_goes_to_insufficient_data_and_histograms_are_refused() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    let mut alarm = sent_alarm("quiet", "nowhere", "");
    alarm.actions = Actions::default();
    if let AlarmKind::Metric(m) = &mut alarm.kind {
        m.evaluation_periods = 1;
        m.datapoints_to_alarm = 1;
        m.treat_missing_data = MissingData::Breaching;
    }
    engine.put_alarm(alarm.clone()).await.expect("puts");
    period(&engine, &clock, &["quiet"]).await;
    let quiet = engine.get_alarm("quiet").await.expect("quiet");
    assert_eq!(quiet.state, AlarmState::Alarm);
    assert_eq!(
        quiet.reason,
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was \
         treated as [Breaching]."
    );
    if let AlarmKind::Metric(m) = &mut alarm.kind {
        m.treat_missing_data = MissingData::Missing;
    }
    engine.put_alarm(alarm.clone()).await.expect("replaces");
    period(&engine, &clock, &["quiet"]).await;
    assert_eq!(state(&engine, "quiet").await, AlarmState::InsufficientData);

    for (metric, error) in [
        ("weir_execution_duration_seconds", "histogram"),
        ("weir_nothing_total", "not a weir metric"),
    ] {
        if let AlarmKind::Metric(m) = &mut alarm.kind {
            m.metric_name = metric.to_string();
        }
        let refused = engine.put_alarm(alarm.clone()).await.expect_err("refused");
        assert!(refused.to_string().contains(error), "{refused}");
    }
}

#[tokio::test]
async fn a_deadline_alert_fires_while_the_execution_still_runs_and_only_once() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    let topic = support::topic_into_queue(&engine, "late", "pager").await;
    let machine = support::create(
        &engine,
        "nightly",
        serde_json::json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;
    engine
        .put_deadline_alert(&engine::alarms::deadlines::DeadlineAlert {
            name: "nightly-late".to_string(),
            state_machine_arn: machine.clone(),
            after_seconds: 600,
            actions: vec![topic.clone()],
        })
        .await
        .expect("puts the alert");
    let run = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let take = || ReceiveRequest {
        max: 10,
        visibility_timeout: Some(600),
        wait_seconds: Some(0),
    };

    // Nine minutes in: nothing yet.
    clock.advance(SignedDuration::from_secs(540));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        engine
            .receive_messages("pager", &take())
            .await
            .expect("receives")
            .is_empty()
    );

    // Eleven minutes in, the execution still waiting: one alert.
    clock.advance(SignedDuration::from_secs(120));
    let mut got = Vec::new();
    for _ in 0..200 {
        got = engine
            .receive_messages("pager", &take())
            .await
            .expect("receives");
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.len(), 1, "one announcement");
    let alert: Value = serde_json::from_str(&got[0].body).expect("a JSON message");
    assert_eq!(alert["ExecutionArn"], run.execution_arn.as_str());
    assert_eq!(alert["AlertName"], "nightly-late");
    assert!(alert["RunningSeconds"].as_u64().expect("seconds") >= 600);
    let status = engine
        .describe_execution(&run.execution_arn)
        .await
        .expect("describes")
        .status;
    assert_eq!(
        status, "RUNNING",
        "the alert comes while the execution runs"
    );

    // Later ticks do not announce it again.
    clock.advance(SignedDuration::from_secs(120));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        engine
            .receive_messages("pager", &take())
            .await
            .expect("receives")
            .is_empty()
    );
    assert_eq!(engine.deadline_alerts().await.expect("lists").len(), 1);
    assert!(
        engine
            .delete_deadline_alert("nightly-late")
            .await
            .expect("deletes")
    );
}

#[tokio::test]
async fn an_alarm_watches_a_custom_metric_put_before_it_is_first_reported() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    let alarm = NewAlarm {
        name: "rejects".to_string(),
        description: String::new(),
        kind: AlarmKind::Metric(MetricAlarm {
            metric_name: "weir_custom_RecordsRejected_total".to_string(),
            dimensions: [("namespace", "orders")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            statistic: Statistic::Sum,
            period: 60,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold: 5.0,
            comparison: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: MissingData::NotBreaching,
        }),
        actions: Actions::default(),
    };
    // Nothing reported yet: the alarm may still be put (as CloudWatch allows).
    engine.put_alarm(alarm.clone()).await.expect("puts");
    let report = |values: &[f64]| {
        engine
            .reporter()
            .custom
            .record(
                "orders",
                "data",
                &[engine::metrics::custom::Datum {
                    name: "RecordsRejected".to_string(),
                    dimensions: BTreeMap::new(),
                    values: values.to_vec(),
                    unit: Some("Count".to_string()),
                }],
                &[],
            )
            .expect("records")
    };
    report(&[1.0, 2.0]);
    period(&engine, &clock, &["rejects"]).await;
    assert_eq!(state(&engine, "rejects").await, AlarmState::Ok);
    // The datapoint is the period's sum of what was reported: 2 + 4 = 6 >= 5.
    report(&[2.0, 4.0]);
    period(&engine, &clock, &["rejects"]).await;
    let record = engine.get_alarm("rejects").await.expect("the alarm");
    assert_eq!(record.state, AlarmState::Alarm);
    assert!(
        record.reason.contains("[6.0 (01/01/26 00:01:00)]"),
        "{}",
        record.reason
    );
    period(&engine, &clock, &["rejects"]).await;
    assert_eq!(state(&engine, "rejects").await, AlarmState::Ok);

    // The custom prefix alone names no metric.
    let mut gauge = alarm.clone();
    if let AlarmKind::Metric(m) = &mut gauge.kind {
        m.metric_name = "weir_custom_".to_string();
    }
    let refused = engine
        .put_alarm(gauge)
        .await
        .expect_err("no name after the prefix");
    assert!(
        refused.to_string().contains("not a weir metric"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_alarms_window_survives_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(support::t0()));
    let start = || support::engine_with(support::open(&dir), clock.clone(), Handlers::new());
    let first = start().await;
    let none = BTreeMap::new();
    first
        .create_queue("work", &none, &none)
        .await
        .expect("queue");
    let mut alarm = sent_alarm("busy", "work", "");
    alarm.actions = Actions::default();
    first.put_alarm(alarm).await.expect("puts");
    // One breaching period of the two needed.
    send(&first, "work", 3).await;
    period(&first, &clock, &["busy"]).await;
    assert_eq!(state(&first, "busy").await, AlarmState::InsufficientData);
    drop(first);

    // The second process goes on with the stored window: its first period breaches too, and
    // with the one before the restart that makes two of three.
    let second = start().await;
    send(&second, "work", 2).await;
    period(&second, &clock, &["busy"]).await;
    let record = second.get_alarm("busy").await.expect("the alarm");
    assert_eq!(record.state, AlarmState::Alarm, "{}", record.reason);
    assert!(
        record.reason.contains("3.0 (01/01/26 00:00:00)"),
        "the datapoint from before the restart counts: {}",
        record.reason
    );
}
