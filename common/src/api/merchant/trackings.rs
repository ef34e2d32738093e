//! `/trackings`: create, read, list, change, delete, retrack, complete.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::api::wire::{MarkCompletedRequest, TrackingView, TrackingWrite};
use crate::api::{ApiError, envelope, parse_body};
use crate::app::{self, AppError, Deps};
use crate::domain::{CountryCode, DomainError, EventTime, Shipment, ShipmentId, Slug, Tag, TenantId};
use crate::ports::{Cursor, ListOrder, ListQuery};

/// Default and largest page sizes of `GET /trackings`.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 200;

pub(super) fn shipment_id(raw: &str) -> Result<ShipmentId, ApiError> {
    ShipmentId::parse(raw).map_err(|e| ApiError::from(AppError::Invalid(e)))
}

/// Keeps only the requested top-level fields (AfterShip's `fields` parameter), always with `id`.
fn select_fields(view: &TrackingView<'_>, fields: Option<&str>) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(view).map_err(|e| ApiError::from(AppError::Internal(e.to_string())))?;
    if let (Some(fields), Some(object)) = (fields.filter(|f| !f.trim().is_empty()), value.as_object_mut()) {
        let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
        object.retain(|key, _| key == "id" || wanted.contains(&key.as_str()));
    }
    Ok(value)
}

/// `shipment` as the API answers it, linked to the merchant's tracking page.
async fn answer(deps: &Deps, tenant: &TenantId, status: StatusCode, shipment: &Shipment) -> Result<Response, ApiError> {
    let page = app::pages::page_address(deps, tenant).await?;
    Ok(envelope(status, TrackingView::from(shipment).with_page(page.as_deref())))
}

#[derive(serde::Deserialize, Default)]
pub(super) struct FieldsQuery {
    fields: Option<String>,
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: TrackingWrite = parse_body(body)?;
    let shipment = app::create_tracking(&deps, &tenant, request.into_new_tracking()?).await?;
    answer(&deps, &tenant, StatusCode::CREATED, &shipment).await
}

pub(super) async fn get(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    query: Result<Query<FieldsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = crate::api::query_params(query)?;
    let shipment = app::get_tracking(&deps, &tenant, &shipment_id(&id)?).await?;
    let page = app::pages::page_address(&deps, &tenant).await?;
    let view = TrackingView::from(&shipment).with_page(page.as_deref());
    match query.fields {
        None => Ok(envelope(StatusCode::OK, view)),
        Some(fields) => Ok(envelope(StatusCode::OK, select_fields(&view, Some(&fields))?)),
    }
}

pub(super) async fn update(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = shipment_id(&id)?;
    let request: TrackingWrite = parse_body(body)?;
    let shipment = app::update_tracking(&deps, &tenant, &id, |shipment| request.apply_update(shipment)).await?;
    answer(&deps, &tenant, StatusCode::OK, &shipment).await
}

pub(super) async fn delete(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shipment = app::delete_tracking(&deps, &tenant, &shipment_id(&id)?).await?;
    answer(&deps, &tenant, StatusCode::OK, &shipment).await
}

pub(super) async fn retrack(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shipment = app::retrack(&deps, &tenant, &shipment_id(&id)?).await?;
    answer(&deps, &tenant, StatusCode::OK, &shipment).await
}

pub(super) async fn mark_completed(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = shipment_id(&id)?;
    let request: MarkCompletedRequest = parse_body(body)?;
    let reason = request.reason.ok_or(AppError::Required("reason"))?.into();
    let at = request
        .event_datetime
        .as_deref()
        .map(|raw| EventTime::parse(raw).map_err(|e| DomainError::invalid("event_datetime", e.reason)))
        .transpose()
        .map_err(AppError::from)?;
    let shipment = app::mark_completed(&deps, &tenant, &id, reason, at).await?;
    answer(&deps, &tenant, StatusCode::OK, &shipment).await
}

