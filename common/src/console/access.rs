//! Signing in and out, asking for a password reset, and one-time links (invitations, resets,
//! the operator's sign-in links).

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{Console, FORM_COOKIE, Layout, SESSION_COOKIE, failure, message, notice_text, page, see_other, set_cookie};
use crate::app::AppError;
use crate::app::team::{self as members, SignInError, SignedIn};
use crate::secrets::random_bytes;
use crate::web::cookie;

/// How long the forms used before signing in stay usable.
const FORM_TOKEN_SECONDS: i64 = 3600;

/// The request's form token, or a new one (set on the answer).
fn form_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, FORM_COOKIE).filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(token) => (token, false),
        None => (hex::encode(random_bytes::<16>()), true),
    }
}

/// Renders a form page before signing in, with its form token (and its cookie when new).
fn form_page(
    status: StatusCode,
    headers: &HeaderMap,
    title: &str,
    layout: &Layout,
    content: minijinja::Value,
) -> Response {
    let (token, new) = form_token(headers);
    let content = minijinja::context! { form_token => token.clone(), ..content };
    let mut response = page(status, "console/sign_in.html", title, layout, content);
    if new {
        set_cookie(response.headers_mut(), FORM_COOKIE, &token, FORM_TOKEN_SECONDS, "Strict");
    }
    response
}

/// Where to go after signing in: a console page the visitor was going to, else shipments.
fn after_sign_in(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/console/shipments")
        .to_owned()
}

/// `?next=...` for the sign-in form's address, keeping where the visitor was going.
fn next_query(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with("/console/")).map(|n| format!("?next={}", crate::web::url_component(n)))
}

#[derive(Deserialize, Default)]
pub(super) struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

pub(super) async fn sign_in_form(
    State(console): State<Console>,
    headers: HeaderMap,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = members::session_of(&console.deps, &secret).await
    {
        return see_other(&after_sign_in(query.next.as_deref()));
    }
    let mut layout = Layout::anonymous();
    layout.notice = query.notice.as_deref().and_then(notice_text).map(str::to_owned);
    let content =
        minijinja::context! { form => "sign_in", email => "", next_query => next_query(query.next.as_deref()) };
    form_page(StatusCode::OK, &headers, "Sign in", &layout, content)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    email: String,
    password: String,
}

/// Signed in: the session cookie, and on to the page.
fn signed_in(signed: &SignedIn, next: Option<&str>) -> Response {
    let mut response = see_other(&after_sign_in(next));
    let seconds = (signed.session.expires_at - signed.session.created_at).num_seconds();
    set_cookie(response.headers_mut(), SESSION_COOKIE, &signed.secret, seconds, "Lax");
    response
}

/// The 429 page when the client address has asked too often this minute.
fn over_limit(console: &Console, parts: &Parts) -> Option<Response> {
    console.sign_ins.check(crate::web::client_ip(parts)).err().map(|wait| {
        let body = format!("Too many attempts from this address. Try again in {} seconds.", wait.max(1));
        let mut response = message(StatusCode::TOO_MANY_REQUESTS, &Layout::anonymous(), "Slow down", &body, None);
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, wait.max(1).into());
        response
    })
}

pub(super) async fn sign_in(
    State(console): State<Console>,
    parts: Parts,
    query: Result<Query<SignInQuery>, QueryRejection>,
    Form(form): Form<SignInForm>,
) -> Response {
    if let Some(response) = over_limit(&console, &parts) {
        return response;
    }
    let next = query.ok().and_then(|Query(q)| q.next);
    let deps = &console.deps;
    let problem = match members::sign_in(deps, deps.ledger.as_ref(), &form.email, &form.password).await {
        Ok(signed) => return signed_in(&signed, next.as_deref()),
        Err(SignInError::Refused) => "The email address or password is not right.".to_owned(),
        Err(SignInError::Locked(until)) => format!(
            "After several wrong passwords, signing in with this address is locked until {}. We emailed the \
             address a link to choose a new password.",
            until.format("%H:%M UTC")
        ),
        Err(SignInError::Failed(error)) => return failure(&error),
    };
    let mut layout = Layout::anonymous();
    layout.problem = Some(problem);
    let email: String = form.email.chars().take(254).collect();
    let content = minijinja::context! { form => "sign_in", email => email, next_query => next_query(next.as_deref()) };
    form_page(StatusCode::UNAUTHORIZED, &parts.headers, "Sign in", &layout, content)
}

