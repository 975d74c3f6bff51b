//! TestState against answers AWS recorded (the conformance corpus's `test_state` and
//! `api_error:test_state` cases), through the public API only.

use asl::test_state::{
    InspectionLevel, Mock, MockErrorOutput, StateConfiguration, TestStateRequest, TestStatus,
    test_state,
};
use serde_json::{Value, json};

fn request(definition: Value, input: Value) -> TestStateRequest {
    TestStateRequest {
        definition: definition.to_string(),
        input: Some(input.to_string()),
        ..TestStateRequest::default()
    }
}

fn mock_result(result: Value) -> Option<Mock> {
    Some(Mock {
        result: Some(result.to_string()),
        ..Mock::default()
    })
}

fn mock_error(error: &str, cause: &str) -> Option<Mock> {
    Some(Mock {
        error_output: Some(MockErrorOutput {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }),
        ..Mock::default()
    })
}

/// The inspection data with its JSON-text payloads decoded, as the corpus records it.
fn inspection(request: &TestStateRequest) -> Value {
    let response = test_state(request).expect("AWS ran this request");
    let mut data = response
        .inspection_data
        .expect("DEBUG and TRACE carry inspection data")
        .to_json();
    if let Value::Object(map) = &mut data {
        for (key, value) in map.iter_mut() {
            if let (false, Value::String(text)) = (key == "afterItemsPath", &*value) {
                *value = serde_json::from_str(text).expect("payloads are JSON text");
            }
        }
    }
    data
}

fn pass_machine() -> Value {
    json!({"Comment": "BASE_PASS_STATE_MACHINE", "StartAt": "State0",
           "States": {"State0": {"Type": "Pass", "End": true}}})
}

fn map_machine() -> Value {
    json!({"Comment": "BASE_MAP_STATE_MACHINE", "StartAt": "State0", "States": {"State0": {
        "Type": "Map", "ItemsPath": "$.Values",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "HandleItem",
                          "States": {"HandleItem": {"Type": "Pass", "End": true}}},
        "ToleratedFailureCount": 2, "End": true}}})
}

fn lambda_task() -> Value {
    json!({"Comment": "BASE_LAMBDA_SERVICE_TASK_STATE", "Type": "Task",
           "Resource": "arn:aws:states:::lambda:invoke",
           "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
           "End": true})
}

fn error_of(request: &TestStateRequest) -> (String, String) {
    let e = test_state(request).expect_err("AWS rejected this request");
    (e.code().to_string(), e.to_string())
}

#[test]
fn pass_state_of_a_machine_reports_each_step() {
    let mut r = request(pass_machine(), json!({"Value": "HelloWorld"}));
    r.state_name = Some("State0".into());
    r.inspection_level = InspectionLevel::Debug;
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(response.output, Some(json!({"Value": "HelloWorld"})));
    assert_eq!(response.next_state, None);
    let v = json!({"Value": "HelloWorld"});
    assert_eq!(
        inspection(&r),
        json!({"input": v, "afterInputPath": v, "afterParameters": v,
               "afterResultSelector": v, "afterResultPath": v})
    );
    r.inspection_level = InspectionLevel::Info;
    assert_eq!(test_state(&r).expect("runs").inspection_data, None);
}

#[test]
fn states_inside_a_map_processor_can_be_named() {
    let mut r = request(map_machine(), json!({"Value": "HelloWorld"}));
    r.state_name = Some("HandleItem".into());
    r.inspection_level = InspectionLevel::Trace;
    let response = test_state(&r).expect("runs");
    assert_eq!(response.output, Some(json!({"Value": "HelloWorld"})));
    assert_eq!(
        inspection(&r)["afterResultPath"],
        json!({"Value": "HelloWorld"})
    );
}

