//! Notifications to shoppers: the messages a trigger sends, written in the recipient's
//! language and branded with the merchant's page settings.
//!
//! This is the composing half of notifications: rules live in `app::notification_rules`,
//! planning and sending in `app::notifications`. [`compose_team_alert`] writes the email to a
//! merchant's team about exception cases.

mod access;
mod report;
mod returns;
mod sms;
mod team;
mod texts;

use chrono::{DateTime, Utc};
use minijinja::context;

pub use access::{AccessEmail, compose_access_email};
pub use report::compose_report_email;
pub use returns::compose_return_email;
pub use sms::{SmsEncoding, SmsSegments, fit_gsm7, sms_segments};
pub use team::compose_team_alert;
pub use texts::{Facts, MAX_TEXT, MerchantTexts, MessageTexts, VARIABLES, render_text};

use crate::couriers;
use crate::domain::{Language, Shipment, TrackingPage, Trigger};
use crate::web::{Catalog, Palette, render_document};

/// What a message needs besides the shipment: where its links go and to whom it is.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The shipment's tracking page (`aftership_tracking_url`).
    pub tracking_url: &'a str,
    /// The signed one-click unsubscribe link, when the channel has one.
    pub unsubscribe_url: Option<&'a str>,
    /// The recipient's name, for the greeting.
    pub recipient_name: Option<&'a str>,
}

/// One message in one language, for every channel: email subject, HTML and text, and SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The language it is written in (`Content-Language`).
    pub language: Language,
    /// The email's subject.
    pub subject: String,
    /// The email's HTML part.
    pub html: String,
    /// The email's plain-text part.
    pub text: String,
    /// The SMS.
    pub sms: String,
    /// How the SMS is sent and in how many segments.
    pub sms_segments: SmsSegments,
}

/// The branded frame of an email to a merchant's team: English, the merchant's name, logo and
/// colours, the greeting, and no unsubscribe link (the team's addresses are the merchant's
/// settings). Each email adds its own fields to it.
fn team_frame(page: &TrackingPage, subject: &str) -> minijinja::Value {
    let palette = Palette::of(page);
    context! {
        lang => "en",
        subject => subject,
        brand => &page.brand_name,
        logo_url => &page.logo_url,
        primary => &palette.primary,
        on_primary => palette.on_primary,
        greeting => "Hello team,",
        unsubscribe => "",
        unsubscribe_url => None::<&str>,
    }
}

/// An email without an SMS in `language`: the HTML and text layouts rendered with `context`.
fn email_only(language: Language, subject: String, context: minijinja::Value) -> Result<Message, minijinja::Error> {
    let html = render_document("email.html", context.clone())?;
    let text = render_document("email.txt", context)?;
    Ok(Message { language, subject, html, text, sms: String::new(), sms_segments: sms_segments("") })
}

/// The language a recipient reads: theirs when the merchant offers it, else the tracking's,
/// else the merchant's default.
pub fn message_language(page: &TrackingPage, recipient: Option<&str>, shipment: &Shipment) -> Language {
    let offered = |tag: Option<&str>| tag.and_then(Language::matching).filter(|l| page.languages.contains(l));
    offered(recipient).or_else(|| offered(shipment.details.language.as_deref())).unwrap_or(page.default_language)
}

/// Writes the message `trigger` sends about `shipment` in `language`, as of `now`, in the
/// merchant's own wording (`own`) where it has one.
pub fn compose(
    trigger: Trigger,
    shipment: &Shipment,
    page: &TrackingPage,
    envelope: &Envelope<'_>,
    language: Language,
    now: DateTime<Utc>,
    own: Option<&MessageTexts>,
) -> Result<Message, minijinja::Error> {
    let catalog = Catalog::of(language);
    let order = shipment.details.order_number.as_deref().unwrap_or(shipment.tracking_number.as_str());
    // The date a missed estimate promised is its range's last day; otherwise its single date.
    let edd_date = shipment
        .edd
        .as_ref()
        .map(|edd| catalog.date(if trigger == Trigger::EddMissed { edd.latest.latest } else { edd.latest.date }));
    let fill = |text: &str| {
        let values = [
            ("order", order),
            ("brand", &page.brand_name),
            ("url", envelope.tracking_url),
            ("date", edd_date.as_deref().unwrap_or("")),
        ];
        crate::web::fill(text, &values)
    };
    let carrier = (!page.hide_carrier)
        .then(|| couriers::find(shipment.slug.as_str()).map_or(shipment.slug.as_str(), |c| c.name).to_owned());
    let facts = Facts {
        brand: &page.brand_name,
        name: envelope.recipient_name,
        order,
        title: shipment.details.title.as_deref(),
        tracking_number: shipment.tracking_number.as_str(),
        carrier: carrier.as_deref(),
        tracking_url: envelope.tracking_url,
        estimated_delivery_date: edd_date.as_deref(),
    };
    // The merchant's wording of `field`, else the built-in text, filled.
    let text = |field: &str| -> String {
        let template = own.and_then(|own| own.fields().find(|(name, _)| *name == field).map(|(_, t)| t));
        match template.map(|t| render_text(t, &facts)) {
            Some(Ok(text)) => text,
            Some(Err(error)) => {
                // Checked when saved; a failure here is a fault: the built-in text goes out.
                tracing::warn!(field, error = %error, "merchant's notification text failed");
                fill(catalog.notify_trigger(trigger, field))
            }
            None => fill(catalog.notify_trigger(trigger, field)),
        }
    };
    let subject = text("subject");
    let greeting = match envelope.recipient_name.filter(|n| !n.trim().is_empty()) {
        Some(name) => crate::web::fill(catalog.notify("greeting"), &[("name", name)]),
        None => catalog.notify("greeting_anonymous").to_owned(),
    };
    let latest = shipment.checkpoints.last().map(|c| {
        let when = catalog.relative(c.checkpoint_time.instant().min(now), now);
        format!("{} ({when})", catalog.subtag(c.subtag.code()))
    });
    let palette = Palette::of(page);
    let context = context! {
        lang => language.code(),
        subject => &subject,
        brand => &page.brand_name,
        logo_url => &page.logo_url,
        primary => &palette.primary,
        on_primary => palette.on_primary,
        greeting => greeting,
        headline => text("headline"),
        body => text("body"),
        order_label => crate::web::fill(catalog.notify("order_label"), &[("order", order)]),
        title => &shipment.details.title,
        carrier_label => catalog.notify("carrier"),
        carrier => &carrier,
        tracking_number => shipment.tracking_number.as_str(),
        latest_label => catalog.notify("latest_update"),
        latest => latest,
        track_button => catalog.notify("track_button"),
        tracking_url => envelope.tracking_url,
        why => crate::web::fill(catalog.notify("why"), &[("brand", &page.brand_name)]),
        unsubscribe => catalog.notify("unsubscribe"),
        unsubscribe_url => envelope.unsubscribe_url,
    };
    let sms = fit_gsm7(&text("sms"));
    let html = render_document("email.html", context.clone())?;
    let text = render_document("email.txt", context)?;
    let sms_segments = sms_segments(&sms);
    Ok(Message { language, subject, html, text, sms, sms_segments })
}

#[cfg(test)]
mod tests;
