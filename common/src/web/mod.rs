//! The shopper's tracking page, server-rendered under `/t/{slug}`: the lookup form, an
//! order's parcels (opened with the order's email or postal code), one parcel by its number.
//!
//! No script runs on these pages. Every answer carries a Content-Security-Policy that allows
//! only the page's own style blocks and `https:` images, `Referrer-Policy: no-referrer`, and
//! `Cache-Control: no-store` where it shows an order (personal data); pages without personal
//! data may be cached briefly by a CDN. Requests are limited per client address
//! ([`limiter::Limiter`]), lookups more tightly than views; a failed order lookup looks the same whether the order is unknown
//! or the proof wrong.

pub mod charts;
mod i18n;
mod limiter;
mod render;
mod reports;
mod returns;
mod unsubscribe;
mod view;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

pub use i18n::{Catalog, fill};
pub use returns::{MAX_FORM_BYTES, MAX_PHOTO_BYTES, return_items_line, return_next_step};

/// Whether `path` is where the returns portal takes its request with photos (`/t/{slug}/returns`),
/// whose body may be up to [`MAX_FORM_BYTES`].
pub fn is_upload(path: &str) -> bool {
    path.strip_prefix("/t/").and_then(|rest| rest.strip_suffix("/returns")).is_some_and(|slug| !slug.contains('/'))
}
pub use limiter::Limiter;
pub use render::{Palette, Rendered, contrast, render, render_document, rgb};
pub use view::{OrderView, ParcelView, Shell, choose_language, order, parcel};

use crate::app::pages::{self, OrderProof};
use crate::app::{AppError, Deps};
use crate::domain::{Language, Shipment, TenantId, TrackingPage};

/// What a URL path segment or query value keeps as it is: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `text` percent-encoded for a URL path segment or query value (letters, digits and `-._~`
/// kept), as the pages' and messages' links write tracking and order numbers.
pub fn url_component(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The cookie that remembers a shopper's language pick, per page.
const LANGUAGE_COOKIE: &str = "pl_lang";

/// The client's address as the runtime knows it: `serve` from the connection, Lambda from
/// the request context (or CloudFront's viewer header). Lookups are limited by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

#[derive(Clone)]
struct Web {
    deps: Deps,
    /// Order and number lookups per address.
    limiter: Arc<Limiter>,
    /// Every page request per address.
    views: Arc<Limiter>,
}

/// The tracking page's routes, limiting lookups per client address as the deps say.
pub fn page_router(deps: Deps) -> Router {
    let state = Web {
        limiter: Arc::new(Limiter::per_minute(deps.page_lookups_per_minute)),
        views: Arc::new(Limiter::per_minute(deps.page_views_per_minute)),
        deps,
    };
    returns::routes(Router::new())
        .route("/reports/{token}/{file}", get(reports::file))
        .route("/t/{slug}", get(lookup_form))
        .route("/t/{slug}/orders", get(order_page))
        .route("/t/{slug}/track", get(track_form))
        .route("/t/{slug}/unsubscribe/{token}", get(unsubscribe::confirm).post(unsubscribe::unsubscribe))
        .route("/t/{slug}/{tracking_number}", get(number_page))
        .route("/t/{slug}/{tracking_number}/subscribe", axum::routing::post(subscribe))
        .with_state(state)
}

/// What each request brings that decides how it is answered.
struct Visit {
    tenant: TenantId,
    page: Arc<TrackingPage>,
    query_language: Option<String>,
    remembered: Option<String>,
    accept_language: Option<String>,
    client: IpAddr,
}

impl Visit {
    fn catalog(&self, tracking_language: Option<&str>) -> &'static Catalog {
        Catalog::of(choose_language(
            &self.page,
            self.query_language.as_deref(),
            self.remembered.as_deref(),
            tracking_language,
            self.accept_language.as_deref(),
        ))
    }
}

/// The value of the request's cookie `name`, if it sent one.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
}

