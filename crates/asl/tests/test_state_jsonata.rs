//! TestState of JSONata states against answers AWS recorded (the conformance corpus's
//! `test_state` cases whose states use JSONata), through the public API only.
//!
//! Where AWS recorded a placeholder (ARNs and names of the test's own resources), the tests check
//! the rest of the value.

use asl::test_state::{
    InspectionLevel, Mock, MockErrorOutput, StateConfiguration, TestStateRequest, TestStatus,
    test_state,
};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::111111111111:role/test-role";

fn request(definition: &Value, input: Value, level: InspectionLevel) -> TestStateRequest {
    TestStateRequest {
        definition: definition.to_string(),
        input: Some(input.to_string()),
        inspection_level: level,
        ..TestStateRequest::default()
    }
}

fn mocked(mut r: TestStateRequest, mock: Mock) -> TestStateRequest {
    r.mock = Some(mock);
    r.role_arn = Some(ROLE.into());
    r
}

fn result(result: Value) -> Mock {
    Mock {
        result: Some(result.to_string()),
        ..Mock::default()
    }
}

fn error(error: &str, cause: &str) -> Mock {
    Mock {
        error_output: Some(MockErrorOutput {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }),
        ..Mock::default()
    }
}

fn failure_count(count: u64) -> Option<StateConfiguration> {
    Some(StateConfiguration {
        map_iteration_failure_count: Some(count),
        ..StateConfiguration::default()
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
        for value in map.values_mut() {
            if let Value::String(text) = &*value {
                *value = serde_json::from_str(text).expect("payloads are JSON text");
            }
        }
    }
    data
}

/// The blog-post cost approval workflow (JSONata at the top level).
fn approval_machine() -> Value {
    json!({"Comment": "Cost approval workflow", "QueryLanguage": "JSONata",
        "StartAt": "Approval Required", "States": {
        "Approval Required": {"Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.cost < 10 %}", "Next": "Purchase Approved"}],
            "Default": "Ask for Approval"},
        "Purchase Approved": {"Type": "Succeed"},
        "Ask for Approval": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Arguments": {"Method": "POST", "ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com",
                          "Path": "/approval",
                          "RequestBody": {"cost": "{% $states.input.cost %}", "dept_id": "12345678"},
                          "AuthType": "NO_AUTH"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 2, "IntervalSeconds": 1,
                       "MaxAttempts": 3}],
            "Next": "Check Approval",
            "Output": {"approval": "{% $states.result.approval %}", "approval_code": "2387462",
                       "approved_by": "Mary"}},
        "Check Approval": {"Type": "Choice",
            "Choices": [{"Next": "Purchase Approved", "Condition": "{% $states.input.approval %}"}],
            "Default": "Not Approved"},
        "Not Approved": {"Type": "Fail"}}})
}

#[test]
fn choice_conditions_pick_the_next_state() {
    for (state, input, next) in [
        ("Approval Required", json!({"cost": 9}), "Purchase Approved"),
        ("Approval Required", json!({"cost": 10}), "Ask for Approval"),
        (
            "Check Approval",
            json!({"approval": true, "approval_code": "2387462", "approved_by": "Mary"}),
            "Purchase Approved",
        ),
        ("Check Approval", json!({"approval": false}), "Not Approved"),
    ] {
        let mut r = request(&approval_machine(), input.clone(), InspectionLevel::Trace);
        r.state_name = Some(state.into());
        let response = test_state(&r).expect("runs");
        assert_eq!(response.status, TestStatus::Succeeded);
        assert_eq!(response.output, Some(input.clone()));
        assert_eq!(response.next_state.as_deref(), Some(next));
        assert_eq!(inspection(&r), json!({"input": input}));
    }
}

