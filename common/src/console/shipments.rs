//! Shipments: the filtered list (cursor pages of 50, CSV of the view), one shipment's page
//! (timeline, legs, estimates, exceptions, notifications), and the team's actions on them
//! (add by hand, retrack, mark completed, tags and note).

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Console, Visitor, failure, message, notice_text, page, see_other};
use crate::app::{self, AppError, NewTracking};
use crate::domain::{
    Action, CaseState, CompletionReason, CountryCode, Shipment, ShipmentDetails, ShipmentId, Slug, Subtag, Tag,
    TenantId, TrackingNumber, TrackingSource,
};
use crate::ports::{CaseFilter, Cursor, ListOrder, ListQuery};
use crate::storefronts::Platform;

/// Shipments on a page of the list.
const PAGE_SIZE: usize = 50;
/// Most rows of a CSV of the view.
const MAX_EXPORT: usize = 10_000;

/// The list's filters, as the form sends them (every field optional, empty means any).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub(super) struct Filters {
    q: String,
    slug: String,
    tag: String,
    subtag: String,
    order: String,
    origin: String,
    destination: String,
    tagged: String,
    from: String,
    to: String,
    /// How the tracking came: a [`TrackingSource::key`].
    channel: String,
    /// `open` or `resolved`: shipments with an exception case in that state.
    exception: String,
    /// A [`sort_key`] spelling; empty for newest first.
    sort: String,
    #[serde(skip_serializing)]
    cursor: String,
    #[serde(skip_serializing)]
    notice: String,
}

impl Filters {
    /// The store's query for these filters, and what could not be read (those filters are
    /// left out, and the page says so).
    fn query(&self) -> (ListQuery, Vec<String>) {
        let mut query = ListQuery { limit: PAGE_SIZE, ..ListQuery::default() };
        let mut problems = Vec::new();
        let text = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
        query.keyword = text(&self.q).map(|q| q.chars().take(100).collect());
        query.order_number = text(&self.order);
        if let Some(tag) = text(&self.tagged) {
            query.shipment_tags = vec![tag];
        }
        if let Some(slug) = text(&self.slug) {
            match Slug::parse(&slug) {
                Ok(slug) => query.slugs = vec![slug],
                Err(_) => problems.push("The carrier filter was not a carrier.".to_owned()),
            }
        }
        if let Some(tag) = text(&self.tag) {
            match Tag::parse(&tag) {
                Ok(tag) => query.tags = vec![tag],
                Err(_) => problems.push("The status filter was not a status.".to_owned()),
            }
        }
        if let Some(code) = text(&self.subtag) {
            match Subtag::parse(&code) {
                Ok(subtag) => query.subtags = vec![subtag],
                Err(_) => problems.push("The sub-status filter was not a sub-status.".to_owned()),
            }
        }
        for (raw, into, what) in [
            (&self.origin, &mut query.origins, "From country"),
            (&self.destination, &mut query.destinations, "To country"),
        ] {
            if let Some(code) = text(raw) {
                match CountryCode::from_carrier(&code) {
                    Some(code) => *into = vec![code],
                    None => problems.push(format!("{what} must be a country code such as US or DEU.")),
                }
            }
        }
        let day = |raw: &str, end: bool| -> Result<Option<DateTime<Utc>>, ()> {
            let Some(raw) = text(raw) else { return Ok(None) };
            let date = NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| ())?;
            let time = if end { date.and_hms_micro_opt(23, 59, 59, 999_999) } else { date.and_hms_opt(0, 0, 0) };
            Ok(time.map(|t| t.and_utc()))
        };
        match (day(&self.from, false), day(&self.to, true)) {
            (Ok(from), Ok(to)) => (query.created_at_min, query.created_at_max) = (from, to),
            _ => problems.push("Dates must be written as YYYY-MM-DD.".to_owned()),
        }
        if let Some(channel) = text(&self.channel) {
            query.sources = vec![TrackingSource::parse(&channel)];
        }
        match ListOrder::ALL.into_iter().find(|o| sort_key(*o) == self.sort.trim()) {
            Some(order) => query.order = order,
            None => problems.push("The order was not one the list offers.".to_owned()),
        }
        query.cursor = Cursor::decode(self.cursor.trim());
        (query, problems)
    }

    /// The state of exception case asked for, if any (or the problem with it).
    fn exception_state(&self) -> Result<Option<CaseState>, String> {
        match self.exception.trim() {
            "" => Ok(None),
            "open" => Ok(Some(CaseState::Open)),
            "resolved" => Ok(Some(CaseState::Resolved)),
            _ => Err("The exception filter was not open or resolved.".to_owned()),
        }
    }

    /// Whether any filter under "More filters" is set (the section then opens).
    fn has_more(&self) -> bool {
        [
            &self.subtag,
            &self.order,
            &self.origin,
            &self.destination,
            &self.tagged,
            &self.from,
            &self.to,
            &self.channel,
            &self.exception,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// The filters as a query string (`?a=b&...`, empty when none), without the cursor.
    fn query_string(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("slug", &self.slug),
            ("tag", &self.tag),
            ("subtag", &self.subtag),
            ("order", &self.order),
            ("origin", &self.origin),
            ("destination", &self.destination),
            ("tagged", &self.tagged),
            ("from", &self.from),
            ("to", &self.to),
            ("channel", &self.channel),
            ("exception", &self.exception),
            ("sort", &self.sort),
        ];
        super::query_of(&pairs)
    }
}