/// The client's address: the runtime's [`ClientIp`], else the connection's peer.
pub fn client_ip(parts: &axum::http::request::Parts) -> IpAddr {
    match (parts.extensions.get::<ClientIp>(), parts.extensions.get::<ConnectInfo<SocketAddr>>()) {
        (Some(ClientIp(ip)), _) => *ip,
        (None, Some(ConnectInfo(address))) => address.ip(),
        (None, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// What the request says about its client: its address, languages and remembered pick.
struct Client {
    ip: IpAddr,
    accept_language: Option<String>,
    remembered: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        let accept_language = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(500).collect());
        Ok(Client { ip, accept_language, remembered: cookie(&parts.headers, LANGUAGE_COOKIE) })
    }
}

/// Whether a request looks parcels up (and counts against the client's limit).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The form, a redirect: not counted.
    Browse,
    /// An order or number lookup: counted.
    Lookup,
}

/// Resolves the page of `slug` for `client`, counting the request against its views and a
/// lookup against its lookups: a 404 page when there is no such page, a 429 page past a limit.
async fn visit(web: &Web, slug: &str, lang: Option<&str>, client: Client, purpose: Purpose) -> Result<Visit, Response> {
    let resolved = pages::resolve_page(&web.deps, slug).await.map_err(|e| failure(&e))?;
    let Some((tenant, page)) = resolved else {
        return Err(no_page(client.accept_language.as_deref()));
    };
    let visit = Visit {
        tenant,
        page,
        query_language: lang.map(str::to_owned),
        remembered: client.remembered,
        accept_language: client.accept_language,
        client: client.ip,
    };
    if let Err(wait) = web.views.check(visit.client) {
        return Err(too_many(&visit, wait));
    }
    if purpose == Purpose::Lookup
        && let Err(wait) = web.limiter.check(visit.client)
    {
        return Err(too_many(&visit, wait));
    }
    Ok(visit)
}

/// How long a page may be kept by caches.
#[derive(Clone, Copy)]
enum Caching {
    /// Shows personal data, or a failed lookup: never stored.
    Never,
    /// Public for `seconds`.
    Public(u32),
}

