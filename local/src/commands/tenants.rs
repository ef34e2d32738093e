//! `porchlight tenants`: merchants and their API keys.

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::{self, AppError, Deps, operator};
use porchlight::domain::TenantId;
use serde_json::json;

#[derive(Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant; prints its new API key alone on the last line.
    Create {
        /// The merchant's display name.
        name: String,
        /// The console's first owner: prints their one-time sign-in link too.
        #[arg(long)]
        owner: Option<String>,
        /// Print everything as one JSON object instead.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make another API key for a tenant; prints the key alone on the last line.
    AddKey {
        /// The tenant's id.
        tenant_id: String,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Revoke one of a tenant's API keys.
    RevokeKey {
        /// The tenant's id.
        tenant_id: String,
        /// The key's id (`key_...`), as printed when it was made.
        key_id: String,
    },
    /// List a tenant's API keys (ids and dates; keys themselves are never stored).
    Keys {
        /// The tenant's id.
        tenant_id: String,
    },
}

impl TenantsCommand {
    /// Whether the command may start a new database: only making the first merchant does.
    pub fn creates(&self) -> bool {
        matches!(self, TenantsCommand::Create { .. })
    }
}

pub fn tenant_id(raw: &str) -> anyhow::Result<TenantId> {
    TenantId::parse(raw).with_context(|| format!("{raw:?} is not a tenant id (see `porchlight tenants list`)"))
}

pub async fn run(deps: &Deps, command: TenantsCommand) -> anyhow::Result<()> {
    match command {
        TenantsCommand::Create { name, owner, json } => {
            if let Some(email) = &owner {
                match app::team::check_new_email(deps, email).await {
                    Ok(_) => {}
                    Err(AppError::Invalid(invalid)) => bail!("--owner: {invalid}"),
                    Err(AppError::Unprocessable(why)) => bail!("--owner: {why}"),
                    Err(other) => return Err(other).context("checking the owner's address"),
                }
            }
            let (tenant, key) = app::create_tenant(deps, &name).await.context("creating the tenant")?;
            let owner = match &owner {
                Some(email) => Some(app::team::add_owner(deps, &tenant.id, email).await.context("adding the owner")?),
                None => None,
            };
            let base = deps.public_url.as_deref().unwrap_or("http://127.0.0.1:8080");
            let owner_link = owner.as_ref().map(|(_, link)| format!("{base}/console/link/{}", link.token));
            if json {
                let out = json!({
                    "tenant_id": tenant.id, "name": tenant.name, "key_id": key.key_id, "api_key": key.secret,
                    "owner_id": owner.as_ref().map(|(m, _)| &m.id), "owner_sign_in_link": owner_link,
                });
                println!("{out}");
            } else {
                println!("tenant: {} ({})", tenant.name, tenant.id);
                if let (Some((member, link)), Some(url)) = (&owner, &owner_link) {
                    println!("owner: {} ({})", member.email, member.id);
                    println!("owner's one-time sign-in link (until {}):", link.expires_at.to_rfc3339());
                    println!("{url}");
                }
                println!("key id: {}", key.key_id);
                println!("api key (shown once, keep it safe):");
                println!("{}", key.secret);
            }
        }
        TenantsCommand::List { json } => {
            for tenant in operator::list_tenants(deps).await.context("listing tenants")? {
                if json {
                    println!("{}", serde_json::to_string(&tenant)?);
                } else {
                    println!("{}\t{}\t{}", tenant.id, tenant.created_at.to_rfc3339(), tenant.name);
                }
            }
        }
        TenantsCommand::AddKey { tenant_id: raw, json } => {
            let tenant = tenant_id(&raw)?;
            let key = match app::create_api_key(deps, &tenant).await {
                Ok(key) => key,
                Err(AppError::NotFound) => bail!("no tenant {tenant}"),
                Err(other) => return Err(other).context("making the key"),
            };
            if json {
                println!("{}", json!({"tenant_id": tenant, "key_id": key.key_id, "api_key": key.secret}));
            } else {
                println!("key id: {}", key.key_id);
                println!("{}", key.secret);
            }
        }
        TenantsCommand::RevokeKey { tenant_id: raw, key_id } => {
            let tenant = tenant_id(&raw)?;
            match app::revoke_api_key(deps, &tenant, &key_id).await {
                Ok(()) => println!("revoked {key_id}"),
                Err(AppError::NotFound) => bail!("tenant {tenant} has no key {key_id}"),
                Err(other) => return Err(other).context("revoking the key"),
            }
        }
        TenantsCommand::Keys { tenant_id: raw } => {
            let tenant = tenant_id(&raw)?;
            let keys = match operator::list_api_keys(deps, &tenant).await {
                Ok(keys) => keys,
                Err(AppError::NotFound) => bail!("no tenant {tenant}"),
                Err(other) => return Err(other).context("listing keys"),
            };
            for key in keys {
                let state = key.revoked_at.map_or("active".to_owned(), |at| format!("revoked {}", at.to_rfc3339()));
                println!("{}\t{}\t{}", key.key_id, key.created_at.to_rfc3339(), state);
            }
        }
    }
    Ok(())
}
