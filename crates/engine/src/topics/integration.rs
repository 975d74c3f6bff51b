//! The `arn:aws:states:::sns:publish` integration (and its `.waitForTaskToken` form): a Task
//! publishes to one of weir's topics.
//!
//! Parameters are `Publish`'s: `TopicArn` (or `TargetArn`), `Message` (sent as it is when it is
//! a string, as its JSON text otherwise), `Subject`, `MessageAttributes`
//! (`{"name": {"DataType", "StringValue" | "BinaryValue"}}`), `MessageStructure`,
//! `MessageGroupId` and `MessageDeduplicationId`; `PhoneNumber` is refused (weir sends no SMS).
//! The result is `{"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}`. A refused publish
//! fails the task with `SNS.<Code>Exception` (`SNS.NotFoundException` for a topic that does not
//! exist, `SNS.InvalidParameterException`), the cause worded as the AWS SDK words it:
//! `Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request
//! ID: ...; Proxy: null)`.

use super::PublishRequest;
use crate::engine::Engine;
use crate::error::Error;
use crate::task::TaskFailure;
use asl::execution::TaskCommand;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The resource prefix of the integration.
const PUBLISH: &str = "arn:aws:states:::sns:publish";

/// Whether the engine runs this resource itself as a publish to one of its topics.
pub(crate) fn runs(resource: &str) -> bool {
    matches!(
        resource.strip_prefix(PUBLISH),
        Some("" | ".waitForTaskToken")
    )
}

/// Runs one `sns:publish` task attempt.
pub(crate) fn run(
    engine: Engine,
    task: TaskCommand,
) -> store::BoxFuture<'static, Result<Value, TaskFailure>> {
    Box::pin(async move {
        let request_id = asl::Rng::from_key(&task.idempotency_key).uuid();
        publish(&engine, &task)
            .await
            .map(|message_id| {
                let mut members = Map::new();
                members.insert("MessageId".into(), json!(message_id));
                let body = json!({"PublishResponse": {"PublishResult": members.clone()}});
                crate::sdk::json_result(members, &body, &request_id, engine.clock().now())
            })
            .map_err(|error| failure(&error, &request_id))
    })
}

/// A Task's parameters, as Step Functions passes them to SNS.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Parameters {
    topic_arn: Option<String>,
    target_arn: Option<String>,
    phone_number: Option<String>,
    message: Value,
    subject: Option<String>,
    message_attributes: Map<String, Value>,
    message_structure: Option<String>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

async fn publish(engine: &Engine, task: &TaskCommand) -> Result<String, Error> {
    let invalid = |message: String| Error::NotAllowed {
        code: "InvalidParameter",
        message,
    };
    let params: Parameters = serde_json::from_value(task.input.clone()).map_err(|e| {
        invalid(format!(
            "Invalid parameter: the parameters of state '{}' are not Publish's: {e}",
            task.state
        ))
    })?;
    if params.phone_number.is_some() {
        return Err(invalid(
            "Invalid parameter: PhoneNumber: weir does not send SMS; publish to a TopicArn"
                .to_string(),
        ));
    }
    let Some(topic_arn) = params.topic_arn.or(params.target_arn) else {
        return Err(invalid(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
                .to_string(),
        ));
    };
    let message = match params.message {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let request = PublishRequest {
        message,
        subject: params.subject,
        attributes: params.message_attributes,
        structure: params.message_structure,
        group_id: params.message_group_id,
        dedup_id: params.message_deduplication_id,
    };
    engine.publish(&topic_arn, &request).await
}

/// A refused publish as the task failure Step Functions reports for an SNS error.
fn failure(error: &Error, request_id: &str) -> TaskFailure {
    let (code, status) = match error {
        Error::NotAllowed { code, .. } if *code == "NotFound" => (*code, 404),
        Error::NotAllowed { code, .. } => (*code, 400),
        _ => ("InternalError", 500),
    };
    TaskFailure::new(
        format!("SNS.{code}Exception"),
        format!(
            "{error} (Service: AmazonSNS; Status Code: {status}; Error Code: {code}; Request ID: \
             {request_id}; Proxy: null)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_publish_and_its_callback_form_only() {
        assert!(runs("arn:aws:states:::sns:publish"));
        assert!(runs("arn:aws:states:::sns:publish.waitForTaskToken"));
        assert!(!runs("arn:aws:states:::sns:publish.sync"));
        assert!(!runs("arn:aws:states:::sns:publishBatch"));
    }

    #[test]
    fn failures_name_the_sns_error_as_the_sdk_does() {
        let error = Error::NotAllowed {
            code: "NotFound",
            message: "Topic does not exist".into(),
        };
        let failure = failure(&error, "r-1");
        assert_eq!(failure.error, "SNS.NotFoundException");
        assert_eq!(
            failure.cause,
            "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; \
             Request ID: r-1; Proxy: null)"
        );
    }
}