#[test]
fn task_reports_its_arguments_and_result() {
    let mut r = request(
        &approval_machine(),
        json!({"cost": 10}),
        InspectionLevel::Trace,
    );
    r.state_name = Some("Ask for Approval".into());
    let r = mocked(r, result(json!({"approval": true})));
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(
        response.output,
        Some(json!({"approval": true, "approval_code": "2387462", "approved_by": "Mary"}))
    );
    assert_eq!(response.next_state.as_deref(), Some("Check Approval"));
    assert_eq!(
        inspection(&r),
        json!({"afterArguments": {"Method": "POST",
                                  "ApiEndpoint": "example.execute-api.us-east-1.amazonaws.com",
                                  "Path": "/approval",
                                  "RequestBody": {"cost": 10, "dept_id": "12345678"},
                                  "AuthType": "NO_AUTH"},
               "input": {"cost": 10}, "result": {"approval": true}})
    );
}

#[test]
fn task_output_reads_the_mocked_result() {
    let task = json!({"Type": "Task", "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::states:startExecution",
        "Arguments": {"Input": "{% $states.input.targetInput %}",
                      "StateMachineArn": "{% $states.input.stateMachineArn %}",
                      "Name": "{% $states.input.name %}"},
        "Output": {"targetExecutionResult": "{% $states.result %}"}, "End": true});
    let input = json!({"stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:TargetStateMachine",
                       "targetInput": null, "name": "TestStartTarget"});
    let mut mock = result(json!({"ExecutionArn": "stringValueExecutionArn", "StartDate": true}));
    mock.field_validation_mode = asl::test_state::FieldValidationMode::None;
    let r = mocked(request(&task, input, InspectionLevel::Info), mock);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(
        response.output,
        Some(
            json!({"targetExecutionResult": {"ExecutionArn": "stringValueExecutionArn",
                                               "StartDate": true}})
        )
    );
    assert_eq!(response.inspection_data, None);
}

fn catching_task() -> Value {
    json!({"Comment": "BASE_TASK_STATE_CATCH", "QueryLanguage": "JSONata", "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"},
        "Catch": [{"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
                  {"ErrorEquals": ["States.TaskFailed"], "Output": "{% $states %}", "Next": "HandleThreshold"}],
        "End": true})
}

#[test]
fn catcher_output_reads_the_error_output_and_the_context() {
    for (name, cause, index, next) in [
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
        let input = json!({"Value": "HelloWorld"});
        let r = mocked(
            request(&catching_task(), input.clone(), InspectionLevel::Debug),
            error(name, cause),
        );
        let response = test_state(&r).expect("runs");
        assert_eq!(response.status, TestStatus::CaughtError);
        assert_eq!(response.error.as_deref(), Some(name));
        assert_eq!(response.cause.as_deref(), Some(cause));
        assert_eq!(response.next_state.as_deref(), Some(next));
        let output = response.output.expect("a caught error has an output");
        assert_eq!(output["input"], input);
        assert_eq!(
            output["errorOutput"],
            json!({"Error": name, "Cause": cause})
        );
        assert_eq!(output.get("result"), None);
        let context = &output["context"];
        assert_eq!(context["Execution"]["Input"], input);
        assert_eq!(context["Execution"]["RoleArn"], json!(ROLE));
        assert_eq!(context["State"]["Name"], json!("StateName"));
        assert_eq!(context["State"]["RetryCount"], json!(0));
        assert_eq!(
            inspection(&r),
            json!({"afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                   "errorDetails": {"catchIndex": index}, "input": input})
        );
    }
}

#[test]
fn pass_output_reads_the_input_the_context_and_the_variables() {
    let machine = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"var_input_value.$": "$.input_value", "var_constant_1": 1},
                 "Next": "State0"},
        "State0": {"QueryLanguage": "JSONata", "Type": "Pass",
                   "Output": {"ja_states_context": "{% $states.context %}",
                              "ja_states_input": "{% $states.input %}",
                              "ja_var_access": "{% $var_input_value %}",
                              "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}"},
                   "End": true}}});
    let input = json!({"input_values": [1, 2, 3]});
    let mut r = request(&machine, input.clone(), InspectionLevel::Trace);
    r.state_name = Some("State0".into());
    r.variables = Some(json!({"var_input_value": "test_value", "var_constant_1": 10}).to_string());
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    let output = response.output.expect("an output");
    assert_eq!(output["ja_states_input"], input);
    assert_eq!(output["ja_var_access"], json!("test_value"));
    assert_eq!(output["ja_expr"], json!(16));
    let context = &output["ja_states_context"];
    assert_eq!(context["Execution"]["Input"], input);
    assert_eq!(context["Execution"]["RoleArn"], Value::Null);
    let mut state_fields: Vec<_> = context["State"]
        .as_object()
        .expect("State is an object")
        .keys()
        .collect();
    state_fields.sort();
    assert_eq!(
        state_fields,
        ["EnteredTime", "Name"],
        "a Pass state's context shows no RetryCount"
    );
    assert_eq!(context["State"]["Name"], json!("StateName"));
    assert_eq!(
        inspection(&r),
        json!({"input": input,
               "variables": {"var_input_value": "test_value", "var_constant_1": 10}})
    );
}

