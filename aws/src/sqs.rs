//! SQS work queues: each [`QueueName`] is a standard queue
//! `<prefix><name>` with a dead-letter queue `<prefix><name>-dlq`.
//!
//! Message ids are Porchlight's own (a message attribute, increasing with send time), so they
//! stay the same across deliveries and through the dead-letter queue. SQS acknowledges by
//! receipt handle: this adapter remembers the handle of every message it leased, so `ack`,
//! `release` and `dead_letter` work for messages this process received (on Lambda, the event
//! source deletes what the handler reports done). Bodies travel base64-encoded, since SQS
//! takes only text; with SQS's 256 KiB limit that allows about 190 KB of payload.
//!
//! Listing dead letters peeks at the DLQ (receives with no visibility timeout), so it sees
//! what SQS hands out in a few rounds: fine for a quarantine of tens or hundreds, not an
//! archive. A batch send that SQS half-accepts fails as a whole; the accepted half may still
//! be delivered, which consumers tolerate (they are idempotent).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use porchlight::ports::{DeadLetter, QueueName, Received, StoreError, WorkQueue};

const ID: &str = "porchlight-id";
const ENQUEUED_AT: &str = "porchlight-enqueued-at";
const REASON: &str = "porchlight-reason";
const DEAD_AT: &str = "porchlight-dead-at";
const RECEIVE_COUNT: &str = "porchlight-receive-count";

/// Receives before a message goes to the DLQ by SQS's own redrive: the same limit at which the
/// pipeline dead-letters a message itself, with the reason (`infra/template.yaml` says the same).
pub const MAX_RECEIVES: u32 = porchlight::app::MAX_RECEIVES;

/// Rounds of peeking at a dead-letter queue when listing it.
const PEEK_ROUNDS: usize = 10;

/// A message this process leased: what SQS needs to act on it, and what a dead letter keeps.
struct Lease {
    receipt: String,
    body: Vec<u8>,
    receive_count: u32,
    enqueued_at: DateTime<Utc>,
}

/// The SQS queues of one deployment.
pub struct SqsQueues {
    client: Client,
    prefix: String,
    urls: Mutex<HashMap<String, String>>,
    leases: Mutex<HashMap<u64, Lease>>,
    last_id: AtomicU64,
}

impl SqsQueues {
    /// Queues named `<prefix><queue>`, configured from the environment by the AWS SDK's chain.
    pub async fn from_env(prefix: impl Into<String>) -> Self {
        SqsQueues::new(&aws_config::load_from_env().await, prefix)
    }

    /// Queues named `<prefix><queue>` with an SDK configuration loaded already.
    pub fn new(config: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        SqsQueues {
            client: Client::new(config),
            prefix: prefix.into(),
            urls: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            last_id: AtomicU64::new(0),
        }
    }

    /// Creates every queue and its DLQ with the redrive the SAM template declares: for
    /// emulators and tests; deployments get them from the template.
    pub async fn create_queues(&self) -> Result<(), StoreError> {
        for queue in QueueName::ALL {
            let dlq = self
                .client
                .create_queue()
                .queue_name(self.name(queue, true))
                .send()
                .await
                .map_err(unavailable)?
                .queue_url
                .ok_or_else(|| refused("created queue without a url"))?;
            let attributes = self
                .client
                .get_queue_attributes()
                .queue_url(&dlq)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(unavailable)?;
            let arn = attributes
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .ok_or_else(|| refused("queue without an arn"))?;
            let redrive = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES}).to_string();
            self.client
                .create_queue()
                .queue_name(self.name(queue, false))
                .attributes(QueueAttributeName::RedrivePolicy, redrive)
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    fn name(&self, queue: QueueName, dead: bool) -> String {
        format!("{}{}{}", self.prefix, queue.as_str(), if dead { "-dlq" } else { "" })
    }

    async fn url(&self, queue: QueueName, dead: bool) -> Result<String, StoreError> {
        let name = self.name(queue, dead);
        if let Some(url) = self.urls.lock().expect("urls lock").get(&name) {
            return Ok(url.clone());
        }
        let answer = self.client.get_queue_url().queue_name(&name).send().await.map_err(unavailable)?;
        let url = answer.queue_url.ok_or_else(|| refused("queue without a url"))?;
        self.urls.lock().expect("urls lock").insert(name, url.clone());
        Ok(url)
    }

    /// A new id, larger than every id this process handed out before: microseconds since
    /// the epoch, times 1,000, plus a counter.
    fn new_id(&self) -> u64 {
        let now = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0).saturating_mul(1000);
        let mut last = self.last_id.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_id.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Puts a copy of `message` in the queue's DLQ with `reason`. The original is left to its
    /// consumer: a Lambda handler reports it done, and the event source deletes it.
    pub async fn quarantine(&self, queue: QueueName, message: &Received, reason: &str) -> Result<(), StoreError> {
        let attributes = [
            (ID, message.id.to_string()),
            (ENQUEUED_AT, message.enqueued_at.timestamp_micros().to_string()),
            (DEAD_AT, Utc::now().timestamp_micros().to_string()),
            (RECEIVE_COUNT, message.receive_count.to_string()),
            (REASON, reason.to_owned()),
        ];
        let dlq = self.url(queue, true).await?;
        self.send_entries(&dlq, vec![entry(0, &message.body, &attributes)?]).await
    }

