//! `weir topics` against a real `weir server`: a topic and a filtered queue subscription made
//! with the CLI, messages published with it, and the one that passes the filter read back with
//! the SQS API (as boto3 would call it), in SNS's envelope.

mod support;

use serde_json::{Value, json};
use support::{Server, Weir, row};

#[test]
fn a_topic_made_with_the_cli_delivers_to_a_queue_read_with_the_sqs_api() {
    let server = Server::start();
    let url = server.sqs("CreateQueue", &json!({"QueueName": "inbox"}))["QueueUrl"]
        .as_str()
        .expect("a queue URL")
        .to_string();
    let queue_arn = server.sqs(
        "GetQueueAttributes",
        &json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    )["Attributes"]["QueueArn"]
        .as_str()
        .expect("a queue ARN")
        .to_string();

    let created = server
        .weir(&[
            "topics",
            "create",
            "orders",
            "--attribute",
            "DisplayName=Orders",
        ])
        .exits(0);
    assert!(
        created
            .stdout
            .contains("arn:aws:sns:us-east-1:000000000000:orders"),
        "{}",
        created.stdout
    );
    let subscribed = server
        .weir(&[
            "topics",
            "subscribe",
            "orders",
            "--protocol",
            "sqs",
            "--notification-endpoint",
            &queue_arn,
            "--filter-policy",
            r#"{"kind": ["paid"]}"#,
            "--json",
        ])
        .exits(0)
        .json();
    let subscription = subscribed["subscriptionArn"]
        .as_str()
        .expect("a subscription ARN")
        .to_string();
    let listed = server.weir(&["topics", "list"]).exits(0);
    assert_eq!(row(&listed.stdout, "orders")[1], "1", "{}", listed.stdout);
    let subscriptions = server.weir(&["topics", "subscriptions", "orders"]).exits(0);
    assert_eq!(
        row(&subscriptions.stdout, &subscription)[1..],
        ["sqs", queue_arn.as_str(), "false", "true"]
    );

    server
        .weir(&[
            "topics",
            "publish",
            "orders",
            "refunded",
            "--attribute",
            "kind=refund",
        ])
        .exits(0);
    let published = server
        .weir(&[
            "topics",
            "publish",
            "orders",
            r#"{"id": 1}"#,
            "--subject",
            "New order",
            "--attribute",
            "kind=paid",
            "--attribute",
            "items:Number=3",
            "--json",
        ])
        .exits(0)
        .json();

    let received = server.sqs(
        "ReceiveMessage",
        &json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
    );
    let messages = received["Messages"].as_array().expect("messages");
    assert_eq!(
        messages.len(),
        1,
        "the filter lets the paid order through only"
    );
    let envelope: Value =
        serde_json::from_str(messages[0]["Body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(envelope["Type"], json!("Notification"));
    assert_eq!(envelope["MessageId"], published["messageId"]);
    assert_eq!(envelope["Message"], json!(r#"{"id": 1}"#));
    assert_eq!(envelope["Subject"], json!("New order"));
    assert_eq!(
        envelope["MessageAttributes"]["items"],
        json!({"Type": "Number", "Value": "3"})
    );

    let missing = server.weir(&["topics", "publish", "nowhere", "x"]).exits(1);
    assert!(
        missing.stderr.contains("NotFound: Topic does not exist"),
        "{}",
        missing.stderr
    );
    let bad = server
        .weir(&[
            "topics",
            "subscribe",
            "orders",
            "--protocol",
            "http",
            "--notification-endpoint",
            "http://127.0.0.1:9/",
            "--filter-policy",
            "[]",
        ])
        .exits(1);
    assert!(
        bad.stderr
            .contains("InvalidParameter: Invalid parameter: FilterPolicy"),
        "{}",
        bad.stderr
    );
    server
        .weir(&["topics", "unsubscribe", &subscription])
        .exits(0);
    let deleted = server.weir(&["topics", "delete", "orders"]).exits(0);
    assert_eq!(deleted.stdout.trim(), "deleted orders");
    let empty = server.weir(&["topics", "list", "--json"]).exits(0).json();
    assert_eq!(empty, json!({"topics": []}));
    server.stop();
}
