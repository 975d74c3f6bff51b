//! `weir alarms` against a real `weir server`: metric and composite alarms put with the CLI,
//! listed as a table and as JSON, their history read back, one replaced and some deleted; and
//! every bad alarm refused with an error that names what is wrong, a non-zero exit status and
//! nothing created.

mod support;

use serde_json::{Value, json};
use support::{Server, Weir, row};

const ARN: &str = "arn:aws:cloudwatch:us-east-1:000000000000:alarm";

/// The names of the alarms of one kind in `weir alarms list --json`.
fn names(listed: &Value, kind: &str) -> Vec<String> {
    listed[kind]
        .as_array()
        .expect("a list of alarms")
        .iter()
        .map(|a| a["alarmName"].as_str().expect("a name").to_string())
        .collect()
}

#[test]
fn alarms_put_with_the_cli_are_listed_kept_in_history_and_deleted() {
    let server = Server::start();
    let topic = server
        .weir(&["topics", "create", "pager", "--json"])
        .exits(0)
        .json()["topicArn"]
        .as_str()
        .expect("a topic ARN")
        .to_string();

    let put = server
        .weir(&[
            "alarms",
            "put",
            "failures",
            "--metric",
            "weir_executions_ended_total",
            "--dimension",
            "status=FAILED",
            "--dimension",
            "state_machine=nightly",
            "--statistic",
            "Sum",
            "--period",
            "300",
            "--evaluation-periods",
            "3",
            "--datapoints-to-alarm",
            "2",
            "--threshold",
            "1",
            "--comparison",
            "GreaterThanOrEqualToThreshold",
            "--missing",
            "notBreaching",
            "--alarm-action",
            &topic,
            "--ok-action",
            &topic,
        ])
        .exits(0);
    assert_eq!(
        put.stdout.trim(),
        format!("{ARN}:failures INSUFFICIENT_DATA")
    );
    // The defaults: 1 of 1 period of 60 s, greater than, missing data as missing.
    let backlog = server
        .weir(&[
            "alarms",
            "put",
            "backlog",
            "--metric",
            "weir_queue_messages",
            "--dimension",
            "state=visible",
            "--statistic",
            "Maximum",
            "--threshold",
            "100",
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(backlog["alarmArn"], format!("{ARN}:backlog").as_str());
    assert_eq!(backlog["stateValue"], "INSUFFICIENT_DATA");
    for (member, value) in [
        ("period", json!(60)),
        ("evaluationPeriods", json!(1)),
        ("datapointsToAlarm", json!(1)),
        ("comparisonOperator", json!("GreaterThanThreshold")),
        ("treatMissingData", json!("missing")),
        ("threshold", json!(100.0)),
        ("alarmActions", json!([])),
    ] {
        assert_eq!(backlog[member], value, "{member}");
    }
    let rule = r#"ALARM("failures") AND NOT OK("backlog")"#;
    let both = server
        .weir(&[
            "alarms",
            "put",
            "both",
            "--rule",
            rule,
            "--alarm-action",
            &topic,
        ])
        .exits(0);
    assert!(
        both.stdout.starts_with(&format!("{ARN}:both ")),
        "{}",
        both.stdout
    );

    let listed = server.weir(&["alarms", "list"]).exits(0);
    assert_eq!(
        row(&listed.stdout, "NAME"),
        ["NAME", "STATE", "UPDATED", "REASON"]
    );
    let failures = row(&listed.stdout, "failures");
    assert_eq!(failures[1], "INSUFFICIENT_DATA");
    assert!(failures[2].ends_with('Z'), "{failures:?}");
    assert_eq!(failures[3..].join(" "), "Unchecked: Initial alarm creation");
    assert_eq!(row(&listed.stdout, "backlog")[1], "INSUFFICIENT_DATA");
    // A composite alarm is evaluated every second: its rule is false (failures is not in ALARM).
    let state = row(&listed.stdout, "both")[1].clone();
    assert!(
        ["INSUFFICIENT_DATA", "OK"].contains(&state.as_str()),
        "{}",
        listed.stdout
    );

    let listed = server.weir(&["alarms", "list", "--json"]).exits(0).json();
    assert_eq!(names(&listed, "metricAlarms"), ["backlog", "failures"]);
    assert_eq!(names(&listed, "compositeAlarms"), ["both"]);
    let failures = &listed["metricAlarms"][1];
    assert_eq!(failures["metricName"], "weir_executions_ended_total");
    assert_eq!(
        failures["dimensions"],
        json!([{"name": "state_machine", "value": "nightly"},
               {"name": "status", "value": "FAILED"}])
    );
    for (member, value) in [
        ("statistic", json!("Sum")),
        ("period", json!(300)),
        ("evaluationPeriods", json!(3)),
        ("datapointsToAlarm", json!(2)),
        ("threshold", json!(1.0)),
        ("comparisonOperator", json!("GreaterThanOrEqualToThreshold")),
        ("treatMissingData", json!("notBreaching")),
        ("alarmActions", json!([topic])),
        ("okActions", json!([topic])),
        ("insufficientDataActions", json!([])),
    ] {
        assert_eq!(failures[member], value, "{member}");
    }
    let composite = &listed["compositeAlarms"][0];
    assert_eq!(composite["alarmRule"], rule);
    assert_eq!(composite["alarmActions"], json!([topic]));

    let history = server.weir(&["alarms", "history", "failures"]).exits(0);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", history.stdout);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME", "ALARM", "TYPE", "SUMMARY"]
    );
    assert_eq!(
        lines[1].split_whitespace().skip(1).collect::<Vec<_>>(),
        [
            "failures",
            "ConfigurationUpdate",
            "Alarm",
            "\"failures\"",
            "created"
        ]
    );

    // Put again: the definition changes, the state and the history stay.
    server
        .weir(&[
            "alarms",
            "put",
            "failures",
            "--metric",
            "weir_executions_ended_total",
            "--dimension",
            "status=FAILED",
            "--threshold",
            "5",
        ])
        .exits(0);
    let history = server
        .weir(&["alarms", "history", "failures", "--json"])
        .exits(0)
        .json();
    let summaries: Vec<&str> = history["alarmHistoryItems"]
        .as_array()
        .expect("history items")
        .iter()
        .map(|i| i["historySummary"].as_str().expect("a summary"))
        .collect();
    assert_eq!(
        summaries,
        ["Alarm \"failures\" updated", "Alarm \"failures\" created"]
    );
    let all = server
        .weir(&["alarms", "history", "--json"])
        .exits(0)
        .json();
    let created: Vec<&str> = all["alarmHistoryItems"]
        .as_array()
        .expect("history items")
        .iter()
        .filter(|i| i["historyItemType"] == "ConfigurationUpdate")
        .map(|i| i["alarmName"].as_str().expect("a name"))
        .collect();
    assert_eq!(created.len(), 4, "{all}");
    for name in ["failures", "backlog", "both"] {
        assert!(created.contains(&name), "{all}");
    }
    let listed = server.weir(&["alarms", "list", "--json"]).exits(0).json();
    let failures = &listed["metricAlarms"][1];
    assert_eq!(failures["threshold"], json!(5.0));
    assert_eq!(
        failures["dimensions"],
        json!([{"name": "status", "value": "FAILED"}])
    );
    assert_eq!(failures["stateValue"], "INSUFFICIENT_DATA");

    let deleted = server
        .weir(&["alarms", "delete", "both", "backlog"])
        .exits(0);
    assert_eq!(deleted.stdout.trim(), "deleted both backlog");
    let listed = server.weir(&["alarms", "list", "--json"]).exits(0).json();
    assert_eq!(names(&listed, "metricAlarms"), ["failures"]);
    assert_eq!(names(&listed, "compositeAlarms"), Vec::<String>::new());
    server.stop();
}

