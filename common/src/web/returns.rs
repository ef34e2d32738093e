//! The shoppers' returns portal under `/t/{slug}/returns`: the lookup form, an order's lines
//! (opened with the order's email or postal code, as the tracking page opens an order) with
//! what each allows and why not, the request (a multipart form with photos) and its
//! confirmation, and the photos themselves.
//!
//! No script: every choice is a plain form field, a refused request comes back with the
//! shopper's answers and the reasons beside the lines (photos must be chosen again). Lookups
//! and requests count against the client's lookup limit; a failed lookup looks the same
//! whether the order is unknown or the proof wrong. Photos are checked by their bytes (JPEG,
//! PNG, WebP), at most [`MAX_PHOTO_BYTES`] each and [`MAX_FORM_BYTES`] a request, and kept in
//! the blob store under an unguessable name; their paths (capabilities: whoever has one sees
//! that photo) go to the merchant with the return, made whole URLs where it is read.

mod view;

use axum::Router;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Caching, Client, Purpose, Shell, Visit, Web, failure, lookup_page, proof_of, reply, url_component, visit};
use crate::app::AppError;
use crate::app::pages;
use crate::app::returns::{self, ItemRequest, NewReturn};
use crate::domain::{ExchangeVariant, FiledBy, Order, Resolution, ReturnMethod};
use view::{Answers, LineAnswer};
pub use view::{items_line as return_items_line, next_step as return_next_step};

/// Largest photo taken.
pub const MAX_PHOTO_BYTES: usize = 3 << 20;
/// Largest request (the form with its photos): within what a Lambda function takes.
pub const MAX_FORM_BYTES: usize = 4 << 20;

