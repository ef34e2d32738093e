//! The notification designer: per trigger and language, the merchant's wording with a live
//! preview on a real shipment or a sample (subject, SMS, the email itself in a sandboxed
//! frame), saved, or set back to the built-in text.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, Fields, Visitor, failure, fields, message, notice_text, one, optional, page, see_other, value};
use crate::app::AppError;
use crate::app::notifications::{self as notifications, PreviewRequest, TestRecipient};
use crate::domain::{Action, Language, Trigger};
use crate::notify::{MessageTexts, VARIABLES};
use crate::ports::ListQuery;
use crate::web::url_component;

/// Shipments offered to preview with.
const PREVIEW_SHIPMENTS: usize = 20;

/// How the team names a trigger.
pub(super) fn trigger_label(trigger: Trigger) -> String {
    let name = trigger.as_str().replace('_', " ").replace("edd", "EDD");
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

pub(super) async fn overview(
    State(console): State<Console>,
    visitor: Visitor,
    query: Result<Query<EditQuery>, QueryRejection>,
) -> Response {
    let tenant = &visitor.member.tenant_id;
    let loaded = async {
        let page = crate::app::pages::page_settings(&console.deps, tenant).await?;
        let texts = notifications::merchant_texts(&console.deps, tenant).await?;
        let (rules, _) = crate::app::notification_rules::notification_rules(&console.deps, tenant).await?;
        Ok::<_, AppError>((page, texts, rules))
    };
    let (settings, texts, rules) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure(&error),
    };
    let languages: Vec<_> =
        settings.languages.iter().map(|l| minijinja::context! { code => l.code(), name => l.native_name() }).collect();
    let rows: Vec<_> = Trigger::ALL
        .iter()
        .map(|t| {
            let cells: Vec<_> = settings
                .languages
                .iter()
                .map(|l| {
                    minijinja::context! {
                        language => l.code(), language_name => l.native_name(), custom => texts.find(*t, *l).is_some(),
                    }
                })
                .collect();
            minijinja::context! { trigger => t.as_str(), label => trigger_label(*t), cells => cells }
        })
        .collect();
    let rules = super::notification_rules::rule_views(&rules, &settings.languages);
    let mut layout = visitor.layout("notifications");
    layout.notice = query.ok().and_then(|Query(q)| q.notice).as_deref().and_then(notice_text).map(str::to_owned);
    let triggers: Vec<_> =
        Trigger::ALL.iter().map(|t| minijinja::context! { code => t.as_str(), label => trigger_label(*t) }).collect();
    let content = minijinja::context! {
        languages => languages, rows => rows, rules => rules, triggers => triggers,
        new_rule => super::notification_rules::blank_rule(&settings.languages),
    };
    page(StatusCode::OK, "console/notifications.html", "Notifications", &layout, content)
}

/// The trigger and language of the path; `None` for others.
fn message_of(trigger: &str, language: &str) -> Option<(Trigger, Language)> {
    Some((Trigger::parse(trigger)?, Language::parse(language).ok()?))
}

/// A draft from form or query fields (empty ones keep the built-in text); `None` when every
/// field is empty.
fn draft(trigger: Trigger, language: Language, fields: &Fields) -> Option<MessageTexts> {
    let field = |name: &str| optional(fields, name);
    let texts = MessageTexts {
        trigger,
        language,
        subject: field("subject"),
        headline: field("headline"),
        body: field("body"),
        sms: field("sms"),
    };
    let written = texts.fields().next().is_some();
    written.then_some(texts)
}