#[test]
fn mocked_task_with_a_given_context() {
    let definition = json!({"Comment": "IO_SQS_SERVICE_TASK_WAIT", "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/test-queue",
                       "MessageBody": {"Message": "Hello from Step Functions!",
                                       "TaskToken.$": "$$.Task.Token"}},
        "ResultPath": "$.SQS", "Next": "NEXT_STATE"});
    let mut r = TestStateRequest {
        definition: definition.to_string(),
        inspection_level: InspectionLevel::Trace,
        mock: mock_result(json!({"pokemon": ["charizard", "pikachu", "bulbasaur"]})),
        context: Some(
            json!({"Execution": {"Id": "arn:aws:states:::execution:MyStateMachine:execution-name-12345",
                                 "Name": "execution-name-12345"},
                   "Task": {"Token": "abcd123"}})
            .to_string(),
        ),
        ..TestStateRequest::default()
    };
    let response = test_state(&r).expect("runs");
    let pokemon = json!({"pokemon": ["charizard", "pikachu", "bulbasaur"]});
    assert_eq!(response.output, Some(json!({"SQS": pokemon})));
    assert_eq!(response.next_state.as_deref(), Some("NEXT_STATE"));
    assert_eq!(
        inspection(&r),
        json!({"input": {}, "afterInputPath": {},
               "afterParameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/test-queue",
                                   "MessageBody": {"Message": "Hello from Step Functions!",
                                                   "TaskToken": "abcd123"}},
               "result": pokemon, "afterResultSelector": pokemon,
               "afterResultPath": {"SQS": pokemon}})
    );
    r.inspection_level = InspectionLevel::Info;
    let wire = test_state(&r).expect("runs").to_json();
    assert_eq!(wire["status"], "SUCCEEDED");
    assert_eq!(wire["output"], json!({"SQS": pokemon}).to_string());
}

#[test]
fn mocked_map_error_reports_items_and_thresholds() {
    for failures in [0, 2] {
        let mut r = request(
            map_machine(),
            json!({"Values": ["first", "second", "third"]}),
        );
        r.state_name = Some("State0".into());
        r.inspection_level = InspectionLevel::Debug;
        r.mock = mock_error("MockException", "Mock the error cause.");
        r.state_configuration = Some(StateConfiguration {
            map_iteration_failure_count: Some(failures),
            error_caused_by_state: Some("HandleItem".into()),
            ..StateConfiguration::default()
        });
        let response = test_state(&r).expect("runs");
        assert_eq!(response.status, TestStatus::Failed);
        assert_eq!(response.error.as_deref(), Some("MockException"));
        assert_eq!(response.cause.as_deref(), Some("Mock the error cause."));
        let values = json!({"Values": ["first", "second", "third"]});
        assert_eq!(
            inspection(&r),
            json!({"input": values, "afterInputPath": values,
                   "afterItemsPath": "[\"first\",\"second\",\"third\"]",
                   "toleratedFailureCount": 2, "maxConcurrency": 0})
        );
    }
}

#[test]
fn mocked_service_result_is_the_output() {
    let mut r = request(
        lambda_task(),
        json!({"FunctionName": "lambda_func_f21e1bdc", "Payload": null}),
    );
    r.mock = mock_result(json!({"Payload": "function output",
                                "SdkHttpMetadata": {"HttpStatusCode": 200}}));
    let response = test_state(&r).expect("runs");
    assert_eq!(
        response.output,
        Some(json!({"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}}))
    );
}

// The next three mirror cases AWS recorded for the same states in JSONata; their status, error,
// next state and error details do not depend on the query language.

#[test]
fn catchers_handle_a_mocked_error() {
    let definition = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "foo", "Payload": "bar"},
        "Catch": [{"ErrorEquals": ["MockException"], "Next": "HandleMockError"},
                  {"ErrorEquals": ["States.TaskFailed"], "Next": "HandleThreshold"}],
        "End": true});
    for (error, cause, index, next) in [
        (
            "MockException",
            "Mock the cause of the error.",
            0,
            "HandleMockError",
        ),
        (
            "States.TaskFailed",
            "The task failed.",
            1,
            "HandleThreshold",
        ),
    ] {
        let mut r = request(definition.clone(), json!({"Value": "HelloWorld"}));
        r.inspection_level = InspectionLevel::Debug;
        r.mock = mock_error(error, cause);
        let response = test_state(&r).expect("runs");
        assert_eq!(response.status, TestStatus::CaughtError);
        assert_eq!(response.error.as_deref(), Some(error));
        assert_eq!(response.next_state.as_deref(), Some(next));
        assert_eq!(
            response.output,
            Some(json!({"Error": error, "Cause": cause}))
        );
        assert_eq!(inspection(&r)["errorDetails"], json!({"catchIndex": index}));
    }
}

