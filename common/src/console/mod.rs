//! The merchant console under `/console`: the team's back office over the same use cases as
//! the API, server-rendered from the pages' template engine, working without JavaScript.
//!
//! A member signs in with email and password (or a one-time link) and gets a session cookie
//! (`HttpOnly`, `Secure`, `SameSite=Lax`, path `/console`). Every `POST` carries the form's
//! CSRF token, checked by [`guard`] before any handler runs: the session's token (an HMAC
//! under the cookie's secret), or, on the forms used before signing in, a random token from
//! a cookie of its own. Each handler checks the member's role for its action; a refused
//! action is a 403 page and changes nothing. Changes are written to the audit log.

mod access;
mod analytics;
mod exception_rules;
mod exceptions;
mod integrations;
mod notification_rules;
mod notifications;
mod return_policy;
mod returns;
mod rule_forms;
mod settings;
mod shipment_view;
mod shipments;
mod team;
mod tracking_page;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::team::{self as members, Actor, csrf_matches, csrf_token};
use crate::app::{AppError, Deps};
use crate::domain::{Action, Member};
use crate::web::{Limiter, cookie, render_document};

/// The console's templates (registered in the one engine beside the pages').
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("console/console.html", include_str!("templates/console.html")),
    ("console/sign_in.html", include_str!("templates/sign_in.html")),
    ("console/message.html", include_str!("templates/message.html")),
    ("console/shipments.html", include_str!("templates/shipments.html")),
    ("console/shipment.html", include_str!("templates/shipment.html")),
    ("console/team.html", include_str!("templates/team.html")),
    ("console/exceptions.html", include_str!("templates/exceptions.html")),
    ("console/exception.html", include_str!("templates/exception.html")),
    ("console/returns.html", include_str!("templates/returns.html")),
    ("console/return.html", include_str!("templates/return.html")),
    ("console/return_policy.html", include_str!("templates/return_policy.html")),
    ("console/analytics.html", include_str!("templates/analytics.html")),
    ("console/notifications.html", include_str!("templates/notifications.html")),
    ("console/notification.html", include_str!("templates/notification.html")),
    ("console/settings.html", include_str!("templates/settings.html")),
    ("console/connection.html", include_str!("templates/connection.html")),
    ("console/rule_macros.html", include_str!("templates/rule_macros.html")),
    ("console/exception_rule.html", include_str!("templates/exception_rule.html")),
    ("console/webhook.html", include_str!("templates/webhook.html")),
    ("console/import.html", include_str!("templates/import.html")),
    ("console/tracking_page.html", include_str!("templates/tracking_page.html")),
    ("console/audit.html", include_str!("templates/audit.html")),
];

/// The console's one style sheet.
const CSS: &str = include_str!("console.css");
/// htmx (vendored, see `assets/README.md`): forms update their page in place when scripts run;
/// every one still posts as a plain form without it.
const HTMX: &[u8] = include_bytes!("assets/htmx.min.js");

/// The session cookie.
const SESSION_COOKIE: &str = "pl_console";
/// The cookie holding the token of the forms used before signing in.
const FORM_COOKIE: &str = "pl_form";

#[derive(Clone)]
struct Console {
    deps: Deps,
    sign_ins: Arc<Limiter>,
}

