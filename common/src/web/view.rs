//! What a page shows, computed before rendering: every text already in the shopper's
//! language, every date already written, so that templates only lay things out.

#![allow(missing_docs)] // view models: each field is what the templates read under that name
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::i18n::Catalog;
use crate::couriers;
use crate::domain::{Checkpoint, EventTime, Language, Shipment, Tag, TrackingPage};

/// The page around the content: brand, navigation, languages, help, recommendations.
#[derive(Serialize)]
pub struct Shell {
    pub lang: &'static str,
    pub title: String,
    pub brand_name: String,
    pub logo_url: Option<String>,
    pub home: String,
    pub links: Vec<LinkView>,
    pub languages: Vec<LanguageOption>,
    /// The query the language picker carries along (the lookup's fields).
    pub keep: Vec<(String, String)>,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub banner: Option<BannerView>,
    pub recommendations: Vec<ProductView>,
}

#[derive(Serialize)]
pub struct LinkView {
    pub label: String,
    pub url: String,
}

#[derive(Serialize)]
pub struct LanguageOption {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Serialize)]
pub struct BannerView {
    pub text: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
}

#[derive(Serialize)]
pub struct ProductView {
    pub title: String,
    pub image_url: Option<String>,
    pub price: Option<String>,
    pub url: String,
}

impl Shell {
    /// The shell of `page` in `catalog`'s language, titled `title`.
    pub fn new(page: &TrackingPage, catalog: &Catalog, title: String, keep: Vec<(String, String)>) -> Shell {
        let language = catalog.language;
        Shell {
            lang: language.code(),
            title,
            brand_name: page.brand_name.clone(),
            logo_url: page.logo_url.clone(),
            home: format!("/t/{}", page.slug),
            links: page.links.iter().map(|l| LinkView { label: l.label.clone(), url: l.url.clone() }).collect(),
            languages: if page.languages.len() > 1 {
                page.languages
                    .iter()
                    .map(|l| LanguageOption { code: l.code(), name: l.native_name(), selected: *l == language })
                    .collect()
            } else {
                Vec::new()
            },
            keep,
            support_email: page.support_email.clone(),
            support_url: page.support_url.clone(),
            banner: page.banner.as_ref().map(|b| BannerView {
                text: b.text.clone(),
                image_url: b.image_url.clone(),
                url: b.url.clone(),
            }),
            recommendations: page
                .recommendations
                .iter()
                .map(|r| ProductView {
                    title: r.title.clone(),
                    image_url: r.image_url.clone(),
                    price: r.price.as_ref().map(|p| catalog.money(p)),
                    url: r.url.clone(),
                })
                .collect(),
        }
    }
}

/// One parcel: status, progress, freshness, carriers and timeline.
#[derive(Serialize)]
pub struct ParcelView {
    pub heading: Option<String>,
    pub tracking_number: String,
    pub title: Option<String>,
    pub tone: &'static str,
    pub headline: String,
    pub substatus: String,
    pub advice: Option<String>,
    pub steps: Vec<StepView>,
    pub estimated_delivery: Option<String>,
    pub delivered_on: Option<String>,
    pub last_update: String,
    pub next_check: String,
    pub carriers: Vec<CarrierView>,
    pub events: Vec<EventView>,
}

#[derive(Serialize)]
pub struct StepView {
    pub label: String,
    /// `done`, `current` or `todo`.
    pub state: &'static str,
}

#[derive(Serialize)]
pub struct CarrierView {
    pub name: String,
    pub tracking_number: String,
    pub link: Option<String>,
}

#[derive(Serialize)]
pub struct EventView {
    /// The `datetime` attribute: the time as the carrier wrote it.
    pub datetime: String,
    pub when: String,
    pub status: String,
    pub message: String,
    pub location: Option<String>,
    pub carrier: Option<String>,
    pub tone: &'static str,
    /// Set on the first event of a last-mile leg.
    pub handover: Option<String>,
}

/// The order around its parcels, shown only to a shopper who proved the order is theirs.
#[derive(Serialize)]
pub struct OrderView {
    pub heading: String,
    pub parcels: String,
    pub ordered_on: Option<String>,
    pub shipping_to: Option<String>,
    pub items: Vec<String>,
}

