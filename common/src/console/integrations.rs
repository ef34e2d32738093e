//! Integrations in the settings: the merchant's webhook endpoints (added with their signing
//! secret shown once, tested, their secret rotated, removed; each with its delivery log and
//! replay), storefront connectors (connected, backfilled, removed) and carrier connections
//! (added with the fields the carrier asks for, removed). Admins and owners only change them.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::settings::{Above, NoticeQuery, ShownOnce, settings_page};
use super::shipments::{carrier_name, when};
use super::{Console, Fields, Visitor, failure, fields, form_problem, message, notice_text, one, page, see_other};
use crate::app::webhooks::{self, EndpointWrite};
use crate::app::{AppError, Deps, connections, connectors};
use crate::domain::{Action, WebhookEvent};
use crate::ports::{Delivery, DeliveryState};

/// Deliveries a webhook's log shows.
const LOG_SIZE: usize = 50;
/// Days of orders a backfill started from the console reads.
const BACKFILL_DAYS: i64 = 30;

/// A webhook event the form offers, ticked when new endpoints take it by default.
#[derive(Serialize)]
pub(super) struct EventChoice {
    code: &'static str,
    default: bool,
}

/// Every event an endpoint may take.
pub(super) fn event_choices() -> Vec<EventChoice> {
    WebhookEvent::ALL
        .into_iter()
        .map(|e| EventChoice { code: e.as_str(), default: e == WebhookEvent::TrackingUpdate })
        .collect()
}

/// A carrier a merchant may connect an account of.
#[derive(Serialize)]
pub(super) struct AccountCarrier {
    slug: &'static str,
    name: String,
}

/// The carriers that take merchants' own accounts, by name.
pub(super) fn carriers_with_accounts(deps: &Deps) -> Vec<AccountCarrier> {
    let mut all: Vec<AccountCarrier> = deps
        .carriers
        .slugs()
        .filter(|slug| deps.carriers.get(slug).is_some_and(|a| !a.credential_fields().is_empty()))
        .map(|slug| AccountCarrier {
            slug,
            name: crate::couriers::find(slug).map_or_else(|| slug.to_owned(), |c| c.name.to_owned()),
        })
        .collect();
    all.sort_by_key(|c| c.name.to_lowercase());
    all
}

/// The settings page saying why a form was refused, or the failure page.
async fn refused_form(console: &Console, visitor: &Visitor, error: &AppError) -> Response {
    match form_problem(error) {
        Some(problem) => settings_page(console, visitor, Above { problem: Some(problem), ..Above::default() }).await,
        None => failure(error),
    }
}

/// The page for an integration that is not the merchant's (or no longer exists).
fn not_found(visitor: &Visitor, what: &str) -> Response {
    let layout = visitor.layout("settings");
    message(StatusCode::NOT_FOUND, &layout, &format!("No such {what}"), "It may have been removed.", None)
}

/// The signing secret of an endpoint, shown on this answer only.
fn signing_secret(url: &str, secret: String) -> ShownOnce {
    ShownOnce {
        title: format!("The signing secret of {url}, shown this once"),
        secret,
        hint: "Check each delivery's aftership-hmac-sha256 header with it (an HMAC-SHA256 of the body, in base64)."
            .into(),
    }
}

pub(super) async fn create_endpoint(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let form = fields(&body);
    let events: Result<Vec<WebhookEvent>, AppError> = form
        .get("events")
        .into_iter()
        .flatten()
        .map(|code| {
            WebhookEvent::parse(code).ok_or_else(|| AppError::Unprocessable(format!("{code:?} is not a webhook event")))
        })
        .collect();
    let write =
        |events| EndpointWrite { url: Some(one(&form, "url").to_owned()), events: Some(events), pending_hours: None };
    let created = match events {
        Ok(events) => webhooks::create_endpoint(&console.deps, &visitor.member.tenant_id, write(events)).await,
        Err(error) => Err(error),
    };
    match created {
        Ok((endpoint, secret)) => {
            visitor.audit(&console.deps, "webhook.created", &endpoint.id, &endpoint.url).await;
            let shown = signing_secret(&endpoint.url, secret);
            settings_page(&console, &visitor, Above { shown: Some(shown), ..Above::default() }).await
        }
        Err(error) => refused_form(&console, &visitor, &error).await,
    }
}