/// The console's routes.
pub fn console_router(deps: Deps) -> Router {
    let state = Console { sign_ins: Arc::new(Limiter::per_minute(deps.console_sign_ins_per_minute)), deps };
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/shipments") }))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/htmx.min.js", get(htmx))
        .route("/console/sign-in", get(access::sign_in_form).post(access::sign_in))
        .route("/console/sign-out", post(access::sign_out))
        .route("/console/forgot", get(access::forgot_form).post(access::forgot))
        .route("/console/link/{token}", get(access::link_form).post(access::use_link))
        .route("/console/shipments", get(shipments::list).post(shipments::add))
        .route("/console/shipments.csv", get(shipments::export))
        .route("/console/shipments/views", post(shipments::save_view))
        .route("/console/shipments/views/delete", post(shipments::delete_view))
        .route("/console/shipments/{id}", get(shipments::detail))
        .route("/console/shipments/{id}/retrack", post(shipments::retrack))
        .route("/console/shipments/{id}/complete", post(shipments::complete))
        .route("/console/shipments/{id}/labels", post(shipments::labels))
        .route("/console/exceptions", get(exceptions::list))
        .route("/console/exceptions/bulk", post(exceptions::bulk))
        .route("/console/exceptions/rules/{id}", post(exceptions::toggle_rule))
        .route("/console/exceptions/rules/new", get(exception_rules::new_rule).post(exception_rules::create_rule))
        .route(
            "/console/exceptions/rules/{id}/edit",
            get(exception_rules::edit_rule).post(exception_rules::change_rule),
        )
        .route("/console/exceptions/rules/{id}/delete", post(exception_rules::delete_rule))
        .route("/console/exceptions/{id}", get(exceptions::detail).post(exceptions::change))
        .route("/console/returns", get(returns::list))
        .route("/console/returns/policy", get(return_policy::edit).post(return_policy::change))
        .route("/console/returns/{id}", get(returns::detail))
        .route("/console/returns/{id}/{action}", post(returns::act))
        .route("/console/analytics", get(analytics::overview))
        .route("/console/analytics/report", post(analytics::keep_report))
        .route("/console/analytics/{file}", get(analytics::csv))
        .route("/console/notifications", get(notifications::overview))
        .route("/console/notifications/rules", post(notification_rules::create_rule))
        .route("/console/notifications/rules/{id}", post(notification_rules::change_rule))
        .route("/console/notifications/rules/{id}/delete", post(notification_rules::delete_rule))
        .route("/console/notifications/{trigger}/{language}", get(notifications::edit).post(notifications::change))
        .route("/console/notifications/{trigger}/{language}/email.html", get(notifications::email))
        .route("/console/notifications/{trigger}/{language}/test", post(notifications::test_send))
        .route("/console/settings", get(settings::overview))
        .route("/console/settings/api-keys", post(settings::create_key))
        .route("/console/settings/api-keys/{id}/revoke", post(settings::revoke_key))
        .route("/console/settings/webhooks", post(integrations::create_endpoint))
        .route("/console/settings/webhooks/{id}", get(integrations::webhook_log))
        .route("/console/settings/webhooks/{id}/deliveries/{delivery}/replay", post(integrations::replay))
        .route("/console/settings/webhooks/{id}/{action}", post(integrations::endpoint_action))
        .route("/console/settings/connectors", post(integrations::create_connector))
        .route("/console/settings/connectors/{id}/{action}", post(integrations::connector_action))
        .route("/console/settings/carriers", get(integrations::new_connection).post(integrations::create_connection))
        .route("/console/settings/carriers/{id}/delete", post(integrations::delete_connection))
        .route("/console/settings/imports", post(settings::upload))
        .route("/console/settings/imports/{id}", get(settings::import_job))
        .route("/console/tracking-page", get(tracking_page::edit).post(tracking_page::change))
        .route("/console/tracking-page/preview.html", get(tracking_page::preview))
        .route("/console/team", get(team::list).post(team::invite))
        .route("/console/team/{id}/role", post(team::change_role))
        .route("/console/team/{id}/remove", post(team::remove))
        .route("/console/audit", get(team::audit))
        .layer(axum::middleware::from_fn(guard))
        .with_state(state)
}

/// The style sheet's address: its digest in the query, so it may be cached for good.
fn css_href() -> &'static str {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| format!("/console/assets/console.css?v={}", &hex::encode(Sha256::digest(CSS))[..12]))
}

/// htmx's address (its digest in the query) and its Subresource Integrity value.
fn htmx_script() -> &'static (String, String) {
    static SCRIPT: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| {
        use base64::Engine as _;
        let src = format!("/console/assets/htmx.min.js?v={}", &hex::encode(Sha256::digest(HTMX))[..12]);
        let integrity =
            format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(HTMX)));
        (src, integrity)
    })
}

