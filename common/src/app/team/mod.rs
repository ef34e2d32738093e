//! A merchant's team in the console: members added, invited, changed and removed under the
//! roles' rules, every change written to the audit log.
//!
//! Signing in, sessions and one-time links are in [`access`].

pub mod access;
mod passwords;
pub mod views;

use super::{AppError, Deps};
use crate::domain::{
    Action, Channel, Language, Member, Role, ShipmentId, TenantId, Trigger, member_email, member_name,
};
use crate::ports::{AuditEntry, LedgerEntry, MessageLedger, StoreError};
use crate::secrets::random_bytes;

pub use access::{
    OneTimeLink, Purpose, SignInError, SignedIn, csrf_matches, csrf_token, link_for, link_member, redeem_link,
    request_reset, session_of, sign_in, sign_out,
};

/// Who does something: a member in the console, or the operator (command line, admin API).
#[derive(Debug, Clone)]
pub enum Actor {
    /// The deployment's operator: may do anything to any merchant's team.
    Operator,
    /// A signed-in member, within their merchant.
    Member(Member),
}

impl Actor {
    /// How the audit log names them.
    fn name(&self) -> &str {
        match self {
            Actor::Operator => "operator",
            Actor::Member(member) => &member.email,
        }
    }

    /// `Forbidden` unless they may do `action` (the operator may do everything).
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        match self {
            Actor::Member(member) if !member.role.may(action) => Err(AppError::Forbidden),
            _ => Ok(()),
        }
    }

    /// `Forbidden` unless they may manage members of `role`.
    fn require_manage(&self, role: Role) -> Result<(), AppError> {
        match self {
            Actor::Member(member) if !member.role.may_manage(role) => Err(AppError::Forbidden),
            _ => Ok(()),
        }
    }
}

/// Writes a line to the merchant's audit log: `actor` did `action` to `target`.
pub async fn audit(
    deps: &Deps,
    tenant: &TenantId,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), AppError> {
    let at = deps.clock.now();
    let entry = AuditEntry {
        id: format!("{:020}-{}", at.timestamp_micros(), hex::encode(random_bytes::<4>())),
        at,
        actor: actor.name().to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
    };
    deps.team.append_audit(tenant, &entry).await?;
    Ok(())
}

/// What a new member is given.
pub struct NewMember<'a> {
    /// Their email address.
    pub email: &'a str,
    /// Their name (may be empty).
    pub name: &'a str,
    /// Their role.
    pub role: Role,
    /// A first password; without one they sign in through a one-time link.
    pub password: Option<&'a str>,
}

/// Adds a member to `tenant`'s team. `Forbidden` unless `actor` may give the role;
/// `Unprocessable` if the address is on a team already (any merchant's).
pub async fn add_member(deps: &Deps, tenant: &TenantId, actor: &Actor, new: NewMember<'_>) -> Result<Member, AppError> {
    actor.require_manage(new.role)?;
    if deps.tenants.get_tenant(tenant).await?.is_none() {
        return Err(AppError::Missing("merchant"));
    }
    let email = member_email(new.email)?;
    let name = member_name(new.name)?;
    let password_hash = match new.password {
        Some(password) => Some(passwords::hash(password).await?),
        None => None,
    };
    let member = Member {
        tenant_id: tenant.clone(),
        id: format!("usr_{}", hex::encode(random_bytes::<8>())),
        email,
        name,
        role: new.role,
        password_hash,
        stamp: new_stamp(),
        failed_sign_ins: 0,
        locked_until: None,
        created_at: deps.clock.now(),
        last_sign_in_at: None,
        version: 1,
    };
    match deps.team.insert_member(&member).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(AppError::Unprocessable("this email address is already on a team".into()));
        }
        Err(other) => return Err(other.into()),
    }
    audit(deps, tenant, actor, "member.added", &member.id, member.role.as_str()).await?;
    tracing::info!(tenant_id = %tenant, member_id = %member.id, role = member.role.as_str(), "team member added");
    Ok(member)
}

/// Adds a member without a password and plans their invitation email (a one-time link that
/// sets their first password).
pub async fn invite(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    tenant: &TenantId,
    actor: &Actor,
    email: &str,
    name: &str,
    role: Role,
) -> Result<Member, AppError> {
    let member = add_member(deps, tenant, actor, NewMember { email, name, role, password: None }).await?;
    plan_access_email(deps, ledger, &member, Trigger::MemberInvited).await?;
    audit(deps, tenant, actor, "member.invited", &member.id, role.as_str()).await?;
    Ok(member)
}

