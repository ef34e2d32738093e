//! The team: members and their roles, invitations, changes and removals (admins manage
//! everyone but owners), and the audit log.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{Console, Visitor, failure, message, notice_text, page, see_other};
use crate::app::AppError;
use crate::app::team as members;
use crate::domain::{Action, Role};

#[derive(Serialize)]
struct MemberRow {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    pending: bool,
    last: Option<String>,
    manageable: bool,
}

#[derive(Deserialize, Default)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn list(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let team = match members::members(&console.deps, &visitor.member.tenant_id).await {
        Ok(team) => team,
        Err(error) => return failure(&error),
    };
    let role = visitor.member.role;
    let rows: Vec<MemberRow> = team
        .iter()
        .map(|m| MemberRow {
            id: m.id.clone(),
            email: m.email.clone(),
            name: m.name.clone(),
            role: m.role.as_str(),
            pending: m.password_hash.is_none() && m.last_sign_in_at.is_none(),
            last: m.last_sign_in_at.map(super::shipments::when),
            manageable: role.may_manage(m.role) && m.id != visitor.member.id,
        })
        .collect();
    let roles: Vec<&str> = Role::ALL.iter().filter(|r| role.may_manage(**r)).map(|r| r.as_str()).collect();
    let mut layout = visitor.layout("team");
    layout.notice = query.ok().and_then(|Query(q)| q.notice).as_deref().and_then(notice_text).map(str::to_owned);
    let content = minijinja::context! { members => super::value(&rows), roles => super::value(&roles), manage => role.may(Action::ManageTeam) };
    page(StatusCode::OK, "console/team.html", "Team", &layout, content)
}

/// The answer to a team form: back to the team with `notice`, or why not.
fn answered(visitor: &Visitor, result: Result<(), AppError>, notice: &str) -> Response {
    let problem = match result {
        Ok(()) => return see_other(&format!("/console/team?notice={notice}")),
        Err(AppError::Forbidden) => return super::forbidden(&visitor.layout("team")),
        Err(AppError::Invalid(invalid)) => format!("{invalid}."),
        Err(AppError::Unprocessable(why)) => format!("{why}."),
        Err(AppError::Missing(_)) => {
            let back = Some(("/console/team", "Back to the team"));
            let layout = visitor.layout("team");
            return message(StatusCode::NOT_FOUND, &layout, "No such member", "They may have been removed.", back);
        }
        Err(error) => return failure(&error),
    };
    message(
        StatusCode::UNPROCESSABLE_ENTITY,
        &visitor.layout("team"),
        "Not done",
        &problem,
        Some(("/console/team", "Back to the team")),
    )
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    email: String,
    #[serde(default)]
    name: String,
    role: String,
}

pub(super) async fn invite(State(console): State<Console>, visitor: Visitor, Form(form): Form<InviteForm>) -> Response {
    if let Some(refused) = visitor.refused(Action::ManageTeam) {
        return refused;
    }
    let deps = &console.deps;
    let result = async {
        let role = Role::parse(&form.role)?;
        let tenant = &visitor.member.tenant_id;
        members::invite(deps, deps.ledger.as_ref(), tenant, &visitor.actor(), &form.email, &form.name, role).await?;
        Ok(())
    }
    .await;
    answered(&visitor, result, "invited")
}

#[derive(Deserialize)]
pub(super) struct RoleForm {
    role: String,
}

pub(super) async fn change_role(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::ManageTeam) {
        return refused;
    }
    let result = async {
        let role = Role::parse(&form.role)?;
        members::change_role(&console.deps, &visitor.member.tenant_id, &visitor.actor(), &id, role).await?;
        Ok(())
    }
    .await;
    answered(&visitor, result, "role")
}

pub(super) async fn remove(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    if let Some(refused) = visitor.refused(Action::ManageTeam) {
        return refused;
    }
    let result = members::remove_member(&console.deps, &visitor.member.tenant_id, &visitor.actor(), &id).await;
    answered(&visitor, result.map(|_| ()), "removed")
}

#[derive(Serialize)]
struct AuditRow {
    when: String,
    iso: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    before: Option<String>,
}

pub(super) async fn audit(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::ManageTeam) {
        return refused;
    }
    let before = query.ok().and_then(|Query(q)| q.before).filter(|b| b.len() <= 40);
    let (entries, next) =
        match members::audit_log(&console.deps, &visitor.member.tenant_id, before.as_deref(), 100).await {
            Ok(page) => page,
            Err(error) => return failure(&error),
        };
    let rows: Vec<AuditRow> = entries
        .into_iter()
        .map(|e| AuditRow {
            when: super::shipments::when(e.at),
            iso: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    let next_href = next.map(|n| format!("/console/audit?before={}", crate::web::url_component(&n)));
    let content = minijinja::context! { entries => super::value(&rows), next_href => next_href };
    page(StatusCode::OK, "console/audit.html", "Audit log", &visitor.layout("audit"), content)
}