pub(super) async fn sign_out(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = members::sign_out(&console.deps, &secret).await
    {
        return failure(&error);
    }
    let mut response = see_other("/console/sign-in?notice=signed_out");
    set_cookie(response.headers_mut(), SESSION_COOKIE, "", 0, "Lax");
    response
}

pub(super) async fn forgot_form(headers: HeaderMap) -> Response {
    let content = minijinja::context! { form => "forgot", sent => false };
    form_page(StatusCode::OK, &headers, "Forgot your password?", &Layout::anonymous(), content)
}

#[derive(Deserialize)]
pub(super) struct ForgotForm {
    email: String,
}

pub(super) async fn forgot(State(console): State<Console>, parts: Parts, Form(form): Form<ForgotForm>) -> Response {
    if let Some(response) = over_limit(&console, &parts) {
        return response;
    }
    let deps = &console.deps;
    if let Err(error) = members::request_reset(deps, deps.ledger.as_ref(), &form.email).await {
        return failure(&error);
    }
    let content = minijinja::context! { form => "forgot", sent => true };
    form_page(StatusCode::OK, &parts.headers, "Check your email", &Layout::anonymous(), content)
}

/// The page for a link that does not work (any more).
fn dead_link() -> Response {
    message(
        StatusCode::GONE,
        &Layout::anonymous(),
        "This link does not work any more",
        "It was used already, or it expired. Ask for a new one: a password reset from the sign-in page, or a \
         new invitation from your team's admin.",
        Some(("/console/sign-in", "Go to sign-in")),
    )
}

pub(super) async fn link_form(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let (member, purpose) = match members::link_member(&console.deps, &token).await {
        Ok(found) => found,
        Err(AppError::Unauthorized) => return dead_link(),
        Err(error) => return failure(&error),
    };
    let title = if purpose.sets_password() { "Choose your password" } else { "Sign in" };
    let content = minijinja::context! {
        form => "link", email => member.email, token => token, sets_password => purpose.sets_password(),
    };
    form_page(StatusCode::OK, &headers, title, &Layout::anonymous(), content)
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    password: Option<String>,
}

pub(super) async fn use_link(
    State(console): State<Console>,
    parts: Parts,
    Path(token): Path<String>,
    Form(form): Form<LinkForm>,
) -> Response {
    if let Some(response) = over_limit(&console, &parts) {
        return response;
    }
    let sets_password = matches!(members::link_member(&console.deps, &token).await, Ok((_, p)) if p.sets_password());
    match members::redeem_link(&console.deps, &token, form.password.as_deref()).await {
        Ok(signed) if sets_password => signed_in(&signed, Some("/console/shipments?notice=password_set")),
        Ok(signed) => signed_in(&signed, None),
        Err(AppError::Unauthorized) => dead_link(),
        Err(AppError::Invalid(_) | AppError::Required(_)) => {
            let Ok((member, _)) = members::link_member(&console.deps, &token).await else { return dead_link() };
            let mut layout = Layout::anonymous();
            layout.problem = Some("Choose a password of 12 to 256 characters.".to_owned());
            let content = minijinja::context! {
                form => "link", email => member.email, token => token, sets_password => true,
            };
            form_page(StatusCode::UNPROCESSABLE_ENTITY, &parts.headers, "Choose your password", &layout, content)
        }
        Err(error) => failure(&error),
    }
}
