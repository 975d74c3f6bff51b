//! The API's load benchmark: `cargo bench -p cli --bench api`.
//!
//! Serves weir's API on loopback (SQLite store, `synchronous=FULL`) and drives it over HTTP with
//! 1 and with 64 concurrent clients (threads with blocking HTTP clients, as scripts are):
//! - `StartExecution` + `DescribeExecution` round trips per second (Standard, 10-state Pass
//!   chain);
//! - `StartSyncExecution` requests per second (Express, the same chain), p50 and p99.
//!
//! - queues through the SQS JSON protocol: `SendMessageBatch` of 10 + `ReceiveMessage` of 10 +
//!   `DeleteMessageBatch` (messages/s through all three), and single-message
//!   `SendMessage` + `ReceiveMessage` + `DeleteMessage` round trips.
//!
//! The baseline in the same run is `ListStateMachines` (one store read, no execution): the cost
//! of the HTTP path itself. `WEIR_BENCH_SECONDS` (default 3) sets each measurement's length.
//! These clients are Rust threads; `scripts/bench-queues.sh` measures queues with boto3 (whose
//! own CPU cost dominates on this machine) beside Redis Streams.

use engine::{Engine, Handlers, Options, SystemClock};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use store_sqlite::SqliteStore;

/// The allocator the `weir` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn chain() -> String {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let mut state = json!({"Type": "Pass", "Result": i, "ResultPath": format!("$.s{i}")});
        if i == 9 {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": states}).to_string()
}

struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    fn new(url: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            url: url.to_string(),
        }
    }

    fn call(&self, operation: &str, body: &Value) -> Value {
        self.call_target(&format!("AWSStepFunctions.{operation}"), body)
    }

    fn sqs(&self, operation: &str, body: &Value) -> Value {
        self.call_target(&format!("AmazonSQS.{operation}"), body)
    }

    fn call_target(&self, operation: &str, body: &Value) -> Value {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", operation)
            .send(body.to_string())
            .expect("the server answers");
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .expect("a readable body");
        assert!(status.is_success(), "{operation} failed: {text}");
        serde_json::from_str(&text).expect("a JSON answer")
    }
}

