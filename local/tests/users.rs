//! `porchlight users` and a merchant's first owner: members added with a password from
//! standard input or with a printed one-time link, listed, removed; clear errors that name
//! the problem.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{last_line, porchlight, stdout, temp_db};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn members_are_added_listed_linked_and_removed_from_the_command_line() {
    let db = temp_db();
    let created = porchlight(&db, &["tenants", "create", "Acme", "--owner", "Owner@Acme.example", "--json"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let tenant: serde_json::Value = serde_json::from_str(stdout(&created).trim()).expect("json");
    let link = tenant["owner_sign_in_link"].as_str().expect("the owner's link");
    assert!(link.starts_with("http://127.0.0.1:8080/console/link/"), "{link}");
    let id = tenant["tenant_id"].as_str().expect("id").to_owned();

    let mut child = Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(["--db", db.to_str().expect("path"), "users", "add", &id, "ana@acme.example", "--role", "agent"])
        .args(["--name", "Ana", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(b"correct horse battery\n").expect("written");
    let added = child.wait_with_output().expect("ends");
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).starts_with("added ana@acme.example (usr_"), "{}", stdout(&added));
    assert!(!stdout(&added).contains("/console/link/"), "a member with a password gets no link");

    let viewer = porchlight(&db, &["users", "add", &id, "vic@acme.example", "--role", "viewer"]);
    assert!(viewer.status.success(), "{}", stderr(&viewer));
    assert!(last_line(&viewer).contains("/console/link/"), "without a password: a one-time link");

    let listed = stdout(&porchlight(&db, &["users", "list", &id]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[0].contains("owner@acme.example\towner"), "emails are lowercased: {listed}");
    assert!(lines[1].contains("ana@acme.example\tagent\tAna\tpassword set\tnever signed in"), "{listed}");

    let relinked = porchlight(&db, &["users", "link", &id, "VIC@acme.example"]);
    assert!(last_line(&relinked).contains("/console/link/"), "{}", stderr(&relinked));

    for (args, says) in [
        (vec!["users", "add", &id, "ana@acme.example", "--role", "agent"], "already on a team"),
        (vec!["users", "add", &id, "not-an-address", "--role", "agent"], "email"),
        (vec!["users", "add", &id, "x@acme.example", "--role", "root"], "not a role"),
        (vec!["users", "remove", &id, "owner@acme.example"], "keeps at least one owner"),
        (vec!["users", "remove", &id, "nobody@acme.example"], "has no member"),
        (vec!["users", "list", "t_nobody"], "no tenant"),
    ] {
        let refused = porchlight(&db, &args);
        assert!(!refused.status.success(), "{args:?} should fail");
        assert!(stderr(&refused).contains(says), "{args:?}: {}", stderr(&refused));
    }

    let removed = porchlight(&db, &["users", "remove", &id, "vic@acme.example"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&porchlight(&db, &["users", "list", &id])).lines().count(), 2);
    let taken = porchlight(&db, &["tenants", "create", "Other", "--owner", "ana@acme.example"]);
    assert!(!taken.status.success() && stderr(&taken).contains("--owner"), "{}", stderr(&taken));
}
