//! The email that brings a merchant's team its weekly report: the week's headline figures and
//! the link, in the same branded layout as shoppers' emails. In English, like the team's other
//! emails.

use minijinja::context;

use super::Message;
use crate::domain::{Language, TrackingPage};

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
    let context = context! {
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
        ..super::team_frame(page, &subject)
    };
    super::email_only(Language::En, subject, context)
}
