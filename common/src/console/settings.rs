//! Settings: API keys (made, shown once, revoked), the integrations' summary (their pages are
//! `integrations.rs`), and file imports with a progress bar and the rows refused.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::shipments::when;
use super::{Console, Visitor, failure, message, notice_text, page, see_other, spelled, value};
use crate::app::{self, AppError, connections, connectors, imports, operator, webhooks};
use crate::domain::Action;
use crate::domain::imports::{HistoryFormat, ImportState};

/// Carrier connections listed.
const MAX_CONNECTIONS: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct NoticeQuery {
    pub(super) notice: Option<String>,
}

/// A secret shown on one answer only (never in a URL): a new API key, a webhook's signing
/// secret.
#[derive(serde::Serialize)]
pub(super) struct ShownOnce {
    /// What it is.
    pub(super) title: String,
    /// The secret.
    pub(super) secret: String,
    /// What to do with it.
    pub(super) hint: String,
}

/// What a settings page shows above its sections: a secret made for this answer, a notice
/// left by a form, or the problem with a refused form.
#[derive(Default)]
pub(super) struct Above<'a> {
    pub(super) shown: Option<ShownOnce>,
    pub(super) notice: Option<&'a str>,
    pub(super) problem: Option<String>,
}

/// The settings page.
pub(super) async fn settings_page(console: &Console, visitor: &Visitor, above: Above<'_>) -> Response {
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let loaded = async {
        let keys = operator::list_api_keys(deps, tenant).await?;
        let endpoints = webhooks::list_endpoints(deps, tenant).await?;
        let stores = connectors::list_connectors(deps, tenant).await?;
        let carriers = connections::list_connections(deps, tenant, None, None, MAX_CONNECTIONS).await?;
        Ok::<_, AppError>((keys, endpoints, stores, carriers))
    };
    let (keys, endpoints, stores, carriers) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure(&error),
    };
    let keys: Vec<_> = keys
        .iter()
        .map(|k| {
            let state = k.revoked_at.map_or_else(|| "active".to_owned(), |at| format!("revoked {}", when(at)));
            minijinja::context! { id => k.key_id.clone(), created => when(k.created_at), state => state, revoked => k.revoked_at.is_some() }
        })
        .collect();
    let endpoints: Vec<_> = endpoints
        .iter()
        .map(|e| {
            let events: Vec<&str> = e.events.iter().map(|ev| ev.as_str()).collect();
            minijinja::context! { id => e.id.clone(), url => e.url.clone(), events => events.join(", ") }
        })
        .collect();
    let stores: Vec<_> = stores
        .iter()
        .map(|c| {
            let backfill = c.record.backfill.as_ref().map(|b| {
                let total = b.total.map(|t| format!(" of {t}")).unwrap_or_default();
                let error = b.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                format!("{} · {} orders{total}, {} trackings{error}", spelled(&b.state), b.orders, b.trackings)
            });
            minijinja::context! {
                id => c.id.clone(), shop => c.record.shop.clone(), platform => spelled(&c.record.platform),
                last_webhook => c.record.last_webhook_at.map(when), backfill => backfill,
            }
        })
        .collect();
    let carriers: Vec<_> = carriers
        .iter()
        .map(|c| minijinja::context! { id => c.id.clone(), carrier => super::shipments::carrier_name(&c.courier_slug) })
        .collect();
    let mut layout = visitor.layout("settings");
    layout.notice = above.notice.and_then(notice_text).map(str::to_owned);
    let status = if above.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    layout.problem = above.problem;
    let content = minijinja::context! {
        keys => keys, endpoints => endpoints, connectors => stores, connections => carriers, shown => value(&above.shown),
        events => value(&super::integrations::event_choices()), accounts => value(&super::integrations::carriers_with_accounts(deps)),
    };
    page(status, "console/settings.html", "Settings", &layout, content)
}

pub(super) async fn overview(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let notice = query.ok().and_then(|Query(q)| q.notice);
    settings_page(&console, &visitor, Above { notice: notice.as_deref(), ..Above::default() }).await
}

