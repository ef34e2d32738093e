//! What the designers use: previews of a trigger's message (saved or draft wording) on a real
//! shipment or a sample parcel, and test sends to the team through the ledger.

use chrono::Duration;

use super::super::{AppError, Deps};
use super::{Envelope, compose, merchant_texts};
use crate::domain::{Channel, Contact, Language, Shipment, ShipmentId, TenantId, Trigger};
use crate::notify::MessageTexts;
use crate::ports::LedgerEntry;

/// What a preview is asked for: a trigger, a language, and a real shipment (by id) or the
/// sample.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The trigger whose message to write.
    pub trigger: Trigger,
    /// Its language; absent, the merchant's default.
    #[serde(default)]
    pub language: Option<crate::domain::Language>,
    /// A tracking of the merchant's (`id` as the tracking API answers it); absent, a sample.
    #[serde(default)]
    pub tracking_id: Option<String>,
}

/// The message `request.trigger` would send, written as the dispatcher writes it, for one of
/// the merchant's shipments or a sample parcel, with the unsubscribe link its first email
/// recipient would get (a real shipment with one only). `NotFound` for a tracking it does not
/// have.
pub async fn preview(
    deps: &Deps,
    tenant: &TenantId,
    request: &PreviewRequest,
) -> Result<(crate::notify::Message, Option<String>), AppError> {
    preview_draft(deps, tenant, request, None).await
}

/// As [`preview`], with `draft` (a wording not saved yet, checked by the caller) in place of
/// the merchant's saved one: what the console's designer shows while the team writes.
pub async fn preview_draft(
    deps: &Deps,
    tenant: &TenantId,
    request: &PreviewRequest,
    draft: Option<&MessageTexts>,
) -> Result<(crate::notify::Message, Option<String>), AppError> {
    let page = crate::app::pages::page_settings(deps, tenant).await?;
    let shipment = match &request.tracking_id {
        Some(id) => {
            let id = crate::domain::ShipmentId::parse(id)?;
            deps.shipments.get(tenant, &id).await?.ok_or(AppError::NotFound)?
        }
        None => sample_shipment(tenant, deps.clock.now())?,
    };
    let address = crate::app::pages::page_address(deps, tenant).await?.unwrap_or_else(|| format!("/t/{}", page.slug));
    let tracking_url = format!("{address}/{}", crate::web::url_component(shipment.tracking_number.as_str()));
    let name = shipment.details.customers.first().and_then(|c| c.name.clone());
    let unsubscribe_url = match (&request.tracking_id, shipment.subscribed_emails().first()) {
        (Some(_), Some(email)) => {
            let token = crate::app::subscriptions::unsubscribe_token(
                deps,
                tenant,
                &shipment.id,
                &Contact::Email(email.clone()),
            );
            Some(format!("{address}/unsubscribe/{token}"))
        }
        _ => None,
    };
    let envelope = Envelope {
        tracking_url: &tracking_url,
        unsubscribe_url: unsubscribe_url.as_deref(),
        recipient_name: name.as_deref(),
    };
    let language = request.language.unwrap_or(page.default_language);
    let own = merchant_texts(deps, tenant).await?;
    let message = compose(
        request.trigger,
        &shipment,
        &page,
        &envelope,
        language,
        deps.clock.now(),
        draft.or(own.find(request.trigger, language)),
    )
    .map_err(|e| AppError::Internal(format!("the preview could not be written: {e}")))?;
    Ok((message, unsubscribe_url))
}

/// A parcel to preview messages with: an order of a sample shopper, picked up a day ago,
/// expected in three days (a range of two to five).
pub(crate) fn sample_shipment(tenant: &TenantId, now: chrono::DateTime<chrono::Utc>) -> Result<Shipment, AppError> {
    use crate::domain::{
        CheckpointInput, CheckpointSource, Customer, EventTime, ShipmentDetails, Slug, Subtag, TrackingNumber,
    };
    let slug = Slug::parse("ups")?;
    let number = TrackingNumber::parse("1Z999AA10123456784")?;
    let details = ShipmentDetails {
        title: Some("Sample order".into()),
        order_number: Some("#1001".into()),
        customers: vec![Customer { name: Some("Alex".into()), ..Customer::default() }],
        ..ShipmentDetails::default()
    };
    let mut shipment = Shipment::new(tenant.clone(), slug.clone(), number.clone(), details, now - Duration::days(2));
    shipment.id = sample_id();
    let event = CheckpointInput::new(
        slug,
        number,
        EventTime::from_utc(now - Duration::days(1)),
        Subtag::parse("InTransit_002")?,
        "Picked up",
        CheckpointSource::Carrier,
    );
    shipment.merge([event], now);
    let day = |days: i64| (now + Duration::days(days)).date_naive();
    let estimate = crate::domain::edd::DeliveryEstimate {
        source: crate::domain::edd::EddSource::Predicted,
        date: day(3),
        earliest: day(2),
        latest: day(5),
        confidence_code: Some(20001),
        lane_p90: None,
    };
    shipment.edd = Some(crate::domain::edd::ShipmentEdd::starting(estimate));
    Ok(shipment)
}

