//! The merchant HTTP API, wire-compatible with AfterShip's Tracking API 2026-07.
//!
//! [`router`] is the one implementation: `porchlight serve` runs it under `axum::serve`, the
//! Lambda `api` function under `lambda_http`. Handlers parse, call one `app::` use case and map
//! the result into the `{meta, data}` envelope.

mod admin;
mod connections;
mod error;
mod openapi;
pub mod wire;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::ApiError;

use crate::app::{self, AppError, Deps};
use crate::couriers::{self, COURIERS};
use crate::domain::{CountryCode, DomainError, EventTime, ShipmentId, Slug, Tag, TenantId};
use crate::ports::{Cursor, ListQuery};
use wire::{DetectRequest, MarkCompletedRequest, TrackingView, TrackingWrite};

/// The API version prefix this router serves.
pub const PREFIX: &str = "/tracking/2026-07";
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default and largest page sizes of `GET /trackings`.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 200;

/// Everything one process serves: the merchant and admin API and carriers' webhooks.
pub fn router(deps: Deps) -> Router {
    routes(deps, true, true)
}

/// The merchant API, the admin API, the OpenAPI document and the health check, without the
/// webhook intake (the AWS `api` function).
pub fn merchant_router(deps: Deps) -> Router {
    routes(deps, true, false)
}

/// Carriers' webhooks only, `POST /webhooks/carriers/{slug}` (the AWS `webhook-intake`
/// function), with the same answers and errors as in [`router`].
pub fn webhook_router(deps: Deps) -> Router {
    routes(deps, false, true)
}

fn routes(deps: Deps, merchant: bool, webhooks: bool) -> Router {
    let authenticated = Router::new()
        .route("/trackings", get(list_trackings).post(create_tracking))
        .route("/trackings/{id}", get(get_tracking).put(update_tracking).delete(delete_tracking))
        .route("/trackings/{id}/retrack", post(retrack))
        .route("/trackings/{id}/mark-as-completed", post(mark_completed))
        .route("/couriers", get(list_couriers))
        .route("/couriers/all", get(list_all_couriers))
        .route("/couriers/detect", post(detect_couriers))
        .route("/courier-connections", get(connections::list).post(connections::create))
        .route(
            "/courier-connections/{id}",
            get(connections::get).patch(connections::update).delete(connections::delete),
        )
        .route_layer(middleware::from_fn_with_state(deps.clone(), authenticate));
    let admin = Router::new()
        .route("/tenants", get(admin::list_tenants).post(admin::create_tenant))
        .route("/tenants/{id}/api-keys", get(admin::list_api_keys).post(admin::create_api_key))
        .route("/tenants/{id}/api-keys/{key_id}", delete(admin::revoke_api_key))
        .route("/quarantine", get(admin::list_quarantine))
        .route("/quarantine/{id}/replay", post(admin::replay_quarantined))
        .route("/stats", get(admin::stats))
        .route_layer(middleware::from_fn_with_state(deps.clone(), admin::authenticate));
    let mut router = Router::new();
    if merchant {
        router = router
            .nest(PREFIX, authenticated)
            .nest("/admin", admin)
            .route("/openapi.json", get(openapi::document))
            .route("/healthz", get(|| async { "ok" }));
    }
    if webhooks {
        router = router.route("/webhooks/carriers/{slug}", post(carrier_webhook));
    }
    router
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(deps)
}

async fn authenticate(State(deps): State<Deps>, mut request: Request, next: Next) -> Response {
    let key = request.headers().get("as-api-key").and_then(|v| v.to_str().ok());
    match app::authenticate(&deps, key).await {
        Ok(tenant) => {
            request.extensions_mut().insert(tenant);
            next.run(request).await
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `{"meta": {"code": N}, "data": ...}` with status N.
fn envelope(status: StatusCode, data: impl Serialize) -> Response {
    #[derive(Serialize)]
    struct Meta {
        code: u16,
    }
    #[derive(Serialize)]
    struct Envelope<T> {
        meta: Meta,
        data: T,
    }
    match serde_json::to_vec(&Envelope { meta: Meta { code: status.as_u16() }, data }) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "response serialization failed");
            ApiError::from(AppError::Busy).into_response()
        }
    }
}

/// Parses a JSON body, naming the offending field on a type error.
fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::too_large()),
        Err(rejection) => {
            return Err(ApiError::bad_request(4001, format!("request body could not be read: {rejection}")));
        }
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(4001, "request body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => Ok(value),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                Err(ApiError::bad_request(4001, format!("invalid JSON: {inner}")))
            } else {
                Err(ApiError::bad_request(4008, format!("{path} is invalid: {inner}")))
            }
        }
    }
}

fn shipment_id(raw: &str) -> Result<ShipmentId, ApiError> {
    ShipmentId::parse(raw).map_err(|e| ApiError::from(AppError::Invalid(e)))
}

/// Keeps only the requested top-level fields (AfterShip's `fields` parameter), always with `id`.
fn select_fields(view: &TrackingView<'_>, fields: Option<&str>) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(view).map_err(|_| ApiError::from(AppError::Busy))?;
    if let (Some(fields), Some(object)) = (fields.filter(|f| !f.trim().is_empty()), value.as_object_mut()) {
        let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
        object.retain(|key, _| key == "id" || wanted.contains(&key.as_str()));
    }
    Ok(value)
}

#[derive(serde::Deserialize, Default)]
struct FieldsQuery {
    fields: Option<String>,
}

async fn create_tracking(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: TrackingWrite = parse_body(body)?;
    let shipment = app::create_tracking(&deps, &tenant, request.into_new_tracking()?).await?;
    Ok(envelope(StatusCode::CREATED, TrackingView::from(&shipment)))
}

