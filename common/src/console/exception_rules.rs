//! The exception rule editor: a rule's condition and its settings, its scope, severity,
//! reason and actions; new rules added, rules removed (admins and owners). A refused form comes
//! back as it was sent, with the reason.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::rule_forms::{list, number, scope_of, ticked};
use super::shipments::status_label;
use super::{Console, Fields, Visitor, failure, fields, form_problem, message, one, page, see_other};
use crate::app::AppError;
use crate::app::exceptions::{self, ExceptionRuleWrite};
use crate::domain::{Action, Actions, Condition, DomainError, ExceptionRule, SUBTAGS, Severity, Tag};

/// Every condition a rule may have: its wire name, and how the team reads it.
const CONDITIONS: [(&str, &str); 9] = [
    ("subtag_in", "The sub-status is one of those chosen"),
    ("failed_attempts", "At least this many failed delivery attempts"),
    ("no_update", "No news for this many days"),
    ("past_due", "Not delivered this many days after the promised or estimated date"),
    ("beyond_lane_p90", "Slower than 9 in 10 of its lane's deliveries"),
    ("returned_to_sender", "Returning or returned to the sender"),
    ("customs_hold", "Held in customs"),
    ("address_problem", "An address problem"),
    ("lost_or_damaged", "Lost or damaged"),
];

