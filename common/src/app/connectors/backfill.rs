//! Backfills: a store's orders of the last N days read through its API, page by page, and
//! stored as its webhooks would store them (an order already newer here is left alone). Each
//! page is one queued step (`CarrierMessage::Backfill`) on both runtimes, so a backfill of any
//! size runs in short steps; the command line runs the same steps in-process.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{Connector, SyncOutcome, apply_storefront_event, get_connector, save_record};
use crate::app::pipeline::CarrierMessage;
use crate::app::{AppError, Deps};
use crate::domain::{DomainError, TenantId, validate_target};
use crate::ports::{Backfill, BackfillState, HttpRequest, HttpResponse, QueueName};
use crate::storefronts::{Platform, StoreOrder, StorefrontEvent, shopify, woocommerce};

/// The longest backfill, in days.
pub const MAX_BACKFILL_DAYS: i64 = 365;
/// The longest a step waits for Shopify's bucket to refill before its next page.
const MAX_THROTTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One page of a backfill, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillStep {
    /// The merchant.
    pub tenant_id: TenantId,
    /// The connector.
    pub connector_id: String,
    /// The backfill (a newer one supersedes it).
    pub backfill_id: String,
    /// The page to read: the backfill's `pages` when the step was queued.
    pub page: u32,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// A page was read; more follow.
    More,
    /// The backfill ended (done, or failed for good: its record says which).
    Finished,
    /// The step belongs to a backfill that was superseded or already moved on: nothing done.
    Superseded,
}

/// Starts a backfill of `days` (1 to 365) for connector `id`, replacing any other; queues its
/// first step when `queue` (the command line runs the steps itself).
pub async fn start_backfill(
    deps: &Deps,
    tenant: &TenantId,
    id: &str,
    days: i64,
    queue: bool,
) -> Result<(Connector, BackfillStep), AppError> {
    if !(1..=MAX_BACKFILL_DAYS).contains(&days) {
        return Err(DomainError::invalid("days", format!("must be 1 to {MAX_BACKFILL_DAYS}")).into());
    }
    let mut connector = get_connector(deps, tenant, id).await?;
    let now = deps.clock.now();
    let backfill = Backfill {
        id: format!("bf_{}", uuid::Uuid::new_v4().simple()),
        state: BackfillState::Running,
        since: now - Duration::days(days),
        started_at: now,
        finished_at: None,
        pages: 0,
        orders: 0,
        trackings: 0,
        total: None,
        cursor: None,
        error: None,
    };
    let step = BackfillStep {
        tenant_id: tenant.clone(),
        connector_id: id.to_owned(),
        backfill_id: backfill.id.clone(),
        page: 0,
    };
    connector.record.backfill = Some(backfill);
    connector.record.updated_at = now;
    save_record(deps, &connector).await?;
    if queue {
        send_step(deps, &step).await?;
    }
    tracing::info!(tenant_id = %tenant, connector_id = %id, days, "backfill started");
    Ok((connector, step))
}

async fn send_step(deps: &Deps, step: &BackfillStep) -> Result<(), AppError> {
    let message = serde_json::to_vec(&CarrierMessage::Backfill(step.clone())).expect("carrier messages serialize");
    deps.queue.send_batch(QueueName::CarrierUpdates, &[message]).await?;
    Ok(())
}

/// A page as a platform answered it.
struct Page {
    orders: Vec<StoreOrder>,
    cursor: Option<String>,
    more: bool,
    total: Option<u64>,
    wait: std::time::Duration,
}

/// Why a page was not read: for good (the backfill fails) or for now (the step is retried).
enum PageFailure {
    Refused(String),
    Retry(AppError),
}

fn unavailable(reason: String) -> PageFailure {
    PageFailure::Retry(AppError::Unavailable(reason.into()))
}

/// What an answer's status means when it is not a page.
fn status_failure(platform: Platform, response: &HttpResponse) -> Option<PageFailure> {
    let name = platform.as_str();
    match response.status {
        200..=299 => None,
        401 | 403 => {
            Some(PageFailure::Refused(format!("{name} refused the connector's credentials ({})", response.status)))
        }
        404 => Some(PageFailure::Refused(format!("{name} has no such store or API (404)"))),
        429 | 500..=599 => Some(unavailable(format!("{name} answered {}", response.status))),
        other => Some(PageFailure::Refused(format!("{name} answered {other}"))),
    }
}

/// How often a step asks again after Shopify throttled it (waiting for the bucket each time)
/// before the step is retried from the queue.
const THROTTLED_ATTEMPTS: usize = 3;

fn page_request(connector: &Connector, backfill: &Backfill) -> HttpRequest {
    match connector.record.platform {
        Platform::Shopify => {
            let origin = if connector.record.shop.contains("://") {
                connector.record.shop.clone()
            } else {
                format!("https://{}", connector.record.shop)
            };
            let url = format!("{origin}/admin/api/{}/graphql.json", shopify::ADMIN_API_VERSION);
            HttpRequest::post(url, shopify::orders_request(backfill.since, backfill.cursor.as_deref()))
                .header("Content-Type", "application/json")
                .header("X-Shopify-Access-Token", connector.secret("access_token"))
        }
        Platform::Woocommerce => {
            use base64::Engine as _;
            let page = backfill.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(1);
            let credentials = format!("{}:{}", connector.secret("consumer_key"), connector.secret("consumer_secret"));
            HttpRequest::get(woocommerce::orders_url(&connector.record.shop, backfill.since, page)).header(
                "Authorization",
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)),
            )
        }
    }
}

