//! Returns: the review queue (submitted first), one return's page (items with the shopper's
//! reasons, comments and photos, the parcels back, its history) and the team's moves on it:
//! approve, reject with a reason, receive with grading, resolve.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::shipments::when;
use super::{
    Console, Fields, Visitor, failure, fields, message, notice_text, one, optional, page, see_other, spelled, value,
};
use crate::app::AppError;
use crate::app::returns::{self as returns, ReturnKey};
use crate::domain::{Action, ApprovalStatus, Grading, Language, ReceivedItem, Return};
use crate::ports::ReturnFilter;
use crate::web::{Catalog, url_component};

/// Returns on a page of the list.
const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub(super) struct Filters {
    status: String,
    order: String,
    email: String,
    #[serde(skip_serializing)]
    page: usize,
    #[serde(skip_serializing)]
    notice: String,
}

fn status_tone(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Submitted => "near",
        ApprovalStatus::Approved | ApprovalStatus::Done => "good",
        ApprovalStatus::Rejected | ApprovalStatus::Expired => "bad",
    }
}

#[derive(Serialize)]
struct Row {
    id: String,
    rma: String,
    order: Option<String>,
    email: Option<String>,
    items: String,
    reasons: String,
    status: &'static str,
    tone: &'static str,
    refund: String,
    created: String,
}

fn row(ret: &Return) -> Row {
    let units: u32 = ret.items.iter().map(|i| i.return_quantity()).sum();
    let mut reasons: Vec<&str> = ret.items.iter().map(|i| i.reason_label.as_str()).collect();
    reasons.dedup();
    Row {
        id: ret.id.clone(),
        rma: ret.rma_number.clone(),
        order: ret.order_number.clone(),
        email: ret.contact_email.clone(),
        items: if units == 1 { "1 unit".to_owned() } else { format!("{units} units") },
        reasons: reasons.join(", "),
        status: ret.approval_status.as_str(),
        tone: status_tone(ret.approval_status),
        refund: Catalog::of(Language::En).money(&ret.refund_estimate),
        created: when(ret.created_at),
    }
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
}

