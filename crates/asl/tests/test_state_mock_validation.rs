//! TestState's check of a Task's mocked result against the output shape of the service API it
//! calls (`mock.fieldValidationMode`), with the messages AWS recorded in the conformance corpus
//! (`test_field_validation_mode*.py`) where it recorded one.

use asl::test_state::{
    FieldValidationMode, Mock, TestStateError, TestStateRequest, TestStatus, test_state,
};
use serde_json::{Value, json};

const KMS_ENCRYPT: &str = "arn:aws:states:::aws-sdk:kms:encrypt";
const S3_GET_OBJECT: &str = "arn:aws:states:::aws-sdk:s3:getObject";
const LAMBDA_GET_FUNCTION: &str = "arn:aws:states:::aws-sdk:lambda:getFunction";
const DYNAMODB_PUT_ITEM: &str = "arn:aws:states:::dynamodb:putItem";
const EVENTS_PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";

/// A Task state calling `resource`, tested with `result` mocked under `mode`.
fn request(resource: &str, result: &str, mode: FieldValidationMode) -> TestStateRequest {
    TestStateRequest {
        definition: json!({"Type": "Task", "Resource": resource, "End": true}).to_string(),
        mock: Some(Mock {
            result: Some(result.into()),
            field_validation_mode: mode,
            ..Mock::default()
        }),
        ..TestStateRequest::default()
    }
}

/// The message of the refusal, after checking it is a `ValidationException`.
fn refusal(resource: &str, result: Value, mode: FieldValidationMode) -> String {
    let error = test_state(&request(resource, &result.to_string(), mode))
        .expect_err("AWS refuses this mock");
    assert_eq!(error.code(), "ValidationException");
    error.to_string()
}

/// The output of the accepted request.
fn accepted(resource: &str, result: Value, mode: FieldValidationMode) -> Value {
    let response = test_state(&request(resource, &result.to_string(), mode))
        .unwrap_or_else(|e| panic!("AWS accepts this mock, weir refused: {e}"));
    assert_eq!(response.status, TestStatus::Succeeded);
    response.output.expect("a succeeded state has an output")
}

const CHECKED: [FieldValidationMode; 2] =
    [FieldValidationMode::Strict, FieldValidationMode::Present];

#[test]
fn blob_shorter_than_its_minimum_length() {
    for mode in CHECKED {
        assert_eq!(
            refusal(KMS_ENCRYPT, json!({"CiphertextBlob": ""}), mode),
            "Mock result schema validation error: Field 'CiphertextBlob' is smaller than the minimum length"
        );
    }
}

#[test]
fn blob_that_is_not_a_string() {
    for mode in CHECKED {
        assert_eq!(
            refusal(KMS_ENCRYPT, json!({"CiphertextBlob": 123}), mode),
            "Mock result schema validation error: Field 'CiphertextBlob' must be a string"
        );
    }
}

#[test]
fn string_longer_than_its_maximum_length() {
    // Not recorded by AWS: the wording pairs "exceeds the maximum value".
    let blob = "a".repeat(6145);
    assert_eq!(
        refusal(
            KMS_ENCRYPT,
            json!({"CiphertextBlob": blob}),
            FieldValidationMode::Present
        ),
        "Mock result schema validation error: Field 'CiphertextBlob' exceeds the maximum length"
    );
    accepted(
        KMS_ENCRYPT,
        json!({"CiphertextBlob": "a".repeat(6144)}),
        FieldValidationMode::Strict,
    );
}

#[test]
fn string_outside_its_enum() {
    assert_eq!(
        refusal(
            S3_GET_OBJECT,
            json!({"StorageClass": "Papyrus"}),
            FieldValidationMode::Strict
        ),
        "Mock result schema validation error: Field 'StorageClass' is not an expected value"
    );
    accepted(
        S3_GET_OBJECT,
        json!({"StorageClass": "GLACIER"}),
        FieldValidationMode::Strict,
    );
}

#[test]
fn long_that_is_a_string() {
    assert_eq!(
        refusal(
            S3_GET_OBJECT,
            json!({"ContentLength": "9000"}),
            FieldValidationMode::Strict
        ),
        "Mock result schema validation error: Field 'ContentLength' must be a number"
    );
}

