//! FedEx: the Track API (`POST /track/v1/trackingnumbers`, up to 30 numbers a request, OAuth
//! client credentials) for polling, and Advanced Integrated Visibility webhooks (the Track API
//! result, signed with a base64 HMAC-SHA256 in `fdx-signature`) for pushes.
//!
//! Shapes follow FedEx's developer-portal documentation of the Track API and of its webhook
//! payloads; the fixtures beside this file are in those shapes.

use crate::ports::{HttpClient, HttpRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::tracking_body;
use super::oauth::TokenCache;
use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, TrackingUpdate, WebhookAuth,
    from_json,
};
use crate::domain::{CheckpointInput, CountryCode, EventTime, Slug, Subtag, TrackingNumber};

/// FedEx's production API.
pub const PRODUCTION: &str = "https://apis.fedex.com";

const FIELDS: &[CredentialField] = &[
    CredentialField { key: "client_id", name: "API key", secret: false },
    CredentialField { key: "client_secret", name: "Secret key", secret: true },
];

/// Numbers per Track API request, as FedEx allows.
const BATCH: usize = 30;

/// The FedEx adapter.
pub struct FedexCarrier {
    base_url: String,
    tokens: TokenCache,
}

impl FedexCarrier {
    /// An adapter talking to `base_url` (`PRODUCTION`, or a mock server in tests).
    pub fn new(base_url: &str) -> Self {
        FedexCarrier { base_url: base_url.trim_end_matches('/').to_owned(), tokens: TokenCache::default() }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ScanLocation {
    city: Option<String>,
    state_or_province_code: Option<String>,
    postal_code: Option<String>,
    country_code: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ScanEvent {
    date: Option<String>,
    event_type: Option<String>,
    event_description: Option<String>,
    exception_code: Option<String>,
    exception_description: Option<String>,
    scan_location: Option<ScanLocation>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeliveryDetails {
    received_by_name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TrackingNumberInfo {
    tracking_number: Option<String>,
}

/// One of a result's dates: `type` `ESTIMATED_DELIVERY`, `ACTUAL_DELIVERY`, `ACTUAL_PICKUP`...
#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DateAndTime {
    #[serde(rename = "type")]
    kind: Option<String>,
    date_time: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Window {
    ends: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TimeWindow {
    window: Option<Window>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TrackResult {
    tracking_number_info: Option<TrackingNumberInfo>,
    scan_events: Vec<ScanEvent>,
    delivery_details: Option<DeliveryDetails>,
    date_and_times: Vec<DateAndTime>,
    estimated_delivery_time_window: Option<TimeWindow>,
    error: Option<serde_json::Value>,
}

impl TrackResult {
    /// FedEx's estimated delivery: its `ESTIMATED_DELIVERY` date, else the end of its
    /// estimated window (as a local date).
    fn scheduled_delivery(&self) -> Option<chrono::NaiveDate> {
        let estimated = self.date_and_times.iter().find(|d| d.kind.as_deref() == Some("ESTIMATED_DELIVERY"));
        let window_end = || self.estimated_delivery_time_window.as_ref()?.window.as_ref()?.ends.clone();
        estimated.and_then(|d| d.date_time.clone()).or_else(window_end).as_deref().and_then(crate::domain::written_date)
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CompleteTrackResult {
    tracking_number: Option<String>,
    track_results: Vec<TrackResult>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Output {
    complete_track_results: Vec<CompleteTrackResult>,
}

#[derive(Debug, Deserialize)]
struct TrackResponse {
    output: Output,
}

/// Maps a FedEx scan event type (refined by its exception) to a sub-status; `None` for a type
/// no rule knows.
fn map_event(event_type: &str, description: &str, exception: &str) -> Option<Subtag> {
    let text = format!("{description} {exception}").to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    let subtag = match event_type.trim().to_ascii_uppercase().as_str() {
        "OC" | "IN" => "InfoReceived_001",
        "PU" | "PX" => "InTransit_002",
        "AR" | "AF" => "InTransit_003",
        "DP" | "LO" => "InTransit_007",
        "CC" => "InTransit_005",
        "CP" => "InTransit_006",
        "CD" => "Exception_004",
        "OD" => "OutForDelivery_001",
        "HL" | "HP" => "AvailableForPickup_001",
        "DL" => "Delivered_001",
        "RS" | "RR" => "Exception_010",
        "RD" => "InTransit_009",
        "CA" => "Exception_001",
        "DY" | "DD" => "Exception_005",
        "DE" | "SE" if has("business closed") && !has("not available") => "AttemptFail_003",
        "DE" | "SE" if has("not available") || has("not home") || has("no one") => "AttemptFail_002",
        "DE" | "SE" if has("refused") => "Exception_003",
        "DE" | "SE" if has("address") => "Exception_007",
        "DE" | "SE" if has("customs") || has("clearance") => "Exception_004",
        "DE" | "SE" if has("damage") => "Exception_012",
        "DE" | "SE" if has("weather") => "Exception_017",
        "DE" => "AttemptFail_001",
        "SE" => "Exception_001",
        _ => return None,
    };
    Some(Subtag::parse(subtag).expect("fedex events map to published sub-statuses"))
}

fn slug() -> Slug {
    Slug::parse("fedex").expect("valid slug")
}

fn nonempty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_results(response: TrackResponse) -> Result<Vec<TrackingUpdate>, CarrierError> {
    let mut updates = Vec::new();
    for complete in response.output.complete_track_results {
        for result in complete.track_results {
            // FedEx answers unknown numbers with a per-number error: nothing to report yet.
            if result.error.is_some() && result.scan_events.is_empty() {
                continue;
            }
            let raw = result
                .tracking_number_info
                .as_ref()
                .and_then(|i| i.tracking_number.clone())
                .or_else(|| complete.tracking_number.clone())
                .unwrap_or_default();
            let Ok(number) = TrackingNumber::parse(&raw) else { continue };
            let received_by = result.delivery_details.as_ref().and_then(|d| nonempty(d.received_by_name.as_ref()));
            let mut events = Vec::with_capacity(result.scan_events.len());
            for scan in &result.scan_events {
                let Some(date) = scan.date.as_deref() else { continue };
                let time = EventTime::parse(date)
                    .map_err(|_| CarrierError::Malformed(format!("fedex scan event: bad date {date:?}")))?;
                let description = scan.event_description.as_deref().unwrap_or("").trim();
                let exception = scan.exception_description.as_deref().unwrap_or("").trim();
                let event_type = scan.event_type.as_deref().unwrap_or("");
                let message =
                    if exception.is_empty() { description.to_owned() } else { format!("{description}: {exception}") };
                let mut input = CheckpointInput::from_carrier(
                    slug(),
                    number.clone(),
                    time,
                    map_event(event_type, description, exception),
                    message,
                );
                let exception_code = scan.exception_code.as_deref().map(str::trim).filter(|c| !c.is_empty());
                input.raw_tag = Some(match exception_code {
                    Some(code) => format!("{event_type}/{code}"),
                    None => event_type.to_owned(),
                });
                if let Some(location) = &scan.scan_location {
                    input.city = nonempty(location.city.as_ref());
                    input.state = nonempty(location.state_or_province_code.as_ref());
                    input.postal_code = nonempty(location.postal_code.as_ref());
                    input.country_region = location.country_code.as_deref().and_then(CountryCode::from_carrier);
                    let parts: Vec<String> =
                        [input.city.clone(), input.state.clone(), nonempty(location.country_code.as_ref())]
                            .into_iter()
                            .flatten()
                            .collect();
                    input.location = (!parts.is_empty()).then(|| parts.join(", "));
                }
                if input.subtag.code() == "Delivered_001" && received_by.is_some() {
                    input.subtag = Subtag::parse("Delivered_003").expect("published");
                    input.signed_by.clone_from(&received_by);
                }
                events.push(input);
            }
            updates.push(TrackingUpdate {
                slug: slug(),
                tracking_number: number,
                events,
                handover: None,
                scheduled_delivery: result.scheduled_delivery(),
            });
        }
    }
    Ok(updates)
}

/// Parses a Track API response (or a webhook push, which carries the same result).
pub fn parse_track_response(body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
    let response: TrackResponse = from_json(body, "fedex track response")?;
    parse_results(response)
}

#[async_trait]
impl CarrierAdapter for FedexCarrier {
    fn slug(&self) -> &'static str {
        "fedex"
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        Some(WebhookAuth::HmacSha256Base64 { header: "fdx-signature" })
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        parse_track_response(body)
    }

    fn max_batch(&self) -> usize {
        BATCH
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
            let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}");
            HttpRequest::post(format!("{}/oauth/token", self.base_url), form.into_bytes())
                .header("Content-Type", "application/x-www-form-urlencoded")
        };
        let token = self.tokens.get(http, client_id, token_request, now, "fedex").await?;
        let body = serde_json::json!({
            "includeDetailedScans": true,
            "trackingInfo": targets
                .iter()
                .map(|t| serde_json::json!({ "trackingNumberInfo": { "trackingNumber": t.tracking_number.compact() } }))
                .collect::<Vec<_>>(),
        });
        let request =
            HttpRequest::post(format!("{}/track/v1/trackingnumbers", self.base_url), body.to_string().into_bytes())
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .header("X-locale", "en_US");
        let response = http.send(request).await?;
        self.tokens.forget_if_refused(&response).await;
        match tracking_body(&response, "fedex track")? {
            Some(body) => parse_track_response(body),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests;
