//! UPS: the Track API (`GET /api/track/v1/details/{inquiryNumber}`, OAuth client credentials)
//! for polling, and Track Alert for pushes (the `credential` header carries the secret set in
//! the subscription).
//!
//! Shapes follow UPS's public OpenAPI descriptions (`Tracking.yaml`, `UPSTrackAlert.yaml`,
//! `OAuthClientCredentials.yaml` of github.com/UPS-API/api-documentation); the fixtures beside
//! this file are in those shapes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64_STANDARD;

use crate::ports::{HttpClient, HttpRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::tracking_body;
use super::oauth::TokenCache;
use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, Text, TrackingUpdate,
    WebhookAuth, carrier_time, from_json,
};
use crate::domain::{CheckpointInput, CountryCode, Slug, Subtag, TrackingNumber};

/// UPS's production API.
pub const PRODUCTION: &str = "https://onlinetools.ups.com";

const FIELDS: &[CredentialField] = &[
    CredentialField { key: "client_id", name: "Client ID", secret: false },
    CredentialField { key: "client_secret", name: "Client secret", secret: true },
];

/// The UPS adapter. Holds the OAuth token between polls.
pub struct UpsCarrier {
    base_url: String,
    tokens: TokenCache,
}

impl UpsCarrier {
    /// An adapter talking to `base_url` (`PRODUCTION`, or a mock server in tests).
    pub fn new(base_url: &str) -> Self {
        UpsCarrier { base_url: base_url.trim_end_matches('/').to_owned(), tokens: TokenCache::default() }
    }

