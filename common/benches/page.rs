//! Rendering the shopper's tracking page: a two-leg parcel with 30 checkpoints, the view built
//! and the template rendered, as `GET /t/{slug}/{tracking_number}` does after its lookup.
//!
//! Target (issue 9): at least 5,000 pages a second on one core, under 200 µs a page.
//! Run: `cargo bench -p porchlight --bench page`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use porchlight::domain::{
    CheckpointInput, CheckpointSource, CountryCode, EventTime, Language, Leg, LegSource, Money, Recommendation,
    Shipment, ShipmentDetails, Slug, Subtag, TenantId, TrackingNumber, TrackingPage,
};
use porchlight::web::{Catalog, Shell, parcel, render};

const CODES: [&str; 6] =
    ["InfoReceived_001", "InTransit_002", "InTransit_007", "InTransit_003", "InTransit_004", "InTransit_005"];

/// A parcel handed from YunExpress to USPS halfway, 30 events, the last a delivery.
fn shipment() -> Shipment {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("date");
    let (first, last) = (("yunexpress", "YT2412345678901234"), ("usps", "9400111899223344556677"));
    let mut shipment = Shipment::new(
        TenantId::parse("bench").expect("tenant"),
        Slug::parse(first.0).expect("slug"),
        TrackingNumber::parse(first.1).expect("number"),
        ShipmentDetails { title: Some("Ceramic pour-over set".into()), ..ShipmentDetails::default() },
        start,
    );
    shipment.last_mile = Some(Leg {
        slug: Slug::parse(last.0).expect("slug"),
        tracking_number: TrackingNumber::parse(last.1).expect("number"),
        source: LegSource::System,
    });
    let events = (0..30).map(|i| {
        let (slug, number) = if i < 15 { first } else { last };
        let code = if i == 29 { "Delivered_001" } else { CODES[i % CODES.len()] };
        let offset = if i < 15 { "+08:00" } else { "-06:00" };
        let at = (start + Duration::hours(i as i64 * 5)).naive_utc().format("%Y-%m-%dT%H:%M:%S");
        let mut input = CheckpointInput::new(
            Slug::parse(slug).expect("slug"),
            TrackingNumber::parse(number).expect("number"),
            EventTime::parse(&format!("{at}{offset}")).expect("time"),
            Subtag::parse(code).expect("subtag"),
            format!("Parcel processed at sorting centre {i} <b>"),
            CheckpointSource::Carrier,
        );
        input.location = Some("Shenzhen, Guangdong".into());
        input.country_region = Some(CountryCode::parse("CHN").expect("country"));
        input
    });
    shipment.merge(events, start + Duration::days(7));
    shipment
}

fn page() -> TrackingPage {
    let mut page = TrackingPage::default_for("Acme Goods", "acme-goods".into());
    page.support_email = Some("help@acme.example".into());
    page.recommendations = (0..3)
        .map(|i| Recommendation {
            title: format!("Product {i}"),
            image_url: Some(format!("https://cdn.acme.example/{i}.jpg")),
            price: Some(Money { amount: "24.00".into(), currency: "USD".into() }),
            url: format!("https://acme.example/p/{i}"),
        })
        .collect();
    page
}

fn rendering(c: &mut Criterion) {
    let shipment = shipment();
    assert_eq!(shipment.checkpoints.len(), 30);
    let page = page();
    let now = Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).single().expect("date");
    for language in [Language::En, Language::ZhCn] {
        let catalog = Catalog::of(language);
        c.bench_function(&format!("page/parcel_30_checkpoints_{}", language.code()), |b| {
            b.iter(|| {
                let view = parcel(&shipment, &page, catalog, now, None, false);
                let shell = Shell::new(&page, catalog, view.headline.clone(), Vec::new());
                #[derive(serde::Serialize)]
                struct Content {
                    parcels: [porchlight::web::ParcelView; 1],
                    returns: bool,
                }
                let content = Content { parcels: [view], returns: false };
                render("parcels.html", &shell, &page, catalog, content).expect("rendered").html.len()
            })
        });
    }
}

criterion_group!(benches, rendering);
criterion_main!(benches);