/// Most exception cases whose shipments the exception filter takes.
const MAX_CASES: usize = 10_000;

/// How an order is written in the list's address (empty: the default, newest first).
fn sort_key(order: ListOrder) -> &'static str {
    match order {
        ListOrder::NewestFirst => "",
        ListOrder::OldestFirst => "oldest",
        ListOrder::RecentlyUpdated => "updated",
        ListOrder::LeastRecentlyUpdated => "quiet",
    }
}

fn sort_label(order: ListOrder) -> &'static str {
    match order {
        ListOrder::NewestFirst => "Newest first",
        ListOrder::OldestFirst => "Oldest first",
        ListOrder::RecentlyUpdated => "Recently updated",
        ListOrder::LeastRecentlyUpdated => "Longest without news",
    }
}

/// The store's query for `filters` with the exception filter resolved to the shipments it
/// names, and the problems with the filters.
async fn full_query(
    console: &Console,
    tenant: &TenantId,
    filters: &Filters,
) -> Result<(ListQuery, Vec<String>), AppError> {
    let (mut query, mut problems) = filters.query();
    match filters.exception_state() {
        Ok(Some(state)) => {
            let filter = CaseFilter { state: Some(state), ..CaseFilter::default() };
            let cases = console.deps.exceptions.cases(tenant, &filter, MAX_CASES).await?;
            let mut ids: Vec<ShipmentId> = cases.into_iter().map(|c| c.shipment_id).collect();
            ids.sort();
            ids.dedup();
            query.ids = Some(ids);
        }
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    Ok((query, problems))
}

/// The channels a merchant's shipments may have come through: the fixed ones and each
/// storefront connector.
async fn channels(console: &Console, tenant: &TenantId) -> Result<Vec<Choice>, AppError> {
    let mut all: Vec<Choice> = [
        (TrackingSource::Api, "API"),
        (TrackingSource::Console, "Added in the console"),
        (TrackingSource::Import, "Imports"),
        (TrackingSource::Returns, "Returns"),
    ]
    .into_iter()
    .map(|(source, label)| Choice { value: source.key(), label: label.to_owned() })
    .collect();
    for connector in console.deps.connectors.list_connectors(tenant).await? {
        let record = &connector.record;
        all.push(Choice {
            value: TrackingSource::Connector(connector.id.clone()).key(),
            label: format!("{}: {}", platform_name(record.platform), record.shop),
        });
    }
    Ok(all)
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Shopify => "Shopify",
        Platform::Woocommerce => "WooCommerce",
    }
}

/// A row of the list.
#[derive(Serialize)]
struct Row {
    id: String,
    tracking_number: String,
    title: Option<String>,
    carrier: String,
    status: String,
    substatus: String,
    tone: &'static str,
    order: Option<String>,
    route: String,
    updated: String,
    updated_iso: String,
    expected: Option<String>,
}

