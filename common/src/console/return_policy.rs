//! The return policy's editor: the window, what may come back, the reasons shoppers choose
//! from (with what each requires), the resolutions, methods and their fees, automatic approval
//! and rejection, flagged customers. Rows of reasons and fees are numbered fields
//! (`reasons.0.label`); spare empty rows add new ones, and a ticked "remove" drops one.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::rule_forms::{list, ticked};
use super::{Console, Fields, Visitor, failure, fields, notice_text, one, page, see_other};
use crate::app::AppError;
use crate::app::returns::{self as returns, PolicyWrite};
use crate::domain::{
    Action, AutoRule, CountryCode, DomainError, MethodFee, Reason, Resolution, ReturnMethod, ReturnPolicy, WindowStart,
};

/// Empty rows the form offers for new reasons and fees.
const SPARE_ROWS: usize = 2;
/// Most rows read from a form.
const MAX_ROWS: usize = 100;

/// Every resolution and method, with how the team reads it.
const RESOLUTIONS: [(Resolution, &str); 3] =
    [(Resolution::Refund, "Refund"), (Resolution::StoreCredit, "Store credit"), (Resolution::Exchange, "Exchange")];
const METHODS: [(ReturnMethod, &str); 4] = [
    (ReturnMethod::RetailerLabel, "A label from the shop"),
    (ReturnMethod::CustomerCourier, "The shopper's own courier"),
    (ReturnMethod::DropOff, "Drop-off at a location"),
    (ReturnMethod::GreenReturn, "Keep it (green return)"),
];

/// A domain value read from its wire spelling (its serde name).
fn spelled<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

/// A domain value's wire spelling.
fn spelling<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The numbers of the rows `{prefix}.{i}.*` of the form that are kept: `key` filled in and
/// "remove" not ticked.
fn kept_rows(fields: &Fields, prefix: &str, key: &str) -> Vec<usize> {
    (0..MAX_ROWS)
        .take_while(|i| fields.contains_key(&format!("{prefix}.{i}.{key}")))
        .filter(|i| !ticked(fields, &format!("{prefix}.{i}.remove")))
        .filter(|i| !one(fields, &format!("{prefix}.{i}.{key}")).is_empty())
        .collect()
}

