//! The demo shop: a tenant with sample shipments (`porchlight::demo`), a key to try them and a
//! one-time link into the console as its owner.

use std::net::SocketAddr;

use anyhow::Context;
use porchlight::app::{self, Deps, operator};

/// The demo shop's console owner.
const DEMO_OWNER: &str = "owner@demo.example";

/// Creates the demo tenant (or a fresh key for it), loads the samples it lacks and prints the
/// key alone on the last line.
pub async fn set_up(deps: &Deps, listen: SocketAddr) -> anyhow::Result<()> {
    let existing = operator::list_tenants(deps).await.context("listing tenants")?;
    let (tenant, key) = match existing.into_iter().find(|t| t.name == porchlight::demo::TENANT_NAME) {
        Some(tenant) => {
            let key = app::create_api_key(deps, &tenant.id).await.context("making a demo key")?;
            (tenant, key)
        }
        None => app::create_tenant(deps, porchlight::demo::TENANT_NAME).await.context("creating the demo tenant")?,
    };
    let added = porchlight::demo::load(deps, &tenant.id).await.context("loading demo shipments")?;
    println!("demo tenant: {} ({})", tenant.name, tenant.id);
    println!("demo shipments added: {added}");
    let page = app::pages::page_settings(deps, &tenant.id).await.context("reading the demo tracking page")?;
    let public_url = deps.public_url.as_deref().map_or_else(|| format!("http://{listen}"), str::to_owned);
    println!("demo tracking page: {public_url}/t/{}", page.slug);
    let owner = match app::team::find_member(deps, &tenant.id, DEMO_OWNER).await {
        Ok(owner) => owner,
        Err(app::AppError::Missing(_)) => {
            app::team::add_owner(deps, &tenant.id, DEMO_OWNER).await.context("adding the demo owner")?.0
        }
        Err(other) => return Err(other).context("finding the demo owner"),
    };
    let link = app::team::link_for(deps, &owner, app::team::Purpose::SignIn);
    println!(
        "demo console (signs in as {DEMO_OWNER}, once, within 24 hours): {public_url}/console/link/{}",
        link.token
    );
    println!("try: curl -H 'as-api-key: {}' http://{listen}/tracking/2026-07/trackings", key.secret);
    println!("{}", key.secret);
    Ok(())
}