async fn htmx() -> Response {
    let mut response = HTMX.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// Whether `path` takes a form used before signing in (checked against the form cookie).
fn is_public_form(path: &str) -> bool {
    matches!(path, "/console/sign-in" | "/console/forgot") || path.starts_with("/console/link/")
}

/// Refuses a `POST` whose `csrf` field (in the query for a multipart form) is not the token
/// its cookie calls for (403), before any handler runs. The body was read whole by [`crate::api::app`]'s limit; it is put back.
async fn guard(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return expired_form();
    };
    let multipart = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // A file's form carries its token in its address: the guard does not read multipart bodies.
    let given = if multipart {
        parts.uri.query().and_then(|q| form_field(q.as_bytes(), "csrf"))
    } else {
        form_field(&bytes, "csrf")
    };
    let accepted = if is_public_form(parts.uri.path()) {
        cookie(&parts.headers, FORM_COOKIE).is_some_and(|token| {
            use subtle::ConstantTimeEq;
            given.as_deref().is_some_and(|given| bool::from(token.as_bytes().ct_eq(given.as_bytes())))
        })
    } else {
        cookie(&parts.headers, SESSION_COOKIE)
            .is_some_and(|secret| given.as_deref().is_some_and(|given| csrf_matches(&secret, given)))
    };
    if !accepted {
        tracing::info!(path = parts.uri.path(), "console form refused: csrf token missing or wrong");
        return expired_form();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// A URL-encoded form's fields (or a query's): every value of each name, in order.
type Fields = std::collections::BTreeMap<String, Vec<String>>;

/// Reads a URL-encoded form body or query.
fn fields(body: &[u8]) -> Fields {
    let mut fields = Fields::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        fields.entry(key.into_owned()).or_default().push(value.into_owned());
    }
    fields
}

/// The first value of `name`, trimmed; `""` when the form has none.
fn one<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).and_then(|v| v.first()).map_or("", |v| v.trim())
}

/// The first value of `name`, trimmed, unless empty.
fn optional(fields: &Fields, name: &str) -> Option<String> {
    Some(one(fields, name).to_owned()).filter(|v| !v.is_empty())
}

/// The first value of `name` in a URL-encoded form body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

fn expired_form() -> Response {
    let layout = Layout::anonymous();
    message(
        StatusCode::FORBIDDEN,
        &layout,
        "This form has expired",
        "The page was open too long, or the form did not come from this console. Reload the page and try again.",
        Some(("/console", "Back to the console")),
    )
}

/// A signed-in member, with what their pages need.
pub(crate) struct Visitor {
    member: Member,
    secret: String,
    merchant: String,
}

impl Visitor {
    /// The 403 page when the member's role does not allow `action`.
    fn refused(&self, action: Action) -> Option<Response> {
        if self.member.role.may(action) {
            return None;
        }
        tracing::info!(tenant_id = %self.member.tenant_id, member_id = %self.member.id, "console action refused by role");
        Some(forbidden(&self.layout("")))
    }

    fn actor(&self) -> Actor {
        Actor::Member(self.member.clone())
    }

    /// The page frame for a page of `section`.
    fn layout(&self, section: &'static str) -> Layout {
        let role = self.member.role;
        Layout {
            merchant: self.merchant.clone(),
            member: Some(MemberView { email: self.member.email.clone(), role: role.as_str() }),
            csrf: csrf_token(&self.secret),
            section,
            nav: NAV.iter().map(|(section, href, label)| NavItem { section, href, label }).collect(),
            can: Can {
                work: role.may(Action::Work),
                configure: role.may(Action::Configure),
                manage: role.may(Action::ManageTeam),
            },
            notice: None,
            problem: None,
            css_href: css_href(),
            htmx_src: &htmx_script().0,
            htmx_integrity: &htmx_script().1,
        }
    }

