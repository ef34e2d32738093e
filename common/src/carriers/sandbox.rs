//! `testing-courier`: a sandbox carrier whose tracking numbers script a journey that unfolds with
//! the clock, so demos, tests and merchants' own integration tests run full lifecycles offline.
//!
//! A number reads `TC-<SCENARIO>-<N>[SEC|MIN|HR][-<anything>]`: a journey of N days, or N
//! seconds, minutes or hours for quick demos and tests (dashes, spaces and case are free; a
//! suffix that starts with SEC, MIN or HR reads as the unit):
//!
//! | scenario | journey over its length, from the tracking's creation |
//! |---|---|
//! | `DELIVERED` | info received, picked up, departed, arrived in the destination country, customs cleared, at the delivery facility, out for delivery, delivered |
//! | `ATTEMPT` | as `DELIVERED`, but the first delivery attempt fails; delivered a day later |
//! | `CUSTOMS` | held by customs half-way, and stays held |
//! | `RETURNED` | wrong address at delivery, returning, then returned to sender five days later |
//! | `LOST` | arrives in the destination country, then is declared lost |
//! | `HANDOVER` | handed over at the destination to a last-mile leg, `TC-LASTMILE-<N><same unit and suffix>`, which delivers it |
//!
//! Events are dated from the shipment's creation and reported once their time has come. The
//! carrier also accepts pushes in its own JSON shape (see [`SandboxPush`]), signed with a
//! base64 HMAC-SHA256 of the body in `x-testing-courier-signature`.

use crate::ports::HttpClient;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    CarrierAdapter, CarrierError, CredentialField, Credentials, PollTarget, RateLimit, TrackingUpdate, WebhookAuth,
};
use crate::domain::{CheckpointInput, CountryCode, EventTime, Leg, LegSource, Slug, Subtag, TrackingNumber};

/// The sandbox's slug, as AfterShip names its own.
pub const SLUG: &str = "testing-courier";

/// The sandbox's event codes and the sub-statuses they map to.
const CODES: &[(&str, &str)] = &[
    ("INF", "InfoReceived_001"),
    ("PUP", "InTransit_002"),
    ("DEP", "InTransit_007"),
    ("ARR", "InTransit_003"),
    ("ADC", "InTransit_004"),
    ("CCS", "InTransit_006"),
    ("CLR", "InTransit_005"),
    ("HOV", "InTransit_001"),
    ("OFD", "OutForDelivery_001"),
    ("ATT", "AttemptFail_002"),
    ("DLV", "Delivered_001"),
    ("DLS", "Delivered_003"),
    ("HLD", "Exception_004"),
    ("BAD", "Exception_007"),
    ("RTS", "Exception_010"),
    ("RTD", "Exception_011"),
    ("LST", "Exception_013"),
];

/// Maps a sandbox event code to its sub-status; `None` for a code not in the list.
pub fn map_code(code: &str) -> Option<Subtag> {
    let (_, subtag) = CODES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code))?;
    Some(Subtag::parse(subtag).expect("sandbox codes map to published sub-statuses"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Delivered,
    Attempt,
    Customs,
    Returned,
    Lost,
    Handover,
    LastMile,
}

/// A parsed sandbox number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Script {
    scenario: Scenario,
    /// The count as written (`3` in `TC-DELIVERED-3`).
    count: i64,
    /// The journey's length.
    length: Duration,
    /// The unit as written (`MIN`, `HR` or nothing for days) and whatever follows.
    suffix: String,
}

fn parse(number: &TrackingNumber) -> Option<Script> {
    let rest = number.compact().strip_prefix("TC")?;
    let split = rest.find(|c: char| c.is_ascii_digit())?;
    let (word, tail) = rest.split_at(split);
    let scenario = match word {
        "DELIVERED" => Scenario::Delivered,
        "ATTEMPT" => Scenario::Attempt,
        "CUSTOMS" => Scenario::Customs,
        "RETURNED" => Scenario::Returned,
        "LOST" => Scenario::Lost,
        "HANDOVER" => Scenario::Handover,
        "LASTMILE" => Scenario::LastMile,
        _ => return None,
    };
    let digits_end = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
    let count: i64 = tail[..digits_end].parse::<i64>().ok()?.clamp(1, 60);
    let suffix = &tail[digits_end..];
    let length = if suffix.starts_with("SEC") {
        Duration::seconds(count)
    } else if suffix.starts_with("MIN") {
        Duration::minutes(count)
    } else if suffix.starts_with("HR") {
        Duration::hours(count)
    } else {
        Duration::days(count)
    };
    Some(Script { scenario, count, length, suffix: suffix.to_owned() })
}