/// How a status reads: good (delivered), bad (exception, failed attempt, expired), near
/// (out for delivery, at a pickup point) or plain.
pub(super) fn tone(tag: Tag) -> &'static str {
    match tag {
        Tag::Delivered => "good",
        Tag::Exception | Tag::AttemptFail | Tag::Expired => "bad",
        Tag::OutForDelivery | Tag::AvailableForPickup => "near",
        _ => "plain",
    }
}

/// How the team names a status (AfterShip's names, not the shopper's wording).
pub(super) fn status_label(tag: Tag) -> &'static str {
    match tag {
        Tag::Pending => "Pending",
        Tag::InfoReceived => "Info received",
        Tag::InTransit => "In transit",
        Tag::OutForDelivery => "Out for delivery",
        Tag::AvailableForPickup => "Available for pickup",
        Tag::Delivered => "Delivered",
        Tag::AttemptFail => "Failed attempt",
        Tag::Exception => "Exception",
        Tag::Expired => "Expired",
    }
}

/// The courier's display name.
pub(super) fn carrier_name(slug: &Slug) -> String {
    crate::couriers::find(slug.as_str()).map_or_else(|| slug.as_str().to_owned(), |c| c.name.to_owned())
}

pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(shipment: &Shipment) -> Row {
    let details = &shipment.details;
    let country = |c: &Option<CountryCode>| c.as_ref().map_or("?", |c| c.as_str()).to_owned();
    Row {
        id: shipment.id.as_str().to_owned(),
        tracking_number: shipment.tracking_number.as_str().to_owned(),
        title: details.title.clone(),
        carrier: carrier_name(&shipment.slug),
        status: status_label(shipment.tag).to_owned(),
        substatus: shipment.subtag.message().to_owned(),
        tone: tone(shipment.tag),
        order: details.order_number.clone().or_else(|| details.order_id.clone()),
        route: format!(
            "{} → {}",
            country(&details.origin_country_region),
            country(&details.destination_country_region)
        ),
        updated: when(shipment.updated_at),
        updated_iso: shipment.updated_at.to_rfc3339(),
        expected: expected(shipment).map(|d| d.to_string()),
    }
}

/// The date the shipment is expected: the carrier's, else the latest estimate.
fn expected(shipment: &Shipment) -> Option<NaiveDate> {
    shipment.carrier_edd.or_else(|| shipment.edd.as_ref().map(|e| e.latest.date))
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
pub(super) struct CourierChoice {
    slug: &'static str,
    name: &'static str,
}

pub(super) fn couriers() -> Vec<CourierChoice> {
    let mut all: Vec<_> =
        crate::couriers::COURIERS.iter().map(|c| CourierChoice { slug: c.slug, name: c.name }).collect();
    all.sort_by_key(|c| c.name.to_lowercase());
    all
}

/// The list page for `filters`, with `problem` (a refused form) shown above it.
async fn list_page(console: &Console, visitor: &Visitor, filters: &Filters, problem: Option<String>) -> Response {
    let tenant = &visitor.member.tenant_id;
    let loaded = async {
        let (query, problems) = full_query(console, tenant, filters).await?;
        let listed = app::list_trackings(&console.deps, tenant, &query).await?;
        let views = app::team::views::saved_views(&console.deps, tenant).await?;
        let channels = channels(console, tenant).await?;
        Ok::<_, AppError>((query.order, problems, listed, views, channels))
    };
    let (order, mut problems, listed, views, channels) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure(&error),
    };
    let rows: Vec<Row> = listed.shipments.iter().map(row).collect();
    let base = filters.query_string();
    let next_href = listed.next_cursor.map(|cursor| {
        let joiner = if base.is_empty() { "?" } else { "&" };
        format!("/console/shipments{base}{joiner}cursor={}", cursor.encode())
    });
    let statuses: Vec<Choice> =
        Tag::ALL.iter().map(|t| Choice { value: t.as_str().to_owned(), label: status_label(*t).to_owned() }).collect();
    let substatuses: Vec<_> = Tag::ALL
        .iter()
        .map(|tag| {
            let codes: Vec<Choice> = crate::domain::SUBTAGS
                .iter()
                .filter(|s| s.tag == *tag)
                .map(|s| Choice { value: s.code.to_owned(), label: format!("{} ({})", s.message, s.code) })
                .collect();
            minijinja::context! { label => status_label(*tag), codes => super::value(&codes) }
        })
        .collect();
    let sorts: Vec<Choice> = ListOrder::ALL
        .into_iter()
        .map(|o| Choice { value: sort_key(o).to_owned(), label: sort_label(o).to_owned() })
        .collect();
    let mut layout = visitor.layout("shipments");
    layout.notice = notice_text(&filters.notice).map(str::to_owned);
    problems.extend(problem);
    layout.problem = (!problems.is_empty()).then(|| problems.join(" "));
    let total_text = match listed.total {
        1 => "1 shipment".to_owned(),
        n => format!("{n} shipments"),
    };
    let content = minijinja::context! {
        shipments => super::value(&rows), total_text => total_text, filters => super::value(&filters), query => base,
        views => super::value(&views), more_filters => filters.has_more(), channels => super::value(&channels), sorts => super::value(&sorts), sort_caption => sort_label(order), next_href => next_href, couriers => super::value(&couriers()), statuses => super::value(&statuses), substatuses => substatuses,
    };
    let status = if layout.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(status, "console/shipments.html", "Shipments", &layout, content)
}