/// Runs `work` on `clients` threads for the measurement time; returns each call's latency.
fn measure(url: &str, clients: usize, seconds: u64, work: fn(&Client)) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let stop = stop.clone();
            let url = url.to_string();
            std::thread::spawn(move || {
                let client = Client::new(&url);
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    work(&client);
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread panicked"))
        .collect();
    all.sort();
    all
}

fn report(name: &str, clients: usize, seconds: u64, latencies: &[Duration], baseline: f64) {
    let rate = latencies.len() as f64 / seconds as f64;
    let at = |q: f64| latencies[((latencies.len().max(1) - 1) as f64 * q) as usize];
    println!(
        "{name:<40} {clients:>2} clients: {rate:>8.0}/s  p50 {:>9.2?}  p99 {:>9.2?}  ({:.2}x the \
         ListStateMachines baseline)",
        at(0.5),
        at(0.99),
        rate / baseline
    );
}

/// The queues the queue measurements use (created by `main`).
const BATCH_QUEUE: &str = "http://127.0.0.1/000000000000/bench-batch";
const SINGLE_QUEUE: &str = "http://127.0.0.1/000000000000/bench-single";

/// Sends 10 messages, receives up to 10, deletes what came.
fn batch_round(c: &Client) {
    let entries: Vec<Value> = (0..10)
        .map(|i| json!({"Id": format!("m{i}"), "MessageBody": "0123456789abcdef0123456789abcdef"}))
        .collect();
    c.sqs(
        "SendMessageBatch",
        &json!({"QueueUrl": BATCH_QUEUE, "Entries": entries}),
    );
    let got = c.sqs(
        "ReceiveMessage",
        &json!({"QueueUrl": BATCH_QUEUE, "MaxNumberOfMessages": 10}),
    );
    let deletes: Vec<Value> = got["Messages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| json!({"Id": format!("d{i}"), "ReceiptHandle": m["ReceiptHandle"]}))
        .collect();
    if !deletes.is_empty() {
        c.sqs(
            "DeleteMessageBatch",
            &json!({"QueueUrl": BATCH_QUEUE, "Entries": deletes}),
        );
    }
}

/// Sends one message, receives one, deletes it.
fn single_round(c: &Client) {
    c.sqs(
        "SendMessage",
        &json!({"QueueUrl": SINGLE_QUEUE, "MessageBody": "0123456789abcdef"}),
    );
    let got = c.sqs(
        "ReceiveMessage",
        &json!({"QueueUrl": SINGLE_QUEUE, "MaxNumberOfMessages": 1}),
    );
    if let Some(message) = got["Messages"].as_array().and_then(|m| m.first()) {
        c.sqs(
            "DeleteMessage",
            &json!({"QueueUrl": SINGLE_QUEUE, "ReceiptHandle": message["ReceiptHandle"]}),
        );
    }
}

const STANDARD: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:bench-standard";
const EXPRESS: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:bench-express";

fn main() {
    let seconds: u64 = std::env::var("WEIR_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("a temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let url = runtime.block_on(async {
        let store = SqliteStore::open(&dir.path().join("weir.db"), Default::default())
            .expect("the store opens");
        let engine = Engine::start(
            Arc::new(store),
            Arc::new(SystemClock),
            Arc::new(Handlers::new()),
            Options::default(),
        )
        .await
        .expect("the engine starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("an address");
        let api = api::Api {
            engine,
            functions: Arc::new(functions::Registry::new()),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            keys: None,
        };
        tokio::spawn(api::serve(listener, api, std::future::pending()));
        format!("http://{address}/")
    });
    let setup = Client::new(&url);
    for (name, kind) in [("bench-standard", "STANDARD"), ("bench-express", "EXPRESS")] {
        setup.call(
            "CreateStateMachine",
            &json!({"name": name, "definition": chain(), "type": kind,
                    "roleArn": "arn:aws:iam::000000000000:role/bench"}),
        );
    }
    for name in ["bench-batch", "bench-single"] {
        setup.sqs("CreateQueue", &json!({"QueueName": name}));
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores; loopback HTTP; {seconds} s per measurement");
    for clients in [1, 64] {
        let base = measure(&url, clients, seconds, |c| {
            c.call("ListStateMachines", &json!({}));
        });
        let baseline = base.len() as f64 / seconds as f64;
        report(
            "ListStateMachines (baseline)",
            clients,
            seconds,
            &base,
            baseline,
        );
        let standard = measure(&url, clients, seconds, |c| {
            let started = c.call("StartExecution", &json!({"stateMachineArn": STANDARD}));
            let described = c.call(
                "DescribeExecution",
                &json!({"executionArn": started["executionArn"]}),
            );
            assert_eq!(described["status"], "SUCCEEDED");
        });
        report(
            "StartExecution + DescribeExecution",
            clients,
            seconds,
            &standard,
            baseline,
        );
        let express = measure(&url, clients, seconds, |c| {
            let answer = c.call("StartSyncExecution", &json!({"stateMachineArn": EXPRESS}));
            assert_eq!(answer["status"], "SUCCEEDED");
        });
        report(
            "StartSyncExecution (Express)",
            clients,
            seconds,
            &express,
            baseline,
        );
        let batches = measure(&url, clients, seconds, batch_round);
        report(
            "SQS send 10 + receive 10 + delete 10",
            clients,
            seconds,
            &batches,
            baseline,
        );
        println!(
            "{:<40} {clients:>2} clients: {:>8.0} messages/s through send, receive and delete",
            "",
            batches.len() as f64 * 10.0 / seconds as f64
        );
        let singles = measure(&url, clients, seconds, single_round);
        report(
            "SQS send 1 + receive 1 + delete 1",
            clients,
            seconds,
            &singles,
            baseline,
        );
    }
}
