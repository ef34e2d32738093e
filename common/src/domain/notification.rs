//! A merchant's notification rules: which status changes tell whom, by which channel, when,
//! and for which part of the traffic.

use serde::{Deserialize, Serialize};

use super::{CountryCode, DomainError, Language, Shipment, Slug, Tag};

/// Most rules a merchant keeps.
pub const MAX_RULES: usize = 50;
/// Longest delay before a message goes, in minutes (a week).
const MAX_DELAY_MINUTES: u32 = 7 * 24 * 60;

/// What makes a message go: a status reached (AfterShip's notification triggers), no news
/// for a number of days (AfterShip's `tracking_pending_time`), or the estimated delivery date
/// revised later or missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The carrier has the shipment's data.
    InfoReceived,
    /// The parcel is moving.
    InTransit,
    /// On the vehicle for delivery.
    OutForDelivery,
    /// Waiting at a pickup point.
    AvailableForPickup,
    /// Delivered.
    Delivered,
    /// A delivery attempt failed.
    FailedAttempt,
    /// An exception (customs, address, damage, return...).
    Exception,
    /// No new checkpoint for the rule's `no_update_days`.
    NoUpdate,
    /// The estimated delivery date moved later than the shopper was told.
    EddRevised,
    /// The estimated delivery range's last day passed with the parcel not delivered.
    EddMissed,
    /// An exception case opened: the email to the merchant's team (exception rules'
    /// `notify_team`; never a notification rule's trigger, which is why it cannot be read from
    /// a request).
    #[serde(skip_deserializing)]
    TeamAlert,
    /// A return was asked for: the shopper's confirmation with the RMA number (not a
    /// notification rule's trigger; for these three the ledger's shipment id is the return's).
    #[serde(skip_deserializing)]
    ReturnSubmitted,
    /// A return was approved: what the shopper does next.
    #[serde(skip_deserializing)]
    ReturnApproved,
    /// A return was rejected, and why.
    #[serde(skip_deserializing)]
    ReturnRejected,
    /// The weekly report is ready: the email to the merchant's team with its link (the
    /// ledger's shipment id encodes the report's week, see `app::reports`).
    #[serde(skip_deserializing)]
    ReportReady,
    /// A team member's invitation to the console (the ledger's shipment id is a random id of
    /// the invitation; the recipient names the member).
    #[serde(skip_deserializing)]
    MemberInvited,
    /// A team member's password reset link.
    #[serde(skip_deserializing)]
    PasswordReset,
    /// A team member's sign-in was locked after failed attempts.
    #[serde(skip_deserializing)]
    SignInLocked,
}

impl Trigger {
    /// Every trigger, in the order of a parcel's life.
    pub const ALL: [Trigger; 10] = [
        Trigger::InfoReceived,
        Trigger::InTransit,
        Trigger::OutForDelivery,
        Trigger::AvailableForPickup,
        Trigger::Delivered,
        Trigger::FailedAttempt,
        Trigger::Exception,
        Trigger::NoUpdate,
        Trigger::EddRevised,
        Trigger::EddMissed,
    ];

    /// The trigger a status fires, if any (`Pending` and `Expired` fire none).
    pub fn for_tag(tag: Tag) -> Option<Trigger> {
        match tag {
            Tag::InfoReceived => Some(Trigger::InfoReceived),
            Tag::InTransit => Some(Trigger::InTransit),
            Tag::OutForDelivery => Some(Trigger::OutForDelivery),
            Tag::AvailableForPickup => Some(Trigger::AvailableForPickup),
            Tag::Delivered => Some(Trigger::Delivered),
            Tag::AttemptFail => Some(Trigger::FailedAttempt),
            Tag::Exception => Some(Trigger::Exception),
            Tag::Pending | Tag::Expired => None,
        }
    }