#[test]
fn double_that_is_a_string_in_a_nested_structure() {
    for mode in CHECKED {
        assert_eq!(
            refusal(
                DYNAMODB_PUT_ITEM,
                json!({"ConsumedCapacity": {"CapacityUnits": "123.45"}}),
                mode
            ),
            "Mock result schema validation error: Field 'CapacityUnits' must be a number"
        );
    }
    accepted(
        DYNAMODB_PUT_ITEM,
        json!({"ConsumedCapacity": {"CapacityUnits": 123.45, "TableName": "t"}}),
        FieldValidationMode::Strict,
    );
}

#[test]
fn integer_outside_its_range() {
    assert_eq!(
        refusal(
            LAMBDA_GET_FUNCTION,
            json!({"Configuration": {"MemorySize": 127}}),
            FieldValidationMode::Present
        ),
        "Mock result schema validation error: Field 'MemorySize' is less than the minimum value"
    );
    assert_eq!(
        refusal(
            LAMBDA_GET_FUNCTION,
            json!({"Configuration": {"MemorySize": 10241}}),
            FieldValidationMode::Present
        ),
        "Mock result schema validation error: Field 'MemorySize' exceeds the maximum value"
    );
    for memory in [128, 10240] {
        accepted(
            LAMBDA_GET_FUNCTION,
            json!({"Configuration": {"MemorySize": memory}}),
            FieldValidationMode::Present,
        );
    }
}

#[test]
fn list_item_of_the_wrong_type() {
    for mode in CHECKED {
        assert_eq!(
            refusal(
                EVENTS_PUT_EVENTS,
                json!({"Entries": [
                    {"EventId": "First eventId has correct type: string"},
                    {"EventId": ["Second eventId has incorrect type: array"]}
                ]}),
                mode
            ),
            "Mock result schema validation error: Field 'EventId' must be a string"
        );
        assert_eq!(
            refusal(
                EVENTS_PUT_EVENTS,
                json!({"Entries": [{"EventId": ["a list of strings"]}]}),
                mode
            ),
            "Mock result schema validation error: Field 'EventId' must be a string"
        );
    }
}

#[test]
fn list_that_is_not_an_array() {
    for mode in CHECKED {
        assert_eq!(
            refusal(
                EVENTS_PUT_EVENTS,
                json!({"Entries": "Entries value should have been a list of entry objects"}),
                mode
            ),
            "Mock result schema validation error: Field 'Entries' must be an array"
        );
    }
}

#[test]
fn other_types_not_recorded_by_aws() {
    let mode = FieldValidationMode::Present;
    assert_eq!(
        refusal(S3_GET_OBJECT, json!({"DeleteMarker": "true"}), mode),
        "Mock result schema validation error: Field 'DeleteMarker' must be a boolean"
    );
    assert_eq!(
        refusal(S3_GET_OBJECT, json!({"Metadata": ["a"]}), mode),
        "Mock result schema validation error: Field 'Metadata' must be an object"
    );
    assert_eq!(
        refusal(S3_GET_OBJECT, json!({"Metadata": {"k": 1}}), mode),
        "Mock result schema validation error: Field 'Metadata' must be a string"
    );
    assert_eq!(
        refusal(LAMBDA_GET_FUNCTION, json!({"Configuration": "f"}), mode),
        "Mock result schema validation error: Field 'Configuration' must be an object"
    );
    assert_eq!(
        refusal(S3_GET_OBJECT, json!({"LastModified": true}), mode),
        "Mock result schema validation error: Field 'LastModified' must be a string"
    );
    // A timestamp may be text or epoch seconds; a recursive shape is followed.
    accepted(
        S3_GET_OBJECT,
        json!({"LastModified": "2025-01-01T00:00:00Z", "Expires": 1735689600}),
        mode,
    );
    assert_eq!(
        refusal(
            DYNAMODB_PUT_ITEM,
            json!({"Attributes": {"id": {"M": {"inner": {"L": [{"BOOL": "yes"}]}}}}}),
            mode
        ),
        "Mock result schema validation error: Field 'BOOL' must be a boolean"
    );
}

#[test]
fn fields_not_in_the_api_and_null_fields_are_accepted() {
    for mode in CHECKED {
        assert_eq!(accepted(EVENTS_PUT_EVENTS, json!({}), mode), json!({}));
        assert_eq!(
            accepted(EVENTS_PUT_EVENTS, json!({"random": "json"}), mode),
            json!({"random": "json"})
        );
        accepted(KMS_ENCRYPT, json!({"CiphertextBlob": null}), mode);
        accepted(
            EVENTS_PUT_EVENTS,
            json!({"FailedEntryCount": 0, "Entries": [{"EventId": "e", "Extra": [1]}]}),
            mode,
        );
    }
}

