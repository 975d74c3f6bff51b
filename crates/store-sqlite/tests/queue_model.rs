//! The queue operations of `SqliteStore` against a simple in-memory model of the contract in
//! `store::queue`: random runs of sends (with delays, groups and deduplication ids), receives
//! (random `max` and visibility, from the queue and from its dead-letter queue), deletes and
//! visibility changes (with current and stale receipts, in the right queue or not), moves back
//! from the dead-letter queue, and clock advances. After every step the store must answer as the
//! model does and hold what it holds.
//!
//! Beside the comparison, each step checks what the model could get wrong with the store:
//! nothing is lost (every message sent and not deleted is in the queue or the dead-letter queue,
//! exactly once), nothing is delivered while it is not visible, and a FIFO receive delivers only
//! messages with a group, a group's messages in sequence order, and only when no message of the
//! group is in flight.

use jiff::Timestamp;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::Store;
use store::queue::{Message, NewMessage, QueueCounts, Receipt, Receive, Received, Redrive, Sent};
use store_sqlite::{Options, SqliteStore, Synchronous};

/// The queue under test.
const MAIN: &str = "main";

/// Its dead-letter queue.
const DLQ: &str = "main-dlq";

/// How many receives a message of [`MAIN`] gets before it moves to [`DLQ`].
const MAX_RECEIVE_COUNT: u64 = 2;

/// How long a deduplication record holds, in milliseconds.
const DEDUP_WINDOW_MS: i64 = 5_000;

/// What a run does next.
#[derive(Debug, Clone)]
enum Step {
    /// Sends `count` messages to [`MAIN`] (or straight to [`DLQ`]), visible after `delay_ms`, of
    /// group `group` if any (on a FIFO queue), with deduplication id `dedup` if any.
    Send {
        dead_letter: bool,
        count: usize,
        delay_ms: i64,
        group: Option<u8>,
        dedup: Option<u8>,
    },
    /// Receives up to `max` messages from [`MAIN`] (or from [`DLQ`]), in flight for
    /// `visibility_ms`.
    Receive {
        dead_letter: bool,
        max: usize,
        visibility_ms: i64,
    },
    /// Deletes with receipt number `pick` of those handed out so far (current or stale), in its
    /// queue or in the other one.
    Delete { pick: usize, wrong_queue: bool },
    /// Changes the visibility of the message of receipt number `pick` to `timeout_ms` from now.
    ChangeVisibility { pick: usize, timeout_ms: i64 },
    /// Moves up to `max` visible messages of [`DLQ`] back to their source queue.
    MoveBack { max: usize },
    /// Moves the clock on.
    Advance { ms: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            proptest::bool::weighted(0.1),
            1..=3_usize,
            prop_oneof![Just(0_i64), duration(12)],
            proptest::option::weighted(0.9, 0..3_u8),
            proptest::option::of(0..4_u8),
        )
            .prop_map(|(dead_letter, count, delay_ms, group, dedup)| Step::Send {
                dead_letter,
                count,
                delay_ms,
                group,
                dedup
            }),
        4 => (
            proptest::bool::weighted(0.2),
            1..=4_usize,
            prop_oneof![Just(0_i64), duration(16)],
        )
            .prop_map(|(dead_letter, max, visibility_ms)| Step::Receive {
                dead_letter,
                max,
                visibility_ms
            }),
        2 => (any::<usize>(), proptest::bool::weighted(0.1))
            .prop_map(|(pick, wrong_queue)| Step::Delete { pick, wrong_queue }),
        1 => (any::<usize>(), prop_oneof![Just(0_i64), duration(16)])
            .prop_map(|(pick, timeout_ms)| Step::ChangeVisibility { pick, timeout_ms }),
        1 => (1..=3_usize).prop_map(|max| Step::MoveBack { max }),
        3 => duration(12).prop_map(|ms| Step::Advance { ms }),
    ]
}

