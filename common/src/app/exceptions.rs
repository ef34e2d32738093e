//! Exception management: a merchant's rules (one versioned document, the defaults until
//! changed), evaluated on each status change and by the scheduled scan ([`super::scan`]) for
//! the time-based ones;
//! the cases they open, one per shipment and rule, in a queue the team assigns, notes and
//! resolves. A resolved case reopens only when the shipment's facts changed since.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::{
    Actions, CaseState, Channel, Condition, DomainError, ExceptionRule, ExceptionRules, MAX_NOTES, Note,
    NotificationRule, Scope, Severity, Shipment, TenantId, Trigger, facts_of, nullable,
};
use crate::ports::{
    CaseFilter, ChangeEvent, ChangeKind, ExceptionCase, LedgerEntry, MessageLedger, SettingsKind, StoreError,
};
use crate::secrets::random_bytes;

/// How often a case or shipment change is tried again when another writer won.
const ATTEMPTS: usize = 5;

/// The tenant's rules and the version they were read at (0 for the defaults, never stored).
pub async fn exception_rules(deps: &Deps, tenant: &TenantId) -> Result<(ExceptionRules, u64), AppError> {
    let (rules, version) = super::documents::read(deps, tenant, SettingsKind::ExceptionRules).await?;
    Ok((rules.unwrap_or_else(ExceptionRules::defaults), version))
}

async fn change_rules<T>(
    deps: &Deps,
    tenant: &TenantId,
    change: impl Fn(&mut ExceptionRules) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let outcome =
        super::documents::change(deps, tenant, SettingsKind::ExceptionRules, ExceptionRules::defaults, |rules| {
            let outcome = change(rules)?;
            rules.validate()?;
            Ok(outcome)
        })
        .await?;
    tracing::info!(tenant_id = %tenant, "exception rules changed");
    Ok(outcome)
}

/// A rule as the API writes it: on create `name`, `condition` and `reason` are required; on
/// change absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the rule's field of the same name
pub struct ExceptionRuleWrite {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub condition: Option<Condition>,
    pub scope: Option<Scope>,
    pub severity: Option<Severity>,
    pub reason: Option<String>,
    pub actions: Option<Actions>,
    /// Answers carry the rule's `id`; sent back, it is ignored.
    #[serde(default, rename = "id")]
    pub _id: Option<serde::de::IgnoredAny>,
}

impl ExceptionRuleWrite {
    fn apply(self, rule: &mut ExceptionRule) {
        if let Some(name) = self.name {
            rule.name = name;
        }
        if let Some(enabled) = self.enabled {
            rule.enabled = enabled;
        }
        if let Some(condition) = self.condition {
            rule.condition = condition;
        }
        if let Some(scope) = self.scope {
            rule.scope = scope;
        }
        if let Some(severity) = self.severity {
            rule.severity = severity;
        }
        if let Some(reason) = self.reason {
            rule.reason = reason;
        }
        if let Some(actions) = self.actions {
            rule.actions = actions;
        }
    }
}

fn position(rules: &ExceptionRules, id: &str) -> Result<usize, AppError> {
    rules.rules.iter().position(|r| r.id == id).ok_or(AppError::Missing("exception rule"))
}

/// Adds a rule (medium severity unless told).
pub async fn create_rule(deps: &Deps, tenant: &TenantId, write: ExceptionRuleWrite) -> Result<ExceptionRule, AppError> {
    let name = write.name.clone().ok_or(AppError::Required("name"))?;
    let condition = write.condition.clone().ok_or(AppError::Required("condition"))?;
    let reason = write.reason.clone().ok_or(AppError::Required("reason"))?;
    let mut rule = ExceptionRule {
        id: format!("er_{}", hex::encode(random_bytes::<8>())),
        name,
        enabled: true,
        condition,
        scope: Scope::default(),
        severity: Severity::Medium,
        reason,
        actions: Actions::default(),
    };
    write.apply(&mut rule);
    rule.validate()?;
    change_rules(deps, tenant, |rules| {
        rules.rules.push(rule.clone());
        Ok(rule.clone())
    })
    .await
}

