//! Durable work queues: at-least-once delivery, leases, dead letters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A named work queue: `carrier-updates` (webhook payloads and poll results) and, later, the
/// notification and fan-out queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueName {
    /// Raw carrier webhooks and parsed poll results, waiting to be merged into shipments.
    CarrierUpdates,
    /// Shipments' status changes (JSON [`ChangeEvent`]s), for notifications and merchants'
    /// webhooks; the AWS `status-fanout` function fills it from the table's stream.
    StatusChanges,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 2] = [QueueName::CarrierUpdates, QueueName::StatusChanges];

    /// The queue's name, as stored and as the SQS queue is named.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::CarrierUpdates => "carrier-updates",
            QueueName::StatusChanges => "status-changes",
        }
    }
}

impl std::str::FromStr for QueueName {
    type Err = String;

    /// The queue named `name` ([`QueueName::as_str`]'s spelling); the error lists the queues.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        QueueName::ALL.into_iter().find(|queue| queue.as_str() == name).ok_or_else(|| {
            let known: Vec<&str> = QueueName::ALL.iter().map(|q| q.as_str()).collect();
            format!("queue must be one of {}", known.join(", "))
        })
    }
}

/// A message taken from a queue, hidden from other consumers until acknowledged, released, or
/// its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The message's id, stable across deliveries.
    pub id: u64,
    /// The body as sent.
    pub body: Vec<u8>,
    /// How many times it has been handed out, this delivery included.
    pub receive_count: u32,
    /// When it was first sent.
    pub enqueued_at: DateTime<Utc>,
}

/// A message that failed for good, kept with the reason (the dead-letter queue, or quarantine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message's id.
    pub id: u64,
    /// The body as sent.
    pub body: Vec<u8>,
    /// Why it was set aside.
    pub reason: String,
    /// How many times it was handed out.
    pub receive_count: u32,
    /// When it was first sent.
    pub enqueued_at: DateTime<Utc>,
    /// When it was set aside.
    pub dead_at: DateTime<Utc>,
}

/// Durable work queues with at-least-once delivery, leases and a dead-letter side.
///
/// Messages of one queue are handed out roughly in send order; consumers must be idempotent.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Stores every body, durably, before returning their ids in order. All or none.
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError>;
    /// Leases up to `max` visible messages for `lease`; each comes back unless acknowledged or
    /// released before the lease ends.
    async fn receive(&self, queue: QueueName, max: usize, lease: chrono::Duration)
    -> Result<Vec<Received>, StoreError>;
    /// Deletes a handled message. Acknowledging an unknown or already deleted id is not an error.
    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError>;
    /// Makes a leased message visible again after `delay` (a retry with back-off).
    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError>;
    /// Moves a message to the dead-letter side with `reason`; it is never handed out again
    /// unless redriven.
    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError>;
    /// Dead letters, oldest first, after `after_id`.
    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;
    /// Puts a dead letter back on the queue, visible now, with its receive count reset.
    /// `NotFound` if there is no such dead letter.
    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError>;
    /// Messages waiting (visible or leased), not counting dead letters.
    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError>;
    /// The shortest lease or release delay the queue keeps to; shorter ones are rounded up
    /// (SQS counts whole seconds).
    fn shortest_lease(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(1)
    }
}
