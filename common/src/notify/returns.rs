//! The shopper's emails about a return: asked for (the confirmation with the RMA number),
//! approved (what to do next), rejected (why), in the shopper's language and the merchant's
//! branded layout.

use minijinja::context;

use super::Message;
use crate::domain::{Language, Return, TrackingPage, Trigger};
use crate::web::{Catalog, Palette};

/// Writes `trigger`'s email about `ret` in `language`, linking the returns portal at
/// `portal_url`.
pub fn compose_return_email(
    trigger: Trigger,
    ret: &Return,
    page: &TrackingPage,
    portal_url: &str,
    language: Language,
) -> Result<Message, minijinja::Error> {
    let catalog = Catalog::of(language);
    let kind = match trigger {
        Trigger::ReturnApproved => "approved",
        Trigger::ReturnRejected => "rejected",
        _ => "submitted",
    };
    let rma = ret.rma_number.as_str();
    let items = crate::web::return_items_line(catalog, ret).join(", ");
    let next = crate::web::return_next_step(catalog, ret.method);
    let reason = ret.reject_reason.clone().unwrap_or_default();
    let values = [("rma", rma), ("items", items.as_str()), ("next", next.as_str()), ("reason", reason.as_str())];
    let subject = catalog.ui_with(&format!("return_email_{kind}_subject"), &values);
    let body = catalog.ui_with(&format!("return_email_{kind}_body"), &values);
    let order = ret.order_number.as_deref().unwrap_or(&ret.order_external_id);
    let palette = Palette::of(page);
    let context = context! {
        lang => language.code(),
        subject => &subject,
        brand => &page.brand_name,
        logo_url => &page.logo_url,
        primary => &palette.primary,
        on_primary => palette.on_primary,
        greeting => catalog.notify("greeting_anonymous"),
        headline => catalog.ui_with(&format!("return_email_{kind}_headline"), &values),
        body => body.trim(),
        order_label => catalog.notify("order_label").replace("{order}", order),
        title => None::<&str>,
        carrier_label => catalog.ui("return_rma_label"),
        carrier => rma,
        tracking_number => &items,
        latest_label => catalog.ui("return_refund_estimate"),
        latest => catalog.money(&ret.refund_estimate),
        track_button => catalog.ui("return_email_button"),
        tracking_url => portal_url,
        why => catalog.ui("return_email_why").replace("{brand}", &page.brand_name),
        unsubscribe => "",
        unsubscribe_url => None::<&str>,
    };
    super::email_only(language, subject, context)
}
