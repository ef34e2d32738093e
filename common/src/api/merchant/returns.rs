//! Returns: AfterShip's Returns API 2026-07 under [`super::RETURNS_PREFIX`] (list, create,
//! get by id or RMA number, approve, reject, resolve, receive items, attach shipments, remove
//! items; its envelope `{meta: {code, type, message}, data}` and codes), and the merchant's
//! return policy at `/porchlight/v1/return-policy` (a Porchlight extension).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::api::wire::{parse_method, return_view};
use crate::api::{ApiError, envelope, parse_body, query_params};
use crate::app::returns::{self, ItemRequest, NewReturn, PolicyWrite, ReturnKey, ShipmentToAttach};
use crate::app::{AppError, Deps};
use crate::domain::{
    ApprovalStatus, DomainError, ExchangeVariant, FiledBy, Money, Order, Outcome, ReceivedItem, RefundDestination,
    Resolution, Return, TenantId,
};
use crate::ports::ReturnFilter;

pub(super) async fn get_policy(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, returns::return_policy(&deps, &tenant).await?))
}

pub(super) async fn put_policy(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: PolicyWrite = parse_body(body)?;
    Ok(envelope(StatusCode::OK, returns::update_return_policy(&deps, &tenant, write).await?))
}

/// The report's query: the period (whole days) and, for a CSV, which table.
#[derive(Debug, Deserialize)]
pub(super) struct ReportParams {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    table: Option<String>,
}

/// `GET /porchlight/v1/returns/report`: the team's numbers, as JSON or (`format=csv`) one
/// table as CSV (`table=reasons`, the default, or `products`).
pub(super) async fn report(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query_params(query)?;
    let table = match params.table.as_deref() {
        None | Some("reasons") => returns::ReportTable::Reasons,
        Some("products") => returns::ReportTable::Products,
        Some(_) => return Err(AppError::from(DomainError::invalid("table", "must be reasons or products")).into()),
    };
    let (from, to) = returns::period(params.from.as_deref(), params.to.as_deref(), deps.clock.now().date_naive())?;
    let report = returns::returns_report(&deps, &tenant, from, to).await?;
    match params.format.as_deref() {
        None | Some("" | "json") => Ok(envelope(StatusCode::OK, &report)),
        Some("csv") => {
            let csv = returns::report_csv(&report, table)?;
            let mut response = (StatusCode::OK, csv).into_response();
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            Ok(response)
        }
        Some(_) => Err(AppError::from(DomainError::invalid("format", "must be json or csv")).into()),
    }
}

/// The Returns API's success envelope: `meta.code` is the status times 100 (20000, 20100,
/// 20200).
fn answer(status: StatusCode, data: serde_json::Value) -> Response {
    let (kind, message) = match status {
        StatusCode::CREATED => ("Created", "The request has been fulfilled and a new resource has been created."),
        StatusCode::ACCEPTED => ("Accepted", "The request has been accepted for processing."),
        _ => ("OK", "The request was successfully processed."),
    };
    let meta = json!({ "code": u32::from(status.as_u16()) * 100, "type": kind, "message": message });
    (status, axum::Json(json!({ "meta": meta, "data": data }))).into_response()
}

fn one(deps: &Deps, status: StatusCode, ret: &Return) -> Response {
    answer(status, return_view(ret, deps.public_url.as_deref()))
}

/// Reads a body as the Returns API does: unreadable bodies are its 42200 too.
fn body_of<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    parse_body(body).map_err(ApiError::into_returns)
}

/// An optional body (`approve` and `resolve` take one, all fields optional).
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    match &body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
        _ => body_of(body),
    }
}

/// The listing's query: AfterShip's filters, `page` 1-200 and `limit` 1-50.
#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    approval_status: Option<String>,
    customer_email: Option<String>,
    order_name: Option<String>,
    outcome: Option<String>,
    return_method: Option<String>,
    created_at_min: Option<String>,
    created_at_max: Option<String>,
    page: Option<String>,
    limit: Option<String>,
}

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::returns(DomainError::invalid(field, reason).into())
}

fn number(raw: Option<&str>, field: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw.filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(field, &format!("must be a whole number from 1 to {max}"))),
    }
}

fn time(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid(field, "must be an ISO 8601 date and time such as 2026-01-01T00:00:00Z"))
        })
        .transpose()
}

/// The listing's filter; `None` when it matches nothing (an `upsell` outcome: Porchlight never
/// upsells).
fn filter_of(params: &ListParams) -> Result<Option<ReturnFilter>, ApiError> {
    let approval_status = params
        .approval_status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            serde_json::from_value::<ApprovalStatus>(json!(s))
                .map_err(|_| invalid("approval_status", "must be submitted, approved, done, rejected or expired"))
        })
        .transpose()?;
    let outcome = params
        .outcome
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "refund" => Ok(Some(Outcome::Refund)),
            "store_credit" => Ok(Some(Outcome::StoreCredit)),
            "exchange" => Ok(Some(Outcome::Exchange)),
            "upsell" => Ok(None),
            _ => Err(invalid("outcome", "must be exchange, refund, upsell or store_credit")),
        })
        .transpose()?;
    let return_method = params
        .return_method
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_method(s).ok_or_else(|| invalid("return_method", "is not a return method Porchlight offers")))
        .transpose()?;
    if matches!(outcome, Some(None)) {
        return Ok(None);
    }
    Ok(Some(ReturnFilter {
        approval_status,
        customer_email: params.customer_email.clone().filter(|s| !s.is_empty()),
        order_name: params.order_name.clone().filter(|s| !s.is_empty()),
        outcome: outcome.flatten(),
        return_method,
        created_at_min: time(params.created_at_min.as_deref(), "created_at_min")?,
        created_at_max: time(params.created_at_max.as_deref(), "created_at_max")?,
    }))
}

