//! The queue crash test: a real `weir server` serves a producer and a consumer through SQS's
//! JSON protocol and is killed with SIGKILL at random moments, then started again on the same
//! data. The consumer deletes good messages and never deletes poison ones, which the queue's
//! redrive policy moves to its dead-letter queue after two receives. At the end every message
//! whose send was acknowledged has been consumed or is in the dead-letter queue, and no poison
//! message is there twice (a move is never duplicated).
//!
//! `WEIR_CRASH_QUEUE_MESSAGES` (default 3000) and `WEIR_CRASH_QUEUE_KILLS` (default 8) size the
//! test; `WEIR_CRASH_SEED` replays a run's kill timings (the seed is printed).

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{Crashable, Rng, Target, env_or};

/// One SQS call (see `Target::try_call`).
fn sqs(
    agent: &ureq::Agent,
    target: &Target,
    operation: &str,
    input: &Value,
) -> Option<Result<Value, String>> {
    target.try_call(agent, &format!("AmazonSQS.{operation}"), input)
}

/// Calls until a server answers.
fn sqs_retrying(agent: &ureq::Agent, target: &Target, operation: &str, input: &Value) -> Value {
    loop {
        match sqs(agent, target, operation, input) {
            Some(Ok(body)) => return body,
            Some(Err(code)) => panic!("{operation} refused: {code}"),
            None => thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn agent() -> ureq::Agent {
    support::agent(Duration::from_secs(30))
}

fn is_poison(body: &str) -> bool {
    body.trim_start_matches('m')
        .parse::<u64>()
        .is_ok_and(|n| n % 10 == 0)
}

#[test]
fn acknowledged_messages_survive_repeated_sigkills() {
    let total = env_or("WEIR_CRASH_QUEUE_MESSAGES", 3000);
    let kills = env_or("WEIR_CRASH_QUEUE_KILLS", 8);
    let seed = env_or(
        "WEIR_CRASH_SEED",
        jiff::Timestamp::now().as_nanosecond() as u64,
    ) | 1;
    println!("seed {seed} (WEIR_CRASH_SEED replays the kill timings)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut server = Crashable::start(dir.path(), &["--log-level", "error"]);
    let target = server.target();
    let api = agent();

    let dlq_url = sqs_retrying(
        &api,
        &target,
        "CreateQueue",
        &json!({"QueueName": "work-dlq"}),
    )["QueueUrl"]
        .as_str()
        .expect("a URL")
        .to_string();
    let dlq_arn = sqs_retrying(
        &api,
        &target,
        "GetQueueAttributes",
        &json!({"QueueUrl": dlq_url, "AttributeNames": ["QueueArn"]}),
    )["Attributes"]["QueueArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string();
    let queue_url = sqs_retrying(
        &api,
        &target,
        "CreateQueue",
        &json!({"QueueName": "work", "Attributes": {"RedrivePolicy": policy, "VisibilityTimeout": "1"}}),
    )["QueueUrl"]
        .as_str()
        .expect("a URL")
        .to_string();

    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let maybe_twice: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let consumed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let producing = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicBool::new(false));

    let producer = {
        let (target, acked, maybe_twice, producing, url) = (
            target.clone(),
            acked.clone(),
            maybe_twice.clone(),
            producing.clone(),
            queue_url.clone(),
        );
        thread::spawn(move || {
            let api = agent();
            for start in (0..total).step_by(10) {
                let bodies: Vec<String> = (start..(start + 10).min(total))
                    .map(|i| format!("m{i}"))
                    .collect();
                let entries: Vec<Value> = bodies
                    .iter()
                    .map(|b| json!({"Id": b, "MessageBody": b}))
                    .collect();
                let request = json!({"QueueUrl": url, "Entries": entries});
                let mut tries = 0;
                let answer = loop {
                    tries += 1;
                    match sqs(&api, &target, "SendMessageBatch", &request) {
                        Some(Ok(answer)) => break answer,
                        Some(Err(code)) => panic!("SendMessageBatch refused: {code}"),
                        None => thread::sleep(Duration::from_millis(50)),
                    }
                };
                let ok: Vec<String> = answer["Successful"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["Id"].as_str().map(str::to_string))
                    .collect();
                assert_eq!(ok.len(), bodies.len(), "every entry is accepted: {answer}");
                if tries > 1 {
                    // A try cut off by a kill may have been stored: standard queues deliver
                    // such a message twice.
                    maybe_twice
                        .lock()
                        .expect("not poisoned")
                        .extend(ok.iter().cloned());
                }
                acked.lock().expect("not poisoned").extend(ok);
            }
            producing.store(false, Ordering::SeqCst);
        })
    };

    let consumer = {
        let (target, consumed, done, url) = (
            target.clone(),
            consumed.clone(),
            done.clone(),
            queue_url.clone(),
        );
        thread::spawn(move || {
            let api = agent();
            while !done.load(Ordering::SeqCst) {
                let Some(Ok(answer)) = sqs(
                    &api,
                    &target,
                    "ReceiveMessage",
                    &json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
                ) else {
                    thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let mut deletes = Vec::new();
                for message in answer["Messages"].as_array().into_iter().flatten() {
                    let body = message["Body"].as_str().unwrap_or_default().to_string();
                    if is_poison(&body) {
                        continue;
                    }
                    deletes.push(json!({"Id": format!("d{}", deletes.len()),
                                        "ReceiptHandle": message["ReceiptHandle"]}));
                    consumed.lock().expect("not poisoned").insert(body);
                }
                if !deletes.is_empty() {
                    // A delete lost to a kill only means the message comes back: consumed twice.
                    let _ = sqs(
                        &api,
                        &target,
                        "DeleteMessageBatch",
                        &json!({"QueueUrl": url, "Entries": deletes}),
                    );
                }
            }
        })
    };

    for kill in 0..kills {
        thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        server.kill_and_restart();
        println!("kill {} of {kills} done", kill + 1);
    }
    producer.join().expect("the producer ends");

    // Wait until the work queue is empty: good messages consumed, poison ones moved.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let attributes = sqs_retrying(
            &api,
            &target,
            "GetQueueAttributes",
            &json!({"QueueUrl": queue_url, "AttributeNames": ["All"]}),
        )["Attributes"]
            .clone();
        let left: u64 = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        .iter()
        .map(|k| {
            attributes[*k]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} messages still in the queue after 120 s"
        );
        thread::sleep(Duration::from_millis(200));
    }
    done.store(true, Ordering::SeqCst);
    consumer.join().expect("the consumer ends");

    // Read the dead-letter queue out.
    let mut dead: BTreeMap<String, u64> = BTreeMap::new();
    loop {
        let answer = sqs_retrying(
            &api,
            &target,
            "ReceiveMessage",
            &json!({"QueueUrl": dlq_url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 600}),
        );
        let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            *dead
                .entry(message["Body"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }

    let acked = acked.lock().expect("not poisoned").clone();
    let maybe_twice = maybe_twice.lock().expect("not poisoned").clone();
    let consumed = consumed.lock().expect("not poisoned").clone();
    assert_eq!(
        acked.len() as u64,
        total,
        "every send was acknowledged in the end"
    );
    for body in &acked {
        if is_poison(body) {
            let copies = dead.get(body).copied().unwrap_or(0);
            assert!(copies >= 1, "{body} was acknowledged and is lost");
            if !maybe_twice.contains(body) {
                assert_eq!(
                    copies, 1,
                    "{body} is in the dead-letter queue {copies} times"
                );
            }
        } else {
            // (A good message whose deletes were lost to two kills may also have moved to the
            // dead-letter queue: SQS's at-least-once delivery allows it.)
            assert!(
                consumed.contains(body),
                "{body} was acknowledged and never delivered"
            );
        }
    }
    println!(
        "{} messages acknowledged, {} consumed, {} in the dead-letter queue ({} sends retried)",
        acked.len(),
        consumed.len(),
        dead.values().sum::<u64>(),
        maybe_twice.len()
    );
    server.kill();
}