/// The portal's routes.
pub(super) fn routes(router: Router<Web>) -> Router<Web> {
    router
        .route(
            "/t/{slug}/returns",
            get(portal).post(submit).layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/t/{slug}/returns/photos/{name}", get(photo))
}

#[derive(Deserialize, Default)]
struct PortalQuery {
    lang: Option<String>,
    order_number: Option<String>,
    email: Option<String>,
    postal_code: Option<String>,
}

/// The fields the language picker keeps.
fn kept(order_number: &str, email: &str, postal_code: &str) -> Vec<(String, String)> {
    [("order_number", order_number), ("email", email), ("postal_code", postal_code)]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Why the portal's lookup form is shown again: the heading and message keys of its notice.
type Notice = (&'static str, &'static str);

/// No order for that proof.
const NOT_FOUND: Notice = ("not_found_heading", "not_found_order");

/// The portal's lookup form, with the notice of a failed lookup or submission, if any.
fn lookup(visit: &Visit, status: StatusCode, notice: Option<Notice>, order_number: &str) -> Response {
    let catalog = visit.catalog(None);
    let shell = Shell::new(&visit.page, catalog, catalog.ui("returns_heading").to_owned(), kept(order_number, "", ""));
    let content = minijinja::context! {
        failed_heading => notice.map(|(heading, _)| catalog.ui(heading)),
        failed => notice.map(|(_, message)| catalog.ui(message)),
        order_number => order_number,
    };
    let caching = if notice.is_some() { Caching::Never } else { Caching::Public(300) };
    reply(status, "returns_lookup.html", &shell, &visit.page, catalog, content, Some(visit), caching)
}

/// The order the shopper's fields open, if any.
async fn find(
    web: &Web,
    visit: &Visit,
    order_number: &str,
    email: &str,
    postal: &str,
) -> Result<Option<Order>, Response> {
    let Some(proof) = proof_of(email, postal) else { return Ok(None) };
    pages::lookup_order_record(&web.deps, &visit.tenant, order_number, &proof).await.map_err(|e| failure(&e))
}

/// The order's lines with the form; `errors` beside their lines, `answers` kept.
async fn form_page(
    web: &Web,
    visit: &Visit,
    order: &Order,
    answers: &Answers,
    errors: Vec<view::Refused>,
    status: StatusCode,
    proof: (&str, &str),
) -> Response {
    let state = match returns::order_state(&web.deps, order).await {
        Ok(state) => state,
        Err(error) => return failure(&error),
    };
    let catalog = visit.catalog(order.customer.locale.as_deref());
    let content = view::form(catalog, &state.policy, order, &state.lines, answers, &errors, proof);
    let number = order.order_number.as_deref().unwrap_or_default();
    let shell = Shell::new(&visit.page, catalog, content.heading.clone(), kept(number, proof.0, proof.1));
    let action = format!("{}/returns", shell.home);
    let content = minijinja::context! {
        form => minijinja::Value::from(minijinja::value::Serde(&content)),
        action => action,
        max_photo_mb => MAX_PHOTO_BYTES >> 20,
    };
    reply(status, "returns_form.html", &shell, &visit.page, catalog, content, Some(visit), Caching::Never)
}

async fn portal(
    State(web): State<Web>,
    Path(slug): Path<String>,
    query: Result<Query<PortalQuery>, QueryRejection>,
    client: Client,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let order_number = query.order_number.as_deref().unwrap_or_default().trim().chars().take(200).collect::<String>();
    let purpose = if order_number.is_empty() { Purpose::Browse } else { Purpose::Lookup };
    let visit = match visit(&web, &slug, query.lang.as_deref(), client, purpose).await {
        Ok(visit) if visit.page.returns_enabled => visit,
        Ok(visit) => return lookup_page(&visit, StatusCode::NOT_FOUND, Some("not_found_order"), "", ""),
        Err(response) => return response,
    };
    if order_number.is_empty() {
        return lookup(&visit, StatusCode::OK, None, "");
    }
    let email = query.email.as_deref().unwrap_or_default().chars().take(254).collect::<String>();
    let postal = query.postal_code.as_deref().unwrap_or_default().chars().take(20).collect::<String>();
    match find(&web, &visit, &order_number, &email, &postal).await {
        Ok(Some(order)) => {
            form_page(&web, &visit, &order, &Answers::default(), Vec::new(), StatusCode::OK, (&email, &postal)).await
        }
        Ok(None) => lookup(&visit, StatusCode::NOT_FOUND, Some(NOT_FOUND), &order_number),
        Err(response) => response,
    }
}

/// A photo as the shopper sent it: its bytes and what they are.
struct Photo {
    line: usize,
    bytes: Vec<u8>,
    extension: &'static str,
    content_type: &'static str,
}

/// The submission's fields, its photos, and the first problem with a photo, if any.
#[derive(Default)]
struct Submission {
    fields: std::collections::HashMap<String, String>,
    photos: Vec<Photo>,
    photo_problem: Option<&'static str>,
}

/// Why a submission could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormError {
    /// Over the request's size limit.
    TooLarge,
    /// Not a well-formed multipart body (say, a part's name with control characters).
    Unreadable,
}

impl From<MultipartError> for FormError {
    fn from(error: MultipartError) -> Self {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE { Self::TooLarge } else { Self::Unreadable }
    }
}

/// Reads the multipart form: text fields (at most 2,000 characters each) and the photos of
/// each line, checked by their bytes.
async fn read_form(mut multipart: Multipart) -> Result<Submission, FormError> {
    let mut submission = Submission::default();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(line) = name.strip_prefix("photos_").and_then(|n| n.parse::<usize>().ok()) {
            let bytes = field.bytes().await?;
            if bytes.is_empty() {
                continue; // a file input left empty
            }
            if bytes.len() > MAX_PHOTO_BYTES {
                submission.photo_problem.get_or_insert("return_error_photo_size");
                continue;
            }
            let kind = infer::get(&bytes).map(|k| k.mime_type());
            let (extension, content_type) = match kind {
                Some("image/jpeg") => ("jpg", "image/jpeg"),
                Some("image/png") => ("png", "image/png"),
                Some("image/webp") => ("webp", "image/webp"),
                _ => {
                    submission.photo_problem.get_or_insert("return_error_photo_type");
                    continue;
                }
            };
            submission.photos.push(Photo { line, bytes: bytes.to_vec(), extension, content_type });
        } else {
            let text = field.text().await?;
            submission.fields.insert(name, text.chars().take(2000).collect());
        }
    }
    Ok(submission)
}

