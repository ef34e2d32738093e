//! The AWS runtime's messenger: email through SES v2 (the raw RFC 5322 message the outbox
//! writes, so both runtimes send the same bytes) and SMS through SNS.
//!
//! Each email carries message tags naming its merchant, shipment and ledger id, and goes out
//! with the configuration set whose event destination publishes bounces and complaints to the
//! topic the `notifier` hears ([`crate::feedback`]): that is how a report finds the merchant's
//! suppression list.
//!
//! SES and SNS take no idempotency key for these calls: a `notifier` that crashes after a send
//! and before the ledger records it sends that message again when its lease runs out. The
//! email keeps its `Message-ID` (the ledger's id), by which mail clients and the merchant's
//! analytics can tell the copy.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
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
    configuration_set: Option<String>,
}

impl AwsMessenger {
    /// A messenger on the SDK configuration `sdk`, sending email from `from_address` (an SES
    /// verified identity) with `configuration_set`, if any.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        from_address: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        AwsMessenger {
            ses: aws_sdk_sesv2::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            from_address: from_address.into(),
            configuration_set,
        }
    }
}

/// The tags an email carries: what [`crate::feedback`] reads back from SES's reports.
fn email_tags(message: &Outgoing) -> Result<Vec<MessageTag>, SendError> {
    [
        (crate::feedback::TENANT_TAG, message.tenant_id.as_str()),
        (crate::feedback::SHIPMENT_TAG, message.shipment_id.as_str()),
        (crate::feedback::MESSAGE_TAG, message.id.as_str()),
    ]
    .into_iter()
    .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
    .collect::<Result<_, _>>()
    .map_err(|e| SendError::Permanent(e.to_string()))
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
                    .set_email_tags(Some(email_tags(message)?))
                    .set_configuration_set_name(self.configuration_set.clone())
                    .send()
                    .await
                    .map_err(|e| classify(&e))?;
                Ok(answer.message_id)
            }
            Channel::Sms => {
                // A number that replied STOP is on SNS's opt-out list; SNS would accept the
                // publish and drop it. Asked first, so the merchant's list learns of it.
                let opted_out = self
                    .sns
                    .check_if_phone_number_is_opted_out()
                    .phone_number(&message.to)
                    .send()
                    .await
                    .map_err(|e| classify(&e))?;
                if opted_out.is_opted_out {
                    return Err(SendError::OptedOut("sns lists the number as opted out".into()));
                }
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