    /// Writes a line to the merchant's audit log; a failure is logged, not shown (the change
    /// itself was made).
    async fn audit(&self, deps: &Deps, action: &str, target: &str, detail: &str) {
        if let Err(error) = members::audit(deps, &self.member.tenant_id, &self.actor(), action, target, detail).await {
            tracing::error!(error = %error, action, "audit log write failed");
        }
    }
}

/// The console's sections: (section, address, label).
const NAV: &[(&str, &str, &str)] = &[
    ("shipments", "/console/shipments", "Shipments"),
    ("exceptions", "/console/exceptions", "Exceptions"),
    ("returns", "/console/returns", "Returns"),
    ("analytics", "/console/analytics", "Analytics"),
    ("notifications", "/console/notifications", "Notifications"),
    ("tracking_page", "/console/tracking-page", "Tracking page"),
    ("settings", "/console/settings", "Settings"),
    ("team", "/console/team", "Team"),
    ("audit", "/console/audit", "Audit log"),
];

impl FromRequestParts<Console> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Self::Rejection> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(to_sign_in(parts)) };
        let (member, _) = match members::session_of(&console.deps, &secret).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(to_sign_in(parts)),
            Err(error) => return Err(failure(&error)),
        };
        let merchant = match console.deps.tenants.get_tenant(&member.tenant_id).await {
            Ok(Some(tenant)) => tenant.name,
            Ok(None) => return Err(to_sign_in(parts)),
            Err(error) => return Err(failure(&error.into())),
        };
        Ok(Visitor { member, secret, merchant })
    }
}

/// To the sign-in page (a `GET` comes back to where it was going afterwards).
fn to_sign_in(parts: &Parts) -> Response {
    let back = parts.uri.path_and_query().map(|p| p.as_str()).filter(|_| parts.method == Method::GET);
    let target = match back {
        Some(back) if back.starts_with("/console/") => {
            format!("/console/sign-in?next={}", crate::web::url_component(back))
        }
        _ => "/console/sign-in".to_owned(),
    };
    Redirect::to(&target).into_response()
}

#[derive(Serialize)]
struct MemberView {
    email: String,
    role: &'static str,
}

#[derive(Serialize)]
struct NavItem {
    section: &'static str,
    href: &'static str,
    label: &'static str,
}

/// What the member's role lets the page offer.
#[derive(Serialize, Default)]
struct Can {
    work: bool,
    configure: bool,
    manage: bool,
}

/// The frame every page shares.
#[derive(Serialize)]
struct Layout {
    merchant: String,
    member: Option<MemberView>,
    csrf: String,
    section: &'static str,
    nav: Vec<NavItem>,
    can: Can,
    notice: Option<String>,
    problem: Option<String>,
    css_href: &'static str,
    htmx_src: &'static str,
    htmx_integrity: &'static str,
}

impl Layout {
    /// The frame of the pages before signing in.
    fn anonymous() -> Layout {
        Layout {
            merchant: String::new(),
            member: None,
            csrf: String::new(),
            section: "",
            nav: Vec::new(),
            can: Can::default(),
            notice: None,
            problem: None,
            css_href: css_href(),
            htmx_src: &htmx_script().0,
            htmx_integrity: &htmx_script().1,
        }
    }
}

