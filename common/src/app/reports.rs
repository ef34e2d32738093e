//! Reports: a merchant's numbers over a range of days as one HTML page with charts (SVG drawn
//! on the server, no script) and the CSVs behind it, kept in the blob store under
//! `reports/<tenant>/<from>_<to>/`, and reached with the API key or a sealed link that expires.

mod weekly;

pub use weekly::{WeeklyRun, ledger_id, range_of_ledger_id, report_settings, run_weekly, set_report_settings};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::analytics::{self, DayRange, LaneFilter};
use super::{AppError, Deps};
use crate::domain::TenantId;
use crate::web::charts::{Bar, BarChart};

/// The files of a report, with their content types; the page links to the CSVs by name.
pub const FILES: [(&str, &str); 7] = [
    ("report.html", "text/html; charset=utf-8"),
    ("overview.csv", "text/csv; charset=utf-8"),
    ("carriers.csv", "text/csv; charset=utf-8"),
    ("exceptions.csv", "text/csv; charset=utf-8"),
    ("notifications.csv", "text/csv; charset=utf-8"),
    ("returns.csv", "text/csv; charset=utf-8"),
    ("carrier-health.csv", "text/csv; charset=utf-8"),
];

/// The `Content-Security-Policy` a report is served with: its own inline style, no script,
/// nothing fetched.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How long a report's sealed link works.
pub const LINK_DAYS: i64 = 30;

/// Lanes a chart shows (the busiest); the table and the CSVs have them all.
const CHART_LANES: usize = 12;

/// A report built: its id (`<from>_<to>`), range and files.
#[derive(Debug, Clone)]
pub struct Report {
    /// `YYYY-MM-DD_YYYY-MM-DD`.
    pub id: String,
    /// The days it covers.
    pub range: DayRange,
    /// Its files, in [`FILES`]' order: name and bytes.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// The id of the report of `range`.
pub fn report_id(range: DayRange) -> String {
    format!("{}_{}", range.from, range.to)
}

/// The range a report id names; `None` for anything else (ids become blob keys).
pub fn parse_report_id(id: &str) -> Option<DayRange> {
    let (from, to) = id.split_once('_')?;
    let day = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().filter(|d| d.to_string() == raw);
    let range = DayRange { from: day(from)?, to: day(to)? };
    (range.from <= range.to).then_some(range)
}

/// The week before the one `today` is in (Monday to Sunday): what the weekly report covers.
pub fn last_week(today: NaiveDate) -> DayRange {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    DayRange { from: monday - Days::new(7), to: monday - Days::new(1) }
}

fn blob_key(tenant: &TenantId, id: &str, name: &str) -> String {
    format!("reports/{}/{id}/{name}", tenant.as_str())
}

fn label(card: &analytics::LaneCard) -> String {
    let place = |c: &Option<String>| c.clone().unwrap_or_else(|| "?".into());
    format!("{} {}→{}", card.slug, place(&card.origin_country_region), place(&card.destination_country_region))
}

fn share(rate: Option<&analytics::Rate>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r.value * 100.0))
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |d| format!("{d:.1} d"))
}

/// The overview's headline figures, as (label, value) written out.
pub(crate) fn figures(overview: &analytics::Overview) -> Vec<(&'static str, String)> {
    vec![
        ("Shipments", overview.shipments.to_string()),
        ("Delivered", overview.delivered.to_string()),
        ("On the way", overview.in_transit.to_string()),
        ("With an exception", share(overview.exception_rate.as_ref())),
        ("On time", share(overview.on_time_rate.as_ref())),
        ("Pickup to delivery, median", days(overview.transit_days.p50)),
        ("Pickup to delivery, 90th percentile", days(overview.transit_days.p90)),
        ("Order to delivery, median", days(overview.order_to_delivery_days.p50)),
    ]
}

/// Notification reach as the report's table: a row per channel and one for webhooks.
fn reach_table(reach: &analytics::NotificationReach) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = reach
        .channels
        .iter()
        .map(|c| {
            let channel = if c.channel == "sms" { "SMS" } else { "Email" };
            vec![
                channel.to_owned(),
                c.sent.to_string(),
                share(c.delivery_rate.as_ref()),
                c.bounced.to_string(),
                c.complained.to_string(),
                c.failed.to_string(),
            ]
        })
        .collect();
    let webhooks = &reach.webhooks;
    rows.push(vec![
        "Webhooks".to_owned(),
        (webhooks.delivered + webhooks.failed).to_string(),
        share(webhooks.success_rate.as_ref()),
        "–".to_owned(),
        "–".to_owned(),
        webhooks.failed.to_string(),
    ]);
    rows
}