/// The answers of the form's lines and method.
fn answers_of(submission: &Submission, lines: usize) -> Answers {
    let field = |name: String| submission.fields.get(&name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let lines = (0..lines)
        .map(|i| {
            let answer = LineAnswer {
                quantity: field(format!("qty_{i}")).parse().unwrap_or(0),
                reason: field(format!("reason_{i}")),
                subreason: field(format!("subreason_{i}")),
                comment: field(format!("comment_{i}")),
                resolution: field(format!("resolution_{i}")),
                exchange: field(format!("exchange_{i}")),
            };
            (i, answer)
        })
        .collect();
    Answers { lines, method: field("method".into()) }
}

fn method_of(value: &str) -> Option<ReturnMethod> {
    [ReturnMethod::RetailerLabel, ReturnMethod::CustomerCourier, ReturnMethod::DropOff, ReturnMethod::GreenReturn]
        .into_iter()
        .find(|m| view::method_value(*m) == value)
}

fn resolution_of(value: &str) -> Resolution {
    match value {
        "store_credit" => Resolution::StoreCredit,
        "exchange" => Resolution::Exchange,
        _ => Resolution::Refund,
    }
}

async fn submit(State(web): State<Web>, Path(slug): Path<String>, client: Client, multipart: Multipart) -> Response {
    let submission = read_form(multipart).await;
    let lang = submission.as_ref().ok().and_then(|s| s.fields.get("lang").cloned());
    let visit = match visit(&web, &slug, lang.as_deref(), client, Purpose::Lookup).await {
        Ok(visit) if visit.page.returns_enabled => visit,
        Ok(visit) => return lookup_page(&visit, StatusCode::NOT_FOUND, Some("not_found_order"), "", ""),
        Err(response) => return response,
    };
    let submission = match submission {
        Ok(submission) => submission,
        Err(error) => {
            let (status, message) = match error {
                FormError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "return_error_too_large"),
                FormError::Unreadable => (StatusCode::BAD_REQUEST, "return_error_unreadable"),
            };
            return lookup(&visit, status, Some(("return_errors_heading", message)), "");
        }
    };
    let field = |name: &str| submission.fields.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (order_number, email, postal) = (field("order_number"), field("email"), field("postal_code"));
    let order = match find(&web, &visit, &order_number, &email, &postal).await {
        Ok(Some(order)) => order,
        Ok(None) => return lookup(&visit, StatusCode::NOT_FOUND, Some(NOT_FOUND), &order_number),
        Err(response) => return response,
    };
    let answers = answers_of(&submission, order.items.len());
    let catalog = visit.catalog(order.customer.locale.as_deref());
    let proof = (email.as_str(), postal.as_str());
    if let Some(problem) = submission.photo_problem {
        let errors = vec![(None, catalog.ui(problem).to_owned())];
        return form_page(&web, &visit, &order, &answers, errors, StatusCode::UNPROCESSABLE_ENTITY, proof).await;
    }
    // Photos are kept before the request is judged (its photo counts are part of it), and
    // removed again when it is refused.
    let mut kept_photos: Vec<(usize, String, String)> = Vec::new();
    for photo in &submission.photos {
        let name = format!("{}.{}", hex::encode(crate::secrets::random_bytes::<16>()), photo.extension);
        let key = format!("returns/{}/{name}", visit.tenant);
        if let Err(error) = web.deps.blobs.put_blob(&key, photo.content_type, photo.bytes.clone()).await {
            return failure(&AppError::from(error));
        }
        // A path: readers that know the public URL make it whole (see `return_view`).
        let url = format!("/t/{}/returns/photos/{name}", url_component(&visit.page.slug));
        kept_photos.push((photo.line, key, url));
    }
    let mut items = Vec::new();
    let mut positions = Vec::new();
    for (index, item) in order.items.iter().enumerate() {
        let Some(answer) = answers.lines.get(&index).filter(|a| a.quantity > 0) else { continue };
        let resolution = resolution_of(&answer.resolution);
        positions.push(index);
        items.push(ItemRequest {
            item: item.external_id.clone(),
            quantity: answer.quantity,
            reason: answer.reason.clone(),
            subreason: Some(answer.subreason.clone()).filter(|s| !s.is_empty()),
            comment: Some(answer.comment.clone()).filter(|c| !c.is_empty()),
            photos: kept_photos.iter().filter(|(line, _, _)| *line == index).map(|(_, _, url)| url.clone()).collect(),
            resolution,
            exchange_variant: (resolution == Resolution::Exchange && !answer.exchange.is_empty())
                .then(|| ExchangeVariant { title: answer.exchange.clone(), sku: None, unit_price: None }),
        });
    }
    let method = method_of(&answers.method).unwrap_or(ReturnMethod::CustomerCourier);
    let locale = Some(catalog.language.code().to_owned());
    let new = NewReturn { items, method, refund_destination: None, filed_by: FiledBy::Shopper, locale };
    match returns::create_return(&web.deps, &order, new).await {
        Ok(created) => {
            let content = minijinja::context! { done => minijinja::Value::from(minijinja::value::Serde(view::done(catalog, &created))) };
            let shell = Shell::new(&visit.page, catalog, catalog.ui("return_done_heading").to_owned(), Vec::new());
            reply(
                StatusCode::OK,
                "returns_done.html",
                &shell,
                &visit.page,
                catalog,
                content,
                Some(&visit),
                Caching::Never,
            )
        }
        Err(refused) => {
            for (_, key, _) in &kept_photos {
                if let Err(error) = web.deps.blobs.delete_blob(key).await {
                    tracing::warn!(error = %error, "photo of a refused return not removed");
                }
            }
            let policy = match returns::return_policy(&web.deps, &visit.tenant).await {
                Ok(policy) => policy,
                Err(error) => return failure(&error),
            };
            // The request's lines are the chosen ones: their paths point into `positions`.
            let moved = |(line, text): (Option<usize>, String)| (line.and_then(|l| positions.get(l).copied()), text);
            let errors: Vec<view::Refused> = match refused {
                AppError::ReturnRefused(violations) => violations
                    .iter()
                    .map(|v| moved(view::violation_text(catalog, &policy, &answers, &positions, v)))
                    .collect(),
                AppError::Invalid(invalid) if invalid.field.contains("exchange_variant") => {
                    let line = invalid.field.strip_prefix("return_items[").and_then(|r| r.split(']').next());
                    vec![moved((line.and_then(|n| n.parse().ok()), catalog.ui("return_error_exchange").to_owned()))]
                }
                AppError::Invalid(_) => vec![(None, catalog.ui("return_errors_heading").to_owned())],
                AppError::ReturnInProgress | AppError::Busy => vec![(None, catalog.ui("return_error_busy").to_owned())],
                other => return failure(&other),
            };
            form_page(&web, &visit, &order, &answers, errors, StatusCode::UNPROCESSABLE_ENTITY, proof).await
        }
    }
}

/// A shopper's photo, by the unguessable name it was given (for the merchant and its team).
async fn photo(State(web): State<Web>, Path((slug, name)): Path<(String, String)>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such photo").into_response();
    let Some((stem, extension)) = name.split_once('.') else { return not_found() };
    let content_type = match extension {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        _ => return not_found(),
    };
    if stem.len() != 32 || !stem.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return not_found();
    }
    let tenant = match pages::resolve_page(&web.deps, &slug).await {
        Ok(Some((tenant, _))) => tenant,
        Ok(None) => return not_found(),
        Err(error) => return failure(&error),
    };
    match web.deps.blobs.get_blob(&format!("returns/{tenant}/{name}")).await {
        Ok(Some(bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response
        }
        Ok(None) => not_found(),
        Err(error) => failure(&AppError::from(error)),
    }
}

#[cfg(test)]
mod tests;
