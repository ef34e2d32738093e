//! The work queues: `queue_messages`, leased by moving `visible_at` forward; dead letters
//! marked with `dead_at` and the reason.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::params;

use super::{SqliteStore, execute, from_micros, micros, unavailable};
use crate::ports::{DeadLetter, QueueName, Received, StoreError, WorkQueue};

impl SqliteStore {
    /// Releases every lease: queue messages visible again, planned messages and pending
    /// webhook deliveries free to be leased. The embedded runtime is the only consumer of all
    /// three, so at start whatever is leased was leased by a process that died; waiting for
    /// those leases to run out (five minutes for messages) would only delay recovery. Messages
    /// and deliveries are sent idempotently by their ids, so one the dead process had handed on
    /// is not sent twice. Returns how many were released.
    pub async fn release_all_leases(&self) -> Result<usize, StoreError> {
        self.write(|tx| {
            let now = micros(Utc::now());
            let queued = execute(
                tx,
                "UPDATE queue_messages SET visible_at = ?1 WHERE dead_at IS NULL AND visible_at > ?1 AND receive_count > 0",
                params![now],
            )
            .map_err(unavailable)?;
            let messages = execute(
                tx,
                "UPDATE messages SET lease_until = NULL WHERE state = 'planned' AND lease_until > ?1",
                params![now],
            )
            .map_err(unavailable)?;
            let deliveries = execute(
                tx,
                "UPDATE webhook_deliveries SET lease_until = NULL WHERE state = 'pending' AND lease_until > ?1",
                params![now],
            )
            .map_err(unavailable)?;
            Ok(queued + messages + deliveries)
        })
        .await
    }
}

#[async_trait]
impl WorkQueue for SqliteStore {
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let bodies = bodies.to_vec();
        self.write(move |tx| {
            let now = micros(Utc::now());
            let mut statement = tx
                .prepare_cached(
                    "INSERT INTO queue_messages (queue, body, enqueued_at, visible_at) VALUES (?1, ?2, ?3, ?3) RETURNING id",
                )
                .map_err(unavailable)?;
            bodies
                .iter()
                .map(|body| {
                    statement.query_row(params![queue.as_str(), body, now], |row| row.get::<_, i64>(0)).map(|id| id as u64)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)
        })
        .await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Received>, StoreError> {
        self.write(move |tx| {
            let now = Utc::now();
            let mut statement = tx
                .prepare_cached(
                    "UPDATE queue_messages SET visible_at = ?1, receive_count = receive_count + 1
                     WHERE id IN (SELECT id FROM queue_messages
                                  WHERE queue = ?2 AND dead_at IS NULL AND visible_at <= ?3
                                  ORDER BY visible_at, id LIMIT ?4)
                     RETURNING id, body, receive_count, enqueued_at",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![micros(now + lease), queue.as_str(), micros(now), max as i64], |row| {
                    Ok(Received {
                        id: row.get::<_, i64>(0)? as u64,
                        body: row.get(1)?,
                        receive_count: row.get::<_, i64>(2)? as u32,
                        enqueued_at: from_micros(row.get(3)?),
                    })
                })
                .map_err(unavailable)?;
            let mut received = rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
            received.sort_by_key(|r| r.id);
            Ok(received)
        })
        .await
    }

    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.write(move |tx| {
            execute(
                tx,
                "DELETE FROM queue_messages WHERE id = ?1 AND queue = ?2 AND dead_at IS NULL",
                params![id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError> {
        self.write(move |tx| {
            execute(
                tx,
                "UPDATE queue_messages SET visible_at = ?1 WHERE id = ?2 AND queue = ?3 AND dead_at IS NULL",
                params![micros(Utc::now() + delay), id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.write(move |tx| {
            execute(tx,
                "UPDATE queue_messages SET dead_at = ?1, dead_reason = ?2 WHERE id = ?3 AND queue = ?4 AND dead_at IS NULL",
                params![micros(Utc::now()), reason, id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, body, dead_reason, receive_count, enqueued_at, dead_at FROM queue_messages
                     WHERE queue = ?1 AND dead_at IS NOT NULL AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![queue.as_str(), after_id as i64, limit as i64], |row| {
                    Ok(DeadLetter {
                        id: row.get::<_, i64>(0)? as u64,
                        body: row.get(1)?,
                        reason: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        receive_count: row.get::<_, i64>(3)? as u32,
                        enqueued_at: from_micros(row.get(4)?),
                        dead_at: from_micros(row.get(5)?),
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.write(move |tx| {
            let changed = execute(
                tx,
                "UPDATE queue_messages SET dead_at = NULL, dead_reason = NULL, receive_count = 0, visible_at = ?1
                     WHERE id = ?2 AND queue = ?3 AND dead_at IS NOT NULL",
                params![micros(Utc::now()), id as i64, queue.as_str()],
            )
            .map_err(unavailable)?;
            if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        self.read(move |connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1 AND dead_at IS NULL",
                    params![queue.as_str()],
                    |row| row.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod recovery_tests {
    use chrono::{Duration, Utc};

    use super::super::SqliteStore;
    use crate::domain::{Channel, Language, ShipmentId, TenantId, Trigger};
    use crate::ports::{LedgerEntry, MessageLedger, QueueName, WorkQueue};

    #[tokio::test]
    async fn leases_of_a_dead_consumer_are_released_at_start() {
        let store = SqliteStore::in_memory().expect("store");
        store.send_batch(QueueName::CarrierUpdates, &[b"a".to_vec(), b"b".to_vec()]).await.expect("sent");
        let leased = store.receive(QueueName::CarrierUpdates, 1, Duration::hours(1)).await.expect("leased");
        assert_eq!(leased.len(), 1);
        let now = Utc::now();
        let message = LedgerEntry::planned(
            TenantId::random(),
            ShipmentId::random(),
            Trigger::Delivered,
            Channel::Email,
            "ann@example.com".to_owned(),
            Language::En,
            now - Duration::minutes(1),
            now - Duration::minutes(1),
        );
        store.plan(&message).await.expect("planned");
        assert_eq!(store.lease_due(now, Duration::minutes(5), 10).await.expect("leased").len(), 1);
        assert!(store.lease_due(now, Duration::minutes(5), 10).await.expect("none").is_empty(), "held");

        assert_eq!(store.release_all_leases().await.expect("released"), 2, "the queue's and the ledger's");
        let all = store.receive(QueueName::CarrierUpdates, 10, Duration::hours(1)).await.expect("received");
        assert_eq!(all.len(), 2, "the leased one is back");
        let again = store.lease_due(Utc::now(), Duration::minutes(5), 10).await.expect("leased");
        assert_eq!(again.len(), 1, "the message the dead process held is due again at once");
    }
}
