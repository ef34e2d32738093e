//! Notification rules in the console: each rule's trigger, channels, delay, quiet hours,
//! languages and trial scope changed, new rules added, rules removed (admins and owners).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::notifications::trigger_label;
use super::rule_forms::{number, scope_fields, scope_of, ticked};
use super::{Console, Fields, Visitor, failure, fields, form_problem, message, one, see_other};
use crate::app::AppError;
use crate::app::notification_rules::{self, RuleWrite};
use crate::domain::{Action, Channel, DomainError, Language, NotificationRule, NotificationRules, QuietHours, Trigger};

/// A language a rule may write in, ticked when the rule does.
fn language_choices(offered: &[Language], chosen: &[Language]) -> Vec<minijinja::Value> {
    offered
        .iter()
        .map(|l| minijinja::context! { code => l.code(), name => l.native_name(), on => chosen.contains(l) })
        .collect()
}

fn rule_view(rule: &NotificationRule, offered: &[Language]) -> minijinja::Value {
    let channels: Vec<&str> = rule.channels.iter().map(|c| c.as_str()).collect();
    let quiet = rule.quiet_hours.as_ref();
    minijinja::context! {
        id => rule.id.clone(),
        trigger => rule.trigger.as_str(),
        label => format!("{}: {}", trigger_label(rule.trigger), if channels.is_empty() { "no channel".to_owned() } else { channels.join(" and ") }),
        enabled => rule.enabled,
        email => rule.channels.contains(&Channel::Email),
        sms => rule.channels.contains(&Channel::Sms),
        delay => rule.delay_minutes,
        no_update_days => rule.no_update_days,
        quiet_start => quiet.map(|q| q.start.clone()),
        quiet_end => quiet.map(|q| q.end.clone()),
        quiet_zone => quiet.and_then(|q| q.time_zone.clone()),
        languages => language_choices(offered, &rule.languages),
        scope => scope_fields(&rule.scope),
    }
}

/// The merchant's rules as their forms show them; `offered` are the languages of the page.
pub(super) fn rule_views(rules: &NotificationRules, offered: &[Language]) -> Vec<minijinja::Value> {
    rules.rules.iter().map(|r| rule_view(r, offered)).collect()
}

/// The form of a new rule: by email, at once, in every language, for everyone.
pub(super) fn blank_rule(offered: &[Language]) -> minijinja::Value {
    rule_view(&NotificationRule::new("new", Trigger::Delivered, vec![Channel::Email]), offered)
}

/// The rule a rules form asks for: the trigger (new rules), sends or not, channels, delay,
/// days without news (no-update rules), quiet hours, languages and scope.
fn rule_write(fields: &Fields, new: bool) -> Result<RuleWrite, AppError> {
    let invalid = |field: &str, why: &str| AppError::from(DomainError::invalid(field, why));
    let mut channels = Vec::new();
    if ticked(fields, "email") {
        channels.push(Channel::Email);
    }
    if ticked(fields, "sms") {
        channels.push(Channel::Sms);
    }
    let trigger = match (new, one(fields, "trigger")) {
        (false, _) => None,
        (true, code) => Some(Trigger::parse(code).ok_or_else(|| invalid("trigger", "must be a shopper's trigger"))?),
    };
    let days = match one(fields, "no_update_days") {
        "" => None,
        _ => Some(number(fields, "no_update_days", "no_update_days", 0)?),
    };
    let quiet_hours = match (one(fields, "quiet_start"), one(fields, "quiet_end")) {
        ("", "") => None,
        (start, end) => Some(QuietHours {
            start: start.to_owned(),
            end: end.to_owned(),
            time_zone: Some(one(fields, "quiet_zone").to_owned()).filter(|z| !z.is_empty()),
        }),
    };
    let languages = fields
        .get("languages")
        .into_iter()
        .flatten()
        .map(|code| Language::parse(code).map_err(|_| invalid("languages", "must be languages Porchlight writes")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RuleWrite {
        enabled: Some(ticked(fields, "enabled")),
        trigger,
        no_update_days: Some(days),
        channels: Some(channels),
        delay_minutes: Some(number(fields, "delay_minutes", "delay_minutes", 0)?),
        quiet_hours: Some(quiet_hours),
        languages: Some(languages),
        scope: Some(scope_of(fields)?),
        ..RuleWrite::default()
    })
}

/// The answer to a rules form: back to the rules, or why nothing was saved.
async fn answer(visitor: &Visitor, console: &Console, done: Result<(&str, String), AppError>) -> Response {
    let why = match done {
        Ok((action, id)) => {
            visitor.audit(&console.deps, action, &id, "").await;
            return see_other("/console/notifications?notice=rule_saved#rules-h");
        }
        Err(AppError::Missing(_)) => {
            let back = Some(("/console/notifications#rules-h", "Back to the rules"));
            let layout = visitor.layout("notifications");
            return message(StatusCode::NOT_FOUND, &layout, "No such rule", "It may have been removed.", back);
        }
        Err(error) => match form_problem(&error) {
            Some(problem) => problem,
            None => return failure(&error),
        },
    };
    let layout = visitor.layout("notifications");
    message(
        StatusCode::UNPROCESSABLE_ENTITY,
        &layout,
        "Not saved",
        &why,
        Some(("/console/notifications", "Back to notifications")),
    )
}

pub(super) async fn create_rule(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let tenant = &visitor.member.tenant_id;
    let made = match rule_write(&fields(&body), true) {
        Ok(write) => notification_rules::create_rule(&console.deps, tenant, write).await,
        Err(error) => Err(error),
    };
    answer(&visitor, &console, made.map(|rule| ("notification_rule.created", rule.id))).await
}

pub(super) async fn change_rule(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let tenant = &visitor.member.tenant_id;
    let changed = match rule_write(&fields(&body), false) {
        Ok(write) => notification_rules::update_rule(&console.deps, tenant, &id, write).await,
        Err(error) => Err(error),
    };
    answer(&visitor, &console, changed.map(|rule| ("notification_rule.changed", rule.id))).await
}

pub(super) async fn delete_rule(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let deleted = notification_rules::delete_rule(&console.deps, &visitor.member.tenant_id, &id).await;
    answer(&visitor, &console, deleted.map(|rule| ("notification_rule.deleted", rule.id))).await
}
