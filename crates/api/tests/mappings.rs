//! weir's event-source mapping operations through the router (`oneshot`), on the SQLite store:
//! mappings are created (and deliver a queue's messages to a state machine), read, listed,
//! changed, disabled and deleted; bad requests are refused naming the member or the problem.

mod support;

use engine::NewStateMachine;
use engine::queues::SendRequest;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use support::{Setup, with_functions};

/// Calls `Weir.<operation>`, which must succeed; its answer.
async fn ok(setup: &Setup, operation: &str, input: Value) -> Value {
    support::ok(&setup.api, &format!("Weir.{operation}"), input).await
}

/// Calls `Weir.<operation>`, which must fail with `code`; its message.
async fn refused(setup: &Setup, operation: &str, input: Value, code: &str) -> String {
    support::refused(&setup.api, &format!("Weir.{operation}"), input, code).await
}

async fn queue(setup: &Setup, name: &str) -> String {
    setup
        .api
        .engine
        .create_queue(name, &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("the queue is created")
        .arn
}

async fn pass_machine(setup: &Setup) -> String {
    setup
        .api
        .engine
        .create_state_machine(NewStateMachine {
            name: "consume".into(),
            definition:
                json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}})
                    .to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect("the machine is created")
        .arn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mappings_are_created_read_changed_listed_and_deleted() {
    let setup = with_functions().await;
    let orders = queue(&setup, "orders").await;
    let failed = queue(&setup, "failed").await;
    let machine = pass_machine(&setup).await;
    let created = ok(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "batchSize": 100,
               "maximumBatchingWindowInSeconds": 1,
               "functionResponseTypes": ["ReportBatchItemFailures"],
               "maximumRetryAttempts": 3,
               "destinationConfig": {"onFailure": {"destination": failed}},
               "scalingConfig": {"maximumConcurrency": 5}}),
    )
    .await;
    let uuid = created["uuid"].as_str().expect("a uuid").to_string();
    assert_eq!(
        created["eventSourceMappingArn"],
        json!(format!(
            "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{uuid}"
        ))
    );
    assert_eq!(created["eventSourceArn"], json!(orders));
    assert_eq!(created["targetArn"], json!(machine));
    assert_eq!(created["state"], "Enabled");
    assert_eq!(created["batchSize"], 100);
    assert_eq!(created["maximumBatchingWindowInSeconds"], 1);
    assert_eq!(
        created["functionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(created["bisectBatchOnFunctionError"], false);
    assert_eq!(created["maximumRetryAttempts"], 3);
    assert_eq!(created["maximumRecordAgeInSeconds"], -1);
    assert_eq!(
        created["destinationConfig"],
        json!({"onFailure": {"destination": failed}})
    );
    assert_eq!(created["scalingConfig"], json!({"maximumConcurrency": 5}));
    assert!(created["lastModified"].is_number());

    // The mapping runs: a message sent to the queue becomes an execution, then is deleted.
    setup
        .api
        .engine
        .send_messages(
            "orders",
            vec![SendRequest {
                body: "hello".into(),
                ..SendRequest::default()
            }],
        )
        .await
        .expect("sends");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let attributes = setup
            .api
            .engine
            .queue_attributes("orders")
            .await
            .expect("attributes");
        let runs = setup
            .api
            .engine
            .list_executions(store::ExecutionFilter {
                state_machine_arn: Some(machine.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("lists")
            .items;
        if runs.len() == 1
            && attributes["ApproximateNumberOfMessages"] == "0"
            && attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let got = ok(&setup, "GetEventSourceMapping", json!({"uuid": uuid})).await;
    assert_eq!(got, created);

    let changed = ok(
        &setup,
        "UpdateEventSourceMapping",
        json!({"uuid": uuid, "enabled": false, "functionResponseTypes": [],
               "maximumRetryAttempts": -1, "destinationConfig": {}, "scalingConfig": {},
               "bisectBatchOnFunctionError": true}),
    )
    .await;
    assert_eq!(changed["state"], "Disabled");
    assert_eq!(changed["batchSize"], 100, "kept");
    assert_eq!(changed["functionResponseTypes"], json!([]));
    assert_eq!(changed["maximumRetryAttempts"], -1);
    assert_eq!(changed["bisectBatchOnFunctionError"], true);
    assert!(changed.get("destinationConfig").is_none());
    assert!(changed.get("scalingConfig").is_none());
    assert_eq!(changed["creationDate"], created["creationDate"]);

    let other = queue(&setup, "other").await;
    ok(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": "other", "targetArn": machine, "enabled": false}),
    )
    .await;
    let all = ok(&setup, "ListEventSourceMappings", json!({})).await;
    assert_eq!(all["eventSourceMappings"].as_array().map(Vec::len), Some(2));
    let of_other = ok(
        &setup,
        "ListEventSourceMappings",
        json!({"eventSourceArn": other}),
    )
    .await;
    let of_other = of_other["eventSourceMappings"].as_array().expect("a list");
    assert_eq!(of_other.len(), 1);
    assert_eq!(of_other[0]["state"], "Disabled");

    let deleted = ok(&setup, "DeleteEventSourceMapping", json!({"uuid": uuid})).await;
    assert_eq!(deleted["state"], "Deleting");
    refused(
        &setup,
        "GetEventSourceMapping",
        json!({"uuid": uuid}),
        "ResourceNotFoundException",
    )
    .await;
    refused(
        &setup,
        "DeleteEventSourceMapping",
        json!({"uuid": uuid}),
        "ResourceNotFoundException",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_naming_the_problem() {
    let setup = with_functions().await;
    let orders = queue(&setup, "orders").await;
    let machine = pass_machine(&setup).await;
    refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"targetArn": machine}),
        "ValidationException",
    )
    .await;
    let message = refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "batchSize": "ten"}),
        "SerializationException",
    )
    .await;
    assert!(message.contains("batchSize"), "{message}");
    let message = refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine,
               "functionResponseTypes": ["Everything"]}),
        "ValidationException",
    )
    .await;
    assert!(message.contains("functionResponseTypes"), "{message}");
    let message = refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "batchSize": 0,
               "maximumRecordAgeInSeconds": 5, "scalingConfig": {"maximumConcurrency": 1}}),
        "InvalidParameterValueException",
    )
    .await;
    for part in [
        "BatchSize",
        "MaximumRecordAgeInSeconds",
        "MaximumConcurrency",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "maximumRetryAttempts": -2}),
        "InvalidParameterValueException",
    )
    .await;
    refused(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "destinationConfig": "q"}),
        "SerializationException",
    )
    .await;
    let created = ok(
        &setup,
        "CreateEventSourceMapping",
        json!({"eventSourceArn": orders, "targetArn": machine, "enabled": false}),
    )
    .await;
    refused(
        &setup,
        "UpdateEventSourceMapping",
        json!({"uuid": created["uuid"], "eventSourceArn": "elsewhere"}),
        "InvalidParameterValueException",
    )
    .await;
    refused(
        &setup,
        "UpdateEventSourceMapping",
        json!({"uuid": "no-such-mapping", "enabled": true}),
        "ResourceNotFoundException",
    )
    .await;
}