async fn get_tracking(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    query: Result<Query<FieldsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(4008, format!("query is invalid: {e}")))?;
    let shipment = app::get_tracking(&deps, &tenant, &shipment_id(&id)?).await?;
    let view = TrackingView::from(&shipment);
    match query.fields {
        None => Ok(envelope(StatusCode::OK, view)),
        Some(fields) => Ok(envelope(StatusCode::OK, select_fields(&view, Some(&fields))?)),
    }
}

async fn update_tracking(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = shipment_id(&id)?;
    let request: TrackingWrite = parse_body(body)?;
    let shipment = app::update_tracking(&deps, &tenant, &id, |shipment| request.apply_update(shipment)).await?;
    Ok(envelope(StatusCode::OK, TrackingView::from(&shipment)))
}

async fn delete_tracking(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shipment = app::delete_tracking(&deps, &tenant, &shipment_id(&id)?).await?;
    Ok(envelope(StatusCode::OK, TrackingView::from(&shipment)))
}

async fn retrack(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shipment = app::retrack(&deps, &tenant, &shipment_id(&id)?).await?;
    Ok(envelope(StatusCode::OK, TrackingView::from(&shipment)))
}

async fn mark_completed(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = shipment_id(&id)?;
    let request: MarkCompletedRequest = parse_body(body)?;
    let reason = request.reason.ok_or(AppError::Required("reason"))?;
    let at = request
        .event_datetime
        .as_deref()
        .map(|raw| EventTime::parse(raw).map_err(|e| DomainError::invalid("event_datetime", e.reason)))
        .transpose()
        .map_err(AppError::from)?;
    let shipment = app::mark_completed(&deps, &tenant, &id, reason, at).await?;
    Ok(envelope(StatusCode::OK, TrackingView::from(&shipment)))
}

/// The query of `GET /trackings`, all text, parsed field by field for precise errors.
#[derive(serde::Deserialize, Default)]
struct ListParams {
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

fn instant(field: &str, raw: &Option<String>) -> Result<Option<DateTime<Utc>>, DomainError> {
    raw.as_deref()
        .map(|r| {
            EventTime::parse(r)
                .map(|t| t.instant())
                .map_err(|_| DomainError::invalid(field, "must be an ISO 8601 date-time"))
        })
        .transpose()
}

impl ListParams {
    fn into_query(self) -> Result<ListQuery, DomainError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| DomainError::invalid("limit", "must be a whole number from 1 to 200"))?,
        };
        let cursor = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| {
                Cursor::decode(c).ok_or_else(|| DomainError::invalid("cursor", "is not a cursor this API returned"))
            })
            .transpose()?;
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
        })
    }
}

async fn list_trackings(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(4008, format!("query is invalid: {e}")))?;
    let fields = params.fields.clone();
    let query = params.into_query().map_err(AppError::from)?;
    let page = app::list_trackings(&deps, &tenant, &query).await?;
    let trackings = page
        .shipments
        .iter()
        .map(|s| select_fields(&TrackingView::from(s), fields.as_deref()))
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

#[derive(serde::Deserialize, Default)]
struct CourierParams {
    slug: Option<String>,
    active: Option<String>,
}

fn couriers_body(couriers: Vec<&couriers::Courier>) -> serde_json::Value {
    serde_json::json!({ "total": couriers.len(), "couriers": couriers })
}

/// The tenant's activated couriers. Every tenant has the whole catalog activated until courier
/// settings exist, so this equals `/couriers/all` filtered by `slug`.
async fn list_couriers(params: Result<Query<CourierParams>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(4008, format!("query is invalid: {e}")))?;
    if let Some(active) = params.active.as_deref()
        && !matches!(active, "true" | "false")
    {
        return Err(AppError::from(DomainError::invalid("active", "must be true or false")).into());
    }
    let wanted: Vec<&str> = params.slug.as_deref().map(|s| s.split(',').map(str::trim).collect()).unwrap_or_default();
    let couriers = COURIERS.iter().filter(|c| wanted.is_empty() || wanted.contains(&c.slug)).collect();
    Ok(envelope(StatusCode::OK, couriers_body(couriers)))
}

async fn list_all_couriers() -> Response {
    envelope(StatusCode::OK, couriers_body(COURIERS.iter().collect()))
}

async fn detect_couriers(body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let request: DetectRequest = parse_body(body)?;
    let number =
        request.tracking_number.filter(|n| !n.trim().is_empty()).ok_or(AppError::Required("tracking_number"))?;
    let number = crate::domain::TrackingNumber::parse(&number).map_err(AppError::from)?;
    let allowed = request.slug.unwrap_or_default();
    let couriers = couriers::detect(number.as_str())
        .into_iter()
        .map(|detection| detection.courier)
        .filter(|c| allowed.is_empty() || allowed.iter().any(|s| s == c.slug))
        .collect();
    Ok(envelope(StatusCode::OK, couriers_body(couriers)))
}

/// `POST /webhooks/carriers/{slug}`: a carrier's push. Answers 200 once the payload is stored;
/// 401 when the signature does not hold; 404 for a carrier that does not push here.
async fn carrier_webhook(
    State(deps): State<Deps>,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::too_large()),
        Err(rejection) => {
            return Err(ApiError::bad_request(400, format!("request body could not be read: {rejection}")));
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match app::accept_webhook(&deps, &slug, header, &body).await {
        Ok(id) => Ok(envelope(StatusCode::OK, serde_json::json!({ "id": id.to_string() }))),
        Err(app::IntakeError::UnknownCarrier(_)) => Err(ApiError::no_route()),
        Err(app::IntakeError::Unauthorized) => Err(AppError::Unauthorized.into()),
        Err(app::IntakeError::Queue(error)) => Err(AppError::Store(error).into()),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests;
