//! What the returns portal shows: an order's lines with what each allows and why not, the
//! choices the policy offers, the shopper's answers kept across a refused submission, and the
//! confirmation; every text in the shopper's language.

#![allow(missing_docs)] // view models: each field is what the templates read under that name
use std::collections::HashMap;

use serde::Serialize;

use crate::domain::{
    ApprovalStatus, FINAL_SALE_TAG, LineEligibility, Money, Order, Reason, Refusal, Resolution, Return, ReturnMethod,
    ReturnPolicy, Violation,
};
use crate::web::Catalog;

/// What the shopper chose for one line (kept when a submission is refused).
#[derive(Debug, Clone, Default)]
pub struct LineAnswer {
    pub quantity: u32,
    pub reason: String,
    pub subreason: String,
    pub comment: String,
    pub resolution: String,
    pub exchange: String,
}

/// The whole form's answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub lines: HashMap<usize, LineAnswer>,
    pub method: String,
}

#[derive(Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Serialize)]
pub struct LineView {
    pub index: usize,
    pub title: String,
    pub variant: Option<String>,
    pub image_url: Option<String>,
    pub ordered: String,
    pub price: String,
    pub refusal: Option<String>,
    pub quantities: Vec<Choice>,
    pub reasons: Vec<Choice>,
    pub subreasons: Vec<Choice>,
    pub resolutions: Vec<Choice>,
    pub comment: String,
    pub exchange: String,
    pub errors: Vec<String>,
}

#[derive(Serialize)]
pub struct MethodView {
    pub value: &'static str,
    pub label: String,
    pub fee: String,
    pub checked: bool,
}

#[derive(Serialize)]
pub struct FormView {
    pub heading: String,
    pub lines: Vec<LineView>,
    pub any_returnable: bool,
    pub methods: Vec<MethodView>,
    pub hints: Vec<String>,
    pub offers_exchange: bool,
    pub errors: Vec<String>,
    pub order_number: String,
    pub email: String,
    pub postal_code: String,
}

/// The wire spelling of a method (the form's values).
pub fn method_value(method: ReturnMethod) -> &'static str {
    match method {
        ReturnMethod::RetailerLabel => "retailer_label",
        ReturnMethod::CustomerCourier => "customer_courier",
        ReturnMethod::DropOff => "drop_off",
        ReturnMethod::GreenReturn => "green_return",
    }
}

/// The wire spelling of a resolution (the form's values).
pub fn resolution_value(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Refund => "refund",
        Resolution::StoreCredit => "store_credit",
        Resolution::Exchange => "exchange",
    }
}

/// A reason's label in the shopper's language: the catalog's for a default reason the
/// merchant left as it was, else the merchant's own wording.
pub fn reason_label(catalog: &Catalog, reason: &Reason) -> String {
    let key = format!("reason_{}", reason.id);
    let default = ReturnPolicy::defaults().reasons.into_iter().find(|r| r.id == reason.id);
    match default {
        Some(default) if default.label == reason.label && catalog.ui(&key) != key => catalog.ui(&key).to_owned(),
        _ => reason.label.clone(),
    }
}

/// Why a line cannot be returned, in the shopper's language.
pub fn refusal_text(catalog: &Catalog, refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotYetOpen => catalog.ui("refusal_not_yet_open").to_owned(),
        Refusal::WindowClosed { closed_at } => {
            catalog.ui_with("refusal_window_closed", &[("date", &catalog.date(closed_at.date_naive()))])
        }
        Refusal::NotReturnable { because } if because == FINAL_SALE_TAG => catalog.ui("refusal_final_sale").to_owned(),
        Refusal::NotReturnable { .. } => catalog.ui("refusal_not_returnable").to_owned(),
        Refusal::AlreadyReturned => catalog.ui("refusal_already_returned").to_owned(),
    }
}

/// A problem to show: the order line it is about (none: the whole form) and the text.
pub type Refused = (Option<usize>, String);

