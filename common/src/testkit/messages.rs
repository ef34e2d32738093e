//! The contract of the message ledger.

use chrono::Duration;

use super::base_time;
use crate::domain::{Channel, Contact, Language, ShipmentId, TenantId, Trigger};
use crate::ports::{
    LedgerEntry, MessageLedger, MessageState, StoreError, Suppression, SuppressionList, SuppressionReason,
};

fn planned(
    tenant: &TenantId,
    shipment: &ShipmentId,
    trigger: Trigger,
    recipient: &str,
    due_minutes: i64,
) -> LedgerEntry {
    LedgerEntry::planned(
        tenant.clone(),
        shipment.clone(),
        trigger,
        Channel::Email,
        recipient.to_owned(),
        Language::En,
        base_time(),
        base_time() + Duration::minutes(due_minutes),
    )
}

/// Planning is once per identity; due messages are leased once per lease, earliest first;
/// an ending is final; everything stays within its tenant.
pub async fn ledger_contract_plans_once_leases_and_finishes(ledger: &dyn MessageLedger) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let shipment = ShipmentId::random();
    let now = base_time() + Duration::minutes(10);
    let soon = planned(&tenant, &shipment, Trigger::InTransit, "ann@example.com", 5);
    let sooner = planned(&tenant, &shipment, Trigger::InTransit, "bo@example.com", 1);
    let later = LedgerEntry { test: true, ..planned(&tenant, &shipment, Trigger::Delivered, "ann@example.com", 60) };
    assert_ne!(soon.id, later.id, "another trigger is another message");
    for entry in [&soon, &sooner, &later] {
        assert!(ledger.plan(entry).await.expect("planned"));
    }
    assert!(!ledger.plan(&soon).await.expect("answered"), "the same message is planned once");
    assert_eq!(ledger.shipment_messages(&tenant, &shipment).await.expect("read").len(), 3);
    assert!(ledger.shipment_messages(&other, &shipment).await.expect("read").is_empty(), "per tenant");

    let leased = ledger.lease_due(now, Duration::minutes(5), 10).await.expect("leased");
    let mine: Vec<&LedgerEntry> = leased.iter().filter(|e| e.tenant_id == tenant).collect();
    assert_eq!(mine.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [sooner.id.as_str(), soon.id.as_str()]);
    assert!(mine.iter().all(|e| e.attempts == 1 && e.recipient.ends_with("@example.com")));
    let again = ledger.lease_due(now, Duration::minutes(5), 10).await.expect("leased");
    assert!(again.iter().all(|e| e.tenant_id != tenant), "nothing leased twice while its lease runs");
    let expired = ledger.lease_due(now + Duration::minutes(6), Duration::minutes(5), 10).await.expect("leased");
    let retried: Vec<&LedgerEntry> = expired.iter().filter(|e| e.tenant_id == tenant).collect();
    assert_eq!(retried.len(), 2, "a lease that ran out is taken again");
    assert!(retried.iter().all(|e| e.attempts == 2));

    let at = now + Duration::minutes(7);
    ledger.finish(&tenant, &shipment, &soon.id, MessageState::Sent, Some("provider-1"), at).await.expect("finished");
    ledger.finish(&tenant, &shipment, &soon.id, MessageState::Failed, Some("late"), at).await.expect("answered");
    ledger
        .reschedule(&tenant, &shipment, &sooner.id, now + Duration::hours(8), Some("quiet hours"))
        .await
        .expect("moved");
    assert!(matches!(
        ledger.finish(&other, &shipment, &later.id, MessageState::Sent, None, at).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(ledger.reschedule(&tenant, &shipment, &soon.id, at, None).await, Err(StoreError::NotFound)),
        "ended"
    );
    let read = ledger.shipment_messages(&tenant, &shipment).await.expect("read");
    let soon_read = read.iter().find(|e| e.id == soon.id).expect("there");
    assert_eq!(
        (soon_read.state, soon_read.detail.as_deref(), soon_read.finished_at),
        (MessageState::Sent, Some("provider-1"), Some(at))
    );
    let later_read = read.iter().find(|e| e.id == later.id).expect("there");
    assert!(later_read.test && !soon_read.test, "a test send is kept as one");
    let sooner_read = read.iter().find(|e| e.id == sooner.id).expect("there");
    assert_eq!((sooner_read.state, sooner_read.due_at), (MessageState::Planned, now + Duration::hours(8)));
    let mine_now = ledger.lease_due(now + Duration::minutes(30), Duration::minutes(5), 10).await.expect("leased");
    assert!(mine_now.iter().all(|e| e.tenant_id != tenant), "the rescheduled one is not due, the later one neither");
    let printed = format!("{soon_read:?}");
    assert!(!printed.contains("example.com"), "{printed}");
}

