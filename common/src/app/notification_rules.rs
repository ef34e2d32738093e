//! A merchant's notification rules: read (the defaults until the first change), created,
//! changed and deleted one at a time, stored as one versioned document.

use serde::Deserialize;

use super::{AppError, Deps};
use crate::domain::{
    Channel, Language, NotificationRule, NotificationRules, QuietHours, Scope, TenantId, Trigger, nullable,
};
use crate::ports::SettingsKind;
use crate::secrets::random_bytes;

/// The tenant's rules and the version they were read at (0 for the defaults, never stored).
pub async fn notification_rules(deps: &Deps, tenant: &TenantId) -> Result<(NotificationRules, u64), AppError> {
    let (rules, version) = super::documents::read(deps, tenant, SettingsKind::NotificationRules).await?;
    Ok((rules.unwrap_or_else(NotificationRules::defaults), version))
}

/// Applies `change` to the tenant's rules and stores them if they are still valid; the
/// change's result.
async fn change_rules<T>(
    deps: &Deps,
    tenant: &TenantId,
    change: impl Fn(&mut NotificationRules) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let outcome =
        super::documents::change(deps, tenant, SettingsKind::NotificationRules, NotificationRules::defaults, |rules| {
            let outcome = change(rules)?;
            rules.validate()?;
            Ok(outcome)
        })
        .await?;
    tracing::info!(tenant_id = %tenant, "notification rules changed");
    Ok(outcome)
}

/// A rule as the API writes it: on create every field but `trigger` may be absent (email, at
/// once, everyone); on change, absent fields keep their value and `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the rule's field of the same name
pub struct RuleWrite {
    pub enabled: Option<bool>,
    pub trigger: Option<Trigger>,
    #[serde(default, deserialize_with = "nullable")]
    pub no_update_days: Option<Option<u32>>,
    pub channels: Option<Vec<Channel>>,
    pub delay_minutes: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub quiet_hours: Option<Option<QuietHours>>,
    pub languages: Option<Vec<Language>>,
    pub scope: Option<Scope>,
    /// Answers carry the rule's `id`; sent back, it is ignored.
    #[serde(default, rename = "id")]
    pub _id: Option<serde::de::IgnoredAny>,
}

impl RuleWrite {
    fn apply(&self, rule: &mut NotificationRule) {
        if let Some(trigger) = self.trigger {
            if trigger != rule.trigger && self.no_update_days.is_none() {
                // A change of trigger brings the day count it needs, or drops it.
                rule.no_update_days = (trigger == Trigger::NoUpdate).then_some(7);
            }
            rule.trigger = trigger;
        }
        if let Some(days) = self.no_update_days {
            rule.no_update_days = days;
        }
        if let Some(enabled) = self.enabled {
            rule.enabled = enabled;
        }
        if let Some(channels) = &self.channels {
            let mut channels = channels.clone();
            channels.sort();
            channels.dedup();
            rule.channels = channels;
        }
        if let Some(delay) = self.delay_minutes {
            rule.delay_minutes = delay;
        }
        if let Some(quiet) = &self.quiet_hours {
            rule.quiet_hours = quiet.clone();
        }
        if let Some(languages) = &self.languages {
            rule.languages = languages.clone();
        }
        if let Some(scope) = &self.scope {
            rule.scope = scope.clone();
        }
    }
}

/// The rule's checks, named as a single rule's fields (not `rules[i].…`).
fn checked(rule: &NotificationRule) -> Result<(), AppError> {
    rule.validate().map_err(AppError::Invalid)
}

/// Adds a rule. `Required("trigger")` without one.
pub async fn create_rule(deps: &Deps, tenant: &TenantId, write: RuleWrite) -> Result<NotificationRule, AppError> {
    let trigger = write.trigger.ok_or(AppError::Required("trigger"))?;
    let mut rule =
        NotificationRule::new(format!("nr_{}", hex::encode(random_bytes::<8>())), trigger, vec![Channel::Email]);
    write.apply(&mut rule);
    checked(&rule)?;
    change_rules(deps, tenant, |rules| {
        rules.rules.push(rule.clone());
        Ok(rule.clone())
    })
    .await
}