/// A rule as its form's fields, to fill the editor with.
fn fields_of(rule: &ExceptionRule) -> Fields {
    let mut form = Fields::new();
    let mut set = |name: &str, values: Vec<String>| {
        form.insert(name.to_owned(), values);
    };
    set("name", vec![rule.name.clone()]);
    set("reason", vec![rule.reason.clone()]);
    set("severity", vec![rule.severity.as_str().to_owned()]);
    set("enabled", vec![if rule.enabled { "yes" } else { "" }.to_owned()]);
    let condition = serde_json::to_value(&rule.condition).unwrap_or(Json::Null);
    set("condition", vec![condition["type"].as_str().unwrap_or_default().to_owned()]);
    let strings = |v: &Json| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
    };
    set("subtags", strings(&condition["subtags"]));
    set("tags", strings(&condition["tags"]));
    for name in ["at_least", "days"] {
        set(name, condition[name].as_u64().map(|n| n.to_string()).into_iter().collect());
    }
    let scope = &rule.scope;
    set("scope_slugs", vec![scope.slugs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")]);
    set("scope_countries", vec![scope.destination_countries.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")]);
    set("scope_tags", vec![scope.shipment_tags.join(", ")]);
    set("notify_shopper", vec![if rule.actions.notify_shopper { "yes" } else { "" }.to_owned()]);
    set("add_tag", rule.actions.add_tag.iter().cloned().collect());
    set("notify_team", vec![rule.actions.notify_team.join(", ")]);
    form
}

/// The condition the form asks for, with the settings its kind takes.
fn condition_of(form: &Fields) -> Result<Condition, AppError> {
    let kind = one(form, "condition");
    let values = |name: &str| form.get(name).cloned().unwrap_or_default();
    let settings = match kind {
        "subtag_in" => json!({ "subtags": values("subtags") }),
        "failed_attempts" => json!({ "at_least": number(form, "at_least", "condition.at_least", 1)? }),
        "no_update" => json!({ "days": number(form, "days", "condition.days", 0)?, "tags": values("tags") }),
        "past_due" => json!({ "days": number(form, "days", "condition.days", 0)? }),
        _ => json!({}),
    };
    let mut condition = settings;
    condition["type"] = Json::String(kind.to_owned());
    serde_json::from_value(condition).map_err(|_| {
        DomainError::invalid("condition", "must be one of the conditions offered, with its settings").into()
    })
}

/// The rule the form asks for, every field given.
fn write_of(form: &Fields) -> Result<ExceptionRuleWrite, AppError> {
    let severity = Severity::parse(one(form, "severity"))
        .ok_or_else(|| DomainError::invalid("severity", "must be low, medium, high or critical"))?;
    let actions = Actions {
        notify_shopper: ticked(form, "notify_shopper"),
        add_tag: Some(one(form, "add_tag").to_owned()).filter(|t| !t.is_empty()),
        notify_team: list(form, "notify_team", ','),
    };
    Ok(ExceptionRuleWrite {
        name: Some(one(form, "name").to_owned()),
        enabled: Some(ticked(form, "enabled")),
        condition: Some(condition_of(form)?),
        scope: Some(scope_of(form)?),
        severity: Some(severity),
        reason: Some(one(form, "reason").to_owned()),
        actions: Some(actions),
        ..ExceptionRuleWrite::default()
    })
}

/// The editor for the rule `id` (`None`: a new rule) showing `form`, with `problem` above it.
fn editor(visitor: &Visitor, id: Option<&str>, form: &Fields, problem: Option<String>) -> Response {
    let chosen = |name: &str| form.get(name).cloned().unwrap_or_default();
    let (subtags, tags) = (chosen("subtags"), chosen("tags"));
    let groups: Vec<_> = Tag::ALL
        .iter()
        .map(|tag| {
            let codes: Vec<_> = SUBTAGS
                .iter()
                .filter(|s| s.tag == *tag)
                .map(|s| {
                    let label = format!("{} ({})", s.message, s.code);
                    minijinja::context! { code => s.code, label => label, on => subtags.iter().any(|c| c == s.code) }
                })
                .collect();
            minijinja::context! { label => status_label(*tag), codes => codes }
        })
        .collect();
    let statuses: Vec<_> = Tag::ALL
        .iter()
        .map(|t| minijinja::context! { code => t.as_str(), label => status_label(*t), on => tags.iter().any(|c| c == t.as_str()) })
        .collect();
    let conditions: Vec<_> =
        CONDITIONS.iter().map(|&(code, label)| minijinja::context! { code => code, label => label }).collect();
    let mut layout = visitor.layout("exceptions");
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    layout.problem = problem;
    let value = |name: &str| one(form, name).to_owned();
    let content = minijinja::context! {
        id => id, name => value("name"), reason => value("reason"), severity => value("severity"),
        enabled => ticked(form, "enabled"), condition => value("condition"), conditions => conditions,
        subtag_groups => groups, statuses => statuses, at_least => value("at_least"), days => value("days"),
        scope => minijinja::context! { slugs => value("scope_slugs"), countries => value("scope_countries"), tags => value("scope_tags") },
        notify_shopper => ticked(form, "notify_shopper"), add_tag => value("add_tag"), notify_team => value("notify_team"),
        severities => ["low", "medium", "high", "critical"],
    };
    let title = if id.is_some() { format!("Rule: {}", value("name")) } else { "A new exception rule".to_owned() };
    page(status, "console/exception_rule.html", &title, &layout, content)
}

pub(super) fn gone(visitor: &Visitor) -> Response {
    message(
        StatusCode::NOT_FOUND,
        &visitor.layout("exceptions"),
        "No such rule",
        "It may have been removed.",
        Some(("/console/exceptions#rules-h", "Back to the rules")),
    )
}

pub(super) async fn new_rule(visitor: Visitor) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let mut form = Fields::new();
    for (name, value) in [("severity", "medium"), ("enabled", "yes"), ("condition", "subtag_in")] {
        form.insert(name.to_owned(), vec![value.to_owned()]);
    }
    editor(&visitor, None, &form, None)
}

pub(super) async fn edit_rule(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    match exceptions::get_rule(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(rule) => editor(&visitor, Some(&id), &fields_of(&rule), None),
        Err(AppError::Missing(_)) => gone(&visitor),
        Err(error) => failure(&error),
    }
}

/// Creates the rule the form describes (`id` absent) or changes rule `id` to it.
async fn save(console: &Console, visitor: &Visitor, id: Option<&str>, body: &[u8]) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let form = fields(body);
    let tenant = &visitor.member.tenant_id;
    // Another merchant's rule, or one removed since, is not there: whatever the form says.
    if let Some(id) = id
        && let Err(AppError::Missing(_)) = exceptions::get_rule(&console.deps, tenant, id).await
    {
        return gone(visitor);
    }
    let saved = match (write_of(&form), id) {
        (Ok(write), None) => exceptions::create_rule(&console.deps, tenant, write).await,
        (Ok(write), Some(id)) => exceptions::update_rule(&console.deps, tenant, id, write).await,
        (Err(error), _) => Err(error),
    };
    match saved {
        Ok(rule) => {
            let action = if id.is_some() { "exception_rule.changed" } else { "exception_rule.created" };
            visitor.audit(&console.deps, action, &rule.id, &rule.name).await;
            see_other("/console/exceptions?notice=rule_saved#rules-h")
        }
        Err(AppError::Missing(_)) => gone(visitor),
        Err(error) => match form_problem(&error) {
            Some(problem) => editor(visitor, id, &form, Some(problem)),
            None => failure(&error),
        },
    }
}

pub(super) async fn create_rule(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    save(&console, &visitor, None, &body).await
}

pub(super) async fn change_rule(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    save(&console, &visitor, Some(&id), &body).await
}

pub(super) async fn delete_rule(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    match exceptions::delete_rule(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(rule) => {
            visitor.audit(&console.deps, "exception_rule.deleted", &rule.id, &rule.name).await;
            see_other("/console/exceptions?notice=rule_removed#rules-h")
        }
        Err(AppError::Missing(_)) => gone(&visitor),
        Err(error) => failure(&error),
    }
}
