//! The `porchlight` binary as a user runs it: tenants, keys, and a live server on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{free_port, http, http_with, last_line, new_tenant, porchlight, start_server, stdout, temp_db};

#[test]
fn tenants_create_prints_the_key_alone_on_its_last_line() {
    let db = temp_db();
    let output = porchlight(&db, &["tenants", "create", "Acme Outfitters"]);
    assert!(output.status.success(), "{output:?}");
    let key = last_line(&output);
    assert!(key.starts_with("plk_") && key.len() == 52, "{key:?}");
    assert!(stdout(&output).contains("Acme Outfitters"));

    let json = porchlight(&db, &["tenants", "create", "Second shop", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("one json object");
    assert_eq!(value["name"], "Second shop");
    assert!(value["api_key"].as_str().is_some_and(|k| k.starts_with("plk_")));

    let list = porchlight(&db, &["tenants", "list"]);
    assert_eq!(stdout(&list).lines().count(), 2);
}

#[test]
fn bad_cli_input_names_the_problem() {
    let db = temp_db();
    let blank = porchlight(&db, &["tenants", "create", "   "]);
    assert!(!blank.status.success());
    assert!(String::from_utf8_lossy(&blank.stderr).contains("name is invalid"), "{blank:?}");
    let created: serde_json::Value =
        serde_json::from_str(&stdout(&porchlight(&db, &["tenants", "create", "Shop", "--json"]))).expect("json");
    let tenant = created["tenant_id"].as_str().expect("id");
    let revoke = porchlight(&db, &["tenants", "revoke-key", tenant, "key_nope"]);
    assert!(!revoke.status.success());
    assert!(String::from_utf8_lossy(&revoke.stderr).contains("has no key key_nope"), "{revoke:?}");
    let bad_tenant = porchlight(&db, &["tenants", "keys", "Not A Tenant"]);
    assert!(!bad_tenant.status.success());
    assert!(String::from_utf8_lossy(&bad_tenant.stderr).contains("is not a tenant id"));
    let accounts = r#"{"ups": {"client_id": "id", "client_secret": "s3cret-value", "pin": "1"}}"#;
    let bad_accounts = porchlight(&db, &["serve", "--listen", "127.0.0.1:0", "--carrier-accounts", accounts]);
    assert!(!bad_accounts.status.success());
    let message = String::from_utf8_lossy(&bad_accounts.stderr);
    assert!(message.contains("--carrier-accounts") && message.contains("credentials.pin"), "{message}");
    assert!(!message.contains("s3cret-value"), "{message}");
}

#[test]
fn served_api_accepts_the_key_until_it_is_revoked() {
    let db = temp_db();
    let created: serde_json::Value =
        serde_json::from_str(&stdout(&porchlight(&db, &["tenants", "create", "Shop", "--json"]))).expect("json");
    let (tenant, key, key_id) = (
        created["tenant_id"].as_str().expect("id").to_owned(),
        created["api_key"].as_str().expect("key").to_owned(),
        created["key_id"].as_str().expect("key id").to_owned(),
    );
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let (status, body) =
        http(port, "POST", "/tracking/2026-07/trackings", &key, r#"{"tracking_number":"1Z999AA10123456784"}"#);
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = created["data"]["id"].as_str().expect("id");
    let (status, body) = http(port, "GET", &format!("/tracking/2026-07/trackings/{id}"), &key, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"slug\":\"ups\""));
    // Revoked from another process: the running server refuses the key at once.
    assert!(porchlight(&db, &["tenants", "revoke-key", &tenant, &key_id]).status.success());
    let (status, _) = http(port, "GET", "/tracking/2026-07/trackings", &key, "");
    assert_eq!(status, 401);
}

#[test]
fn serve_demo_prints_a_working_key_and_loads_samples_once() {
    let db = temp_db();
    let first = porchlight(&db, &["demo"]);
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).contains("demo shipments added: 14"), "{}", stdout(&first));
    assert!(stdout(&first).contains("demo tracking page: http://127.0.0.1:8080/t/porchlight-demo-shop"));
    let again = porchlight(&db, &["demo"]);
    assert!(stdout(&again).contains("demo shipments added: 0"));
    let key = last_line(&again);
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let (status, body) = http(port, "GET", "/tracking/2026-07/trackings?tag=Delivered", &key, "");
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(page["data"]["pagination"]["total"], 2);
    let trackings = page["data"]["trackings"].as_array().expect("trackings");
    assert!(trackings.iter().any(|t| t["last_mile"]["slug"] == "usps"), "the two-leg journey is delivered");
    let (status, html) = http(port, "GET", "/t/porchlight-demo-shop/YT2530512345678901", "", "");
    assert_eq!(status, 200, "the demo's page serves");
    assert!(html.contains("Handed over to USPS"));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let db = temp_db();
    let port = free_port();
    let mut server = start_server(&db, port, &[]);
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn couriers_detect_prints_one_json_line_per_number_from_args_or_stdin() {
    let db = temp_db();
    let output = porchlight(&db, &["couriers", "detect", "1z 999 aa1 0123 4567 84", "RR123456785CN", "nothing"]);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<serde_json::Value> =
        stdout(&output).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["tracking_number"], "1z 999 aa1 0123 4567 84");
    assert_eq!(lines[0]["couriers"][0], serde_json::json!({"slug": "ups", "name": "UPS", "checksum": "valid"}));
    assert_eq!(lines[1]["couriers"][0]["slug"], "china-post");
    assert_eq!(lines[2]["couriers"], serde_json::json!([]));
    assert!(!db.exists(), "detection needs no database");

    let mut child = Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(["couriers", "detect"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    child.stdin.take().expect("stdin").write_all(b"986578788855\n\n1Z999AA10123456785\n").expect("written");
    let output = child.wait_with_output().expect("finishes");
    let lines: Vec<serde_json::Value> =
        stdout(&output).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 2, "blank lines are skipped");
    assert_eq!(lines[0]["couriers"][0]["slug"], "fedex");
    assert_eq!(lines[1]["couriers"][0]["checksum"], "invalid");
}

/// Signs a body the way the sandbox carrier does: base64 HMAC-SHA256.
fn sandbox_signature(secret: &str, body: &str) -> String {
    porchlight::carriers::sign_base64(secret, body.as_bytes())
}

fn tag_of(port: u16, key: &str, id: &str) -> String {
    let (_, body) = http(port, "GET", &format!("/tracking/2026-07/trackings/{id}?fields=tag"), key, "");
    serde_json::from_str::<serde_json::Value>(&body).expect("json")["data"]["tag"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn serve_polls_the_sandbox_from_info_received_to_delivered_and_takes_signed_webhooks() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Sandbox shop"]));
    let port = free_port();
    let _server = start_server(
        &db,
        port,
        &[
            "--poll-every",
            "1",
            "--poll-interval",
            "testing-courier=1",
            "--webhook-secret",
            "testing-courier=s3cret",
            "--admin-token",
            "op-token",
            "--allow-private-webhooks",
        ],
    );
    let (receiver, posts) = webhook_receiver();
    let (status, body) = http(port, "POST", "/porchlight/v1/webhooks", &key, &format!(r#"{{"url":"{receiver}"}}"#));
    assert_eq!(status, 201, "{body}");
    let secret = serde_json::from_str::<serde_json::Value>(&body).expect("json")["data"]["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_owned();
    let (status, body) = http(
        port,
        "POST",
        "/tracking/2026-07/trackings",
        &key,
        r#"{"tracking_number":"TC-DELIVERED-6SEC-E2E","customers":[{"name":"Ann","email":"ann@example.com","language":"de"}]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let id =
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["data"]["id"].as_str().expect("id").to_owned();
    let (status, body) =
        http(port, "POST", "/tracking/2026-07/trackings", &key, r#"{"tracking_number":"TC-ATTEMPT-6SEC-E2E"}"#);
    assert_eq!(status, 201, "{body}");
    let attempted =
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["data"]["id"].as_str().expect("id").to_owned();
    let mut seen = vec![tag_of(port, &key, &id)];
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.last().map(String::as_str) != Some("Delivered") {
        assert!(Instant::now() < deadline, "not delivered in time; saw {seen:?}");
        std::thread::sleep(Duration::from_millis(300));
        let tag = tag_of(port, &key, &id);
        if seen.last() != Some(&tag) {
            seen.push(tag);
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("Pending"));
    assert!(seen.iter().any(|t| t == "InTransit"), "{seen:?}");

    // A signed push for another sandbox parcel lands behind the queue; an unsigned one is refused.
    let (_, created) =
        http(port, "POST", "/tracking/2026-07/trackings", &key, r#"{"tracking_number":"TC-CUSTOMS-30-PUSH"}"#);
    let pushed_id = serde_json::from_str::<serde_json::Value>(&created).expect("json")["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let push = r#"{"tracking_number":"TC-CUSTOMS-30-PUSH","events":[{"occurred_at":"2026-01-01T00:00:00Z","code":"DLV","description":"Delivered"}]}"#;
    let signature = sandbox_signature("s3cret", push);
    let (status, _) = http_with(port, "/webhooks/carriers/testing-courier", &[], push);
    assert_eq!(status, 401);
    let (status, body) =
        http_with(port, "/webhooks/carriers/testing-courier", &[("x-testing-courier-signature", &signature)], push);
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tag_of(port, &key, &pushed_id) != "Delivered" {
        assert!(Instant::now() < deadline, "the pushed delivery never landed");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every status the first parcel reached with a notification rule sent its shopper one email,
    // and only one, in German as she asked, into the outbox beside the database; the second
    // parcel has no recipient.
    let outbox = db.with_file_name("outbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    let subjects = loop {
        let emails: Vec<String> = std::fs::read_dir(&outbox)
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .iter()
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect();
        assert!(emails.iter().all(|eml| eml.contains("Content-Language: de")), "in the shopper's language");
        let subjects: Vec<String> = emails
            .iter()
            .filter_map(|eml| eml.lines().find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned)))
            .collect();
        if subjects.iter().any(|s| s.contains("wurde zugestellt")) {
            break subjects;
        }
        assert!(Instant::now() < deadline, "no delivery email in the outbox: {subjects:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut unique = subjects.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), subjects.len(), "one email per status: {subjects:?}");
    assert!(subjects.iter().all(|s| s.contains("TC-DELIVERED-6SEC-E2E")), "{subjects:?}");
    let stats = admin_get(port, "op-token", "/admin/stats");
    assert!(stats["data"]["status_changes_depth"].is_u64(), "the status-changes queue is reported");

    // The merchant's endpoint heard of each status change once, signed with its secret, up to
    // the delivery.
    let deadline = Instant::now() + Duration::from_secs(10);
    let bodies = loop {
        let bodies: Vec<serde_json::Value> = posts
            .lock()
            .expect("lock")
            .iter()
            .map(|(signature, body)| {
                assert_eq!(signature, &porchlight::domain::sign_webhook(&secret, body.as_bytes()), "verifies");
                serde_json::from_str(body).expect("json")
            })
            .filter(|b: &serde_json::Value| b["msg"]["id"] == id.as_str())
            .collect();
        if bodies.iter().any(|b| b["msg"]["tag"] == "Delivered") {
            break bodies;
        }
        assert!(Instant::now() < deadline, "no signed webhook told of the delivery: {bodies:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut event_ids: Vec<&str> = bodies.iter().map(|b| b["event_id"].as_str().expect("event id")).collect();
    event_ids.sort_unstable();
    event_ids.dedup();
    assert_eq!(event_ids.len(), bodies.len(), "each event once: {bodies:?}");
    assert!(bodies.len() >= 3 && bodies.iter().all(|b| b["event"] == "tracking_update"), "{bodies:?}");

    // The parcel whose first delivery attempt failed is in the exception queue, once.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(port, "GET", "/porchlight/v1/exceptions?state=open", &key, "");
        assert_eq!(status, 200, "{body}");
        let queue: serde_json::Value = serde_json::from_str(&body).expect("json");
        let cases: Vec<&serde_json::Value> = queue["data"]["exceptions"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["tracking_id"] == attempted.as_str())
            .collect();
        if !cases.is_empty() {
            assert_eq!(cases.len(), 1, "{cases:?}");
            assert_eq!(cases[0]["rule_id"], "er_failed_attempt");
            break;
        }
        assert!(Instant::now() < deadline, "no exception for the failed attempt: {queue}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a receiver was sent: each POST's `aftership-hmac-sha256` and body.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A merchant's endpoint on loopback, answering 200 to every POST.
fn webhook_receiver() -> (String, Posts) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/aftership", listener.local_addr().expect("bound"));
    let posts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = posts.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().filter_map(Result::ok) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            let (head, length) = loop {
                let Ok(read) = stream.read(&mut buffer) else { break (String::new(), 0) };
                if read == 0 {
                    break (String::new(), 0);
                }
                request.extend_from_slice(&buffer[..read]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_string();
                    request.drain(..end + 4);
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    break (head, length);
                }
            };
            while request.len() < length {
                let Ok(read) = stream.read(&mut buffer) else { break };
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            let signature = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("aftership-hmac-sha256")))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default();
            kept.lock().expect("lock").push((signature, String::from_utf8_lossy(&request).to_string()));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, posts)
}

/// `GET path` of the admin API with the operator's token; the JSON body.
fn admin_get(port: u16, token: &str, path: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-porchlight-admin-token: {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("json from {path}: {response}"))
}

#[test]
fn quarantined_payloads_are_listed_and_replayed_by_cli() {
    let db = temp_db();
    let port = free_port();
    let server = start_server(&db, port, &["--webhook-secret", "testing-courier=s3cret"]);
    let garbage = "definitely not json";
    let signature = sandbox_signature("s3cret", garbage);
    let (status, _) =
        http_with(port, "/webhooks/carriers/testing-courier", &[("x-testing-courier-signature", &signature)], garbage);
    assert_eq!(status, 200, "accepted: parsing happens behind the queue");
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let listed = porchlight(&db, &["quarantine", "list", "--json"]);
        if !stdout(&listed).trim().is_empty() {
            break listed;
        }
        assert!(Instant::now() < deadline, "never quarantined");
        std::thread::sleep(Duration::from_millis(100));
    };
    let entry: serde_json::Value = serde_json::from_str(stdout(&listed).lines().next().expect("a line")).expect("json");
    assert!(entry["reason"].as_str().unwrap_or_default().contains("sandbox push"), "{entry}");
    assert_eq!(entry["message"]["body"], garbage);
    drop(server);
    let id = entry["id"].as_u64().expect("id").to_string();
    let replayed = porchlight(&db, &["quarantine", "replay", &id]);
    assert!(replayed.status.success(), "{replayed:?}");
    assert!(stdout(&porchlight(&db, &["quarantine", "list"])).trim().is_empty(), "back on the queue");
    let missing = porchlight(&db, &["quarantine", "replay", "999999"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no quarantined message 999999"));
}

#[test]
fn carrier_credentials_survive_a_restart_with_the_key_kept_beside_the_database() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Shop"]));
    let connect = r#"{"courier_slug":"dhl","credentials":{"api_key":"dhl-account-key-42"}}"#;
    let port = free_port();
    let server = start_server(&db, port, &[]);
    let (status, body) = http(port, "POST", "/tracking/2026-07/courier-connections", &key, connect);
    assert_eq!(status, 201, "{body}");
    let id =
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["data"]["id"].as_str().expect("id").to_owned();
    drop(server);
    let mut key_file = db.as_os_str().to_owned();
    key_file.push(".key");
    let key_file = PathBuf::from(key_file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).expect("key file").permissions().mode() & 0o777, 0o600);
    }
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let (status, body) = http(port, "GET", &format!("/tracking/2026-07/courier-connections/{id}"), &key, "");
    assert_eq!(status, 200, "the sealed credentials open after a restart: {body}");
    assert!(body.contains("****y-42"), "{body}");
    drop(_server);
    // A different key cannot open them, and says so instead of answering garbage.
    let port = free_port();
    let _server = start_server(&db, port, &["--secret-key", &"ab".repeat(32)]);
    let (status, _) = http(port, "GET", &format!("/tracking/2026-07/courier-connections/{id}"), &key, "");
    assert_eq!(status, 500);
}

/// Sends one signed sandbox push on a fresh connection; true when the server answered 200.
fn push_event(port: u16, secret: &str, number: &str, label: &str, minute: u32) -> Option<bool> {
    let body = format!(
        r#"{{"tracking_number":"{number}","events":[{{"occurred_at":"2026-01-01T{:02}:{:02}:00Z","code":"ARR","description":"{label}"}}]}}"#,
        minute / 60 % 24,
        minute % 60
    );
    let signature = sandbox_signature(secret, &body);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "POST /webhooks/carriers/testing-courier HTTP/1.1\r\nHost: 127.0.0.1\r\nx-testing-courier-signature: {signature}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response.starts_with("HTTP/1.1 200"))
}

#[test]
fn every_acknowledged_webhook_survives_a_kill_during_load() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Durable shop"]));
    let port = free_port();
    let mut server = start_server(&db, port, &["--webhook-secret", "testing-courier=s3cret"]);
    // A parcel per sender, each kept under the timeline's limit of checkpoints.
    let ids: Vec<String> = (0..8u32)
        .map(|thread| {
            let body = format!(r#"{{"tracking_number":"TC-CUSTOMS-30-KILL{thread}"}}"#);
            let (status, created) = http(port, "POST", "/tracking/2026-07/trackings", &key, &body);
            assert_eq!(status, 201, "{created}");
            serde_json::from_str::<serde_json::Value>(&created).expect("json")["data"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();

    let senders: Vec<_> = (0..8u32)
        .map(|thread| {
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let number = format!("TC-CUSTOMS-30-KILL{thread}");
                for i in 0..450u32 {
                    let label = format!("scan {thread}-{i}");
                    match push_event(port, "s3cret", &number, &label, i) {
                        Some(true) => acknowledged.push(label),
                        Some(false) => {}
                        None => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    server.0.kill().expect("killed"); // SIGKILL: no graceful shutdown
    let _ = server.0.wait();
    let acknowledged: Vec<Vec<String>> = senders.into_iter().map(|s| s.join().expect("sender")).collect();
    let total: usize = acknowledged.iter().map(Vec::len).sum();
    assert!(total > 100, "the load ran: {total} acknowledged");

    let port = free_port();
    let _server = start_server(&db, port, &["--webhook-secret", "testing-courier=s3cret"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut missing = 0;
        for (id, labels) in ids.iter().zip(&acknowledged) {
            let (_, body) =
                http(port, "GET", &format!("/tracking/2026-07/trackings/{id}?fields=checkpoints"), &key, "");
            let tracking: serde_json::Value = serde_json::from_str(&body).expect("json");
            let stored: std::collections::HashSet<String> = tracking["data"]["checkpoints"]
                .as_array()
                .expect("checkpoints")
                .iter()
                .filter_map(|c| c["message"].as_str().map(str::to_owned))
                .collect();
            missing += labels.iter().filter(|label| !stored.contains(*label)).count();
        }
        if missing == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{missing} of {total} acknowledged webhooks were lost");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn what_a_newcomer_trips_over_is_refused_with_a_message() {
    let db = temp_db();
    // A lookup in the wrong place says so and leaves no empty database behind.
    let lookup = porchlight(&db, &["tenants", "list"]);
    assert!(!lookup.status.success());
    assert!(String::from_utf8_lossy(&lookup.stderr).contains("no database at"), "{lookup:?}");
    assert!(!db.exists(), "a lookup created {}", db.display());

    // A misspelt slug in a poll override is refused, naming the flag and the slug.
    let misspelt = porchlight(&db, &["serve", "--listen", "127.0.0.1:0", "--poll-interval", "testing_courier=10"]);
    assert!(!misspelt.status.success());
    let message = String::from_utf8_lossy(&misspelt.stderr);
    assert!(
        message.contains("--poll-interval") && message.contains("\"testing_courier\" is not a courier slug"),
        "{message}"
    );

    // A second server on the same database is refused while the first runs.
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let second = porchlight(&db, &["serve", "--listen", &format!("127.0.0.1:{}", free_port())]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another `porchlight serve`"), "{second:?}");

    // Logs to a pipe carry no colour codes.
    assert!(!String::from_utf8_lossy(&lookup.stderr).contains('\u{1b}'), "{lookup:?}");

    // Help shows which variables exist, never a secret's value.
    let help = Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(["serve", "--help"])
        .env("PORCHLIGHT_WEBHOOK_SECRETS", "testing-courier=very-secret-value")
        .env("PORCHLIGHT_ADMIN_TOKEN", "admin-secret-value")
        .output()
        .expect("runs");
    let help = stdout(&help);
    assert!(help.contains("PORCHLIGHT_WEBHOOK_SECRETS"), "{help}");
    assert!(!help.contains("very-secret-value") && !help.contains("admin-secret-value"), "{help}");
}

/// What a raw client gets: the status of the first response line, or 0 when the server closed
/// the connection without answering.
fn status_of(stream: &mut TcpStream) -> u16 {
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[test]
fn slow_or_idle_clients_cannot_hold_the_server() {
    let db = temp_db();
    let key = last_line(&porchlight(&db, &["tenants", "create", "Shop"]));
    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        stream
    };
    let started = Instant::now();

    // A declared body over the limit is refused before any of it is sent.
    let mut huge = connect();
    huge.write_all(b"POST /tracking/2026-07/trackings HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
        .expect("sent");
    assert_eq!(status_of(&mut huge), 413);

    // Headers that never end, and a body that never comes, are cut off.
    let mut half_headers = connect();
    half_headers.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("sent");
    let mut slow_body = connect();
    let request = format!(
        "POST /tracking/2026-07/trackings HTTP/1.1\r\nHost: x\r\nas-api-key: {key}\r\nContent-Length: 100\r\n\r\n{{"
    );
    slow_body.write_all(request.as_bytes()).expect("sent");
    // 1,100 connections that send nothing at all.
    let idle: Vec<TcpStream> = (0..1100)
        .filter_map(|_| TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok())
        .collect();
    assert!(idle.len() > 1024, "only {} idle connections opened", idle.len());

    // A real client is still answered.
    let (status, _) = http(port, "GET", "/tracking/2026-07/trackings", &key, "");
    assert_eq!(status, 200);
    assert_eq!(status_of(&mut half_headers), 0, "closed without an answer");
    assert_eq!(status_of(&mut slow_body), 408);
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    drop(idle);
}

#[test]
fn tracking_page_settings_are_shown_and_changed_by_cli_and_served() {
    let db = temp_db();
    let tenant = new_tenant(&db, "Acme Outfitters");
    let shown = porchlight(&db, &["tracking-page", "show", &tenant]);
    assert!(shown.status.success(), "{shown:?}");
    let settings: serde_json::Value = serde_json::from_str(&stdout(&shown)).expect("json");
    assert_eq!(settings["slug"], "acme-outfitters", "a slug from the merchant's name");

    let file = db.with_file_name("page.json");
    std::fs::write(
        &file,
        r#"{"slug": "acme", "brand_name": "Acme", "languages": ["de", "en"], "default_language": "de"}"#,
    )
    .expect("written");
    let set = porchlight(&db, &["tracking-page", "set", &tenant, file.to_str().expect("path")]);
    assert!(set.status.success(), "{set:?}");
    std::fs::write(&file, r#"{"primary_color": "blue"}"#).expect("written");
    let refused = porchlight(&db, &["tracking-page", "set", &tenant, file.to_str().expect("path")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("primary_color is invalid"), "{refused:?}");

    let port = free_port();
    let _server = start_server(&db, port, &[]);
    let (status, page) = http(port, "GET", "/t/acme", "", "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"de\">") && page.contains("Bestellung verfolgen"), "the CLI's settings serve");
    let (status, _) = http(port, "GET", "/t/acme-outfitters", "", "");
    assert_eq!(status, 404, "the old slug is free");
}

#[test]
fn notification_rules_are_listed_added_changed_and_deleted_by_cli() {
    let db = temp_db();
    let tenant = new_tenant(&db, "Acme");
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&porchlight(&db, &["notification-rules", "list", &tenant]))).expect("json");
    assert_eq!(listed["rules"].as_array().map(Vec::len), Some(5), "the defaults");

    let file = db.with_file_name("rule.json");
    std::fs::write(&file, r#"{"trigger": "no_update", "no_update_days": 5, "channels": ["email", "sms"]}"#)
        .expect("written");
    let added = porchlight(&db, &["notification-rules", "add", &tenant, file.to_str().expect("path")]);
    assert!(added.status.success(), "{added:?}");
    let rule: serde_json::Value = serde_json::from_str(&stdout(&added)).expect("json");
    let id = rule["id"].as_str().expect("id").to_owned();
    std::fs::write(&file, r#"{"delay_minutes": "soon"}"#).expect("written");
    let refused = porchlight(&db, &["notification-rules", "set", &tenant, &id, file.to_str().expect("path")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("delay_minutes"), "{refused:?}");
    std::fs::write(&file, r#"{"channels": []}"#).expect("written");
    let refused = porchlight(&db, &["notification-rules", "set", &tenant, &id, file.to_str().expect("path")]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("channels is invalid"), "{refused:?}");
    assert!(porchlight(&db, &["notification-rules", "delete", &tenant, &id]).status.success());
    let gone = porchlight(&db, &["notification-rules", "delete", &tenant, &id]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no such notification rule"), "{gone:?}");

    let preview =
        porchlight(&db, &["notifications", "preview", &tenant, "--trigger", "out_for_delivery", "--language", "es"]);
    assert!(preview.status.success(), "{preview:?}");
    let text = stdout(&preview);
    assert!(text.starts_with("Subject: Tu pedido #1001 llega hoy") && text.contains("SMS (Gsm7"), "{text}");
    let html = stdout(&porchlight(&db, &["notifications", "preview", &tenant, "--trigger", "delivered", "--html"]));
    assert!(html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">"), "{html}");
    let wrong = porchlight(&db, &["notifications", "preview", &tenant, "--trigger", "teleported"]);
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--trigger must be one of"), "{wrong:?}");
}

#[test]
fn orders_import_stores_every_good_line_and_names_the_bad_ones() {
    let db = temp_db();
    let key_line = porchlight(&db, &["tenants", "create", "Order shop"]);
    assert!(key_line.status.success());
    let tenants = stdout(&porchlight(&db, &["tenants", "list"]));
    let tenant = tenants.split_whitespace().find(|w| w.starts_with("t_")).expect("a tenant id").to_owned();
    let lines = [
        r##"{"external_id":"5001","order_number":"#1001","items":[{"external_id":"l1","title":"Mug","quantity":1,"unit_price":{"amount":"12.50","currency":"EUR"}}]}"##,
        r##"{"external_id":"5002","items":[{"external_id":"l1","title":"Mug","quantity":0,"unit_price":{"amount":"12.50","currency":"EUR"}}]}"##,
        "",
        r##"{"external_id":"5003","items":[{"external_id":"l1","title":"Cup","quantity":2,"unit_price":{"amount":"9","currency":"EUR"}}]}"##,
        r##"{"external_id":"5001","order_number":"#1001","items":[{"external_id":"l1","title":"Mug","quantity":4,"unit_price":{"amount":"12.50","currency":"EUR"}}]}"##,
    ];
    let file = db.with_file_name("orders.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("written");
    let imported = porchlight(&db, &["orders", "import", &tenant, file.to_str().expect("utf-8")]);
    assert!(!imported.status.success(), "a refused line fails the command");
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(stderr.contains("line 2: items[0].quantity"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout(&imported)).expect("a report");
    assert_eq!(report, serde_json::json!({"created": 2, "updated": 1, "refused": 1}));
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&porchlight(&db, &["orders", "list", &tenant]))).expect("json");
    let orders = listed.as_array().expect("orders");
    assert_eq!(orders.len(), 2, "the good lines are stored");
    let mug = orders.iter().find(|o| o["external_id"] == "5001").expect("5001");
    assert_eq!(mug["items"][0]["quantity"], 4, "the later line replaced the earlier");
    let missing = porchlight(&db, &["orders", "get", &tenant, "ord_nope"]);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("no order ord_nope"));

    // The returns report's product table: ordered units of the period, nothing returned yet.
    let report = stdout(&porchlight(&db, &["returns", "report", &tenant, "--table", "products"]));
    assert!(report.starts_with("sku,product,ordered_units,returned_units,return_rate\n"), "{report}");
    assert!(report.contains(",Mug,4,0,0.0000") && report.contains(",Cup,2,0,0.0000"), "{report}");
    let bad = porchlight(&db, &["returns", "report", &tenant, "--from", "yesterday"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("from is invalid"));
}
