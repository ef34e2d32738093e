//! USPS: Tracking 3.0 (`GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`, OAuth client
//! credentials from `/oauth2/v3/token`), one number a request. Shapes follow USPS's
//! developer-portal reference; the fixtures beside this file are in that shape.

use crate::ports::{HttpClient, HttpRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::tracking_body;
use super::oauth::TokenCache;
use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, TrackingUpdate, WebhookAuth,
    from_json, subtag_from_text,
};
use crate::domain::{CheckpointInput, CountryCode, EventTime, Slug, Subtag, TrackingNumber};

/// USPS's production API.
pub const PRODUCTION: &str = "https://apis.usps.com";

const FIELDS: &[CredentialField] = &[
    CredentialField { key: "client_id", name: "Consumer key", secret: false },
    CredentialField { key: "client_secret", name: "Consumer secret", secret: true },
];

/// The USPS adapter.
pub struct UspsCarrier {
    base_url: String,
    tokens: TokenCache,
}

impl UspsCarrier {
    /// An adapter talking to `base_url` (`PRODUCTION`, or a mock server in tests).
    pub fn new(base_url: &str) -> Self {
        UspsCarrier { base_url: base_url.trim_end_matches('/').to_owned(), tokens: TokenCache::default() }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Event {
    #[serde(rename = "eventType")]
    event_type: Option<String>,
    #[serde(rename = "eventCode")]
    event_code: Option<String>,
    #[serde(rename = "eventTimestamp")]
    event_timestamp: Option<String>,
    #[serde(rename = "GMTOffset")]
    gmt_offset: Option<String>,
    #[serde(rename = "GMTTimestamp")]
    gmt_timestamp: Option<String>,
    #[serde(rename = "eventCity")]
    event_city: Option<String>,
    #[serde(rename = "eventState")]
    event_state: Option<String>,
    #[serde(rename = "eventZIP")]
    event_zip: Option<String>,
    #[serde(rename = "eventCountry")]
    event_country: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tracking {
    #[serde(rename = "trackingNumber")]
    tracking_number: String,
    #[serde(rename = "trackingEvents", default)]
    tracking_events: Vec<Event>,
}

/// USPS event codes, then the event's text; `None` when neither is known.
fn map_event(code: &str, text: &str) -> Option<Subtag> {
    let subtag = match code {
        "01" => "Delivered_001",
        "43" | "17" => "Delivered_002",
        "OF" | "DX" => "OutForDelivery_001",
        "02" | "52" | "53" | "54" | "55" | "56" | "57" => "AttemptFail_002",
        "51" => "AttemptFail_003",
        "04" => "Exception_003",
        "23" => "Exception_002",
        "05" | "21" | "22" | "25" | "26" => "Exception_007",
        "09" | "29" | "31" => "Exception_010",
        "16" => "AvailableForPickup_001",
        "03" | "OA" | "SF" | "80" => "InTransit_002",
        "07" | "A1" | "14" => "InTransit_003",
        "L1" | "EF" => "InTransit_007",
        "GX" | "MA" => "InfoReceived_001",
        _ => return subtag_from_text(text),
    };
    Some(Subtag::parse(subtag).expect("usps events map to published sub-statuses"))
}

fn slug() -> Slug {
    Slug::parse("usps").expect("valid slug")
}

fn nonempty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Parses a Tracking 3.0 response.
pub fn parse_response(body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
    let tracking: Tracking = from_json(body, "usps tracking response")?;
    let number = TrackingNumber::parse(&tracking.tracking_number)
        .map_err(|e| CarrierError::Malformed(format!("usps tracking response: {e}")))?;
    let mut events = Vec::with_capacity(tracking.tracking_events.len());
    for event in &tracking.tracking_events {
        let Some(local) = event.event_timestamp.as_deref() else { continue };
        // The local time with its offset, as USPS reports both; the GMT time alone otherwise.
        let text = match event.gmt_offset.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(offset) if !local.contains('+') && !local.ends_with('Z') => format!("{local}{offset}"),
            _ => local.to_owned(),
        };
        let time = EventTime::parse(&text)
            .or_else(|_| EventTime::parse(event.gmt_timestamp.as_deref().unwrap_or_default()))
            .map_err(|_| CarrierError::Malformed(format!("usps event: bad timestamp {local:?}")))?;
        let description = event.event_type.as_deref().unwrap_or("").trim();
        let code = event.event_code.as_deref().unwrap_or("").trim();
        let mut input =
            CheckpointInput::from_carrier(slug(), number.clone(), time, map_event(code, description), description);
        input.raw_tag = (!code.is_empty()).then(|| code.to_owned());
        input.city = nonempty(event.event_city.as_ref());
        input.state = nonempty(event.event_state.as_ref());
        input.postal_code = nonempty(event.event_zip.as_ref());
        input.country_region = match event.event_country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(country) => CountryCode::from_carrier(country),
            None => CountryCode::parse("USA").ok(),
        };
        let parts: Vec<String> =
            [input.city.clone(), input.state.clone(), input.postal_code.clone()].into_iter().flatten().collect();
        input.location = (!parts.is_empty()).then(|| parts.join(", "));
        if input.subtag.tag() == crate::domain::Tag::Delivered {
            input.signed_by = nonempty(event.name.as_ref());
        }
        events.push(input);
    }
    Ok(vec![TrackingUpdate { slug: slug(), tracking_number: number, events, handover: None, scheduled_delivery: None }])
}

#[async_trait]
impl CarrierAdapter for UspsCarrier {
    fn slug(&self) -> &'static str {
        "usps"
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        None
    }

