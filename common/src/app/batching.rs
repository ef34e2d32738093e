//! Group commit for queue sends: concurrent single sends are written in one transaction.
//!
//! Under load, a batch forms while the previous one is being written, so throughput grows with
//! concurrency and an idle queue adds no delay. Every send still returns only once its message
//! is durable.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::ports::{DeadLetter, QueueName, Received, StoreError, WorkQueue};

type Reply = oneshot::Sender<Result<u64, String>>;

/// A [`WorkQueue`] that coalesces concurrent single-message sends into batches; everything
/// else goes straight to the inner queue.
pub struct BatchingQueue {
    inner: Arc<dyn WorkQueue>,
    sends: mpsc::Sender<(QueueName, Vec<u8>, Reply)>,
}

impl BatchingQueue {
    /// Wraps `inner`, writing at most `max_batch` messages per transaction. Spawns the writer
    /// task on the current tokio runtime; it ends when the queue is dropped.
    pub fn spawn(inner: Arc<dyn WorkQueue>, max_batch: usize) -> Arc<Self> {
        let (sends, mut pending) = mpsc::channel::<(QueueName, Vec<u8>, Reply)>(max_batch * 4);
        let writer = Arc::clone(&inner);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max_batch);
            while pending.recv_many(&mut batch, max_batch).await > 0 {
                // Batches go per queue, in arrival order.
                while !batch.is_empty() {
                    let queue = batch[0].0;
                    let (same, rest): (Vec<_>, Vec<_>) = batch.drain(..).partition(|(q, _, _)| *q == queue);
                    batch = rest;
                    let (bodies, replies): (Vec<_>, Vec<_>) =
                        same.into_iter().map(|(_, body, reply)| (body, reply)).unzip();
                    match writer.send_batch(queue, &bodies).await {
                        Ok(ids) => {
                            for (reply, id) in replies.into_iter().zip(ids) {
                                let _ = reply.send(Ok(id));
                            }
                        }
                        Err(error) => {
                            let message = error.to_string();
                            for reply in replies {
                                let _ = reply.send(Err(message.clone()));
                            }
                        }
                    }
                }
            }
        });
        Arc::new(BatchingQueue { inner, sends })
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the queue writer has stopped".into())
}

#[async_trait]
impl WorkQueue for BatchingQueue {
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        if bodies.len() != 1 {
            return self.inner.send_batch(queue, bodies).await;
        }
        let (reply, answer) = oneshot::channel();
        self.sends.send((queue, bodies[0].clone(), reply)).await.map_err(|_| closed())?;
        match answer.await.map_err(|_| closed())? {
            Ok(id) => Ok(vec![id]),
            Err(message) => Err(StoreError::Unavailable(message.into())),
        }
    }

    async fn receive(&self, queue: QueueName, max: usize, lease: Duration) -> Result<Vec<Received>, StoreError> {
        self.inner.receive(queue, max, lease).await
    }

    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.inner.ack(queue, id).await
    }

    async fn release(&self, queue: QueueName, id: u64, delay: Duration) -> Result<(), StoreError> {
        self.inner.release(queue, id, delay).await
    }

    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError> {
        self.inner.dead_letter(queue, id, reason).await
    }

    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(queue, after_id, limit).await
    }

    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        self.inner.redrive(queue, id).await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        self.inner.depth(queue).await
    }

    fn shortest_lease(&self) -> chrono::Duration {
        self.inner.shortest_lease()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite::SqliteStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sends_are_all_stored_and_answered_with_their_own_ids() {
        let store: Arc<dyn WorkQueue> = Arc::new(SqliteStore::in_memory().expect("store"));
        let queue = BatchingQueue::spawn(Arc::clone(&store), 64);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..500u32 {
            let queue = Arc::clone(&queue);
            tasks.spawn(
                async move { (i, queue.send_batch(QueueName::CarrierUpdates, &[i.to_le_bytes().to_vec()]).await) },
            );
        }
        let mut ids = std::collections::BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.expect("task");
            ids.insert(result.expect("stored")[0], i);
        }
        assert_eq!(ids.len(), 500);
        let received = store.receive(QueueName::CarrierUpdates, 1000, Duration::minutes(1)).await.expect("received");
        assert_eq!(received.len(), 500);
        for message in received {
            assert_eq!(message.body, ids[&message.id].to_le_bytes().to_vec(), "each id names its own body");
        }
    }
}
