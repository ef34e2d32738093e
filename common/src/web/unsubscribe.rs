//! `/t/{slug}/unsubscribe/{token}`: the link every message carries. `GET` (a shopper following
//! the link) shows what will happen and a button; `POST` (that button, or a mail client's
//! one-click `List-Unsubscribe-Post`, RFC 8058) unsubscribes. A link scanner's `GET` changes
//! nothing. A token that is not this merchant's gets a plain "does not work" page.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Caching, Client, FormQuery, Purpose, Shell, Visit, Web, failure, reply, visit};
use crate::app::{AppError, subscriptions};

/// The page in `visit`'s language: `heading` and `body` from the catalog, with the form when
/// `action` is given.
fn page(visit: &Visit, status: StatusCode, heading: &str, body: &str, action: Option<&str>) -> Response {
    let catalog = visit.catalog(None);
    let shell = Shell::new(&visit.page, catalog, catalog.ui(heading).to_owned(), Vec::new());
    let content = minijinja::context! { heading => catalog.ui(heading), body => catalog.ui(body), action => action };
    reply(status, "unsubscribe.html", &shell, &visit.page, catalog, content, Some(visit), Caching::Never)
}

pub(super) async fn confirm(
    State(web): State<Web>,
    Path((slug, token)): Path<(String, String)>,
    query: Result<Query<FormQuery>, QueryRejection>,
    client: Client,
) -> Response {
    let lang = query.ok().and_then(|Query(q)| q.lang);
    let visit = match visit(&web, &slug, lang.as_deref(), client, Purpose::Browse).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    if !subscriptions::is_valid_token(&web.deps, &visit.tenant, &token) {
        return page(&visit, StatusCode::NOT_FOUND, "bad_link_heading", "bad_link_body", None);
    }
    let action = format!("/t/{slug}/unsubscribe/{token}");
    page(&visit, StatusCode::OK, "unsubscribe_heading", "unsubscribe_body", Some(&action))
}

pub(super) async fn unsubscribe(
    State(web): State<Web>,
    Path((slug, token)): Path<(String, String)>,
    client: Client,
) -> Response {
    let visit = match visit(&web, &slug, None, client, Purpose::Browse).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    match subscriptions::unsubscribe(&web.deps, &visit.tenant, &token).await {
        Ok(()) => page(&visit, StatusCode::OK, "unsubscribed_heading", "unsubscribed_body", None),
        Err(AppError::Missing(_)) => page(&visit, StatusCode::NOT_FOUND, "bad_link_heading", "bad_link_body", None),
        Err(error) => failure(&error),
    }
}
