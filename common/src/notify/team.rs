//! The email to a merchant's team when exception cases open for a shipment: which rules, how
//! bad, why, and where the parcel stands, in the same branded layout as shoppers' emails. In
//! English: it is for the merchant's staff, whose console is English too.

use chrono::{DateTime, Utc};
use minijinja::context;

use super::Message;
use crate::couriers;
use crate::domain::{Language, Shipment, TrackingPage};
use crate::ports::ExceptionCase;
use crate::web::Catalog;

/// Writes the alert about `cases` (the shipment's open cases, newest first) for `shipment`,
/// linking its tracking page at `tracking_url`.
pub fn compose_team_alert(
    shipment: &Shipment,
    cases: &[ExceptionCase],
    page: &TrackingPage,
    tracking_url: &str,
    now: DateTime<Utc>,
) -> Result<Message, minijinja::Error> {
    let catalog = Catalog::of(Language::En);
    let number = shipment.tracking_number.as_str();
    let first = cases.first().map_or("Exception", |c| c.rule_name.as_str());
    let subject = match cases.len() {
        0 | 1 => format!("Exception: {first} ({number})"),
        n => format!("{n} exceptions: {first} and more ({number})"),
    };
    let body = cases
        .iter()
        .map(|c| format!("{} ({}): {}. Case {}.", c.rule_name, c.severity.as_str(), c.reason, c.id))
        .collect::<Vec<_>>()
        .join(" ");
    let order = shipment.details.order_number.as_deref().unwrap_or(number);
    let carrier = couriers::find(shipment.slug.as_str()).map_or(shipment.slug.as_str(), |c| c.name);
    let latest = shipment.checkpoints.last().map(|c| {
        let when = catalog.relative(c.checkpoint_time.instant().min(now), now);
        format!("{} ({when})", catalog.subtag(c.subtag.code()))
    });
    let context = context! {
        headline => format!("A parcel needs attention: {number}"),
        body => body,
        order_label => format!("Order {order}"),
        title => &shipment.details.title,
        carrier_label => "Carrier",
        carrier => carrier,
        tracking_number => number,
        latest_label => "Latest update",
        latest => latest,
        track_button => "Open the tracking page",
        tracking_url => tracking_url,
        why => format!(
            "You get this because an exception rule of {} names this address. Work the case in the \
             exception queue (GET /porchlight/v1/exceptions).",
            page.brand_name
        ),
        ..super::team_frame(page, &subject)
    };
    super::email_only(Language::En, subject, context)
}