/// The console's security headers: scripts and styles only from the console's own files
/// (htmx, the sheet), forms only to itself, never framed, never cached.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; frame-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders `template` with its `title`, the frame and `content`'s fields.
fn page(status: StatusCode, template: &str, title: &str, layout: &Layout, content: impl Serialize) -> Response {
    let context = minijinja::context! {
        title => title,
        layout => value(layout),
        ..value(&content)
    };
    match render_document(template, context) {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(error = %error, template, "console page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// A domain value's wire spelling (its serde name), words apart, for showing.
fn spelled<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

/// `?name=value&...` of the filters given (empty ones left out), or `""` for none.
fn query_of(filters: &[(&str, &String)]) -> String {
    let kept: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", crate::web::url_component(v.trim())))
        .collect();
    if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) }
}

/// `x` as a template value.
fn value<T: Serialize>(x: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

/// A page that only says something.
fn message(status: StatusCode, layout: &Layout, title: &str, body: &str, back: Option<(&str, &str)>) -> Response {
    let content = minijinja::context! { body => body, back => back.map(|b| b.0), back_label => back.map(|b| b.1) };
    page(status, "console/message.html", title, layout, content)
}

fn forbidden(layout: &Layout) -> Response {
    message(
        StatusCode::FORBIDDEN,
        layout,
        "Not allowed",
        "Your role does not allow this. An admin or owner of your team can change your role.",
        Some(("/console", "Back to the console")),
    )
}

/// A store failure: 503 (or 500), nothing else said.
fn failure(error: &AppError) -> Response {
    tracing::warn!(error = %error, "console request failed");
    let status = if error.is_retryable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
    message(status, &Layout::anonymous(), "Something went wrong", "Try again in a moment.", None)
}

/// Why a form was refused, when `error` is the form's fault ("Not saved: ..."): the page then
/// says so, and nothing was kept. `None` for the store's failures.
fn form_problem(error: &AppError) -> Option<String> {
    match error {
        AppError::Invalid(_) | AppError::Required(_) | AppError::Unprocessable(_) | AppError::UnknownCourier(_) => {
            Some(format!("Not saved: {error}."))
        }
        _ => None,
    }
}

/// A 303 to `target` after a form (so reloading does not post again).
fn see_other(target: &str) -> Response {
    Redirect::to(target).into_response()
}

/// The notice a page shows after a form sent it there (`?notice=...`).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "added" => "The tracking was added; the carrier is asked for news within a minute.",
        "retracked" => "Asked the carrier again; news shows up here within a minute.",
        "completed" => "Marked completed: no more checks or notifications for this parcel.",
        "labels" => "Tags and note saved.",
        "invited" => "Invitation sent.",
        "role" => "Role changed.",
        "removed" => "Member removed; their sessions ended.",
        "signed_out" => "You are signed out.",
        "case_note" => "Note added.",
        "case_assign" | "case_assign_me" => "Assigned.",
        "case_unassign" => "Unassigned.",
        "case_resolve" => "Resolved. It opens again only on new facts.",
        "case_reopen" => "Reopened.",
        "return_approve" => "Approved. The shopper has their next steps.",
        "return_reject" => "Rejected.",
        "return_receive" => "Receiving recorded.",
        "return_resolve" => "Resolved.",
        "texts_saved" => "Saved: messages from now on use this wording.",
        "texts_reset" => "Back to the built-in text.",
        "test_sent" => "Test sent with the saved wording: it arrives within a minute, marked [Test].",
        "rule_saved" => "Rule saved.",
        "rule_removed" => "Rule removed; its cases stay in the queue.",
        "policy_saved" => "Policy saved: requests from now on are judged by it.",
        "view_saved" => "View saved: the whole team finds it above the filters.",
        "page_saved" => "Saved: shoppers see the page this way now.",
        "key_revoked" => "Key revoked: requests with it fail from now on.",
        "replayed" => "Replayed: the delivery is sent again within a minute.",
        "endpoint_removed" => "Endpoint removed: nothing more is sent to it.",
        "backfill_started" => "Reading the store's orders of the last 30 days; the progress shows below.",
        "connector_removed" => "Store disconnected: its webhooks are refused from now on.",
        "connection_added" => "Carrier account connected: its parcels are tracked with it from now on.",
        "connection_removed" => "Carrier account removed.",
        "password_set" => "Your password is set.",
        _ => return None,
    })
}

/// A `Set-Cookie` value for the console's path, `HttpOnly`, `Secure`, `SameSite` as given.
fn set_cookie(headers: &mut HeaderMap, name: &str, value: &str, max_age: i64, same_site: &str) {
    let cookie = format!("{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; Secure; SameSite={same_site}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests;
