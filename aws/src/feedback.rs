//! SES's bounce and complaint reports, as its configuration set's event destination publishes
//! them to SNS (the shape of "Examples of event data that Amazon SES publishes to Amazon SNS",
//! SES developer guide): each names the addresses and carries the message tags the email was
//! sent with, so the report finds its merchant and message.

use std::collections::HashMap;

use porchlight::app::suppressions::Feedback;
use porchlight::domain::{Contact, ShipmentId, TenantId};
use porchlight::ports::SuppressionReason;
use serde::Deserialize;

/// The message tag naming the merchant.
pub const TENANT_TAG: &str = "porchlight-tenant";
/// The message tag naming the shipment.
pub const SHIPMENT_TAG: &str = "porchlight-shipment";
/// The message tag naming the ledger's message id.
pub const MESSAGE_TAG: &str = "porchlight-message";

/// An SES event record (event publishing spells the type `eventType`, identity notifications
/// `notificationType`; only the former carries tags).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
}

#[derive(Debug, Deserialize)]
struct Mail {
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
    complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

/// What a report asks for.
#[derive(Debug)]
pub enum Report {
    /// Put these addresses on the merchant's suppression list.
    Suppress(TenantId, Vec<Feedback>),
    /// Nothing to do, and why (a transient bounce, a delivery, mail Porchlight did not tag).
    Ignore(&'static str),
}

/// Why a report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// Not an SES event record.
    #[error("not an ses event record: {0}")]
    Malformed(String),
}

/// Reads one SNS message body: an SES event record.
pub fn read_report(message: &str) -> Result<Report, FeedbackError> {
    let event: SesEvent = serde_json::from_str(message).map_err(|e| FeedbackError::Malformed(e.to_string()))?;
    let tag = |name: &str| event.mail.tags.get(name).and_then(|values| values.first()).cloned();
    let Some(tenant) = tag(TENANT_TAG) else { return Ok(Report::Ignore("the email carries no merchant tag")) };
    let tenant = TenantId::parse(&tenant).map_err(|_| FeedbackError::Malformed("the merchant tag".into()))?;
    let shipment_id = tag(SHIPMENT_TAG).and_then(|id| ShipmentId::parse(&id).ok());
    let message_id = tag(MESSAGE_TAG);
    let (reason, recipients, detail) = match (event.event_type.as_str(), event.bounce, event.complaint) {
        ("Bounce", Some(bounce), _) if bounce.bounce_type == "Permanent" => {
            (SuppressionReason::Bounce, bounce.bounced_recipients, None)
        }
        ("Bounce", _, _) => return Ok(Report::Ignore("a transient bounce")),
        ("Complaint", _, Some(complaint)) => {
            (SuppressionReason::Complaint, complaint.complained_recipients, complaint.complaint_feedback_type)
        }
        _ => return Ok(Report::Ignore("neither a bounce nor a complaint")),
    };
    let feedback = recipients
        .into_iter()
        .filter_map(|recipient| {
            let contact = Contact::email(&recipient.email_address).ok()?;
            Some(Feedback {
                contact,
                reason,
                detail: recipient.diagnostic_code.or_else(|| detail.clone()),
                shipment_id: shipment_id.clone(),
                message_id: message_id.clone(),
            })
        })
        .collect();
    Ok(Report::Suppress(tenant, feedback))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SES's documented bounce record, with Porchlight's tags.
    fn bounce(bounce_type: &str, tenant: &TenantId) -> String {
        serde_json::json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": bounce_type, "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "Recipient@Example.com", "action": "failed",
                    "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2017-08-05T00:41:02.669Z", "feedbackId": "0100015", "reportingMTA": "dsn; mta.example.com"},
            "mail": {"timestamp": "2017-08-05T00:40:02.012Z", "source": "Sender Name <sender@example.com>",
                "messageId": "EXAMPLE7c191be45", "destination": ["recipient@example.com"],
                "tags": {"ses:configuration-set": ["ConfigSet"], TENANT_TAG: [tenant.as_str()],
                    MESSAGE_TAG: ["0123456789abcdef0123456789abcdef"]}}
        })
        .to_string()
    }

    #[test]
    fn a_permanent_bounce_names_its_merchant_address_and_message() {
        let tenant = TenantId::random();
        let Report::Suppress(found, feedback) = read_report(&bounce("Permanent", &tenant)).expect("read") else {
            panic!("a permanent bounce suppresses")
        };
        assert_eq!((found, feedback.len()), (tenant.clone(), 1));
        assert_eq!(feedback[0].contact.key(), "recipient@example.com");
        assert_eq!(feedback[0].detail.as_deref(), Some("smtp; 550 5.1.1 user unknown"));
        assert_eq!(feedback[0].message_id.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert!(matches!(read_report(&bounce("Transient", &tenant)), Ok(Report::Ignore(_))));
    }

    #[test]
    fn complaints_suppress_and_untagged_or_other_events_do_not() {
        let tenant = TenantId::random();
        let complaint = serde_json::json!({"eventType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "recipient@example.com"}],
                "complaintFeedbackType": "abuse", "timestamp": "2017-08-05T00:41:02.669Z"},
            "mail": {"tags": {TENANT_TAG: [tenant.as_str()]}}});
        let Ok(Report::Suppress(_, feedback)) = read_report(&complaint.to_string()) else { panic!("suppresses") };
        assert_eq!((feedback[0].reason, feedback[0].detail.as_deref()), (SuppressionReason::Complaint, Some("abuse")));
        let untagged = serde_json::json!({"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
            "bouncedRecipients": []}, "mail": {}});
        assert!(matches!(read_report(&untagged.to_string()), Ok(Report::Ignore(_))));
        let delivery = serde_json::json!({"eventType": "Delivery", "mail": {"tags": {TENANT_TAG: [tenant.as_str()]}}});
        assert!(matches!(read_report(&delivery.to_string()), Ok(Report::Ignore(_))));
        assert!(read_report("not json").is_err());
    }
}
