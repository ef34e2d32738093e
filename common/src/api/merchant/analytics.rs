//! Analytics under `/porchlight/v1/analytics`: overview, carrier scorecards per lane and
//! exceptions over a range of days (`from`, `to`: `YYYY-MM-DD`, UTC, shipments created then;
//! the last 30 days by default), filtered by courier (`slug`), `origin` and `destination`
//! (alpha-3, each a comma-separated list) and one shipment `tag`, as JSON or (`format=csv`)
//! CSV. Notification reach and return reasons are the merchant's, no lane's: they take no
//! lane filter; carrier health takes `slug`.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::tabular::{Format, answer};
use crate::api::{ApiError, query_params};
use crate::app::analytics::{self, DayRange, LaneFilter};
use crate::app::{AppError, Deps};
use crate::domain::{CountryCode, DomainError, Slug, TenantId};

/// The query every analytics answer takes.
#[derive(Debug, Deserialize)]
pub(super) struct AnalyticsParams {
    from: Option<String>,
    to: Option<String>,
    slug: Option<String>,
    origin: Option<String>,
    destination: Option<String>,
    tag: Option<String>,
    format: Option<String>,
    by_service: Option<String>,
}

fn list<T>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, DomainError>) -> Result<Vec<T>, DomainError> {
    raw.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse).collect()
}

impl AnalyticsParams {
    fn read(
        deps: &Deps,
        query: Result<Query<AnalyticsParams>, QueryRejection>,
    ) -> Result<(Self, DayRange, LaneFilter, Format), ApiError> {
        let params = query_params(query)?;
        let range = DayRange::parse(params.from.as_deref(), params.to.as_deref(), deps.clock.now().date_naive())
            .map_err(AppError::from)?;
        let filter = LaneFilter {
            slugs: list(params.slug.as_deref(), |s| Slug::parse(s).map_err(|e| DomainError::invalid("slug", e.reason)))
                .map_err(AppError::from)?,
            origins: list(params.origin.as_deref(), |c| CountryCode::parse_field("origin", c))
                .map_err(AppError::from)?,
            destinations: list(params.destination.as_deref(), |c| CountryCode::parse_field("destination", c))
                .map_err(AppError::from)?,
            tag: params.tag.clone().map(|tag| tag.trim().to_owned()).filter(|tag| !tag.is_empty()),
        };
        let format = Format::parse(params.format.as_deref())?;
        Ok((params, range, filter, format))
    }

    /// Refuses the lane filters an answer about no lane cannot apply (`slug` too unless
    /// `slugs_apply`).
    fn refuse_lane_filters(&self, slugs_apply: bool) -> Result<(), ApiError> {
        let given = [
            ("slug", self.slug.is_some() && !slugs_apply),
            ("origin", self.origin.is_some()),
            ("destination", self.destination.is_some()),
            ("tag", self.tag.is_some()),
            ("by_service", self.by_service.is_some()),
        ];
        match given.into_iter().find(|(_, given)| *given) {
            Some((name, _)) => {
                Err(AppError::from(DomainError::invalid(name, "does not apply to this answer, which is no lane's"))
                    .into())
            }
            None => Ok(()),
        }
    }
}

/// `GET /porchlight/v1/analytics/overview`.
pub(super) async fn overview(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (_, range, filter, format) = AnalyticsParams::read(&deps, query)?;
    let overview = analytics::overview(&deps, &tenant, range, &filter).await?;
    answer(format, &overview, analytics::overview_csv)
}

/// `GET /porchlight/v1/analytics/carriers`: a scorecard per lane (`by_service=true` splits
/// lanes by the carrier's service).
pub(super) async fn carriers(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, range, filter, format) = AnalyticsParams::read(&deps, query)?;
    let by_service = match params.by_service.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::from(DomainError::invalid("by_service", "must be true or false")).into()),
    };
    let card = analytics::carrier_scorecard(&deps, &tenant, range, &filter, by_service).await?;
    answer(format, &card, analytics::carriers_csv)
}

/// `GET /porchlight/v1/analytics/exceptions`.
pub(super) async fn exceptions(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (_, range, filter, format) = AnalyticsParams::read(&deps, query)?;
    let breakdown = analytics::exceptions_breakdown(&deps, &tenant, range, &filter).await?;
    answer(format, &breakdown, analytics::exceptions_csv)
}

/// `GET /porchlight/v1/analytics/notifications`: how shoppers' notifications ended, per
/// channel, and merchants' webhook deliveries.
pub(super) async fn notifications(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, range, _, format) = AnalyticsParams::read(&deps, query)?;
    params.refuse_lane_filters(false)?;
    let reach = analytics::notification_reach(&deps, &tenant, range).await?;
    answer(format, &reach, analytics::notifications_csv)
}

/// `GET /porchlight/v1/analytics/returns`: returns asked for and their items by reason.
pub(super) async fn returns(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, range, _, format) = AnalyticsParams::read(&deps, query)?;
    params.refuse_lane_filters(false)?;
    let reasons = analytics::return_reasons(&deps, &tenant, range).await?;
    answer(format, &reasons, analytics::returns_csv)
}

/// `GET /porchlight/v1/analytics/carrier-health`: each carrier's events per day and the share
/// whose code no adapter rule knew.
pub(super) async fn carrier_health(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    query: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, range, filter, format) = AnalyticsParams::read(&deps, query)?;
    params.refuse_lane_filters(true)?;
    let health = analytics::carrier_health(&deps, &tenant, range, &filter.slugs).await?;
    answer(format, &health, analytics::carrier_health_csv)
}