/// A violation in the shopper's language: the request line it is about (if any; `positions`
/// maps request lines to the order's) and the text.
pub fn violation_text(
    catalog: &Catalog,
    policy: &ReturnPolicy,
    answers: &Answers,
    positions: &[usize],
    violation: &Violation,
) -> Refused {
    let line = violation
        .path
        .strip_prefix("return_items[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse::<usize>().ok());
    let field = violation.path.rsplit('.').next().unwrap_or_default();
    let count = |n: u64| catalog.number(n);
    let text = match field {
        "return_items" => catalog.ui("return_error_choose_item").to_owned(),
        "return_reason" => catalog.ui("return_error_reason").to_owned(),
        "return_subreason" => catalog.ui("return_error_subreason").to_owned(),
        "return_reason_comment" => catalog.ui("return_error_comment").to_owned(),
        "shopper_uploaded_image_urls" => {
            let needed = line
                .and_then(|l| positions.get(l))
                .and_then(|l| answers.lines.get(l))
                .and_then(|a| policy.reasons.iter().find(|r| r.id == a.reason))
                .map_or(1, |r| u64::from(r.min_photos));
            catalog.ui_with("return_error_photos", &[("count", &count(needed))])
        }
        "intended_return_quantity" => {
            let at_most = violation.info.split_whitespace().find_map(|w| w.parse::<u64>().ok()).unwrap_or(0);
            catalog.ui_with("return_error_quantity", &[("count", &count(at_most))])
        }
        "resolution" => catalog.ui("return_error_resolution").to_owned(),
        "type" => catalog.ui("return_error_method").to_owned(),
        "exchange_variant" | "title" => catalog.ui("return_error_exchange").to_owned(),
        // The line cannot be returned (its eligibility changed since the form was shown): the
        // form says why beside it.
        _ => catalog.ui("return_not_returnable").to_owned(),
    };
    (line, text)
}

/// The fee of `method` for `order`'s destination, in the shopper's language.
fn fee(catalog: &Catalog, policy: &ReturnPolicy, order: &Order, method: ReturnMethod, currency: &str) -> String {
    let country = order.shipping_address.country_region.map(|c| c.as_str().to_owned());
    let minor = policy
        .fees
        .iter()
        .filter(|f| f.method == method)
        .find(|f| f.countries.is_empty() || country.as_ref().is_some_and(|c| f.countries.contains(c)))
        .map_or(0, |f| f.fee_minor);
    if minor == 0 {
        catalog.ui("return_fee_free").to_owned()
    } else {
        catalog.ui_with("return_fee", &[("amount", &catalog.money(&Money::from_minor(minor, currency)))])
    }
}

/// The form for `order`'s lines under `policy`.
#[allow(clippy::too_many_arguments)] // one call site, every argument named there
pub fn form(
    catalog: &Catalog,
    policy: &ReturnPolicy,
    order: &Order,
    lines: &[LineEligibility],
    answers: &Answers,
    errors: &[Refused],
    proof: (&str, &str),
) -> FormView {
    let number = order.order_number.clone().unwrap_or_else(|| order.external_id.clone());
    let currency = order.currency.clone().or_else(|| order.items.first().map(|i| i.unit_price.currency.clone()));
    let currency = currency.unwrap_or_else(|| "USD".to_owned());
    let choice = |value: &str, label: String, selected: &str| Choice {
        value: value.to_owned(),
        label,
        selected: value == selected,
    };
    let views = order
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let line = lines.iter().find(|l| l.item == item.external_id);
            let answer = answers.lines.get(&index).cloned().unwrap_or_default();
            let returnable = line.map_or(0, |l| l.returnable_quantity);
            let mut reasons = vec![Choice {
                value: String::new(),
                label: catalog.ui("return_choose_reason").into(),
                selected: answer.reason.is_empty(),
            }];
            reasons.extend(policy.reasons.iter().map(|r| choice(&r.id, reason_label(catalog, r), &answer.reason)));
            let mut subreasons = Vec::new();
            if policy.reasons.iter().any(|r| !r.subreasons.is_empty()) {
                subreasons.push(Choice {
                    value: String::new(),
                    label: catalog.ui("return_choose_subreason").into(),
                    selected: answer.subreason.is_empty(),
                });
                for reason in policy.reasons.iter().filter(|r| !r.subreasons.is_empty()) {
                    let label = reason_label(catalog, reason);
                    subreasons.extend(
                        reason.subreasons.iter().map(|s| choice(s, format!("{label}: {s}"), &answer.subreason)),
                    );
                }
            }
            let resolution_selected = if answer.resolution.is_empty() { "refund" } else { answer.resolution.as_str() };
            let resolutions = policy
                .resolutions
                .iter()
                .map(|r| {
                    let label = match r {
                        Resolution::StoreCredit if policy.store_credit_bonus_percent > 0 => catalog.ui_with(
                            "resolution_store_credit_bonus",
                            &[("percent", &catalog.number(u64::from(policy.store_credit_bonus_percent)))],
                        ),
                        other => catalog.ui(&format!("resolution_{}", resolution_value(*other))).to_owned(),
                    };
                    choice(resolution_value(*r), label, resolution_selected)
                })
                .collect();
            LineView {
                index,
                title: item.title.clone(),
                variant: item.variant_title.clone(),
                image_url: item.image_url.clone().filter(|u| u.starts_with("https://")),
                ordered: catalog
                    .ui_with("return_item_ordered", &[("count", &catalog.number(u64::from(item.quantity)))]),
                price: catalog.money(&item.unit_price),
                refusal: line.and_then(|l| l.refusal.as_ref()).map(|r| refusal_text(catalog, r)),
                quantities: (0..=returnable)
                    .map(|n| Choice {
                        value: n.to_string(),
                        label: catalog.number(u64::from(n)),
                        selected: n == answer.quantity,
                    })
                    .collect(),
                reasons,
                subreasons,
                resolutions,
                comment: answer.comment.clone(),
                exchange: answer.exchange.clone(),
                errors: errors.iter().filter(|(l, _)| *l == Some(index)).map(|(_, e)| e.clone()).collect(),
            }
        })
        .collect::<Vec<_>>();
    let hints = policy
        .reasons
        .iter()
        .filter_map(|r| {
            let reason = reason_label(catalog, r);
            let photos = catalog.number(u64::from(r.min_photos));
            let values = [("reason", reason.as_str()), ("count", photos.as_str())];
            match (r.requires_comment, r.min_photos) {
                (false, 0) => None,
                (true, 0) => Some(catalog.ui_with("reason_needs_comment", &values)),
                (false, _) => Some(catalog.ui_with("reason_needs_photos", &values)),
                (true, _) => Some(catalog.ui_with("reason_needs_both", &values)),
            }
        })
        .collect();
    let method_selected = if answers.method.is_empty() {
        policy.methods.first().map_or("", |m| method_value(*m))
    } else {
        answers.method.as_str()
    };
    let methods = policy
        .methods
        .iter()
        .map(|m| MethodView {
            value: method_value(*m),
            label: catalog.ui(&format!("method_{}", method_value(*m))).to_owned(),
            fee: fee(catalog, policy, order, *m, &currency),
            checked: method_value(*m) == method_selected,
        })
        .collect();
    FormView {
        heading: catalog.ui_with("returns_order_heading", &[("order", &number)]),
        any_returnable: views.iter().any(|l| l.quantities.len() > 1),
        lines: views,
        methods,
        hints,
        offers_exchange: policy.resolutions.contains(&Resolution::Exchange),
        errors: errors.iter().filter(|(l, _)| l.is_none()).map(|(_, e)| e.clone()).collect(),
        order_number: order.order_number.clone().unwrap_or_default(),
        email: proof.0.to_owned(),
        postal_code: proof.1.to_owned(),
    }
}

