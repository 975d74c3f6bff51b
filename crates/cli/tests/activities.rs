//! `weir server` and activity workers' long polls: a server that stops answers the polls in
//! flight at once (empty, as an ended poll is answered) instead of waiting out their minute.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Server;

fn post(endpoint: &str, operation: &str, input: &Value) -> Result<Value, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(70)))
            .build(),
    );
    let mut answer = agent
        .post(format!("{endpoint}/"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .header("X-Amz-Target", format!("AWSStepFunctions.{operation}"))
        .send(input.to_string())
        .map_err(|e| e.to_string())?;
    let text = answer
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

#[test]
fn a_stopping_server_ends_long_polls_at_once() {
    let server = Server::start();
    let created = post(&server.endpoint, "CreateActivity", &json!({"name": "idle"}))
        .expect("the activity is created");
    let arn = created["activityArn"].as_str().expect("an ARN").to_string();
    let endpoint = server.endpoint.clone();
    let poll = std::thread::spawn(move || {
        let began = Instant::now();
        let answer = post(&endpoint, "GetActivityTask", &json!({"activityArn": arn}));
        (answer, began.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let stopping = Instant::now();
    server.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "the server took {:?} to stop",
        stopping.elapsed()
    );
    let (answer, waited) = poll.join().expect("the poll returns");
    assert_eq!(answer, Ok(json!({})), "an ended poll has no task");
    assert!(
        waited < Duration::from_secs(10),
        "the poll waited {waited:?}"
    );
}
