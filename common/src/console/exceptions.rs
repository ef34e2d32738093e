//! The exceptions queue: open cases counted by rule and severity, the filtered list with bulk
//! actions, and one case's page (the rule's "what to do", notes, assign, resolve, reopen).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::shipments::{carrier_name, when};
use super::{Console, Visitor, failure, fields, message, notice_text, one, optional, page, see_other, value};
use crate::app::AppError;
use crate::app::exceptions::{self, CaseWrite};
use crate::domain::{Action, CaseState, Condition, Severity};
use crate::ports::{CaseFilter, ExceptionCase};

/// Most cases a page lists (and the open ones counted on top).
const MAX_CASES: usize = 500;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub(super) struct Filters {
    state: String,
    severity: String,
    rule: String,
    assigned: String,
    #[serde(skip_serializing)]
    notice: String,
}

#[derive(Serialize)]
struct CaseRow {
    id: String,
    shipment_id: String,
    tracking_number: String,
    carrier: String,
    rule: String,
    reason: String,
    severity: &'static str,
    tone: &'static str,
    state: &'static str,
    opened: String,
    resolved: Option<String>,
    reopened: u32,
    assignee: Option<String>,
    notes: Vec<NoteRow>,
}

#[derive(Serialize)]
struct NoteRow {
    text: String,
    author: Option<String>,
    at: String,
}

/// How a severity reads.
pub(super) fn severity_tone(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "bad",
        Severity::Medium => "near",
        Severity::Low => "plain",
    }
}

fn row(case: ExceptionCase) -> CaseRow {
    CaseRow {
        id: case.id,
        shipment_id: case.shipment_id.as_str().to_owned(),
        tracking_number: case.tracking_number,
        carrier: carrier_name(&case.slug),
        rule: case.rule_name,
        reason: case.reason,
        severity: case.severity.as_str(),
        tone: severity_tone(case.severity),
        state: case.state.as_str(),
        opened: when(case.opened_at),
        resolved: case.resolved_at.map(when),
        reopened: case.reopened,
        assignee: case.assignee,
        notes: case.notes.into_iter().map(|n| NoteRow { text: n.text, author: n.author, at: when(n.at) }).collect(),
    }
}

