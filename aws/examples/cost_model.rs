//! What tracking shipments costs on AWS: drives simulated shipments through their whole life
//! against the moto emulator, through the real handlers, counts every AWS request they cause
//! and prices it with the us-east-1 on-demand list prices below.
//!
//! Usage: `cost_model [shipments]` (default 100), with `AWS_ENDPOINT_URL` naming the emulator;
//! `scripts/cost-model.sh` starts one and runs a release build.
//!
//! The life simulated, on a clock that moves 30 minutes a step: a merchant creates each
//! shipment through the `api` function (spread over a day), on the sandbox carrier, with
//! journeys of 3 to 12 days from information received to delivered (8 carrier events).
//! `carrier-poller` runs every step; what it queues goes to `tracking-updater` in batches of
//! up to 10, as the SQS event source mapping hands them over; every stream record of the
//! table goes to `status-fanout` alone (the most invocations the stream can cause).
//!
//! How it counts:
//! - **DynamoDB**: every request passes through a proxy here on its way to the emulator.
//!   Capacity follows DynamoDB's documented sizing rules, from the items in requests and
//!   answers (item size = attribute names + values; writes per started KB, transactional
//!   ones twice; reads per started 4 KB, half for eventually consistent ones), and for each
//!   GSI the index entries a write adds, changes or removes. moto's own `ConsumedCapacity`
//!   (requested on every call) is printed beside it: moto reports a constant per request
//!   (1 per write, 0.5 per read, nothing for transactions), so it is not the one priced.
//! - **SQS**: every request the functions make, in 64 KB chunks, plus what the event source
//!   mapping makes for each batch it delivers (one receive, one batch delete). Its idle long
//!   polls cost the same at any volume and are left out, as is the poller's schedule: both are
//!   in the fixed monthly cost printed at the end.
//! - **Lambda**: one invocation per handler call, billed per started millisecond of its wall
//!   time here (against the emulator, not DynamoDB) at the template's 256 MB, arm64 prices.
//! - **API Gateway**: one HTTP API request per `api` call. **CloudWatch Logs**: the bytes the
//!   handlers log, as JSON lines.
//! - DynamoDB Streams reads by Lambda are free; email and SMS are not sent yet.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use porchlight::domain::Tag;
use porchlight::ports::{Clock, QueueName, ShipmentStore, WorkQueue};
use porchlight_aws::dynamodb::DynamoStore;
use porchlight_aws::sqs::SqsQueues;
use porchlight_aws::{Runtime, handlers};
use serde_json::{Map, Value, json};

mod support;

/// us-east-1 on-demand list prices in USD, as published on aws.amazon.com/<service>/pricing;
/// recorded 2026-11-25. DynamoDB's are those in force since its on-demand price cut of
/// 2024-11-01; the others have not changed since 2023 or earlier. Free tiers are ignored.
mod price {
    /// DynamoDB on-demand, per million write request units.
    pub const DYNAMODB_WRITE_MILLION: f64 = 0.625;
    /// DynamoDB on-demand, per million read request units.
    pub const DYNAMODB_READ_MILLION: f64 = 0.125;
    /// DynamoDB standard table class storage, per GB-month.
    pub const DYNAMODB_STORAGE_GB_MONTH: f64 = 0.25;
    /// SQS standard queues, per million requests (64 KB chunks).
    pub const SQS_MILLION: f64 = 0.40;
    /// Lambda, per million requests.
    pub const LAMBDA_MILLION: f64 = 0.20;
    /// Lambda on arm64, per GB-second (the first pricing tier).
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// API Gateway HTTP APIs, per million requests (the first 300 million a month).
    pub const HTTP_API_MILLION: f64 = 1.00;
    /// CloudWatch Logs, per GB ingested (standard log class).
    pub const LOGS_GB: f64 = 0.50;
}