    /// The wire name, e.g. `out_for_delivery`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::InfoReceived => "info_received",
            Trigger::InTransit => "in_transit",
            Trigger::OutForDelivery => "out_for_delivery",
            Trigger::AvailableForPickup => "available_for_pickup",
            Trigger::Delivered => "delivered",
            Trigger::FailedAttempt => "failed_attempt",
            Trigger::Exception => "exception",
            Trigger::NoUpdate => "no_update",
            Trigger::EddRevised => "edd_revised",
            Trigger::EddMissed => "edd_missed",
            Trigger::TeamAlert => "team_alert",
            Trigger::ReturnSubmitted => "return_submitted",
            Trigger::ReturnApproved => "return_approved",
            Trigger::ReturnRejected => "return_rejected",
            Trigger::ReportReady => "report_ready",
            Trigger::MemberInvited => "member_invited",
            Trigger::PasswordReset => "password_reset",
            Trigger::SignInLocked => "sign_in_locked",
        }
    }

    /// Reads [`Trigger::as_str`]'s spelling of a shopper's trigger (one of [`Trigger::ALL`]).
    pub fn parse(text: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Reads any trigger a stored message may carry: a shopper's, [`Trigger::TeamAlert`], or a
    /// return's.
    pub fn parse_stored(text: &str) -> Option<Trigger> {
        Trigger::parse(text).or_else(|| {
            [
                Trigger::TeamAlert,
                Trigger::ReturnSubmitted,
                Trigger::ReturnApproved,
                Trigger::ReturnRejected,
                Trigger::ReportReady,
                Trigger::MemberInvited,
                Trigger::PasswordReset,
                Trigger::SignInLocked,
            ]
            .into_iter()
            .find(|t| t.as_str() == text)
        })
    }

    /// Whether its message goes to the merchant's team rather than a shopper (notification
    /// reach counts the shoppers').
    pub fn is_for_team(self) -> bool {
        matches!(self, Trigger::TeamAlert | Trigger::ReportReady) || self.is_access()
    }

    /// Whether it is a console access email (invitation, reset, lockout).
    pub fn is_access(self) -> bool {
        matches!(self, Trigger::MemberInvited | Trigger::PasswordReset | Trigger::SignInLocked)
    }

    /// Whether it is a return's message (its ledger entry names the return, not a shipment).
    pub fn is_return(self) -> bool {
        matches!(self, Trigger::ReturnSubmitted | Trigger::ReturnApproved | Trigger::ReturnRejected)
    }
}

/// How a message reaches a shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email (HTML and plain text).
    Email,
    /// SMS.
    Sms,
}

impl Channel {
    /// The wire and stored spelling: `email`, `sms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// Reads [`Channel::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<Channel> {
        [Channel::Email, Channel::Sms].into_iter().find(|c| c.as_str() == text)
    }
}

/// Hours in which no message is sent (it waits for their end), in the recipient's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM` (24-hour clock).
    pub start: String,
    /// End, `HH:MM`; before `start` means the next morning.
    pub end: String,
    /// An IANA time zone (`Europe/Berlin`); absent means the shipment's destination's.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The part of the traffic a rule applies to: every shipment when all lists are empty; values
/// within a list are alternatives, lists combine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    /// Couriers of the first or last leg.
    pub slugs: Vec<Slug>,
    /// Destination countries.
    pub destination_countries: Vec<CountryCode>,
    /// The shipment's tags (AfterShip's `shipment_tags`: a store's order tags or channel).
    pub shipment_tags: Vec<String>,
}

impl Scope {
    /// Whether `shipment` is in scope.
    pub fn contains(&self, shipment: &Shipment) -> bool {
        let slug_ok = self.slugs.is_empty()
            || self.slugs.contains(&shipment.slug)
            || shipment.last_mile.as_ref().is_some_and(|leg| self.slugs.contains(&leg.slug));
        let destination_ok = self.destination_countries.is_empty()
            || shipment
                .details
                .destination_country_region
                .as_ref()
                .is_some_and(|c| self.destination_countries.contains(c));
        let tags_ok = self.shipment_tags.is_empty()
            || shipment.details.shipment_tags.iter().any(|t| self.shipment_tags.contains(t));
        slug_ok && destination_ok && tags_ok
    }
}

/// One rule: a trigger, the channels it uses, and when and for whom it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRule {
    /// The rule's id within the merchant (`nr_<hex>`).
    pub id: String,
    /// Off rules are kept but send nothing.
    pub enabled: bool,
    /// What fires it.
    pub trigger: Trigger,
    /// Days without a new checkpoint, for [`Trigger::NoUpdate`] only (1 to 60).
    pub no_update_days: Option<u32>,
    /// Email, SMS or both; at least one.
    pub channels: Vec<Channel>,
    /// Minutes to wait after the trigger before sending (0 to a week).
    pub delay_minutes: u32,
    /// No message in these hours; it waits for their end.
    pub quiet_hours: Option<QuietHours>,
    /// The languages messages go in (the recipient's when offered, else the first); empty
    /// means every language Porchlight writes.
    pub languages: Vec<Language>,
    /// Which shipments it applies to.
    pub scope: Scope,
}