#[derive(Serialize)]
struct Count {
    id: String,
    name: String,
    severity: &'static str,
    tone: &'static str,
    count: usize,
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
    let filters = query.map(|Query(f)| f).unwrap_or_default();
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let loaded = async {
        let (rules, _) = exceptions::exception_rules(deps, tenant).await?;
        let open_filter = CaseFilter { state: Some(CaseState::Open), ..CaseFilter::default() };
        let open = exceptions::list_cases(deps, tenant, &open_filter, MAX_CASES).await?;
        let filter = CaseFilter {
            state: match filters.state.as_str() {
                "all" => None,
                other => Some(CaseState::parse(other).unwrap_or(CaseState::Open)),
            },
            severity: Severity::parse(&filters.severity),
            rule_id: Some(filters.rule.clone()).filter(|r| !r.is_empty()),
            ..CaseFilter::default()
        };
        let listed = exceptions::list_cases(deps, tenant, &filter, MAX_CASES).await?;
        Ok::<_, AppError>((rules, open, listed))
    }
    .await;
    let (rules, open, listed) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return failure(&error),
    };
    let me = &visitor.member.email;
    let listed: Vec<CaseRow> = listed
        .into_iter()
        .filter(|c| match filters.assigned.as_str() {
            "me" => c.assignee.as_deref() == Some(me.as_str()),
            "nobody" => c.assignee.is_none(),
            _ => true,
        })
        .map(row)
        .collect();
    let mut by_rule: BTreeMap<(std::cmp::Reverse<Severity>, String), Count> = BTreeMap::new();
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for case in &open {
        let count = by_rule.entry((std::cmp::Reverse(case.severity), case.rule_id.clone())).or_insert_with(|| Count {
            id: case.rule_id.clone(),
            name: case.rule_name.clone(),
            severity: case.severity.as_str(),
            tone: severity_tone(case.severity),
            count: 0,
        });
        count.count += 1;
        *by_severity.entry(std::cmp::Reverse(case.severity)).or_default() += 1;
    }
    let by_rule: Vec<Count> = by_rule.into_values().collect();
    let by_severity: Vec<_> = by_severity
        .into_iter()
        .map(|(s, count)| minijinja::context! { severity => s.0.as_str(), count => count })
        .collect();
    let rule_choices: Vec<_> = rules
        .rules
        .iter()
        .map(|r| {
            minijinja::context! {
                id => r.id.clone(), name => r.name.clone(), enabled => r.enabled, severity => r.severity.as_str(),
                tone => severity_tone(r.severity), when => condition_text(&r.condition), todo => r.reason.clone(),
            }
        })
        .collect();
    let states = [
        Choice { value: "open", label: "Open" },
        Choice { value: "resolved", label: "Resolved" },
        Choice { value: "all", label: "Open and resolved" },
    ];
    let assignments = [
        Choice { value: "", label: "Anyone or nobody" },
        Choice { value: "me", label: "Me" },
        Choice { value: "nobody", label: "Nobody" },
    ];
    let mut shown = Filters { state: filters.state.clone(), ..Filters::default() };
    if shown.state.is_empty() {
        shown.state = "open".into();
    }
    shown.severity.clone_from(&filters.severity);
    shown.rule.clone_from(&filters.rule);
    shown.assigned.clone_from(&filters.assigned);
    let mut layout = visitor.layout("exceptions");
    layout.notice = notice_text(&filters.notice).map(str::to_owned);
    let content = minijinja::context! {
        cases => value(&listed), by_rule => value(&by_rule), by_severity => by_severity, rules => rule_choices,
        filters => value(&shown), states => value(&states), assignments => value(&assignments),
        severities => ["critical", "high", "medium", "low"],
    };
    page(StatusCode::OK, "console/exceptions.html", "Exceptions", &layout, content)
}

/// A rule's condition as the team reads it.
fn condition_text(condition: &Condition) -> String {
    match condition {
        Condition::SubtagIn { subtags } => {
            let codes: Vec<&str> = subtags.iter().map(|s| s.code()).collect();
            format!("the sub-status is {}", codes.join(" or "))
        }
        Condition::FailedAttempts { at_least } => format!("{at_least} or more failed delivery attempts"),
        Condition::NoUpdate { days, .. } => format!("no news for {days} days"),
        Condition::PastDue { days } => format!("not delivered {days} days after the promised or estimated date"),
        Condition::BeyondLaneP90 {} => "slower than 90 % of its lane's deliveries".to_owned(),
        Condition::ReturnedToSender {} => "returning or returned to the sender".to_owned(),
        Condition::CustomsHold {} => "held in customs".to_owned(),
        Condition::AddressProblem {} => "an address problem".to_owned(),
        Condition::LostOrDamaged {} => "lost or damaged".to_owned(),
    }
}

/// Turns a rule on or off (admins): the rest of a rule is changed through the API.
pub(super) async fn toggle_rule(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let form = fields(&body);
    let enabled = one(&form, "enabled") == "yes";
    let write = exceptions::ExceptionRuleWrite { enabled: Some(enabled), ..Default::default() };
    match exceptions::update_rule(&console.deps, &visitor.member.tenant_id, &id, write).await {
        Ok(_) => {
            let action = if enabled { "exception_rule.enabled" } else { "exception_rule.disabled" };
            visitor.audit(&console.deps, action, &id, "").await;
            see_other("/console/exceptions?notice=rule_saved")
        }
        Err(AppError::Missing(_)) => super::exception_rules::gone(&visitor),
        Err(error) => failure(&error),
    }
}

