//! The contract of exception cases.

use chrono::Duration;

use super::base_time;
use crate::domain::{CaseState, Note, Severity, ShipmentId, Slug, TenantId};
use crate::ports::{CaseFilter, ExceptionCase, ExceptionStore, StoreError};

fn case(tenant: &TenantId, rule: &str, severity: Severity, opened_minutes: i64) -> ExceptionCase {
    let shipment = ShipmentId::random();
    ExceptionCase {
        id: ExceptionCase::case_id(tenant, &shipment, rule),
        tenant_id: tenant.clone(),
        shipment_id: shipment,
        slug: Slug::parse(if severity == Severity::High { "fedex" } else { "ups" }).expect("slug"),
        tracking_number: "1Z999AA10123456784".into(),
        rule_id: rule.into(),
        rule_name: "Rule".into(),
        severity,
        reason: "the carrier could not deliver".into(),
        state: CaseState::Open,
        assignee: None,
        notes: Vec::new(),
        opened_at: base_time() + Duration::minutes(opened_minutes),
        updated_at: base_time() + Duration::minutes(opened_minutes),
        resolved_at: None,
        facts: "AttemptFail_001|2|1".into(),
        reopened: 0,
        version: 0,
    }
}

/// Cases are created once, changed under their version, listed newest first through every
/// filter, and stay within their tenant.
pub async fn exception_contract_versions_filters_and_isolation(store: &dyn ExceptionStore) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let first = case(&tenant, "er_a", Severity::Medium, 1);
    let second = case(&tenant, "er_b", Severity::High, 2);
    let third = case(&tenant, "er_a", Severity::Medium, 3);
    for c in [&first, &second, &third] {
        assert_eq!(store.put_case(c).await.expect("created"), 1);
    }
    assert!(matches!(store.put_case(&first).await, Err(StoreError::Conflict)), "created once");
    let mut read = store.case(&tenant, &first.id).await.expect("read").expect("there");
    assert_eq!((read.version, &read.reason), (1, &first.reason));
    assert!(store.case(&other, &first.id).await.expect("read").is_none(), "per tenant");

    read.state = CaseState::Resolved;
    read.notes.push(Note { at: base_time(), author: Some("Kim".into()), text: "reshipped".into() });
    let stale = read.clone();
    assert_eq!(store.put_case(&read).await.expect("changed"), 2);
    assert!(matches!(store.put_case(&stale).await, Err(StoreError::Conflict)), "a stale version loses");
    let again = store.case(&tenant, &first.id).await.expect("read").expect("there");
    assert_eq!((again.version, again.state, again.notes.len()), (2, CaseState::Resolved, 1));

    let ids = |cases: Vec<ExceptionCase>| cases.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let one = |id: &String| vec![id.clone()];
    let all = store.cases(&tenant, &CaseFilter::default(), 10).await.expect("listed");
    assert_eq!(ids(all), [third.id.clone(), second.id.clone(), first.id.clone()], "newest first");
    let open = CaseFilter { state: Some(CaseState::Open), ..CaseFilter::default() };
    assert_eq!(ids(store.cases(&tenant, &open, 10).await.expect("listed")), [third.id.clone(), second.id.clone()]);
    let by_rule = CaseFilter { rule_id: Some("er_a".into()), ..CaseFilter::default() };
    assert_eq!(ids(store.cases(&tenant, &by_rule, 10).await.expect("listed")), [third.id.clone(), first.id.clone()]);
    let high = CaseFilter { severity: Some(Severity::High), ..CaseFilter::default() };
    assert_eq!(ids(store.cases(&tenant, &high, 10).await.expect("listed")), one(&second.id));
    let fedex = CaseFilter { slug: Some(Slug::parse("fedex").expect("slug")), ..CaseFilter::default() };
    assert_eq!(ids(store.cases(&tenant, &fedex, 10).await.expect("listed")), one(&second.id));
    let old = CaseFilter { opened_before: Some(base_time() + Duration::minutes(2)), ..CaseFilter::default() };
    assert_eq!(ids(store.cases(&tenant, &old, 10).await.expect("listed")), one(&first.id));
    assert_eq!(store.cases(&tenant, &CaseFilter::default(), 2).await.expect("listed").len(), 2, "limited");
    assert!(store.cases(&other, &CaseFilter::default(), 10).await.expect("listed").is_empty(), "per tenant");
}

/// Generates the exception store contract test for a store built by `$make`.
#[macro_export]
macro_rules! exception_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; exception_contract_versions_filters_and_isolation,);
    };
}
