//! History from the command line: generated, imported, read back as analytics.

mod support;

use support::{new_tenant, porchlight, stdout, temp_db};

/// A generated history imports from the command line (twice: nothing doubles), and the
/// numbers read back per lane; the recount from scratch gives the same numbers.
#[test]
fn a_generated_history_imports_and_reads_back_as_carrier_scorecards() {
    let db = temp_db();
    let tenant = new_tenant(&db, "History shop");
    let file = db.with_file_name("history.ndjson");
    let file_arg = file.to_str().expect("a UTF-8 path");
    let generated = porchlight(&db, &["generate", "history", "--shipments", "400", "--days", "30", "--out", file_arg]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let truth: serde_json::Value = serde_json::from_slice(&generated.stderr).expect("the lanes' truth on stderr");
    assert_eq!(truth.as_array().map(Vec::len), Some(7));

    for round in 0..2 {
        let imported = porchlight(&db, &["import", "trackings", file_arg, "--tenant", &tenant]);
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
        let tally: serde_json::Value = serde_json::from_str(&stdout(&imported)).expect("the tally");
        let expected = if round == 0 { ("created", 400) } else { ("unchanged", 400) };
        assert_eq!(tally[expected.0], expected.1, "{tally}");
        assert_eq!(tally["failed"], 0);
    }
    let recounted = porchlight(&db, &["analytics", "rebuild"]);
    assert_eq!(stdout(&recounted).trim(), "counted 400 shipments");
    let card = porchlight(&db, &["analytics", "carriers", &tenant, "--from", "2000-01-01", "--to", "2003-01-01"]);
    assert!(!card.status.success(), "a range over two years is refused");
    let today = chrono::Utc::now().date_naive();
    let from = (today - chrono::Days::new(200)).to_string();
    let card = porchlight(&db, &["analytics", "carriers", &tenant, "--from", &from]);
    let card: serde_json::Value = serde_json::from_str(&stdout(&card)).expect("json");
    let lanes = card["lanes"].as_array().expect("lanes");
    assert_eq!(lanes.iter().map(|l| l["shipments"].as_i64().unwrap_or(0)).sum::<i64>(), 400);

    let missing = porchlight(&db, &["import", "trackings", "nowhere.txt", "--tenant", &tenant]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--format"), "an unknown extension asks for --format");

    // Exported as CSV, the trackings import into another merchant as they were.
    let csv = db.with_file_name("export.csv");
    let csv_arg = csv.to_str().expect("a UTF-8 path");
    let exported = porchlight(&db, &["export", "trackings", "--tenant", &tenant, "--out", csv_arg]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&exported)).expect("json");
    assert_eq!(summary["exported"], 400);
    let text = std::fs::read_to_string(&csv).expect("the file");
    assert!(text.starts_with("tracking_number,slug,title,order_id,order_number,"), "{}", &text[..200]);
    assert_eq!(text.lines().count(), 401, "a header and a row per tracking");
    let other = new_tenant(&db, "Second shop");
    let imported = porchlight(&db, &["import", "trackings", csv_arg, "--tenant", &other]);
    let tally: serde_json::Value = serde_json::from_str(&stdout(&imported)).expect("the tally");
    assert_eq!((tally["created"].as_i64(), tally["failed"].as_i64()), (Some(400), Some(0)), "{tally}");
    let again = porchlight(&db, &["export", "trackings", "--tenant", &other]);
    let mut rows: Vec<&str> = text.lines().collect();
    let reexported = stdout(&again);
    let mut rows_again: Vec<&str> = reexported.lines().collect();
    rows.sort_unstable();
    rows_again.sort_unstable();
    assert_eq!(rows, rows_again, "the same rows, written out again from the second shop");
    let unknown = porchlight(&db, &["export", "trackings", "--tenant", "nobody"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no tenant"));
}

/// The estimated delivery dates' ranges, learnt from the earlier part of a generated history,
/// hold the later part's deliveries as often as they say they will.
#[test]
fn edd_ranges_cover_held_back_deliveries_at_their_stated_rate() {
    let db = temp_db();
    let tenant = new_tenant(&db, "EDD shop");
    let file = db.with_file_name("edd-history.ndjson");
    let file_arg = file.to_str().expect("a UTF-8 path");
    let today = chrono::Utc::now().date_naive();
    let day = |days_ago: u64| (today - chrono::Days::new(days_ago)).to_string();
    let args = ["generate", "history", "--shipments", "6000", "--start", &day(130), "--days", "100", "--seed", "9"];
    let generated = porchlight(&db, &[&args[..], &["--out", file_arg]].concat());
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let imported = porchlight(&db, &["import", "trackings", file_arg, "--tenant", &tenant]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    assert!(porchlight(&db, &["analytics", "rebuild"]).status.success());

    let evaluated =
        porchlight(&db, &["edd", "evaluate", &tenant, "--from", &day(130), "--to", &day(31), "--split", &day(55)]);
    assert!(evaluated.status.success(), "{}", String::from_utf8_lossy(&evaluated.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout(&evaluated)).expect("the report");
    let overall = &report["overall"];
    let share = |field: &str| overall[field].as_f64().unwrap_or(-1.0);
    assert!(overall["deliveries"].as_u64().unwrap_or(0) > 1_000, "{overall}");
    assert!(share("stated_coverage") >= 0.9, "{overall}");
    assert!((share("in_range") - share("stated_coverage")).abs() < 0.03, "{overall}");
    assert!(share("within_one_day") > share("on_date") && share("mae_days") > 0.0, "{overall}");
    assert_eq!(report["lanes"].as_array().map(Vec::len), Some(7), "{report}");
    assert!(report["by_confidence_code"].as_object().is_some_and(|codes| !codes.is_empty()));

    let no_test =
        porchlight(&db, &["edd", "evaluate", &tenant, "--from", &day(30), "--to", &day(0), "--split", &day(30)]);
    assert!(String::from_utf8_lossy(&no_test.stderr).contains("--split"), "a split on --from is refused");
}

/// A Shopify-style order export imports with `porchlight import orders`: orders with their
/// lines, a tracking per number, a report naming each bad row; again, nothing changes.
#[test]
fn an_order_export_imports_as_orders_with_their_lines_and_trackings() {
    let db = temp_db();
    let tenant = new_tenant(&db, "Order shop");
    let file = db.with_file_name("orders_export.csv");
    std::fs::create_dir_all(file.parent().expect("a folder")).expect("folder");
    std::fs::write(
        &file,
        "Name,Email,Currency,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Country,Tracking Number,Courier\n\
         #2001,ada@example.com,EUR,1,Canvas bag,35.00,BAG-1,DE,1Z999AA10123456784,United Parcel Service\n\
         #2001,ada@example.com,EUR,3,Patch,2.50,PATCH-1,DE,1Z999AA10123456784,United Parcel Service\n\
         #2002,grace@example.com,EUR,1,Mug,12.00,MUG-1,XX,1Z204W4R0308071865,UPS\n",
    )
    .expect("written");
    let file_arg = file.to_str().expect("a UTF-8 path");
    for round in 0..2 {
        let imported = porchlight(&db, &["import", "orders", file_arg, "--tenant", &tenant]);
        let tally: serde_json::Value = serde_json::from_str(&stdout(&imported)).expect("the tally");
        assert_eq!(
            (tally["lines"].as_u64(), tally["imported"].as_u64(), tally["failed"].as_u64()),
            (Some(3), Some(2), Some(1)),
            "{tally}"
        );
        assert_eq!(tally["orders"].as_u64(), Some(if round == 0 { 1 } else { 0 }), "{tally}");
        assert_eq!(
            (tally["errors"][0]["line"].as_u64(), tally["errors"][0]["field"].as_str()),
            (Some(4), Some("destination_country_region"))
        );
        assert!(String::from_utf8_lossy(&imported.stderr).contains("1 of 3 lines were not imported"));
    }
    let orders = stdout(&porchlight(&db, &["orders", "list", &tenant]));
    assert!(orders.contains("\"#2001\"") && orders.contains("PATCH-1"), "{orders}");
}
