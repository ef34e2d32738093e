//! The email that brings a merchant's team its weekly report: the week's headline figures and
//! the link, in the same branded layout as shoppers' emails. In English, like the team's other
//! emails.

use minijinja::context;

use super::{Message, sms_segments};
use crate::domain::{Language, TrackingPage};
use crate::web::{Palette, render_document};

/// Writes the email for the report over `from`..=`to` (dates as `YYYY-MM-DD`) with its
/// headline `figures` (label, value), linking the report at `link`.
pub fn compose_report_email(
    page: &TrackingPage,
    from: &str,
    to: &str,
    figures: &[(&str, String)],
    link: &str,
) -> Result<Message, minijinja::Error> {
    let subject = format!("Your delivery report, {from} to {to}");
    let body = figures.iter().map(|(label, value)| format!("{label}: {value}.")).collect::<Vec<_>>().join(" ");
    let palette = Palette::of(page);
    let context = context! {
        lang => "en",
        subject => &subject,
        brand => &page.brand_name,
        logo_url => &page.logo_url,
        primary => &palette.primary,
        on_primary => palette.on_primary,
        greeting => "Hello team,",
        headline => format!("Last week in numbers: {from} to {to}"),
        body => body,
        order_label => "",
        title => None::<&str>,
        carrier_label => "",
        carrier => None::<&str>,
        tracking_number => "",
        latest_label => "",
        latest => None::<&str>,
        track_button => "Open the report",
        tracking_url => link,
        why => format!(
            "You get this because {}'s report settings name this address (PUT \
             /porchlight/v1/report-settings). The link works for 30 days; the charts' numbers \
             are in the CSVs beside the report.",
            page.brand_name
        ),
        unsubscribe => "",
        unsubscribe_url => None::<&str>,
    };
    let html = render_document("email.html", context.clone())?;
    let text = render_document("email.txt", context)?;
    Ok(Message { language: Language::En, subject, html, text, sms: String::new(), sms_segments: sms_segments("") })
}
