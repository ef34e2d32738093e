//! National posts: UPU EMSEVT tracking events for S10 items, pushed by a post (or its
//! integrator) to `POST /webhooks/carriers/{post slug}` as JSON (see `fixtures/upu/README.md`),
//! signed with a base64 HMAC-SHA256 of the body in `x-upu-signature`. One adapter serves every
//! postal slug detection can give (`china-post`, `royal-mail`, ..., and the generic `upu`).
//!
//! Posts offer no common polling API, so polling returns nothing: their shipments move on
//! pushes.

use crate::ports::HttpClient;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, TrackingUpdate, WebhookAuth,
};
use crate::domain::{CheckpointInput, CountryCode, EventTime, Slug, Subtag, TrackingNumber};

/// UPU EMSEVT event codes, their sub-status and a plain message.
const EVENTS: &[(&str, &str, &str)] = &[
    ("EMA", "InTransit_002", "Posting/collection"),
    ("EMB", "InTransit_003", "Arrival at outward office of exchange"),
    ("EMC", "InTransit_007", "Departure from outward office of exchange"),
    ("EMD", "InTransit_004", "Arrival at inward office of exchange"),
    ("EME", "InTransit_006", "Handed over to customs"),
    ("EMF", "InTransit_007", "Departure from inward office of exchange"),
    ("EMG", "InTransit_003", "Arrival at delivery office"),
    ("EMH", "AttemptFail_001", "Unsuccessful delivery"),
    ("EMI", "Delivered_001", "Final delivery"),
    ("EMJ", "InTransit_003", "Arrival at transit office of exchange"),
    ("EMK", "InTransit_007", "Departure from transit office of exchange"),
    ("EDA", "InTransit_003", "Held at inward office of exchange"),
    ("EDB", "InTransit_006", "Item presented to import customs"),
    ("EDC", "InTransit_005", "Item returned from customs"),
    ("EDD", "InTransit_003", "Item into sorting centre"),
    ("EDE", "InTransit_007", "Item out of sorting centre"),
    ("EDF", "Exception_001", "Item on hold at delivery office"),
    ("EDG", "OutForDelivery_001", "Item out for delivery"),
    ("EDH", "AvailableForPickup_001", "Item arrived at collection point for pick-up"),
    ("EXA", "InTransit_006", "Item presented to export customs"),
    ("EXB", "Exception_004", "Item held by export customs"),
    ("EXC", "InTransit_005", "Item returned from export customs"),
    ("EXD", "InTransit_003", "Item held at outward office of exchange"),
    ("EXX", "Exception_015", "Export cancellation"),
];

/// The adapter for one postal slug.
pub struct UpuCarrier {
    slug: &'static str,
}

impl UpuCarrier {
    /// The adapter for `slug`, a national post or `upu`.
    pub fn new(slug: &'static str) -> Self {
        UpuCarrier { slug }
    }
}