/// The query of `GET /trackings`, all text, parsed field by field for precise errors.
#[derive(serde::Deserialize, Default)]
pub(super) struct ListParams {
    cursor: Option<String>,
    limit: Option<String>,
    keyword: Option<String>,
    tracking_numbers: Option<String>,
    slug: Option<String>,
    transit_time: Option<String>,
    origin: Option<String>,
    destination: Option<String>,
    tag: Option<String>,
    created_at_min: Option<String>,
    created_at_max: Option<String>,
    updated_at_min: Option<String>,
    updated_at_max: Option<String>,
    fields: Option<String>,
    return_to_sender: Option<String>,
    courier_destination_country_region: Option<String>,
    shipment_tags: Option<String>,
    order_id: Option<String>,
    order_number: Option<String>,
}

fn comma_list<T>(raw: &Option<String>, parse: impl Fn(&str) -> Result<T, DomainError>) -> Result<Vec<T>, DomainError> {
    raw.iter().flat_map(|r| r.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(parse).collect()
}

pub(super) fn instant(field: &str, raw: &Option<String>) -> Result<Option<DateTime<Utc>>, DomainError> {
    raw.as_deref()
        .filter(|r| !r.is_empty())
        .map(|r| {
            EventTime::parse(r)
                .map(|t| t.instant())
                .map_err(|_| DomainError::invalid(field, "must be an ISO 8601 date-time"))
        })
        .transpose()
}

impl ListParams {
    fn into_query(self) -> Result<ListQuery, DomainError> {
        let limit = super::page_limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
        let cursor = super::shipments_cursor(self.cursor.as_deref())?;
        let bool_param = |field: &str, raw: &Option<String>| -> Result<Option<bool>, DomainError> {
            match raw.as_deref() {
                None | Some("") => Ok(None),
                Some("true") => Ok(Some(true)),
                Some("false") => Ok(Some(false)),
                Some(_) => Err(DomainError::invalid(field, "must be true or false")),
            }
        };
        Ok(ListQuery {
            limit,
            cursor,
            tags: comma_list(&self.tag, Tag::parse)?,
            // AfterShip's listing filters by status, not sub-status (the console does).
            subtags: Vec::new(),
            slugs: comma_list(&self.slug, Slug::parse)?,
            origins: comma_list(&self.origin, |c| CountryCode::parse_field("origin", c))?,
            destinations: comma_list(&self.destination, |c| CountryCode::parse_field("destination", c))?,
            courier_destinations: comma_list(&self.courier_destination_country_region, |c| {
                CountryCode::parse_field("courier_destination_country_region", c)
            })?,
            tracking_numbers: comma_list(&self.tracking_numbers, |n| Ok(n.to_owned()))?,
            order_id: self.order_id.filter(|s| !s.is_empty()),
            order_number: self.order_number.filter(|s| !s.is_empty()),
            keyword: self.keyword.filter(|s| !s.trim().is_empty()),
            shipment_tags: comma_list(&self.shipment_tags, |t| Ok(t.to_owned()))?,
            created_at_min: instant("created_at_min", &self.created_at_min)?,
            created_at_max: instant("created_at_max", &self.created_at_max)?,
            updated_at_min: instant("updated_at_min", &self.updated_at_min)?,
            updated_at_max: instant("updated_at_max", &self.updated_at_max)?,
            return_to_sender: bool_param("return_to_sender", &self.return_to_sender)?,
            transit_time: self
                .transit_time
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|raw| {
                    raw.parse().map_err(|_| DomainError::invalid("transit_time", "must be a whole number of days"))
                })
                .transpose()?,
            // The API lists newest first, from any source (the console sorts and filters more).
            order: ListOrder::NewestFirst,
            sources: Vec::new(),
            ids: None,
        })
    }
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::api::query_params(params)?;
    let fields = params.fields.clone();
    let query = params.into_query().map_err(AppError::from)?;
    let address = app::pages::page_address(&deps, &tenant).await?;
    let page = app::list_trackings(&deps, &tenant, &query).await?;
    let trackings = page
        .shipments
        .iter()
        .map(|s| select_fields(&TrackingView::from(s).with_page(address.as_deref()), fields.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let data = serde_json::json!({
        "pagination": {
            "total": page.total,
            "next_cursor": page.next_cursor.as_ref().map(Cursor::encode),
            "has_next_page": page.next_cursor.is_some(),
        },
        "trackings": trackings,
    });
    Ok(envelope(StatusCode::OK, data))
}