impl NotificationRule {
    /// A rule with `id` that sends `trigger` by `channels` at once, for every shipment.
    pub fn new(id: impl Into<String>, trigger: Trigger, channels: Vec<Channel>) -> Self {
        NotificationRule {
            id: id.into(),
            enabled: true,
            trigger,
            no_update_days: (trigger == Trigger::NoUpdate).then_some(7),
            channels,
            delay_minutes: 0,
            quiet_hours: None,
            languages: Vec::new(),
            scope: Scope::default(),
        }
    }

    /// Every field's rules; errors name the field as the API writes it (`quiet_hours.start`).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.channels.is_empty() {
            return Err(DomainError::invalid("channels", "must name at least one of email, sms"));
        }
        match (self.trigger, self.no_update_days) {
            (Trigger::NoUpdate, Some(days)) if (1..=60).contains(&days) => {}
            (Trigger::NoUpdate, _) => {
                return Err(DomainError::invalid("no_update_days", "must be 1 to 60 for no_update"));
            }
            (_, Some(_)) => {
                return Err(DomainError::invalid("no_update_days", "applies to the no_update trigger only"));
            }
            (_, None) => {}
        }
        if self.delay_minutes > MAX_DELAY_MINUTES {
            return Err(DomainError::invalid("delay_minutes", format!("must be at most {MAX_DELAY_MINUTES} (a week)")));
        }
        if let Some(quiet) = &self.quiet_hours {
            clock_time("quiet_hours.start", &quiet.start)?;
            clock_time("quiet_hours.end", &quiet.end)?;
            if quiet.start == quiet.end {
                return Err(DomainError::invalid("quiet_hours.end", "must differ from start"));
            }
            if let Some(zone) = &quiet.time_zone {
                time_zone_name(zone)?;
            }
        }
        if self.scope.shipment_tags.iter().any(|t| t.is_empty() || t.chars().count() > 100)
            || self.scope.shipment_tags.len() > 50
        {
            return Err(DomainError::invalid("scope.shipment_tags", "must be at most 50 tags of 1 to 100 characters"));
        }
        Ok(())
    }

    /// Whether this rule sends for `shipment` reaching `trigger`.
    pub fn applies(&self, trigger: Trigger, shipment: &Shipment) -> bool {
        self.enabled && self.trigger == trigger && self.scope.contains(shipment)
    }
}

/// `HH:MM` on a 24-hour clock.
fn clock_time(field: &str, text: &str) -> Result<(), DomainError> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .ok()
        .filter(|_| text.len() == 5)
        .map(|_| ())
        .ok_or_else(|| DomainError::invalid(field, "must be a time written HH:MM, such as 21:30"))
}

/// A zone of the IANA database (`Europe/Berlin`, `America/Argentina/Buenos_Aires`, `UTC`).
fn time_zone_name(zone: &str) -> Result<(), DomainError> {
    if super::is_time_zone(zone) {
        Ok(())
    } else {
        Err(DomainError::invalid("quiet_hours.time_zone", "must be an IANA time zone such as Europe/Berlin"))
    }
}

/// A merchant's rules, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRules {
    /// The rules.
    pub rules: Vec<NotificationRule>,
}

impl NotificationRules {
    /// What a new merchant starts with: an email, sent at once with no quiet hours, when a
    /// parcel is in transit, out for delivery, delivered, after a failed attempt and on an
    /// exception; no SMS.
    pub fn defaults() -> Self {
        let triggers = [
            Trigger::InTransit,
            Trigger::OutForDelivery,
            Trigger::Delivered,
            Trigger::FailedAttempt,
            Trigger::Exception,
        ];
        NotificationRules {
            rules: triggers
                .into_iter()
                .map(|t| NotificationRule::new(format!("nr_default_{}", t.as_str()), t, vec![Channel::Email]))
                .collect(),
        }
    }