/// Carrier health as the report's table: a row per carrier.
fn health_table(health: &analytics::CarrierHealth) -> Vec<Vec<String>> {
    let row = |c: &analytics::CarrierHealthCard| {
        vec![c.slug.clone(), c.events.to_string(), c.unmapped.to_string(), share(c.unmapped_rate.as_ref())]
    };
    health.carriers.iter().map(row).collect()
}

/// A lane's row of the report's table, written out.
fn lane_row(card: &analytics::LaneCard) -> Vec<String> {
    vec![
        label(card),
        card.shipments.to_string(),
        card.delivered.to_string(),
        days(card.transit_days.p50),
        days(card.transit_days.p90),
        share(card.on_time.as_ref()),
        share(card.exceptions.as_ref()),
    ]
}

/// A bar's value and the one drawn behind it, if any.
type BarValue = (f64, Option<f64>);

/// What a report shows over `range` for the lanes `filter` admits: the figures, charts, lane
/// table, notification reach and carrier health as the `report_sections.html` template reads
/// them (charts in `color`), and the CSV files of the same numbers.
pub async fn report_sections(
    deps: &Deps,
    tenant: &TenantId,
    range: DayRange,
    filter: &LaneFilter,
    color: &str,
) -> Result<(minijinja::Value, Vec<(&'static str, Vec<u8>)>), AppError> {
    let overview = analytics::overview(deps, tenant, range, filter).await?;
    let carriers = analytics::carrier_scorecard(deps, tenant, range, filter, false).await?;
    let exceptions = analytics::exceptions_breakdown(deps, tenant, range, filter).await?;
    let reach = analytics::notification_reach(deps, tenant, range).await?;
    let reasons = analytics::return_reasons(deps, tenant, range).await?;
    let health = analytics::carrier_health(deps, tenant, range, &filter.slugs).await?;
    let busiest = &carriers.lanes[..carriers.lanes.len().min(CHART_LANES)];
    let chart = |title, unit, decimals, bars: Vec<Bar>| {
        let empty = bars.is_empty();
        (title, empty, BarChart { title, unit, decimals, bars, color }.svg())
    };
    // A lane without the value (no delivery yet, nothing promised) has no bar.
    let bars = |value: &dyn Fn(&analytics::LaneCard) -> Option<BarValue>| -> Vec<Bar> {
        busiest
            .iter()
            .filter_map(|card| {
                let (value, behind) = value(card)?;
                Some(Bar { label: label(card), value, behind })
            })
            .collect()
    };
    let percent = |rate: Option<f64>| rate.map(|r| (r * 100.0, None));
    let charts = vec![
        chart("Shipments by lane", "{}", 0, bars(&|c| Some((c.shipments as f64, None)))),
        chart(
            "Pickup to delivery by lane: median, and 90th percentile behind it",
            "{} d",
            1,
            bars(&|c| Some((c.transit_days.p50?, c.transit_days.p90))),
        ),
        chart("On time by lane (against the promised date)", "{} %", 1, bars(&|c| percent(c.on_time_rate))),
        chart("Shipments with an exception by lane", "{} %", 1, bars(&|c| percent(c.exception_rate))),
        chart(
            "Exceptions by kind",
            "{}",
            0,
            exceptions
                .kinds
                .iter()
                .take(CHART_LANES)
                .map(|k| Bar { label: k.subtag_message.clone(), value: k.shipments as f64, behind: None })
                .collect(),
        ),
        chart(
            "Returned items by reason",
            "{}",
            0,
            reasons
                .reasons
                .iter()
                .take(CHART_LANES)
                .map(|r| Bar { label: r.reason.replace('_', " "), value: r.items as f64, behind: None })
                .collect(),
        ),
    ];
    let charts: Vec<minijinja::Value> = charts
        .into_iter()
        .map(|(title, empty, svg)| context! { title, empty, svg => minijinja::Value::from_safe_string(svg) })
        .collect();
    let sections = context! {
        figures => figures(&overview),
        lanes => carriers.lanes.iter().map(lane_row).collect::<Vec<_>>(),
        charts => charts,
        reach => reach_table(&reach),
        health => health_table(&health),
    };
    let files = vec![
        ("overview.csv", analytics::overview_csv(&overview)?),
        ("carriers.csv", analytics::carriers_csv(&carriers)?),
        ("exceptions.csv", analytics::exceptions_csv(&exceptions)?),
        ("notifications.csv", analytics::notifications_csv(&reach)?),
        ("returns.csv", analytics::returns_csv(&reasons)?),
        ("carrier-health.csv", analytics::carrier_health_csv(&health)?),
    ];
    Ok((sections, files))
}

/// Builds `tenant`'s report over `range` from its rollups.
pub async fn build_report(deps: &Deps, tenant: &TenantId, range: DayRange) -> Result<Report, AppError> {
    let page = super::pages::page_settings(deps, tenant).await?;
    let palette = crate::web::Palette::of(&page);
    let (sections, csvs) = report_sections(deps, tenant, range, &LaneFilter::default(), &palette.accent).await?;
    let html = crate::web::render_document(
        "report.html",
        context! {
            brand => &page.brand_name,
            primary => &palette.primary,
            on_primary => palette.on_primary,
            accent => &palette.accent,
            from => range.from.to_string(),
            to => range.to.to_string(),
            ..sections
        },
    )
    .map_err(|e| AppError::Internal(format!("report template: {e}")))?;
    let mut files = vec![("report.html", html.into_bytes())];
    files.extend(csvs);
    Ok(Report { id: report_id(range), range, files })
}

/// Builds `tenant`'s report over `range` and keeps its files (a report run again replaces
/// them).
pub async fn run_report(deps: &Deps, tenant: &TenantId, range: DayRange) -> Result<Report, AppError> {
    let report = build_report(deps, tenant, range).await?;
    for ((name, bytes), (_, content_type)) in report.files.iter().zip(FILES) {
        deps.blobs.put_blob(&blob_key(tenant, &report.id, name), content_type, bytes.clone()).await?;
    }
    tracing::info!(tenant_id = %tenant, report = %report.id, "report written");
    Ok(report)
}

/// A kept report's file `name` (one of [`FILES`]) with its content type; `Missing` when the
/// report or the file does not exist.
pub async fn report_file(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    name: &str,
) -> Result<(&'static str, Vec<u8>), AppError> {
    let missing = || AppError::Missing("report");
    let (name, content_type) = FILES.iter().find(|(file, _)| *file == name).ok_or_else(missing)?;
    parse_report_id(id).ok_or_else(missing)?;
    let bytes = deps.blobs.get_blob(&blob_key(tenant, id, name)).await?.ok_or_else(missing)?;
    Ok((content_type, bytes))
}

/// What a report link seals.
#[derive(Serialize, Deserialize)]
struct LinkClaims {
    tenant: String,
    report: String,
    expires: i64,
}

/// The token of a link to `tenant`'s report `id` that works until `expires`.
pub fn link_token(deps: &Deps, tenant: &TenantId, id: &str, expires: DateTime<Utc>) -> String {
    let claims = LinkClaims { tenant: tenant.as_str().to_owned(), report: id.to_owned(), expires: expires.timestamp() };
    URL_SAFE_NO_PAD.encode(deps.secrets.seal(&serde_json::to_vec(&claims).expect("claims serialize")))
}

/// The merchant and report a link's token names, if this deployment made it and it has not
/// expired by `now`.
pub fn open_link(deps: &Deps, token: &str, now: DateTime<Utc>) -> Option<(TenantId, String)> {
    let sealed = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let claims: LinkClaims = serde_json::from_slice(&deps.secrets.open(&sealed).ok()?).ok()?;
    (claims.expires > now.timestamp() && parse_report_id(&claims.report).is_some())
        .then_some(())
        .and_then(|()| Some((TenantId::parse(&claims.tenant).ok()?, claims.report)))
}

/// The path of a report's page by sealed link (`/reports/<token>/report.html`); its CSVs sit
/// beside it.
pub fn link_path(deps: &Deps, tenant: &TenantId, id: &str) -> String {
    let expires = deps.clock.now() + chrono::Duration::days(LINK_DAYS);
    format!("/reports/{}/report.html", link_token(deps, tenant, id, expires))
}

#[cfg(test)]
mod tests;