/// The designer's page for `trigger` in `language`: `draft` in the form and the preview (the
/// saved wording when there is no draft), `problem` above it.
async fn designer(
    console: &Console,
    visitor: &Visitor,
    (trigger, language): (Trigger, Language),
    draft: Option<MessageTexts>,
    tracking_id: Option<String>,
    problem: Option<String>,
    notice: Option<&str>,
) -> Response {
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let saved = match notifications::merchant_texts(deps, tenant).await {
        Ok(texts) => texts.find(trigger, language).cloned(),
        Err(error) => return failure(&error),
    };
    let request = PreviewRequest { trigger, language: Some(language), tracking_id: tracking_id.clone() };
    // A draft that does not check is shown in the form, not previewed.
    let previewed = draft.as_ref().filter(|_| problem.is_none());
    let (message, _) = match notifications::preview_draft(deps, tenant, &request, previewed).await {
        Ok(made) => made,
        Err(error) => return failure(&error),
    };
    let recent = ListQuery { limit: PREVIEW_SHIPMENTS, ..ListQuery::default() };
    let shipments = match deps.shipments.list(tenant, &recent).await {
        Ok(listed) => listed.shipments,
        Err(error) => return failure(&error.into()),
    };
    let shipments: Vec<_> = shipments
        .iter()
        .map(|s| {
            let order = s.details.order_number.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
            minijinja::context! { id => s.id.as_str(), label => format!("{} {}{order}", s.slug, s.tracking_number.as_str()) }
        })
        .collect();
    let shown = draft.clone().or_else(|| saved.clone());
    let mut src = format!("/console/notifications/{}/{}/email.html?", trigger.as_str(), language.code());
    for (name, value) in [
        ("tracking_id", tracking_id.as_deref()),
        ("subject", previewed.and_then(|d| d.subject.as_deref())),
        ("headline", previewed.and_then(|d| d.headline.as_deref())),
        ("body", previewed.and_then(|d| d.body.as_deref())),
    ] {
        if let Some(value) = value {
            src.push_str(&format!("{name}={}&", url_component(value)));
        }
    }
    let segments = &message.sms_segments;
    let preview = minijinja::context! {
        subject => message.subject, text => message.text, sms => message.sms, html_src => src,
        sms_segments => format!("{} characters, {} SMS", segments.units, segments.segments),
    };
    let mut layout = visitor.layout("notifications");
    layout.problem = problem;
    layout.notice = notice.and_then(notice_text).map(str::to_owned);
    let status = if layout.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let title = format!("{}, {}", trigger_label(trigger), language.native_name());
    let content = minijinja::context! {
        trigger => trigger.as_str(), language => language.code(), draft => value(&shown), custom => saved.is_some(),
        draft_shown => previewed.is_some() && draft != saved, variables => VARIABLES, shipments => shipments,
        tracking_id => tracking_id, preview => preview,
    };
    page(status, "console/notification.html", &title, &layout, content)
}

fn no_such_message(visitor: &Visitor) -> Response {
    message(
        StatusCode::NOT_FOUND,
        &visitor.layout("notifications"),
        "No such message",
        "The trigger or language is not one Porchlight sends.",
        Some(("/console/notifications", "Back to notifications")),
    )
}

#[derive(Deserialize, Default)]
pub(super) struct EditQuery {
    tracking_id: Option<String>,
    notice: Option<String>,
}

pub(super) async fn edit(
    State(console): State<Console>,
    visitor: Visitor,
    Path((trigger, language)): Path<(String, String)>,
    query: Result<Query<EditQuery>, QueryRejection>,
) -> Response {
    let Some(which) = message_of(&trigger, &language) else { return no_such_message(&visitor) };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let tracking_id = query.tracking_id.filter(|t| !t.is_empty());
    designer(&console, &visitor, which, None, tracking_id, None, query.notice.as_deref()).await
}