/// One rule. `Missing` if the tenant has none with `id`.
pub async fn get_rule(deps: &Deps, tenant: &TenantId, id: &str) -> Result<ExceptionRule, AppError> {
    let (rules, _) = exception_rules(deps, tenant).await?;
    Ok(rules.rules[position(&rules, id)?].clone())
}

/// Changes the fields `write` gives. `Missing` if the tenant has no rule `id`.
pub async fn update_rule(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    write: ExceptionRuleWrite,
) -> Result<ExceptionRule, AppError> {
    change_rules(deps, tenant, |rules| {
        let i = position(rules, id)?;
        let mut rule = rules.rules[i].clone();
        write.clone().apply(&mut rule);
        rule.validate()?;
        rules.rules[i] = rule.clone();
        Ok(rule)
    })
    .await
}

/// Removes a rule (its cases stay) and answers it as it was.
pub async fn delete_rule(deps: &Deps, tenant: &TenantId, id: &str) -> Result<ExceptionRule, AppError> {
    change_rules(deps, tenant, |rules| {
        let i = position(rules, id)?;
        Ok(rules.rules.remove(i))
    })
    .await
}

/// What evaluating did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluationReport {
    /// Cases opened for the first time.
    pub opened: usize,
    /// Resolved cases opened again on new facts.
    pub reopened: usize,
}

impl std::ops::AddAssign for EvaluationReport {
    fn add_assign(&mut self, other: Self) {
        self.opened += other.opened;
        self.reopened += other.reopened;
    }
}