fn position(rules: &NotificationRules, id: &str) -> Result<usize, AppError> {
    rules.rules.iter().position(|r| r.id == id).ok_or(AppError::Missing("notification rule"))
}

/// One rule. `Missing` if the tenant has none with `id`.
pub async fn get_rule(deps: &Deps, tenant: &TenantId, id: &str) -> Result<NotificationRule, AppError> {
    let (rules, _) = notification_rules(deps, tenant).await?;
    Ok(rules.rules[position(&rules, id)?].clone())
}

/// Changes the fields `write` gives. `Missing` if the tenant has no rule `id`.
pub async fn update_rule(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    write: RuleWrite,
) -> Result<NotificationRule, AppError> {
    change_rules(deps, tenant, |rules| {
        let i = position(rules, id)?;
        let mut rule = rules.rules[i].clone();
        write.apply(&mut rule);
        checked(&rule)?;
        rules.rules[i] = rule.clone();
        Ok(rule)
    })
    .await
}

/// Removes a rule and answers it as it was. `Missing` if the tenant has no rule `id`.
pub async fn delete_rule(deps: &Deps, tenant: &TenantId, id: &str) -> Result<NotificationRule, AppError> {
    change_rules(deps, tenant, |rules| {
        let i = position(rules, id)?;
        Ok(rules.rules.remove(i))
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::SystemClock;

    fn write(json: serde_json::Value) -> RuleWrite {
        serde_json::from_value(json).expect("a rule write")
    }

    #[tokio::test]
    async fn rules_start_as_the_defaults_and_change_one_at_a_time() {
        let deps = crate::testkit::deps(SqliteStore::in_memory().expect("store"), Arc::new(SystemClock));
        let tenant = crate::app::create_tenant(&deps, "Acme").await.expect("tenant").0.id;
        let (rules, version) = notification_rules(&deps, &tenant).await.expect("read");
        assert_eq!((rules, version), (NotificationRules::defaults(), 0));

        let sms = create_rule(
            &deps,
            &tenant,
            write(serde_json::json!({"trigger": "out_for_delivery", "channels": ["sms", "sms"],
                "quiet_hours": {"start": "21:00", "end": "08:00"}, "scope": {"destination_countries": ["USA"]}})),
        )
        .await
        .expect("created");
        assert!(sms.id.starts_with("nr_") && sms.channels == [Channel::Sms]);
        let (rules, version) = notification_rules(&deps, &tenant).await.expect("read");
        assert_eq!((rules.rules.len(), version), (6, 1), "the defaults and the new rule, stored");

        let changed = update_rule(
            &deps,
            &tenant,
            &sms.id,
            write(serde_json::json!({"trigger": "no_update", "quiet_hours": null})),
        )
        .await
        .expect("changed");
        assert_eq!(
            (changed.trigger, changed.no_update_days, &changed.quiet_hours),
            (Trigger::NoUpdate, Some(7), &None)
        );
        let bad = update_rule(&deps, &tenant, &sms.id, write(serde_json::json!({"channels": []}))).await;
        assert!(matches!(bad, Err(AppError::Invalid(ref e)) if e.field == "channels"), "{bad:?}");
        assert_eq!(get_rule(&deps, &tenant, &sms.id).await.expect("read"), changed, "a refusal stores nothing");

        let removed = delete_rule(&deps, &tenant, "nr_default_delivered").await.expect("deleted");
        assert_eq!(removed.trigger, Trigger::Delivered);
        assert!(matches!(delete_rule(&deps, &tenant, "nr_default_delivered").await, Err(AppError::Missing(_))));
        assert!(matches!(create_rule(&deps, &tenant, RuleWrite::default()).await, Err(AppError::Required("trigger"))));
        let other = crate::app::create_tenant(&deps, "Other").await.expect("tenant").0.id;
        assert!(matches!(get_rule(&deps, &other, &sms.id).await, Err(AppError::Missing(_))), "per merchant");
    }
}