    fn parse_webhook(&self, _body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Err(CarrierError::Malformed("usps does not push to porchlight".into()))
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 5, concurrency: 2 }
    }

    async fn poll(
        &self,
        http: &dyn HttpClient,
        credentials: &Credentials,
        targets: &[PollTarget],
        now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let client_id = credentials.require("client_id")?;
        let client_secret = credentials.require("client_secret")?;
        let token_request = || {
            let body = serde_json::json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret});
            HttpRequest::post(format!("{}/oauth2/v3/token", self.base_url), body.to_string().into_bytes())
                .header("Content-Type", "application/json")
        };
        let token = self.tokens.get(http, client_id, token_request, now, "usps").await?;
        let mut updates = Vec::new();
        for target in targets {
            let url = format!(
                "{}/tracking/v3/tracking/{}?expand=DETAIL",
                self.base_url,
                super::url_escaped(target.tracking_number.compact())
            );
            let response = http.send(HttpRequest::get(url).header("Authorization", format!("Bearer {token}"))).await?;
            self.tokens.forget_if_refused(&response).await;
            if let Some(body) = tracking_body(&response, "usps tracking")? {
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
    fn the_fixture_parses_with_offsets_and_codes() {
        let updates = parse_response(include_bytes!("fixtures/usps/tracking.json")).expect("parses");
        let events = &updates[0].events;
        let codes: Vec<_> = events.iter().map(|e| e.subtag.code()).collect();
        assert_eq!(
            codes,
            [
                "Delivered_001",
                "OutForDelivery_001",
                "AttemptFail_002",
                "InTransit_007",
                "InTransit_003",
                "InTransit_002",
                "InfoReceived_001"
            ]
        );
        assert_eq!(events[0].checkpoint_time.as_str(), "2026-03-15T13:05:00-06:00");
        assert_eq!(events[0].checkpoint_time.instant().to_rfc3339(), "2026-03-15T19:05:00+00:00");
        assert_eq!(events[0].location.as_deref(), Some("BOULDER, CO, 80302"));
        assert_eq!(events[0].country_region.map(|c| c.to_string()), Some("USA".into()));
        assert!(matches!(parse_response(b"[]"), Err(CarrierError::Malformed(_))));
        assert!(events.iter().all(|e| !e.unmapped));
        assert_eq!(map_event("Q9", "Label scanned"), None);
        assert_eq!(map_event("Q9", "Delivery refused").map(|s| s.code()), Some("Exception_003"));
    }

    #[tokio::test]
    async fn polls_map_failures() {
        let base = mock::failing_carrier().await;
        let credentials = Credentials([("client_id".into(), "id".into()), ("client_secret".into(), "s".into())].into());
        mock::check_standard_failures(&UspsCarrier::new(&base), &credentials).await;
    }
}
