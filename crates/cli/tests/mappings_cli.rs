//! `weir mappings` against a real `weir server`: a mapping hands a queue's messages (sent
//! through the SQS API) to a function registered with `weir functions`, which reports one
//! record as failed; that record goes to the on-failure destination, the others are deleted.
//! The mapping is then listed, described, disabled (messages wait), enabled (they are
//! delivered), changed and deleted; the server then stops cleanly with a mapping polling.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Server, Weir, path, row};

/// Reports every record whose body is `bad` as failed; notes each batch on stderr.
const REPORT: &str = r#"import json, sys
event = json.load(sys.stdin)
bodies = [r["body"] for r in event["Records"]]
print(f"batch {bodies}", file=sys.stderr)
failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
json.dump({"batchItemFailures": failures}, sys.stdout)
"#;

/// (visible, in flight) messages of a queue.
fn counts(server: &Server, url: &str) -> (u64, u64) {
    let answer = server.sqs(
        "GetQueueAttributes",
        &json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    );
    let number = |key: &str| {
        answer["Attributes"][key]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("a count")
    };
    (
        number("ApproximateNumberOfMessages"),
        number("ApproximateNumberOfMessagesNotVisible"),
    )
}

fn send(server: &Server, url: &str, bodies: &[&str]) {
    let entries: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"Id": i.to_string(), "MessageBody": body}))
        .collect();
    server.sqs(
        "SendMessageBatch",
        &json!({"QueueUrl": url, "Entries": entries}),
    );
}

fn wait_for(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_mapping_made_with_the_cli_feeds_a_function_and_quarantines_what_it_reports() {
    let server = Server::start();
    let script = server.file("report.py", REPORT);
    server
        .weir(&[
            "functions",
            "create",
            "report",
            "--",
            "python3",
            path(&script),
        ])
        .exits(0);
    let orders = server.sqs("CreateQueue", &json!({"QueueName": "orders"}))["QueueUrl"]
        .as_str()
        .expect("a queue URL")
        .to_string();
    let failed = server.sqs("CreateQueue", &json!({"QueueName": "failed"}))["QueueUrl"]
        .as_str()
        .expect("a queue URL")
        .to_string();

    let usage = server
        .weir(&["mappings", "create", "--queue", "orders"])
        .exits(2);
    assert!(usage.stderr.contains("--state-machine"), "{}", usage.stderr);
    let created = server
        .weir(&[
            "mappings",
            "create",
            "--queue",
            &orders,
            "--function",
            "report",
            "--report-batch-item-failures",
            "--max-retry-attempts",
            "0",
            "--on-failure",
            "failed",
            "--max-concurrency",
            "2",
            "--json",
        ])
        .exits(0)
        .json();
    let uuid = created["uuid"].as_str().expect("a uuid").to_string();
    assert_eq!(created["state"], "Enabled");
    assert_eq!(
        created["targetArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:report"
    );
    assert_eq!(
        created["destinationConfig"]["onFailure"]["destination"],
        "arn:aws:sqs:us-east-1:000000000000:failed"
    );

    send(&server, &orders, &["good", "bad", "fine"]);
    wait_for("the batch to be settled", || {
        counts(&server, &orders) == (0, 0) && counts(&server, &failed) == (1, 0)
    });
    let quarantined = server.sqs(
        "ReceiveMessage",
        &json!({"QueueUrl": failed, "MaxNumberOfMessages": 10}),
    );
    assert_eq!(quarantined["Messages"][0]["Body"], "bad");

    let listed = server.weir(&["mappings", "list"]).exits(0);
    let cells = row(&listed.stdout, &uuid);
    assert_eq!(cells[1], "orders");
    assert_eq!(cells[3], "Enabled");
    let described = server.weir(&["mappings", "describe", &uuid]).exits(0);
    let field = |key: &str| {
        described
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key} in:\n{}", described.stdout))
            .to_string()
    };
    assert_eq!(field("report batch item failures"), "true");
    assert_eq!(field("max concurrency"), "2");
    assert_eq!(field("max retry attempts"), "0");
    assert_eq!(field("state"), "Enabled");

    let disabled = server.weir(&["mappings", "disable", &uuid]).exits(0);
    assert!(disabled.stdout.contains("Disabled"), "{}", disabled.stdout);
    send(&server, &orders, &["later"]);
    assert_eq!(counts(&server, &orders), (1, 0), "a disabled mapping waits");
    server.weir(&["mappings", "enable", &uuid]).exits(0);
    wait_for("the waiting message to be delivered", || {
        counts(&server, &orders) == (0, 0)
    });

    let changed = server
        .weir(&[
            "mappings",
            "update",
            &uuid,
            "--batch-size",
            "5",
            "--on-failure",
            "none",
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(changed["batchSize"], 5);
    assert!(changed.get("destinationConfig").is_none(), "{changed}");
    let refused = server
        .weir(&["mappings", "update", &uuid, "--max-concurrency", "1"])
        .exits(1);
    assert!(
        refused.stderr.contains("MaximumConcurrency"),
        "{}",
        refused.stderr
    );

    server.weir(&["mappings", "delete", &uuid]).exits(0);
    let listed = server.weir(&["mappings", "list", "--json"]).exits(0).json();
    assert_eq!(listed["eventSourceMappings"], json!([]));
    server.weir(&["mappings", "describe", &uuid]).exits(1);
    // A server stops cleanly with a poller running.
    server
        .weir(&[
            "mappings",
            "create",
            "--queue",
            "orders",
            "--function",
            "report",
        ])
        .exits(0);
    server.stop();
}
