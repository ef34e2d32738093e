//! What the AWS examples share: a runtime on a fresh table and queues in the moto emulator,
//! configured as the template configures the functions, with the merchant the sample events
//! name.

// Each example compiles this module and uses part of it.
#![allow(dead_code)]

use anyhow::{Context, ensure};
use porchlight::ports::WorkQueue;
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::{Config, Runtime};
use serde_json::Value;
use sha2::Digest;

/// The secret key the examples seal courier credentials with.
pub const SECRET_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The operator's token the examples and tests configure.
pub const ADMIN_TOKEN: &str = "sample-admin-token";

/// The emulator's endpoint, which must be on loopback.
pub fn emulator() -> anyhow::Result<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL must name the moto server")?;
    ensure!(endpoint.starts_with("http://127.0.0.1:"), "only a loopback emulator is used, not {endpoint}");
    Ok(endpoint)
}

/// The functions' settings (as `infra/template.yaml` sets them) for a fresh table and queue
/// prefix.
pub fn settings() -> Vec<(String, String)> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    [
        ("TABLE_NAME", format!("porchlight-bench-{unique}")),
        ("QUEUE_PREFIX", format!("porchlight-bench-{}-", &unique[..12])),
        ("PORCHLIGHT_SECRET_KEY", SECRET_KEY.to_owned()),
        ("PORCHLIGHT_WEBHOOK_SECRETS", "testing-courier=sample-webhook-secret".to_owned()),
        ("PORCHLIGHT_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("PORCHLIGHT_PUBLIC_URL", "https://track.example".to_owned()),
        ("PORCHLIGHT_SES_CONFIGURATION_SET", "porchlight-test-notifications".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The configuration `settings` gives.
pub fn config(settings: &[(String, String)]) -> anyhow::Result<Config> {
    Ok(Config::from_vars(|name| settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?)
}

/// Creates `runtime`'s table and queues.
pub async fn create_resources(runtime: &Runtime, config: &Config) -> anyhow::Result<()> {
    DynamoStore::from_env(&config.table_name).await.create_table().await.context("creating the table")?;
    runtime.queues.create_queues().await.context("creating the queues")?;
    Ok(())
}

/// A runtime on the emulator with its table, queues and a fresh blob bucket (named from
/// `prefix`), `extra` settings added; its configuration beside it.
pub async fn runtime_with_bucket(prefix: &str, extra: &[(&str, &str)]) -> (Runtime, Config) {
    let mut settings = settings();
    let bucket = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    settings.push(("PORCHLIGHT_BLOB_BUCKET".into(), bucket.clone()));
    settings.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = config(&settings).expect("config");
    let runtime = Runtime::connect(&config).await;
    create_resources(&runtime, &config).await.expect("table and queues");
    let sdk = aws_config::load_from_env().await;
    porchlight_aws::s3::S3Blobs::new(&sdk, Some(bucket)).create_bucket().await.expect("bucket");
    (runtime, config)
}

/// A merchant whose API key is the one `event` (an API Gateway request) carries.
pub async fn add_merchant(runtime: &Runtime, event: &Value) -> anyhow::Result<porchlight::domain::TenantId> {
    let key = event.pointer("/headers/as-api-key").and_then(Value::as_str).context("the event carries no API key")?;
    let (tenant, _) = porchlight::app::create_tenant(&runtime.deps, "Benchmark shop").await?;
    let record = porchlight::ports::ApiKeyRecord {
        key_id: "key_bench".into(),
        tenant_id: tenant.id.clone(),
        created_at: chrono::Utc::now(),
        revoked_at: None,
    };
    runtime.deps.tenants.add_api_key(&record, &sha2::Sha256::digest(key.as_bytes()).into()).await?;
    Ok(tenant.id)
}

/// `shipments` generated trackings over `days` from 1 March 2026, as the JSON lines
/// `GET /trackings` pages give (one per line).
pub fn generated_history(shipments: usize, days: u32, seed: u64) -> String {
    let spec = porchlight::demo::history::HistorySpec {
        shipments,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
        days,
        seed,
        lanes: porchlight::demo::history::default_lanes(),
    };
    let mut file = String::new();
    porchlight::demo::history::generate(&spec, chrono::Utc::now(), |g| {
        file.push_str(&g.line);
        file.push('\n');
    });
    file
}

/// The sample event `name` from `events/`.
pub fn sample(name: &str) -> anyhow::Result<Value> {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))
}

/// Runs `router` on an API Gateway v2 `event`, as `lambda_http::run` does in the functions;
/// the status and the JSON body (null when the body is not JSON).
pub async fn call(router: axum::Router, event: &Value) -> (u16, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The SQS event Lambda's event source mapping delivers for `messages`.
pub fn sqs_event(messages: &[porchlight::ports::Received]) -> aws_lambda_events::sqs::SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": format!("msg-{}", m.id),
                "body": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &m.body),
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {
                    "porchlight-id": {"stringValue": m.id.to_string(), "dataType": "Number"},
                    "porchlight-enqueued-at": {"stringValue": m.enqueued_at.timestamp_micros().to_string(), "dataType": "Number"}
                },
                "eventSource": "aws:sqs"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("an SQS event")
}

/// The DynamoDB stream event Lambda's event source mapping delivers for `records`.
pub fn stream_event(records: &[porchlight_aws::dynamodb::StreamImages]) -> aws_lambda_events::dynamodb::Event {
    let image = |item: &Option<porchlight_aws::dynamodb::Item>| {
        item.clone().map(|i| serde_json::to_value(serde_dynamo::Item::from(i)).expect("an image"))
    };
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut change = serde_json::json!({
                "ApproximateCreationDateTime": r.at.timestamp(),
                "Keys": {},
                "SequenceNumber": r.sequence_number,
                "SizeBytes": 1,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            });
            if let Some(new) = image(&r.new) {
                change["NewImage"] = new;
            }
            if let Some(old) = image(&r.old) {
                change["OldImage"] = old;
            }
            let mut record = serde_json::json!({"eventID": r.sequence_number, "eventName": r.operation,
                "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change});
            if r.by_ttl {
                record["userIdentity"] =
                    serde_json::json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
            }
            record
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a stream event")
}

/// moto's dump of what the emulator holds (emails SES took, SMS SNS published, ...). The dump
/// can fail while other tests change the emulator: read until it answers.
pub async fn moto_data() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator");
    for _ in 0..20 {
        let answer = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.expect("moto answers");
        if answer.status().is_success() {
            return answer.text().await.expect("text");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto's data dump never answered");
}

/// Verifies the configured sender (`MailFrom`) with the emulator's SES, as an operator does,
/// and makes the configuration set emails are sent with (as the template does).
pub async fn verify_sender(config: &Config) {
    let sdk = aws_config::load_from_env().await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_email_identity().email_identity(&config.mail_from).send().await.expect("the sender verified");
    if let Some(name) = &config.ses_configuration_set {
        // Every test makes it; the first one to run does.
        let _ = ses.create_configuration_set().configuration_set_name(name).send().await;
    }
}

/// Starts moto's request recorder afresh (SNS keeps no readable record of the SMS it
/// publishes; the recorder keeps the requests it took).
pub async fn start_recording() {
    let endpoint = emulator().expect("the emulator");
    let client = reqwest::Client::new();
    for step in ["reset-recording", "start-recording"] {
        let answer = client.post(format!("{endpoint}/moto-api/recorder/{step}")).send().await.expect("moto answers");
        assert!(answer.status().is_success(), "{step}: {}", answer.status());
    }
}

/// The texts of the SMS SNS was asked to publish to `phone` since [`start_recording`], read
/// back from moto's request recording (which then stops).
pub async fn recorded_sms(phone: &str) -> Vec<String> {
    use base64::Engine;
    let endpoint = emulator().expect("the emulator");
    let client = reqwest::Client::new();
    let recording = client.get(format!("{endpoint}/moto-api/recorder/download-recording")).send().await;
    let recording = recording.expect("moto answers").text().await.expect("text");
    client.post(format!("{endpoint}/moto-api/recorder/stop-recording")).send().await.expect("moto answers");
    let mut texts = Vec::new();
    // One JSON value per request; moto's threads may write two on one line, so read them as
    // a stream of values rather than line by line.
    for entry in serde_json::Deserializer::from_str(&recording).into_iter::<Value>() {
        let entry = entry.expect("a recorded request");
        let body = entry["body"].as_str().unwrap_or_default();
        let body = if entry["body_encoded"] == Value::Bool(true) {
            base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
        } else {
            body.as_bytes().to_vec()
        };
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        if fields.get("Action").map(String::as_str) == Some("Publish")
            && fields.get("PhoneNumber").map(String::as_str) == Some(phone)
        {
            texts.push(fields.get("Message").cloned().unwrap_or_default());
        }
    }
    texts
}

/// The sample carrier push with another body, signed with the sample secret.
pub fn signed_push(sample: &serde_json::Value, body: &str) -> serde_json::Value {
    let mut event = sample.clone();
    event["body"] = body.into();
    event["headers"]["x-testing-courier-signature"] =
        porchlight::domain::sign_webhook("sample-webhook-secret", body.as_bytes()).into();
    event
}

/// Hands each step of a journey to the functions as Lambda would.
pub struct Journey<'a> {
    pub runtime: &'a Runtime,
    pub store: &'a DynamoStore,
    /// Stream records already handed to `status-fanout`.
    pub streamed: usize,
}

impl Journey<'_> {
    /// A carrier push through `webhook-intake`, `tracking-updater` and `status-fanout`: the
    /// status changes it emitted.
    pub async fn push(&mut self, event: serde_json::Value) -> Vec<porchlight::ports::Received> {
        let runtime = self.runtime;
        let (status, body) = call(porchlight_aws::webhook_intake_router(runtime.deps.clone()), &event).await;
        assert_eq!(status, 200, "{body}");
        let queued = runtime
            .queues
            .receive(porchlight::ports::QueueName::CarrierUpdates, 10, chrono::Duration::seconds(30))
            .await
            .expect("received");
        assert_eq!(queued.len(), 1);
        let response = porchlight_aws::handlers::update_trackings(runtime, sqs_event(&queued)).await;
        assert!(response.batch_item_failures.is_empty());
        runtime
            .queues
            .ack(porchlight::ports::QueueName::CarrierUpdates, queued[0].id)
            .await
            .expect("deleted, as the event source does");
        let records = self.store.stream_records().await.expect("stream");
        let response = porchlight_aws::handlers::fan_out_status(runtime, stream_event(&records[self.streamed..])).await;
        assert!(response.batch_item_failures.is_empty());
        self.streamed = records.len();
        let emitted = runtime
            .queues
            .receive(porchlight::ports::QueueName::StatusChanges, 10, chrono::Duration::seconds(30))
            .await
            .expect("received");
        for message in &emitted {
            runtime
                .queues
                .ack(porchlight::ports::QueueName::StatusChanges, message.id)
                .await
                .expect("deleted, as the event source does");
        }
        emitted
    }

    /// The status changes through `notifier`, as Lambda hands them over.
    pub async fn notify(&self, emitted: &[porchlight::ports::Received]) {
        let event = porchlight_aws::handlers::NotifierEvent::Changes(sqs_event(emitted));
        let response = porchlight_aws::handlers::notify(self.runtime, event).await.expect("handled");
        assert!(response.batch_item_failures.is_empty());
    }
}

/// Runs `router` on an API Gateway v2 `event`; the status and the body as text (pages).
pub async fn call_text(router: axum::Router, event: &Value) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The sample API event as a `method` request of `path` (with its query) carrying `body`.
pub fn api_event(method: &str, path_and_query: &str, body: Option<&Value>) -> Value {
    let mut event = sample("api.json").expect("sample");
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let proxy = path.split('/').nth(1).unwrap_or_default();
    event["routeKey"] = format!("{method} /{proxy}/{{proxy+}}").into();
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    if let Some(body) = body {
        event["body"] = body.to_string().into();
    }
    event
}

/// What a loopback endpoint was sent: each post's signature header and body.
pub type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A merchant's endpoint on loopback recording each post's `signature_header` and body, with
/// `runtime` allowed to deliver there (tests only); its URL.
pub async fn loopback_endpoint(runtime: &mut Runtime, signature_header: &'static str) -> (String, Posts) {
    use porchlight::domain::TargetPolicy;
    runtime.deps.webhook_targets = TargetPolicy::AllowPrivate;
    runtime.deps.webhook_http = std::sync::Arc::new(porchlight::adapters::http_client::ReqwestClient::for_webhooks(
        std::time::Duration::from_secs(5),
        TargetPolicy::AllowPrivate,
    ));
    runtime.webhook_dispatcher = porchlight::app::webhooks::dispatch::Dispatcher::new(runtime.deps.clone());
    let posts: Posts = std::sync::Arc::default();
    let kept = posts.clone();
    let receiver = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            let signature = headers.get(signature_header).and_then(|v| v.to_str().ok()).unwrap_or_default();
            kept.lock().expect("lock").push((signature.to_owned(), body.to_vec()));
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    (url, posts)
}