#[derive(Serialize)]
pub struct DoneView {
    pub heading: String,
    pub rma_line: String,
    pub status: String,
    pub next: Option<String>,
    pub items: Vec<String>,
    pub refund_estimate: String,
    pub fee: Option<String>,
    pub emailed: bool,
}

/// What the shopper does next with a return sent back by `method`.
pub fn next_step(catalog: &Catalog, method: ReturnMethod) -> String {
    catalog.ui(&format!("return_next_{}", method_value(method))).to_owned()
}

/// The confirmation of `ret`.
pub fn done(catalog: &Catalog, ret: &Return) -> DoneView {
    let status = match ret.approval_status {
        ApprovalStatus::Approved => "return_done_approved",
        ApprovalStatus::Rejected => "return_done_rejected",
        _ => "return_done_submitted",
    };
    let fee_minor = ret.fee.minor_units().unwrap_or(0);
    DoneView {
        heading: catalog.ui("return_done_heading").to_owned(),
        rma_line: catalog.ui_with("return_done_rma", &[("rma", &ret.rma_number)]),
        status: catalog.ui(status).to_owned(),
        next: (ret.approval_status != ApprovalStatus::Rejected).then(|| next_step(catalog, ret.method)),
        items: items_line(catalog, ret),
        refund_estimate: catalog.money(&ret.refund_estimate),
        fee: (fee_minor > 0).then(|| catalog.money(&ret.fee)),
        emailed: ret.contact_email.is_some(),
    }
}

/// Each line of `ret` as "2 × Mug (Blue)".
pub fn items_line(catalog: &Catalog, ret: &Return) -> Vec<String> {
    ret.items
        .iter()
        .filter(|i| i.return_quantity() > 0)
        .map(|i| {
            let title = match &i.variant_title {
                Some(variant) => format!("{} ({variant})", i.product_title),
                None => i.product_title.clone(),
            };
            format!("{} × {title}", catalog.number(u64::from(i.return_quantity())))
        })
        .collect()
}
