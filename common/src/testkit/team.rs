//! The contract of the team store.

use chrono::Duration;
use sha2::Digest;

use super::base_time;
use crate::domain::{Member, Role, TenantId};
use crate::ports::{AuditEntry, Session, StoreError, TeamStore};

/// A member of `tenant` with a fresh id and `email`.
pub fn sample_member(tenant: &TenantId, email: &str) -> Member {
    Member {
        tenant_id: tenant.clone(),
        id: format!("usr_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
        email: email.to_owned(),
        name: "Ana".into(),
        role: Role::Agent,
        password_hash: None,
        stamp: "stamp-1".into(),
        failed_sign_ins: 0,
        locked_until: None,
        created_at: base_time(),
        last_sign_in_at: None,
        version: 1,
    }
}

/// Members round-trip per tenant, an email belongs to one member of one merchant, updates
/// are optimistic, and a removed member frees its email.
pub async fn team_contract_members(store: &dyn TeamStore) {
    let (a, b) = (TenantId::random(), TenantId::random());
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let ana = sample_member(&a, &email);
    store.insert_member(&ana).await.expect("inserted");
    assert!(matches!(store.insert_member(&sample_member(&b, &email)).await, Err(StoreError::Conflict)), "one merchant");
    let mut bo = sample_member(&a, &format!("bo-{email}"));
    bo.created_at += Duration::minutes(1);
    store.insert_member(&bo).await.expect("inserted");
    assert_eq!(store.get_member(&a, &ana.id).await.expect("read"), Some(ana.clone()));
    assert_eq!(store.get_member(&b, &ana.id).await.expect("read"), None, "per tenant");
    assert_eq!(store.member_by_email(&email).await.expect("read"), Some(ana.clone()));
    assert_eq!(store.member_by_email("nobody@example.com").await.expect("read"), None);
    let ids: Vec<_> = store.list_members(&a).await.expect("listed").into_iter().map(|m| m.id).collect();
    assert_eq!(ids, [ana.id.clone(), bo.id.clone()]);
    assert!(store.list_members(&b).await.expect("listed").is_empty());

    let mut changed = ana.clone();
    changed.role = Role::Admin;
    changed.version = 2;
    store.update_member(&changed).await.expect("updated");
    assert_eq!(store.get_member(&a, &ana.id).await.expect("read"), Some(changed.clone()));
    assert!(matches!(store.update_member(&changed).await, Err(StoreError::Conflict)), "the same version again");
    let mut foreign = changed.clone();
    foreign.tenant_id = b.clone();
    foreign.version = 3;
    assert!(matches!(store.update_member(&foreign).await, Err(StoreError::NotFound)));

    assert!(matches!(store.delete_member(&b, &ana.id).await, Err(StoreError::NotFound)), "per tenant");
    store.delete_member(&a, &ana.id).await.expect("deleted");
    assert_eq!(store.member_by_email(&email).await.expect("read"), None);
    store.insert_member(&sample_member(&b, &email)).await.expect("the email is free again");
}

/// Sessions are found by their digest until they end; the audit log reads newest first per
/// tenant, in pages.
pub async fn team_contract_sessions_and_audit(store: &dyn TeamStore) {
    let (a, b) = (TenantId::random(), TenantId::random());
    let digest: [u8; 32] = sha2::Sha256::digest(uuid::Uuid::new_v4().as_bytes()).into();
    let session = Session {
        tenant_id: a.clone(),
        member_id: "usr_1".into(),
        stamp: "s".into(),
        created_at: base_time(),
        expires_at: base_time() + Duration::hours(12),
    };
    store.insert_session(&digest, &session).await.expect("inserted");
    assert_eq!(store.session(&digest, base_time()).await.expect("read"), Some(session.clone()));
    assert_eq!(store.session(&digest, base_time() + Duration::hours(12)).await.expect("read"), None, "ended");
    assert_eq!(store.session(&[0; 32], base_time()).await.expect("read"), None);
    store.delete_session(&digest).await.expect("deleted");
    store.delete_session(&digest).await.expect("deleted twice");
    assert_eq!(store.session(&digest, base_time()).await.expect("read"), None);

    for minute in 0..5 {
        let at = base_time() + Duration::minutes(minute);
        let entry = AuditEntry {
            id: format!("{:020}-00", at.timestamp_micros()),
            at,
            actor: "ana@example.com".into(),
            action: "member.invited".into(),
            target: format!("usr_{minute}"),
            detail: String::new(),
        };
        store.append_audit(&a, &entry).await.expect("appended");
    }
    let first = store.list_audit(&a, None, 3).await.expect("listed");
    assert_eq!(first.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(), ["usr_4", "usr_3", "usr_2"]);
    let rest = store.list_audit(&a, Some(&first[2].id), 3).await.expect("listed");
    assert_eq!(rest.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(), ["usr_1", "usr_0"]);
    assert!(store.list_audit(&b, None, 10).await.expect("listed").is_empty(), "per tenant");
}

/// Generates the team store's contract tests for a store built by `$make`.
#[macro_export]
macro_rules! team_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make; team_contract_members, team_contract_sessions_and_audit,);
    };
}
