//! Webhook dispatch: deliveries due in the embedded store, signed and posted to a receiver on
//! loopback, each attempt recorded; and the same with a second endpoint that never answers
//! taking as many deliveries.
//!
//! Target (issue 10): at least 2,000 deliveries a second to a loopback receiver, and an
//! endpoint that never answers does not slow the others.
//! Run: `cargo bench -p porchlight --bench webhooks`.

/// The allocator the shipped binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::webhooks::dispatch::Dispatcher;
use porchlight::app::webhooks::{EndpointWrite, create_endpoint, plan_webhooks};
use porchlight::app::{Deps, NewTracking, Ports, SecretBox, create_tenant, create_tracking};
use porchlight::domain::{ShipmentDetails, Slug, Tag, TargetPolicy, TrackingNumber};
use porchlight::ports::{ChangeEvent, ChangeKind, StatusSnapshot, SystemClock};
use porchlight::settings::Settings;

/// Deliveries per measured round.
const DELIVERIES: usize = 2_000;

/// A receiver answering 200 to every POST, counting them; its URL.
async fn receiver(count: Arc<AtomicUsize>) -> String {
    let routes = axum::Router::new().fallback(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::Relaxed);
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, routes).await });
    url
}

/// An endpoint that accepts connections and never answers; its URL.
async fn silent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}/never", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// A merchant with endpoints at `urls` and [`DELIVERIES`] deliveries due to each.
async fn world(urls: &[String]) -> Deps {
    let settings = Settings { webhook_targets: TargetPolicy::AllowPrivate, ..Settings::default() };
    let store = SqliteStore::in_memory().expect("store");
    let http = Arc::new(ReqwestClient::new(Duration::from_secs(5)));
    let webhook_http = Arc::new(ReqwestClient::for_webhooks(Duration::from_secs(10), TargetPolicy::AllowPrivate));
    let blobs =
        Arc::new(porchlight::adapters::blobs::FolderBlobs::new(std::env::temp_dir().join("porchlight-bench-blobs")));
    let ports = Ports::of_store(store.clone(), Arc::new(store), Arc::new(SystemClock), http, webhook_http, blobs);
    let deps = Deps::new(ports, SecretBox::new([9; 32]), &settings);
    let tenant = create_tenant(&deps, "Bench shop").await.expect("tenant").0.id;
    for url in urls {
        create_endpoint(&deps, &tenant, EndpointWrite { url: Some(url.clone()), events: None, pending_hours: None })
            .await
            .expect("endpoint");
    }
    let snapshot = |tag: Tag, version| StatusSnapshot::bare(version, tag, tag.default_subtag(), true, 1);
    for n in 0..DELIVERIES {
        let new = NewTracking {
            slug: Some(Slug::parse("ups").expect("slug")),
            tracking_number: TrackingNumber::parse(&format!("1Z999AA1{n:010}")).expect("number"),
            details: ShipmentDetails::default(),
            last_mile: None,
        };
        let shipment = create_tracking(&deps, &tenant, new).await.expect("tracking");
        let change = ChangeEvent {
            tenant_id: tenant.clone(),
            shipment_id: shipment.id.clone(),
            kind: ChangeKind::Updated,
            at: chrono::Utc::now(),
            old: Some(snapshot(Tag::Pending, 1)),
            new: Some(snapshot(Tag::InTransit, 2)),
        };
        plan_webhooks(&deps, &change).await.expect("planned");
    }
    deps
}

/// Dispatches until the live receiver has all [`DELIVERIES`]; how long that took.
async fn until_received(dispatcher: &Arc<Dispatcher>, count: &AtomicUsize) -> Duration {
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < DELIVERIES {
        if dispatcher.start_due().await.expect("dispatched") == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "deliveries stalled");
    }
    started.elapsed()
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let mut group = c.benchmark_group("webhooks");
    group.sample_size(10).throughput(Throughput::Elements(DELIVERIES as u64));
    group.bench_function("dispatch_to_loopback", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let count = Arc::new(AtomicUsize::new(0));
                    let deps = world(&[receiver(count.clone()).await]).await;
                    let dispatcher = Dispatcher::new(deps);
                    total += until_received(&dispatcher, &count).await;
                    dispatcher.wait_idle().await;
                }
                total
            })
        });
    });
    group.bench_function("dispatch_to_loopback_beside_a_silent_endpoint", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let count = Arc::new(AtomicUsize::new(0));
                    let deps = world(&[receiver(count.clone()).await, silent().await]).await;
                    let dispatcher = Dispatcher::new(deps);
                    total += until_received(&dispatcher, &count).await;
                    // The silent endpoint's attempts time out in the background; not waited for.
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