pub(super) async fn list(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = query.map(|Query(f)| f).unwrap_or_default();
    list_page(&console, &visitor, &filters, None).await
}

pub(super) async fn export(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = query.map(|Query(f)| f).unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let tenant = &visitor.member.tenant_id;
    let written = async {
        let (query, _) = full_query(&console, tenant, &filters).await?;
        app::exports::write_trackings_csv(&console.deps, tenant, &query, None, MAX_EXPORT, &mut writer).await
    };
    if let Err(error) = written.await {
        return failure(&error);
    }
    let Ok(body) = writer.into_inner() else {
        return failure(&AppError::Internal("the csv could not be finished".into()));
    };
    visitor.audit(&console.deps, "shipments.exported", "shipments", &filters.query_string()).await;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"shipments.csv\""));
    response
}

#[derive(Deserialize)]
pub(super) struct NewTrackingForm {
    tracking_number: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    order_number: String,
    #[serde(default)]
    title: String,
}

pub(super) async fn add(
    State(console): State<Console>,
    visitor: Visitor,
    Form(form): Form<NewTrackingForm>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    let made = async {
        let tracking_number = TrackingNumber::parse(form.tracking_number.trim())?;
        let slug = match form.slug.trim() {
            "" => None,
            slug => Some(Slug::parse(slug)?),
        };
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let details = ShipmentDetails {
            order_number: optional(&form.order_number),
            title: optional(&form.title),
            ..Default::default()
        };
        details.validate()?;
        let new = NewTracking { slug, tracking_number, details, last_mile: None };
        app::create_tracking_from(&console.deps, &visitor.member.tenant_id, new, TrackingSource::Console).await
    }
    .await;
    match made {
        Ok(shipment) => {
            visitor.audit(&console.deps, "shipment.added", shipment.id.as_str(), shipment.slug.as_str()).await;
            see_other(&format!("/console/shipments/{}?notice=added", shipment.id))
        }
        Err(AppError::Duplicate(id)) => see_other(&format!("/console/shipments/{id}")),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::UnknownCourier(_)
            | AppError::CourierNotDetected
            | AppError::Required(_)),
        ) => {
            let problem = format!("The tracking was not added: {error}.");
            list_page(&console, &visitor, &Filters::default(), Some(problem)).await
        }
        Err(error) => failure(&error),
    }
}

#[derive(Deserialize)]
pub(super) struct ViewForm {
    name: String,
    #[serde(default)]
    query: String,
}

/// Saves the list's filters as a named view of the merchant's (agents and up).
pub(super) async fn save_view(
    State(console): State<Console>,
    visitor: Visitor,
    Form(form): Form<ViewForm>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    match app::team::views::save_view(&console.deps, &visitor.member.tenant_id, &form.name, &form.query).await {
        Ok(view) => {
            visitor.audit(&console.deps, "view.saved", &view.name, &view.query).await;
            let joiner = if view.query.is_empty() { "?" } else { "&" };
            see_other(&format!("/console/shipments{}{joiner}notice=view_saved", view.query))
        }
        Err(AppError::Invalid(invalid)) => {
            let problem = format!("The view was not saved: {invalid}.");
            list_page(&console, &visitor, &Filters::default(), Some(problem)).await
        }
        Err(error) => failure(&error),
    }
}

