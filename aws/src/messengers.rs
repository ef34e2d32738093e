//! The AWS runtime's messenger: email through SES v2 (the raw RFC 5322 message the outbox
//! writes, so both runtimes send the same bytes) and SMS through SNS.
//!
//! SES and SNS take no idempotency key for these calls: a `notifier` that crashes after a send
//! and before the ledger records it sends that message again when its lease runs out. The
//! email keeps its `Message-ID` (the ledger's id), by which mail clients and the merchant's
//! analytics can tell the copy.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use porchlight::adapters::outbox::email_bytes;
use porchlight::domain::Channel;
use porchlight::ports::{Messenger, Outgoing, SendError};

/// Sends through SES v2 and SNS.
#[derive(Clone)]
pub struct AwsMessenger {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
    from_address: String,
}

impl AwsMessenger {
    /// A messenger on the SDK configuration `sdk`, sending email from `from_address` (an SES
    /// verified identity).
    pub fn new(sdk: &aws_config::SdkConfig, from_address: impl Into<String>) -> Self {
        AwsMessenger {
            ses: aws_sdk_sesv2::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            from_address: from_address.into(),
        }
    }
}

/// A provider's refusal, as the ledger keeps it: throttling and service faults are worth
/// another try; anything else (a rejected message, an unverified sender) is not.
fn classify<E, R>(error: &aws_sdk_sesv2::error::SdkError<E, R>) -> SendError
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_sesv2::error::SdkError;
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            if code.contains("Throttl") || code.contains("TooManyRequests") || code.contains("ServiceUnavailable") {
                SendError::Transient(code)
            } else {
                SendError::Permanent(code)
            }
        }
        other => SendError::Transient(format!("{other:?}").chars().take(200).collect()),
    }
}

#[async_trait]
impl Messenger for AwsMessenger {
    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        match message.channel {
            Channel::Email => {
                let raw = RawMessage::builder()
                    .data(Blob::new(email_bytes(message, &self.from_address)?))
                    .build()
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                let answer = self
                    .ses
                    .send_email()
                    .from_email_address(&self.from_address)
                    .destination(Destination::builder().to_addresses(&message.to).build())
                    .content(EmailContent::builder().raw(raw).build())
                    .send()
                    .await
                    .map_err(|e| classify(&e))?;
                Ok(answer.message_id)
            }
            Channel::Sms => {
                let transactional = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("Transactional")
                    .build()
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                let answer = self
                    .sns
                    .publish()
                    .phone_number(&message.to)
                    .message(&message.sms)
                    .message_attributes("AWS.SNS.SMS.SMSType", transactional)
                    .send()
                    .await
                    .map_err(|e| classify(&e))?;
                Ok(answer.message_id)
            }
        }
    }
}
