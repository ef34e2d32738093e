//! The analytics answers as CSV: one table each, for spreadsheets.

use super::{
    CarrierHealth, CarrierScorecard, ExceptionsBreakdown, NotificationReach, Overview, Rate, ReturnReasons, Transit,
};
use crate::app::AppError;

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn bounds(rate: Option<&Rate>) -> [String; 2] {
    match rate {
        Some(rate) => [rate.interval[0].to_string(), rate.interval[1].to_string()],
        None => [String::new(), String::new()],
    }
}

fn write(rows: Vec<Vec<String>>) -> Result<Vec<u8>, AppError> {
    crate::app::csv_table(rows)
}

fn transit_cells(transit: &Transit) -> Vec<String> {
    vec![number(transit.p50), number(transit.p90), transit.samples.to_string()]
}

/// The overview as `metric,value` rows.
pub fn overview_csv(overview: &Overview) -> Result<Vec<u8>, AppError> {
    let mut rows = vec![vec!["metric".to_owned(), "value".to_owned()]];
    let mut add = |name: &str, value: String| rows.push(vec![name.to_owned(), value]);
    add("from", overview.from.clone());
    add("to", overview.to.clone());
    add("shipments", overview.shipments.to_string());
    add("delivered", overview.delivered.to_string());
    add("in_transit", overview.in_transit.to_string());
    add("exception_rate", number(overview.exception_rate.map(|r| r.value)));
    add("on_time_rate", number(overview.on_time_rate.map(|r| r.value)));
    add("transit_days_p50", number(overview.transit_days.p50));
    add("transit_days_p90", number(overview.transit_days.p90));
    add("order_to_delivery_days_p50", number(overview.order_to_delivery_days.p50));
    add("order_to_delivery_days_p90", number(overview.order_to_delivery_days.p90));
    for (status, count) in &overview.by_status {
        add(&format!("status_{status}"), count.to_string());
    }
    write(rows)
}

/// The scorecards, a row per lane.
pub fn carriers_csv(card: &CarrierScorecard) -> Result<Vec<u8>, AppError> {
    let header = [
        "slug",
        "origin_country_region",
        "destination_country_region",
        "service_type",
        "shipments",
        "delivered",
        "transit_days_p50",
        "transit_days_p90",
        "transit_samples",
        "on_time_rate",
        "on_time_rate_low",
        "on_time_rate_high",
        "exception_rate",
        "exception_rate_low",
        "exception_rate_high",
        "failed_attempt_rate",
    ];
    let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for lane in &card.lanes {
        let mut row = vec![
            lane.slug.clone(),
            lane.origin_country_region.clone().unwrap_or_default(),
            lane.destination_country_region.clone().unwrap_or_default(),
            lane.service_type.clone().unwrap_or_default(),
            lane.shipments.to_string(),
            lane.delivered.to_string(),
        ];
        row.extend(transit_cells(&lane.transit_days));
        row.push(number(lane.on_time_rate));
        row.extend(bounds(lane.on_time.as_ref()));
        row.push(number(lane.exception_rate));
        row.extend(bounds(lane.exceptions.as_ref()));
        row.push(number(lane.failed_attempt_rate));
        rows.push(row);
    }
    write(rows)
}

/// The exceptions, a row per kind.
pub fn exceptions_csv(breakdown: &ExceptionsBreakdown) -> Result<Vec<u8>, AppError> {
    let mut rows =
        vec![vec!["subtag".to_owned(), "subtag_message".to_owned(), "shipments".to_owned(), "rate".to_owned()]];
    for kind in &breakdown.kinds {
        rows.push(vec![
            kind.subtag.clone(),
            kind.subtag_message.clone(),
            kind.shipments.to_string(),
            number(kind.rate),
        ]);
    }
    write(rows)
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Notification reach, a row per channel and one for webhooks.
pub fn notifications_csv(reach: &NotificationReach) -> Result<Vec<u8>, AppError> {
    let mut rows = vec![header(&[
        "channel",
        "sent",
        "delivered",
        "bounced",
        "complained",
        "failed",
        "suppressed",
        "delivery_rate",
        "bounce_rate",
        "complaint_rate",
    ])];
    for channel in &reach.channels {
        let counts =
            [channel.sent, channel.delivered, channel.bounced, channel.complained, channel.failed, channel.suppressed];
        let mut row = vec![channel.channel.to_owned()];
        row.extend(counts.iter().map(i64::to_string));
        for share in [&channel.delivery_rate, &channel.bounce_rate, &channel.complaint_rate] {
            row.push(number(share.map(|r| r.value)));
        }
        rows.push(row);
    }
    let webhooks = &reach.webhooks;
    let mut row = vec!["webhook".to_owned(), (webhooks.delivered + webhooks.failed).to_string()];
    row.extend([
        webhooks.delivered.to_string(),
        String::new(),
        String::new(),
        webhooks.failed.to_string(),
        String::new(),
    ]);
    row.extend([number(webhooks.success_rate.map(|r| r.value)), String::new(), String::new()]);
    rows.push(row);
    write(rows)
}

/// Return reasons, a row per reason.
pub fn returns_csv(reasons: &ReturnReasons) -> Result<Vec<u8>, AppError> {
    let mut rows = vec![header(&["reason", "items", "share"])];
    for reason in &reasons.reasons {
        rows.push(vec![reason.reason.clone(), reason.items.to_string(), number(reason.share.map(|r| r.value))]);
    }
    write(rows)
}

/// Carrier health, a row per carrier and day.
pub fn carrier_health_csv(health: &CarrierHealth) -> Result<Vec<u8>, AppError> {
    let mut rows = vec![header(&["slug", "date", "events", "unmapped"])];
    for carrier in &health.carriers {
        for day in &carrier.days {
            rows.push(vec![carrier.slug.clone(), day.date.clone(), day.events.to_string(), day.unmapped.to_string()]);
        }
    }
    write(rows)
}
