//! The console's members (JSON bodies, emails unique), sessions by their secret's digest, and
//! the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, corrupt, execute, is_unique_violation, micros, unavailable};
use crate::domain::{Member, TenantId};
use crate::ports::{AuditEntry, MAX_MEMBERS, Session, StoreError, TeamStore};

fn member_of(body: String) -> Result<Member, StoreError> {
    serde_json::from_str(&body).map_err(|_| corrupt("member"))
}

impl SqliteStore {
    /// Forgets sessions that ended before `before`, at most `limit` of them.
    pub async fn purge_sessions(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.write(move |tx| {
            execute(
                tx,
                "DELETE FROM console_sessions WHERE rowid IN (
                     SELECT rowid FROM console_sessions WHERE expires_at < ?1 LIMIT ?2)",
                params![micros(before), limit as i64],
            )
            .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl TeamStore for SqliteStore {
    async fn insert_member(&self, member: &Member) -> Result<(), StoreError> {
        let (m, body) = (member.clone(), serde_json::to_string(member).map_err(unavailable)?);
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO members (tenant_id, id, email, version, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![m.tenant_id.as_str(), m.id, m.email, m.version as i64, body],
            )
            .map_err(|e| if is_unique_violation(&e, "members.") { StoreError::Conflict } else { unavailable(e) })?;
            Ok(())
        })
        .await
    }

    async fn update_member(&self, member: &Member) -> Result<(), StoreError> {
        let (m, body) = (member.clone(), serde_json::to_string(member).map_err(unavailable)?);
        self.write(move |tx| {
            let stored: Option<(i64, String)> = tx
                .prepare_cached("SELECT version, email FROM members WHERE tenant_id = ?1 AND id = ?2")
                .map_err(unavailable)?
                .query_row(params![m.tenant_id.as_str(), m.id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
                .map_err(unavailable)?;
            let Some((version, email)) = stored else { return Err(StoreError::NotFound) };
            if version as u64 + 1 != m.version || email != m.email {
                return Err(StoreError::Conflict);
            }
            execute(
                tx,
                "UPDATE members SET version = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                params![m.tenant_id.as_str(), m.id, m.version as i64, body],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn get_member(&self, tenant: &TenantId, id: &str) -> Result<Option<Member>, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.read_by_key(move |connection| {
            connection
                .prepare_cached("SELECT body FROM members WHERE tenant_id = ?1 AND id = ?2")
                .map_err(unavailable)?
                .query_row(params![tenant.as_str(), id], |row| row.get(0))
                .optional()
                .map_err(unavailable)?
                .map(member_of)
                .transpose()
        })
        .await
    }

    async fn member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError> {
        let email = email.to_owned();
        self.read_by_key(move |connection| {
            connection
                .prepare_cached("SELECT body FROM members WHERE email = ?1")
                .map_err(unavailable)?
                .query_row(params![email], |row| row.get(0))
                .optional()
                .map_err(unavailable)?
                .map(member_of)
                .transpose()
        })
        .await
    }

    async fn list_members(&self, tenant: &TenantId) -> Result<Vec<Member>, StoreError> {
        let tenant = tenant.clone();
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT body FROM members WHERE tenant_id = ?1 ORDER BY rowid LIMIT ?2")
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), MAX_MEMBERS as i64], |row| row.get(0))
                .map_err(unavailable)?;
            rows.map(|row| member_of(row.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn delete_member(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.write(move |tx| {
            let deleted =
                execute(tx, "DELETE FROM members WHERE tenant_id = ?1 AND id = ?2", params![tenant.as_str(), id])
                    .map_err(unavailable)?;
            if deleted == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn insert_session(&self, digest: &[u8; 32], session: &Session) -> Result<(), StoreError> {
        let (digest, s, body) =
            (digest.to_vec(), session.clone(), serde_json::to_string(session).map_err(unavailable)?);
        self.write(move |tx| {
            execute(
                tx,
                "INSERT INTO console_sessions (digest, tenant_id, expires_at, body) VALUES (?1, ?2, ?3, ?4)",
                params![digest, s.tenant_id.as_str(), micros(s.expires_at), body],
            )
            .map_err(|e| {
                if is_unique_violation(&e, "console_sessions.") { StoreError::Conflict } else { unavailable(e) }
            })?;
            Ok(())
        })
        .await
    }

    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        let digest = digest.to_vec();
        self.read_by_key(move |connection| {
            let body: Option<String> = connection
                .prepare_cached("SELECT body FROM console_sessions WHERE digest = ?1 AND expires_at > ?2")
                .map_err(unavailable)?
                .query_row(params![digest, micros(now)], |row| row.get(0))
                .optional()
                .map_err(unavailable)?;
            body.map(|body| serde_json::from_str(&body).map_err(|_| corrupt("session"))).transpose()
        })
        .await
    }

    async fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        let digest = digest.to_vec();
        self.write(move |tx| {
            execute(tx, "DELETE FROM console_sessions WHERE digest = ?1", params![digest]).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError> {
        let (tenant, e, body) = (tenant.clone(), entry.clone(), serde_json::to_string(entry).map_err(unavailable)?);
        self.write(move |tx| {
            execute(
                tx,
                "INSERT OR IGNORE INTO audit_log (tenant_id, id, body) VALUES (?1, ?2, ?3)",
                params![tenant.as_str(), e.id, body],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (tenant, before) = (tenant.clone(), before.map(str::to_owned));
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT body FROM audit_log WHERE tenant_id = ?1 AND (?2 IS NULL OR id < ?2)
                     ORDER BY id DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant.as_str(), before, limit as i64], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| serde_json::from_str(&row.map_err(unavailable)?).map_err(|_| corrupt("audit entry")))
                .collect()
        })
        .await
    }
}