#[derive(Debug, Deserialize)]
struct Push {
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct Event {
    item_id: String,
    event_code: String,
    event_time: String,
    #[serde(default)]
    office_code: Option<String>,
    #[serde(default)]
    office_name: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    reason_code: Option<String>,
    #[serde(default)]
    signatory: Option<String>,
}

/// The sub-status and message for an EMSEVT code; an unknown code has no sub-status and the
/// message "Postal event".
pub fn map_code(code: &str) -> (Option<Subtag>, &'static str) {
    EVENTS.iter().find(|(c, ..)| c.eq_ignore_ascii_case(code)).map_or((None, "Postal event"), |(_, s, m)| {
        (Some(Subtag::parse(s).expect("emsevt codes map to published sub-statuses")), *m)
    })
}

#[async_trait]
impl CarrierAdapter for UpuCarrier {
    fn slug(&self) -> &'static str {
        self.slug
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        &[]
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        Some(WebhookAuth::HmacSha256Base64 { header: "x-upu-signature" })
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let push: Push =
            serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(format!("emsevt push: {e}")))?;
        let slug = Slug::parse(self.slug).map_err(|e| CarrierError::Malformed(e.to_string()))?;
        let mut updates: Vec<TrackingUpdate> = Vec::new();
        for event in push.events {
            let number = TrackingNumber::parse(&event.item_id)
                .map_err(|e| CarrierError::Malformed(format!("emsevt push: {e}")))?;
            let time = EventTime::parse(&event.event_time)
                .map_err(|_| CarrierError::Malformed(format!("emsevt push: bad event_time {:?}", event.event_time)))?;
            let (subtag, message) = map_code(&event.event_code);
            let message = match (&event.reason_code, &event.office_name) {
                (Some(reason), _) => format!("{message} (reason {reason})"),
                _ => message.to_owned(),
            };
            let mut input = CheckpointInput::from_carrier(slug.clone(), number.clone(), time, subtag, message);
            input.raw_tag = Some(event.event_code.to_ascii_uppercase());
            input.location = event.office_name.clone().or(event.office_code.clone());
            input.city = event.office_name;
            input.country_region = event.country.as_deref().and_then(CountryCode::from_carrier);
            if input.subtag.code() == "Delivered_001" && event.signatory.is_some() {
                input.subtag = Subtag::parse("Delivered_003").expect("published");
                input.signed_by = event.signatory;
            }
            match updates.iter_mut().find(|u| u.tracking_number == number) {
                Some(update) => update.events.push(input),
                None => updates.push(TrackingUpdate {
                    slug: slug.clone(),
                    tracking_number: number,
                    events: vec![input],
                    handover: None,
                    scheduled_delivery: None,
                }),
            }
        }
        Ok(updates)
    }

    fn max_batch(&self) -> usize {
        100
    }

    fn polls(&self) -> bool {
        false
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 100, concurrency: 4 }
    }

    async fn poll(
        &self,
        _http: &dyn HttpClient,
        _credentials: &Credentials,
        _targets: &[PollTarget],
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{Shipment, ShipmentDetails, Tag, TenantId};

    #[test]
    fn an_emsevt_push_becomes_a_cross_border_timeline() {
        let updates = UpuCarrier::new("china-post")
            .parse_webhook(include_bytes!("fixtures/upu/emsevt_push.json"))
            .expect("parses");
        assert_eq!(updates.len(), 1);
        let events = &updates[0].events;
        assert_eq!(events.len(), 10);
        assert_eq!(events[4].subtag.code(), "InTransit_004");
        assert_eq!(events[4].country_region.map(|c| c.to_string()), Some("GBR".into()));
        assert_eq!(events[8].message, "Unsuccessful delivery (reason 13)");
        let mut shipment = Shipment::new(
            TenantId::parse("t").expect("t"),
            Slug::parse("china-post").expect("slug"),
            TrackingNumber::parse("RR123456785CN").expect("number"),
            ShipmentDetails::default(),
            Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single().expect("date"),
        );
        shipment.merge(updates[0].events.clone(), Utc.with_ymd_and_hms(2026, 1, 13, 0, 0, 0).single().expect("date"));
        assert_eq!((shipment.tag, shipment.subtag.code()), (Tag::Delivered, "Delivered_003"));
        assert_eq!((shipment.failed_delivery_attempts, shipment.signed_by.as_deref()), (1, Some("HALE")));
    }

    #[test]
    fn unknown_codes_are_transit_and_bad_pushes_are_malformed() {
        assert_eq!(map_code("ZZZ").0, None);
        assert_eq!(map_code("edg").0.map(|s| s.code()), Some("OutForDelivery_001"));
        let adapter = UpuCarrier::new("upu");
        for bad in [&b"{}"[..], br#"{"events":[{"item_id":"RR1","event_code":"EMA","event_time":"later"}]}"#] {
            assert!(matches!(adapter.parse_webhook(bad), Err(CarrierError::Malformed(_))));
        }
    }
}
