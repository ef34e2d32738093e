//! A merchant's team in the console: members, their roles, what each role may do, and the
//! sign-in lockout rule.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{DomainError, TenantId};

/// A member's role. Each role may do what the one below it may, and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything but secrets; changes nothing.
    Viewer,
    /// Works parcels, exceptions and returns.
    Agent,
    /// Also designs pages, rules and templates, and runs the merchant's settings and team
    /// (but for owners).
    Admin,
    /// Also manages owners.
    Owner,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Agent, Role::Admin, Role::Owner];

    /// The wire and form spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Reads [`Role::as_str`]'s spelling.
    pub fn parse(text: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| DomainError::invalid("role", "must be one of owner, admin, agent, viewer"))
    }

    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        self >= action.least_role()
    }

    /// Whether a member of this role may give `role` to someone, or change or remove a member
    /// who has it: admins manage everyone but owners, owners everyone.
    pub fn may_manage(self, role: Role) -> bool {
        self.may(Action::ManageTeam) && (self == Role::Owner || role < Role::Owner)
    }
}

/// What a member does in the console; each has the least role that may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reading shipments, exceptions, returns, analytics and settings (not secrets).
    Read,
    /// Adding, retracking, completing, tagging and noting shipments; working exceptions and
    /// returns.
    Work,
    /// Designing the page, notification rules and templates, exception rules, the return
    /// policy; keys, webhooks, connections, connectors and imports.
    Configure,
    /// Inviting, changing and removing members.
    ManageTeam,
}

impl Action {
    /// The least role that may do it.
    pub fn least_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::Work => Role::Agent,
            Action::Configure | Action::ManageTeam => Role::Admin,
        }
    }
}

/// Failed sign-ins in a row that lock an account.
pub const LOCKOUT_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;
/// Longest member name.
pub const MAX_NAME_CHARS: usize = 100;
/// Shortest password.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password (hashing cost is bounded by it).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A member of a merchant's team. Its `Debug` hides the email and the password hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The merchant.
    pub tenant_id: TenantId,
    /// `usr_` and 16 hexadecimal digits.
    pub id: String,
    /// Lowercase; unique across the deployment (an address signs in to one merchant).
    pub email: String,
    /// How the team knows them (may be empty).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The argon2id PHC string; `None` until they set a password.
    pub password_hash: Option<String>,
    /// Changes whenever a password is set or a one-time link used: links and sessions made
    /// under an older stamp stop working.
    pub stamp: String,
    /// Failed sign-ins since the last good one.
    pub failed_sign_ins: u32,
    /// Until when sign-in is refused.
    pub locked_until: Option<DateTime<Utc>>,
    /// When they were added.
    pub created_at: DateTime<Utc>,
    /// When they last signed in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// The record's version, for optimistic updates.
    pub version: u64,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("role", &self.role)
            .field("failed_sign_ins", &self.failed_sign_ins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// Whether sign-in is refused at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Counts a failed sign-in at `now`; whether it locked the account (it does on the
    /// [`LOCKOUT_FAILURES`]th failure in a row, for [`LOCKOUT_MINUTES`]).
    pub fn fail_sign_in(&mut self, now: DateTime<Utc>) -> bool {
        self.failed_sign_ins += 1;
        if self.failed_sign_ins >= LOCKOUT_FAILURES {
            self.failed_sign_ins = 0;
            self.locked_until = Some(now + Duration::minutes(LOCKOUT_MINUTES));
            return true;
        }
        false
    }

    /// Records a good sign-in at `now`: the failures are forgotten.
    pub fn signed_in(&mut self, now: DateTime<Utc>) {
        self.failed_sign_ins = 0;
        self.locked_until = None;
        self.last_sign_in_at = Some(now);
    }
}

/// `email` trimmed and lowercased, if it is an email address.
pub fn member_email(email: &str) -> Result<String, DomainError> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !super::is_email(&email) {
        return Err(DomainError::invalid("email", "must be an email address"));
    }
    Ok(email)
}

/// `name` trimmed, if it has at most [`MAX_NAME_CHARS`] characters and no control characters.
pub fn member_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be at most 100 characters, without control characters"));
    }
    Ok(name.to_owned())
}

/// Checks a new password's length: [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`]
/// characters.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(DomainError::invalid("password", "must be 12 to 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Member {
        Member {
            tenant_id: TenantId::random(),
            id: "usr_0123456789abcdef".into(),
            email: "ana@example.com".into(),
            name: "Ana".into(),
            role: Role::Agent,
            password_hash: None,
            stamp: "s".into(),
            failed_sign_ins: 0,
            locked_until: None,
            created_at: DateTime::UNIX_EPOCH,
            last_sign_in_at: None,
            version: 1,
        }
    }

    #[test]
    fn roles_are_ordered_and_admins_do_not_manage_owners() {
        assert!(Role::Viewer.may(Action::Read));
        assert!(!Role::Viewer.may(Action::Work));
        assert!(Role::Agent.may(Action::Work));
        assert!(!Role::Agent.may(Action::Configure));
        assert!(Role::Admin.may(Action::ManageTeam));
        assert!(Role::Admin.may_manage(Role::Admin));
        assert!(!Role::Admin.may_manage(Role::Owner));
        assert!(Role::Owner.may_manage(Role::Owner));
        assert!(!Role::Agent.may_manage(Role::Viewer));
        assert_eq!(Role::parse("agent").expect("a role"), Role::Agent);
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn the_fifth_failure_in_a_row_locks_for_fifteen_minutes() {
        let now = DateTime::UNIX_EPOCH;
        let mut m = member();
        for _ in 0..4 {
            assert!(!m.fail_sign_in(now));
        }
        assert!(!m.is_locked(now));
        assert!(m.fail_sign_in(now));
        assert!(m.is_locked(now + Duration::minutes(14)));
        assert!(!m.is_locked(now + Duration::minutes(15)));
        m.signed_in(now);
        assert_eq!((m.failed_sign_ins, m.locked_until), (0, None));
    }

    #[test]
    fn emails_names_and_passwords_are_checked() {
        assert_eq!(member_email(" Ana@Example.COM ").expect("an address"), "ana@example.com");
        assert!(member_email("ana").is_err());
        assert!(member_name("a\u{0}b").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
        assert!(!format!("{:?}", member()).contains("ana@"));
    }
}