/// Forgets a saved view.
pub(super) async fn delete_view(
    State(console): State<Console>,
    visitor: Visitor,
    Form(form): Form<ViewForm>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    match app::team::views::delete_view(&console.deps, &visitor.member.tenant_id, &form.name).await {
        Ok(()) | Err(AppError::Missing(_)) => {
            visitor.audit(&console.deps, "view.deleted", &form.name, "").await;
            see_other("/console/shipments")
        }
        Err(error) => failure(&error),
    }
}

/// The shipment of the path's id, within the visitor's merchant; a 404 page otherwise.
async fn shipment_of(console: &Console, visitor: &Visitor, id: &str) -> Result<Shipment, Response> {
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            &visitor.layout("shipments"),
            "No such shipment",
            "It may have been deleted, or the address is mistyped.",
            Some(("/console/shipments", "Back to shipments")),
        )
    };
    let id = ShipmentId::parse(id).map_err(|_| not_found())?;
    match app::get_tracking(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(shipment) => Ok(shipment),
        Err(AppError::NotFound) => Err(not_found()),
        Err(error) => Err(failure(&error)),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct DetailQuery {
    notice: Option<String>,
}

pub(super) async fn detail(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Response {
    let shipment = match shipment_of(&console, &visitor, &id).await {
        Ok(shipment) => shipment,
        Err(response) => return response,
    };
    match super::shipment_view::detail_page(
        &console.deps,
        &visitor,
        &shipment,
        query.ok().and_then(|Query(q)| q.notice),
    )
    .await
    {
        Ok(response) => response,
        Err(error) => failure(&error),
    }
}

/// Runs an agent's action on the path's shipment and goes back to its page with `notice`.
async fn act(
    console: &Console,
    visitor: &Visitor,
    id: &str,
    action: &str,
    notice: &str,
    run: impl AsyncFnOnce(&ShipmentId) -> Result<(), AppError>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    let shipment = match shipment_of(console, visitor, id).await {
        Ok(shipment) => shipment,
        Err(response) => return response,
    };
    match run(&shipment.id).await {
        Ok(()) => {
            visitor.audit(&console.deps, action, shipment.id.as_str(), "").await;
            see_other(&format!("/console/shipments/{}?notice={notice}", shipment.id))
        }
        Err(error @ (AppError::RetrackNotAllowed | AppError::Invalid(_))) => message(
            StatusCode::UNPROCESSABLE_ENTITY,
            &visitor.layout("shipments"),
            "Not done",
            &format!("{error}."),
            Some((&format!("/console/shipments/{}", shipment.id), "Back to the shipment")),
        ),
        Err(error) => failure(&error),
    }
}

pub(super) async fn retrack(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    let deps = console.deps.clone();
    let tenant = visitor.member.tenant_id.clone();
    act(&console, &visitor, &id, "shipment.retracked", "retracked", async |id| {
        app::retrack(&deps, &tenant, id).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct CompleteForm {
    reason: String,
}

pub(super) async fn complete(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Response {
    let reason = match form.reason.as_str() {
        "delivered" => CompletionReason::Delivered,
        "lost" => CompletionReason::Lost,
        "returned_to_sender" => CompletionReason::ReturnedToSender,
        _ => {
            let layout = visitor.layout("shipments");
            return message(StatusCode::BAD_REQUEST, &layout, "Not done", "Choose why it is completed.", None);
        }
    };
    let deps = console.deps.clone();
    let tenant = visitor.member.tenant_id.clone();
    act(&console, &visitor, &id, "shipment.completed", "completed", async |id| {
        app::mark_completed(&deps, &tenant, id, reason, None).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct LabelsForm {
    #[serde(default)]
    tags: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn labels(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<LabelsForm>,
) -> Response {
    let deps = console.deps.clone();
    let tenant = visitor.member.tenant_id.clone();
    let tags: Vec<String> = form.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    act(&console, &visitor, &id, "shipment.labelled", "labels", async |id| {
        app::update_tracking(&deps, &tenant, id, |shipment| {
            shipment.details.shipment_tags = tags.clone();
            shipment.details.note = note.clone();
            shipment.details.validate()?;
            Ok(())
        })
        .await
        .map(|_| ())
    })
    .await
}