/// The template's memory for every function.
const MEMORY_GB: f64 = 0.25;
/// How far the clock moves between poll runs.
const STEP_MINUTES: i64 = 30;
/// The template's carrier-poller schedule, for the fixed monthly cost.
const POLL_RUNS_A_MONTH: f64 = 60.0 * 24.0 * 30.0;
/// The target: AWS cost per 1,000 shipments, email and SMS fees aside.
const TARGET_PER_THOUSAND: f64 = 0.05;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let shipments: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("the number of shipments must be a number")?,
        None => 100,
    };
    ensure!(shipments > 0, "at least one shipment is needed");
    let emulator = support::emulator()?;
    let meter = Arc::new(Meter::default());
    let logs = LogCounter::install();
    let proxy = start_proxy(&emulator, meter.clone()).await?;

    let mut settings = support::settings();
    settings.push(("PORCHLIGHT_POLL_EVERY".into(), (STEP_MINUTES * 60).to_string()));
    let config = support::config(&settings)?;
    let sdk = aws_config::from_env().endpoint_url(&proxy).load().await;
    let mut runtime = Runtime::with_sdk(&config, &sdk);
    let clock = Arc::new(SimClock::default());
    runtime.deps.clock = clock.clone();
    // What the test bench itself does stands outside the bill: it goes straight to the emulator.
    let scaffold = Runtime::connect(&config).await;
    support::create_resources(&scaffold, &config).await?;
    let table = DynamoStore::from_env(&config.table_name).await;
    let queues = SqsQueues::from_env(&config.queue_prefix).await;
    let mut create = support::sample("api.json")?;
    let tenant = support::add_merchant(&scaffold, &create).await?;
    create["routeKey"] = "POST /tracking/{proxy+}".into();
    create["requestContext"]["http"]["method"] = "POST".into();

    let start = clock.now();
    let last_created = start + Duration::days(1);
    let end = last_created + Duration::days(14);
    let mut created = Vec::new();
    let mut poll_runs = 0u64;
    let began = Instant::now();
    while clock.now() < end {
        while created.len() < shipments
            && start + (last_created - start) * created.len() as i32 / shipments as i32 <= clock.now()
        {
            let i = created.len();
            create["body"] =
                json!({"tracking_number": format!("TC-DELIVERED-{}-P{i:06}", 3 + i % 10), "order_number": format!("#{i}")})
                    .to_string()
                    .into();
            let router = porchlight_aws::api_router(runtime.deps.clone());
            let (status, body) = meter.invoke("api", support::call(router, &create)).await;
            ensure!(status == 201 || status == 200, "creating a tracking answered {status}: {body}");
            meter.add(|u| u.api_requests += 1);
            created.push(body["data"]["id"].as_str().context("the created tracking has an id")?.to_owned());
        }
        meter.invoke("carrier-poller", handlers::poll_carriers(&runtime, clock.now())).await?;
        poll_runs += 1;
        loop {
            let batch = queues.receive(QueueName::CarrierUpdates, 10, Duration::seconds(60)).await?;
            if batch.is_empty() {
                break;
            }
            meter.sqs("ReceiveMessage (event source)", 1);
            meter.sqs("DeleteMessageBatch (event source)", 1);
            let response = meter
                .invoke("tracking-updater", handlers::update_trackings(&runtime, support::sqs_event(&batch)))
                .await;
            ensure!(response.batch_item_failures.is_empty(), "tracking-updater failed records");
            for message in &batch {
                queues.ack(QueueName::CarrierUpdates, message.id).await?;
            }
        }
        clock.advance(Duration::minutes(STEP_MINUTES));
        if (clock.now() - start).num_minutes() % (24 * 60) == 0 {
            eprintln!("day {} simulated", (clock.now() - start).num_days());
        }
    }
    let records = table.stream_records().await?;
    for record in &records {
        let response = meter
            .invoke(
                "status-fanout",
                handlers::fan_out_status(&runtime, support::stream_event(std::slice::from_ref(record))),
            )
            .await;
        ensure!(response.batch_item_failures.is_empty(), "status-fanout failed a record");
    }
    let simulated = meter.take();
    let simulated_logs = logs.bytes();

    // Every shipment lived its whole life.
    for id in &created {
        let id = porchlight::domain::ShipmentId::parse(id).context("a shipment id")?;
        let shipment = table.get(&tenant, &id).await?.context("a created shipment is stored")?;
        if shipment.tag != Tag::Delivered || shipment.next_poll_at.is_some() {
            bail!("shipment {id} ended {:?}, next poll {:?}", shipment.tag, shipment.next_poll_at);
        }
    }

    // What a poll run costs with nothing due: paid on schedule, whatever the volume.
    clock.advance(Duration::minutes(STEP_MINUTES));
    meter.invoke("carrier-poller", handlers::poll_carriers(&runtime, clock.now())).await?;
    let idle_run = meter.take();
    let idle_logs = logs.bytes() - simulated_logs;
    let marginal = simulated.minus_runs(&idle_run, poll_runs);
    let stored_bytes = meter.stored_bytes();

    // What a page of the merchant's trackings costs: read through list entries, and with a
    // filter they cannot answer (every shipment read).
    let mut pages = Vec::new();
    for query in ["limit=25", "limit=25&slug=testing-courier"] {
        let event = support::api_event("GET", &format!("/tracking/2026-07/trackings?{query}"), None);
        let router = porchlight_aws::api_router(runtime.deps.clone());
        let (status, body) = meter.invoke("api", support::call(router, &event)).await;
        ensure!(status == 200, "listing answered {status}: {body}");
        pages.push((query, meter.take()));
    }

    println!(
        "{shipments} shipments, {} simulated days, {poll_runs} poll runs, {} stream records, in {:.0} s",
        (end - start).num_days(),
        records.len(),
        began.elapsed().as_secs_f64()
    );
    let marginal_logs = simulated_logs.saturating_sub(idle_logs * poll_runs);
    println!("{}", marginal.report(shipments, marginal_logs));
    let storage = stored_bytes as f64 / shipments as f64 * 1000.0 / 1e9 * price::DYNAMODB_STORAGE_GB_MONTH;
    println!(
        "storage: {:.0} bytes of items per shipment, ${storage:.5} per 1,000 shipments per month kept",
        stored_bytes as f64 / shipments as f64
    );
    for (query, page) in &pages {
        println!(
            "listing ?{query} of {shipments} trackings: {:.1} RRU, {} ms billed",
            page.read_units,
            page.billed_ms()
        );
    }
    let fixed = idle_run.cost_with_logs(idle_logs).total() * POLL_RUNS_A_MONTH;
    println!(
        "fixed: carrier-poller at rate(1 minute) with nothing due, ${fixed:.3} a month ({:.1} ms billed a run)",
        idle_run.billed_ms()
    );
    let per_thousand = marginal.cost_with_logs(marginal_logs).total() / shipments as f64 * 1000.0;
    println!("total: ${per_thousand:.4} per 1,000 shipments (target under ${TARGET_PER_THOUSAND:.2})");
    ensure!(per_thousand < TARGET_PER_THOUSAND, "over the target");
    Ok(())
}