/// A duration of 1 to `most` quarter seconds, in milliseconds: coarse, so that times often meet
/// exactly (a visibility ending at `now`, a deduplication record expiring at `now`).
fn duration(most: i64) -> impl Strategy<Value = i64> {
    (1..=most).prop_map(|quarters| quarters * 250)
}

/// 2026-01-01T00:00:00Z plus `ms` milliseconds (and 7 µs, to catch lost precision).
fn time(ms: i64) -> Timestamp {
    Timestamp::from_microsecond(1_767_225_600_000_007 + ms * 1_000).expect("in range")
}

/// The contract, on plain collections.
#[derive(Debug, Default)]
struct Model {
    fifo: bool,
    /// Every stored message, of both queues, by sequence.
    messages: BTreeMap<u64, Message>,
    /// Deduplication records by (queue, dedup id): first id, its sequence, expiry.
    dedup: HashMap<(String, String), (String, u64, Timestamp)>,
}

impl Model {
    fn visible(message: &Message, now: Timestamp) -> bool {
        message.visible_at <= now
    }

    fn in_flight(message: &Message, now: Timestamp) -> bool {
        !Self::visible(message, now) && message.receive_count > 0
    }

    fn queue(&self, queue: &str) -> Vec<Message> {
        self.messages
            .values()
            .filter(|message| message.queue == queue)
            .cloned()
            .collect()
    }

    fn counts(&self, queue: &str, now: Timestamp) -> QueueCounts {
        let messages = self.queue(queue);
        let count = |test: &dyn Fn(&Message) -> bool| {
            messages.iter().filter(|message| test(message)).count() as u64
        };
        QueueCounts {
            visible: count(&|message| Self::visible(message, now)),
            in_flight: count(&|message| Self::in_flight(message, now)),
            delayed: count(&|message| !Self::visible(message, now) && message.receive_count == 0),
            oldest_sent_at: messages.iter().map(|message| message.sent_at).min(),
        }
    }

    /// The answer a send gets for each message: `Some` for a duplicate, `None` for a message
    /// the store must take (its sequence comes from the store).
    fn duplicate(&self, queue: &str, now: Timestamp, message: &NewMessage) -> Option<Sent> {
        let dedup_id = message.dedup_id.as_ref()?;
        let (id, sequence, expires_at) = self.dedup.get(&(queue.to_owned(), dedup_id.clone()))?;
        (now < *expires_at).then(|| Sent {
            id: id.clone(),
            sequence: *sequence,
            duplicate: true,
        })
    }

    fn store(&mut self, queue: &str, message: &NewMessage, sequence: u64) {
        if let Some(dedup_id) = &message.dedup_id {
            self.dedup.insert(
                (queue.to_owned(), dedup_id.clone()),
                (message.id.clone(), sequence, message.dedup_expires_at),
            );
        }
        self.messages
            .insert(sequence, message.stored(queue, sequence));
    }

    /// Whether a FIFO receive at `now` may take `message` (as things were before the receive).
    fn group_allows(&self, message: &Message, now: Timestamp) -> bool {
        let Some(group) = &message.group_id else {
            return false;
        };
        !self.messages.values().any(|other| {
            other.queue == message.queue
                && other.group_id.as_ref() == Some(group)
                && !Self::visible(other, now)
                && (other.receive_count > 0 || other.sequence < message.sequence)
        })
    }

    fn receive(&mut self, receive: &Receive) -> Received {
        let candidates: Vec<u64> = self
            .messages
            .values()
            .filter(|message| message.queue == receive.queue && Self::visible(message, receive.now))
            .filter(|message| !receive.fifo || self.group_allows(message, receive.now))
            .take(receive.max)
            .map(|message| message.sequence)
            .collect();
        let mut received = Received::default();
        for sequence in candidates {
            let message = self
                .messages
                .get_mut(&sequence)
                .expect("a candidate exists");
            match &receive.redrive {
                Some(redrive) if message.receive_count >= redrive.max_receive_count => {
                    message.source_queue = Some(message.queue.clone());
                    message.queue = redrive.dead_letter_queue.clone();
                    message.receive_count = 0;
                    message.visible_at = receive.now;
                    received.moved_to_dead_letter += 1;
                }
                _ => {
                    message.receive_count += 1;
                    message.first_received_at = message.first_received_at.or(Some(receive.now));
                    message.visible_at = receive.visible_until;
                    received.messages.push(message.clone());
                }
            }
        }
        received
    }

