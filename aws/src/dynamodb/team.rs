//! The console's members under the tenant's partition with an item per email (a digest of it)
//! naming the member, written together; sessions by their secret's digest with a TTL; the
//! audit log under the tenant's partition, sorted by id, kept for [`AUDIT_DAYS`].

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use porchlight::domain::{Member, TenantId};
use porchlight::ports::{AuditEntry, MAX_MEMBERS, Session, StoreError, TeamStore};
use sha2::{Digest, Sha256};

use super::keys::{s, tenant_pk, text};
use super::{DynamoStore, Item, cancellation_codes, corrupt, unavailable};

/// How long audit lines are kept (the table's TTL deletes them after).
const AUDIT_DAYS: i64 = 400;

fn member_sk(id: &str) -> String {
    format!("USR#{id}")
}

fn email_pk(email: &str) -> String {
    format!("USREMAIL#{}", hex::encode(Sha256::digest(email.as_bytes())))
}

fn session_pk(digest: &[u8; 32]) -> String {
    format!("SES#{}", hex::encode(digest))
}

fn audit_sk(id: &str) -> String {
    format!("AUD#{id}")
}

fn read_member(item: &Item) -> Result<Member, StoreError> {
    serde_json::from_str(text(item, "body")?).map_err(|_| corrupt("body"))
}

fn member_item(member: &Member) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".to_owned(), s(tenant_pk(&member.tenant_id))),
        ("SK".to_owned(), s(member_sk(&member.id))),
        ("tenant_id".to_owned(), s(member.tenant_id.as_str())),
        ("email".to_owned(), s(&member.email)),
        ("version".to_owned(), AttributeValue::N(member.version.to_string())),
        ("body".to_owned(), s(serde_json::to_string(member).map_err(unavailable)?)),
    ]))
}

fn condition_failed(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> bool {
    cancellation_codes(error).is_some_and(|c| c.iter().any(|c| c == "ConditionalCheckFailed"))
}

#[async_trait]
impl TeamStore for DynamoStore {
    async fn insert_member(&self, member: &Member) -> Result<(), StoreError> {
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(member_item(member)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let lookup = Put::builder()
            .table_name(&self.table)
            .item("PK", s(email_pk(&member.email)))
            .item("SK", s("USREMAIL"))
            .item("tenant_id", s(member.tenant_id.as_str()))
            .item("member_id", s(&member.id))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let writes =
            vec![TransactWriteItem::builder().put(record).build(), TransactWriteItem::builder().put(lookup).build()];
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(StoreError::Conflict),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn update_member(&self, member: &Member) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(member_item(member)?))
            .condition_expression("attribute_exists(PK) AND version = :read AND email = :email")
            .expression_attribute_values(":read", AttributeValue::N(member.version.saturating_sub(1).to_string()))
            .expression_attribute_values(":email", s(&member.email))
            .send()
            .await;
        match super::refused_as(result, StoreError::Conflict) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => match self.get(tenant_pk(&member.tenant_id), &member_sk(&member.id)).await? {
                Some(_) => Err(StoreError::Conflict),
                None => Err(StoreError::NotFound),
            },
            Err(other) => Err(other),
        }
    }

    async fn get_member(&self, tenant: &TenantId, id: &str) -> Result<Option<Member>, StoreError> {
        self.get(tenant_pk(tenant), &member_sk(id)).await?.map(|item| read_member(&item)).transpose()
    }

    async fn member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError> {
        let Some(lookup) = self.get(email_pk(email), "USREMAIL").await? else { return Ok(None) };
        let tenant = super::keys::tenant_id(&lookup)?;
        let member = self.get_member(&tenant, text(&lookup, "member_id")?).await?;
        Ok(member.filter(|m| m.email == email))
    }

    async fn list_members(&self, tenant: &TenantId) -> Result<Vec<Member>, StoreError> {
        let items = self.query_prefix(tenant_pk(tenant), "USR#", None, MAX_MEMBERS).await?;
        let mut members = items.iter().map(read_member).collect::<Result<Vec<_>, _>>()?;
        members.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(members)
    }

    async fn delete_member(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let Some(member) = self.get_member(tenant, id).await? else { return Err(StoreError::NotFound) };
        let record = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(member_sk(id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(unavailable)?;
        let lookup = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(email_pk(&member.email)))
            .key("SK", s("USREMAIL"))
            .build()
            .map_err(unavailable)?;
        let writes = vec![
            TransactWriteItem::builder().delete(record).build(),
            TransactWriteItem::builder().delete(lookup).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(StoreError::NotFound),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn insert_session(&self, digest: &[u8; 32], session: &Session) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(session_pk(digest)))
            .item("SK", s("SES"))
            .item("tenant_id", s(session.tenant_id.as_str()))
            .item("body", s(serde_json::to_string(session).map_err(unavailable)?))
            .item("expires_at", AttributeValue::N(session.expires_at.timestamp().to_string()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        super::refused_as(result, StoreError::Conflict).map(|_| ())
    }

    async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get(session_pk(digest), "SES").await? else { return Ok(None) };
        let session: Session = serde_json::from_str(text(&item, "body")?).map_err(|_| corrupt("body"))?;
        // The TTL deletes ended sessions some time after they end: the time decides.
        Ok((session.expires_at > now).then_some(session))
    }

    async fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(digest)))
            .key("SK", s("SES"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn append_audit(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError> {
        let expires = (entry.at + chrono::Duration::days(AUDIT_DAYS)).timestamp();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(tenant_pk(tenant)))
            .item("SK", s(audit_sk(&entry.id)))
            .item("tenant_id", s(tenant.as_str()))
            .item("body", s(serde_json::to_string(entry).map_err(unavailable)?))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // `$` sorts right after `#`: the upper bound of every `AUD#` key.
        let upper = before.map_or_else(|| "AUD$".to_owned(), audit_sk);
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":low", s("AUD#"))
            .expression_attribute_values(":high", s(&upper))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        let mut entries = Vec::new();
        for item in answer.items.unwrap_or_default() {
            if text(&item, "SK")? == upper {
                continue;
            }
            entries.push(serde_json::from_str(text(&item, "body")?).map_err(|_| corrupt("body"))?);
        }
        entries.truncate(limit);
        Ok(entries)
    }
}