/// Evaluates the tenant's rules (only the time-based ones when `time_based_only`) against
/// `shipment` at `now`, opening or reopening its cases and doing their actions; the shopper is
/// written to only when `may_notify`.
pub async fn evaluate(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    shipment: &Shipment,
    time_based_only: bool,
    may_notify: bool,
) -> Result<EvaluationReport, AppError> {
    let (rules, _) = exception_rules(deps, &shipment.tenant_id).await?;
    let now = deps.clock.now();
    let mut report = EvaluationReport::default();
    for rule in rules.rules.iter().filter(|r| !time_based_only || r.condition.is_time_based()) {
        if !rule.matches(shipment, now) {
            continue;
        }
        let (opened, case) = match open_case(deps, rule, shipment, now).await? {
            None => continue,
            Some(opened) => opened,
        };
        match opened {
            Opened::New => report.opened += 1,
            Opened::Again => report.reopened += 1,
        }
        tracing::info!(
            tenant_id = %shipment.tenant_id,
            shipment_id = %shipment.id,
            rule_id = rule.id,
            severity = rule.severity.as_str(),
            reopened = opened == Opened::Again,
            "exception case opened"
        );
        super::webhooks::plan_exception_case(deps, shipment, &case).await?;
        for address in &rule.actions.notify_team {
            plan_team_alert(ledger, shipment, &case, address, now).await?;
        }
        if let Some(tag) = &rule.actions.add_tag {
            add_tag(deps, shipment, tag).await?;
        }
        if rule.actions.notify_shopper && may_notify {
            let email = NotificationRule::new(format!("{}-shopper", rule.id), Trigger::Exception, vec![Channel::Email]);
            super::notifications::plan_messages(deps, ledger, shipment, Trigger::Exception, &email).await?;
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opened {
    New,
    Again,
}

/// Opens `rule`'s case for `shipment`, or reopens it if it was resolved and the facts changed:
/// how, and the case as stored; `None` when it stays as it is.
async fn open_case(
    deps: &Deps,
    rule: &ExceptionRule,
    shipment: &Shipment,
    now: DateTime<Utc>,
) -> Result<Option<(Opened, ExceptionCase)>, AppError> {
    let id = ExceptionCase::case_id(&shipment.tenant_id, &shipment.id, &rule.id);
    let facts = facts_of(shipment);
    for _ in 0..ATTEMPTS {
        let (case, opened) = match deps.exceptions.case(&shipment.tenant_id, &id).await? {
            None => (
                ExceptionCase {
                    id: id.clone(),
                    tenant_id: shipment.tenant_id.clone(),
                    shipment_id: shipment.id.clone(),
                    slug: shipment.slug.clone(),
                    tracking_number: shipment.tracking_number.as_str().to_owned(),
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    severity: rule.severity,
                    reason: rule.reason.clone(),
                    state: CaseState::Open,
                    assignee: None,
                    notes: Vec::new(),
                    opened_at: now,
                    updated_at: now,
                    resolved_at: None,
                    facts: facts.clone(),
                    reopened: 0,
                    version: 0,
                },
                Opened::New,
            ),
            Some(case) if case.state == CaseState::Resolved && case.facts != facts => (
                ExceptionCase {
                    state: CaseState::Open,
                    rule_name: rule.name.clone(),
                    severity: rule.severity,
                    reason: rule.reason.clone(),
                    updated_at: now,
                    facts: facts.clone(),
                    reopened: case.reopened + 1,
                    ..case
                },
                Opened::Again,
            ),
            Some(_) => return Ok(None),
        };
        match deps.exceptions.put_case(&case).await {
            Ok(_) => return Ok(Some((opened, case))),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}

/// Plans the email telling `address` (of the merchant's team) that `case` opened: once per
/// address and opening, so a reopened case is another email. Sent whether or not the shopper
/// may be written to.
async fn plan_team_alert(
    ledger: &dyn MessageLedger,
    shipment: &Shipment,
    case: &ExceptionCase,
    address: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let recipient = address.trim().to_lowercase();
    let (tenant, id) = (&shipment.tenant_id, &shipment.id);
    let mut entry = LedgerEntry::planned(
        tenant.clone(),
        id.clone(),
        Trigger::TeamAlert,
        Channel::Email,
        recipient.clone(),
        crate::domain::Language::En,
        now,
        now,
    );
    let opening = format!("{recipient}\u{1f}{}\u{1f}{}", case.id, case.reopened);
    entry.id = LedgerEntry::message_id(tenant, id, Trigger::TeamAlert, Channel::Email, &opening);
    Ok(ledger.plan(&entry).await?)
}

/// The shipment's open cases, most recently opened first: what a team alert reports when it
/// goes.
pub async fn open_cases_of(deps: &Deps, shipment: &Shipment) -> Result<Vec<ExceptionCase>, AppError> {
    let mut open = cases_of(deps, shipment).await?;
    open.retain(|case| case.state == CaseState::Open);
    Ok(open)
}

/// The shipment's cases under the merchant's current rules, in any state, most recently
/// changed first.
pub async fn cases_of(deps: &Deps, shipment: &Shipment) -> Result<Vec<ExceptionCase>, AppError> {
    let (rules, _) = exception_rules(deps, &shipment.tenant_id).await?;
    let mut cases = Vec::new();
    for rule in &rules.rules {
        let id = ExceptionCase::case_id(&shipment.tenant_id, &shipment.id, &rule.id);
        if let Some(case) = deps.exceptions.case(&shipment.tenant_id, &id).await? {
            cases.push(case);
        }
    }
    cases.sort_by_key(|case| std::cmp::Reverse(case.updated_at));
    Ok(cases)
}

/// Adds `tag` to the shipment's `shipment_tags` unless it has it.
async fn add_tag(deps: &Deps, shipment: &Shipment, tag: &str) -> Result<(), AppError> {
    let tagged = super::update_tracking(deps, &shipment.tenant_id, &shipment.id, |current| {
        if !current.details.shipment_tags.iter().any(|t| t == tag) {
            current.details.shipment_tags.push(tag.to_owned());
        }
        Ok(())
    })
    .await;
    match tagged {
        Ok(_) | Err(AppError::NotFound) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Evaluates every rule against the shipment a change left (creations and updates; the
/// shopper is written to on updates only, as with notifications).
pub async fn evaluate_change(
    deps: &Deps,
    ledger: &dyn MessageLedger,
    change: &ChangeEvent,
) -> Result<EvaluationReport, AppError> {
    if !matches!(change.kind, ChangeKind::Created | ChangeKind::Updated) {
        return Ok(EvaluationReport::default());
    }
    let Some(shipment) = deps.shipments.get(&change.tenant_id, &change.shipment_id).await? else {
        return Ok(EvaluationReport::default());
    };
    evaluate(deps, ledger, &shipment, false, change.kind == ChangeKind::Updated).await
}

/// The tenant's cases passing `filter`, newest first.
pub async fn list_cases(
    deps: &Deps,
    tenant: &TenantId,
    filter: &CaseFilter,
    limit: usize,
) -> Result<Vec<ExceptionCase>, AppError> {
    Ok(deps.exceptions.cases(tenant, filter, limit).await?)
}

/// One case. `Missing` if the tenant has none with `id`.
pub async fn get_case(deps: &Deps, tenant: &TenantId, id: &str) -> Result<ExceptionCase, AppError> {
    deps.exceptions.case(tenant, id).await?.ok_or(AppError::Missing("exception"))
}

/// What the team does to a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseWrite {
    /// Who handles it; `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    pub assignee: Option<Option<String>>,
    /// A note to add.
    pub note: Option<String>,
    /// Who writes the note.
    pub author: Option<String>,
    /// `resolved` to resolve it, `open` to reopen it by hand.
    pub state: Option<CaseState>,
}

/// Applies `write` to a case: assigns, notes, resolves (the shipment's facts are kept, so only
/// new ones reopen it) or reopens. `Missing` if the tenant has no case `id`.
pub async fn change_case(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    write: &CaseWrite,
) -> Result<ExceptionCase, AppError> {
    let bounded = |field: &str, value: &str, max: usize| {
        if value.trim().is_empty() || value.chars().count() > max {
            Err(DomainError::invalid(field, format!("must be 1 to {max} characters")))
        } else {
            Ok(())
        }
    };
    if let Some(Some(assignee)) = &write.assignee {
        bounded("assignee", assignee, 100)?;
    }
    if let Some(note) = &write.note {
        bounded("note", note, 2000)?;
    }
    if let Some(author) = &write.author {
        bounded("author", author, 100)?;
    }
    for _ in 0..ATTEMPTS {
        let mut case = get_case(deps, tenant, id).await?;
        let now = deps.clock.now();
        if let Some(assignee) = &write.assignee {
            case.assignee.clone_from(assignee);
        }
        if let Some(text) = &write.note {
            if case.notes.len() >= MAX_NOTES {
                return Err(DomainError::invalid("note", format!("a case keeps at most {MAX_NOTES} notes")).into());
            }
            case.notes.push(Note { at: now, author: write.author.clone(), text: text.clone() });
        }
        match write.state {
            Some(CaseState::Resolved) if case.state == CaseState::Open => {
                case.state = CaseState::Resolved;
                case.resolved_at = Some(now);
                if let Some(shipment) = deps.shipments.get(tenant, &case.shipment_id).await? {
                    case.facts = facts_of(&shipment);
                }
            }
            Some(CaseState::Open) if case.state == CaseState::Resolved => {
                case.state = CaseState::Open;
                case.reopened += 1;
            }
            _ => {}
        }
        case.updated_at = now;
        match deps.exceptions.put_case(&case).await {
            Ok(version) => {
                case.version = version;
                tracing::info!(tenant_id = %tenant, case_id = id, state = case.state.as_str(), "exception case changed");
                return Ok(case);
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::Busy)
}

#[cfg(test)]
mod tests;