    fn named<'a>(&'a mut self, queue: &str, receipt: Receipt) -> Option<&'a mut Message> {
        self.messages.get_mut(&receipt.sequence).filter(|message| {
            message.queue == queue && message.receive_count == receipt.receive_count
        })
    }

    fn delete(&mut self, queue: &str, receipt: Receipt) -> bool {
        let found = self.named(queue, receipt).is_some();
        if found {
            self.messages.remove(&receipt.sequence);
        }
        found
    }

    fn change_visibility(
        &mut self,
        queue: &str,
        now: Timestamp,
        receipt: Receipt,
        visible_at: Timestamp,
    ) -> bool {
        match self.named(queue, receipt) {
            Some(message) if Self::in_flight(message, now) => {
                message.visible_at = visible_at;
                true
            }
            _ => false,
        }
    }

    fn move_back(&mut self, from: &str, max: usize, now: Timestamp) -> u64 {
        let chosen: Vec<u64> = self
            .messages
            .values()
            .filter(|message| {
                message.queue == from
                    && Self::visible(message, now)
                    && message.source_queue.is_some()
            })
            .take(max)
            .map(|message| message.sequence)
            .collect();
        for sequence in &chosen {
            let message = self
                .messages
                .get_mut(sequence)
                .expect("a chosen message exists");
            message.queue = message.source_queue.take().expect("chosen with a source");
            message.receive_count = 0;
            message.visible_at = now;
        }
        chosen.len() as u64
    }
}

/// One run: the store and the model side by side.
struct Run {
    store: SqliteStore,
    model: Model,
    now_ms: i64,
    sent: usize,
    /// Every receipt handed out so far, with its queue.
    receipts: Vec<(String, Receipt)>,
    /// The ids of messages stored and not deleted, from the store's own answers.
    alive: BTreeSet<String>,
    highest_sequence: u64,
}

impl Run {
    fn now(&self) -> Timestamp {
        time(self.now_ms)
    }