/// The five steps of the progress bar.
const STEPS: [&str; 5] = ["ordered", "shipped", "in_transit", "out_for_delivery", "delivered"];

/// How far along the five steps a parcel is: 0 ordered, 1 shipped (the carrier has it), 2 in
/// transit (moved since), 3 out for delivery (or an attempt, or waiting at a pickup point),
/// 4 delivered. Exceptions and silence keep the furthest step reached.
fn step_reached(shipment: &Shipment) -> usize {
    let furthest = shipment
        .checkpoints
        .iter()
        .map(|c| match c.tag {
            Tag::Delivered => 4,
            Tag::OutForDelivery | Tag::AttemptFail | Tag::AvailableForPickup => 3,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let moving = shipment.checkpoints.iter().filter(|c| c.tag == Tag::InTransit).count();
    let by_status = match shipment.tag {
        Tag::Delivered => 4,
        Tag::OutForDelivery | Tag::AttemptFail | Tag::AvailableForPickup => 3,
        _ if moving > 1 => 2,
        _ if shipment.shipment_pickup_date.is_some() => 1,
        _ => 0,
    };
    by_status.max(if shipment.tag == Tag::Delivered { 4 } else { furthest.min(3) })
}

fn tone(tag: Tag) -> &'static str {
    match tag {
        Tag::Delivered => "good",
        Tag::Exception | Tag::AttemptFail | Tag::Expired => "bad",
        Tag::AvailableForPickup | Tag::OutForDelivery => "near",
        _ => "neutral",
    }
}

/// The wall-clock time an event happened at, where it happened: the carrier's own offset
/// kept, a time without one shown as written.
fn local_time(time: &EventTime) -> Option<NaiveDateTime> {
    let raw = time.as_str();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(raw) {
        return Some(with_offset.naive_local());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
}

fn written_time(catalog: &Catalog, time: &EventTime) -> String {
    match local_time(time) {
        Some(local) => catalog.date_time(local),
        None => catalog.date(time.instant().date_naive()),
    }
}

/// A carrier's display name, or the merchant's under carrier masking.
fn carrier_name(slug: &str, page: &TrackingPage) -> String {
    if page.hide_carrier {
        return page.brand_name.clone();
    }
    couriers::find(slug).map_or_else(|| slug.to_owned(), |c| c.name.to_owned())
}

/// `message` with every name of the shipment's carriers replaced by the merchant's.
fn masked(message: &str, shipment: &Shipment, page: &TrackingPage) -> String {
    if !page.hide_carrier {
        return message.to_owned();
    }
    let mut names: Vec<&str> = std::iter::once(shipment.slug.as_str())
        .chain(shipment.last_mile.as_ref().map(|l| l.slug.as_str()))
        .filter_map(couriers::find)
        .flat_map(|c| [c.name].into_iter().chain(c.name.split_whitespace().next()))
        .filter(|name| name.len() >= 3)
        .collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    let mut out = message.to_owned();
    for name in names {
        out = replace_ignoring_case(&out, name, &page.brand_name);
    }
    out
}

fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_lowercase();
    let needle = needle.to_lowercase();
    if lower.len() != text.len() || needle.is_empty() {
        // Lower-casing changed byte offsets: compare exactly instead.
        return text.replace(&needle, with);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&text[rest..at]);
        out.push_str(with);
        rest = at + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

/// A parcel's view in `catalog`'s language as of `now`. `heading` numbers it within an
/// order; `with_title` shows the merchant's title (an order detail, hidden on a lookup by
/// number).
pub fn parcel(
    shipment: &Shipment,
    page: &TrackingPage,
    catalog: &Catalog,
    now: DateTime<Utc>,
    heading: Option<String>,
    with_title: bool,
) -> ParcelView {
    let reached = step_reached(shipment);
    let delivered = shipment.tag == Tag::Delivered;
    let steps = STEPS
        .iter()
        .enumerate()
        .map(|(i, key)| StepView {
            label: catalog.step(key).to_owned(),
            state: match i.cmp(&reached) {
                std::cmp::Ordering::Less => "done",
                std::cmp::Ordering::Equal => "current",
                std::cmp::Ordering::Greater => "todo",
            },
        })
        .collect();
    let legs = std::iter::once((&shipment.slug, &shipment.tracking_number))
        .chain(shipment.last_mile.as_ref().map(|l| (&l.slug, &l.tracking_number)));
    let carriers = legs
        .map(|(slug, number)| CarrierView {
            name: carrier_name(slug.as_str(), page),
            tracking_number: number.as_str().to_owned(),
            link: if page.hide_carrier { None } else { couriers::tracking_link(slug.as_str(), number) },
        })
        .collect();
    let last_mile_start = shipment.last_mile.as_ref().and_then(|leg| {
        shipment
            .checkpoints
            .iter()
            .position(|c| c.slug == leg.slug && c.tracking_number.compact() == leg.tracking_number.compact())
    });
    // Under carrier masking one merchant name stands for both carriers: no per-event carrier,
    // no handover between them.
    let two_legs = shipment.last_mile.is_some() && !page.hide_carrier;
    let events = shipment
        .checkpoints
        .iter()
        .enumerate()
        .rev()
        .map(|(i, c)| {
            let handover = (two_legs && Some(i) == last_mile_start).then_some(());
            event(c, shipment, page, catalog, two_legs, handover)
        })
        .collect();
    let latest = shipment.checkpoints.last();
    ParcelView {
        heading,
        tracking_number: shipment.tracking_number.as_str().to_owned(),
        title: shipment.details.title.clone().filter(|_| with_title),
        tone: tone(shipment.tag),
        headline: catalog.status(shipment.tag).to_owned(),
        substatus: catalog.subtag(shipment.subtag.code()).to_owned(),
        advice: catalog.advice(shipment.tag).map(str::to_owned),
        steps,
        estimated_delivery: estimated_delivery(shipment, catalog).filter(|_| !delivered),
        delivered_on: shipment.shipment_delivery_date.as_ref().map(|d| written_time(catalog, d)),
        last_update: latest.map_or_else(
            || catalog.ui("no_update_yet").to_owned(),
            |c| catalog.relative(c.checkpoint_time.instant().min(now), now),
        ),
        next_check: match shipment.next_poll(now) {
            Some(at) => catalog.relative(at, now),
            None if !shipment.active => catalog.ui("checking_ended").to_owned(),
            None => catalog.ui("updates_pushed").to_owned(),
        },
        carriers,
        events,
    }
}

fn event(
    c: &Checkpoint,
    shipment: &Shipment,
    page: &TrackingPage,
    catalog: &Catalog,
    two_legs: bool,
    handover: Option<()>,
) -> EventView {
    let location = c.location.clone().or_else(|| {
        let parts: Vec<&str> = [c.city.as_deref(), c.state.as_deref(), c.country_region.as_ref().map(|c| c.as_str())]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    });
    let carrier = two_legs.then(|| carrier_name(c.slug.as_str(), page));
    EventView {
        datetime: c.checkpoint_time.as_str().to_owned(),
        when: written_time(catalog, &c.checkpoint_time),
        status: catalog.subtag(c.subtag.code()).to_owned(),
        message: masked(&c.message, shipment, page),
        location,
        handover: handover.map(|()| {
            let name = carrier_name(c.slug.as_str(), page);
            catalog.ui_with("handover", &[("carrier", &name), ("number", c.tracking_number.as_str())])
        }),
        carrier,
        tone: tone(c.tag),
    }
}

/// The delivery date to show: the one promised at checkout (a single date or a range), else
/// the latest estimate as AfterShip advises by its confidence code: the single date when it is
/// reliable (10000, 10001), the range when only the range is (20001, 30001, 30003), nothing
/// when the estimate rests on too little history or a vague address (30002, 30004).
fn estimated_delivery(shipment: &Shipment, catalog: &Catalog) -> Option<String> {
    let range = |min: String, max: String| if min == max { min } else { format!("{min} – {max}") };
    if let Some(promised) = shipment.details.order_promised_delivery_date.as_ref() {
        let date = |text: &Option<String>| {
            text.as_deref().and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()).map(|d| catalog.date(d))
        };
        return match (
            date(&promised.promised_delivery_date),
            date(&promised.promised_delivery_date_min),
            date(&promised.promised_delivery_date_max),
        ) {
            (Some(exact), _, _) => Some(exact),
            (None, Some(min), Some(max)) => Some(range(min, max)),
            (None, Some(one), _) | (None, None, Some(one)) => Some(one),
            _ => None,
        };
    }
    let latest = &shipment.edd.as_ref()?.latest;
    match latest.confidence_code {
        Some(10000 | 10001) => Some(catalog.date(latest.date)),
        Some(30002 | 30004) => None,
        _ => Some(range(catalog.date(latest.earliest), catalog.date(latest.latest))),
    }
}

/// The order's details from its parcels (the newest first).
pub fn order(order_number: &str, parcels: &[Shipment], catalog: &Catalog) -> OrderView {
    let newest = parcels.first();
    let details = newest.map(|s| &s.details);
    let shipping_to = details.and_then(|d| {
        let parts: Vec<&str> = [
            d.destination_city.as_deref(),
            d.destination_state.as_deref(),
            d.destination_postal_code.as_deref(),
            d.destination_country_region.as_ref().map(|c| c.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    });
    let ordered_on = details
        .and_then(|d| d.order_date.as_deref())
        .and_then(|d| d.get(..10))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(|d| catalog.date(d));
    let mut items: Vec<String> = parcels.iter().filter_map(|s| s.details.title.clone()).collect();
    items.dedup();
    OrderView {
        heading: catalog.ui_with("order_heading", &[("order", order_number)]),
        parcels: catalog.count("parcels", parcels.len() as u64),
        ordered_on,
        shipping_to,
        items,
    }
}

/// The language a shopper sees, in AfterShip's order: `?lang=`, then the shopper's earlier
/// pick (`remembered`), then the tracking's own language, then `Accept-Language`, then the
/// merchant's default; each only if the page offers it.
pub fn choose_language(
    page: &TrackingPage,
    query: Option<&str>,
    remembered: Option<&str>,
    tracking: Option<&str>,
    accept_language: Option<&str>,
) -> Language {
    let offered = |language: Language| page.languages.contains(&language).then_some(language);
    let exact = |tag: Option<&str>| tag.and_then(|t| Language::parse(t).ok()).and_then(offered);
    exact(query)
        .or_else(|| exact(remembered))
        .or_else(|| tracking.and_then(Language::matching).and_then(offered))
        .or_else(|| accept_language.and_then(|h| Language::from_accept_language(h).into_iter().find_map(offered)))
        .unwrap_or(page.default_language)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::edd::{DeliveryEstimate, EddSource, ShipmentEdd};
    use crate::domain::{Language, PromisedDeliveryDate, ShipmentDetails, Slug, TenantId, TrackingNumber};

    fn estimated(code: u32) -> Shipment {
        let mut shipment = Shipment::new(
            TenantId::parse("acme").expect("tenant"),
            Slug::parse("ups").expect("slug"),
            TrackingNumber::parse("1Z999AA10123456784").expect("number"),
            ShipmentDetails::default(),
            Utc::now(),
        );
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("date");
        let estimate = DeliveryEstimate {
            source: EddSource::Predicted,
            date: day(3),
            earliest: day(2),
            latest: day(5),
            confidence_code: Some(code),
            lane_p90: None,
        };
        shipment.edd = Some(ShipmentEdd::starting(estimate));
        shipment
    }

    #[test]
    fn the_page_shows_the_promise_else_the_estimate_as_far_as_its_confidence_goes() {
        let catalog = Catalog::of(Language::En);
        let day = |d: u32| catalog.date(NaiveDate::from_ymd_opt(2026, 12, d).expect("date"));
        assert_eq!(estimated_delivery(&estimated(10001), catalog), Some(day(3)));
        assert_eq!(estimated_delivery(&estimated(20001), catalog), Some(format!("{} – {}", day(2), day(5))));
        assert_eq!(estimated_delivery(&estimated(30002), catalog), None, "too little history to show");
        let mut promised = estimated(10001);
        promised.details.order_promised_delivery_date =
            Some(PromisedDeliveryDate { promised_delivery_date: Some("2026-12-07".into()), ..Default::default() });
        assert_eq!(estimated_delivery(&promised, catalog), Some(day(7)), "the merchant's promise comes first");
    }
}
