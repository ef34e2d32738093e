//! The merchant API: AfterShip's Tracking API 2026-07 under [`PREFIX`], its Returns API
//! 2026-07 under [`RETURNS_PREFIX`] and Porchlight's extensions under [`EXTENSIONS`], all
//! authenticated by the `as-api-key` header, with the OpenAPI document and the health check.

mod analytics;
mod connections;
mod connectors;
mod couriers;
mod edd;
mod evidence;
mod exceptions;
mod imports;
mod notification_rules;
mod orders;
mod pages;
mod privacy;
mod reports;
mod returns;
mod suppressions;
mod tabular;
mod trackings;
mod webhooks;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{ApiError, openapi};
use crate::app::{self, Deps};

/// A page size from a `limit` query parameter: `default` when absent or empty, else a whole
/// number from 1 to `max` (anything else is refused naming `limit`).
fn page_limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, crate::domain::DomainError> {
    crate::api::body::whole_number("limit", raw, default, 1..=max)
}

/// A shipments cursor (`Cursor::encode`'s text) given as `cursor`; an empty one is none.
fn shipments_cursor(raw: Option<&str>) -> Result<Option<crate::ports::Cursor>, crate::domain::DomainError> {
    raw.filter(|c| !c.is_empty())
        .map(|c| {
            crate::ports::Cursor::decode(c)
                .ok_or_else(|| crate::domain::DomainError::invalid("cursor", "is not a cursor this API returned"))
        })
        .transpose()
}

/// A page of a listing in id order: `?cursor=<the last id seen>&limit=`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct IdPage {
    cursor: Option<String>,
    limit: Option<String>,
}

impl IdPage {
    /// The cursor (none when empty) and the page size (`default` when absent or empty, else 1
    /// to `max`).
    fn read(
        query: Result<axum::extract::Query<IdPage>, axum::extract::rejection::QueryRejection>,
        default: usize,
        max: usize,
    ) -> Result<(Option<String>, usize), ApiError> {
        let page = crate::api::query_params(query)?;
        let limit = page_limit(page.limit.as_deref().filter(|s| !s.is_empty()), default, max)
            .map_err(crate::app::AppError::from)?;
        Ok((page.cursor.filter(|c| !c.is_empty()), limit))
    }
}

/// The API version prefix this router serves.
pub const PREFIX: &str = "/tracking/2026-07";
/// The Returns API's prefix (AfterShip Returns 2026-07).
pub const RETURNS_PREFIX: &str = "/returns/2026-07";
/// The actions the Returns API takes on a return, by id or by RMA number.
pub(crate) const RETURN_ACTIONS: [&str; 6] =
    ["approve", "reject", "resolve", "receive-items", "attach-shipments", "remove-items"];
/// The prefix of Porchlight's own extensions, with the same key and envelope.
pub const EXTENSIONS: &str = "/porchlight/v1";

