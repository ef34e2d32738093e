//! DHL: Shipment Tracking - Unified (`GET /track/shipments?trackingNumber=`, `DHL-API-Key`
//! header), one number a request. Shapes follow DHL's developer-portal reference; the fixtures
//! beside this file are in that shape.

use crate::ports::{HttpClient, HttpRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::tracking_body;
use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, TrackingUpdate, WebhookAuth,
    from_json, subtag_from_text,
};
use crate::domain::{CheckpointInput, CountryCode, EventTime, Slug, Subtag, TrackingNumber};

/// DHL's production API.
pub const PRODUCTION: &str = "https://api-eu.dhl.com";

const FIELDS: &[CredentialField] = &[CredentialField { key: "api_key", name: "API key", secret: true }];

/// The DHL adapter.
pub struct DhlCarrier {
    base_url: String,
}

impl DhlCarrier {
    /// An adapter talking to `base_url` (`PRODUCTION`, or a mock server in tests).
    pub fn new(base_url: &str) -> Self {
        DhlCarrier { base_url: base_url.trim_end_matches('/').to_owned() }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Address {
    country_code: Option<String>,
    postal_code: Option<String>,
    address_locality: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Location {
    address: Option<Address>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    timestamp: Option<String>,
    location: Option<Location>,
    status_code: Option<String>,
    status: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Signed {
    name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ProofOfDelivery {
    signed: Option<Signed>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Details {
    proof_of_delivery: Option<ProofOfDelivery>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TimeFrame {
    estimated_through: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Shipment {
    id: Option<String>,
    events: Vec<Event>,
    details: Option<Details>,
    estimated_time_of_delivery: Option<String>,
    estimated_delivery_time_frame: Option<TimeFrame>,
}

impl Shipment {
    /// DHL's estimated delivery: its time, else the end of its time frame (as a local date).
    fn scheduled_delivery(&self) -> Option<chrono::NaiveDate> {
        let through = self.estimated_delivery_time_frame.as_ref().and_then(|f| f.estimated_through.as_deref());
        self.estimated_time_of_delivery.as_deref().or(through).and_then(crate::domain::written_date)
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    shipments: Vec<Shipment>,
}

/// DHL's coarse status code, refined by the event's text; `None` for a status code DHL does
/// not document (`pre-transit`, `transit`, `delivered`, `failure`, `unknown`).
fn map_event(status_code: &str, description: &str) -> Option<Subtag> {
    let from_text = subtag_from_text(description);
    let code = match status_code {
        "pre-transit" => "InfoReceived_001",
        "delivered" => "Delivered_001",
        "failure" => {
            return Some(
                from_text
                    .filter(|s| s.tag() != crate::domain::Tag::InTransit)
                    .unwrap_or_else(|| subtag("Exception_001")),
            );
        }
        "transit" | "unknown" => {
            return Some(
                from_text
                    .filter(|s| s.tag() != crate::domain::Tag::Delivered)
                    .unwrap_or_else(|| subtag("InTransit_001")),
            );
        }
        _ => return None,
    };
    Some(subtag(code))
}

fn subtag(code: &str) -> Subtag {
    Subtag::parse(code).expect("dhl events map to published sub-statuses")
}

fn slug() -> Slug {
    Slug::parse("dhl").expect("valid slug")
}

/// Parses a Shipment Tracking - Unified response.
pub fn parse_response(body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
    let response: Response = from_json(body, "dhl tracking response")?;
    let mut updates = Vec::new();
    for shipment in response.shipments {
        let Some(number) = shipment.id.as_deref().and_then(|id| TrackingNumber::parse(id).ok()) else { continue };
        let scheduled_delivery = shipment.scheduled_delivery();
        let signed = shipment
            .details
            .and_then(|d| d.proof_of_delivery)
            .and_then(|p| p.signed)
            .and_then(|s| s.name)
            .filter(|n| !n.trim().is_empty());
        let mut events = Vec::with_capacity(shipment.events.len());
        for event in &shipment.events {
            let Some(timestamp) = event.timestamp.as_deref() else { continue };
            let time = EventTime::parse(timestamp)
                .map_err(|_| CarrierError::Malformed(format!("dhl event: bad timestamp {timestamp:?}")))?;
            let description = event.description.as_deref().or(event.status.as_deref()).unwrap_or("").trim();
            let status_code = event.status_code.as_deref().unwrap_or("unknown");
            let mut input = CheckpointInput::from_carrier(
                slug(),
                number.clone(),
                time,
                map_event(status_code, description),
                description,
            );
            input.raw_tag = Some(status_code.to_owned());
            let address = event.location.as_ref().and_then(|l| l.address.as_ref());
            input.location = address.and_then(|a| a.address_locality.clone());
            input.city = input.location.as_deref().map(|l| l.split(" - ").next().unwrap_or(l).trim().to_owned());
            input.postal_code = address.and_then(|a| a.postal_code.clone()).filter(|p| !p.is_empty());
            input.country_region = address.and_then(|a| a.country_code.as_deref()).and_then(CountryCode::from_carrier);
            if status_code == "delivered" && signed.is_some() {
                input.subtag = subtag("Delivered_003");
                input.signed_by.clone_from(&signed);
            }
            events.push(input);
        }
        updates.push(TrackingUpdate {
            slug: slug(),
            tracking_number: number,
            events,
            handover: None,
            scheduled_delivery,
        });
    }
    Ok(updates)
}

#[async_trait]
impl CarrierAdapter for DhlCarrier {
    fn slug(&self) -> &'static str {
        "dhl"
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        None
    }

    fn parse_webhook(&self, _body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Err(CarrierError::Malformed("dhl does not push to porchlight".into()))
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 1, concurrency: 1 }
    }

    async fn poll(
        &self,
        http: &dyn HttpClient,
        credentials: &Credentials,
        targets: &[PollTarget],
        _now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let key = credentials.require("api_key")?;
        let mut updates = Vec::new();
        for target in targets {
            let url = format!(
                "{}/track/shipments?trackingNumber={}&language=en",
                self.base_url,
                super::url_escaped(target.tracking_number.compact())
            );
            let response = http
                .send(HttpRequest::get(url).header("DHL-API-Key", key).header("Accept", "application/json"))
                .await?;
            if let Some(body) = tracking_body(&response, "dhl tracking")? {
                updates.extend(parse_response(body)?);
            }
        }
        Ok(updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carriers::mock;

    #[test]
    fn the_fixture_parses_with_customs_and_signature() {
        let updates = parse_response(include_bytes!("fixtures/dhl/track_shipments.json")).expect("parses");
        let codes: Vec<_> = updates[0].events.iter().map(|e| e.subtag.code()).collect();
        assert_eq!(
            codes,
            [
                "Delivered_003",
                "OutForDelivery_001",
                "InTransit_006",
                "Exception_004",
                "InTransit_003",
                "InTransit_007",
                "InTransit_002",
                "InfoReceived_001"
            ]
        );
        let delivered = &updates[0].events[0];
        assert_eq!(delivered.signed_by.as_deref(), Some("K NOVAK"));
        assert_eq!((delivered.city.as_deref(), delivered.postal_code.as_deref()), (Some("LEIPZIG"), Some("04103")));
        assert_eq!(delivered.country_region.map(|c| c.to_string()), Some("DEU".into()));
        assert!(matches!(parse_response(b"{\"shipments\": 1}"), Err(CarrierError::Malformed(_))));
        assert!(updates[0].events.iter().all(|e| !e.unmapped));
        assert_eq!(updates[0].scheduled_delivery, None, "the fixture gives no estimate");
    }

    #[test]
    fn an_estimated_time_of_delivery_or_the_time_frames_end_is_the_scheduled_date() {
        let fixture = include_str!("fixtures/dhl/track_shipments.json");
        let with =
            |fields: &str| fixture.replacen(r#""id": "1234567890","#, &format!(r#""id": "1234567890", {fields},"#), 1);
        let estimated = with(r#""estimatedTimeOfDelivery": "2026-03-06T18:00:00+01:00""#);
        let updates = parse_response(estimated.as_bytes()).expect("parses");
        assert_eq!(updates[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2026, 3, 6));
        let framed = with(
            r#""estimatedDeliveryTimeFrame": {"estimatedFrom": "2026-03-06T09:00:00+01:00", "estimatedThrough": "2026-03-07T18:00:00+01:00"}"#,
        );
        let updates = parse_response(framed.as_bytes()).expect("parses");
        assert_eq!(updates[0].scheduled_delivery, chrono::NaiveDate::from_ymd_opt(2026, 3, 7));
    }

    #[test]
    fn undocumented_status_codes_are_marked_unmapped() {
        assert_eq!(map_event("transit", "Processed at LEIPZIG - GERMANY").map(|s| s.code()), Some("InTransit_001"));
        assert_eq!(map_event("unknown", "Held at the depot").map(|s| s.code()), Some("InTransit_001"));
        assert_eq!(map_event("relabelled", "Processed at LEIPZIG - GERMANY"), None);
    }

    #[tokio::test]
    async fn polls_send_the_api_key_and_map_failures() {
        let base = mock::failing_carrier().await;
        let key = Credentials([("api_key".into(), "k".into())].into());
        mock::check_standard_failures(&DhlCarrier::new(&base), &key).await;
        let missing = DhlCarrier::new(&base).poll(&mock::client(), &Credentials::default(), &[], Utc::now()).await;
        assert_eq!(missing, Err(CarrierError::MissingCredential("api_key")));
    }
}