pub(super) async fn list(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let mut filters = query.map(|Query(f)| f).unwrap_or_default();
    if filters.status.is_empty() {
        filters.status = "submitted".into();
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = ReturnFilter {
        approval_status: ApprovalStatus::parse(&filters.status),
        order_name: text(&filters.order),
        customer_email: text(&filters.email).map(|e| e.to_lowercase()),
        ..ReturnFilter::default()
    };
    let offset = filters.page.min(1000) * PAGE_SIZE;
    let listed = console.deps.returns.returns(&visitor.member.tenant_id, &filter, offset, PAGE_SIZE).await;
    let (found, total) = match listed {
        Ok(listed) => listed,
        Err(error) => return failure(&error.into()),
    };
    let rows: Vec<Row> = found.iter().map(row).collect();
    let next_href = (offset + rows.len() < total).then(|| {
        let keep = [("status", &filters.status), ("order", &filters.order), ("email", &filters.email)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}&", url_component(v)))
            .collect::<String>();
        format!("/console/returns?{keep}page={}", filters.page + 1)
    });
    let statuses = [
        Choice { value: "submitted", label: "To review (submitted)" },
        Choice { value: "approved", label: "Approved" },
        Choice { value: "done", label: "Resolved" },
        Choice { value: "rejected", label: "Rejected" },
        Choice { value: "expired", label: "Expired" },
        Choice { value: "all", label: "All" },
    ];
    let mut layout = visitor.layout("returns");
    layout.notice = notice_text(&filters.notice).map(str::to_owned);
    let total_text = if total == 1 { "1 return".to_owned() } else { format!("{total} returns") };
    let content = minijinja::context! {
        returns => value(&rows), filters => value(&filters), statuses => value(&statuses),
        total_text => total_text, next_href => next_href,
    };
    page(StatusCode::OK, "console/returns.html", "Returns", &layout, content)
}

/// The return of the path's id within the visitor's merchant; a 404 page otherwise.
async fn return_of(console: &Console, visitor: &Visitor, id: &str) -> Result<Return, Response> {
    match returns::get_return(&console.deps, &visitor.member.tenant_id, &ReturnKey::Id(id.to_owned())).await {
        Ok(ret) => Ok(ret),
        Err(AppError::Missing(_)) => Err(message(
            StatusCode::NOT_FOUND,
            &visitor.layout("returns"),
            "No such return",
            "The address may be mistyped.",
            Some(("/console/returns", "Back to returns")),
        )),
        Err(error) => Err(failure(&error)),
    }
}

/// What the return's page shows.
fn view(ret: &Return) -> minijinja::Value {
    let catalog = Catalog::of(Language::En);
    let items: Vec<_> = ret
        .items
        .iter()
        .map(|i| {
            minijinja::context! {
                external_id => i.external_order_item_id.clone(),
                title => i.product_title.clone(),
                variant => i.variant_title.clone(),
                sku => i.sku.clone(),
                quantity => i.return_quantity(),
                ordered => i.ordered_quantity,
                received => i.received_quantity,
                resolution => spelled(&i.resolution),
                unit_price => catalog.money(&i.unit_price),
                reason => i.reason_label.clone(),
                subreason => i.subreason.clone(),
                comment => i.comment.clone(),
                photos => i.photos.clone(),
            }
        })
        .collect();
    let mut history = vec![(ret.created_at, format!("Asked for by the {}", spelled(&ret.filed_by)))];
    history.extend(
        ret.approved_at
            .map(|at| (at, if ret.auto_approved { "Approved by the policy" } else { "Approved" }.to_owned())),
    );
    history.extend(ret.rejected_at.map(|at| {
        (at, format!("Rejected: {}", ret.reject_reason.clone().unwrap_or_else(|| "no reason given".to_owned())))
    }));
    history.extend(ret.receivings.iter().map(|r| {
        let units: u32 = r.items.iter().map(|i| i.quantity).sum();
        (r.received_at, if units == 1 { "1 unit received".to_owned() } else { format!("{units} units received") })
    }));
    history.extend(ret.resolved_at.map(|at| (at, "Resolved".to_owned())));
    history.extend(ret.expired_at.map(|at| (at, "Expired: nothing came back in time".to_owned())));
    history.sort_by_key(|(at, _)| *at);
    let history: Vec<(String, String)> = history.into_iter().map(|(at, what)| (when(at), what)).collect();
    let shipments: Vec<_> = ret
        .shipments
        .iter()
        .map(|s| {
            minijinja::context! {
                carrier => super::shipments::carrier_name(&crate::domain::Slug::parse(&s.slug).unwrap_or_else(|_| crate::domain::Slug::parse("unknown").expect("a slug"))),
                tracking_number => s.tracking_number.clone(),
                status => s.tracking_status.map(super::shipments::status_label),
            }
        })
        .collect();
    let fee = (ret.fee.minor_units() != Some(0)).then(|| catalog.money(&ret.fee));
    minijinja::context! {
        id => ret.id.clone(),
        rma => ret.rma_number.clone(),
        order => ret.order_number.clone(),
        order_external_id => ret.order_external_id.clone(),
        email => ret.contact_email.clone(),
        status => ret.approval_status.as_str(),
        tone => status_tone(ret.approval_status),
        method => spelled(&ret.method),
        refund => catalog.money(&ret.refund_estimate),
        fee => fee,
        items => items,
        history => history,
        shipments => shipments,
        can_approve => ret.approval_status == ApprovalStatus::Submitted,
        can_receive => ret.approval_status == ApprovalStatus::Approved,
    }
}

pub(super) async fn detail(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let ret = match return_of(&console, &visitor, &id).await {
        Ok(ret) => ret,
        Err(response) => return response,
    };
    let mut layout = visitor.layout("returns");
    layout.notice = query.ok().and_then(|Query(q)| notice_text(&q.notice)).map(str::to_owned);
    let title = format!("Return {}", ret.rma_number);
    page(StatusCode::OK, "console/return.html", &title, &layout, minijinja::context! { ret => view(&ret) })
}

/// The receiving a form describes: `qty:<line>` units of each line, graded `grade:<line>`.
fn receiving(form: &Fields, inspector: &str) -> Result<Vec<ReceivedItem>, AppError> {
    let mut items = Vec::new();
    for name in form.keys() {
        let Some(line) = name.strip_prefix("qty:") else { continue };
        let quantity: u32 = one(form, name)
            .parse()
            .map_err(|_| crate::domain::DomainError::invalid("quantity", "must be a whole number"))?;
        if quantity == 0 {
            continue;
        }
        let grade = optional(form, &format!("grade:{line}")).unwrap_or_else(|| "a".into());
        let grading = Grading {
            grade,
            quantity,
            notes: None,
            inspector: Some(inspector.to_owned()),
            inspected_at: None,
            image_urls: Vec::new(),
        };
        items.push(ReceivedItem { external_id: line.to_owned(), quantity, gradings: vec![grading] });
    }
    Ok(items)
}

pub(super) async fn act(
    State(console): State<Console>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    let ret = match return_of(&console, &visitor, &id).await {
        Ok(ret) => ret,
        Err(response) => return response,
    };
    let form = fields(&body);
    let notify = one(&form, "notify") == "yes";
    let (deps, tenant, key) = (&console.deps, &visitor.member.tenant_id, ReturnKey::Id(ret.id.clone()));
    let done = match action.as_str() {
        "approve" => returns::approve(deps, tenant, &key, notify).await,
        "reject" => returns::reject(deps, tenant, &key, one(&form, "reason"), notify).await,
        "resolve" => returns::resolve(deps, tenant, &key).await,
        "receive" => match receiving(&form, &visitor.member.email) {
            Ok(items) => returns::receive(deps, tenant, &key, items).await,
            Err(error) => Err(error),
        },
        _ => Err(AppError::Missing("action")),
    };
    let back = format!("/console/returns/{}", ret.id);
    let why = match done {
        Ok(_) => {
            visitor.audit(deps, &format!("return.{action}"), &ret.id, &ret.rma_number).await;
            return see_other(&format!("{back}?notice=return_{action}"));
        }
        Err(AppError::Missing("action")) => "That is not something a return can do.".to_owned(),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::ReturnNotAllowed(_)
            | AppError::NotReceivable(_)
            | AppError::Unprocessable(_)),
        ) => format!("{error}."),
        Err(error) => return failure(&error),
    };
    message(
        StatusCode::UNPROCESSABLE_ENTITY,
        &visitor.layout("returns"),
        "Not done",
        &why,
        Some((&back, "Back to the return")),
    )
}