#[test]
fn none_checks_nothing() {
    let mode = FieldValidationMode::None;
    accepted(KMS_ENCRYPT, json!({"CiphertextBlob": 123}), mode);
    accepted(S3_GET_OBJECT, json!({"StorageClass": "Papyrus"}), mode);
    accepted(
        LAMBDA_GET_FUNCTION,
        json!({"Configuration": {"MemorySize": 1}}),
        mode,
    );
    accepted(EVENTS_PUT_EVENTS, json!({"Entries": "x"}), mode);
    accepted(KMS_ENCRYPT, json!([1, 2]), mode);
}

#[test]
fn strict_requires_required_members_present_does_not() {
    // Lambda's `TagsError` requires `ErrorCode` and `Message`. AWS recorded no missing member:
    // the wording is LocalStack's.
    let mock = json!({"TagsError": {"ErrorCode": "AccessDenied"}});
    assert_eq!(
        refusal(
            LAMBDA_GET_FUNCTION,
            mock.clone(),
            FieldValidationMode::Strict
        ),
        "Mock result schema validation error: Required field 'Message' is missing"
    );
    accepted(LAMBDA_GET_FUNCTION, mock, FieldValidationMode::Present);
    // A null member counts as missing.
    assert_eq!(
        refusal(
            LAMBDA_GET_FUNCTION,
            json!({"Configuration": {"EphemeralStorage": {"Size": null}}}),
            FieldValidationMode::Strict
        ),
        "Mock result schema validation error: Required field 'Size' is missing"
    );
    // Present fields are still checked in PRESENT mode inside such a structure.
    assert_eq!(
        refusal(
            LAMBDA_GET_FUNCTION,
            json!({"TagsError": {"Message": 5}}),
            FieldValidationMode::Present
        ),
        "Mock result schema validation error: Field 'Message' must be a string"
    );
    // Required members of structures the mock does not contain are not asked for.
    accepted(
        LAMBDA_GET_FUNCTION,
        json!({"Configuration": {"FunctionName": "f"}}),
        FieldValidationMode::Strict,
    );
}

#[test]
fn resources_without_a_shape_are_not_checked() {
    // Lambda's optimized invoke wraps the function's payload: not the API's output shape.
    for resource in [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        "arn:aws:states:::states:startExecution",
        "arn:aws:states:::apigateway:invoke",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
    ] {
        accepted(
            resource,
            json!({"Entries": 1, "approval": true}),
            FieldValidationMode::Strict,
        );
    }
}

#[test]
fn a_result_that_is_not_an_object() {
    let error = test_state(&request(KMS_ENCRYPT, "[1]", FieldValidationMode::Strict))
        .expect_err("a structure is mocked by an object");
    assert_eq!(error, TestStateError::MockResultNotObject);
    accepted(KMS_ENCRYPT, Value::Null, FieldValidationMode::Strict);
}

#[test]
fn the_check_comes_after_the_json_and_before_the_context() {
    let mut bad = request(
        KMS_ENCRYPT,
        "{\"CiphertextBlob\": 1}",
        FieldValidationMode::Strict,
    );
    bad.context = Some("{\"Pokedex\": {}}".into());
    assert!(matches!(
        test_state(&bad),
        Err(TestStateError::MockResultSchema { .. })
    ));
    bad.mock = Some(Mock {
        result: Some("not JSON".into()),
        ..Mock::default()
    });
    assert_eq!(test_state(&bad), Err(TestStateError::MockResultNotJson));
}

#[test]
fn from_api_defaults_to_strict() {
    let args = json!({
        "definition": json!({"Type": "Task", "Resource": KMS_ENCRYPT, "End": true}).to_string(),
        "mock": {"result": "{\"CiphertextBlob\": \"\"}"}
    });
    let request = TestStateRequest::from_api(&args, jiff::Timestamp::UNIX_EPOCH, 7);
    assert_eq!(
        test_state(&request).map(|r| r.status),
        Err(TestStateError::MockResultSchema {
            reason: "Field 'CiphertextBlob' is smaller than the minimum length".into()
        })
    );
}