    /// A bearer token: client credentials with HTTP Basic authentication.
    async fn token(
        &self,
        http: &dyn HttpClient,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> Result<String, CarrierError> {
        let client_id = credentials.require("client_id")?;
        let client_secret = credentials.require("client_secret")?;
        let request = || {
            let basic = BASE64_STANDARD.encode(format!("{client_id}:{client_secret}"));
            HttpRequest::post(
                format!("{}/security/v1/oauth/token", self.base_url),
                b"grant_type=client_credentials".to_vec(),
            )
            .header("Authorization", format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
        };
        self.tokens.get(http, client_id, request, now, "ups").await
    }
}

type Field<'a> = Option<Text<'a>>;

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Address<'a> {
    #[serde(borrow)]
    city: Field<'a>,
    #[serde(borrow)]
    state_province: Field<'a>,
    #[serde(borrow)]
    postal_code: Field<'a>,
    #[serde(borrow)]
    country: Field<'a>,
    #[serde(borrow)]
    country_code: Field<'a>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Status<'a> {
    #[serde(rename = "type", borrow)]
    kind: Field<'a>,
    #[serde(borrow)]
    code: Field<'a>,
    #[serde(borrow)]
    description: Field<'a>,
    #[serde(borrow)]
    status_code: Field<'a>,
    #[serde(borrow)]
    description_code: Field<'a>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Location<'a> {
    #[serde(borrow)]
    address: Option<Address<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Activity<'a> {
    #[serde(borrow)]
    location: Option<Location<'a>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
    #[serde(borrow)]
    date: Field<'a>,
    #[serde(borrow)]
    time: Field<'a>,
    #[serde(borrow)]
    gmt_date: Field<'a>,
    #[serde(borrow)]
    gmt_time: Field<'a>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeliveryInformation<'a> {
    #[serde(borrow)]
    received_by: Field<'a>,
}

/// One of a package's delivery dates: `SDD` scheduled, `RDD` rescheduled, `DEL` delivered.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct DeliveryDate<'a> {
    #[serde(rename = "type", borrow)]
    kind: Field<'a>,
    #[serde(borrow)]
    date: Field<'a>,
}

/// A `YYYYMMDD` date, when it is one.
fn compact_date(raw: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y%m%d").ok()
}

/// The delivery date UPS schedules: a rescheduled one over the first scheduled.
fn scheduled_delivery(dates: &[DeliveryDate<'_>]) -> Option<chrono::NaiveDate> {
    let of_kind = |kind: &str| {
        dates.iter().find(|d| d.kind.as_deref() == Some(kind)).and_then(|d| d.date.as_deref()).and_then(compact_date)
    };
    of_kind("RDD").or_else(|| of_kind("SDD"))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Package<'a> {
    #[serde(borrow)]
    tracking_number: Field<'a>,
    #[serde(borrow)]
    delivery_date: Vec<DeliveryDate<'a>>,
    #[serde(borrow)]
    activity: Vec<Activity<'a>>,
    #[serde(borrow)]
    delivery_information: Option<DeliveryInformation<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Shipment<'a> {
    #[serde(borrow)]
    package: Vec<Package<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct TrackResponse<'a> {
    #[serde(borrow)]
    shipment: Vec<Shipment<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackApiResponse<'a> {
    #[serde(borrow)]
    track_response: TrackResponse<'a>,
}

/// One Track Alert push.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingEvent<'a> {
    #[serde(borrow)]
    tracking_number: Text<'a>,
    #[serde(borrow)]
    local_activity_date: Text<'a>,
    #[serde(borrow)]
    local_activity_time: Text<'a>,
    #[serde(default, borrow)]
    gmt_activity_date: Field<'a>,
    #[serde(default, borrow)]
    gmt_activity_time: Field<'a>,
    #[serde(default, borrow)]
    activity_location: Option<Address<'a>>,
    #[serde(borrow)]
    activity_status: Status<'a>,
    #[serde(default, borrow)]
    scheduled_delivery_date: Field<'a>,
}

/// Maps a UPS status to a sub-status. UPS status types: M/MV manifest, P pickup, I in progress,
/// U update, X exception, D delivery, RS returned to shipper; the two-letter code and the
/// three-digit status code refine them. `None` for a status type no rule knows.
fn map_status(status: &Status<'_>) -> Option<Subtag> {
    let kind = status.kind.as_deref().unwrap_or("").trim();
    let code = status.code.as_deref().unwrap_or("").trim();
    let is_code = |wanted: &str| code.eq_ignore_ascii_case(wanted);
    let number = status.status_code.as_deref().or(status.description_code.as_deref()).unwrap_or("").trim();
    let text = status.description.as_deref().unwrap_or("").to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    let kind = kind.to_ascii_uppercase();
    let subtag = match kind.as_str() {
        "M" => "InfoReceived_001",
        "MV" => "Exception_001",
        "P" => "InTransit_002",
        "D" if has("access point") && !has("picked up") => "AvailableForPickup_001",
        "D" if has("picked up") => "Delivered_002",
        "D" if number == "021" || is_code("OT") || is_code("OF") || has("out for delivery") => "OutForDelivery_001",
        "D" => "Delivered_001",
        "RS" => "Exception_011",
        "X" if has("returned to the sender") || has("returned to shipper") || has("returning") => "Exception_010",
        "X" if has("ready for pickup") || has("available for pickup") => "AvailableForPickup_001",
        "X" if has("business was closed") || has("closed") => "AttemptFail_003",
        "X" if has("not available") || has("attempt") || has("not home") => "AttemptFail_002",
        "X" if has("refused") => "Exception_003",
        "X" if has("address") => "Exception_007",
        "X" if has("customs") || has("brokerage") || has("clearance") => "Exception_004",
        "X" if has("weather") => "Exception_017",
        "X" if has("damage") => "Exception_012",
        "X" => "Exception_001",
        "I" | "U" if number == "021" || is_code("OT") || is_code("OF") => "OutForDelivery_001",
        "I" if has("released") && (has("customs") || has("clearance")) => "InTransit_005",
        "I" if has("customs") || has("clearance") || has("brokerage") => "InTransit_006",
        "I" if is_code("AR") || has("arrived") => "InTransit_003",
        "I" if is_code("DP") || has("departed") => "InTransit_007",
        "I" | "U" => "InTransit_001",
        _ => return None,
    };
    Some(Subtag::parse(subtag).expect("ups statuses map to published sub-statuses"))
}

/// The `ups` slug; callers build it once per response and clone it per checkpoint.
fn slug() -> Slug {
    Slug::parse("ups").expect("valid slug")
}

fn country(address: Option<&Address<'_>>) -> Option<CountryCode> {
    let address = address?;
    address.country_code.as_deref().or(address.country.as_deref()).and_then(CountryCode::from_carrier)
}

fn location_text(address: Option<&Address<'_>>) -> Option<String> {
    let address = address?;
    let mut text = String::new();
    let parts = [address.city.as_deref(), address.state_province.as_deref(), address.country.as_deref()];
    for part in parts.into_iter().flatten().map(str::trim).filter(|p| !p.is_empty()) {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(part);
    }
    (!text.is_empty()).then_some(text)
}

fn nonempty(value: Option<&Text<'_>>) -> Option<String> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Builds a checkpoint from the parts both UPS shapes share.
fn checkpoint(
    slug: &Slug,
    number: &TrackingNumber,
    time: crate::domain::EventTime,
    status: &Status<'_>,
    address: Option<&Address<'_>>,
) -> CheckpointInput {
    let message = status.description.as_deref().unwrap_or("").trim().to_owned();
    let mut input = CheckpointInput::from_carrier(slug.clone(), number.clone(), time, map_status(status), message);
    input.raw_tag = status.code.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    input.location = location_text(address);
    input.city = address.and_then(|a| nonempty(a.city.as_ref()));
    input.state = address.and_then(|a| nonempty(a.state_province.as_ref()));
    input.postal_code = address.and_then(|a| nonempty(a.postal_code.as_ref()));
    input.country_region = country(address);
    input
}

/// Parses a Track API response body into updates (one per package with activity).
pub fn parse_track_response(body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
    let response: TrackApiResponse = from_json(body, "ups track response")?;
    let slug = slug();
    let mut updates = Vec::new();
    for package in response.track_response.shipment.iter().flat_map(|s| &s.package) {
        let Some(number) = package.tracking_number.as_deref().and_then(|n| TrackingNumber::parse(n).ok()) else {
            continue;
        };
        let received_by = package.delivery_information.as_ref().and_then(|d| nonempty(d.received_by.as_ref()));
        let mut events = Vec::with_capacity(package.activity.len());
        for activity in &package.activity {
            let (Some(date), Some(status)) = (activity.date.as_deref(), activity.status.as_ref()) else { continue };
            let gmt = activity.gmt_date.as_deref().zip(activity.gmt_time.as_deref());
            let time = carrier_time(date, activity.time.as_deref().unwrap_or(""), gmt)
                .ok_or_else(|| CarrierError::Malformed(format!("ups track response: bad activity time {date:?}")))?;
            let address = activity.location.as_ref().and_then(|l| l.address.as_ref());
            let mut input = checkpoint(&slug, &number, time, status, address);
            if input.subtag.code() == "Delivered_001" && received_by.is_some() {
                input.subtag = Subtag::parse("Delivered_003").expect("published");
                input.signed_by.clone_from(&received_by);
            }
            events.push(input);
        }
        updates.push(TrackingUpdate {
            slug: slug.clone(),
            tracking_number: number,
            events,
            handover: None,
            scheduled_delivery: scheduled_delivery(&package.delivery_date),
        });
    }
    Ok(updates)
}

#[async_trait]
impl CarrierAdapter for UpsCarrier {
    fn slug(&self) -> &'static str {
        "ups"
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        Some(WebhookAuth::SharedToken { header: "credential" })
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let event: TrackingEvent = from_json(body, "ups track alert")?;
        let number = TrackingNumber::parse(&event.tracking_number)
            .map_err(|e| CarrierError::Malformed(format!("ups track alert: {e}")))?;
        let gmt =
            event.gmt_activity_date.as_deref().zip(event.gmt_activity_time.as_deref()).filter(|(d, _)| !d.is_empty());
        let time = carrier_time(&event.local_activity_date, &event.local_activity_time, gmt)
            .ok_or_else(|| CarrierError::Malformed("ups track alert: bad activity time".into()))?;
        let slug = slug();
        let input = checkpoint(&slug, &number, time, &event.activity_status, event.activity_location.as_ref());
        let scheduled_delivery = event.scheduled_delivery_date.as_deref().and_then(compact_date);
        Ok(vec![TrackingUpdate {
            slug,
            tracking_number: number,
            events: vec![input],
            handover: None,
            scheduled_delivery,
        }])
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 10, concurrency: 4 }
    }

    async fn poll(
        &self,
        http: &dyn HttpClient,
        credentials: &Credentials,
        targets: &[PollTarget],
        now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let token = self.token(http, credentials, now).await?;
        let mut updates = Vec::new();
        for target in targets {
            let url = format!(
                "{}/api/track/v1/details/{}?locale=en_US&returnSignature=false&returnMilestones=false&returnPOD=false",
                self.base_url,
                super::url_escaped(target.tracking_number.compact())
            );
            let request = HttpRequest::get(url)
                .header("Authorization", format!("Bearer {token}"))
                .header("transId", uuid::Uuid::new_v4().simple().to_string())
                .header("transactionSrc", "porchlight");
            let response = http.send(request).await?;
            self.tokens.forget_if_refused(&response).await;
            if let Some(body) = tracking_body(&response, "ups track")? {
                updates.extend(parse_track_response(body)?);
            }
        }
        Ok(updates)
    }
}

#[cfg(test)]
mod tests;
