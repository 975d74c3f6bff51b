//! An alarm end to end, against a real `weir server` whose clock runs 100 times fast: a state
//! machine's Task runs a function that fails while a flag file exists; an alarm on the machine's
//! failed executions notifies a topic whose HTTP subscription is a real listener in this test.
//! Executions keep starting throughout; the flag alone decides the alarm's state: OK, then
//! ALARM while the task fails (and only one notification however long it fails), then OK again
//! when it recovers, each transition delivered to the listener in SNS's envelope and recorded
//! in the alarm's history.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Server, Weir, path};

/// The engine's clock runs this many times faster than the wall.
const TIME_SCALE: u64 = 100;
/// The alarm's period in the engine's seconds: 0.6 s of wall time.
const PERIOD: u64 = 60;
const ALARM: &str = "nightly-failures";

/// Fails with the error `Broken` while the file named by its first argument exists; echoes its
/// input otherwise.
const FLAKY: &str = r#"if [ -e "$0" ]; then
  echo '{"errorType": "Broken", "errorMessage": "the flag file is there"}'
  exit 1
fi
cat"#;

/// One request the listener received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP endpoint on a free port: records every request and answers 200.
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("a local address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        // Ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(&stream) {
                    log.lock().expect("not poisoned").push(request);
                }
                let _ = (&stream).write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Webhook {
            url: format!("http://{address}/hooks/alarms"),
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body.
fn read_request(stream: &TcpStream) -> Option<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut start = line.split_whitespace();
    let (method, path) = (start.next()?.to_string(), start.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Calls `probe` every 50 ms until it finds something, for at most 30 s.
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_execution(server: &Server, machine: &str) -> String {
    server.sfn(
        "StartExecution",
        &json!({"stateMachineArn": machine, "input": r#"{"job":"nightly"}"#}),
    )["executionArn"]
        .as_str()
        .expect("an execution ARN")
        .to_string()
}

/// The execution once it has ended.
fn ended(server: &Server, execution: &str) -> Value {
    wait_for("the execution to end", || {
        let described = server.sfn("DescribeExecution", &json!({"executionArn": execution}));
        (described["status"] != "RUNNING").then_some(described)
    })
}

fn alarm_state(server: &Server) -> String {
    server.weir_call("DescribeAlarms", &json!({"alarmNames": [ALARM]}))["metricAlarms"][0]
        ["stateValue"]
        .as_str()
        .expect("the alarm's state")
        .to_string()
}

/// The `nth` notification (from 0) the webhook received: its SNS envelope and the alarm's
/// message in it. Starts an execution at each look, so the machine keeps running.
fn notification(server: &Server, machine: &str, webhook: &Webhook, nth: usize) -> (Value, Value) {
    let request = wait_for(&format!("notification {nth}"), || {
        start_execution(server, machine);
        webhook.received().get(nth).cloned()
    });
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/alarms");
    assert_eq!(
        request.header("x-amz-sns-message-type"),
        Some("Notification")
    );
    let envelope: Value = serde_json::from_str(&request.body).expect("the body is JSON");
    let message: Value = serde_json::from_str(envelope["Message"].as_str().expect("a message"))
        .expect("the message is JSON");
    (envelope, message)
}

/// Whether the flag file exists decides whether the task fails.
fn set_flag(flag: &Path, up: bool) {
    if up {
        std::fs::write(flag, "").expect("the flag is written");
    } else {
        std::fs::remove_file(flag).expect("the flag is removed");
    }
}

#[test]
fn a_failing_task_sets_off_an_alarm_that_calls_a_webhook_and_recovery_calls_it_again() {
    let started = Instant::now();
    let server = Server::start_with(&["--time-scale", &TIME_SCALE.to_string()]);
    let webhook = Webhook::start();
    let flag = server.dir().join("broken");
    server
        .weir(&[
            "functions",
            "create",
            "flaky",
            "--",
            "sh",
            "-c",
            FLAKY,
            path(&flag),
        ])
        .exits(0);
    let definition = json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:flaky",
            "End": true
        }}
    });
    let machine = server.sfn(
        "CreateStateMachine",
        &json!({"name": "nightly", "definition": definition.to_string(),
                "roleArn": "arn:aws:iam::000000000000:role/weir"}),
    )["stateMachineArn"]
        .as_str()
        .expect("a machine ARN")
        .to_string();
    let topic = server.weir_call("CreateTopic", &json!({"name": "pager"}))["topicArn"]
        .as_str()
        .expect("a topic ARN")
        .to_string();
    let subscription = server.weir_call(
        "Subscribe",
        &json!({"topicArn": topic, "protocol": "http", "endpoint": webhook.url}),
    )["subscriptionArn"]
        .as_str()
        .expect("a subscription ARN")
        .to_string();

    // The task echoes its input while the flag is down.
    let first = ended(&server, &start_execution(&server, &machine));
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    assert_eq!(first["output"], r#"{"job":"nightly"}"#);

    // 1 failed execution in 1 of the last 2 periods; no failure at all is no data, which is fine.
    let put = server.weir_call(
        "PutMetricAlarm",
        &json!({"alarmName": ALARM, "alarmDescription": "nightly fails",
                "metricName": "weir_executions_ended_total",
                "dimensions": [{"name": "state_machine", "value": "nightly"},
                               {"name": "status", "value": "FAILED"}],
                "statistic": "Sum", "period": PERIOD, "evaluationPeriods": 2,
                "datapointsToAlarm": 1, "threshold": 1,
                "comparisonOperator": "GreaterThanOrEqualToThreshold",
                "treatMissingData": "notBreaching",
                "alarmActions": [topic], "okActions": [topic]}),
    );
    assert_eq!(put["stateValue"], "INSUFFICIENT_DATA");

    let (envelope, ok) = notification(&server, &machine, &webhook, 0);
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(
        envelope["Subject"],
        format!("OK: \"{ALARM}\" in us-east-1").as_str()
    );
    assert_eq!(ok["AlarmName"], ALARM);
    assert_eq!(ok["AlarmDescription"], "nightly fails");
    assert_eq!(
        ok["AlarmArn"],
        format!("arn:aws:cloudwatch:us-east-1:000000000000:alarm:{ALARM}").as_str()
    );
    assert_eq!(
        (&ok["OldStateValue"], &ok["NewStateValue"]),
        (&json!("INSUFFICIENT_DATA"), &json!("OK"))
    );
    assert_eq!(alarm_state(&server), "OK");

    set_flag(&flag, true);
    let failed = ended(&server, &start_execution(&server, &machine));
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert_eq!(failed["error"], "Broken");
    let (envelope, alarm) = notification(&server, &machine, &webhook, 1);
    assert_eq!(
        envelope["Subject"],
        format!("ALARM: \"{ALARM}\" in us-east-1").as_str()
    );
    assert_eq!(alarm["AlarmName"], ALARM);
    assert_eq!(
        (&alarm["OldStateValue"], &alarm["NewStateValue"]),
        (&json!("OK"), &json!("ALARM"))
    );
    let reason = alarm["NewStateReason"].as_str().expect("a reason");
    assert!(
        reason.starts_with("Threshold Crossed: 1 out of the last 2 datapoints"),
        "{reason}"
    );
    assert!(
        reason.contains("greater than or equal to the threshold (1.0)"),
        "{reason}"
    );

    // While the task keeps failing, for longer than the 2 periods evaluated, the alarm stays in
    // ALARM and notifies no more.
    let hold = Instant::now() + Duration::from_millis(5 * PERIOD * 1000 / TIME_SCALE);
    while Instant::now() < hold {
        start_execution(&server, &machine);
        assert_eq!(alarm_state(&server), "ALARM");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(webhook.received().len(), 2);

    set_flag(&flag, false);
    let (_, recovered) = notification(&server, &machine, &webhook, 2);
    assert_eq!(recovered["AlarmName"], ALARM);
    assert_eq!(
        (&recovered["OldStateValue"], &recovered["NewStateValue"]),
        (&json!("ALARM"), &json!("OK"))
    );
    let reason = recovered["NewStateReason"].as_str().expect("a reason");
    assert!(
        reason.starts_with("Threshold Crossed: 2 datapoints"),
        "{reason}"
    );
    assert_eq!(alarm_state(&server), "OK");
    assert!(
        webhook
            .received()
            .iter()
            .all(|r| r.header("x-amz-sns-subscription-arn") == Some(subscription.as_str())),
        "every notification came through the subscription"
    );

    // The history, newest first: three transitions after the creation.
    let history = server.weir_call("DescribeAlarmHistory", &json!({"alarmName": ALARM}));
    let items = history["alarmHistoryItems"]
        .as_array()
        .expect("history items");
    let summaries: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["historyItemType"].as_str().expect("a type"),
                i["historySummary"].as_str().expect("a summary"),
            )
        })
        .collect();
    assert_eq!(
        summaries,
        [
            ("StateUpdate", "Alarm updated from ALARM to OK"),
            ("StateUpdate", "Alarm updated from OK to ALARM"),
            ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to OK"),
            ("ConfigurationUpdate", "Alarm \"nightly-failures\" created"),
        ]
    );
    let data: Value = serde_json::from_str(items[1]["historyData"].as_str().expect("data"))
        .expect("the data is JSON");
    assert_eq!(data["oldState"]["stateValue"], "OK");
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    assert_eq!(data["newState"]["stateReason"], alarm["NewStateReason"]);
    assert_eq!(webhook.received().len(), 3);
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the test took {:?}",
        started.elapsed()
    );
}