#[test]
fn pass_output_constants_are_not_evaluated() {
    let output = json!({"constant_null": null, "constant_float": 0.1,
        "constant_not_jsonata": " {% states.input %} ", "constant_varpath_states": "$states.input",
        "constant_jp_input.$": "$", "constant_if": "States.Format('Format:{}', 101)",
        "constant_lst": [null, 0, 0.1, true, [], {"constant": 0}, " {% states.input %} "],
        "constant_obj": {"in_obj_constant_obj": {"constant": 0}}});
    let machine = json!({"StartAt": "State0", "States": {"State0": {
        "QueryLanguage": "JSONata", "Type": "Pass", "Output": output, "End": true}}});
    let input = json!({"input_values": [1, 2, 3]});
    let mut r = request(&machine, input.clone(), InspectionLevel::Trace);
    r.state_name = Some("State0".into());
    r.variables = Some("{}".into());
    let response = test_state(&r).expect("runs");
    assert_eq!(response.output, Some(output));
    assert_eq!(inspection(&r), json!({"input": input}));
}

#[test]
fn fail_state_of_a_jsonata_machine() {
    let machine = json!({"Comment": "BASE_FAIL_STATE_MACHINE", "QueryLanguage": "JSONata",
        "StartAt": "State0", "States": {"State0": {"Type": "Fail", "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure."}}});
    let input = json!({"Value": "HelloWorld"});
    let mut r = request(&machine, input.clone(), InspectionLevel::Debug);
    r.state_name = Some("State0".into());
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(response.error.as_deref(), Some("SomeFailure"));
    assert_eq!(
        response.cause.as_deref(),
        Some("This state machines raises a 'SomeFailure' failure.")
    );
    assert_eq!(inspection(&r), json!({"input": input}));
}

/// A distributed Map whose items come from `Items`, in the variants the corpus recorded.
fn map_state(extra: Value) -> Value {
    let mut map = json!({"Type": "Map", "QueryLanguage": "JSONata",
        "Items": "{% $states.input.Values %}",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "TestState",
                          "States": {"TestState": {"Type": "Task", "QueryLanguage": "JSONata",
                                                   "Resource": "arn:aws:states:::lambda:invoke",
                                                   "Arguments": {"FunctionName": "foo", "Payload": "bar"},
                                                   "End": true}}},
        "End": true});
    if let (Value::Object(map), Value::Object(extra)) = (&mut map, extra) {
        map.extend(extra);
    }
    map
}

fn values() -> Value {
    json!({"Values": ["first", "second", "third"]})
}