pub(super) async fn list(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query_params(query).map_err(ApiError::into_returns)?;
    let page = number(params.page.as_deref(), "page", 1, 200)?;
    let limit = number(params.limit.as_deref(), "limit", 10, 50)?;
    let (found, total) = match filter_of(&params)? {
        Some(filter) => deps
            .returns
            .returns(&tenant, &filter, (page - 1) * limit, limit)
            .await
            .map_err(|e| ApiError::returns(e.into()))?,
        None => (Vec::new(), 0),
    };
    let pagination = json!({ "total": total, "page": page, "limit": limit, "has_next_page": page * limit < total });
    let returns: Vec<_> = found.iter().map(|r| return_view(r, deps.public_url.as_deref())).collect();
    Ok(answer(StatusCode::OK, json!({ "returns": returns, "pagination": pagination })))
}

#[derive(Debug, Deserialize)]
pub(super) struct StoreRef {
    platform: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OrderRef {
    external_id: Option<String>,
    store: Option<StoreRef>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ItemWrite {
    external_order_item_id: Option<String>,
    intended_return_quantity: Option<u32>,
    return_reason: Option<String>,
    return_subreason: Option<String>,
    return_reason_comment: Option<String>,
    #[serde(default)]
    shopper_uploaded_image_urls: Vec<String>,
    resolution: Option<Resolution>,
    exchange_variant: Option<ExchangeVariant>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MethodWrite {
    r#type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateBody {
    order: Option<OrderRef>,
    return_items: Option<Vec<ItemWrite>>,
    return_method: Option<MethodWrite>,
    refund_destination: Option<RefundDestination>,
}

/// The request as the use case takes it, and the order it names (`order.external_id` and its
/// store).
async fn read_create(deps: &Deps, tenant: &TenantId, body: CreateBody) -> Result<(Order, NewReturn), AppError> {
    let order_ref = body.order.ok_or(AppError::Required("order"))?;
    let external_id = order_ref.external_id.filter(|e| !e.is_empty()).ok_or(AppError::Required("order.external_id"))?;
    let store = order_ref.store.ok_or(AppError::Required("order.store"))?;
    let platform = store.platform.ok_or(AppError::Required("order.store.platform"))?;
    let store_id = store.external_id.ok_or(AppError::Required("order.store.external_id"))?;
    let order = deps
        .orders
        .order(tenant, &Order::id_of(tenant, &external_id))
        .await?
        .filter(|o| o.store.as_ref().is_none_or(|s| s.platform == platform && s.external_id == store_id))
        .ok_or_else(|| DomainError::invalid("order.external_id", "no order of this store has this id"))?;
    let items = body.return_items.ok_or(AppError::Required("return_items"))?;
    let mut requested = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let path = |field: &str| format!("return_items[{i}].{field}");
        let required = |field: &str| DomainError::invalid(path(field), format!("{} is a required field", field));
        requested.push(ItemRequest {
            item: item.external_order_item_id.ok_or_else(|| required("external_order_item_id"))?,
            quantity: item.intended_return_quantity.ok_or_else(|| required("intended_return_quantity"))?,
            reason: item.return_reason.ok_or_else(|| required("return_reason"))?,
            subreason: item.return_subreason.filter(|s| !s.is_empty()),
            comment: item.return_reason_comment,
            photos: item.shopper_uploaded_image_urls.into_iter().filter(|u| !u.is_empty()).collect(),
            resolution: item.resolution.ok_or_else(|| required("resolution"))?,
            exchange_variant: item.exchange_variant,
        });
    }
    let method = body.return_method.and_then(|m| m.r#type).ok_or(AppError::Required("return_method.type"))?;
    let method = parse_method(&method)
        .ok_or_else(|| DomainError::invalid("return_method.type", "is not a return method Porchlight offers"))?;
    let refund_destination = body.refund_destination.ok_or(AppError::Required("refund_destination"))?;
    let new = NewReturn {
        items: requested,
        method,
        refund_destination: Some(refund_destination),
        filed_by: FiledBy::Merchant,
        locale: None,
    };
    Ok((order, new))
}

pub(super) async fn create(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body: CreateBody = body_of(body)?;
    let (order, new) = read_create(&deps, &tenant, body).await.map_err(ApiError::returns)?;
    let created = returns::create_return(&deps, &order, new).await.map_err(ApiError::returns)?;
    Ok(one(&deps, StatusCode::CREATED, &created))
}

pub(super) async fn get_by_id(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = returns::get_return(&deps, &tenant, &ReturnKey::Id(id)).await.map_err(ApiError::returns)?;
    Ok(one(&deps, StatusCode::OK, &found))
}

pub(super) async fn get_by_rma(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(rma): Path<String>,
) -> Result<Response, ApiError> {
    let found = returns::get_return(&deps, &tenant, &ReturnKey::Rma(rma)).await.map_err(ApiError::returns)?;
    Ok(one(&deps, StatusCode::OK, &found))
}

/// `approve`'s and `resolve`'s body: whether the shopper is emailed (an approval; a
/// resolution sends no email).
#[derive(Debug, Default, Deserialize)]
pub(super) struct NotifyBody {
    #[serde(default)]
    notify_customer: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RejectBody {
    reject_reason: Option<String>,
    #[serde(default)]
    notify_customer: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct ReceiveBody {
    items: Option<Vec<ReceivedItem>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelWrite {
    url: Option<String>,
    total_charge: Option<Money>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShipmentWrite {
    tracking_number: Option<String>,
    slug: Option<String>,
    label: Option<LabelWrite>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AttachBody {
    shipments: Option<Vec<ShipmentWrite>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RemovedItem {
    external_id: String,
    quantity: u32,
}

#[derive(Debug, Deserialize)]
pub(super) struct RemoveBody {
    items: Option<Vec<RemovedItem>>,
    edit_reason: Option<String>,
}

/// One of the actions on a return, by id or by RMA number.
async fn act(
    deps: &Deps,
    tenant: &TenantId,
    key: ReturnKey,
    action: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let key = &key;
    let result = match action {
        "approve" => {
            let body: NotifyBody = optional_body(body)?;
            return returns::approve(deps, tenant, key, body.notify_customer)
                .await
                .map(|r| one(deps, StatusCode::ACCEPTED, &r))
                .map_err(ApiError::returns);
        }
        "reject" => {
            let body: RejectBody = body_of(body)?;
            let reason = body.reject_reason.ok_or(AppError::Required("reject_reason")).map_err(ApiError::returns)?;
            returns::reject(deps, tenant, key, &reason, body.notify_customer).await
        }
        "resolve" => {
            let _: NotifyBody = optional_body(body)?;
            returns::resolve(deps, tenant, key).await
        }
        "receive-items" => {
            let body: ReceiveBody = body_of(body)?;
            let items = body.items.ok_or(AppError::Required("items")).map_err(ApiError::returns)?;
            return returns::receive(deps, tenant, key, items)
                .await
                .map(|r| one(deps, StatusCode::OK, &r))
                .map_err(ApiError::returns);
        }
        "attach-shipments" => {
            let body: AttachBody = body_of(body)?;
            let mut shipments = body.shipments.ok_or(AppError::Required("shipments")).map_err(ApiError::returns)?;
            if shipments.len() != 1 {
                return Err(invalid("shipments", "shipments must contain at maximum 1 item"));
            }
            let shipment = shipments.remove(0);
            let required =
                |field: &str| invalid(&format!("shipments[0].{field}"), &format!("{field} is a required field"));
            let label = shipment.label.ok_or_else(|| required("label"))?;
            let attach = ShipmentToAttach {
                tracking_number: shipment.tracking_number.ok_or_else(|| required("tracking_number"))?,
                slug: shipment.slug.ok_or_else(|| required("slug"))?,
                label_url: label.url.ok_or_else(|| required("label.url"))?,
                total_charge: label.total_charge,
            };
            returns::attach_shipment(deps, tenant, key, attach).await
        }
        "remove-items" => {
            let body: RemoveBody = body_of(body)?;
            let items = body.items.ok_or(AppError::Required("items")).map_err(ApiError::returns)?;
            let edit_reason = body.edit_reason.ok_or(AppError::Required("edit_reason")).map_err(ApiError::returns)?;
            let items: Vec<(String, u32)> = items.into_iter().map(|i| (i.external_id, i.quantity)).collect();
            return returns::remove_items(deps, tenant, key, &items, &edit_reason)
                .await
                .map(|r| one(deps, StatusCode::OK, &r))
                .map_err(ApiError::returns);
        }
        _ => return Err(ApiError::no_route()),
    };
    // AfterShip answers reject and resolve with 20200 Accepted in a 200, attach with 20000.
    let accepted = matches!(action, "reject" | "resolve");
    result
        .map(|r| {
            let mut response = one(deps, if accepted { StatusCode::ACCEPTED } else { StatusCode::OK }, &r);
            *response.status_mut() = StatusCode::OK;
            response
        })
        .map_err(ApiError::returns)
}

/// The action a path ends with (`.../approve`).
fn action_of(uri: &Uri) -> &str {
    uri.path().rsplit('/').next().unwrap_or_default()
}

pub(super) async fn act_by_id(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    act(&deps, &tenant, ReturnKey::Id(id), action_of(&uri), body).await
}

pub(super) async fn act_by_rma(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(rma): Path<String>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    act(&deps, &tenant, ReturnKey::Rma(rma), action_of(&uri), body).await
}