    /// Sends messages (with their attributes) to `url`, ten at a time.
    async fn send_entries(&self, url: &str, entries: Vec<SendMessageBatchRequestEntry>) -> Result<(), StoreError> {
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let batch: Vec<_> = entries.by_ref().take(10).collect();
            let answer = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(batch))
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(failed) = answer.failed.first() {
                return Err(refused(&format!("sqs refused a message: {}", failed.code)));
            }
        }
        Ok(())
    }

    /// Receives up to `max` messages of `url` for `lease`, with their attributes.
    async fn receive_raw(
        &self,
        url: &str,
        max: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<aws_sdk_sqs::types::Message>, StoreError> {
        let mut messages = Vec::new();
        while messages.len() < max {
            let want = (max - messages.len()).min(10);
            let answer = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(want as i32)
                .visibility_timeout(seconds(lease))
                .wait_time_seconds(0)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(unavailable)?;
            let batch = answer.messages.unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            messages.extend(batch);
        }
        Ok(messages)
    }
}

/// A message as Lambda's SQS event source delivers it, read as [`SqsQueues`] sent it: `body`
/// the record's body, `attribute` its message attributes' string values, `receive_count`
/// its `ApproximateReceiveCount`.
pub fn received_from_record(
    body: &str,
    attribute: impl Fn(&str) -> Option<String>,
    receive_count: u32,
) -> Result<Received, StoreError> {
    let id = attribute(ID).and_then(|v| v.parse().ok()).ok_or_else(|| failure("sqs record without porchlight-id"))?;
    let enqueued_at = attribute(ENQUEUED_AT)
        .and_then(|v| v.parse().ok())
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| failure("sqs record without porchlight-enqueued-at"))?;
    let body = BASE64.decode(body).ok().ok_or_else(|| failure("sqs record body is not base64"))?;
    Ok(Received { id, body, receive_count, enqueued_at })
}

fn entry(index: usize, body: &[u8], attributes: &[(&str, String)]) -> Result<SendMessageBatchRequestEntry, StoreError> {
    let mut entry = SendMessageBatchRequestEntry::builder().id(index.to_string()).message_body(BASE64.encode(body));
    for (name, value) in attributes {
        let data_type = if *name == REASON { "String" } else { "Number" };
        let value =
            MessageAttributeValue::builder().data_type(data_type).string_value(value).build().map_err(unavailable)?;
        entry = entry.message_attributes(*name, value);
    }
    entry.build().map_err(unavailable)
}

fn attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message.message_attributes.as_ref()?.get(name)?.string_value()
}

fn micros_attribute(message: &aws_sdk_sqs::types::Message, name: &str) -> Result<DateTime<Utc>, StoreError> {
    attribute(message, name)
        .and_then(|v| v.parse().ok())
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| failure(&format!("sqs message without {name}")))
}

fn message_id(message: &aws_sdk_sqs::types::Message) -> Result<u64, StoreError> {
    attribute(message, ID).and_then(|v| v.parse().ok()).ok_or_else(|| failure("sqs message without porchlight-id"))
}

fn body(message: &aws_sdk_sqs::types::Message) -> Result<Vec<u8>, StoreError> {
    message.body.as_deref().and_then(|b| BASE64.decode(b).ok()).ok_or_else(|| failure("sqs message body is not base64"))
}

fn receipt(message: &aws_sdk_sqs::types::Message) -> Result<String, StoreError> {
    message.receipt_handle.clone().ok_or_else(|| failure("sqs message without a receipt handle"))
}