    async fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let now = self.now();
        match step {
            Step::Send {
                dead_letter,
                count,
                delay_ms,
                group,
                dedup,
            } => {
                let messages: Vec<NewMessage> = (0..*count)
                    .map(|offset| {
                        let id = format!("m{}", self.sent + offset);
                        NewMessage {
                            body: format!("body of {id}"),
                            attributes: format!(r#"{{"n":{}}}"#, self.sent + offset),
                            id,
                            sent_at: now,
                            visible_at: time(self.now_ms + delay_ms),
                            group_id: group
                                .filter(|_| self.model.fifo)
                                .map(|group| format!("g{group}")),
                            dedup_id: dedup.map(|dedup| format!("d{dedup}")),
                            dedup_expires_at: time(self.now_ms + DEDUP_WINDOW_MS),
                        }
                    })
                    .collect();
                self.sent += count;
                let queue = if *dead_letter { DLQ } else { MAIN };
                let sent = self
                    .store
                    .send_messages(queue, now, messages.clone())
                    .await
                    .map_err(|error| TestCaseError::fail(format!("send: {error}")))?;
                prop_assert_eq!(sent.len(), messages.len());
                for (message, sent) in messages.iter().zip(sent) {
                    match self.model.duplicate(queue, now, message) {
                        Some(expected) => prop_assert_eq!(sent, expected, "a duplicate"),
                        None => {
                            prop_assert_eq!(&sent.id, &message.id);
                            prop_assert!(!sent.duplicate, "{} is not a duplicate", message.id);
                            prop_assert!(
                                sent.sequence > self.highest_sequence,
                                "sequences grow: {} after {}",
                                sent.sequence,
                                self.highest_sequence
                            );
                            self.highest_sequence = sent.sequence;
                            self.model.store(queue, message, sent.sequence);
                            self.alive.insert(message.id.clone());
                        }
                    }
                }
            }
            Step::Receive {
                dead_letter,
                max,
                visibility_ms,
            } => {
                let receive = Receive {
                    queue: if *dead_letter { DLQ } else { MAIN }.to_owned(),
                    now,
                    max: *max,
                    visible_until: time(self.now_ms + visibility_ms),
                    redrive: (!dead_letter).then(|| Redrive {
                        max_receive_count: MAX_RECEIVE_COUNT,
                        dead_letter_queue: DLQ.to_owned(),
                    }),
                    fifo: self.model.fifo,
                };
                let before = self.model.queue(&receive.queue);
                let received = self
                    .store
                    .receive_messages(receive.clone())
                    .await
                    .map_err(|error| TestCaseError::fail(format!("receive: {error}")))?;
                let expected = self.model.receive(&receive);
                prop_assert_eq!(&received, &expected, "receive {:?}", receive);
                check_receive(&before, &received, &receive, self.model.fifo)?;
                self.receipts
                    .extend(received.messages.iter().map(|message| {
                        (
                            message.queue.clone(),
                            Receipt {
                                sequence: message.sequence,
                                receive_count: message.receive_count,
                            },
                        )
                    }));
            }
            Step::Delete { pick, wrong_queue } => {
                let Some((queue, receipt)) = self.pick(*pick, *wrong_queue) else {
                    return Ok(());
                };
                let deleted = self
                    .store
                    .delete_messages(&queue, vec![receipt])
                    .await
                    .map_err(|error| TestCaseError::fail(format!("delete: {error}")))?;
                let id = self
                    .model
                    .messages
                    .get(&receipt.sequence)
                    .map(|m| m.id.clone());
                let expected = self.model.delete(&queue, receipt);
                prop_assert_eq!(deleted, vec![expected], "delete {:?} in {}", receipt, queue);
                if expected {
                    self.alive.remove(&id.expect("a deleted message existed"));
                }
            }
            Step::ChangeVisibility { pick, timeout_ms } => {
                let Some((queue, receipt)) = self.pick(*pick, false) else {
                    return Ok(());
                };
                let visible_at = time(self.now_ms + timeout_ms);
                let changed = self
                    .store
                    .change_visibility(&queue, now, vec![(receipt, visible_at)])
                    .await
                    .map_err(|error| TestCaseError::fail(format!("change: {error}")))?;
                let expected = self
                    .model
                    .change_visibility(&queue, now, receipt, visible_at);
                prop_assert_eq!(changed, vec![expected], "change {:?} in {}", receipt, queue);
            }
            Step::MoveBack { max } => {
                let moved = self
                    .store
                    .move_messages(DLQ, None, *max, now)
                    .await
                    .map_err(|error| TestCaseError::fail(format!("move: {error}")))?;
                prop_assert_eq!(moved, self.model.move_back(DLQ, *max, now), "move back");
            }
            Step::Advance { ms } => self.now_ms += ms,
        }
        self.compare().await
    }

    /// Receipt number `pick` (modulo how many there are), and its queue or the other one.
    fn pick(&self, pick: usize, wrong_queue: bool) -> Option<(String, Receipt)> {
        if self.receipts.is_empty() {
            return None;
        }
        let (queue, receipt) = self.receipts[pick % self.receipts.len()].clone();
        let queue = match (wrong_queue, queue.as_str()) {
            (false, _) => queue,
            (true, MAIN) => DLQ.to_owned(),
            (true, _) => MAIN.to_owned(),
        };
        Some((queue, receipt))
    }

