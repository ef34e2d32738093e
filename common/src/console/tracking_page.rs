//! The tracking page designer: the merchant's brand, colours (with contrast warnings), logo,
//! links, banner, recommendations and languages, previewed as a shopper sees a parcel (a real
//! one of the merchant's, or a sample) before they are saved.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Console, Fields, Visitor, failure, fields, notice_text, one, optional, page, see_other};
use crate::app::AppError;
use crate::app::pages::{self, PageUpdate};
use crate::domain::{Action, Banner, Language, Money, NavLink, Recommendation, TrackingPage};
use crate::ports::ListQuery;
use crate::web::{Palette, url_component};

/// Lines of `a | b | c`, each split and trimmed; blank lines skipped.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('|').map(|part| part.trim().to_owned()).collect())
        .collect()
}

/// The settings change a designer form asks for (checked when applied).
fn update_of(fields: &Fields) -> Result<PageUpdate, AppError> {
    let invalid = |field: &str, why: &str| AppError::from(crate::domain::DomainError::invalid(field, why));
    let links = rows(one(fields, "links"))
        .into_iter()
        .map(|row| match row.as_slice() {
            [label, url] => Ok(NavLink { label: label.clone(), url: url.clone() }),
            _ => Err(invalid("links", "each line is a label, a bar and an https address")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let recommendations = rows(one(fields, "recommendations"))
        .into_iter()
        .map(|row| {
            let cell = |i: usize| row.get(i).cloned().filter(|v| !v.is_empty());
            let (Some(title), Some(url)) = (cell(0), cell(1)) else {
                return Err(invalid("recommendations", "each line starts with a title and an https address"));
            };
            let price = match cell(3) {
                Some(price) => {
                    let (amount, currency) = price.split_once(' ').ok_or_else(|| {
                        invalid("recommendations", "a price is an amount and a currency, e.g. 24.00 USD")
                    })?;
                    Some(Money { amount: amount.to_owned(), currency: currency.trim().to_uppercase() })
                }
                None => None,
            };
            Ok(Recommendation { title, url, image_url: cell(2), price })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let banner =
        match (optional(fields, "banner_text"), optional(fields, "banner_url"), optional(fields, "banner_image")) {
            (None, None, None) => None,
            (text, url, image_url) => Some(Banner { text, url, image_url }),
        };
    let mut languages = Vec::new();
    for code in fields.get("languages").into_iter().flatten() {
        languages.push(Language::parse(code).map_err(|_| invalid("languages", "must be languages Porchlight writes"))?);
    }
    let default_language = Language::parse(one(fields, "default_language"))
        .map_err(|_| invalid("default_language", "choose a language"))?;
    Ok(PageUpdate {
        slug: Some(one(fields, "slug").to_owned()),
        brand_name: Some(one(fields, "brand_name").to_owned()),
        logo_url: Some(optional(fields, "logo_url")),
        primary_color: Some(one(fields, "primary_color").to_owned()),
        accent_color: Some(one(fields, "accent_color").to_owned()),
        default_language: Some(default_language),
        languages: Some(languages),
        links: Some(links),
        support_email: Some(optional(fields, "support_email")),
        support_url: Some(optional(fields, "support_url")),
        banner: Some(banner),
        recommendations: Some(recommendations),
        hide_carrier: Some(one(fields, "hide_carrier") == "yes"),
        returns_enabled: Some(one(fields, "returns_enabled") == "yes"),
        ..PageUpdate::default()
    })
}

/// The form's fields for `page`.
fn form_of(page: &TrackingPage) -> Fields {
    let mut fields = Fields::new();
    let mut put = |name: &str, value: String| {
        fields.insert(name.to_owned(), vec![value]);
    };
    put("brand_name", page.brand_name.clone());
    put("slug", page.slug.clone());
    put("logo_url", page.logo_url.clone().unwrap_or_default());
    put("primary_color", page.primary_color.clone());
    put("accent_color", page.accent_color.clone());
    put("links", page.links.iter().map(|l| format!("{} | {}", l.label, l.url)).collect::<Vec<_>>().join("\n"));
    put("support_email", page.support_email.clone().unwrap_or_default());
    put("support_url", page.support_url.clone().unwrap_or_default());
    let banner = page.banner.clone().unwrap_or(Banner { text: None, url: None, image_url: None });
    put("banner_text", banner.text.unwrap_or_default());
    put("banner_url", banner.url.unwrap_or_default());
    put("banner_image", banner.image_url.unwrap_or_default());
    let recommendations = page.recommendations.iter().map(|r| {
        let price = r.price.as_ref().map(|p| format!("{} {}", p.amount, p.currency)).unwrap_or_default();
        format!("{} | {} | {} | {price}", r.title, r.url, r.image_url.clone().unwrap_or_default())
            .trim_end_matches([' ', '|'])
            .to_owned()
    });
    put("recommendations", recommendations.collect::<Vec<_>>().join("\n"));
    put("default_language", page.default_language.code().to_owned());
    put("hide_carrier", if page.hide_carrier { "yes" } else { "" }.to_owned());
    put("returns_enabled", if page.returns_enabled { "yes" } else { "" }.to_owned());
    fields.insert("languages".into(), page.languages.iter().map(|l| l.code().to_owned()).collect());
    fields
}

/// Sentences on the colours' contrast the shoppers get.
fn warnings(page: &TrackingPage) -> Vec<String> {
    let palette = Palette::of(page);
    let mut warnings = Vec::new();
    if palette.accent != page.accent_color {
        warnings.push(format!(
            "The link colour {} is too light to read on white (WCAG asks 4.5:1): shoppers see the darker {} instead.",
            page.accent_color, palette.accent
        ));
    }
    let on = if palette.on_primary == "#ffffff" { "white" } else { "black" };
    let text = crate::web::rgb(palette.on_primary);
    let ratio = crate::web::contrast(crate::web::rgb(&page.primary_color), text);
    if ratio < 7.0 {
        warnings.push(format!(
            "Text on the main colour {} is drawn in {on} at {ratio:.1}:1: readable (at least 4.5:1), though not as \
             easily as 7:1.",
            page.primary_color
        ));
    }
    warnings
}

/// The preview frame's address for the form's fields.
fn preview_src(fields: &Fields) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, values) in fields {
        if name != "csrf" && name != "action" {
            for value in values {
                query.append_pair(name, value);
            }
        }
    }
    format!("/console/tracking-page/preview.html?{}", query.finish())
}

/// The designer with `fields` in the form (a draft when `draft`), `problem` above it.
async fn designer(
    console: &Console,
    visitor: &Visitor,
    fields: Fields,
    draft: bool,
    problem: Option<String>,
    notice: Option<&str>,
) -> Response {
    let tenant = &visitor.member.tenant_id;
    let current = match pages::page_settings(&console.deps, tenant).await {
        Ok(page) => page,
        Err(error) => return failure(&error),
    };
    let shown = match update_of(&fields) {
        Ok(update) => pages::draft_page_settings(&console.deps, tenant, update).await.ok(),
        Err(_) => None,
    };
    let checked = shown.as_ref().unwrap_or(&current);
    let offered: Vec<&str> = fields.get("languages").into_iter().flatten().map(String::as_str).collect();
    let languages: Vec<_> = Language::ALL
        .iter()
        .map(|l| {
            minijinja::context! {
                code => l.code(), name => l.native_name(), on => offered.contains(&l.code()),
                default => one(&fields, "default_language") == l.code(),
            }
        })
        .collect();
    let flat: BTreeMap<String, String> =
        fields.iter().map(|(k, v)| (k.clone(), v.first().cloned().unwrap_or_default())).collect();
    let preview_language = Some(one(&fields, "preview_language"))
        .filter(|l| !l.is_empty())
        .unwrap_or(one(&fields, "default_language"))
        .to_owned();
    let address = pages::page_address(&console.deps, tenant).await.ok().flatten();
    let page_url = address.unwrap_or_else(|| format!("/t/{}", url_component(&current.slug)));
    let mut layout = visitor.layout("tracking_page");
    layout.problem = problem;
    layout.notice = notice.and_then(notice_text).map(str::to_owned);
    let status = if layout.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let content = minijinja::context! {
        f => flat, languages => languages, warnings => warnings(checked), draft => draft,
        preview_src => preview_src(&fields), preview_language => preview_language, page_url => page_url,
    };
    page(status, "console/tracking_page.html", "Tracking page", &layout, content)
}

#[derive(serde::Deserialize, Default)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn edit(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Response {
    let current = match pages::page_settings(&console.deps, &visitor.member.tenant_id).await {
        Ok(page) => page,
        Err(error) => return failure(&error),
    };
    let notice = query.ok().and_then(|Query(q)| q.notice);
    designer(&console, &visitor, form_of(&current), false, None, notice.as_deref()).await
}

pub(super) async fn change(State(console): State<Console>, visitor: Visitor, body: Bytes) -> Response {
    let fields = fields(&body);
    let tenant = &visitor.member.tenant_id;
    let saving = one(&fields, "action") == "save";
    if saving && let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let update = match update_of(&fields) {
        Ok(update) => update,
        Err(error) => return designer(&console, &visitor, fields, true, Some(format!("{error}.")), None).await,
    };
    if !saving {
        let checked = pages::draft_page_settings(&console.deps, tenant, update).await.err().map(|e| format!("{e}."));
        return designer(&console, &visitor, fields, true, checked, None).await;
    }
    match pages::update_page_settings(&console.deps, tenant, update).await {
        Ok(_) => {
            visitor.audit(&console.deps, "tracking_page.changed", "tracking_page", "").await;
            see_other("/console/tracking-page?notice=page_saved")
        }
        Err(error @ AppError::Invalid(_)) => {
            designer(&console, &visitor, fields, true, Some(format!("{error}.")), None).await
        }
        Err(error) => failure(&error),
    }
}

/// The preview frame: a parcel (the merchant's newest, or a sample) on the page the query's
/// settings make, with the page's own policy, framed only by the console.
pub(super) async fn preview(
    State(console): State<Console>,
    visitor: Visitor,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let fields = fields(query.unwrap_or_default().as_bytes());
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let draft = match update_of(&fields) {
        Ok(update) => pages::draft_page_settings(deps, tenant, update).await,
        Err(error) => Err(error),
    };
    let settings = match draft {
        Ok(page) => page,
        Err(AppError::Invalid(_)) => match pages::page_settings(deps, tenant).await {
            Ok(page) => (*page).clone(),
            Err(error) => return failure(&error),
        },
        Err(error) => return failure(&error),
    };
    let newest = deps.shipments.list(tenant, &ListQuery { limit: 1, ..ListQuery::default() }).await;
    let shipment = match newest.map(|page| page.shipments.into_iter().next()) {
        Ok(Some(shipment)) => shipment,
        Ok(None) => match crate::app::notifications::sample_shipment(tenant, deps.clock.now()) {
            Ok(sample) => sample,
            Err(error) => return failure(&error),
        },
        Err(error) => return failure(&error.into()),
    };
    let language = Language::parse(one(&fields, "preview_language")).unwrap_or(settings.default_language);
    let rendered = match crate::web::preview_parcel(&settings, &shipment, language, deps.clock.now()) {
        Ok(rendered) => rendered,
        Err(error) => return failure(&AppError::Internal(format!("preview: {error}"))),
    };
    let mut response = rendered.html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    let csp = rendered.csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'") + "; sandbox";
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
