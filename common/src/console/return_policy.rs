//! The return policy's editor: the window, what may come back, the resolutions and methods
//! offered, flagged customers. Reasons, fees and the automatic rules are changed through the
//! API and summed up here.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Console, Fields, Visitor, failure, fields, notice_text, one, page, see_other};
use crate::app::AppError;
use crate::app::returns::{self as returns, PolicyWrite};
use crate::domain::{Action, DomainError, Resolution, ReturnMethod, ReturnPolicy, WindowStart};

/// A domain value read from its wire spelling (its serde name).
fn spelled<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// A domain value's wire spelling.
fn spelling<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The values of a comma-separated field.
fn list(fields: &Fields, name: &str, separator: char) -> Vec<String> {
    one(fields, name).split(separator).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// The policy change the form asks for (checked when applied).
fn write_of(fields: &Fields) -> Result<PolicyWrite, AppError> {
    let number = |name: &str| -> Result<Option<u32>, AppError> {
        match one(fields, name) {
            "" => Ok(None),
            raw => raw.parse().map(Some).map_err(|_| DomainError::invalid(name, "must be a whole number").into()),
        }
    };
    let all = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let resolutions = all("resolutions")
        .iter()
        .map(|r| {
            spelled::<Resolution>(r).ok_or_else(|| DomainError::invalid("resolutions", "must be resolutions offered"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let methods = all("methods")
        .iter()
        .map(|m| spelled::<ReturnMethod>(m).ok_or_else(|| DomainError::invalid("methods", "must be return methods")))
        .collect::<Result<Vec<_>, _>>()?;
    let window_from = spelled::<WindowStart>(one(fields, "window_from"))
        .ok_or_else(|| DomainError::invalid("window_from", "choose what the window counts from"))?;
    Ok(PolicyWrite {
        window_days: number("window_days")?,
        window_from: Some(window_from),
        excluded_tags: Some(list(fields, "excluded_tags", ',')),
        excluded_skus: Some(list(fields, "excluded_skus", ',')),
        excluded_categories: Some(list(fields, "excluded_categories", ',')),
        max_quantity_per_line: Some(number("max_quantity_per_line")?),
        resolutions: Some(resolutions),
        store_credit_bonus_percent: number("store_credit_bonus_percent")?,
        methods: Some(methods),
        flagged_emails: Some(list(fields, "flagged_emails", '\n')),
        approved_expiry_days: number("approved_expiry_days")?,
        ..PolicyWrite::default()
    })
}

#[derive(Deserialize, Default)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// The editor for `policy`, with `problem` above it.
fn editor(visitor: &Visitor, policy: &ReturnPolicy, problem: Option<String>, notice: Option<&str>) -> Response {
    let choice =
        |value: String, label: &str, on: bool| minijinja::context! { value => value, label => label, on => on };
    let window_from = [
        (WindowStart::Order, "The order"),
        (WindowStart::Fulfillment, "Its fulfilment"),
        (WindowStart::Delivery, "Its delivery"),
    ]
    .iter()
    .map(|(w, label)| choice(spelling(w), label, *w == policy.window_from))
    .collect::<Vec<_>>();
    let resolutions =
        [(Resolution::Refund, "Refund"), (Resolution::StoreCredit, "Store credit"), (Resolution::Exchange, "Exchange")]
            .iter()
            .map(|(r, label)| choice(spelling(r), label, policy.resolutions.contains(r)))
            .collect::<Vec<_>>();
    let methods = [
        (ReturnMethod::RetailerLabel, "A label from the shop"),
        (ReturnMethod::CustomerCourier, "The shopper's own courier"),
        (ReturnMethod::DropOff, "Drop-off at a location"),
        (ReturnMethod::GreenReturn, "Keep it (green return)"),
    ]
    .iter()
    .map(|(m, label)| choice(spelling(m), label, policy.methods.contains(m)))
    .collect::<Vec<_>>();
    let shown = minijinja::context! {
        version => policy.version,
        window_days => policy.window_days,
        window_from => spelling(&policy.window_from),
        approved_expiry_days => policy.approved_expiry_days,
        excluded_tags => policy.excluded_tags.join(", "),
        excluded_skus => policy.excluded_skus.join(", "),
        excluded_categories => policy.excluded_categories.join(", "),
        max_quantity_per_line => policy.max_quantity_per_line,
        store_credit_bonus_percent => policy.store_credit_bonus_percent,
        flagged_emails => policy.flagged_emails.join("\n"),
        reasons => policy.reasons.len(),
        fees => policy.fees.len(),
        auto_approve => if policy.auto_approve.is_some() { "on" } else { "off" },
        auto_reject => if policy.auto_reject.is_some() { "on" } else { "off" },
    };
    let mut layout = visitor.layout("returns");
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    layout.problem = problem;
    layout.notice = notice.and_then(notice_text).map(str::to_owned);
    let content =
        minijinja::context! { p => shown, window_from => window_from, resolutions => resolutions, methods => methods };
    page(status, "console/return_policy.html", "Return policy", &layout, content)
}

pub(super) async fn edit(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    match returns::return_policy(&console.deps, &visitor.member.tenant_id).await {
        Ok(policy) => editor(&visitor, &policy, None, query.ok().and_then(|Query(q)| q.notice).as_deref()),
        Err(error) => failure(&error),
    }
}

pub(super) async fn change(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let tenant = &visitor.member.tenant_id;
    let saved = match write_of(&fields(&body)) {
        Ok(write) => returns::update_return_policy(&console.deps, tenant, write).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(policy) => {
            visitor
                .audit(&console.deps, "return_policy.changed", "return_policy", &format!("version {}", policy.version))
                .await;
            see_other("/console/returns/policy?notice=policy_saved")
        }
        Err(AppError::Invalid(invalid)) => match returns::return_policy(&console.deps, tenant).await {
            Ok(policy) => editor(&visitor, &policy, Some(format!("Not saved: {invalid}.")), None),
            Err(error) => failure(&error),
        },
        Err(error) => failure(&error),
    }
}
