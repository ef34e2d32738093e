//! The rule editors: exception rules and notification rules added, changed and removed by
//! admins, refused with the reason (the form kept), out of viewers' reach.

use axum::http::StatusCode;

use super::Harness;
use crate::app::{exceptions, notification_rules};
use crate::domain::{Condition, Language, Role, Severity, Tag, Trigger};

#[tokio::test]
async fn admins_write_exception_rules_with_their_conditions_and_actions() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    h.member(&h.tenant, "vic@example.com", Role::Viewer).await;
    let before = exceptions::exception_rules(&h.deps, &h.tenant).await.expect("rules").0.rules.len();
    let mut adm = h.signed_in("adm@example.com").await;
    let blank = h.get(&mut adm, "/console/exceptions/rules/new").await;
    assert_eq!(blank.status, StatusCode::OK);
    let token = blank.csrf();
    let form = [
        ("csrf", token.as_str()),
        ("name", "Two misses"),
        ("reason", "Call the shopper to agree on a pickup"),
        ("severity", "high"),
        ("enabled", "yes"),
        ("condition", "failed_attempts"),
        ("at_least", "2"),
        ("scope_slugs", "ups"),
        ("scope_countries", "de"),
        ("add_tag", "call-me"),
        ("notify_team", "ops@example.com, lead@example.com"),
    ];
    let added = h.post(&mut adm, "/console/exceptions/rules/new", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let rules = exceptions::exception_rules(&h.deps, &h.tenant).await.expect("rules").0.rules;
    assert_eq!(rules.len(), before + 1);
    let rule = rules.iter().find(|r| r.name == "Two misses").expect("added");
    assert_eq!((rule.condition.clone(), rule.severity), (Condition::FailedAttempts { at_least: 2 }, Severity::High));
    assert_eq!(rule.scope.destination_countries[0].as_str(), "DEU");
    assert_eq!((rule.actions.add_tag.as_deref(), rule.actions.notify_team.len()), (Some("call-me"), 2));

    let path = format!("/console/exceptions/rules/{}/edit", rule.id);
    let editor = h.get(&mut adm, &path).await;
    assert!(editor.body.contains("value=\"Two misses\"") && editor.body.contains("value=\"failed_attempts\" checked"));
    let quiet = [
        ("csrf", token.as_str()),
        ("name", "Gone quiet"),
        ("reason", "Ask the carrier"),
        ("severity", "medium"),
        ("condition", "no_update"),
        ("days", "5"),
        ("tags", "InTransit"),
    ];
    assert_eq!(h.post(&mut adm, &path, &quiet).await.status, StatusCode::SEE_OTHER);
    let changed = exceptions::get_rule(&h.deps, &h.tenant, &rule.id).await.expect("rule");
    assert_eq!(changed.condition, Condition::NoUpdate { days: 5, tags: vec![Tag::InTransit] });
    assert!(!changed.enabled && changed.actions.notify_team.is_empty(), "every field is the form's");

    let empty = [
        ("csrf", token.as_str()),
        ("name", "Kept name"),
        ("reason", "r"),
        ("severity", "low"),
        ("condition", "subtag_in"),
    ];
    let refused = h.post(&mut adm, &path, &empty).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("condition.subtags") && refused.body.contains("value=\"Kept name\""),
        "{}",
        refused.body
    );
    let bad_team = [
        ("csrf", token.as_str()),
        ("name", "n"),
        ("reason", "r"),
        ("severity", "low"),
        ("condition", "customs_hold"),
        ("notify_team", "not-an-address"),
    ];
    assert_eq!(h.post(&mut adm, &path, &bad_team).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(exceptions::get_rule(&h.deps, &h.tenant, &rule.id).await.expect("rule"), changed, "nothing changed");

    let mut vic = h.signed_in("vic@example.com").await;
    let seen = h.get(&mut vic, "/console/exceptions").await;
    assert!(!seen.body.contains("Add a rule"));
    let forged =
        h.post(&mut vic, &format!("/console/exceptions/rules/{}/delete", rule.id), &[("csrf", &seen.csrf())]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let removed = h.post(&mut adm, &format!("/console/exceptions/rules/{}/delete", rule.id), &[("csrf", &token)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(exceptions::exception_rules(&h.deps, &h.tenant).await.expect("rules").0.rules.len(), before);
}

#[tokio::test]
async fn admins_add_notification_rules_with_quiet_hours_and_languages() {
    let h = Harness::new().await;
    h.member(&h.tenant, "adm@example.com", Role::Admin).await;
    let mut adm = h.signed_in("adm@example.com").await;
    let page = h.get(&mut adm, "/console/notifications").await;
    assert!(page.body.contains("Add a rule") && page.body.contains("Quiet from"));
    let token = page.csrf();
    let before = notification_rules::notification_rules(&h.deps, &h.tenant).await.expect("rules").0.rules.len();
    let form = [
        ("csrf", token.as_str()),
        ("trigger", "no_update"),
        ("enabled", "yes"),
        ("sms", "yes"),
        ("no_update_days", "4"),
        ("quiet_start", "21:00"),
        ("quiet_end", "08:00"),
        ("quiet_zone", "Europe/Berlin"),
        ("languages", "de"),
        ("languages", "en"),
    ];
    let added = h.post(&mut adm, "/console/notifications/rules", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let rules = notification_rules::notification_rules(&h.deps, &h.tenant).await.expect("rules").0.rules;
    assert_eq!(rules.len(), before + 1);
    let rule = rules.iter().find(|r| r.trigger == Trigger::NoUpdate).expect("added");
    assert_eq!(rule.no_update_days, Some(4));
    let quiet = rule.quiet_hours.clone().expect("quiet hours");
    assert_eq!(
        (quiet.start.as_str(), quiet.end.as_str(), quiet.time_zone.as_deref()),
        ("21:00", "08:00", Some("Europe/Berlin"))
    );
    assert_eq!(rule.languages, [Language::De, Language::En]);

    let mut bad_zone = form;
    bad_zone[7] = ("quiet_zone", "Mars/Olympus");
    let refused = h.post(&mut adm, &format!("/console/notifications/rules/{}", rule.id), &bad_zone).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("quiet_hours.time_zone"));
    let no_trigger = [("csrf", token.as_str()), ("trigger", "team_alert"), ("email", "yes")];
    assert_eq!(
        h.post(&mut adm, "/console/notifications/rules", &no_trigger).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let gone = h.post(&mut adm, &format!("/console/notifications/rules/{}/delete", rule.id), &[("csrf", &token)]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(notification_rules::notification_rules(&h.deps, &h.tenant).await.expect("rules").0.rules.len(), before);
}
