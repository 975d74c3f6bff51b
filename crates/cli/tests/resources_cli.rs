//! `--resources FILE` on a real `weir server`: the queues (with a redrive policy naming a
//! dead-letter queue declared after it) and topics (with a subscription) of the file exist when
//! the server answers, a publish reaches the subscribed queue, and a file naming a queue that does
//! not exist stops the start with the file and the place in it.

mod support;

use serde_json::json;
use std::process::Command;
use support::Server;

const RESOURCES: &str = r#"{
  "queues": {
    "work": {"attributes": {"VisibilityTimeout": "45",
      "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:zz-dead\",\"maxReceiveCount\":\"3\"}"}},
    "zz-dead": {"tags": {"team": "data"}}
  },
  "topics": {
    "events": {"subscriptions": [
      {"protocol": "sqs", "endpoint": "work", "attributes": {"RawMessageDelivery": "true"}}
    ]}
  }
}"#;

#[test]
fn a_server_started_with_resources_has_their_queues_topics_and_subscriptions() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("resources.json");
    std::fs::write(&file, RESOURCES).expect("writes");
    let server = Server::start_with(&["--resources", support::path(&file)]);
    let url = server.sqs("GetQueueUrl", &json!({"QueueName": "work"}))["QueueUrl"]
        .as_str()
        .expect("a queue URL")
        .to_string();
    let attributes = server.sqs(
        "GetQueueAttributes",
        &json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    )["Attributes"]
        .clone();
    assert_eq!(attributes["VisibilityTimeout"], "45");
    let redrive = attributes["RedrivePolicy"]
        .as_str()
        .expect("a redrive policy");
    assert!(redrive.contains("zz-dead"), "{redrive}");
    let topics = server.weir_call("ListTopics", &json!({}));
    let topic = topics["topics"][0]["topicArn"]
        .as_str()
        .expect("the topic")
        .to_string();
    let subscriptions = server.weir_call("ListSubscriptionsByTopic", &json!({"topicArn": topic}));
    assert_eq!(
        subscriptions["subscriptions"].as_array().map(Vec::len),
        Some(1)
    );
    server.weir_call("Publish", &json!({"topicArn": topic, "message": "hello"}));
    let received = server.sqs(
        "ReceiveMessage",
        &json!({"QueueUrl": url, "WaitTimeSeconds": 5}),
    );
    assert_eq!(received["Messages"][0]["Body"], "hello");
    server.stop();
}

#[test]
fn a_resource_the_engine_refuses_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("resources.json");
    std::fs::write(
        &file,
        r#"{"topics": {"events": {"subscriptions": [{"protocol": "sqs", "endpoint": "nowhere"}]}}}"#,
    )
    .expect("writes");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["server", "--port", "0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--resources")
        .arg(&file)
        .output()
        .expect("weir runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("resources.json: topics.events.subscriptions[0]")
            && stderr.contains("nowhere"),
        "{stderr}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["run", "def.json", "--resources"])
        .arg(&file)
        .output()
        .expect("weir runs");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "--resources needs --durable"
    );
}