/// Plans one of the team's access emails to `member` (sent by the notifier, which writes the
/// link when it sends).
pub(crate) async fn plan_access_email(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    member: &Member,
    trigger: Trigger,
) -> Result<(), AppError> {
    let now = deps.clock.now();
    let entry = LedgerEntry::planned(
        member.tenant_id.clone(),
        ShipmentId::random(),
        trigger,
        Channel::Email,
        member.email.clone(),
        Language::En,
        now,
        now,
    );
    ledger.plan(&entry).await?;
    Ok(())
}

/// Checks that `email` could be a new member's (an address, on no team yet), before a
/// merchant is made with it as owner.
pub async fn check_new_email(deps: &Deps, email: &str) -> Result<String, AppError> {
    let email = member_email(email)?;
    if deps.team.member_by_email(&email).await?.is_some() {
        return Err(AppError::Unprocessable("this email address is already on a team".into()));
    }
    Ok(email)
}

/// Makes `email` the merchant's owner (without a password) and a one-time sign-in link for
/// them: how a new merchant's first owner gets in.
pub async fn add_owner(deps: &Deps, tenant: &TenantId, email: &str) -> Result<(Member, OneTimeLink), AppError> {
    let owner =
        add_member(deps, tenant, &Actor::Operator, NewMember { email, name: "", role: Role::Owner, password: None })
            .await?;
    let link = link_for(deps, &owner, Purpose::SignIn);
    Ok((owner, link))
}

/// A merchant's members, oldest first.
pub async fn members(deps: &Deps, tenant: &TenantId) -> Result<Vec<Member>, AppError> {
    Ok(deps.team.list_members(tenant).await?)
}

/// A member of the merchant's, found by id or email.
pub async fn find_member(deps: &Deps, tenant: &TenantId, id_or_email: &str) -> Result<Member, AppError> {
    let found = if id_or_email.contains('@') {
        deps.team.member_by_email(&id_or_email.trim().to_lowercase()).await?.filter(|m| &m.tenant_id == tenant)
    } else {
        deps.team.get_member(tenant, id_or_email).await?
    };
    found.ok_or(AppError::Missing("member"))
}

/// Whether the team would keep an owner without `leaving`.
async fn keeps_an_owner(deps: &Deps, tenant: &TenantId, leaving: &Member) -> Result<bool, AppError> {
    let members = deps.team.list_members(tenant).await?;
    Ok(members.iter().any(|m| m.role == Role::Owner && m.id != leaving.id))
}

/// Gives a member another role. `Forbidden` unless `actor` may manage both the old and the
/// new role; `Unprocessable` when it would leave the team without an owner.
pub async fn change_role(
    deps: &Deps,
    tenant: &TenantId,
    actor: &Actor,
    member_id: &str,
    role: Role,
) -> Result<Member, AppError> {
    let mut member = find_member(deps, tenant, member_id).await?;
    actor.require_manage(member.role)?;
    actor.require_manage(role)?;
    if member.role == Role::Owner && role != Role::Owner && !keeps_an_owner(deps, tenant, &member).await? {
        return Err(AppError::Unprocessable("a team keeps at least one owner".into()));
    }
    member.role = role;
    member.version += 1;
    deps.team.update_member(&member).await.map_err(conflict_is_busy)?;
    audit(deps, tenant, actor, "member.role_changed", &member.id, role.as_str()).await?;
    Ok(member)
}

/// Removes a member: their sessions end with them. `Forbidden` unless `actor` may manage
/// their role; `Unprocessable` for the last owner.
pub async fn remove_member(deps: &Deps, tenant: &TenantId, actor: &Actor, member_id: &str) -> Result<Member, AppError> {
    let member = find_member(deps, tenant, member_id).await?;
    actor.require_manage(member.role)?;
    if member.role == Role::Owner && !keeps_an_owner(deps, tenant, &member).await? {
        return Err(AppError::Unprocessable("a team keeps at least one owner".into()));
    }
    deps.team.delete_member(tenant, &member.id).await?;
    audit(deps, tenant, actor, "member.removed", &member.id, member.role.as_str()).await?;
    tracing::info!(tenant_id = %tenant, member_id = %member.id, "team member removed");
    Ok(member)
}

/// A page of the merchant's audit log, newest first, and the cursor of the next page.
pub async fn audit_log(
    deps: &Deps,
    tenant: &TenantId,
    before: Option<&str>,
    limit: usize,
) -> Result<(Vec<AuditEntry>, Option<String>), AppError> {
    let entries = deps.team.list_audit(tenant, before, limit).await?;
    let next = super::next_cursor(&entries, limit, |e| &e.id);
    Ok((entries, next))
}

/// A member changed concurrently: retry.
fn conflict_is_busy(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict => AppError::Busy,
        other => other.into(),
    }
}

/// A new member's stamp, or a member's next one.
fn new_stamp() -> String {
    hex::encode(random_bytes::<8>())
}

#[cfg(test)]
mod tests;
