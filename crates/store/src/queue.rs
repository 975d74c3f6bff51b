//! Queue records: the messages of weir's durable queues (SQS semantics), as the store keeps them.
//!
//! A queue's settings (attributes, tags, redrive policy) are engine documents; the store keeps
//! only messages and applies a few atomic operations to them, each one write through the same
//! durable path as commits (an acknowledged send survives a crash). The engine owns everything
//! else: attribute rules, receipt handles, long polling, move tasks.
//!
//! # Contract (checked by the `contract` suite)
//! - **Identity and order.** Every stored message has a `sequence`, unique in the store and
//!   increasing in the order messages were sent. A message keeps its sequence when it moves to
//!   a dead-letter queue or back (and its id, body, attributes, `sent_at`, `first_received_at`,
//!   group and deduplication ids). Receives return messages in sequence order.
//! - **States.** A message is *visible* when `visible_at <= now`; otherwise it is *in flight* if
//!   it was received at least once since it was (re)queued (`receive_count > 0`), else *delayed*.
//! - **Receive** ([`Receive`]) takes up to `max` visible messages atomically: the first `max` it
//!   may take, in sequence order; those it moves to the dead-letter queue count toward `max`, so
//!   a receive may deliver fewer than `max` while visible messages remain. Before delivering a
//!   message whose `receive_count` already reached the redrive policy's `max_receive_count`, it
//!   moves it to the dead-letter queue instead: `queue` becomes the dead-letter queue,
//!   `source_queue` the queue it came from, `receive_count` 0, `visible_at` now; it is not
//!   delivered by this receive and is never in both queues. A delivered message gets
//!   `receive_count + 1`, `first_received_at` (if unset) = now, `visible_at = visible_until`.
//!   With `fifo`, only messages with a `group_id` are taken, and one is taken only if no message
//!   of its group in the same queue is in flight and none with a lower sequence is delayed (both
//!   as they were before the receive), so a group's messages are taken in sequence order (a
//!   receive may take several of one group).
//! - **A message is named by `(sequence, receive_count)`** (what receipt handles encode): delete
//!   and change-visibility act only if both match the stored message in that queue, so an old
//!   receipt never touches a message received again since.
//! - **Deduplication.** A message with a `dedup_id` is not stored if the queue holds a
//!   deduplication record of that id that has not expired at `now` (a record holds while
//!   `now < dedup_expires_at`); the send answers with the first message's id and sequence and
//!   `duplicate: true`. Otherwise the record is written (expiring at `dedup_expires_at`) with
//!   the message, atomically. Records outlive the message
//!   (deleting or moving a message keeps its record) and are dropped with [`crate::Store::purge_messages`].
//! - **Move back** ([`crate::Store::move_messages`]) moves up to `max` visible messages, in sequence order,
//!   from a dead-letter queue to `to` or else to their `source_queue`, with `receive_count` 0,
//!   `visible_at` now and no `source_queue`. Without `to`, a message that has no `source_queue`
//!   (one sent to the dead-letter queue directly) stays and does not count toward `max`.

use jiff::Timestamp;

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Its id (`MessageId`), made by the engine.
    pub id: String,
    /// Its body.
    pub body: String,
    /// Its attributes (message and system attributes), JSON text owned by the engine.
    pub attributes: String,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When it first becomes visible (`sent_at` plus its delay).
    pub visible_at: Timestamp,
    /// FIFO queues: its message group.
    pub group_id: Option<String>,
    /// FIFO queues: its deduplication id.
    pub dedup_id: Option<String>,
    /// Until when its deduplication id holds (with `dedup_id`).
    pub dedup_expires_at: Timestamp,
}

impl NewMessage {
    /// The message as a send stores it in `queue` under `sequence`: never received, in no
    /// dead-letter queue.
    pub fn stored(&self, queue: &str, sequence: u64) -> Message {
        Message {
            queue: queue.to_owned(),
            id: self.id.clone(),
            sequence,
            body: self.body.clone(),
            attributes: self.attributes.clone(),
            sent_at: self.sent_at,
            visible_at: self.visible_at,
            receive_count: 0,
            first_received_at: None,
            group_id: self.group_id.clone(),
            dedup_id: self.dedup_id.clone(),
            source_queue: None,
        }
    }
}

/// What a send did with one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The message id: the new message's, or the first one's for a duplicate.
    pub id: String,
    /// Its sequence.
    pub sequence: u64,
    /// `true` when a message with the same deduplication id was sent within its window, so
    /// nothing was stored.
    pub duplicate: bool,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The queue it is in.
    pub queue: String,
    /// Its id.
    pub id: String,
    /// Its sequence (see the contract).
    pub sequence: u64,
    /// Its body.
    pub body: String,
    /// Its attributes, as sent.
    pub attributes: String,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When it is (or becomes) visible.
    pub visible_at: Timestamp,
    /// How many times it was received since it was last (re)queued.
    pub receive_count: u64,
    /// When it was first received, if it was.
    pub first_received_at: Option<Timestamp>,
    /// FIFO: its message group.
    pub group_id: Option<String>,
    /// FIFO: its deduplication id.
    pub dedup_id: Option<String>,
    /// For a message moved to a dead-letter queue: the queue it came from.
    pub source_queue: Option<String>,
}

/// A dead-letter rule: messages received `max_receive_count` times move to `dead_letter_queue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    /// How many receives a message gets before it moves.
    pub max_receive_count: u64,
    /// The queue it moves to.
    pub dead_letter_queue: String,
}

/// One receive.
#[derive(Debug, Clone, PartialEq)]
pub struct Receive {
    /// The queue.
    pub queue: String,
    /// The time of the receive.
    pub now: Timestamp,
    /// At most this many messages.
    pub max: usize,
    /// Delivered messages stay invisible until then.
    pub visible_until: Timestamp,
    /// The queue's redrive policy, if it has one.
    pub redrive: Option<Redrive>,
    /// FIFO ordering by message group.
    pub fifo: bool,
}

/// What a receive did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Received {
    /// The delivered messages, in sequence order, as they are after the receive.
    pub messages: Vec<Message>,
    /// How many messages it moved to the dead-letter queue instead.
    pub moved_to_dead_letter: u64,
}

/// A message's receipt: which receive of which message (see the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The message's sequence.
    pub sequence: u64,
    /// Its receive count when it was received.
    pub receive_count: u64,
}

/// How many messages a queue holds, by state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueCounts {
    /// Visible now.
    pub visible: u64,
    /// Received and not yet visible again.
    pub in_flight: u64,
    /// Not yet visible and never received since (re)queued.
    pub delayed: u64,
    /// When its oldest message was sent.
    pub oldest_sent_at: Option<Timestamp>,
}
