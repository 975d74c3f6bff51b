//! Queue throughput of `SqliteStore` on a file with its default settings (`synchronous=FULL`):
//! messages per second through the whole life of a message (send, receive, delete), with
//! concurrent producers and consumers sharing the writer's group commit.
//!
//! Run with `cargo bench -p store-sqlite --bench queue`. Three workloads: batches of 10 (what
//! `SendMessageBatch`, a receive of 10 and `DeleteMessageBatch` do), single messages (one
//! request per message and operation), and batches on a FIFO queue (groups and deduplication
//! ids). Each prints messages per second, write requests per
//! second and how many requests a transaction carried on average.

use jiff::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use store::Store;
use store::queue::{NewMessage, Receipt, Receive};
use store_sqlite::{Options, SqliteStore};

/// The queue every workload uses.
const QUEUE: &str = "bench";

/// One workload: `producers` tasks send `per_producer` messages `batch` at a time while
/// `consumers` tasks receive and delete `batch` at a time until every message is gone.
struct Workload {
    name: &'static str,
    producers: usize,
    consumers: usize,
    per_producer: usize,
    batch: usize,
    /// FIFO: messages spread over this many groups (by producer and index).
    groups: Option<usize>,
}

fn message(producer: usize, index: usize, now: Timestamp, groups: Option<usize>) -> NewMessage {
    NewMessage {
        id: format!("{producer}-{index}"),
        body: format!(
            r#"{{"order":{index},"producer":{producer},"padding":"{}"}}"#,
            "x".repeat(160)
        ),
        attributes: "{}".to_owned(),
        sent_at: now,
        visible_at: now,
        group_id: groups.map(|groups| format!("g{}", (producer + index) % groups)),
        dedup_id: groups.map(|_| format!("{producer}-{index}")),
        dedup_expires_at: now + jiff::SignedDuration::from_secs(300),
    }
}

async fn run(workload: &Workload) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("bench.db"), Options::default()).expect("opens"),
    );
    let total = (workload.producers * workload.per_producer) as u64;
    let consumed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for producer in 0..workload.producers {
        let store = Arc::clone(&store);
        let (per_producer, batch, groups) =
            (workload.per_producer, workload.batch, workload.groups);
        tasks.push(tokio::spawn(async move {
            for first in (0..per_producer).step_by(batch) {
                let now = Timestamp::now();
                let messages = (first..(first + batch).min(per_producer))
                    .map(|index| message(producer, index, now, groups))
                    .collect();
                store
                    .send_messages(QUEUE, now, messages)
                    .await
                    .expect("send");
            }
        }));
    }
    for _ in 0..workload.consumers {
        let store = Arc::clone(&store);
        let consumed = Arc::clone(&consumed);
        let (batch, fifo) = (workload.batch, workload.groups.is_some());
        tasks.push(tokio::spawn(async move {
            while consumed.load(Ordering::Relaxed) < total {
                let now = Timestamp::now();
                let receive = Receive {
                    queue: QUEUE.to_owned(),
                    now,
                    max: batch,
                    visible_until: now + jiff::SignedDuration::from_secs(30),
                    redrive: None,
                    fifo,
                };
                let received = store.receive_messages(receive).await.expect("receive");
                if received.messages.is_empty() {
                    tokio::task::yield_now().await;
                    continue;
                }
                let receipts: Vec<Receipt> = received
                    .messages
                    .iter()
                    .map(|message| Receipt {
                        sequence: message.sequence,
                        receive_count: message.receive_count,
                    })
                    .collect();
                let deleted = store
                    .delete_messages(QUEUE, receipts)
                    .await
                    .expect("delete");
                let done = deleted.iter().filter(|deleted| **deleted).count() as u64;
                consumed.fetch_add(done, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task finishes");
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = store.stats();
    println!(
        "{:<28} {total:>7} messages in {seconds:>6.2} s: {:>8.0} messages/s, {:>7.0} writes/s, \
         {:>5.1} writes per transaction",
        workload.name,
        total as f64 / seconds,
        stats.requests as f64 / seconds,
        stats.requests as f64 / stats.batches.max(1) as f64,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let workloads = [
        Workload {
            name: "batches of 10, 16+16 tasks",
            producers: 16,
            consumers: 16,
            per_producer: 2_000,
            batch: 10,
            groups: None,
        },
        Workload {
            name: "single messages, 32+32",
            producers: 32,
            consumers: 32,
            per_producer: 250,
            batch: 1,
            groups: None,
        },
        Workload {
            name: "FIFO, 64 groups, batches",
            producers: 16,
            consumers: 16,
            per_producer: 1_000,
            batch: 10,
            groups: Some(64),
        },
    ];
    for workload in &workloads {
        runtime.block_on(run(workload));
    }
}