pub(super) async fn change(
    State(console): State<Console>,
    visitor: Visitor,
    Path((trigger, language)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some((trigger, language)) = message_of(&trigger, &language) else { return no_such_message(&visitor) };
    let fields = fields(&body);
    let action = match one(&fields, "action") {
        "" => "preview",
        action => action,
    };
    let tracking_id = optional(&fields, "tracking_id");
    let draft = draft(trigger, language, &fields);
    let checked = draft.as_ref().map(MessageTexts::validate).transpose().err().map(|e| format!("{e}."));
    let deps = &console.deps;
    let tenant = &visitor.member.tenant_id;
    let back = format!("/console/notifications/{}/{}", trigger.as_str(), language.code());
    match action {
        "save" | "reset" => {
            if let Some(refused) = visitor.refused(Action::Configure) {
                return refused;
            }
        }
        _ => return designer(&console, &visitor, (trigger, language), draft, tracking_id, checked, None).await,
    }
    let done = if action == "reset" {
        notifications::delete_texts(deps, tenant, trigger, language).await.map(|_| "texts_reset")
    } else if let (Some(draft), None) = (draft.clone(), &checked) {
        notifications::save_texts(deps, tenant, draft).await.map(|_| "texts_saved")
    } else {
        let problem = checked.unwrap_or_else(|| "Write at least one field, or go back to the built-in text.".into());
        return designer(&console, &visitor, (trigger, language), draft, tracking_id, Some(problem), None).await;
    };
    match done {
        Ok(notice) => {
            visitor.audit(deps, &format!("notification_texts.{action}"), &back, "").await;
            see_other(&format!("{back}?notice={notice}"))
        }
        Err(AppError::Missing(_)) => see_other(&back),
        Err(AppError::Invalid(invalid)) => {
            let problem = Some(format!("{invalid}."));
            designer(&console, &visitor, (trigger, language), draft, tracking_id, problem, None).await
        }
        Err(error) => failure(&error),
    }
}

/// `POST /console/notifications/{trigger}/{language}/test`: sends the saved wording, about the
/// shipment previewed (or the sample), to the member's own email or to a phone number given.
pub(super) async fn test_send(
    State(console): State<Console>,
    visitor: Visitor,
    Path((trigger, language)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some((trigger, language)) = message_of(&trigger, &language) else { return no_such_message(&visitor) };
    if let Some(refused) = visitor.refused(Action::Configure) {
        return refused;
    }
    let fields = fields(&body);
    let tracking_id = optional(&fields, "tracking_id");
    let to = match one(&fields, "channel") {
        "sms" => TestRecipient::Sms(one(&fields, "phone").to_owned()),
        _ => TestRecipient::Email(visitor.member.email.clone()),
    };
    let deps = &console.deps;
    let sent = notifications::send_test(deps, &visitor.member.tenant_id, trigger, language, tracking_id.as_deref(), to);
    let back = format!("/console/notifications/{}/{}", trigger.as_str(), language.code());
    match sent.await {
        Ok(entry) => {
            visitor.audit(deps, "notification.test_sent", &entry.id, entry.channel.as_str()).await;
            let preview = tracking_id.map(|id| format!("&tracking_id={id}")).unwrap_or_default();
            see_other(&format!("{back}?notice=test_sent{preview}"))
        }
        Err(AppError::Invalid(invalid)) => {
            let problem = Some(format!("No test sent: {invalid}."));
            designer(&console, &visitor, (trigger, language), None, tracking_id, problem, None).await
        }
        Err(AppError::NotFound) => see_other(&back),
        Err(error) => failure(&error),
    }
}

/// The email itself, for the designer's frame: its own policy (the email's inline styles, no
/// script, framed only by the console) and the draft from the query.
pub(super) async fn email(
    State(console): State<Console>,
    visitor: Visitor,
    Path((trigger, language)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some((trigger, language)) = message_of(&trigger, &language) else { return no_such_message(&visitor) };
    let fields = fields(query.unwrap_or_default().as_bytes());
    let draft = draft(trigger, language, &fields).filter(|d| d.validate().is_ok());
    let tracking_id = optional(&fields, "tracking_id");
    let request = PreviewRequest { trigger, language: Some(language), tracking_id };
    let (message, _) =
        match notifications::preview_draft(&console.deps, &visitor.member.tenant_id, &request, draft.as_ref()).await {
            Ok(made) => made,
            Err(error) => return failure(&error),
        };
    let mut response = message.html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; sandbox",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
