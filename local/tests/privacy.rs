//! `porchlight privacy` from the command line: a shopper's trackings found by email, erased,
//! and refusals that name the problem.

mod support;

use support::{new_tenant, porchlight, stdout, temp_db};

#[test]
fn a_shopper_is_exported_and_erased_from_the_command_line() {
    let db = temp_db();
    let tenant = new_tenant(&db, "Privacy shop");
    let file = db.with_file_name("shoppers.csv");
    std::fs::write(
        &file,
        "tracking_number,slug,customer_name,email,phone\n\
         1Z999AA10123456784,ups,Ann Shopper,ann@example.com,+4915550100\n\
         1Z999AA10123456793,ups,Bob Other,bob@example.com,+4915550199\n",
    )
    .expect("file written");
    let imported = porchlight(&db, &["import", "trackings", file.to_str().expect("utf-8"), "--tenant", &tenant]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    let export = |by: &[&str]| {
        let output = porchlight(&db, &[&["privacy", "export", "--tenant", &tenant][..], by].concat());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str::<serde_json::Value>(&stdout(&output)).expect("json")
    };
    let found = export(&["--email", "ANN@example.com"]);
    assert_eq!(found["trackings"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["trackings"][0]["customers"][0]["name"], "Ann Shopper");
    assert_eq!(export(&["--phone", "+49 1555 0100"])["trackings"].as_array().map(Vec::len), Some(1));

    let erased = porchlight(&db, &["privacy", "erase", "--tenant", &tenant, "--email", "ann@example.com"]);
    assert!(erased.status.success(), "{}", String::from_utf8_lossy(&erased.stderr));
    let erased: serde_json::Value = serde_json::from_str(&stdout(&erased)).expect("json");
    assert_eq!(erased["erased"]["trackings"], 1, "{erased}");
    assert_eq!(export(&["--email", "ann@example.com"])["trackings"], serde_json::json!([]));
    assert_eq!(export(&["--email", "bob@example.com"])["trackings"].as_array().map(Vec::len), Some(1), "Bob stays");

    let bad = porchlight(&db, &["privacy", "export", "--tenant", &tenant, "--email", "not-an-address"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("email"), "{}", String::from_utf8_lossy(&bad.stderr));
    let both = porchlight(
        &db,
        &["privacy", "erase", "--tenant", &tenant, "--email", "a@example.com", "--phone", "+4915550100"],
    );
    assert!(!both.status.success(), "email and phone together are refused");
    let unknown = porchlight(
        &db,
        &["privacy", "erase", "--tenant", "t_00000000000000000000000000000000", "--email", "a@example.com"],
    );
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no tenant"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}