#[test]
fn map_failures_past_the_threshold_go_to_retry() {
    let definition = json!({"Type": "Map", "ItemsPath": "$.Values",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "TestState",
                          "States": {"TestState": {"Type": "Task",
                              "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                              "End": true}}},
        "Retry": [{"ErrorEquals": ["MockException"], "MaxAttempts": 3},
                  {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2}],
        "ToleratedFailureCount": 1, "End": true});
    let run = |failures: u64, retries: u64, result: Value| {
        let mut r = request(
            definition.clone(),
            json!({"Values": ["first", "second", "third"]}),
        );
        r.inspection_level = InspectionLevel::Debug;
        r.mock = mock_result(result);
        r.state_configuration = Some(StateConfiguration {
            map_iteration_failure_count: Some(failures),
            retrier_retry_count: Some(retries),
            ..StateConfiguration::default()
        });
        (test_state(&r).expect("runs"), r)
    };
    let (below, _) = run(0, 0, json!([1, 1, 1]));
    assert_eq!(below.status, TestStatus::Succeeded);
    assert_eq!(below.output, Some(json!([1, 1, 1])));
    let (over, r) = run(2, 0, json!([0, 0, 1]));
    assert_eq!(over.status, TestStatus::Retriable);
    assert_eq!(
        over.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        over.cause.as_deref(),
        Some("The specified tolerated failure threshold was exceeded")
    );
    assert_eq!(over.output, None);
    assert_eq!(
        inspection(&r)["errorDetails"],
        json!({"retryIndex": 1, "retryBackoffIntervalSeconds": 1})
    );
    let (exhausted, _) = run(2, 2, json!([0, 0, 1]));
    assert_eq!(exhausted.status, TestStatus::Failed);
    let (backoff, r) = run(2, 1, json!([0, 0, 1]));
    assert_eq!(backoff.status, TestStatus::Retriable);
    assert_eq!(
        inspection(&r)["errorDetails"]["retryBackoffIntervalSeconds"],
        2
    );
}

#[test]
fn map_without_a_threshold_tolerates_any_failure() {
    let mut definition = map_machine()["States"]["State0"].clone();
    if let Value::Object(m) = &mut definition {
        m.remove("ToleratedFailureCount");
    }
    let mut r = request(definition, json!({"Values": ["first", "second", "third"]}));
    r.mock = mock_result(json!([0, 0, 1]));
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(2),
        ..StateConfiguration::default()
    });
    assert_eq!(test_state(&r).expect("runs").status, TestStatus::Succeeded);
}