/// The reasons in the form's rows.
fn reasons_of(fields: &Fields) -> Result<Vec<Reason>, AppError> {
    let mut reasons = Vec::new();
    for i in kept_rows(fields, "reasons", "label") {
        let row = |name: &str| one(fields, &format!("reasons.{i}.{name}")).to_owned();
        let resolutions = fields
            .get(&format!("reasons.{i}.resolutions"))
            .into_iter()
            .flatten()
            .map(|r| {
                spelled::<Resolution>(r)
                    .ok_or_else(|| DomainError::invalid("reasons.resolutions", "must be resolutions offered"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min_photos = match row("min_photos").as_str() {
            "" => 0,
            n => n.parse().map_err(|_| DomainError::invalid("reasons.min_photos", "must be 0 to 10"))?,
        };
        let label = row("label");
        let id = match row("id") {
            id if id.is_empty() => label.to_lowercase().split_whitespace().collect::<Vec<_>>().join("_"),
            id => id,
        };
        reasons.push(Reason {
            id,
            label,
            subreasons: list(fields, &format!("reasons.{i}.subreasons"), ','),
            requires_comment: ticked(fields, &format!("reasons.{i}.requires_comment")),
            min_photos,
            resolutions,
        });
    }
    Ok(reasons)
}

/// The fees in the form's rows (countries in alpha-2 or alpha-3, kept as alpha-3).
fn fees_of(fields: &Fields) -> Result<Vec<MethodFee>, AppError> {
    kept_rows(fields, "fees", "fee_minor")
        .into_iter()
        .map(|i| {
            let row = |name: &str| one(fields, &format!("fees.{i}.{name}")).to_owned();
            let method = spelled::<ReturnMethod>(&row("method"))
                .ok_or_else(|| DomainError::invalid("fees.method", "must be a return method"))?;
            let countries = list(fields, &format!("fees.{i}.countries"), ',')
                .iter()
                .map(|c| {
                    CountryCode::from_carrier(c).map(|code| code.as_str().to_owned()).ok_or_else(|| {
                        DomainError::invalid("fees.countries", "must be country codes such as US or DEU")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let fee_minor = row("fee_minor")
                .parse()
                .map_err(|_| DomainError::invalid("fees.fee_minor", "must be a whole number of cents"))?;
            Ok(MethodFee { method, countries, fee_minor })
        })
        .collect()
}

/// The automatic rule `name` (`auto_approve`, `auto_reject`), if it is on.
fn auto_rule_of(fields: &Fields, name: &str) -> Result<Option<AutoRule>, AppError> {
    if !ticked(fields, &format!("{name}.on")) {
        return Ok(None);
    }
    let max_total_minor =
        match one(fields, &format!("{name}.max_total_minor")) {
            "" => None,
            n => Some(n.parse().map_err(|_| {
                DomainError::invalid(format!("{name}.max_total_minor"), "must be a whole number of cents")
            })?),
        };
    Ok(Some(AutoRule {
        max_total_minor,
        reasons: list(fields, &format!("{name}.reasons"), ','),
        unflagged_customers_only: ticked(fields, &format!("{name}.unflagged_only")),
    }))
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
    let has = |name: &str| fields.contains_key(name);
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
        // A section the form does not carry (a partial post) keeps its value.
        reasons: has("reasons.0.label").then(|| reasons_of(fields)).transpose()?,
        fees: has("fees.0.fee_minor").then(|| fees_of(fields)).transpose()?,
        auto_approve: has("auto_approve.max_total_minor").then(|| auto_rule_of(fields, "auto_approve")).transpose()?,
        auto_reject: has("auto_reject.max_total_minor").then(|| auto_rule_of(fields, "auto_reject")).transpose()?,
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
    let resolutions = RESOLUTIONS
        .iter()
        .map(|(r, label)| choice(spelling(r), label, policy.resolutions.contains(r)))
        .collect::<Vec<_>>();
    let methods =
        METHODS.iter().map(|(m, label)| choice(spelling(m), label, policy.methods.contains(m))).collect::<Vec<_>>();
    let blank_reason = Reason {
        id: String::new(),
        label: String::new(),
        subreasons: Vec::new(),
        requires_comment: false,
        min_photos: 0,
        resolutions: Vec::new(),
    };
    let reasons: Vec<_> = policy
        .reasons
        .iter()
        .chain(std::iter::repeat_n(&blank_reason, SPARE_ROWS))
        .map(|r| {
            let resolutions: Vec<_> = RESOLUTIONS
                .iter()
                .map(|(res, label)| choice(spelling(res), label, r.resolutions.contains(res)))
                .collect();
            minijinja::context! {
                id => r.id.clone(), label => r.label.clone(), subreasons => r.subreasons.join(", "),
                requires_comment => r.requires_comment, min_photos => r.min_photos, resolutions => resolutions,
            }
        })
        .collect();
    let fees: Vec<_> = policy
        .fees
        .iter()
        .map(|f| minijinja::context! { method => spelling(&f.method), countries => f.countries.join(", "), fee_minor => f.fee_minor })
        .chain(std::iter::repeat_n(minijinja::context! { method => "", countries => "", fee_minor => "" }, SPARE_ROWS))
        .collect();
    let auto = |rule: &Option<AutoRule>| {
        minijinja::context! {
            on => rule.is_some(),
            max_total_minor => rule.as_ref().and_then(|r| r.max_total_minor),
            reasons => rule.as_ref().map(|r| r.reasons.join(", ")).unwrap_or_default(),
            unflagged_only => rule.as_ref().is_some_and(|r| r.unflagged_customers_only),
        }
    };
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
        reasons => reasons,
        fees => fees,
        auto_approve => auto(&policy.auto_approve),
        auto_reject => auto(&policy.auto_reject),
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
