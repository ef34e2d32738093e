//! `porchlight secrets rotate` while serve runs: the key file gets a new key with the old one
//! after it, the stored credentials are sealed again (the answer counts them), serve takes up
//! the new key without a restart, and once the old key is gone everything still opens. With
//! the key given on the command line, rotate refuses and says what to do instead.

mod support;

use support::{free_port, http, last_line, porchlight, start_server, stdout, temp_db};

fn connect(port: u16, key: &str, client_id: &str) -> String {
    let body = format!(
        r#"{{"courier_slug": "ups", "credentials": {{"client_id": "{client_id}", "client_secret": "s3cret-{client_id}"}}}}"#
    );
    let (status, answer) = http(port, "POST", "/tracking/2026-07/courier-connections", key, &body);
    assert_eq!(status, 201, "{answer}");
    let json: serde_json::Value = serde_json::from_str(&answer).expect("json");
    json["data"]["id"].as_str().expect("an id").to_owned()
}

/// The connection's client id as serve reads it: serve has to open its sealed credentials.
fn client_id(port: u16, key: &str, id: &str) -> String {
    let (status, answer) = http(port, "GET", &format!("/tracking/2026-07/courier-connections/{id}"), key, "");
    assert_eq!(status, 200, "{answer}");
    let json: serde_json::Value = serde_json::from_str(&answer).expect("json");
    json["data"]["credentials"]["client_id"].as_str().expect("shown").to_owned()
}

#[test]
fn rotating_the_key_while_serving_reseals_everything_and_loses_nothing() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Acme"]));
    let port = free_port();
    let server = start_server(&db, port, &[]);
    let before = connect(port, &key, "before");
    let key_file = db.with_extension("db.key");
    let old_key = std::fs::read_to_string(&key_file).expect("key file").trim().to_owned();

    let rotated = porchlight(&db, &["secrets", "rotate"]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let tally: serde_json::Value = serde_json::from_str(stdout(&rotated).trim()).expect("json");
    assert_eq!(tally["reseal"]["resealed"], 1, "{tally}");
    assert_eq!(tally["reseal"]["unreadable"], 0, "{tally}");
    let keys: Vec<String> = std::fs::read_to_string(&key_file).expect("key").lines().map(str::to_owned).collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], old_key, "a new current key");
    assert_eq!(keys[1], old_key, "the old one kept after it");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    // The running server opens what was sealed again and seals new credentials with the new key.
    assert_eq!(client_id(port, &key, &before), "before");
    let after = connect(port, &key, "after");
    assert_eq!(client_id(port, &key, &after), "after");
    drop(server);

    // Without the old key, everything still opens: nothing is left sealed under it.
    std::fs::write(&key_file, format!("{}\n", keys[0])).expect("old key dropped");
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    assert_eq!(client_id(port, &key, &before), "before");
    assert_eq!(client_id(port, &key, &after), "after");

    let given = porchlight(&db, &["--secret-key", &keys[0], "secrets", "rotate"]);
    let refusal = String::from_utf8_lossy(&given.stderr);
    assert!(!given.status.success() && refusal.contains("--previous-secret-keys"), "{refusal}");
    let again = porchlight(&db, &["secrets", "reseal"]);
    let tally: serde_json::Value = serde_json::from_str(stdout(&again).trim()).expect("json");
    assert_eq!((tally["reseal"]["resealed"].as_u64(), tally["reseal"]["current"].as_u64()), (Some(0), Some(2)));
}
