use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::create_tenant;
use crate::domain::LOCKOUT_FAILURES;
use crate::ports::Outgoing;
use crate::testkit::{ManualClock, base_time};

const PASSWORD: &str = "correct horse battery";

struct World {
    deps: Deps,
    store: SqliteStore,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

async fn world() -> World {
    let store = SqliteStore::in_memory().expect("store");
    let clock = Arc::new(ManualClock::at(base_time()));
    let mut deps = crate::testkit::deps(store.clone(), clock.clone());
    deps.public_url = Some("https://track.example".into());
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    World { deps, store, clock, tenant }
}

async fn member(w: &World, email: &str, role: Role, password: Option<&str>) -> Member {
    add_member(&w.deps, &w.tenant, &Actor::Operator, NewMember { email, name: "", role, password })
        .await
        .expect("added")
}

async fn sent(w: &World) -> Vec<Outgoing> {
    crate::testkit::dispatched(&w.deps, &w.store).await
}

/// The one-time link's token in an email's text.
fn token_in(message: &Outgoing) -> String {
    let start = message.text.find("/console/link/").expect("a console link") + "/console/link/".len();
    message.text[start..].split_whitespace().next().expect("a token").to_owned()
}

#[tokio::test]
async fn a_member_signs_in_with_the_right_password_only() {
    let w = world().await;
    let ana = member(&w, "Ana@Example.com", Role::Agent, Some(PASSWORD)).await;
    assert_eq!(ana.email, "ana@example.com");
    assert!(ana.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")));
    let signed = sign_in(&w.deps, &w.store, "ANA@example.com ", PASSWORD).await.expect("signed in");
    assert_eq!(signed.member.id, ana.id);
    let (found, _) = session_of(&w.deps, &signed.secret).await.expect("read").expect("a session");
    assert_eq!(found.id, ana.id);
    assert!(matches!(
        sign_in(&w.deps, &w.store, "ana@example.com", "wrong password!").await,
        Err(SignInError::Refused)
    ));
    assert!(matches!(sign_in(&w.deps, &w.store, "nobody@example.com", PASSWORD).await, Err(SignInError::Refused)));
    assert!(matches!(sign_in(&w.deps, &w.store, "not an address", PASSWORD).await, Err(SignInError::Refused)));

    w.clock.advance(Duration::hours(12));
    assert!(session_of(&w.deps, &signed.secret).await.expect("read").is_none(), "sessions end after 12 hours");
    let again = sign_in(&w.deps, &w.store, "ana@example.com", PASSWORD).await.expect("signed in");
    sign_out(&w.deps, &again.secret).await.expect("signed out");
    assert!(session_of(&w.deps, &again.secret).await.expect("read").is_none());
    assert!(session_of(&w.deps, "pls_forged").await.expect("read").is_none());
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_tell_the_member() {
    let w = world().await;
    member(&w, "ana@example.com", Role::Agent, Some(PASSWORD)).await;
    for _ in 0..LOCKOUT_FAILURES {
        assert!(matches!(
            sign_in(&w.deps, &w.store, "ana@example.com", "guess guess guess").await,
            Err(SignInError::Refused)
        ));
    }
    assert!(
        matches!(sign_in(&w.deps, &w.store, "ana@example.com", PASSWORD).await, Err(SignInError::Locked(_))),
        "even the right password waits"
    );
    let emails = sent(&w).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "ana@example.com");
    assert!(emails[0].subject.contains("locked"), "{}", emails[0].subject);
    w.clock.advance(Duration::minutes(15));
    sign_in(&w.deps, &w.store, "ana@example.com", PASSWORD).await.expect("open again");
    let (log, _) = audit_log(&w.deps, &w.tenant, None, 10).await.expect("log");
    assert!(log.iter().any(|e| e.action == "member.locked"));
}

#[tokio::test]
async fn an_invitation_sets_the_first_password_once() {
    let w = world().await;
    let owner = member(&w, "owner@example.com", Role::Owner, Some(PASSWORD)).await;
    let invited = invite(&w.deps, &w.store, &w.tenant, &Actor::Member(owner), "new@example.com", "Noor", Role::Viewer)
        .await
        .expect("invited");
    assert!(matches!(sign_in(&w.deps, &w.store, "new@example.com", "").await, Err(SignInError::Refused)));
    let emails = sent(&w).await;
    assert_eq!(emails.len(), 1);
    let token = token_in(&emails[0]);
    assert!(emails[0].text.contains("https://track.example/console/link/"));
    let (found, purpose) = link_member(&w.deps, &token).await.expect("a working link");
    assert_eq!((found.id.as_str(), purpose), (invited.id.as_str(), Purpose::Invitation));
    assert!(matches!(redeem_link(&w.deps, &token, None).await, Err(AppError::Required("password"))));
    assert!(matches!(redeem_link(&w.deps, &token, Some("short")).await, Err(AppError::Invalid(_))));
    let signed = redeem_link(&w.deps, &token, Some(PASSWORD)).await.expect("accepted");
    assert_eq!(signed.member.role, Role::Viewer);
    assert!(matches!(redeem_link(&w.deps, &token, Some(PASSWORD)).await, Err(AppError::Unauthorized)), "used once");
    sign_in(&w.deps, &w.store, "new@example.com", PASSWORD).await.expect("the new password works");
}

#[tokio::test]
async fn a_reset_ends_older_sessions_and_links_expire() {
    let w = world().await;
    member(&w, "ana@example.com", Role::Agent, Some(PASSWORD)).await;
    let before = sign_in(&w.deps, &w.store, "ana@example.com", PASSWORD).await.expect("signed in");
    request_reset(&w.deps, &w.store, "nobody@example.com").await.expect("silent");
    request_reset(&w.deps, &w.store, "ana@example.com").await.expect("planned");
    let emails = sent(&w).await;
    assert_eq!(emails.len(), 1, "only to a member");
    let token = token_in(&emails[0]);
    redeem_link(&w.deps, &token, Some("a brand new password")).await.expect("reset");
    assert!(session_of(&w.deps, &before.secret).await.expect("read").is_none(), "older sessions end");
    assert!(matches!(sign_in(&w.deps, &w.store, "ana@example.com", PASSWORD).await, Err(SignInError::Refused)));

    request_reset(&w.deps, &w.store, "ana@example.com").await.expect("planned");
    let late = token_in(&sent(&w).await[0]);
    w.clock.advance(Duration::minutes(61));
    assert!(matches!(link_member(&w.deps, &late).await, Err(AppError::Unauthorized)), "an hour");
    assert!(matches!(link_member(&w.deps, "not-a-token").await, Err(AppError::Unauthorized)));
}

#[tokio::test]
async fn roles_limit_who_manages_whom_and_a_team_keeps_an_owner() {
    let w = world().await;
    let owner = member(&w, "owner@example.com", Role::Owner, Some(PASSWORD)).await;
    let admin = member(&w, "admin@example.com", Role::Admin, Some(PASSWORD)).await;
    let agent = member(&w, "agent@example.com", Role::Agent, None).await;
    let new = |email| NewMember { email, name: "", role: Role::Owner, password: None };
    let as_admin = Actor::Member(admin.clone());
    assert!(matches!(add_member(&w.deps, &w.tenant, &as_admin, new("x@example.com")).await, Err(AppError::Forbidden)));
    let as_agent = Actor::Member(agent.clone());
    let viewer = NewMember { email: "v@example.com", name: "", role: Role::Viewer, password: None };
    assert!(matches!(add_member(&w.deps, &w.tenant, &as_agent, viewer).await, Err(AppError::Forbidden)));
    assert!(matches!(remove_member(&w.deps, &w.tenant, &as_admin, &owner.id).await, Err(AppError::Forbidden)));
    change_role(&w.deps, &w.tenant, &as_admin, &agent.id, Role::Viewer).await.expect("admins manage agents");
    let as_owner = Actor::Member(owner.clone());
    assert!(matches!(
        change_role(&w.deps, &w.tenant, &as_owner, &owner.id, Role::Admin).await,
        Err(AppError::Unprocessable(_))
    ));
    assert!(matches!(remove_member(&w.deps, &w.tenant, &as_owner, &owner.id).await, Err(AppError::Unprocessable(_))));
    let taken = NewMember { email: "ADMIN@example.com", name: "", role: Role::Viewer, password: None };
    assert!(matches!(add_member(&w.deps, &w.tenant, &as_owner, taken).await, Err(AppError::Unprocessable(_))));

    let signed = sign_in(&w.deps, &w.store, "admin@example.com", PASSWORD).await.expect("signed in");
    w.clock.advance(Duration::seconds(1));
    remove_member(&w.deps, &w.tenant, &as_owner, "admin@example.com").await.expect("removed by email");
    assert!(session_of(&w.deps, &signed.secret).await.expect("read").is_none(), "a removed member's session ends");
    let (log, _) = audit_log(&w.deps, &w.tenant, None, 50).await.expect("log");
    let actions: Vec<_> = log.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(actions[0], ("owner@example.com", "member.removed"));
    assert!(actions.contains(&("admin@example.com", "member.role_changed")));
}

#[test]
fn csrf_tokens_belong_to_their_session() {
    let token = csrf_token("pls_a");
    assert!(csrf_matches("pls_a", &token));
    assert!(!csrf_matches("pls_b", &token));
    assert!(!csrf_matches("pls_a", ""));
}
