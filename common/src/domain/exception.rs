//! Exception management: a merchant's rules for parcels in trouble (what to look for, how bad
//! it is, what to do) and the cases they open, one per shipment and rule.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{DomainError, Scope, Shipment, Subtag, Tag};

/// Rules a merchant may keep.
pub const MAX_EXCEPTION_RULES: usize = 50;
/// Notes a case keeps.
pub const MAX_NOTES: usize = 100;

/// Sub-statuses of a customs hold.
const CUSTOMS: [&str; 3] = ["Exception_004", "Exception_018", "Exception_019"];
/// Sub-statuses of an address problem.
const ADDRESS: [&str; 3] = ["Exception_002", "Exception_007", "Exception_020"];
/// Sub-statuses of a lost or damaged parcel.
const LOST_OR_DAMAGED: [&str; 3] = ["Exception_012", "Exception_013", "Exception_021"];

/// What a rule looks for. Variants without settings are empty structs so that a condition
/// carrying a field its type does not take is refused, not silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The sub-status is one of `subtags`.
    SubtagIn {
        /// AfterShip sub-status codes.
        subtags: Vec<Subtag>,
    },
    /// The carrier failed to deliver at least `at_least` times.
    FailedAttempts {
        /// The count.
        at_least: u32,
    },
    /// No new checkpoint for `days` days while tracking goes on (and, when `tags` is not
    /// empty, while the status is one of them). Found by the scheduled scan.
    NoUpdate {
        /// Days without news.
        days: u32,
        /// Statuses it applies to; empty for any.
        #[serde(default)]
        tags: Vec<Tag>,
    },
    /// Not delivered `days` days after the promised delivery date (its latest) or, when
    /// nothing was promised, after the estimated delivery range's last day. Found by the
    /// scheduled scan.
    PastDue {
        /// Days late.
        days: u32,
    },
    /// Picked up and not delivered after the 90th percentile of its lane's transit days (from
    /// its estimate's `lane_p90`: only lanes with enough deliveries of their own). Found by
    /// the scheduled scan.
    BeyondLaneP90 {},
    /// Returning or returned to the sender.
    ReturnedToSender {},
    /// Held in customs (Exception_004, 018, 019).
    CustomsHold {},
    /// An address problem (Exception_002, 007, 020).
    AddressProblem {},
    /// Lost or damaged (Exception_012, 013, 021).
    LostOrDamaged {},
}

impl Condition {
    /// Whether only time passing can make it hold (the scan looks for these).
    pub fn is_time_based(&self) -> bool {
        matches!(self, Condition::NoUpdate { .. } | Condition::PastDue { .. } | Condition::BeyondLaneP90 {})
    }

    /// Whether it holds for `shipment` at `now`.
    pub fn holds(&self, shipment: &Shipment, now: DateTime<Utc>) -> bool {
        let subtag_among = |codes: &[&str]| codes.contains(&shipment.subtag.code());
        match self {
            Condition::SubtagIn { subtags } => subtags.contains(&shipment.subtag),
            Condition::FailedAttempts { at_least } => shipment.failed_delivery_attempts >= *at_least,
            Condition::NoUpdate { days, tags } => {
                shipment.active
                    && (tags.is_empty() || tags.contains(&shipment.tag))
                    && now - shipment.last_news_at() >= Duration::days(i64::from(*days))
            }
            Condition::PastDue { days } => {
                let promised = shipment.details.order_promised_delivery_date.as_ref();
                let latest =
                    promised.and_then(|p| p.promised_delivery_date_max.as_ref().or(p.promised_delivery_date.as_ref()));
                let promised = latest.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                let estimated = || shipment.edd.as_ref().map(|edd| edd.latest.latest);
                let Some(date) = promised.or_else(estimated) else {
                    return false;
                };
                shipment.tag != Tag::Delivered
                    && shipment.completed.is_none()
                    && now.date_naive() > date + Duration::days(i64::from(*days))
            }
            Condition::BeyondLaneP90 {} => {
                let slow_after = shipment.edd.as_ref().and_then(|edd| edd.latest.lane_p90);
                slow_after.is_some_and(|day| {
                    shipment.active
                        && shipment.tag != Tag::Delivered
                        && shipment.completed.is_none()
                        && !shipment.return_to_sender
                        && now.date_naive() > day
                })
            }
            Condition::ReturnedToSender {} => shipment.return_to_sender,
            Condition::CustomsHold {} => subtag_among(&CUSTOMS),
            Condition::AddressProblem {} => subtag_among(&ADDRESS),
            Condition::LostOrDamaged {} => subtag_among(&LOST_OR_DAMAGED),
        }
    }
}

