//! Domain types and rules: shipments, checkpoints, statuses and how a timeline is merged.
//!
//! Pure code: no I/O, no clocks (callers pass `now`), no storage or wire formats beyond the serde
//! derives used to persist values.

use serde::{Deserialize, Deserializer};

pub mod analytics;
mod checkpoint;
mod country;
pub mod edd;
mod exception;
mod ids;
pub mod imports;
mod language;
mod money;
mod notification;
mod order;
mod page;
mod poll;
mod quiet;
mod recipients;
mod reports;
mod returns;
mod shipment;
mod status;
mod team;
mod tracking_source;
mod webhook;

pub use checkpoint::{Checkpoint, CheckpointHash, CheckpointInput, CheckpointSource, EventTime, written_date};
pub use country::{CountryCode, is_alpha2};
pub use exception::{
    Actions, CaseState, Condition, ExceptionRule, ExceptionRules, MAX_EXCEPTION_RULES, MAX_NOTES, Note, Severity,
    facts_of,
};
pub use ids::{ShipmentId, Slug, TenantId, TrackingNumber};
pub use language::Language;
pub use money::{Money, currency_exponent, is_currency};
pub use notification::{Channel, MAX_RULES, NotificationRule, NotificationRules, QuietHours, Scope, Trigger};
pub use order::{MAX_ITEMS, Order, OrderCustomer, OrderItem, ShippingAddress, Store};
pub use page::{Banner, NavLink, Recommendation, TrackingPage, https_url, slug_from_name, validate_slug};
pub use poll::{PollOutcome, PollPolicy, seconds_between, ticks_between};
pub use quiet::{after_quiet_hours, country_zone, is_time_zone, recipient_zone};
pub use recipients::{Contact, MAX_SUBSCRIPTIONS, Subscriptions, e164, language_tag};
pub use reports::{MAX_RECIPIENTS, ReportSettings};
pub use returns::{
    ApprovalStatus, AutoRule, Decision, ExchangeVariant, FINAL_SALE_TAG, FiledBy, Grading, Judgement, LineEligibility,
    MethodFee, NotAllowed, Outcome, Reason, ReceiveRefused, ReceivedItem, Receiving, RefundDestination, Refusal,
    RequestedItem, Resolution, Return, ReturnAction, ReturnItem, ReturnMethod, ReturnPolicy, ReturnRequest,
    ReturnShipment, ShippingStatus, Violation, WindowStart, eligibility, judge, rma_number, transition,
};
pub use shipment::{
    CompletionReason, Customer, DeliveryType, EXPIRY_DAYS, Leg, LegSource, MergeOutcome, PromisedDeliveryDate,
    Shipment, ShipmentDetails, ShipmentDirection,
};
pub use status::{SUBTAGS, Subtag, SubtagInfo, Tag};
pub use team::{
    Action, LOCKOUT_FAILURES, LOCKOUT_MINUTES, MAX_PASSWORD_CHARS, Member, Role, check_password, member_email,
    member_name,
};
pub use tracking_source::TrackingSource;
pub use webhook::{
    ALLOWED_PORTS, MAX_ATTEMPTS as MAX_WEBHOOK_ATTEMPTS, MAX_ENDPOINTS, RETURNS_SIGNATURE_HEADER, SIGNATURE_HEADER,
    TargetPolicy, VERSION_HEADER, WebhookEvent, is_forbidden_address, retry_delay, sign_webhook, validate_target,
    with_jitter,
};

/// A value that does not satisfy the domain's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is invalid: {reason}")]
pub struct DomainError {
    /// The field, named as on the wire (`tracking_number`, `origin_country_region`, ...).
    pub field: String,
    /// What is wrong with it, lowercase, without a trailing period.
    pub reason: String,
}

impl DomainError {
    /// An invalid `field` for `reason`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError { field: field.into(), reason: reason.into() }
    }
}

/// Whether `text` is shaped like an email address (one `@`, a dotted domain, no spaces).
pub fn is_email(text: &str) -> bool {
    text.len() <= 254
        && !text.chars().any(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

/// For `Option<Option<T>>` fields of a partial update: absent is `None` (keep), `null` is
/// `Some(None)` (clear), a value is `Some(Some(value))`. Use with `#[serde(default)]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