/// A clock the simulation moves.
struct SimClock(Mutex<DateTime<Utc>>);

impl Default for SimClock {
    fn default() -> Self {
        SimClock(Mutex::new(Utc::now()))
    }
}

impl SimClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counts what the simulation uses.
#[derive(Clone, Debug, Default)]
struct Usage {
    /// DynamoDB requests by operation.
    dynamodb_requests: BTreeMap<String, u64>,
    /// Request units by DynamoDB's sizing rules.
    write_units: f64,
    read_units: f64,
    /// What moto reported as consumed capacity.
    moto_units: f64,
    /// SQS requests (64 KB chunks) by operation.
    sqs_requests: BTreeMap<String, u64>,
    /// Lambda invocations and billed milliseconds by function.
    lambda: BTreeMap<String, (u64, u64)>,
    api_requests: u64,
}

/// What a [`Usage`] costs, by service.
struct Cost {
    dynamodb: f64,
    sqs: f64,
    lambda: f64,
    api: f64,
    logs: f64,
}

impl Cost {
    fn total(&self) -> f64 {
        self.dynamodb + self.sqs + self.lambda + self.api + self.logs
    }
}

impl Usage {
    fn billed_ms(&self) -> u64 {
        self.lambda.values().map(|(_, ms)| ms).sum()
    }

    fn cost_with_logs(&self, log_bytes: u64) -> Cost {
        let million = 1e6;
        let invocations: u64 = self.lambda.values().map(|(n, _)| n).sum();
        Cost {
            dynamodb: self.write_units / million * price::DYNAMODB_WRITE_MILLION
                + self.read_units / million * price::DYNAMODB_READ_MILLION,
            sqs: self.sqs_requests.values().sum::<u64>() as f64 / million * price::SQS_MILLION,
            lambda: invocations as f64 / million * price::LAMBDA_MILLION
                + self.billed_ms() as f64 / 1000.0 * MEMORY_GB * price::LAMBDA_ARM_GB_SECOND,
            api: self.api_requests as f64 / million * price::HTTP_API_MILLION,
            logs: log_bytes as f64 / 1e9 * price::LOGS_GB,
        }
    }

