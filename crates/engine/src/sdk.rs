//! The shape Step Functions gives the results of AWS SDK calls its integrations make
//! (`states:startExecution`, `sqs:sendMessage`, ...): the service's answer members, then
//! `SdkHttpMetadata` (the HTTP headers of the answer) and `SdkResponseMetadata`.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// A JSON 1.0 service's answer `members` as a task result: the members (PascalCase, sorted as
/// AWS sorts them) with the metadata of an answer whose body is `body` (the wire form, camelCase
/// for Step Functions, PascalCase for SQS), made at `at` with request id `request_id`.
pub(crate) fn json_result(
    members: Map<String, Value>,
    body: &Value,
    request_id: &str,
    at: Timestamp,
) -> Value {
    let length = body.to_string().len().to_string();
    let date = at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut out: Map<String, Value> = members;
    out.insert(
        "SdkHttpMetadata".into(),
        json!({
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "connection": ["keep-alive"],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/x-amz-json-1.0",
                "Date": date,
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        }),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    out.sort_keys();
    Value::Object(out)
}