/// The id the sample parcel goes by: a test send about it names this id in the ledger.
pub const SAMPLE_ID: &str = "00000000000000000000000000000000";

fn sample_id() -> ShipmentId {
    ShipmentId::parse(SAMPLE_ID).expect("32 hex digits are an id")
}

/// Who a test send goes to.
#[derive(Debug, Clone)]
pub enum TestRecipient {
    /// An email address (the member's own).
    Email(String),
    /// A phone number, made E.164.
    Sms(String),
}

/// Plans the message `trigger` sends in `language`, about the merchant's shipment
/// `tracking_id` or the sample parcel, to `to`, due now: the notifier writes it with the saved
/// wording and sends it as any message, but to a recipient who need not be subscribed, without
/// an unsubscribe link, and without counting it in reach. Each call is another message.
/// `NotFound` for a tracking the merchant does not have.
pub async fn send_test(
    deps: &Deps,
    tenant: &TenantId,
    trigger: Trigger,
    language: Language,
    tracking_id: Option<&str>,
    to: TestRecipient,
) -> Result<LedgerEntry, AppError> {
    if trigger.is_for_team() || trigger.is_return() {
        return Err(AppError::Unprocessable(format!("{} is not a shopper's notification", trigger.as_str())));
    }
    let shipment = match tracking_id {
        Some(id) => {
            let id = ShipmentId::parse(id)?;
            deps.shipments.get(tenant, &id).await?.ok_or(AppError::NotFound)?.id
        }
        None => sample_id(),
    };
    let (channel, recipient) = match to {
        TestRecipient::Email(email) => (Channel::Email, email.trim().to_lowercase()),
        TestRecipient::Sms(number) => (Channel::Sms, crate::domain::e164("phone", &number)?),
    };
    let now = deps.clock.now();
    let mut entry = LedgerEntry::planned(tenant.clone(), shipment, trigger, channel, recipient, language, now, now);
    // Unique per send: a test may be sent again after the wording changed.
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    entry.id = LedgerEntry::message_id(
        tenant,
        &entry.shipment_id,
        trigger,
        channel,
        &format!("{}\u{1f}test\u{1f}{nonce}", entry.recipient),
    );
    entry.test = true;
    deps.ledger.plan(&entry).await?;
    tracing::info!(tenant_id = %tenant, message_id = entry.id, trigger = trigger.as_str(), "test notification planned");
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::app::create_tenant;
    use crate::ports::MessageState;

    #[tokio::test]
    async fn a_test_send_reaches_the_team_marked_without_unsubscribe_or_reach() {
        let store = SqliteStore::in_memory().expect("store");
        let mut deps = crate::testkit::deps(store.clone(), Arc::new(crate::ports::SystemClock));
        deps.public_url = Some(Arc::from("https://track.example"));
        let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let to = || TestRecipient::Email("Adm@Example.com".into());
        let first =
            send_test(&deps, &tenant, Trigger::OutForDelivery, Language::En, None, to()).await.expect("planned");
        let again =
            send_test(&deps, &tenant, Trigger::OutForDelivery, Language::En, None, to()).await.expect("planned");
        assert_ne!(first.id, again.id, "each test is its own message");
        let sent = crate::testkit::dispatched(&deps, &store).await;
        assert_eq!(sent.len(), 2);
        let mail = &sent[0];
        assert_eq!((mail.to.as_str(), mail.unsubscribe_url.as_deref()), ("adm@example.com", None));
        assert!(mail.subject.starts_with("[Test] "), "{}", mail.subject);
        assert!(mail.text.contains("1Z999AA10123456784"), "about the sample parcel");
        let kept = deps.ledger.shipment_messages(&tenant, &first.shipment_id).await.expect("read");
        assert!(kept.iter().all(|e| e.test && e.state == MessageState::Sent));

        let refused = send_test(&deps, &tenant, Trigger::TeamAlert, Language::En, None, to()).await;
        assert!(matches!(refused, Err(AppError::Unprocessable(_))), "{refused:?}");
        let phone = TestRecipient::Sms("not a number".into());
        assert!(matches!(
            send_test(&deps, &tenant, Trigger::Delivered, Language::En, None, phone).await,
            Err(AppError::Invalid(_))
        ));
        let unknown = Some("0123456789abcdef0123456789abcdef");
        let missing = send_test(&deps, &tenant, Trigger::Delivered, Language::En, unknown, to()).await;
        assert!(matches!(missing, Err(AppError::NotFound)));
    }
}