    /// This usage without `runs` times an idle poll run's: what the shipments themselves
    /// caused. The poller's invocations are the schedule's, so they go entirely.
    fn minus_runs(&self, idle: &Usage, runs: u64) -> Usage {
        let mut marginal = self.clone();
        let runs_f = runs as f64;
        marginal.write_units -= idle.write_units * runs_f;
        marginal.read_units -= idle.read_units * runs_f;
        marginal.moto_units -= idle.moto_units * runs_f;
        let subtract = |totals: &mut BTreeMap<String, u64>, idle: &BTreeMap<String, u64>| {
            for (operation, n) in idle {
                if let Some(total) = totals.get_mut(operation) {
                    *total = total.saturating_sub(n * runs);
                }
            }
        };
        subtract(&mut marginal.dynamodb_requests, &idle.dynamodb_requests);
        subtract(&mut marginal.sqs_requests, &idle.sqs_requests);
        for (function, (n, ms)) in &idle.lambda {
            if let Some((total_n, total_ms)) = marginal.lambda.get_mut(function) {
                *total_n = total_n.saturating_sub(n * runs);
                *total_ms = total_ms.saturating_sub(ms * runs);
            }
        }
        marginal
    }

    /// The usage and cost per 1,000 shipments, as a table.
    fn report(&self, shipments: usize, log_bytes: u64) -> String {
        let per = |x: f64| x / shipments as f64 * 1000.0;
        let cost = self.cost_with_logs(log_bytes);
        let mut out = String::from("per 1,000 shipments:\n");
        let dynamodb: Vec<String> =
            self.dynamodb_requests.iter().map(|(op, n)| format!("{op} {:.0}", per(*n as f64))).collect();
        out += &format!(
            "  DynamoDB    ${:.5}  {:.0} WRU, {:.0} RRU (moto reported {:.0} units); requests: {}\n",
            per(cost.dynamodb),
            per(self.write_units),
            per(self.read_units),
            per(self.moto_units),
            dynamodb.join(", ")
        );
        let sqs: Vec<String> = self.sqs_requests.iter().map(|(op, n)| format!("{op} {:.0}", per(*n as f64))).collect();
        out += &format!("  SQS         ${:.5}  requests: {}\n", per(cost.sqs), sqs.join(", "));
        let lambda: Vec<String> = self
            .lambda
            .iter()
            .map(|(f, (n, ms))| format!("{f} {:.0} × {:.1} ms", per(*n as f64), *ms as f64 / (*n).max(1) as f64))
            .collect();
        out +=
            &format!("  Lambda      ${:.5}  invocations × mean billed time: {}\n", per(cost.lambda), lambda.join(", "));
        out += &format!("  API Gateway ${:.5}  {:.0} requests\n", per(cost.api), per(self.api_requests as f64));
        out += &format!("  Logs        ${:.5}  {:.0} KB\n", per(cost.logs), per(log_bytes as f64) / 1000.0);
        out
    }
}

/// The usage so far, and the items the table holds (for their sizes before a write).
#[derive(Default)]
struct Meter {
    usage: Mutex<Usage>,
    items: Mutex<HashMap<String, Map<String, Value>>>,
}

