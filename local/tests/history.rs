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
}
