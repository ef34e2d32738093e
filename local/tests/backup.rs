//! `porchlight backup` while serve takes writes, and `porchlight restore` of it: every
//! tracking acknowledged before the backup began is in it, the copy opens and serves, and the
//! refusals name the problem (an existing target, a running server, not a database).

mod support;

use support::{free_port, http, last_line, porchlight, start_server, stdout, temp_db};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn create(port: u16, key: &str, i: usize) -> u16 {
    let body = format!(r#"{{"tracking_number": "1Z999AA1{i:010}", "slug": "ups"}}"#);
    http(port, "POST", "/tracking/2026-07/trackings", key, &body).0
}

fn count(port: u16, key: &str) -> u64 {
    let (status, body) = http(port, "GET", "/tracking/2026-07/trackings?limit=1", key, "");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    json["data"]["pagination"]["total"].as_u64().expect("a total")
}

#[test]
fn a_backup_taken_while_serving_restores_and_serves() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Acme"]));
    let port = free_port();
    let server = start_server(&db, port, &[]);
    for i in 0..20 {
        assert_eq!(create(port, &key, i), 201);
    }
    let writer = {
        let key = key.clone();
        std::thread::spawn(move || (20..120).filter(|i| create(port, &key, *i) == 201).count())
    };
    let copy = db.with_file_name(format!("{}-copy.db", db.file_stem().and_then(|s| s.to_str()).unwrap_or("db")));
    let backed = porchlight(&db, &["backup", copy.to_str().expect("path")]);
    assert!(backed.status.success(), "{}", stderr(&backed));
    assert!(stdout(&backed).contains("backed up") && stdout(&backed).contains("sealing key"), "{}", stdout(&backed));
    assert_eq!(writer.join().expect("writer"), 100, "serving went on during the backup");
    let again = porchlight(&db, &["backup", copy.to_str().expect("path")]);
    assert!(!again.status.success() && stderr(&again).contains("exists already"), "{}", stderr(&again));
    let busy = porchlight(&db, &["restore", copy.to_str().expect("path"), "--force"]);
    assert!(!busy.status.success() && stderr(&busy).contains("in use"), "{}", stderr(&busy));
    drop(server);

    let restored =
        db.with_file_name(format!("{}-restored.db", db.file_stem().and_then(|s| s.to_str()).unwrap_or("db")));
    let done = porchlight(&restored, &["restore", copy.to_str().expect("path")]);
    assert!(done.status.success(), "{}", stderr(&done));
    // Credentials and API keys are sealed or digested with the original's key: it goes along.
    std::fs::copy(db.with_extension("db.key"), restored.with_extension("db.key")).expect("the key copied");
    let port = free_port();
    let _server = start_server(&restored, port, &[]);
    let total = count(port, &key);
    assert!((20..=120).contains(&total), "the 20 acknowledged before it began, and those of one moment after: {total}");
    let exists = porchlight(&restored, &["restore", copy.to_str().expect("path")]);
    assert!(!exists.status.success(), "a restore never replaces a database unless forced");

    let junk = db.with_file_name("junk.db");
    std::fs::write(&junk, b"these bytes are not a database").expect("written");
    let refused = porchlight(&temp_db(), &["restore", junk.to_str().expect("path")]);
    assert!(
        !refused.status.success() && stderr(&refused).contains("not a sound Porchlight database"),
        "{}",
        stderr(&refused)
    );
}
