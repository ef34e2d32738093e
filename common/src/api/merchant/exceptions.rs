//! `/porchlight/v1/exception-rules` and `/porchlight/v1/exceptions`: the merchant's exception
//! rules, one at a time, and the queue of cases they open (a Porchlight extension).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::trackings::instant;
use crate::api::{ApiError, envelope, parse_body};
use crate::app::exceptions::{self, CaseWrite, ExceptionRuleWrite};
use crate::app::{AppError, Deps};
use crate::domain::{CaseState, DomainError, Severity, Slug, TenantId};
use crate::ports::{CaseFilter, ExceptionCase};

/// Cases a page holds unless asked for fewer.
const DEFAULT_LIMIT: usize = 50;
/// The most a page holds.
const MAX_LIMIT: usize = 200;

pub(super) async fn list_rules(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
) -> Result<Response, ApiError> {
    let (rules, _) = exceptions::exception_rules(&deps, &tenant).await?;
    Ok(envelope(StatusCode::OK, rules))
}

pub(super) async fn create_rule(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: ExceptionRuleWrite = parse_body(body)?;
    Ok(envelope(StatusCode::CREATED, exceptions::create_rule(&deps, &tenant, write).await?))
}

pub(super) async fn get_rule(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, exceptions::get_rule(&deps, &tenant, &id).await?))
}

pub(super) async fn update_rule(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: ExceptionRuleWrite = parse_body(body)?;
    Ok(envelope(StatusCode::OK, exceptions::update_rule(&deps, &tenant, &id, write).await?))
}

pub(super) async fn delete_rule(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, exceptions::delete_rule(&deps, &tenant, &id).await?))
}

fn case_json(case: &ExceptionCase) -> Value {
    crate::api::wire::exception_case_json(case)
}

/// `GET /exceptions`' filters.
#[derive(Debug, Deserialize)]
pub(super) struct CaseParams {
    rule_id: Option<String>,
    severity: Option<String>,
    state: Option<String>,
    slug: Option<String>,
    opened_before: Option<String>,
    opened_after: Option<String>,
    limit: Option<String>,
}

impl CaseParams {
    fn filter(&self) -> Result<(CaseFilter, usize), DomainError> {
        let given = |raw: &Option<String>| raw.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        let severity = given(&self.severity)
            .map(|s| {
                Severity::parse(&s)
                    .ok_or_else(|| DomainError::invalid("severity", "must be low, medium, high or critical"))
            })
            .transpose()?;
        let state = given(&self.state)
            .map(|s| CaseState::parse(&s).ok_or_else(|| DomainError::invalid("state", "must be open or resolved")))
            .transpose()?;
        let slug = given(&self.slug).map(|s| Slug::parse(&s)).transpose()?;
        let limit = super::page_limit(given(&self.limit).as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
        let filter = CaseFilter {
            rule_id: given(&self.rule_id),
            severity,
            state,
            slug,
            opened_before: instant("opened_before", &self.opened_before)?,
            opened_since: instant("opened_after", &self.opened_after)?,
        };
        Ok((filter, limit))
    }
}

pub(super) async fn list_cases(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    params: Result<Query<CaseParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::api::query_params(params)?;
    let (filter, limit) = params.filter().map_err(AppError::from)?;
    let cases = exceptions::list_cases(&deps, &tenant, &filter, limit).await?;
    Ok(envelope(StatusCode::OK, json!({ "exceptions": cases.iter().map(case_json).collect::<Vec<_>>() })))
}

pub(super) async fn get_case(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(envelope(StatusCode::OK, case_json(&exceptions::get_case(&deps, &tenant, &id).await?)))
}

pub(super) async fn change_case(
    State(deps): State<Deps>,
    Extension(tenant): Extension<TenantId>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let write: CaseWrite = parse_body(body)?;
    Ok(envelope(StatusCode::OK, case_json(&exceptions::change_case(&deps, &tenant, &id, &write).await?)))
}