pub(super) async fn create_key(State(console): State<Console>, visitor: Visitor) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    match app::create_api_key(&console.deps, &visitor.member.tenant_id).await {
        Ok(key) => {
            visitor.audit(&console.deps, "api_key.created", &key.key_id, "").await;
            // Shown on this answer only: not a redirect, so the key is in no URL or history.
            let shown = ShownOnce {
                title: "Your new API key, shown this once".into(),
                secret: key.secret,
                hint: "Keep it in your systems' secrets; Porchlight keeps only a digest of it.".into(),
            };
            settings_page(&console, &visitor, Above { shown: Some(shown), ..Above::default() }).await
        }
        Err(error) => failure(&error),
    }
}

pub(super) async fn revoke_key(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    match app::revoke_api_key(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(()) => {
            visitor.audit(&console.deps, "api_key.revoked", &id, "").await;
            see_other("/console/settings?notice=key_revoked")
        }
        Err(AppError::NotFound) => message(
            StatusCode::NOT_FOUND,
            &visitor.layout("settings"),
            "No such API key",
            "It may have been revoked already.",
            Some(("/console/settings", "Back to settings")),
        ),
        Err(error) => failure(&error),
    }
}

/// The format of an uploaded file, from its name and type; CSV unless it says JSON lines.
fn format_of(name: &str, content_type: Option<&str>) -> HistoryFormat {
    let named_jsonl = [".jsonl", ".ndjson", ".json"].iter().any(|ext| name.to_ascii_lowercase().ends_with(ext));
    match content_type.and_then(HistoryFormat::from_content_type) {
        Some(format) => format,
        None if named_jsonl => HistoryFormat::JsonLines,
        None => HistoryFormat::Csv,
    }
}

pub(super) async fn upload(State(console): State<Console>, visitor: Visitor, mut form: Multipart) -> Response {
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let layout = visitor.layout("settings");
    let not_done = |why: &str| {
        message(StatusCode::UNPROCESSABLE_ENTITY, &layout, "Not imported", why, Some(("/console/settings", "Back")))
    };
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(str::to_owned);
                match field.bytes().await {
                    Ok(bytes) => file = Some((format_of(&name, content_type.as_deref()), bytes.to_vec())),
                    Err(_) => return not_done("The file did not arrive whole; try again."),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return not_done("The form could not be read; choose the file again."),
        }
    }
    let Some((format, bytes)) = file else { return not_done("Choose a file to import.") };
    match imports::start_import(&console.deps, &visitor.member.tenant_id, format, bytes).await {
        Ok(job) => {
            visitor.audit(&console.deps, "import.started", &job.id, &format!("{} bytes", job.bytes)).await;
            see_other(&format!("/console/settings/imports/{}", job.id))
        }
        Err(AppError::Invalid(invalid)) => not_done(&format!("{invalid}.")),
        Err(error) => failure(&error),
    }
}

pub(super) async fn import_job(State(console): State<Console>, visitor: Visitor, Path(id): Path<String>) -> Response {
    let job = match imports::get_import(&console.deps, &visitor.member.tenant_id, &id).await {
        Ok(job) => job,
        Err(AppError::Missing(_)) => {
            let layout = visitor.layout("settings");
            return message(StatusCode::NOT_FOUND, &layout, "No such import", "The address may be mistyped.", None);
        }
        Err(error) => return failure(&error),
    };
    let running = job.state == ImportState::Running;
    let total = job.lines_total.unwrap_or(job.tally.lines).max(job.tally.lines).max(1);
    let state = match job.state {
        ImportState::Running => "Importing",
        ImportState::Done => "Done",
        ImportState::Failed => "Stopped",
    };
    let content = minijinja::context! {
        running => running, state => state, total => total, done => job.tally.lines, tally => value(&job.tally),
        error => job.error.clone(),
    };
    page(StatusCode::OK, "console/import.html", &format!("Import {}", job.id), &visitor.layout("settings"), content)
}