/// `POST /console/settings/webhooks/{id}/{action}`: `test`, `rotate` or `delete`.
pub(super) async fn endpoint_action(
    State(console): State<Console>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let (deps, tenant) = (&console.deps, &visitor.member.tenant_id);
    let done = match action.as_str() {
        "test" => webhooks::send_test(deps, tenant, &id).await.map(|attempt| {
            let answer = match (attempt.status, attempt.error) {
                (Some(status), _) => format!("answered HTTP {status} in {} ms", attempt.latency_ms),
                (None, Some(error)) => format!("failed: {error}"),
                (None, None) => "got no answer".to_owned(),
            };
            Some(ShownOnce {
                title: "Test sent".into(),
                secret: String::new(),
                hint: format!("The endpoint {answer}."),
            })
        }),
        "rotate" => webhooks::rotate_secret(deps, tenant, &id)
            .await
            .map(|(endpoint, secret)| Some(signing_secret(&endpoint.url, secret))),
        "delete" => webhooks::delete_endpoint(deps, tenant, &id).await.map(|()| None),
        _ => return not_found(&visitor, "action"),
    };
    match done {
        Ok(shown) => {
            visitor.audit(deps, &format!("webhook.{action}"), &id, "").await;
            match shown {
                Some(shown) => {
                    settings_page(&console, &visitor, Above { shown: Some(shown), ..Above::default() }).await
                }
                None => see_other("/console/settings?notice=endpoint_removed"),
            }
        }
        Err(AppError::Missing(_) | AppError::NotFound) => not_found(&visitor, "endpoint"),
        Err(error) => failure(&error),
    }
}

/// A row of a delivery log: the event, when, its state and its last answer.
pub(super) fn delivery_row(d: &Delivery) -> minijinja::Value {
    let last = d.attempts.last().map(|a| match (a.status, &a.error) {
        (Some(status), _) => format!("HTTP {status} in {} ms, {}", a.latency_ms, when(a.at)),
        (None, Some(error)) => format!("{error}, {}", when(a.at)),
        (None, None) => when(a.at),
    });
    let tone = match d.state {
        DeliveryState::Delivered => "good",
        DeliveryState::Dead => "bad",
        DeliveryState::Pending => "near",
    };
    minijinja::context! {
        id => d.id.clone(), endpoint => d.endpoint_id.clone(), event => d.event.as_str(), event_id => d.event_id.clone(),
        created => when(d.created_at), state => d.state.as_str(), tone => tone, attempts => d.attempts.len(), last => last,
        dead => d.state == DeliveryState::Dead,
    }
}

pub(super) async fn webhook_log(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let endpoint = match webhooks::signing_endpoint(deps, tenant, &id).await {
        Ok(found) => found.endpoint,
        Err(AppError::Missing(_)) => return not_found(&visitor, "endpoint"),
        Err(error) => return failure(&error),
    };
    let deliveries = match webhooks::endpoint_deliveries(deps, tenant, &id, None, None, LOG_SIZE).await {
        Ok(found) => found,
        Err(error) => return failure(&error),
    };
    let rows: Vec<_> = deliveries.iter().map(delivery_row).collect();
    let events: Vec<&str> = endpoint.events.iter().map(|e| e.as_str()).collect();
    let mut layout = visitor.layout("settings");
    layout.notice = query.ok().and_then(|Query(q)| q.notice).as_deref().and_then(notice_text).map(str::to_owned);
    let content = minijinja::context! { endpoint => endpoint.id, deliveries => rows, events => events.join(", ") };
    page(StatusCode::OK, "console/webhook.html", &endpoint.url, &layout, content)
}