    /// The store holds what the model holds, and nothing sent is lost.
    async fn compare(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        let mut ids = Vec::new();
        for queue in [MAIN, DLQ] {
            let stored = self
                .store
                .peek_messages(queue, 10_000)
                .await
                .map_err(|error| TestCaseError::fail(format!("peek: {error}")))?;
            prop_assert_eq!(
                &stored,
                &self.model.queue(queue),
                "the messages of {}",
                queue
            );
            let counts = self
                .store
                .queue_counts(queue, now)
                .await
                .map_err(|error| TestCaseError::fail(format!("counts: {error}")))?;
            prop_assert_eq!(
                counts,
                self.model.counts(queue, now),
                "the counts of {}",
                queue
            );
            ids.extend(stored.into_iter().map(|message| message.id));
        }
        let held = ids.len();
        let distinct: BTreeSet<String> = ids.into_iter().collect();
        prop_assert_eq!(held, distinct.len(), "no message is held twice");
        prop_assert_eq!(
            &distinct,
            &self.alive,
            "every message sent and not deleted is held"
        );
        Ok(())
    }
}

/// What a receive must respect whatever the model says: it delivers only messages that were
/// visible, counts each receive once, and on a FIFO queue keeps each group in order and waits
/// for a group's message in flight.
fn check_receive(
    before: &[Message],
    received: &Received,
    receive: &Receive,
    fifo: bool,
) -> Result<(), TestCaseError> {
    let by_sequence: HashMap<u64, &Message> = before
        .iter()
        .map(|message| (message.sequence, message))
        .collect();
    prop_assert!(
        received.messages.len() as u64 + received.moved_to_dead_letter <= receive.max as u64,
        "at most max messages are taken"
    );
    let delivered: BTreeSet<u64> = received.messages.iter().map(|m| m.sequence).collect();
    for message in &received.messages {
        let Some(old) = by_sequence.get(&message.sequence) else {
            return Err(TestCaseError::fail(format!(
                "{} was delivered from outside {}",
                message.id, receive.queue
            )));
        };
        prop_assert!(
            old.visible_at <= receive.now,
            "{} was not visible",
            message.id
        );
        prop_assert_eq!(message.receive_count, old.receive_count + 1);
        prop_assert_eq!(message.visible_at, receive.visible_until);
        if fifo {
            let group = &message.group_id;
            prop_assert!(group.is_some(), "{} has no group", message.id);
            for other in before.iter().filter(|other| &other.group_id == group) {
                prop_assert!(
                    !(other.visible_at > receive.now && other.receive_count > 0),
                    "{} was delivered while {} of its group was in flight",
                    message.id,
                    other.id
                );
                if other.sequence < message.sequence {
                    prop_assert!(
                        delivered.contains(&other.sequence)
                            || (receive.redrive.is_some()
                                && other.receive_count >= MAX_RECEIVE_COUNT
                                && other.visible_at <= receive.now),
                        "{} was delivered before {} of its group",
                        message.id,
                        other.id
                    );
                }
            }
        }
    }
    prop_assert!(
        received
            .messages
            .windows(2)
            .all(|pair| pair[0].sequence < pair[1].sequence),
        "a receive delivers in sequence order"
    );
    Ok(())
}

fn run(fifo: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = Options {
        // The model checks logic, not durability; a sync per step only slows it down.
        synchronous: Synchronous::Normal,
        ..Options::default()
    };
    let store = SqliteStore::open(&dir.path().join("weir.db"), options).expect("the store opens");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut run = Run {
        store,
        model: Model {
            fifo,
            ..Model::default()
        },
        now_ms: 0,
        sent: 0,
        receipts: Vec::new(),
        alive: BTreeSet::new(),
        highest_sequence: 0,
    };
    runtime.block_on(async {
        for step in steps {
            run.apply(step).await?;
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A standard queue with a dead-letter queue behaves as the model.
    #[test]
    fn standard_queue_matches_the_model(steps in proptest::collection::vec(step(), 1..60)) {
        run(false, &steps)?;
    }

    /// A FIFO queue (three groups) with a dead-letter queue behaves as the model.
    #[test]
    fn fifo_queue_matches_the_model(steps in proptest::collection::vec(step(), 1..60)) {
        run(true, &steps)?;
    }
}