#[test]
fn requests_aws_rejects() {
    let mut r = request(pass_machine(), json!({"Value": "HelloWorld"}));
    r.state_name = Some("dne".into());
    assert_eq!(
        error_of(&r),
        (
            "ValidationException".into(),
            "State not found in definition".into()
        )
    );
    r.state_name = Some(String::new());
    assert_eq!(
        error_of(&r),
        (
            "ParamValidationError".into(),
            "Parameter validation failed:\nInvalid length for parameter stateName, value: 0, valid min length: 1".into()
        )
    );

    let mut r = request(
        json!({"StartAt": "ExistingButInvalidState",
               "States": {"ExistingButInvalidState": {"Type": "TypeThatDoesNotExist", "End": true}}}),
        json!({}),
    );
    r.state_name = Some("ExistingButInvalidState".into());
    assert_eq!(
        error_of(&r),
        (
            "InvalidDefinition".into(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/ExistingButInvalidState/Type'".into()
        )
    );

    for (definition, state_type) in [
        (json!({"Type": "Pass", "End": true}), "Pass"),
        (json!({"Type": "Succeed"}), "Succeed"),
        (
            json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "x"}),
            "Fail",
        ),
    ] {
        let mut r = request(definition, json!({}));
        r.mock = mock_error("Error", "Cause");
        assert_eq!(
            error_of(&r).1,
            format!("State type '{state_type}' is not supported when a mock is specified")
        );
    }

    let mut r = request(lambda_task(), json!({}));
    r.mock = Some(Mock {
        result: Some("{\"mock\": \"response\"}".into()),
        error_output: Some(MockErrorOutput::default()),
        ..Mock::default()
    });
    assert_eq!(
        error_of(&r).1,
        "A test mock should have only one of the following fields: [result, errorOutput]."
    );
    r.mock = mock_result(json!({"mock": "response"}));
    r.reveal_secrets = true;
    assert_eq!(
        error_of(&r).1,
        "TestState does not support RevealSecrets when a mock is specified."
    );
    r.reveal_secrets = false;
    r.mock = Some(Mock {
        result: Some("not JSON string".into()),
        ..Mock::default()
    });
    assert_eq!(error_of(&r).1, "Mocked result must be valid JSON");
    r.mock = None;
    assert_eq!(
        error_of(&r).1,
        "RoleArn must be specified when testing a Task state"
    );
    r.role_arn = Some("arn:aws:iam::111111111111:role/r".into());
    let e = test_state(&r).expect_err("weir calls no service");
    assert!(e.is_unsupported(), "{e}");

    let parallel = json!({"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
        {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}]});
    let mut r = request(parallel, json!({}));
    r.mock = mock_result(json!([{"branch1": "result"}]));
    assert_eq!(
        error_of(&r).1,
        "Mocked result must contain the same number of items as number of Parallel branches."
    );
    r.mock = None;
    assert_eq!(
        error_of(&r),
        (
            "InvalidDefinition".into(),
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]".into()
        )
    );

    let mut writer = map_machine()["States"]["State0"].clone();
    if let Value::Object(m) = &mut writer {
        m.insert(
            "ResultWriter".into(),
            json!({"Resource": "arn:aws:states:::s3:putObject",
                   "Parameters": {"Bucket": "result-bucket", "Prefix": "mapJobs"}}),
        );
    }
    let mut r = request(writer, json!({}));
    r.mock = mock_result(json!(["object is expected but array is provided instead"]));
    assert_eq!(error_of(&r).1, "Mocked result must be a JSON object.");
    r.mock = None;
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(0),
        ..StateConfiguration::default()
    });
    assert_eq!(
        error_of(&r).1,
        "TestState does not support MapIterationFailureCount when a mock is not specified."
    );
}

#[test]
fn context_objects_aws_rejects() {
    let mut r = request(lambda_task(), json!({}));
    r.mock = mock_result(json!({"ExecutionArn": "exec_arn"}));
    for (context, reason) in [
        (
            json!({"Execution": {"pokemon": "squirtle"}}),
            "Field 'pokemon' is not allowed",
        ),
        (
            json!({"Execution": {"Id": 1}}),
            "Execution.Id must be a string",
        ),
        (json!({"Pokedex": {}}), "Field 'Pokedex' is not allowed"),
        (
            json!({"Map": {}}),
            "'Map' field is not supported when mocking a Context object",
        ),
        (
            json!({"Task": {"Token": "abcd123"}}),
            "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern",
        ),
    ] {
        r.context = Some(context.to_string());
        assert_eq!(
            error_of(&r),
            (
                "ValidationException".into(),
                format!("Invalid Context object provided: {reason}")
            )
        );
    }
}

#[test]
fn choice_state_names_the_next_state() {
    let choice = json!({"Type": "Choice", "Default": "Other",
        "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "One"}]});
    let mut r = request(choice, json!({"v": 1}));
    r.inspection_level = InspectionLevel::Debug;
    let response = test_state(&r).expect("runs");
    assert_eq!(response.next_state.as_deref(), Some("One"));
    assert_eq!(response.output, Some(json!({"v": 1})));
    assert_eq!(
        inspection(&r),
        json!({"input": {"v": 1}, "afterInputPath": {"v": 1}})
    );
    r.input = Some(json!({"v": 2}).to_string());
    assert_eq!(
        test_state(&r).expect("runs").next_state.as_deref(),
        Some("Other")
    );
}