#[test]
fn map_output_reads_the_mocked_result() {
    let map = map_state(json!({"ToleratedFailureCount": 1,
        "Output": {"result": "{% $map($states.result, function($v) { $v = 1 ? 'pass' : 'failed' }) %}",
                   "successCount": "{% $count($states.result[$ = 1]) %}",
                   "failedCount": "{% $count($states.result[$ = 0]) %}"},
        "Retry": [{"ErrorEquals": ["MockException"], "MaxAttempts": 3},
                  {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2}]}));
    let mut r = mocked(
        request(&map, values(), InspectionLevel::Debug),
        result(json!([1, 1, 1])),
    );
    r.state_configuration = failure_count(0);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(
        response.output,
        Some(json!({"result": ["pass", "pass", "pass"], "successCount": 3, "failedCount": 0}))
    );
    assert_eq!(
        inspection(&r),
        json!({"input": values(), "maxConcurrency": 0, "toleratedFailureCount": 1})
    );

    let mut r = mocked(
        request(&map, values(), InspectionLevel::Debug),
        result(json!([0, 0, 1])),
    );
    r.state_configuration = failure_count(2);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Retriable);
    assert_eq!(
        response.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        response.cause.as_deref(),
        Some("The specified tolerated failure threshold was exceeded")
    );
    assert_eq!(response.output, None);
    assert_eq!(
        inspection(&r),
        json!({"errorDetails": {"retryBackoffIntervalSeconds": 1, "retryIndex": 1},
               "input": values(), "maxConcurrency": 0, "toleratedFailureCount": 1})
    );
}

#[test]
fn map_states_shows_the_input_the_context_and_the_result() {
    let map = map_state(json!({"Output": "{% $states %}"}));
    // Without a threshold AWS answers SUCCEEDED whatever the failure count.
    for count in [0, 2] {
        let mut r = mocked(
            request(&map, values(), InspectionLevel::Info),
            result(json!([0, 0, 1])),
        );
        r.state_configuration = failure_count(count);
        let response = test_state(&r).expect("runs");
        assert_eq!(response.status, TestStatus::Succeeded);
        let output = response.output.expect("an output");
        assert_eq!(output["input"], values());
        assert_eq!(output["result"], json!([0, 0, 1]));
        assert_eq!(output["context"]["Execution"]["RoleArn"], json!(ROLE));
        assert_eq!(output["context"]["State"]["RetryCount"], json!(0));
        assert_eq!(response.inspection_data, None);
    }
}

#[test]
fn map_threshold_error_is_caught() {
    let map = map_state(json!({"ToleratedFailureCount": 1,
        "Catch": [{"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
                  {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Output": "{% $states %}",
                   "Next": "HandleThreshold"}]}));
    let mut r = mocked(
        request(&map, values(), InspectionLevel::Debug),
        result(json!([1, 1, 1])),
    );
    r.state_configuration = failure_count(0);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(response.output, Some(json!([1, 1, 1])));

    let mut r = mocked(
        request(&map, values(), InspectionLevel::Debug),
        result(json!([0, 0, 1])),
    );
    r.state_configuration = failure_count(2);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::CaughtError);
    assert_eq!(response.next_state.as_deref(), Some("HandleThreshold"));
    let output = response.output.expect("a caught error has an output");
    assert_eq!(
        output["errorOutput"],
        json!({"Error": "States.ExceedToleratedFailureThreshold",
               "Cause": "The specified tolerated failure threshold was exceeded"})
    );
    assert_eq!(output["input"], values());
    assert_eq!(
        inspection(&r),
        json!({"errorDetails": {"catchIndex": 1}, "input": values(), "maxConcurrency": 0,
               "toleratedFailureCount": 1})
    );
}

#[test]
fn map_error_raised_by_an_iteration_fails_the_map() {
    let map = map_state(json!({"Output": "{% $states %}"}));
    let mut r = mocked(
        request(&map, json!({"Values": [1, 1, 1]}), InspectionLevel::Trace),
        error("MockException", "Mock the cause of the error."),
    );
    r.state_configuration = Some(StateConfiguration {
        error_caused_by_state: Some("TestState".into()),
        ..StateConfiguration::default()
    });
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(response.error.as_deref(), Some("MockException"));
    assert_eq!(
        response.cause.as_deref(),
        Some("Mock the cause of the error.")
    );
    assert_eq!(
        inspection(&r),
        json!({"input": {"Values": [1, 1, 1]}, "maxConcurrency": 0})
    );
}