/// One scripted step: when (as a fraction of the journey's length), code, message, city, country.
type Step = (f64, &'static str, &'static str, &'static str, &'static str);

const FIRST_MILE: [Step; 4] = [
    (0.01, "INF", "Shipment information received", "Shenzhen", "CHN"),
    (0.05, "PUP", "Picked up by the carrier", "Shenzhen", "CHN"),
    (0.10, "DEP", "Departed the origin sorting centre", "Shenzhen", "CHN"),
    (0.40, "ADC", "Arrived in the destination country", "Los Angeles, CA", "USA"),
];

const LAST_MILE: [Step; 3] = [
    (0.50, "CLR", "Import customs clearance completed", "Los Angeles, CA", "USA"),
    (0.80, "ARR", "Arrived at the delivery facility", "Chicago, IL", "USA"),
    (0.95, "OFD", "Out for delivery", "Chicago, IL", "USA"),
];

const DELIVERED: Step = (1.0, "DLV", "Delivered, left at front door", "Chicago, IL", "USA");

fn steps(scenario: Scenario) -> Vec<Step> {
    let mut all = Vec::with_capacity(10);
    match scenario {
        Scenario::Delivered => {
            all.extend(FIRST_MILE);
            all.extend(LAST_MILE);
            all.push(DELIVERED);
        }
        Scenario::Attempt => {
            all.extend(FIRST_MILE);
            all.extend(LAST_MILE);
            all.push((0.97, "ATT", "Delivery attempted, recipient not available", "Chicago, IL", "USA"));
            all.push((1.25, "OFD", "Out for delivery, second attempt", "Chicago, IL", "USA"));
            all.push((1.35, "DLS", "Delivered, signed for", "Chicago, IL", "USA"));
        }
        Scenario::Customs => {
            all.extend(FIRST_MILE);
            all.push((0.45, "CCS", "Customs clearance started", "Los Angeles, CA", "USA"));
            all.push((0.50, "HLD", "Held by customs: duties unpaid", "Los Angeles, CA", "USA"));
        }
        Scenario::Returned => {
            all.extend(FIRST_MILE);
            all.extend(LAST_MILE);
            all.push((0.97, "BAD", "Address incorrect, delivery not possible", "Chicago, IL", "USA"));
            all.push((1.5, "RTS", "Returning to sender", "Chicago, IL", "USA"));
            all.push((3.5, "RTD", "Returned to sender", "Shenzhen", "CHN"));
        }
        Scenario::Lost => {
            all.extend(FIRST_MILE);
            all.push((1.0, "LST", "Shipment lost, claim opened", "Los Angeles, CA", "USA"));
        }
        Scenario::Handover => {
            all.extend(FIRST_MILE);
            all.push((0.45, "HOV", "Handed over to the last-mile carrier", "Los Angeles, CA", "USA"));
        }
        Scenario::LastMile => {
            all.push((0.47, "ARR", "Received by the last-mile carrier", "Los Angeles, CA", "USA"));
            all.extend(LAST_MILE);
            all.push(DELIVERED);
        }
    }
    all
}

fn slug() -> Slug {
    Slug::parse(SLUG).expect("the sandbox slug is valid")
}

fn event(
    number: &TrackingNumber,
    time: DateTime<Utc>,
    code: &str,
    message: &str,
    city: &str,
    country: &str,
) -> CheckpointInput {
    let mut input =
        CheckpointInput::from_carrier(slug(), number.clone(), EventTime::from_utc(time), map_code(code), message);
    input.raw_tag = Some(code.to_owned());
    input.location = Some(city.to_owned());
    input.city = Some(city.to_owned());
    input.country_region = CountryCode::parse(country).ok();
    if code == "DLS" {
        input.signed_by = Some("J. SMITH".into());
    }
    input
}

/// The journey of `number` as the sandbox reports it at `now`, if it is a sandbox number.
pub fn journey(number: &TrackingNumber, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<TrackingUpdate> {
    let script = parse(number)?;
    let at =
        |fraction: f64| since + Duration::milliseconds((script.length.num_milliseconds() as f64 * fraction) as i64);
    let events = steps(script.scenario)
        .into_iter()
        .map(|(fraction, code, message, city, country)| (at(fraction), code, message, city, country))
        .filter(|(time, ..)| *time <= now)
        .map(|(time, code, message, city, country)| event(number, time, code, message, city, country))
        .collect::<Vec<_>>();
    let handed_over =
        script.scenario == Scenario::Handover && events.iter().any(|e| e.raw_tag.as_deref() == Some("HOV"));
    let handover = handed_over
        .then(|| TrackingNumber::parse(&format!("TC-LASTMILE-{}{}", script.count, script.suffix)).ok())
        .flatten()
        .map(|tracking_number| Leg { slug: slug(), tracking_number, source: LegSource::System });
    Some(TrackingUpdate { slug: slug(), tracking_number: number.clone(), events, handover, scheduled_delivery: None })
}

/// What the sandbox pushes to `POST /webhooks/carriers/testing-courier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPush {
    /// The number the events are about.
    pub tracking_number: String,
    /// The events.
    pub events: Vec<SandboxEvent>,
    /// A last-mile leg the parcel was handed to.
    #[serde(default)]
    pub last_mile: Option<SandboxLeg>,
}

