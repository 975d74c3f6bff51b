//! A stand-in SQS endpoint that keeps messages in memory and does nothing else: no store, no
//! durability, no visibility timeouts. `scripts/bench-queues.sh` drives it with the same boto3
//! harness (`queue_bench.py`) as weir, so the run shows how many messages per second the
//! harness's client itself can move on this machine: the ceiling any SQS-protocol server can
//! reach through it. Not a queue: a received message is gone.
//!
//! Usage: `cargo run --release -p api --example null_sqs` prints `listening on URL` and serves
//! until killed. It answers only what the harness calls: CreateQueue, GetQueueAttributes,
//! SendMessageBatch, ReceiveMessage, DeleteMessageBatch, DeleteQueue.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The queues: name to bodies not yet received.
type Queues = Arc<Mutex<HashMap<String, VecDeque<String>>>>;

fn queue_name(input: &Value) -> String {
    let url = input["QueueUrl"].as_str().unwrap_or_default();
    url.rsplit('/').next().unwrap_or_default().to_string()
}

fn answer(queues: &Queues, target: &str, input: &Value) -> Result<Value, String> {
    let mut queues = queues.lock().map_err(|_| "poisoned".to_string())?;
    Ok(match target {
        "AmazonSQS.CreateQueue" => {
            let name = input["QueueName"].as_str().unwrap_or_default().to_string();
            queues.entry(name.clone()).or_default();
            json!({"QueueUrl": format!("http://127.0.0.1/000000000000/{name}")})
        }
        "AmazonSQS.GetQueueAttributes" => {
            let name = queue_name(input);
            let depth = queues.get(&name).map_or(0, VecDeque::len);
            json!({"Attributes": {
                "QueueArn": format!("arn:aws:sqs:us-east-1:000000000000:{name}"),
                "ApproximateNumberOfMessages": depth.to_string(),
            }})
        }
        "AmazonSQS.SendMessageBatch" => {
            let queue = queues.entry(queue_name(input)).or_default();
            let mut successful = Vec::new();
            for entry in input["Entries"].as_array().into_iter().flatten() {
                queue.push_back(
                    entry["MessageBody"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
                successful.push(json!({
                    "Id": entry["Id"],
                    "MessageId": format!("m{}", queue.len()),
                    "MD5OfMessageBody": "00000000000000000000000000000000",
                }));
            }
            json!({"Successful": successful, "Failed": []})
        }
        "AmazonSQS.ReceiveMessage" => {
            let queue = queues.entry(queue_name(input)).or_default();
            let max = input["MaxNumberOfMessages"].as_u64().unwrap_or(1) as usize;
            let messages: Vec<Value> = (0..max)
                .map_while(|_| queue.pop_front())
                .enumerate()
                .map(|(i, body)| {
                    json!({"MessageId": format!("r{i}"), "ReceiptHandle": format!("h{i}"),
                           "MD5OfBody": "00000000000000000000000000000000", "Body": body})
                })
                .collect();
            json!({"Messages": messages})
        }
        "AmazonSQS.DeleteMessageBatch" => {
            let successful: Vec<Value> = input["Entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| json!({"Id": e["Id"]}))
                .collect();
            json!({"Successful": successful, "Failed": []})
        }
        "AmazonSQS.DeleteQueue" => {
            queues.remove(&queue_name(input));
            json!({})
        }
        other => return Err(format!("{other} is not served here")),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let queues: Queues = Arc::default();
    let app = Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let queues = queues.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match answer(&queues, &target, &input) {
                    Ok(value) => (
                        StatusCode::OK,
                        [("content-type", "application/x-amz-json-1.0")],
                        value.to_string(),
                    ),
                    Err(message) => (
                        StatusCode::BAD_REQUEST,
                        [("content-type", "application/x-amz-json-1.0")],
                        json!({"__type": "InvalidAction", "message": message}).to_string(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