#[test]
fn map_items_from_the_item_reader_data() {
    let machine = json!({"Comment": "MAP_ITEM_READER_STATE_MACHINE", "QueryLanguage": "JSONata",
        "StartAt": "State0", "States": {"State0": {"Type": "Map", "MaxConcurrency": 1,
            "ItemReader": {"ReaderConfig": {"InputType": "JSON"},
                           "Resource": "arn:aws:states:::s3:getObject",
                           "Arguments": {"Bucket": "{% $states.input.Bucket %}",
                                         "Key": "{% $states.input.Key %}"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "HandleItem",
                              "States": {"HandleItem": {"Type": "Pass", "End": true}}},
            "End": true}}});
    let input = json!({"Bucket": "test-bucket", "Key": "test-key"});
    let mut r = mocked(
        request(&machine, input.clone(), InspectionLevel::Debug),
        result(json!([1, 4, 9])),
    );
    r.state_name = Some("State0".into());
    r.state_configuration = Some(StateConfiguration {
        map_item_reader_data: Some("[1, 2, 3]".into()),
        ..StateConfiguration::default()
    });
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Succeeded);
    assert_eq!(response.output, Some(json!([1, 4, 9])));
    assert_eq!(inspection(&r), json!({"input": input, "maxConcurrency": 1}));

    r.mock = Some(error("MockException", "Mock the error cause."));
    r.state_configuration = Some(StateConfiguration {
        map_iteration_failure_count: Some(2),
        error_caused_by_state: Some("HandleItem".into()),
        map_item_reader_data: Some("[1, 2, 3]".into()),
        ..StateConfiguration::default()
    });
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(response.error.as_deref(), Some("MockException"));
    assert_eq!(inspection(&r), json!({"input": input, "maxConcurrency": 1}));
}

/// AWS's sentence for a Map whose `Items` is not an array, as recorded in executions (after the
/// `An error occurred while executing the state ...` prefix, which a TestState answer has no
/// event id for).
const ITEMS_NOT_AN_ARRAY: &str = "The JSONata expression '$ItemsVar' specified for the field \
    'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1";

#[test]
fn query_evaluation_errors_are_caught_and_retried() {
    let map = |handlers: Value| {
        let mut map = map_state(handlers);
        map["Items"] = json!("{% $ItemsVar %}");
        map
    };
    let request = |definition: &Value| {
        let mut r = mocked(
            request(definition, values(), InspectionLevel::Debug),
            result(json!([])),
        );
        r.variables = Some(json!({"ItemsVar": 1}).to_string());
        r
    };

    let response = test_state(&request(&map(json!({})))).expect("runs");
    assert_eq!(response.status, TestStatus::Failed);
    assert_eq!(
        response.error.as_deref(),
        Some("States.QueryEvaluationError")
    );
    assert_eq!(response.cause.as_deref(), Some(ITEMS_NOT_AN_ARRAY));

    let caught = map(json!({"Catch": [{"ErrorEquals": ["States.ALL"],
        "Output": "{% $states.errorOutput %}", "Next": "Handler"}]}));
    let r = request(&caught);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::CaughtError);
    assert_eq!(response.next_state.as_deref(), Some("Handler"));
    assert_eq!(
        response.output,
        Some(json!({"Error": "States.QueryEvaluationError", "Cause": ITEMS_NOT_AN_ARRAY}))
    );
    assert_eq!(inspection(&r)["errorDetails"], json!({"catchIndex": 0}));

    let retried = map(
        json!({"Retry": [{"ErrorEquals": ["States.QueryEvaluationError"],
        "IntervalSeconds": 3, "MaxAttempts": 2}]}),
    );
    let r = request(&retried);
    let response = test_state(&r).expect("runs");
    assert_eq!(response.status, TestStatus::Retriable);
    assert_eq!(response.cause.as_deref(), Some(ITEMS_NOT_AN_ARRAY));
    assert_eq!(
        inspection(&r)["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 3})
    );
}