/// How bad a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Needs handling.
    Medium,
    /// Needs handling today.
    High,
    /// The shopper is losing the parcel.
    Critical,
}

impl Severity {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads [`Severity::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|s| s.as_str() == text)
    }
}

/// What a rule does when it opens a case (flagging it with its reason and severity always).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Actions {
    /// Send the shopper the `exception` message (once per shipment, like any notification).
    pub notify_shopper: bool,
    /// Add this tag to the shipment's `shipment_tags`.
    pub add_tag: Option<String>,
    /// Email these addresses of the merchant's team (at most [`MAX_TEAM`]) when a case opens
    /// or reopens.
    pub notify_team: Vec<String>,
}

/// Most team addresses an exception rule emails.
pub const MAX_TEAM: usize = 5;

/// A merchant's exception rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRule {
    /// `er_` and 16 hex digits.
    pub id: String,
    /// What the merchant calls it.
    pub name: String,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// What it looks for.
    pub condition: Condition,
    /// Which shipments it applies to (carriers, destinations, tags).
    #[serde(default)]
    pub scope: Scope,
    /// How bad its cases are.
    pub severity: Severity,
    /// Why its cases are open, as the queue shows it.
    pub reason: String,
    /// What it does when it opens a case.
    #[serde(default)]
    pub actions: Actions,
}

impl ExceptionRule {
    /// Checks the rule's fields; errors name them as a single rule's (`name`, `condition`, ...).
    pub fn validate(&self) -> Result<(), DomainError> {
        let text = |field: &str, value: &str, max: usize| {
            if value.trim().is_empty() || value.chars().count() > max {
                Err(DomainError::invalid(field, format!("must be 1 to {max} characters")))
            } else {
                Ok(())
            }
        };
        text("name", &self.name, 100)?;
        text("reason", &self.reason, 200)?;
        match &self.condition {
            Condition::SubtagIn { subtags } if subtags.is_empty() => {
                return Err(DomainError::invalid("condition.subtags", "must name at least one sub-status"));
            }
            Condition::FailedAttempts { at_least } if !(1..=10).contains(at_least) => {
                return Err(DomainError::invalid("condition.at_least", "must be from 1 to 10"));
            }
            Condition::NoUpdate { days, .. } if !(1..=90).contains(days) => {
                return Err(DomainError::invalid("condition.days", "must be from 1 to 90"));
            }
            Condition::PastDue { days } if *days > 90 => {
                return Err(DomainError::invalid("condition.days", "must be from 0 to 90"));
            }
            _ => {}
        }
        if let Some(tag) = &self.actions.add_tag {
            text("actions.add_tag", tag, 100)?;
        }
        if self.actions.notify_team.len() > MAX_TEAM {
            return Err(DomainError::invalid("actions.notify_team", format!("must name at most {MAX_TEAM} addresses")));
        }
        for address in &self.actions.notify_team {
            super::Contact::email(address).map_err(|_| {
                DomainError::invalid("actions.notify_team", format!("{address:?} is not an email address"))
            })?;
        }
        Ok(())
    }

    /// Whether the rule opens a case for `shipment` at `now`.
    pub fn matches(&self, shipment: &Shipment, now: DateTime<Utc>) -> bool {
        self.enabled && self.scope.contains(shipment) && self.condition.holds(shipment, now)
    }
}

/// A merchant's exception rules: the defaults until the merchant changes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRules {
    /// The rules, in the order they were made.
    pub rules: Vec<ExceptionRule>,
}

impl ExceptionRules {
    /// A new merchant's: a failed delivery attempt, a carrier's exception sub-status, and no
    /// news for 7 days in transit.
    pub fn defaults() -> Self {
        let exceptions = super::SUBTAGS
            .iter()
            .filter(|info| info.tag == Tag::Exception)
            .filter_map(|info| Subtag::parse(info.code).ok())
            .collect();
        let rule = |id: &str, name: &str, condition, severity, reason: &str| ExceptionRule {
            id: id.to_owned(),
            name: name.to_owned(),
            enabled: true,
            condition,
            scope: Scope::default(),
            severity,
            reason: reason.to_owned(),
            actions: Actions::default(),
        };
        ExceptionRules {
            rules: vec![
                rule(
                    "er_failed_attempt",
                    "Failed delivery attempt",
                    Condition::FailedAttempts { at_least: 1 },
                    Severity::Medium,
                    "the carrier could not deliver",
                ),
                rule(
                    "er_carrier_exception",
                    "Carrier exception",
                    Condition::SubtagIn { subtags: exceptions },
                    Severity::High,
                    "the carrier reported an exception",
                ),
                rule(
                    "er_no_update_7_days",
                    "No update for 7 days in transit",
                    Condition::NoUpdate { days: 7, tags: vec![Tag::InTransit] },
                    Severity::Medium,
                    "no news from the carrier for 7 days",
                ),
            ],
        }
    }

    /// Checks every rule and the count.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.rules.len() > MAX_EXCEPTION_RULES {
            return Err(DomainError::invalid("rules", format!("at most {MAX_EXCEPTION_RULES} rules")));
        }
        self.rules.iter().try_for_each(ExceptionRule::validate)
    }
}

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Needs handling.
    Open,
    /// Handled; reopens only on new facts.
    Resolved,
}

impl CaseState {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Resolved => "resolved",
        }
    }

    /// Reads [`CaseState::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<CaseState> {
        [CaseState::Open, CaseState::Resolved].into_iter().find(|s| s.as_str() == text)
    }
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who wrote it (as the merchant's team names itself), if said.
    pub author: Option<String>,
    /// The note.
    pub text: String,
}

/// What a shipment's facts were when a case was opened or resolved: its sub-status, how many
/// checkpoints and failed attempts it had. A resolved case reopens only when these change.
pub fn facts_of(shipment: &Shipment) -> String {
    format!("{}|{}|{}", shipment.subtag.code(), shipment.checkpoints.len(), shipment.failed_delivery_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        CheckpointInput, CheckpointSource, EventTime, ShipmentDetails, Slug, TenantId, TrackingNumber,
    };

    fn shipment(codes: &[&str], at: DateTime<Utc>) -> Shipment {
        let (slug, number) =
            (Slug::parse("ups").expect("slug"), TrackingNumber::parse("1Z999AA10123456784").expect("n"));
        let mut s = Shipment::new(TenantId::random(), slug.clone(), number.clone(), ShipmentDetails::default(), at);
        let events = codes.iter().enumerate().map(|(i, code)| {
            CheckpointInput::new(
                slug.clone(),
                number.clone(),
                EventTime::from_utc(at + Duration::hours(i as i64)),
                Subtag::parse(code).expect("subtag"),
                format!("event {i}"),
                CheckpointSource::Carrier,
            )
        });
        s.merge(events, at + Duration::hours(codes.len() as i64));
        s
    }

    #[test]
    fn defaults_catch_failed_attempts_exceptions_and_silence_in_transit() {
        let now = Utc::now();
        let rules = ExceptionRules::defaults();
        rules.validate().expect("valid defaults");
        let fired = |s: &Shipment, at| {
            rules.rules.iter().filter(|r| r.matches(s, at)).map(|r| r.id.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(fired(&shipment(&["InTransit_002", "AttemptFail_002"], now), now), ["er_failed_attempt"]);
        assert_eq!(fired(&shipment(&["InTransit_002", "Exception_013"], now), now), ["er_carrier_exception"]);
        let quiet = shipment(&["InTransit_002"], now - Duration::days(9));
        assert_eq!(fired(&quiet, now), ["er_no_update_7_days"]);
        assert!(fired(&quiet, now - Duration::days(3)).is_empty(), "not yet 7 days");
        assert!(fired(&shipment(&["InTransit_002", "Delivered_001"], now - Duration::days(30)), now).is_empty());
    }

    #[test]
    fn named_conditions_read_their_sub_statuses() {
        let now = Utc::now();
        let customs = shipment(&["InTransit_002", "Exception_019"], now);
        assert!(Condition::CustomsHold {}.holds(&customs, now));
        assert!(!Condition::AddressProblem {}.holds(&customs, now));
        assert!(Condition::AddressProblem {}.holds(&shipment(&["Exception_007"], now), now));
        assert!(Condition::LostOrDamaged {}.holds(&shipment(&["Exception_012"], now), now));
        assert!(Condition::ReturnedToSender {}.holds(&shipment(&["Exception_011"], now), now));
        let mut late = shipment(&["InTransit_002"], now - Duration::days(10));
        late.details.order_promised_delivery_date = Some(crate::domain::PromisedDeliveryDate {
            promised_delivery_date: Some((now - Duration::days(3)).date_naive().format("%Y-%m-%d").to_string()),
            ..Default::default()
        });
        assert!(Condition::PastDue { days: 2 }.holds(&late, now));
        assert!(!Condition::PastDue { days: 3 }.holds(&late, now), "exactly 3 days late is not more than 3");

        // Slower than 9 in 10 of its lane's parcels: only once the day after its lane's p90
        // begins, and only with a lane p90 (enough history of the lane).
        let mut slow = shipment(&["InTransit_002"], now - Duration::days(9));
        let p90 = (now - Duration::days(2)).date_naive();
        let estimate = crate::domain::edd::DeliveryEstimate {
            source: crate::domain::edd::EddSource::Predicted,
            date: p90,
            earliest: p90,
            latest: p90,
            confidence_code: Some(10001),
            lane_p90: Some(p90),
        };
        slow.edd = Some(crate::domain::edd::ShipmentEdd::starting(estimate));
        assert!(Condition::BeyondLaneP90 {}.holds(&slow, now));
        assert!(
            !Condition::BeyondLaneP90 {}.holds(&slow, now - Duration::days(2)),
            "on its p90 day it is not late yet"
        );
        slow.edd.as_mut().expect("estimate").latest.lane_p90 = None;
        assert!(!Condition::BeyondLaneP90 {}.holds(&slow, now), "no lane history, no rule");
    }

    #[test]
    fn rules_are_checked_with_the_field_named() {
        let mut rule = ExceptionRules::defaults().rules.remove(0);
        rule.condition = Condition::FailedAttempts { at_least: 0 };
        assert_eq!(rule.validate().expect_err("zero").field, "condition.at_least");
        rule.condition = Condition::SubtagIn { subtags: vec![] };
        assert_eq!(rule.validate().expect_err("empty").field, "condition.subtags");
        rule.condition = Condition::ReturnedToSender {};
        rule.name = " ".into();
        assert_eq!(rule.validate().expect_err("blank").field, "name");
        let parsed: Result<Condition, _> = serde_json::from_str(r#"{"type": "no_update", "days": 3, "colour": 1}"#);
        assert!(parsed.is_err(), "unknown fields are refused");
        let parsed: Condition =
            serde_json::from_str(r#"{"type": "subtag_in", "subtags": ["Exception_004"]}"#).expect("ok");
        assert_eq!(parsed, Condition::SubtagIn { subtags: vec![Subtag::parse("Exception_004").expect("code")] });
    }

    #[test]
    fn a_condition_refuses_fields_its_type_does_not_take() {
        let read = |json: &str| serde_json::from_str::<Condition>(json);
        assert_eq!(read(r#"{"type": "customs_hold"}"#).expect("reads"), Condition::CustomsHold {});
        assert!(read(r#"{"type": "customs_hold", "days": 3}"#).is_err(), "days belongs to other types");
        assert!(read(r#"{"type": "past_due", "days": 2, "tags": []}"#).is_err());
        assert_eq!(serde_json::to_string(&Condition::LostOrDamaged {}).expect("json"), r#"{"type":"lost_or_damaged"}"#);
    }

    #[test]
    fn facts_change_with_news_only() {
        let now = Utc::now();
        let before = shipment(&["InTransit_002", "AttemptFail_001"], now);
        let same = before.clone();
        assert_eq!(facts_of(&before), facts_of(&same));
        let after = shipment(&["InTransit_002", "AttemptFail_001", "AttemptFail_002"], now);
        assert_ne!(facts_of(&before), facts_of(&after));
    }
}