impl Meter {
    fn add(&self, change: impl FnOnce(&mut Usage)) {
        change(&mut self.usage.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn sqs(&self, operation: &str, requests: u64) {
        self.add(|u| *u.sqs_requests.entry(operation.to_owned()).or_default() += requests);
    }

    /// Runs `handler` as one invocation of `function`.
    async fn invoke<T>(&self, function: &str, handler: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let output = handler.await;
        let billed = started.elapsed().as_micros().div_ceil(1000) as u64;
        self.add(|u| {
            let entry = u.lambda.entry(function.to_owned()).or_default();
            entry.0 += 1;
            entry.1 += billed;
        });
        output
    }

    /// The usage so far, starting afresh.
    fn take(&self) -> Usage {
        std::mem::take(&mut self.usage.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn stored_bytes(&self) -> u64 {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).values().map(item_size).sum()
    }

    /// Counts one DynamoDB request and its answer.
    fn dynamodb(&self, operation: &str, request: &Value, succeeded: bool, answer: &Value) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        *usage.dynamodb_requests.entry(operation.to_owned()).or_default() += 1;
        usage.moto_units += consumed(answer.get("ConsumedCapacity"));
        let table = request["TableName"].as_str().unwrap_or_default();
        let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
        match operation {
            "GetItem" => usage.read_units += read_units(answer.get("Item").map_or(0, object_size), consistent),
            "Query" => {
                let size = answer["Items"].as_array().map_or(0, |items| items.iter().map(object_size).sum());
                usage.read_units += read_units(size, consistent);
            }
            "PutItem" | "DeleteItem" | "UpdateItem" => {
                let write = Write::from_request(operation, table, request);
                usage.write_units += write.apply(&mut items, 1.0, succeeded);
            }
            "TransactWriteItems" => {
                for action in request["TransactItems"].as_array().into_iter().flatten() {
                    let Some((kind, body)) = action.as_object().and_then(|o| o.iter().next()) else { continue };
                    let table = body["TableName"].as_str().unwrap_or_default();
                    let write = Write::from_request(kind, table, body);
                    usage.write_units += write.apply(&mut items, 2.0, succeeded);
                }
            }
            _ => {}
        }
    }
}

/// One item write, as a request describes it.
struct Write {
    key: String,
    /// The item after a put; `None` for a delete.
    item: Option<Map<String, Value>>,
    /// An update or condition check: the item keeps its attributes (updates here change a
    /// few small ones), and is charged at its current size.
    in_place: bool,
}

/// The table's indexes: name, key attributes, and whether all attributes are projected
/// (as `DynamoStore::create_table` makes them).
const INDEXES: [(&str, [&str; 2], bool); 2] =
    [("GSI1", ["GSI1PK", "GSI1SK"], true), ("GSI2", ["GSI2PK", "GSI2SK"], false)];

impl Write {
    fn from_request(operation: &str, table: &str, body: &Value) -> Write {
        let key_of = |item: &Value| format!("{table}|{}|{}", item["PK"], item["SK"]);
        match operation {
            "PutItem" | "Put" => {
                Write { key: key_of(&body["Item"]), item: body["Item"].as_object().cloned(), in_place: false }
            }
            "DeleteItem" | "Delete" => Write { key: key_of(&body["Key"]), item: None, in_place: false },
            _ => Write { key: key_of(&body["Key"]), item: None, in_place: true },
        }
    }

    /// The write units this write costs (`factor` 2 in a transaction), table and indexes;
    /// the item as stored afterwards when it `succeeded`.
    fn apply(self, items: &mut HashMap<String, Map<String, Value>>, factor: f64, succeeded: bool) -> f64 {
        let old = items.get(&self.key);
        if self.in_place {
            return factor * write_units(old.map_or(0, item_size));
        }
        let size = old.map_or(0, item_size).max(self.item.as_ref().map_or(0, item_size));
        let mut units = factor * write_units(size);
        if succeeded {
            units += INDEXES.iter().map(|index| index_units(index, old, self.item.as_ref())).sum::<f64>();
            match self.item {
                Some(item) => items.insert(self.key, item),
                None => items.remove(&self.key),
            };
        }
        units
    }
}

/// The write units an index spends when an item goes from `old` to `new`.
fn index_units(
    (_, keys, all): &(&str, [&str; 2], bool),
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> f64 {
    let entry = |item: Option<&Map<String, Value>>| {
        let item = item.filter(|i| keys.iter().all(|k| i.contains_key(*k)))?;
        let projected: Map<String, Value> = if *all {
            item.clone()
        } else {
            item.iter()
                .filter(|(k, _)| ["PK", "SK"].contains(&k.as_str()) || keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Some(projected)
    };
    match (entry(old), entry(new)) {
        (None, None) => 0.0,
        (Some(gone), None) => write_units(item_size(&gone)),
        (None, Some(added)) => write_units(item_size(&added)),
        (Some(before), Some(after)) if keys.iter().any(|k| before.get(*k) != after.get(*k)) => {
            write_units(item_size(&before)) + write_units(item_size(&after))
        }
        (Some(before), Some(after)) if before != after => write_units(item_size(&before).max(item_size(&after))),
        _ => 0.0,
    }
}

fn write_units(size: u64) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

fn read_units(size: u64, consistent: bool) -> f64 {
    size.div_ceil(4096).max(1) as f64 * if consistent { 1.0 } else { 0.5 }
}

fn object_size(item: &Value) -> u64 {
    item.as_object().map_or(0, item_size)
}

/// An item's size as DynamoDB counts it: each attribute's name and value.
fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter().map(|(name, value)| name.len() as u64 + value_size(value)).sum()
}

/// An attribute value's size, from its wire form (`{"S": "..."}` and so on).
fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else { return 0 };
    let text = |v: &Value| v.as_str().map_or(0, |s| s.len() as u64);
    let binary = |v: &Value| v.as_str().map_or(0, |s| (s.trim_end_matches('=').len() * 3 / 4) as u64);
    let number = |v: &Value| {
        let digits = v.as_str().unwrap_or("0").chars().filter(char::is_ascii_digit).count() as u64;
        digits.div_ceil(2) + 1
    };
    let each = |f: &dyn Fn(&Value) -> u64| inner.as_array().map_or(0, |a| a.iter().map(f).sum());
    match kind.as_str() {
        "S" => text(inner),
        "N" => number(inner),
        "B" => binary(inner),
        "BOOL" | "NULL" => 1,
        "SS" => each(&text),
        "NS" => each(&number),
        "BS" => each(&binary),
        "L" => 3 + each(&|v| 1 + value_size(v)),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, v)| 1 + k.len() as u64 + value_size(v)).sum()),
        _ => 0,
    }
}