async fn read_page(deps: &Deps, connector: &Connector, backfill: &Backfill) -> Result<Page, PageFailure> {
    let platform = connector.record.platform;
    // The store's address as the operator's policy for outgoing calls sees it now (a private
    // address allowed when the connector was made may not be any more).
    let request = page_request(connector, backfill);
    if let Err(error) = validate_target(&request.url, deps.webhook_targets) {
        return Err(PageFailure::Refused(format!("the store's address is refused: {}", error.reason)));
    }
    for _ in 0..THROTTLED_ATTEMPTS {
        let response = deps
            .webhook_http
            .send(page_request(connector, backfill))
            .await
            .map_err(|e| unavailable(format!("{}: {e}", platform.as_str())))?;
        if let Some(failure) = status_failure(platform, &response) {
            return Err(failure);
        }
        if platform == Platform::Woocommerce {
            return woocommerce_page(backfill, &response);
        }
        match shopify::parse_orders_page(&response.body) {
            Ok(page) => {
                return Ok(Page {
                    more: page.next.is_some(),
                    cursor: page.next,
                    total: None,
                    wait: page.throttle.map_or(std::time::Duration::ZERO, |t| t.wait()).min(MAX_THROTTLE_WAIT),
                    orders: page.orders,
                });
            }
            Err(shopify::PageError::Throttled(throttle)) => {
                let wait = throttle.map_or(MAX_THROTTLE_WAIT, |t| t.wait()).min(MAX_THROTTLE_WAIT);
                tracing::info!(connector_id = %connector.id, wait_ms = wait.as_millis() as u64, "backfill throttled by shopify");
                tokio::time::sleep(wait).await;
            }
            Err(shopify::PageError::Unreadable(error)) => return Err(PageFailure::Refused(error.to_string())),
        }
    }
    Err(unavailable("throttled by shopify".into()))
}

fn woocommerce_page(backfill: &Backfill, response: &HttpResponse) -> Result<Page, PageFailure> {
    let orders = woocommerce::parse_orders(&response.body).map_err(|e| PageFailure::Refused(e.to_string()))?;
    let page = backfill.cursor.as_deref().and_then(|c| c.parse::<u64>().ok()).unwrap_or(1);
    let pages: Option<u64> = response.header("x-wp-totalpages").and_then(|v| v.trim().parse().ok());
    let more = pages.map_or(orders.len() as u32 == woocommerce::PAGE_SIZE, |pages| page < pages);
    Ok(Page {
        orders,
        cursor: Some((page + 1).to_string()),
        more,
        total: response.header("x-wp-total").and_then(|v| v.trim().parse().ok()),
        wait: std::time::Duration::ZERO,
    })
}

/// Reads and stores the page `step` names, saves the backfill's progress and, when `queue`,
/// queues the next step. A step of a superseded backfill, or one already taken (a duplicate
/// delivery), does nothing.
pub async fn run_backfill_step(deps: &Deps, step: &BackfillStep, queue: bool) -> Result<StepOutcome, AppError> {
    let mut connector = match get_connector(deps, &step.tenant_id, &step.connector_id).await {
        Ok(connector) => connector,
        Err(AppError::Missing(_)) => return Ok(StepOutcome::Superseded),
        Err(other) => return Err(other),
    };
    let Some(mut backfill) = connector
        .record
        .backfill
        .clone()
        .filter(|b| b.id == step.backfill_id && b.state == BackfillState::Running && b.pages == step.page)
    else {
        return Ok(StepOutcome::Superseded);
    };
    let page = match read_page(deps, &connector, &backfill).await {
        Ok(page) => page,
        Err(PageFailure::Retry(error)) => return Err(error),
        Err(PageFailure::Refused(reason)) => {
            tracing::warn!(tenant_id = %step.tenant_id, connector_id = %step.connector_id, error = %reason, "backfill failed");
            backfill.state = BackfillState::Failed;
            backfill.error = Some(reason);
            backfill.finished_at = Some(deps.clock.now());
            connector.record.backfill = Some(backfill);
            save_record(deps, &connector).await?;
            return Ok(StepOutcome::Finished);
        }
    };
    for order in page.orders {
        let at = order.updated_at;
        if let SyncOutcome::Applied { trackings, skipped } =
            apply_storefront_event(deps, &connector, StorefrontEvent::Order(order), at).await?
        {
            backfill.trackings += trackings as u64;
            if let Some(last) = skipped.last() {
                backfill.error = Some(format!("not tracked: {last}"));
            }
        }
        backfill.orders += 1;
    }
    backfill.pages += 1;
    backfill.cursor = page.cursor;
    backfill.total = page.total.or(backfill.total);
    if !page.more {
        backfill.state = BackfillState::Done;
        backfill.finished_at = Some(deps.clock.now());
    }
    let more = page.more;
    connector.record.backfill = Some(backfill.clone());
    save_record(deps, &connector).await?;
    if !more {
        tracing::info!(tenant_id = %step.tenant_id, connector_id = %step.connector_id, orders = backfill.orders, "backfill done");
        return Ok(StepOutcome::Finished);
    }
    if !page.wait.is_zero() {
        tokio::time::sleep(page.wait).await;
    }
    if queue {
        let next = BackfillStep { page: backfill.pages, ..step.clone() };
        if let Err(error) = send_step(deps, &next).await {
            // The page is saved; without its next step the backfill would stay running.
            backfill.state = BackfillState::Failed;
            backfill.error = Some("the next page could not be queued; start the backfill again".into());
            backfill.finished_at = Some(deps.clock.now());
            connector.record.backfill = Some(backfill);
            save_record(deps, &connector).await?;
            return Err(error);
        }
    }
    Ok(StepOutcome::More)
}