pub(super) async fn replay(
    State(console): State<Console>,
    visitor: Visitor,
    Path((endpoint, delivery)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let back = format!("/console/settings/webhooks/{endpoint}");
    match webhooks::replay_dead(deps, tenant, &delivery).await {
        Ok(replayed) if replayed.endpoint_id == endpoint => {
            visitor.audit(deps, "webhook.replayed", &delivery, &replayed.event_id).await;
            see_other(&format!("{back}?notice=replayed"))
        }
        Ok(_) | Err(AppError::Missing(_)) => message(
            StatusCode::NOT_FOUND,
            &visitor.layout("settings"),
            "Not replayed",
            "That delivery is not a dead one of this endpoint (it may have been replayed already).",
            Some((&back, "Back to the log")),
        ),
        Err(error) => failure(&error),
    }
}

/// The form's fields as the connectors API takes them: every non-empty field but the token.
fn connector_body(form: &Fields) -> serde_json::Map<String, serde_json::Value> {
    form.iter()
        .filter(|(name, _)| name.as_str() != "csrf")
        .filter_map(|(name, values)| {
            let value = values.first().map(|v| v.trim()).filter(|v| !v.is_empty())?;
            Some((name.clone(), serde_json::Value::String(value.to_owned())))
        })
        .collect()
}

pub(super) async fn create_connector(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let request = connector_body(&fields(&body));
    match connectors::create_connector(&console.deps, &visitor.member.tenant_id, &request).await {
        Ok(connector) => {
            visitor.audit(&console.deps, "connector.created", &connector.id, &connector.record.shop).await;
            let base = console.deps.public_url.as_deref().unwrap_or("").trim_end_matches('/');
            let shown = ShownOnce {
                title: format!("{} is connected", connector.record.shop),
                secret: format!("{base}{}", connector.webhook_path()),
                hint: "Point the store's order webhooks at this address; its secrets stay sealed in Porchlight.".into(),
            };
            settings_page(&console, &visitor, Above { shown: Some(shown), ..Above::default() }).await
        }
        Err(error) => refused_form(&console, &visitor, &error).await,
    }
}

/// `POST /console/settings/connectors/{id}/{action}`: `backfill` (the last 30 days) or `delete`.
pub(super) async fn connector_action(
    State(console): State<Console>,
    visitor: Visitor,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let (deps, tenant) = (&console.deps, &visitor.member.tenant_id);
    let done = match action.as_str() {
        "backfill" => {
            connectors::start_backfill(deps, tenant, &id, BACKFILL_DAYS, true).await.map(|_| "backfill_started")
        }
        "delete" => connectors::delete_connector(deps, tenant, &id).await.map(|_| "connector_removed"),
        _ => return not_found(&visitor, "action"),
    };
    match done {
        Ok(notice) => {
            visitor.audit(deps, &format!("connector.{action}"), &id, "").await;
            see_other(&format!("/console/settings?notice={notice}"))
        }
        Err(AppError::Missing(_) | AppError::NotFound) => not_found(&visitor, "connector"),
        Err(error) => refused_form(&console, &visitor, &error).await,
    }
}

#[derive(serde::Deserialize)]
pub(super) struct CarrierQuery {
    slug: String,
}

/// The form for a carrier account of `slug`, with `problem` above it.
fn connection_form(console: &Console, visitor: &Visitor, slug: &str, problem: Option<String>) -> Response {
    let Some(adapter) = console.deps.carriers.get(slug).filter(|a| !a.credential_fields().is_empty()) else {
        return not_found(visitor, "carrier account");
    };
    let fields: Vec<_> = adapter
        .credential_fields()
        .iter()
        .map(|f| minijinja::context! { key => f.key, name => f.name, secret => f.secret })
        .collect();
    let mut layout = visitor.layout("settings");
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    layout.problem = problem;
    let name = crate::domain::Slug::parse(slug).map_or_else(|_| slug.to_owned(), |s| carrier_name(&s));
    let content = minijinja::context! { slug => slug, fields => fields };
    page(status, "console/connection.html", &format!("Connect a {name} account"), &layout, content)
}

pub(super) async fn new_connection(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<CarrierQuery>, QueryRejection>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    match query {
        Ok(Query(q)) => connection_form(&console, &visitor, q.slug.trim(), None),
        Err(_) => not_found(&visitor, "carrier account"),
    }
}

pub(super) async fn create_connection(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let form = fields(&body);
    let slug = one(&form, "slug").to_owned();
    let credentials = form
        .iter()
        .filter_map(|(name, values)| Some((name.strip_prefix("credentials.")?.to_owned(), values.first()?.trim())))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name, serde_json::Value::String(value.to_owned())))
        .collect();
    match connections::create_connection(&console.deps, &visitor.member.tenant_id, &slug, &credentials).await {
        Ok(connection) => {
            visitor.audit(&console.deps, "connection.created", &connection.id, connection.courier_slug.as_str()).await;
            see_other("/console/settings?notice=connection_added")
        }
        Err(error) => match form_problem(&error) {
            Some(problem) => connection_form(&console, &visitor, &slug, Some(problem)),
            None => failure(&error),
        },
    }
}

pub(super) async fn delete_connection(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    match connections::delete_connection(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(connection) => {
            visitor.audit(&console.deps, "connection.deleted", &id, connection.courier_slug.as_str()).await;
            see_other("/console/settings?notice=connection_removed")
        }
        Err(AppError::ConnectionNotFound | AppError::NotFound | AppError::Missing(_)) => {
            not_found(&visitor, "carrier account")
        }
        Err(error) => failure(&error),
    }
}