/// An address is listed once under its id (the first reason stays), read, paged in id order,
/// removed, and never seen by another tenant.
pub async fn suppression_contract_lists_once_pages_and_isolates(list: &dyn SuppressionList) {
    let (tenant, other) = (TenantId::random(), TenantId::random());
    let contacts: Vec<Contact> =
        (0..5).map(|i| Contact::email(&format!("Shopper{i}@Example.com")).expect("an address")).collect();
    for contact in &contacts {
        let entry = Suppression::new(tenant.clone(), contact, SuppressionReason::Bounce, base_time());
        assert!(list.suppress(&entry).await.expect("added"));
    }
    let mut again = Suppression::new(tenant.clone(), &contacts[0], SuppressionReason::Manual, base_time());
    again.detail = Some("later".into());
    assert!(!list.suppress(&again).await.expect("answered"), "listed once");
    let first = list.suppression(&tenant, &again.id).await.expect("read").expect("listed");
    assert_eq!((first.reason, first.address.as_str()), (SuppressionReason::Bounce, "shopper0@example.com"));
    assert!(list.suppression(&other, &again.id).await.expect("read").is_none(), "per tenant");
    assert!(list.suppressions(&other, None, 10).await.expect("read").is_empty(), "per tenant");

    let page = list.suppressions(&tenant, None, 3).await.expect("read");
    let rest = list.suppressions(&tenant, page.last().map(|e| e.id.as_str()), 3).await.expect("read");
    let ids: Vec<&str> = page.iter().chain(&rest).map(|e| e.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!((page.len(), rest.len(), &ids), (3, 2, &sorted), "in id order, in pages");

    assert!(!list.unsuppress(&other, &again.id).await.expect("answered"), "not another tenant's");
    assert!(list.unsuppress(&tenant, &again.id).await.expect("removed"));
    assert!(!list.unsuppress(&tenant, &again.id).await.expect("answered"));
    assert!(list.suppression(&tenant, &again.id).await.expect("read").is_none());
    assert!(!format!("{first:?}").contains("xample"), "its Debug hides the address");
}

/// Generates the ledger and suppression list contract tests for a store built by `$make`.
#[macro_export]
macro_rules! ledger_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; ledger_contract_plans_once_leases_and_finishes,
            suppression_contract_lists_once_pages_and_isolates,);
    };
}

/// A messenger that keeps what it is asked to send.
#[derive(Default)]
pub struct KeptMessages(std::sync::Mutex<Vec<crate::ports::Outgoing>>);

#[async_trait::async_trait]
impl crate::ports::Messenger for KeptMessages {
    async fn send(&self, message: &crate::ports::Outgoing) -> Result<Option<String>, crate::ports::SendError> {
        self.0.lock().expect("lock").push(message.clone());
        Ok(None)
    }
}

/// Dispatches every due message of `ledger` and answers what was sent.
pub async fn dispatched(deps: &crate::app::Deps, ledger: &dyn MessageLedger) -> Vec<crate::ports::Outgoing> {
    let kept = KeptMessages::default();
    crate::app::notifications::dispatch_due(deps, ledger, &kept, 100).await.expect("dispatched");
    kept.0.into_inner().expect("lock")
}