/// The merchant API, the OpenAPI document and the health check.
pub fn merchant_router(deps: Deps) -> Router {
    let authenticated = Router::new()
        .route("/trackings", get(trackings::list).post(trackings::create))
        .route("/trackings/{id}", get(trackings::get).put(trackings::update).delete(trackings::delete))
        .route("/trackings/{id}/retrack", post(trackings::retrack))
        .route("/trackings/{id}/mark-as-completed", post(trackings::mark_completed))
        .route("/couriers", get(couriers::list))
        .route("/couriers/all", get(couriers::list_all))
        .route("/couriers/detect", post(couriers::detect))
        .route("/estimated-delivery-date/predict", post(edd::predict))
        .route("/estimated-delivery-date/predict-batch", post(edd::predict_batch))
        .route("/courier-connections", get(connections::list).post(connections::create))
        .route(
            "/courier-connections/{id}",
            get(connections::get).patch(connections::update).delete(connections::delete),
        )
        .route_layer(middleware::from_fn_with_state(deps.clone(), authenticate));
    let extensions = Router::new()
        .route("/tracking-page", get(pages::get).put(pages::update))
        .route("/analytics/overview", get(analytics::overview))
        .route("/analytics/carriers", get(analytics::carriers))
        .route("/analytics/exceptions", get(analytics::exceptions))
        .route("/analytics/notifications", get(analytics::notifications))
        .route("/analytics/returns", get(analytics::returns))
        .route("/analytics/carrier-health", get(analytics::carrier_health))
        .route("/trackings/{id}/evidence", get(evidence::get))
        .route("/imports", post(imports::start))
        .route("/exports/trackings", get(imports::export_trackings))
        .route("/connectors", get(connectors::list).post(connectors::create))
        .route("/connectors/{id}", get(connectors::get).delete(connectors::delete))
        .route("/connectors/{id}/backfills", post(connectors::backfill))
        .route("/reports", post(reports::create))
        .route("/report-settings", get(reports::get_settings).put(reports::put_settings))
        .route("/reports/{id}/{file}", get(reports::file))
        .route("/imports/{id}", get(imports::get))
        .route("/notification-rules", get(notification_rules::list).post(notification_rules::create))
        .route("/notification-rules/preview", post(notification_rules::preview))
        .route(
            "/notification-rules/{id}",
            get(notification_rules::get).put(notification_rules::update).delete(notification_rules::delete),
        )
        .route("/notification-templates", get(notification_rules::list_texts))
        .route(
            "/notification-templates/{trigger}/{language}",
            axum::routing::put(notification_rules::save_texts).delete(notification_rules::delete_texts),
        )
        .route("/exception-rules", get(exceptions::list_rules).post(exceptions::create_rule))
        .route(
            "/exception-rules/{id}",
            get(exceptions::get_rule).put(exceptions::update_rule).delete(exceptions::delete_rule),
        )
        .route("/exceptions", get(exceptions::list_cases))
        .route("/exceptions/{id}", get(exceptions::get_case).patch(exceptions::change_case))
        .route("/orders", get(orders::list).post(orders::upsert))
        .route("/orders/{id}", get(orders::get))
        .route("/privacy/exports", post(privacy::export))
        .route("/privacy/erasures", post(privacy::erase))
        .route("/return-policy", get(returns::get_policy).put(returns::put_policy))
        .route("/returns/report", get(returns::report))
        .route("/suppressions", get(suppressions::list).post(suppressions::create))
        .route("/suppressions/{id}", get(suppressions::get).delete(suppressions::delete))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::get).delete(webhooks::delete))
        .route("/webhooks/{id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/replay", post(webhooks::replay_delivery))
        .route("/webhooks/{id}/replay", post(webhooks::replay))
        .route_layer(middleware::from_fn_with_state(deps.clone(), authenticate));
    let returns_api = Router::new()
        .route("/returns", get(returns::list).post(returns::create))
        .route("/returns/{return_id}", get(returns::get_by_id))
        .route("/returns/rma/{rma_number}", get(returns::get_by_rma));
    let returns_api = RETURN_ACTIONS.iter().fold(returns_api, |router, action| {
        router
            .route(&format!("/returns/{{return_id}}/{action}"), post(returns::act_by_id))
            .route(&format!("/returns/rma/{{rma_number}}/{action}"), post(returns::act_by_rma))
    });
    let returns_api = returns_api.route_layer(middleware::from_fn_with_state(deps.clone(), authenticate_returns));
    Router::new()
        .nest(PREFIX, authenticated)
        .nest(RETURNS_PREFIX, returns_api)
        .nest(EXTENSIONS, extensions)
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(deps)
}

async fn authenticate(State(deps): State<Deps>, request: Request, next: Next) -> Response {
    authenticate_as(&deps, request, next, false).await
}

/// The Returns API's key check: its refusals in its own shape.
async fn authenticate_returns(State(deps): State<Deps>, request: Request, next: Next) -> Response {
    authenticate_as(&deps, request, next, true).await
}

/// Authenticates the key (refusing in the Returns API's shape when `returns`), then counts it
/// against the rate limit, if one is set: every answer carries the limit's headers.
async fn authenticate_as(deps: &Deps, mut request: Request, next: Next, returns: bool) -> Response {
    let refusal = if returns { ApiError::returns } else { ApiError::from };
    let key = request.headers().get("as-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let tenant = match app::authenticate(deps, key.as_deref()).await {
        Ok(tenant) => tenant,
        Err(error) => return refusal(error).into_response(),
    };
    let own = app::operator::rate_limit_of(deps, &tenant).await.unwrap_or_else(|error| {
        tracing::warn!(tenant_id = %tenant, error = %error, "merchant's rate limit unreadable; the default applies");
        None
    });
    request.extensions_mut().insert(tenant);
    let Some(per_second) = own.or(deps.rate_limit) else { return next.run(request).await };
    let verdict = deps.rate_limiter.check(key.as_deref().unwrap_or_default(), per_second, deps.clock.now());
    let mut response = if verdict.allowed {
        next.run(request).await
    } else {
        let error = ApiError::too_many_requests(format!(
            "you have exceeded the API call rate limit of {} requests per second; retry after the reset",
            verdict.limit
        ));
        if returns { error.in_returns_shape() } else { error }.into_response()
    };
    verdict.write(response.headers_mut());
    response
}