/// One pushed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxEvent {
    /// ISO 8601 time.
    pub occurred_at: String,
    /// A sandbox event code (`PUP`, `OFD`, `DLV`, ...).
    pub code: String,
    /// Free text.
    pub description: String,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-3 country.
    #[serde(default)]
    pub country: Option<String>,
}

/// A pushed last-mile leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxLeg {
    /// The last-mile carrier.
    pub slug: String,
    /// Its number.
    pub tracking_number: String,
}

/// The sandbox carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxCarrier;

#[async_trait]
impl CarrierAdapter for SandboxCarrier {
    fn slug(&self) -> &'static str {
        SLUG
    }

    fn credential_fields(&self) -> &'static [CredentialField] {
        &[]
    }

    fn webhook_auth(&self) -> Option<WebhookAuth> {
        Some(WebhookAuth::HmacSha256Base64 { header: "x-testing-courier-signature" })
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<TrackingUpdate>, CarrierError> {
        let push: SandboxPush =
            serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(format!("sandbox push: {e}")))?;
        let number = TrackingNumber::parse(&push.tracking_number)
            .map_err(|e| CarrierError::Malformed(format!("sandbox push: {e}")))?;
        let events = push
            .events
            .iter()
            .map(|e| {
                let time = EventTime::parse(&e.occurred_at)
                    .map_err(|err| CarrierError::Malformed(format!("sandbox push: {err}")))?;
                let mut input = CheckpointInput::from_carrier(
                    slug(),
                    number.clone(),
                    time,
                    map_code(&e.code),
                    e.description.clone(),
                );
                input.raw_tag = Some(e.code.clone());
                input.city = e.city.clone();
                input.location = e.city.clone();
                input.country_region = e.country.as_deref().and_then(|c| CountryCode::parse(c).ok());
                Ok(input)
            })
            .collect::<Result<Vec<_>, CarrierError>>()?;
        let handover = match &push.last_mile {
            None => None,
            Some(leg) => Some(Leg {
                slug: Slug::parse(&leg.slug).map_err(|e| CarrierError::Malformed(format!("sandbox push: {e}")))?,
                tracking_number: TrackingNumber::parse(&leg.tracking_number)
                    .map_err(|e| CarrierError::Malformed(format!("sandbox push: {e}")))?,
                source: LegSource::System,
            }),
        };
        Ok(vec![TrackingUpdate { slug: slug(), tracking_number: number, events, handover, scheduled_delivery: None }])
    }

    fn max_batch(&self) -> usize {
        100
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit { per_second: 1000, concurrency: 8 }
    }

    async fn poll(
        &self,
        _http: &dyn HttpClient,
        _credentials: &Credentials,
        targets: &[PollTarget],
        now: DateTime<Utc>,
    ) -> Result<Vec<TrackingUpdate>, CarrierError> {
        Ok(targets.iter().filter_map(|t| journey(&t.tracking_number, t.since, now)).collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{Shipment, ShipmentDetails, Tag, TenantId};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).single().expect("date")
    }

    fn number(raw: &str) -> TrackingNumber {
        TrackingNumber::parse(raw).expect("number")
    }

    /// The status a fresh shipment reaches after merging the journey as of `days` later.
    fn status_after(raw: &str, days: f64) -> (Tag, &'static str) {
        let now = start() + Duration::seconds((days * 86_400.0) as i64);
        let mut shipment =
            Shipment::new(TenantId::parse("t").expect("t"), slug(), number(raw), ShipmentDetails::default(), start());
        let update = journey(&number(raw), start(), now).expect("a sandbox number");
        shipment.merge(update.events, now);
        (shipment.tag, shipment.subtag.code())
    }

    #[test]
    fn numbers_parse_with_free_dashes_spaces_and_case() {
        for raw in ["TC-DELIVERED-3", "tc delivered 3 abc", "TCDELIVERED3-XYZ"] {
            assert_eq!(
                parse(&number(raw)).map(|s| (s.scenario, s.length)),
                Some((Scenario::Delivered, Duration::days(3))),
                "{raw}"
            );
        }
        assert_eq!(parse(&number("TC-TELEPORTED-3")), None);
        assert_eq!(parse(&number("TC-DELIVERED-10MIN")).map(|s| s.length), Some(Duration::minutes(10)));
        assert_eq!(parse(&number("TC-DELIVERED-6HR-X")).map(|s| s.length), Some(Duration::hours(6)));
        assert_eq!(parse(&number("1Z999AA10123456784")), None);
    }

    #[test]
    fn codes_outside_the_list_are_unmapped() {
        assert_eq!(map_code("dlv").map(|s| s.code()), Some("Delivered_001"));
        assert_eq!(map_code("XYZ"), None);
    }

    #[test]
    fn each_scenario_unfolds_with_the_clock() {
        let cases: &[(&str, f64, Tag, &str)] = &[
            ("TC-DELIVERED-4", 0.0, Tag::Pending, "Pending_001"),
            ("TC-DELIVERED-4", 0.1, Tag::InfoReceived, "InfoReceived_001"),
            ("TC-DELIVERED-4", 1.0, Tag::InTransit, "InTransit_007"),
            ("TC-DELIVERED-4", 1.7, Tag::InTransit, "InTransit_004"),
            ("TC-DELIVERED-4", 3.8, Tag::OutForDelivery, "OutForDelivery_001"),
            ("TC-DELIVERED-4", 4.0, Tag::Delivered, "Delivered_001"),
            ("TC-ATTEMPT-2", 1.95, Tag::AttemptFail, "AttemptFail_002"),
            ("TC-ATTEMPT-2", 3.0, Tag::Delivered, "Delivered_003"),
            ("TC-CUSTOMS-4", 2.1, Tag::Exception, "Exception_004"),
            ("TC-CUSTOMS-4", 30.0, Tag::Exception, "Exception_004"),
            ("TC-RETURNED-2", 2.0, Tag::Exception, "Exception_007"),
            ("TC-RETURNED-2", 3.5, Tag::Exception, "Exception_010"),
            ("TC-RETURNED-2", 7.5, Tag::Exception, "Exception_011"),
            ("TC-LOST-5", 5.0, Tag::Exception, "Exception_013"),
        ];
        for (raw, days, tag, subtag) in cases {
            assert_eq!(status_after(raw, *days), (*tag, *subtag), "{raw} after {days} days");
        }
    }

    #[test]
    fn a_handover_names_the_last_mile_leg_which_then_delivers() {
        let first = number("TC-HANDOVER-4-AB12");
        let before = journey(&first, start(), start() + Duration::days(1)).expect("sandbox");
        assert_eq!(before.handover, None);
        let after = journey(&first, start(), start() + Duration::days(2)).expect("sandbox");
        let leg = after.handover.expect("handed over");
        assert_eq!(leg.tracking_number.compact(), "TCLASTMILE4AB12");
        let quick = journey(&number("TC-HANDOVER-10MIN-Q"), start(), start() + Duration::minutes(5)).expect("sandbox");
        assert_eq!(quick.handover.map(|l| l.tracking_number.compact().to_owned()), Some("TCLASTMILE10MINQ".to_owned()));
        let last = journey(&leg.tracking_number, start(), start() + Duration::days(4)).expect("sandbox");
        assert_eq!(last.events.last().map(|e| e.subtag.code()), Some("Delivered_001"));
        assert!(last.events.iter().all(|e| e.tracking_number == leg.tracking_number));
    }

    #[test]
    fn pushes_parse_into_updates_and_bad_ones_are_malformed() {
        let push = br#"{"tracking_number":"TC-DELIVERED-3","events":[{"occurred_at":"2026-04-01T06:00:00Z","code":"PUP","description":"Picked up","city":"Shenzhen","country":"CHN"}],"last_mile":{"slug":"usps","tracking_number":"9400111899223100000000"}}"#;
        let updates = SandboxCarrier.parse_webhook(push).expect("parses");
        assert_eq!(updates[0].events[0].subtag.code(), "InTransit_002");
        assert_eq!(updates[0].events[0].raw_tag.as_deref(), Some("PUP"));
        assert_eq!(updates[0].handover.as_ref().map(|l| l.slug.as_str()), Some("usps"));
        for bad in [
            &b"not json"[..],
            br#"{"tracking_number":""}"#,
            br#"{"tracking_number":"X","events":[{"occurred_at":"soon","code":"PUP","description":""}]}"#,
        ] {
            assert!(matches!(SandboxCarrier.parse_webhook(bad), Err(CarrierError::Malformed(_))));
        }
    }
}