    /// Every rule's checks, named by position (`rules[2].channels`), and at most [`MAX_RULES`]
    /// rules with distinct ids.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.rules.len() > MAX_RULES {
            return Err(DomainError::invalid("rules", format!("must be at most {MAX_RULES}")));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate().map_err(|e| DomainError::invalid(format!("rules[{i}].{}", e.field), e.reason))?;
            if self.rules[..i].iter().any(|r| r.id == rule.id) {
                return Err(DomainError::invalid(format!("rules[{i}].id"), "is used by another rule"));
            }
        }
        Ok(())
    }

    /// The enabled rules that send for `shipment` reaching `trigger`.
    pub fn matching<'a>(
        &'a self,
        trigger: Trigger,
        shipment: &'a Shipment,
    ) -> impl Iterator<Item = &'a NotificationRule> {
        self.rules.iter().filter(move |rule| rule.applies(trigger, shipment))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{ShipmentDetails, TenantId, TrackingNumber};

    fn shipment(slug: &str, destination: &str, tags: &[&str]) -> Shipment {
        let details = ShipmentDetails {
            destination_country_region: Some(CountryCode::parse(destination).expect("country")),
            shipment_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..ShipmentDetails::default()
        };
        let number = TrackingNumber::parse("1Z999AA10123456784").expect("number");
        Shipment::new(TenantId::random(), Slug::parse(slug).expect("slug"), number, details, Utc::now())
    }

    #[test]
    fn defaults_email_the_five_statuses_at_once_and_no_sms() {
        let defaults = NotificationRules::defaults();
        assert_eq!(defaults.validate(), Ok(()));
        let any = shipment("ups", "USA", &[]);
        let triggered: Vec<Trigger> =
            Trigger::ALL.into_iter().filter(|t| defaults.matching(*t, &any).next().is_some()).collect();
        let expected = [
            Trigger::InTransit,
            Trigger::OutForDelivery,
            Trigger::Delivered,
            Trigger::FailedAttempt,
            Trigger::Exception,
        ];
        assert_eq!(triggered, expected);
        assert!(
            defaults
                .rules
                .iter()
                .all(|r| r.channels == [Channel::Email] && r.delay_minutes == 0 && r.quiet_hours.is_none())
        );
        assert_eq!(Trigger::for_tag(Tag::AttemptFail), Some(Trigger::FailedAttempt));
        assert_eq!(Trigger::for_tag(Tag::Pending), None);
    }

    #[test]
    fn a_scope_trials_a_rule_on_part_of_the_traffic() {
        let mut rule = NotificationRule::new("nr_1", Trigger::Delivered, vec![Channel::Sms]);
        rule.scope = Scope {
            slugs: vec![Slug::parse("usps").expect("slug")],
            destination_countries: vec![CountryCode::parse("USA").expect("country")],
            shipment_tags: vec!["vip".into(), "wholesale".into()],
        };
        assert!(!rule.applies(Trigger::Delivered, &shipment("usps", "USA", &["retail"])), "tag");
        assert!(!rule.applies(Trigger::Delivered, &shipment("ups", "USA", &["vip"])), "carrier");
        assert!(!rule.applies(Trigger::Delivered, &shipment("usps", "CAN", &["vip"])), "destination");
        assert!(rule.applies(Trigger::Delivered, &shipment("usps", "USA", &["vip"])));
        assert!(!rule.applies(Trigger::InTransit, &shipment("usps", "USA", &["vip"])), "another trigger");
        rule.enabled = false;
        assert!(!rule.applies(Trigger::Delivered, &shipment("usps", "USA", &["vip"])), "off");
    }

    #[test]
    fn broken_rules_are_refused_naming_the_field() {
        type Breaks = Box<dyn Fn(&mut NotificationRule)>;
        let cases: Vec<(&str, Breaks)> = vec![
            ("rules[0].channels", Box::new(|r| r.channels.clear())),
            ("rules[0].no_update_days", Box::new(|r| r.no_update_days = Some(3))),
            ("rules[0].delay_minutes", Box::new(|r| r.delay_minutes = 20_000)),
            (
                "rules[0].quiet_hours.start",
                Box::new(|r| {
                    r.quiet_hours = Some(QuietHours { start: "25:00".into(), end: "07:00".into(), time_zone: None })
                }),
            ),
            (
                "rules[0].quiet_hours.time_zone",
                Box::new(|r| {
                    r.quiet_hours = Some(QuietHours {
                        start: "22:00".into(),
                        end: "07:00".into(),
                        time_zone: Some("Berlin".into()),
                    })
                }),
            ),
        ];
        for (field, breaks) in cases {
            let mut rules = NotificationRules {
                rules: vec![NotificationRule::new("nr_1", Trigger::Delivered, vec![Channel::Email])],
            };
            breaks(&mut rules.rules[0]);
            assert_eq!(rules.validate().map_err(|e| e.field), Err(field.to_owned()));
        }
        let mut pending = NotificationRule::new("nr_2", Trigger::NoUpdate, vec![Channel::Email]);
        assert_eq!(pending.validate(), Ok(()), "no_update defaults to 7 days");
        pending.no_update_days = None;
        assert_eq!(pending.validate().map_err(|e| e.field), Err("no_update_days".into()));
        let twice = NotificationRules {
            rules: vec![
                NotificationRule::new("nr_1", Trigger::Delivered, vec![Channel::Email]),
                NotificationRule::new("nr_1", Trigger::InTransit, vec![Channel::Email]),
            ],
        };
        assert_eq!(twice.validate().map_err(|e| e.field), Err("rules[1].id".into()));
    }
}