/// The case of the path's id within the visitor's merchant; a 404 page otherwise.
async fn case_of(console: &Console, visitor: &Visitor, id: &str) -> Result<ExceptionCase, Response> {
    match exceptions::get_case(&console.deps, &visitor.member.tenant_id, id).await {
        Ok(case) => Ok(case),
        Err(AppError::Missing(_)) => Err(message(
            StatusCode::NOT_FOUND,
            &visitor.layout("exceptions"),
            "No such exception",
            "It may belong to a rule that was deleted, or the address is mistyped.",
            Some(("/console/exceptions", "Back to exceptions")),
        )),
        Err(error) => Err(failure(&error)),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn detail(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let case = match case_of(&console, &visitor, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let title = format!("{}: {}", case.rule_name, case.tracking_number);
    let mut layout = visitor.layout("exceptions");
    layout.notice = query.ok().and_then(|Query(q)| q.notice).as_deref().and_then(notice_text).map(str::to_owned);
    page(StatusCode::OK, "console/exception.html", &title, &layout, minijinja::context! { case => value(&row(case)) })
}

/// What a case form asks: `note`, `assign`, `resolve`, `reopen` (bulk: `assign_me`,
/// `unassign` too), as the write it makes for `visitor`.
fn write_for(visitor: &Visitor, action: &str, note: Option<String>, assignee: Option<String>) -> Option<CaseWrite> {
    let me = visitor.member.email.clone();
    let mut write =
        CaseWrite { note: note.filter(|n| !n.trim().is_empty()), author: Some(me.clone()), ..CaseWrite::default() };
    match action {
        "note" if write.note.is_some() => {}
        "assign" => write.assignee = Some(assignee.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty())),
        "assign_me" => write.assignee = Some(Some(me)),
        "unassign" => write.assignee = Some(None),
        "resolve" => write.state = Some(CaseState::Resolved),
        "reopen" => write.state = Some(CaseState::Open),
        _ => return None,
    }
    Some(write)
}

/// The answer to a refused case form.
fn not_done(visitor: &Visitor, why: &str, back: &str) -> Response {
    message(StatusCode::UNPROCESSABLE_ENTITY, &visitor.layout("exceptions"), "Not done", why, Some((back, "Back")))
}

pub(super) async fn change(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    let case = match case_of(&console, &visitor, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let form = fields(&body);
    let action = one(&form, "action").to_owned();
    let back = format!("/console/exceptions/{}", case.id);
    let Some(write) = write_for(&visitor, &action, optional(&form, "note"), optional(&form, "assignee")) else {
        return not_done(&visitor, "Say what to do with the case (a note needs its text).", &back);
    };
    match exceptions::change_case(&console.deps, &visitor.member.tenant_id, &case.id, &write).await {
        Ok(_) => {
            visitor.audit(&console.deps, &format!("exception.{action}"), &case.id, "").await;
            see_other(&format!("{back}?notice=case_{action}"))
        }
        Err(AppError::Invalid(invalid)) => not_done(&visitor, &format!("{invalid}."), &back),
        Err(error) => failure(&error),
    }
}

pub(super) async fn bulk(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Work) {
        return refused;
    }
    let form = fields(&body);
    let action = one(&form, "action").to_owned();
    let ids = form.get("case").cloned().unwrap_or_default();
    let Some(write) = write_for(&visitor, &action, optional(&form, "note"), None) else {
        return not_done(&visitor, "Choose what to do with the selected cases.", "/console/exceptions");
    };
    if ids.is_empty() || ids.len() > MAX_CASES {
        return not_done(&visitor, "Select at least one case.", "/console/exceptions");
    }
    let tenant = &visitor.member.tenant_id;
    let mut changed = 0;
    for id in &ids {
        match exceptions::change_case(&console.deps, tenant, id, &write).await {
            Ok(_) => changed += 1,
            // Another merchant's id, or a case gone since the page was drawn: left alone.
            Err(AppError::Missing(_)) => {}
            Err(AppError::Invalid(invalid)) => {
                return not_done(&visitor, &format!("{invalid}."), "/console/exceptions");
            }
            Err(error) => return failure(&error),
        }
    }
    visitor.audit(&console.deps, &format!("exception.bulk_{action}"), "exceptions", &format!("{changed} cases")).await;
    see_other(&format!("/console/exceptions?notice=case_{action}"))
}
