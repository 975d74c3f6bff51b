//! The queue benchmark, in process: `cargo bench -p engine --bench queues`.
//!
//! Prints the core count and the disk's measured fsync rate (every acknowledged send, receive
//! and delete is durable, so the fsync rate bounds what one-write-per-call could do; group
//! commit is how the store goes past it), then, on the SQLite store with `synchronous=FULL`:
//! - batches of 10: `WEIR_BENCH_CLIENTS` (32) tasks send `WEIR_BENCH_MESSAGES` (50,000)
//!   messages with `SendMessageBatch`-sized calls, then drain them with receives of 10 and a
//!   batch delete each: messages/s for each phase and for send + receive + delete overall;
//! - single messages: the same number of clients each doing send 1, receive 1, delete 1 round
//!   trips for `WEIR_BENCH_SECONDS` (3): round trips/s, and with one client (latency).
//!
//! Figures are messages per second over the engine's API (`Engine::send_messages`, ...), the
//! layer the HTTP API calls; `scripts/bench-queues.sh` measures the same through HTTP with
//! boto3 beside Redis Streams.

use engine::queues::{ReceiveRequest, SendRequest};
use engine::{Engine, Handlers, Options, SystemClock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store_sqlite::SqliteStore;

mod common;

use common::{env_or, fsync_rate};

/// The allocator the `weir` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(bench());
}

async fn engine_in(dir: &std::path::Path) -> Engine {
    let store = SqliteStore::open(&dir.join("weir.db"), store_sqlite::Options::default())
        .expect("the store opens");
    Engine::start(
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(Handlers::new()),
        Options::default(),
    )
    .await
    .expect("the engine starts")
}

fn message(i: u64) -> SendRequest {
    SendRequest {
        body: format!("{{\"order\":{i},\"payload\":\"0123456789abcdef0123456789abcdef\"}}"),
        ..SendRequest::default()
    }
}

fn take(max: usize) -> ReceiveRequest {
    ReceiveRequest {
        max,
        visibility_timeout: Some(60),
        wait_seconds: Some(0),
    }
}

async fn bench() {
    let messages = env_or("WEIR_BENCH_MESSAGES", 50_000) as u64;
    let clients = env_or("WEIR_BENCH_CLIENTS", 32) as u64;
    let seconds = env_or("WEIR_BENCH_SECONDS", 3) as u64;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let scratch = tempfile::tempdir().expect("a temp dir");
    let fsyncs = fsync_rate(scratch.path());
    println!("machine: {cores} cores; disk: {fsyncs:.0} fsync/s (4 KiB append + fdatasync)");
    let engine = engine_in(scratch.path()).await;
    engine
        .create_queue("bench", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("the queue is created");

    // Batches of 10: send everything, then drain.
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (engine, next) = (engine.clone(), next.clone());
        set.spawn(async move {
            loop {
                let first = next.fetch_add(10, Ordering::SeqCst);
                if first >= messages {
                    return;
                }
                let batch = (first..(first + 10).min(messages)).map(message).collect();
                engine.send_messages("bench", batch).await.expect("sends");
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.expect("a sender panicked");
    }
    let send = started.elapsed();
    let drained = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    for _ in 0..clients {
        let (engine, drained) = (engine.clone(), drained.clone());
        set.spawn(async move {
            while drained.load(Ordering::SeqCst) < messages {
                let got = engine
                    .receive_messages("bench", &take(10))
                    .await
                    .expect("receives");
                if got.is_empty() {
                    tokio::task::yield_now().await;
                    continue;
                }
                let handles: Vec<String> = got.iter().map(|m| m.receipt_handle.clone()).collect();
                engine
                    .delete_messages("bench", &handles)
                    .await
                    .expect("deletes");
                drained.fetch_add(got.len() as u64, Ordering::SeqCst);
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.expect("a receiver panicked");
    }
    let drain = started.elapsed();
    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "batches of 10, {clients} clients, {messages} messages: send {:.0} msg/s; receive+delete {:.0} msg/s; send+receive+delete {:.0} msg/s overall",
        rate(messages, send),
        rate(messages, drain),
        rate(messages, send + drain),
    );
    let calls = messages / 10 * 3;
    println!(
        "  {:.0} durable calls/s = {:.1} calls per fsync of the probe",
        rate(calls, send + drain),
        rate(calls, send + drain) / fsyncs
    );

    // Single messages: send 1, receive 1, delete 1, over and over.
    for n in [1, clients] {
        let trips = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        for c in 0..n {
            let (engine, trips) = (engine.clone(), trips.clone());
            set.spawn(async move {
                let queue = format!("single-{n}-{c}");
                engine
                    .create_queue(&queue, &BTreeMap::new(), &BTreeMap::new())
                    .await
                    .expect("the queue is created");
                let mut i = 0;
                while Instant::now() < deadline {
                    engine
                        .send_messages(&queue, vec![message(i)])
                        .await
                        .expect("sends");
                    let got = engine
                        .receive_messages(&queue, &take(1))
                        .await
                        .expect("receives");
                    let handles: Vec<String> =
                        got.iter().map(|m| m.receipt_handle.clone()).collect();
                    engine
                        .delete_messages(&queue, &handles)
                        .await
                        .expect("deletes");
                    trips.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            });
        }
        while let Some(joined) = set.join_next().await {
            joined.expect("a client panicked");
        }
        let total = trips.load(Ordering::SeqCst);
        let elapsed = started.elapsed();
        println!(
            "single messages, {n} client(s): {:.0} send+receive+delete round trips/s ({:.2} ms per round trip per client)",
            rate(total, elapsed),
            elapsed.as_secs_f64() * 1000.0 * n as f64 / total.max(1) as f64
        );
    }
}