/// Whole seconds, rounded up, as SQS counts visibility (at most its 12-hour limit).
fn seconds(duration: chrono::Duration) -> i32 {
    let millis = duration.num_milliseconds().clamp(0, 12 * 3_600_000);
    i32::try_from((millis + 999) / 1000).unwrap_or(43_200)
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// SQS answered, but not as it should: the call may succeed if retried.
fn refused(message: &str) -> StoreError {
    StoreError::Unavailable(message.to_owned().into())
}

/// A message this adapter did not send as it is (attributes or body missing): never readable.
fn failure(message: &str) -> StoreError {
    StoreError::Corrupt(message.to_owned())
}

#[async_trait]
impl WorkQueue for SqsQueues {
    async fn send_batch(&self, queue: QueueName, bodies: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let url = self.url(queue, false).await?;
        let now = Utc::now().timestamp_micros().to_string();
        let ids: Vec<u64> = bodies.iter().map(|_| self.new_id()).collect();
        let entries = bodies
            .iter()
            .zip(&ids)
            .enumerate()
            .map(|(index, (body, id))| entry(index, body, &[(ID, id.to_string()), (ENQUEUED_AT, now.clone())]))
            .collect::<Result<Vec<_>, _>>()?;
        self.send_entries(&url, entries).await?;
        Ok(ids)
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Received>, StoreError> {
        let url = self.url(queue, false).await?;
        let mut received = Vec::new();
        for message in self.receive_raw(&url, max, lease).await? {
            let receive_count = message
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let id = message_id(&message)?;
            let body = body(&message)?;
            let enqueued_at = micros_attribute(&message, ENQUEUED_AT)?;
            let lease = Lease { receipt: receipt(&message)?, body: body.clone(), receive_count, enqueued_at };
            self.leases.lock().expect("leases lock").insert(id, lease);
            received.push(Received { id, body, receive_count, enqueued_at });
        }
        Ok(received)
    }

    async fn ack(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        let Some(lease) = self.leases.lock().expect("leases lock").remove(&id) else { return Ok(()) };
        let url = self.url(queue, false).await?;
        self.client.delete_message().queue_url(url).receipt_handle(lease.receipt).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn release(&self, queue: QueueName, id: u64, delay: chrono::Duration) -> Result<(), StoreError> {
        let receipt = self.leases.lock().expect("leases lock").remove(&id).map(|l| l.receipt);
        let Some(receipt) = receipt else { return Ok(()) }; // not leased here: nothing to release
        let url = self.url(queue, false).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(delay))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn dead_letter(&self, queue: QueueName, id: u64, reason: &str) -> Result<(), StoreError> {
        let Some(lease) = self.leases.lock().expect("leases lock").remove(&id) else { return Ok(()) }; // as release
        let message =
            Received { id, body: lease.body, receive_count: lease.receive_count, enqueued_at: lease.enqueued_at };
        self.quarantine(queue, &message, reason).await?;
        let url = self.url(queue, false).await?;
        self.client.delete_message().queue_url(url).receipt_handle(lease.receipt).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn dead_letters(&self, queue: QueueName, after_id: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let dlq = self.url(queue, true).await?;
        let mut found: HashMap<u64, DeadLetter> = HashMap::new();
        for _ in 0..PEEK_ROUNDS {
            let batch = self.receive_raw(&dlq, 10, chrono::Duration::zero()).await?;
            let before = found.len();
            for message in &batch {
                let id = message_id(message)?;
                let letter = DeadLetter {
                    id,
                    body: body(message)?,
                    reason: attribute(message, REASON).unwrap_or("sqs redrive: received too many times").to_owned(),
                    receive_count: attribute(message, RECEIVE_COUNT)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(MAX_RECEIVES),
                    enqueued_at: micros_attribute(message, ENQUEUED_AT)?,
                    dead_at: micros_attribute(message, DEAD_AT).unwrap_or_else(|_| Utc::now()),
                };
                found.insert(id, letter);
            }
            if batch.is_empty() || found.len() == before {
                break;
            }
        }
        let mut letters: Vec<_> = found.into_values().filter(|d| d.id > after_id).collect();
        letters.sort_by_key(|d| d.id);
        letters.truncate(limit);
        Ok(letters)
    }

    async fn redrive(&self, queue: QueueName, id: u64) -> Result<(), StoreError> {
        let dlq = self.url(queue, true).await?;
        let mut passed_over = Vec::new();
        let mut redriven = false;
        for _ in 0..PEEK_ROUNDS {
            let batch = self.receive_raw(&dlq, 10, chrono::Duration::seconds(30)).await?;
            if batch.is_empty() {
                break;
            }
            for message in batch {
                if !redriven && message_id(&message)? == id {
                    let enqueued_at = attribute(&message, ENQUEUED_AT).unwrap_or_default().to_owned();
                    let url = self.url(queue, false).await?;
                    let attributes = [(ID, id.to_string()), (ENQUEUED_AT, enqueued_at)];
                    self.send_entries(&url, vec![entry(0, &body(&message)?, &attributes)?]).await?;
                    let handle = receipt(&message)?;
                    self.client
                        .delete_message()
                        .queue_url(&dlq)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(unavailable)?;
                    redriven = true;
                } else {
                    passed_over.push(receipt(&message)?);
                }
            }
            if redriven {
                break;
            }
        }
        // Dead letters looked at on the way stay in the DLQ, visible again at once.
        for handle in passed_over {
            self.client
                .change_message_visibility()
                .queue_url(&dlq)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(unavailable)?;
        }
        if redriven { Ok(()) } else { Err(StoreError::NotFound) }
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        let url = self.url(queue, false).await?;
        let answer = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(unavailable)?;
        let attributes = answer.attributes.unwrap_or_default();
        Ok(attributes.values().filter_map(|v| v.parse::<u64>().ok()).sum())
    }

    fn shortest_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(1)
    }
}
