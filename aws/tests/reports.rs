//! A merchant's reports on the AWS adapters, against the moto emulator: history imported into
//! DynamoDB and counted into the rollups as `status-fanout` counts the stream; the
//! `report-generator` handler builds a report on demand into S3 and, on its schedule, plans
//! the weekly report's email in the ledger; the sealed link opens the report through the
//! pages' router (`page-forms`).

use porchlight::app::analytics::DayRange;
use porchlight::app::reports;
use porchlight::domain::ReportSettings;
use porchlight::ports::{ChangeEvent, ChangeKind, ListQuery, MessageLedger, StatusSnapshot};
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::handlers;
use serde_json::json;

#[path = "../examples/support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_built_into_s3_planned_weekly_and_opened_by_their_link() {
    support::emulator().expect("AWS_ENDPOINT_URL must name a loopback moto server (scripts/test.sh starts one)");
    let public_url = [("PORCHLIGHT_PUBLIC_URL", "https://track.example")];
    let (runtime, config) = support::runtime_with_bucket("porchlight-reports", &public_url).await;
    let store = DynamoStore::from_env(&config.table_name).await;
    let tenant =
        support::add_merchant(&runtime, &support::sample("api.json").expect("sample")).await.expect("merchant");
    let deps = &runtime.deps;

    // 120 generated shipments of last March, imported and counted.
    let file = support::generated_history(120, 20, 8);
    let lines = porchlight::api::wire::history::history_lines(
        porchlight::domain::imports::HistoryFormat::JsonLines,
        file.as_bytes(),
    );
    let mut tally = porchlight::domain::imports::ImportTally::default();
    porchlight::app::imports::import_all(deps, &tenant, lines, &mut tally, |_| {}).await.expect("imported");
    assert_eq!(tally.imported, 120);
    let page = deps.shipments.list(&tenant, &ListQuery { limit: 200, ..ListQuery::default() }).await.expect("listed");
    let created = page.shipments.iter().map(|s| ChangeEvent {
        tenant_id: tenant.clone(),
        shipment_id: s.id.clone(),
        kind: ChangeKind::Created,
        at: chrono::Utc::now(),
        old: None,
        new: Some(StatusSnapshot::of(s)),
    });
    assert_eq!(porchlight::app::analytics::count_changes(deps, created).await.expect("counted"), 120);

    // On demand: March's report into S3.
    let asked = json!({"tenant_id": tenant.as_str(), "from": "2026-03-01", "to": "2026-03-31"});
    handlers::generate_reports(&runtime, asked).await.expect("built");
    let (_, html) = reports::report_file(deps, &tenant, "2026-03-01_2026-03-31", "report.html").await.expect("in S3");
    let html = String::from_utf8(html).expect("utf-8");
    assert!(html.contains("<svg") && html.contains("<strong>120</strong>"), "the month's 120 shipments");

    // The sealed link opens it through the pages' router.
    let link = reports::link_path(deps, &tenant, "2026-03-01_2026-03-31");
    let mut event = support::sample("tracking-page.json").expect("sample");
    event["routeKey"] = "GET /reports/{proxy+}".into();
    event["rawPath"] = link.clone().into();
    event["rawQueryString"] = "".into();
    event["queryStringParameters"] = json!({});
    event["requestContext"]["http"]["path"] = link.into();
    let (status, page) = support::call_text(porchlight_aws::tracking_page_router(deps.clone()), &event).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Shipments by lane"));

    // The schedule: last week's report and its email to the team, once.
    let settings = ReportSettings {
        enabled: true,
        recipients: vec!["ops@example.com".into()],
        time_zone: Some("Asia/Tokyo".into()),
    };
    reports::set_report_settings(deps, &tenant, settings.clone()).await.expect("settings");
    let scheduled = support::sample("report-generator.json").expect("sample");
    handlers::generate_reports(&runtime, scheduled.clone()).await.expect("ran");
    handlers::generate_reports(&runtime, scheduled).await.expect("ran again");
    let (from, to) = settings.due_week(chrono::Utc::now());
    let week = DayRange { from, to };
    reports::report_file(deps, &tenant, &reports::report_id(week), "report.html").await.expect("last week's report");
    let planned = store.shipment_messages(&tenant, &reports::ledger_id(week)).await.expect("ledger");
    assert_eq!(planned.len(), 1, "one email to the one address, however often the schedule runs");
    assert_eq!(planned[0].trigger, porchlight::domain::Trigger::ReportReady);
}
