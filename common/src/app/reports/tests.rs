use std::sync::Arc;

use chrono::TimeZone;

use super::*;
use crate::adapters::sqlite::SqliteStore;
use crate::app::analytics::count_feed;
use crate::app::create_tenant;
use crate::app::imports::import_all;
use crate::domain::imports::ImportTally;
use crate::testkit::ManualClock;

fn day(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date")
}

#[test]
fn ids_name_ranges_and_nothing_else() {
    let range = DayRange { from: day("2026-11-23"), to: day("2026-11-29") };
    assert_eq!(report_id(range), "2026-11-23_2026-11-29");
    assert_eq!(parse_report_id("2026-11-23_2026-11-29"), Some(range));
    for bad in ["2026-11-29_2026-11-23", "../x", "2026-11-23_2026-11-29/../y", "2026-1-23_2026-11-29", ""] {
        assert_eq!(parse_report_id(bad), None, "{bad}");
    }
    assert_eq!(last_week(day("2026-11-30")), DayRange { from: day("2026-11-23"), to: day("2026-11-29") });
    assert_eq!(last_week(day("2026-12-06")), DayRange { from: day("2026-11-23"), to: day("2026-11-29") });
}

#[tokio::test]
async fn a_report_holds_the_periods_numbers_and_charts_and_opens_by_its_link_until_it_expires() {
    let store = SqliteStore::in_memory().expect("store");
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("time");
    let clock = Arc::new(ManualClock::at(now));
    let deps = crate::testkit::deps(store.clone(), clock.clone());
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let spec = crate::demo::history::HistorySpec {
        shipments: 400,
        start: day("2026-03-01"),
        days: 30,
        seed: 4,
        lanes: crate::demo::history::default_lanes(),
    };
    let mut file = Vec::new();
    crate::demo::history::generate(&spec, now, |g| {
        file.extend_from_slice(g.line.as_bytes());
        file.push(b'\n');
    });
    let lines = crate::api::wire::history::history_lines(crate::domain::imports::HistoryFormat::JsonLines, &file);
    import_all(&deps, &tenant, lines, &mut ImportTally::default(), |_| {}).await.expect("imported");
    while count_feed(&deps, &store, 1_000).await.expect("counted") > 0 {}

    let range = DayRange { from: day("2026-03-01"), to: day("2026-03-31") };
    let report = run_report(&deps, &tenant, range).await.expect("report");
    assert_eq!(report.id, "2026-03-01_2026-03-31");
    let (content_type, html) = report_file(&deps, &tenant, &report.id, "report.html").await.expect("page");
    assert_eq!(content_type, "text/html; charset=utf-8");
    let html = String::from_utf8(html).expect("utf-8");
    assert_eq!(html.matches("<svg").count(), 5, "five charts");
    assert!(html.contains("<title>Shipments by lane</title>") && html.contains("yunexpress CHN→DEU"));
    assert!(html.contains("<strong>400</strong>"), "the overview's shipments");
    assert!(!html.contains("<script"));
    let (_, csv) = report_file(&deps, &tenant, &report.id, "carriers.csv").await.expect("csv");
    assert_eq!(String::from_utf8(csv).expect("utf-8").lines().count(), 8, "a header and seven lanes");
    for (id, name) in [(report.id.as_str(), "secrets.txt"), ("2026-04-01_2026-04-30", "report.html")] {
        assert!(matches!(report_file(&deps, &tenant, id, name).await, Err(AppError::Missing(_))), "{id}/{name}");
    }
    let other = create_tenant(&deps, "Other").await.expect("tenant").0.id;
    assert!(report_file(&deps, &other, &report.id, "report.html").await.is_err(), "another merchant's report");

    let token = link_token(&deps, &tenant, &report.id, now + chrono::Duration::days(LINK_DAYS));
    assert_eq!(open_link(&deps, &token, now), Some((tenant.clone(), report.id.clone())));
    assert_eq!(open_link(&deps, &token, now + chrono::Duration::days(LINK_DAYS + 1)), None, "expired");
    assert_eq!(open_link(&deps, &format!("{token}x"), now), None, "damaged");
}

#[test]
fn a_weeks_ledger_id_reads_back() {
    let range = DayRange { from: day("2026-11-23"), to: day("2026-11-29") };
    let id = ledger_id(range);
    assert_eq!(id.as_str(), "20261123202611290000000000000000");
    assert_eq!(range_of_ledger_id(&id), Some(range));
    let shipment = crate::domain::ShipmentId::parse("0b02015fc7fd4f3c8d5490cece4d124d").expect("id");
    assert_eq!(range_of_ledger_id(&shipment), None);
}

#[tokio::test]
async fn the_weekly_report_is_built_once_and_its_link_emailed_once_to_each_address() {
    use crate::app::notifications::dispatch_due;
    use crate::domain::ReportSettings;
    use crate::ports::{Clock, MessageLedger};

    let store = SqliteStore::in_memory().expect("store");
    // Monday 30 November 2026, 08:00 in Berlin.
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).single().expect("time")));
    let mut deps = crate::testkit::deps(store.clone(), clock.clone());
    deps.public_url = Some(Arc::from("https://track.example"));
    let tenant = create_tenant(&deps, "Acme").await.expect("tenant").0.id;
    let none = run_weekly(&deps, &store).await.expect("ran");
    assert_eq!(none, WeeklyRun::default(), "disabled until the merchant asks");

    let settings = ReportSettings {
        enabled: true,
        recipients: vec!["Ops@Example.com".into(), "ceo@example.com".into()],
        time_zone: Some("Europe/Berlin".into()),
    };
    set_report_settings(&deps, &tenant, settings).await.expect("saved");
    let first = run_weekly(&deps, &store).await.expect("ran");
    assert_eq!(first, WeeklyRun { merchants: 1, built: 1, planned: 2 });
    report_file(&deps, &tenant, "2026-11-23_2026-11-29", "report.html").await.expect("last week's report");
    assert_eq!(run_weekly(&deps, &store).await.expect("ran again"), WeeklyRun { merchants: 1, built: 0, planned: 0 });

    let outbox = std::env::temp_dir().join(format!("porchlight-reports-{}", uuid::Uuid::new_v4().simple()));
    let messenger = crate::adapters::outbox::OutboxMessenger::new(&outbox, "reports@example.com").expect("outbox");
    dispatch_due(&deps, &store, &messenger, 10).await.expect("sent");
    let mut emails: Vec<String> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    emails.sort();
    assert_eq!(emails.len(), 2, "one email to each address");
    // Quoted-printable: soft line breaks joined.
    let email = emails[0].replace("=\r\n", "").replace("=\n", "");
    assert!(email.contains("Your delivery report, 2026-11-23 to 2026-11-29"), "{email}");
    let link_at = email.find("https://track.example/reports/").expect("the link");
    let link: String = email[link_at..].chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
    let token = link.trim_start_matches("https://track.example/reports/").trim_end_matches("/report.html");
    assert_eq!(open_link(&deps, token, clock.now()), Some((tenant.clone(), "2026-11-23_2026-11-29".to_owned())));
    let week = ledger_id(parse_report_id("2026-11-23_2026-11-29").expect("id"));
    assert_eq!(store.shipment_messages(&tenant, &week).await.expect("ledger").len(), 2);
}