/// The page as a response, with its security headers, caching, and the language cookie when
/// the shopper picked a language offered.
fn respond(
    status: StatusCode,
    rendered: Rendered,
    visit: Option<&Visit>,
    language: Language,
    caching: Caching,
) -> Response {
    let mut response = (status, rendered.html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(csp) = HeaderValue::from_str(&rendered.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    let picked =
        visit.is_some_and(|v| v.query_language.as_deref().and_then(|l| Language::parse(l).ok()) == Some(language));
    let cache = match caching {
        Caching::Never => "no-store".to_owned(),
        // An answer that sets the shopper's cookie is theirs alone.
        Caching::Public(seconds) if picked => format!("private, max-age={seconds}"),
        Caching::Public(seconds) => format!("public, max-age={seconds}"),
    };
    if let Ok(cache) = HeaderValue::from_str(&cache) {
        headers.insert(header::CACHE_CONTROL, cache);
    }
    if let Some(visit) = visit.filter(|_| picked) {
        let cookie = format!(
            "{LANGUAGE_COOKIE}={}; Path=/t/{}; Max-Age=31536000; SameSite=Lax; HttpOnly",
            language.code(),
            visit.page.slug
        );
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Renders `template` and answers it as [`respond`] does; a 500 if rendering fails.
#[allow(clippy::too_many_arguments)] // one call per page kind, every argument named at the call
fn reply(
    status: StatusCode,
    template: &str,
    shell: &Shell,
    page: &TrackingPage,
    catalog: &Catalog,
    content: impl serde::Serialize,
    visit: Option<&Visit>,
    caching: Caching,
) -> Response {
    match render(template, shell, page, catalog, content) {
        Ok(rendered) => respond(status, rendered, visit, catalog.language, caching),
        Err(error) => {
            tracing::error!(error = %error, template, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// A store failure: 503 (or 500) in plain text, nothing about the shopper's query.
fn failure(error: &AppError) -> Response {
    tracing::warn!(error = %error, "tracking page lookup failed");
    let status = if error.is_retryable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
    (status, "the tracking page is unavailable; try again shortly").into_response()
}

/// The 404 for a slug no merchant has, in a neutral shell.
fn no_page(accept_language: Option<&str>) -> Response {
    let mut neutral = TrackingPage::default_for("Porchlight", "porchlight".into());
    neutral.default_language = Language::En;
    let catalog = Catalog::of(choose_language(&neutral, None, None, None, accept_language));
    let mut shell = Shell::new(&neutral, catalog, catalog.ui("no_page_heading").to_owned(), Vec::new());
    shell.home = "/".into();
    shell.languages.clear();
    let content = minijinja::context! { heading => catalog.ui("no_page_heading"), body => catalog.ui("no_page_body") };
    reply(StatusCode::NOT_FOUND, "message.html", &shell, &neutral, catalog, content, None, Caching::Public(60))
}

/// A 429 page with `Retry-After`, before any lookup is made.
fn too_many(visit: &Visit, retry_after: u64) -> Response {
    let catalog = visit.catalog(None);
    let shell = Shell::new(&visit.page, catalog, catalog.ui("too_many_heading").to_owned(), Vec::new());
    let content = minijinja::context! { heading => catalog.ui("too_many_heading"), body => catalog.ui("too_many_body"), back => true };
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut response =
        reply(status, "message.html", &shell, &visit.page, catalog, content, Some(visit), Caching::Never);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    response
}

#[derive(Deserialize, Default)]
struct FormQuery {
    lang: Option<String>,
    order_number: Option<String>,
    tracking_number: Option<String>,
}

/// The lookup form, with the query's fields kept for the language picker.
fn lookup_page(
    visit: &Visit,
    status: StatusCode,
    failed: Option<&str>,
    order_number: &str,
    tracking_number: &str,
) -> Response {
    let catalog = visit.catalog(None);
    let keep: Vec<(String, String)> = [("order_number", order_number), ("tracking_number", tracking_number)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let shell = Shell::new(&visit.page, catalog, catalog.ui("track_heading").to_owned(), keep);
    let content = minijinja::context! {
        failed => failed.map(|key| catalog.ui(key)),
        order_number => order_number,
        tracking_number => tracking_number,
    };
    let caching = if failed.is_some() { Caching::Never } else { Caching::Public(300) };
    reply(status, "lookup.html", &shell, &visit.page, catalog, content, Some(visit), caching)
}

async fn lookup_form(
    State(web): State<Web>,
    Path(slug): Path<String>,
    query: Result<Query<FormQuery>, QueryRejection>,
    client: Client,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let visit = match visit(&web, &slug, query.lang.as_deref(), client, Purpose::Browse).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let order_number = query.order_number.as_deref().unwrap_or_default().chars().take(200).collect::<String>();
    let number = query.tracking_number.as_deref().unwrap_or_default().chars().take(100).collect::<String>();
    lookup_page(&visit, StatusCode::OK, None, &order_number, &number)
}

/// The number form's target: the number's own page (a form cannot write a path).
async fn track_form(Path(slug): Path<String>, query: Result<Query<FormQuery>, QueryRejection>) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let number = query.tracking_number.as_deref().unwrap_or_default().trim();
    let mut target = format!("/t/{}", url_component(&slug));
    if !number.is_empty() {
        target = format!("{target}/{}", url_component(&number.chars().take(100).collect::<String>()));
    }
    if let Some(lang) = query.lang.as_deref().and_then(|l| Language::parse(l).ok()) {
        target = format!("{target}?lang={}", lang.code());
    }
    Redirect::to(&target).into_response()
}

/// The proof a shopper gave that an order is theirs: the email, else the postal code.
fn proof_of(email: &str, postal_code: &str) -> Option<OrderProof> {
    match (email.trim(), postal_code.trim()) {
        ("", "") => None,
        ("", code) => Some(OrderProof::PostalCode(code.to_owned())),
        (email, _) => Some(OrderProof::Email(email.to_owned())),
    }
}

#[derive(Deserialize, Default)]
struct OrderQuery {
    lang: Option<String>,
    order_number: Option<String>,
    email: Option<String>,
    postal_code: Option<String>,
}

async fn order_page(
    State(web): State<Web>,
    Path(slug): Path<String>,
    query: Result<Query<OrderQuery>, QueryRejection>,
    client: Client,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let visit = match visit(&web, &slug, query.lang.as_deref(), client, Purpose::Lookup).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let order_number = query.order_number.as_deref().unwrap_or_default().trim().chars().take(200).collect::<String>();
    let email = query.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let postal = query.postal_code.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let parcels = match proof_of(email.unwrap_or_default(), postal.unwrap_or_default()) {
        Some(proof) => match pages::lookup_order(&web.deps, &visit.tenant, &order_number, &proof).await {
            Ok(parcels) => parcels,
            Err(error) => return failure(&error),
        },
        None => Vec::new(),
    };
    if parcels.is_empty() {
        return lookup_page(&visit, StatusCode::NOT_FOUND, Some("not_found_order"), &order_number, "");
    }
    let mut keep = vec![("order_number".to_owned(), order_number.clone())];
    keep.extend(email.map(|e| ("email".to_owned(), e.to_owned())));
    keep.extend(postal.filter(|_| email.is_none()).map(|p| ("postal_code".to_owned(), p.to_owned())));
    let shown_number = parcels[0].details.order_number.clone().unwrap_or(order_number);
    parcels_page(&web, &visit, &parcels, Some(&shown_number), keep, false)
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

async fn number_page(
    State(web): State<Web>,
    Path((slug, number)): Path<(String, String)>,
    query: Result<Query<LangQuery>, QueryRejection>,
    client: Client,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let visit = match visit(&web, &slug, query.lang.as_deref(), client, Purpose::Lookup).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let parcels = match pages::lookup_number(&web.deps, &visit.tenant, &number).await {
        Ok(parcels) => parcels,
        Err(error) => return failure(&error),
    };
    if parcels.is_empty() {
        let number: String = number.chars().take(100).collect();
        return lookup_page(&visit, StatusCode::NOT_FOUND, Some("not_found_number"), "", &number);
    }
    let sms = match pages::offers_sms(&web.deps, &visit.tenant).await {
        Ok(sms) => sms,
        Err(error) => return failure(&error),
    };
    parcels_page(&web, &visit, &parcels, None, Vec::new(), sms)
}

/// A shopper asks for a parcel's emails from its page: every active shipment with that number
/// gets the address (counted against the lookup limit, like a lookup). The page then says what
/// will happen; every email it brings has the link to stop.
async fn subscribe(
    State(web): State<Web>,
    Path((slug, number)): Path<(String, String)>,
    client: Client,
    form: axum::body::Bytes,
) -> Response {
    let visit = match visit(&web, &slug, None, client, Purpose::Lookup).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    // The form's fields, `email` and (when the merchant sends SMS) `phone`, URL-encoded.
    let field = |name: &str| {
        url::form_urlencoded::parse(&form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (email, phone) = (field("email"), field("phone"));
    let subscribed = pages::subscribe_by_number(&web.deps, &visit.tenant, &number, &email, &phone).await;
    let sms = !phone.is_empty();
    let (status, heading, body) = match subscribed {
        Ok(0) => (StatusCode::NOT_FOUND, "not_found_heading", "not_found_number"),
        Ok(_) if sms => (StatusCode::OK, "subscribed_heading", "subscribed_body_sms"),
        Ok(_) => (StatusCode::OK, "subscribed_heading", "subscribed_body"),
        Err(AppError::Invalid(_)) if sms => (StatusCode::BAD_REQUEST, "subscribe_heading_sms", "subscribe_invalid_sms"),
        Err(AppError::Invalid(_)) => (StatusCode::BAD_REQUEST, "subscribe_heading", "subscribe_invalid"),
        Err(error) => return failure(&error),
    };
    let catalog = visit.catalog(None);
    let shell = Shell::new(&visit.page, catalog, catalog.ui(heading).to_owned(), Vec::new());
    let content = minijinja::context! { heading => catalog.ui(heading), body => catalog.ui(body), back => true };
    reply(status, "message.html", &shell, &visit.page, catalog, content, Some(&visit), Caching::Never)
}

/// Parcels found: an order's (with its details) or a number's (status and timeline only).
fn parcels_page(
    web: &Web,
    visit: &Visit,
    parcels: &[Shipment],
    order_number: Option<&str>,
    keep: Vec<(String, String)>,
    sms: bool,
) -> Response {
    let catalog = visit.catalog(parcels[0].details.language.as_deref());
    let now = web.deps.clock.now();
    let count = parcels.len();
    let views: Vec<_> = parcels
        .iter()
        .enumerate()
        .map(|(i, shipment)| {
            let heading = (order_number.is_some()).then(|| {
                catalog.ui_with(
                    "parcel_of",
                    &[("index", &catalog.number(i as u64 + 1)), ("count", &catalog.number(count as u64))],
                )
            });
            parcel(shipment, &visit.page, catalog, now, heading, order_number.is_some())
        })
        .collect();
    let order_view = order_number.map(|n| order(n, parcels, catalog));
    let returns_url = (visit.page.returns_enabled && order_number.is_some()).then(|| {
        let query: Vec<String> = keep.iter().map(|(k, v)| format!("{k}={}", url_component(v))).collect();
        format!("/t/{}/returns?{}", url_component(&visit.page.slug), query.join("&"))
    });
    let title = order_view.as_ref().map_or_else(|| views[0].headline.clone(), |o| o.heading.clone());
    let shell = Shell::new(&visit.page, catalog, title, keep);
    #[derive(serde::Serialize)]
    struct Content {
        order: Option<view::OrderView>,
        parcels: Vec<view::ParcelView>,
        /// The returns portal for this order, when the merchant offers returns.
        returns: Option<String>,
        /// Where the subscription form posts (a number's page, while tracking goes on).
        subscribe: Option<String>,
        /// Whether the form takes a phone number (the merchant sends SMS).
        subscribe_sms: bool,
    }
    let subscribe = (order_number.is_none() && parcels.iter().any(|s| s.active)).then(|| {
        format!(
            "/t/{}/{}/subscribe",
            url_component(&visit.page.slug),
            url_component(parcels[0].tracking_number.as_str())
        )
    });
    let content = Content { order: order_view, parcels: views, returns: returns_url, subscribe, subscribe_sms: sms };
    let caching = if order_number.is_some() { Caching::Never } else { Caching::Public(60) };
    reply(StatusCode::OK, "parcels.html", &shell, &visit.page, catalog, content, Some(visit), caching)
}

/// A parcel's page as a shopper would see it under `page` (settings not yet saved, in a
/// designer's preview) in `language`: no subscription form, nothing that posts.
pub fn preview_parcel(
    page: &TrackingPage,
    shipment: &Shipment,
    language: Language,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Rendered, minijinja::Error> {
    let catalog = Catalog::of(language);
    let view = parcel(shipment, page, catalog, now, None, false);
    let shell = Shell::new(page, catalog, view.headline.clone(), Vec::new());
    let content = minijinja::context! {
        parcels => minijinja::Value::from(minijinja::value::Serde(vec![view])),
        subscribe_sms => false,
    };
    render("parcels.html", &shell, page, catalog, content)
}

#[cfg(test)]
mod tests;