#[test]
fn bad_alarms_are_refused_naming_what_is_wrong() {
    let server = Server::start();
    server
        .weir(&[
            "alarms",
            "put",
            "failures",
            "--metric",
            "weir_executions_ended_total",
            "--dimension",
            "status=FAILED",
        ])
        .exits(0);
    let gauge = ["--metric", "weir_queue_messages"];
    let long = "x".repeat(256);
    let refused: [(&str, &str, &[&str], &[&str]); 12] = [
        (
            "an unknown metric",
            "bad",
            &["--metric", "weir_nope_total"],
            &["ValidationError: MetricName: weir_nope_total is not a weir metric"],
        ),
        (
            "a histogram",
            "bad",
            &["--metric", "weir_task_duration_seconds"],
            &[
                "ValidationError: MetricName: weir_task_duration_seconds is a histogram; alarms \
                 watch counters and gauges only",
            ],
        ),
        (
            "a bad comparison operator",
            "bad",
            &[gauge[0], gauge[1], "--comparison", "Bigger"],
            &[
                "ValidationError: comparisonOperator must be one of GreaterThanThreshold",
                "LessThanOrEqualToThreshold",
                "not Bigger",
            ],
        ),
        (
            "more datapoints to alarm than periods evaluated",
            "bad",
            &[
                gauge[0],
                gauge[1],
                "--evaluation-periods",
                "2",
                "--datapoints-to-alarm",
                "3",
            ],
            &["ValidationError: DatapointsToAlarm must be between 1 and EvaluationPeriods"],
        ),
        (
            "no period evaluated",
            "bad",
            &[gauge[0], gauge[1], "--evaluation-periods", "0"],
            &["ValidationError: evaluationPeriods must be at least 1, not 0"],
        ),
        (
            "a bad statistic",
            "bad",
            &[gauge[0], gauge[1], "--statistic", "Median"],
            &["ValidationError: statistic must be one of", "not Median"],
        ),
        (
            "a bad missing-data treatment",
            "bad",
            &[gauge[0], gauge[1], "--missing", "sometimes"],
            &[
                "ValidationError: treatMissingData must be one of",
                "notBreaching",
                "not sometimes",
            ],
        ),
        (
            "an action that is not a topic",
            "bad",
            &[
                gauge[0],
                gauge[1],
                "--alarm-action",
                "arn:aws:sns:us-east-1:000000000000:nowhere",
            ],
            &[
                "ValidationError: Invalid action: arn:aws:sns:us-east-1:000000000000:nowhere is \
                 not a weir topic",
            ],
        ),
        (
            "a rule naming a missing alarm",
            "bad",
            &["--rule", r#"ALARM("failures") OR ALARM("ghost")"#],
            &["ValidationError: AlarmRule: the alarm ghost does not exist"],
        ),
        (
            "a rule that does not parse",
            "bad",
            &["--rule", r#"ALARM("failures") OR"#],
            &["ValidationError: AlarmRule:"],
        ),
        (
            "a rule naming its own alarm",
            "bad",
            &["--rule", r#"ALARM("failures") OR ALARM("bad")"#],
            &["ValidationError: AlarmRule: an alarm cannot refer to itself"],
        ),
        (
            "a name too long",
            &long,
            &["--rule", r#"ALARM("failures")"#],
            &["ValidationError: AlarmName must be between 1 and 255 characters long"],
        ),
    ];
    for (what, name, options, said) in refused {
        let mut args = vec!["alarms", "put", name];
        args.extend_from_slice(options);
        let run = server.weir(&args).exits(1);
        assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
        assert!(run.stderr.starts_with("error: "), "{what}: {}", run.stderr);
        for words in said {
            assert!(run.stderr.contains(words), "{what}: {}", run.stderr);
        }
    }

    // Refused before any request: options that do not go together or do not parse.
    let clash = server
        .weir(&[
            "alarms",
            "put",
            "bad",
            "--rule",
            "ALARM(failures)",
            "--metric",
            "weir_queue_messages",
        ])
        .exits(2);
    assert!(clash.stderr.contains("--rule"), "{}", clash.stderr);
    let neither = server.weir(&["alarms", "put", "bad"]).exits(2);
    assert!(neither.stderr.contains("--metric"), "{}", neither.stderr);
    let dimension = server
        .weir(&[
            "alarms",
            "put",
            "bad",
            "--metric",
            "weir_queue_messages",
            "--dimension",
            "visible",
        ])
        .exits(2);
    assert!(
        dimension
            .stderr
            .contains("expected NAME=VALUE, not \"visible\""),
        "{}",
        dimension.stderr
    );

    let unknown = server
        .weir(&["alarms", "delete", "failures", "ghost"])
        .exits(1);
    assert!(
        unknown
            .stderr
            .contains("ResourceNotFound: Alarm ghost does not exist"),
        "{}",
        unknown.stderr
    );
    let history = server.weir(&["alarms", "history", "ghost"]).exits(1);
    assert!(
        history
            .stderr
            .contains("ResourceNotFound: Alarm ghost does not exist"),
        "{}",
        history.stderr
    );
    // Nothing was made, and the failed delete deleted nothing.
    let listed = server.weir(&["alarms", "list", "--json"]).exits(0).json();
    assert_eq!(names(&listed, "metricAlarms"), ["failures"]);
    assert_eq!(names(&listed, "compositeAlarms"), Vec::<String>::new());
    server.stop();
}

#[test]
fn an_anomaly_band_alarm_is_put_with_the_cli() {
    let server = Server::start();
    let put = server
        .weir(&[
            "alarms",
            "put",
            "odd-traffic",
            "--metric",
            "weir_queue_events_total",
            "--dimension",
            "queue=orders",
            "--dimension",
            "event=sent",
            "--period",
            "3600",
            "--anomaly-band",
            "2.5",
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(
        put["comparisonOperator"],
        "LessThanLowerOrGreaterThanUpperThreshold"
    );
    let metrics = put["metrics"].as_array().expect("metrics");
    let band_id = put["thresholdMetricId"]
        .as_str()
        .expect("thresholdMetricId");
    let band = metrics
        .iter()
        .find(|m| m["id"] == band_id)
        .expect("the band's expression");
    let metric = metrics
        .iter()
        .find(|m| m.get("metricStat").is_some())
        .expect("the metric");
    assert_eq!(
        band["expression"],
        format!(
            "ANOMALY_DETECTION_BAND({}, 2.5)",
            metric["id"].as_str().expect("an id")
        )
    );
    assert_eq!(
        metric["metricStat"]["metric"]["metricName"],
        "weir_queue_events_total"
    );
    assert_eq!(put["stateValue"], "INSUFFICIENT_DATA");

    for (args, error) in [
        (
            &[
                "--anomaly-band",
                "2",
                "--comparison",
                "GreaterThanThreshold",
            ][..],
            "GreaterThanThreshold",
        ),
        (&["--anomaly-band", "0"][..], "width"),
        (
            &["--anomaly-band", "2", "--threshold", "3"][..],
            "--threshold",
        ),
    ] {
        let mut command = vec![
            "alarms",
            "put",
            "bad-band",
            "--metric",
            "weir_queue_events_total",
        ];
        command.extend_from_slice(args);
        let refused = server.weir(&command);
        assert_ne!(refused.code, 0, "{args:?} was accepted");
        assert!(
            refused.stderr.contains(error),
            "{args:?}: {}",
            refused.stderr
        );
    }
    // A custom metric by its namespace, as CloudWatch names it.
    let custom = server
        .weir(&[
            "alarms",
            "put",
            "rejects",
            "--namespace",
            "orders",
            "--metric",
            "RecordsRejected",
            "--dimension",
            "stage=validate",
            "--threshold",
            "10",
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(custom["namespace"], "orders");
    assert_eq!(custom["metricName"], "RecordsRejected");
    let listed = server.weir(&["alarms", "list", "--json"]).exits(0).json();
    assert_eq!(names(&listed, "metricAlarms"), ["odd-traffic", "rejects"]);
    server.stop();
}