/// The capacity units in a `ConsumedCapacity` answer (one object, or a list).
fn consumed(capacity: Option<&Value>) -> f64 {
    match capacity {
        Some(Value::Array(list)) => list.iter().map(|c| c["CapacityUnits"].as_f64().unwrap_or(0.0)).sum(),
        Some(one) => one["CapacityUnits"].as_f64().unwrap_or(0.0),
        None => 0.0,
    }
}

/// Starts the counting proxy in front of `upstream`; its URL.
async fn start_proxy(upstream: &str, meter: Arc<Meter>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(Proxy { upstream: upstream.to_owned(), client: reqwest::Client::new(), meter });
    let app = axum::Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Ok(url)
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    meter: Arc<Meter>,
}

/// Operations that can report their consumed capacity.
const CAPACITY_OPERATIONS: [&str; 9] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "TransactGetItems",
    "BatchGetItem",
];

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    match relay(&proxy, request).await {
        Ok(response) => response,
        Err(error) => (axum::http::StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

async fn relay(proxy: &Proxy, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let mut body = axum::body::to_bytes(body, usize::MAX).await?.to_vec();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (service, operation) = target.split_once('.').unwrap_or(("", ""));
    let mut sent = Value::Null;
    if service.starts_with("DynamoDB_") {
        sent = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if CAPACITY_OPERATIONS.contains(&operation) && sent.get("ReturnConsumedCapacity").is_none() {
            sent["ReturnConsumedCapacity"] = "TOTAL".into();
            body = serde_json::to_vec(&sent)?;
        }
    }
    let url = format!("{}{}", proxy.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut forwarded = proxy.client.request(parts.method.clone(), url).body(body.clone());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await?;
    if service.starts_with("DynamoDB_") {
        let answered: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        proxy.meter.dynamodb(operation, &sent, status.is_success(), &answered);
    } else if service == "AmazonSQS" {
        proxy.meter.sqs(operation, (body.len() as u64).div_ceil(64 * 1024).max(1));
    }
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}

/// Counts the bytes the handlers log, formatted as the functions format them on Lambda.
#[derive(Clone, Default)]
struct LogCounter(Arc<std::sync::atomic::AtomicU64>);

impl LogCounter {
    fn install() -> LogCounter {
        let counter = LogCounter::default();
        let writer = counter.clone();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || writer.clone())
            .init();
        counter
    }

    fn bytes(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::io::Write for LogCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
