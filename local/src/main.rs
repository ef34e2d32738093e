//! The `porchlight` command: the embedded all-in-one server on SQLite, and the operator verbs.
//!
//! Every command takes `--db PATH` (env `PORCHLIGHT_DB`). Output meant for scripts goes to
//! stdout; logs go to stderr.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
mod workers;

use porchlight::adapters::http_client::ReqwestClient;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::{self, BatchingQueue, Deps, SecretBox};
use porchlight::carriers::WebhookSecrets;
use porchlight::domain::TenantId;
use porchlight::domain::{PollPolicy, Tag};
use porchlight::ports::QueueName;

/// mimalloc: parsing carrier payloads and serving JSON allocate many small strings, which it
/// serves faster than the system allocator (see `common/benches/parse.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use porchlight::ports::SystemClock;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Parser)]
#[command(name = "porchlight", version, about = "Post-purchase tracking, AfterShip-compatible, on one SQLite file")]
struct Cli {
    /// The SQLite database file; created with its folder if missing.
    #[arg(long, global = true, env = "PORCHLIGHT_DB", default_value = "data/porchlight.db")]
    db: PathBuf,
    /// The 256-bit key (64 hex characters) that seals merchants' carrier credentials. Without
    /// one, a key is made on first use and kept in `<db>.key` (mode 0600) beside the database.
    #[arg(long, global = true, env = "PORCHLIGHT_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, env = "PORCHLIGHT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the merchant API (AfterShip Tracking API 2026-07) until interrupted.
    Serve(ServeArgs),
    /// Create the demo shop with sample shipments and print its API key.
    Demo,
    /// Manage tenants (merchants) and their API keys.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Courier tools.
    #[command(subcommand)]
    Couriers(CouriersCommand),
    /// Carrier payloads set aside because they could not be processed.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// List quarantined payloads with the reason, oldest first.
    List {
        /// Print one JSON object a line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put quarantined payloads back on the queue; a running server processes them.
    Replay {
        /// Message ids, as listed.
        ids: Vec<u64>,
        /// Replay every quarantined payload.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Subcommand)]
enum CouriersCommand {
    /// Detect the courier of tracking numbers; prints one JSON object a line, best candidate
    /// first. Reads numbers from stdin, one a line, when none are given.
    Detect {
        /// Tracking numbers.
        numbers: Vec<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORCHLIGHT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also set up the demo shop and print its API key before serving.
    #[arg(long)]
    demo: bool,
    /// A carrier's webhook secret, `SLUG=SECRET`; repeat for several carriers. The environment
    /// variable takes them comma-separated.
    #[arg(long = "webhook-secret", env = "PORCHLIGHT_WEBHOOK_SECRETS", value_delimiter = ',', value_parser = WebhookSecrets::parse_entry)]
    webhook_secrets: Vec<(String, String)>,
    /// The operator's token for the admin API (quarantine, counters); the admin API is off
    /// without one.
    #[arg(long, env = "PORCHLIGHT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The operator's carrier accounts, JSON `{"<slug>": {"<field>": "<value>"}}`: polls use
    /// one for a carrier when the merchant has no connection of their own.
    #[arg(long, env = "PORCHLIGHT_CARRIER_ACCOUNTS", hide_env_values = true)]
    carrier_accounts: Option<String>,
    /// Seconds between rounds of polling carriers for shipments that are due.
    #[arg(long, env = "PORCHLIGHT_POLL_EVERY", default_value_t = 30)]
    poll_every: u64,
    /// Poll interval override, in seconds, for every status that is polled:
    /// `SLUG=SECONDS` for a carrier, `TENANT_ID:SLUG=SECONDS` for one tenant's shipments with it,
    /// `TENANT_ID:*=SECONDS` for all of a tenant's. Repeatable; comma-separated in the
    /// environment.
    #[arg(long = "poll-interval", env = "PORCHLIGHT_POLL_INTERVALS", value_delimiter = ',', value_parser = parse_interval)]
    poll_intervals: Vec<PollInterval>,
    /// Seconds before a carrier request is abandoned.
    #[arg(long, env = "PORCHLIGHT_CARRIER_TIMEOUT", default_value_t = 20)]
    carrier_timeout: u64,
}

/// One `--poll-interval` override.
#[derive(Debug, Clone)]
struct PollInterval {
    tenant: Option<TenantId>,
    slug: Option<String>,
    seconds: i64,
}

fn parse_interval(raw: &str) -> Result<PollInterval, String> {
    let (scope, seconds) = raw.split_once('=').ok_or_else(|| format!("{raw:?} is not SLUG=SECONDS"))?;
    let seconds: i64 = seconds
        .trim()
        .parse()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{seconds:?} is not a number of seconds"))?;
    let (tenant, slug) = match scope.split_once(':') {
        Some((tenant, slug)) => (Some(TenantId::parse(tenant.trim()).map_err(|e| e.to_string())?), slug.trim()),
        None => (None, scope.trim()),
    };
    let slug = (slug != "*").then(|| slug.to_ascii_lowercase());
    if tenant.is_none() && slug.is_none() {
        return Err("a carrier-wide override needs a slug".into());
    }
    Ok(PollInterval { tenant, slug, seconds })
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Create a tenant; prints its new API key alone on the last line.
    Create {
        /// The merchant's display name.
        name: String,
        /// Print everything as one JSON object instead.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make another API key for a tenant; prints the key alone on the last line.
    AddKey {
        /// The tenant's id.
        tenant_id: String,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Revoke one of a tenant's API keys.
    RevokeKey {
        /// The tenant's id.
        tenant_id: String,
        /// The key's id (`key_...`), as printed when it was made.
        key_id: String,
    },
    /// List a tenant's API keys (ids and dates; keys themselves are never stored).
    Keys {
        /// The tenant's id.
        tenant_id: String,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn open_store(path: &Path) -> anyhow::Result<SqliteStore> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating folder {}", parent.display()))?;
    }
    SqliteStore::open(path).with_context(|| format!("opening database {}", path.display()))
}

/// The key sealing stored credentials: given, or kept in a file beside the database.
fn secret_box(db: &Path, given: Option<&str>) -> anyhow::Result<SecretBox> {
    if let Some(hex) = given {
        return SecretBox::from_hex(hex).context("reading --secret-key");
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    let path = PathBuf::from(path);
    let hex = match std::fs::read_to_string(&path) {
        Ok(hex) => hex,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let hex = SecretBox::generate_hex();
            write_private(&path, &hex).with_context(|| format!("writing the secret key to {}", path.display()))?;
            tracing::info!(path = %path.display(), "secret key created");
            hex
        }
        Err(error) => return Err(error).with_context(|| format!("reading the secret key from {}", path.display())),
    };
    SecretBox::from_hex(&hex).with_context(|| format!("the secret key in {}", path.display()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

fn tenant_id(raw: &str) -> anyhow::Result<TenantId> {
    TenantId::parse(raw).with_context(|| format!("{raw:?} is not a tenant id (see `porchlight tenants list`)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if let Command::Couriers(CouriersCommand::Detect { numbers }) = &cli.command {
        return detect_couriers(numbers);
    }
    let store = open_store(&cli.db)?;
    let recovery = store.clone();
    let mut deps = Deps::from_store(store, Arc::new(SystemClock));
    deps.secrets = Arc::new(secret_box(&cli.db, cli.secret_key.as_deref())?);
    match cli.command {
        Command::Serve(args) => {
            let released = recovery.release_all_leases().await.context("recovering the queue")?;
            if released > 0 {
                tracing::info!(released, "queue messages leased by a previous process released");
            }
            if args.demo {
                set_up_demo(&deps, args.listen).await?;
            }
            serve(configure(deps, &args)?, Arc::new(recovery), args).await
        }
        Command::Demo => set_up_demo(&deps, "127.0.0.1:8080".parse()?).await,
        Command::Tenants(command) => tenants(&deps, command).await,
        Command::Couriers(_) => unreachable!("handled before the store opens"),
        Command::Quarantine(command) => quarantine(&deps, command).await,
    }
}

async fn quarantine(deps: &Deps, command: QuarantineCommand) -> anyhow::Result<()> {
    let queue = QueueName::CarrierUpdates;
    let mut letters = Vec::new();
    let mut after = 0;
    loop {
        let page = deps.queue.dead_letters(queue, after, 500).await.context("reading the quarantine")?;
        let Some(last) = page.last() else { break };
        after = last.id;
        letters.extend(page);
    }
    match command {
        QuarantineCommand::List { json } => {
            for letter in &letters {
                let body = String::from_utf8_lossy(&letter.body);
                if json {
                    let message: serde_json::Value =
                        serde_json::from_str(&body).unwrap_or_else(|_| serde_json::Value::String(body.to_string()));
                    let line = json!({"id": letter.id, "reason": letter.reason, "quarantined_at": letter.dead_at.to_rfc3339(),
                        "receive_count": letter.receive_count, "message": message});
                    println!("{line}");
                } else {
                    println!("{}\t{}\t{}", letter.id, letter.dead_at.to_rfc3339(), letter.reason);
                }
            }
        }
        QuarantineCommand::Replay { ids, all } => {
            let ids: Vec<u64> = if all { letters.iter().map(|l| l.id).collect() } else { ids };
            if ids.is_empty() {
                bail!("name message ids to replay, or --all");
            }
            for id in ids {
                match deps.queue.redrive(queue, id).await {
                    Ok(()) => println!("replayed {id}"),
                    Err(porchlight::ports::StoreError::NotFound) => bail!("no quarantined message {id}"),
                    Err(other) => return Err(other).context("replaying"),
                }
            }
        }
    }
    Ok(())
}

/// `porchlight couriers detect`: one JSON line per number, from the arguments or stdin.
fn detect_couriers(numbers: &[String]) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    /// One candidate, fields in the documented order.
    #[derive(serde::Serialize)]
    struct Candidate {
        slug: &'static str,
        name: &'static str,
        checksum: porchlight::couriers::Checksum,
    }
    /// One output line, fields in the documented order.
    #[derive(serde::Serialize)]
    struct Line<'a> {
        tracking_number: &'a str,
        couriers: Vec<Candidate>,
    }
    let mut print = |number: &str| -> anyhow::Result<()> {
        let couriers = porchlight::couriers::detect(number)
            .into_iter()
            .map(|d| Candidate { slug: d.courier.slug, name: d.courier.name, checksum: d.checksum })
            .collect();
        serde_json::to_writer(&mut out, &Line { tracking_number: number, couriers })?;
        out.write_all(b"\n")?;
        Ok(())
    };
    if numbers.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading tracking numbers from stdin")?;
            if !line.trim().is_empty() {
                print(&line)?;
            }
        }
    } else {
        for number in numbers {
            print(number)?;
        }
    }
    out.flush().context("writing results")?;
    Ok(())
}

/// Creates the demo tenant (or a fresh key for it) and loads the samples.
async fn set_up_demo(deps: &Deps, listen: SocketAddr) -> anyhow::Result<()> {
    let existing = deps.tenants.list_tenants().await.context("listing tenants")?;
    let (tenant, key) = match existing.into_iter().find(|t| t.name == porchlight::demo::TENANT_NAME) {
        Some(tenant) => {
            let key = app::create_api_key(deps, &tenant.id).await.context("making a demo key")?;
            (tenant, key)
        }
        None => app::create_tenant(deps, porchlight::demo::TENANT_NAME).await.context("creating the demo tenant")?,
    };
    let added = porchlight::demo::load(deps, &tenant.id).await.context("loading demo shipments")?;
    println!("demo tenant: {} ({})", tenant.name, tenant.id);
    println!("demo shipments added: {added}");
    println!("try: curl -H 'as-api-key: {}' http://{listen}/tracking/2026-07/trackings", key.secret);
    println!("{}", key.secret);
    Ok(())
}

/// The serving configuration on top of the store: group-committed queue sends, real carrier
/// HTTP, webhook secrets and the admin token.
fn configure(mut deps: Deps, args: &ServeArgs) -> anyhow::Result<Deps> {
    deps.queue = BatchingQueue::spawn(Arc::clone(&deps.queue), 256);
    let timeout = std::time::Duration::from_secs(args.carrier_timeout.max(1));
    deps.http = Arc::new(ReqwestClient::new(timeout));
    deps.webhook_secrets = Arc::new(WebhookSecrets(args.webhook_secrets.iter().cloned().collect()));
    deps.admin_token_sha256 = args.admin_token.as_deref().map(|token| Sha256::digest(token.as_bytes()).into());
    if let Some(json) = args.carrier_accounts.as_deref().filter(|j| !j.trim().is_empty()) {
        let accounts = app::operator_accounts(&deps.carriers, json).context("--carrier-accounts")?;
        deps.carrier_credentials = Arc::new(accounts);
    }
    let mut policy = PollPolicy::default();
    for interval in &args.poll_intervals {
        let every: BTreeMap<Tag, chrono::Duration> =
            policy.intervals.keys().map(|tag| (*tag, chrono::Duration::seconds(interval.seconds))).collect();
        match (&interval.tenant, &interval.slug) {
            (None, Some(slug)) => {
                policy.carrier_overrides.insert(slug.clone(), every);
            }
            (Some(tenant), slug) => {
                policy.tenant_overrides.insert((tenant.clone(), slug.clone()), every);
            }
            (None, None) => unreachable!("rejected when parsed"),
        }
    }
    deps.poll_policy = Arc::new(policy);
    for slug in deps.webhook_secrets.0.keys() {
        if deps.carriers.get(slug).is_none() {
            tracing::warn!(slug = %slug, "webhook secret for a carrier without an adapter");
        }
    }
    Ok(deps)
}

async fn serve(deps: Deps, feed: Arc<dyn porchlight::ports::ChangeFeed>, args: ServeArgs) -> anyhow::Result<()> {
    let listen = args.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving the merchant api");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = workers::spawn(deps.clone(), feed, std::time::Duration::from_secs(args.poll_every.max(1)), stopped);
    let served = axum::serve(listener, porchlight::api::router(deps)).with_graceful_shutdown(shutdown_signal()).await;
    let _ = stop.send(true);
    workers.await;
    served.context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn tenants(deps: &Deps, command: TenantsCommand) -> anyhow::Result<()> {
    match command {
        TenantsCommand::Create { name, json } => {
            let (tenant, key) = app::create_tenant(deps, &name).await.context("creating the tenant")?;
            if json {
                let out =
                    json!({"tenant_id": tenant.id, "name": tenant.name, "key_id": key.key_id, "api_key": key.secret});
                println!("{out}");
            } else {
                println!("tenant: {} ({})", tenant.name, tenant.id);
                println!("key id: {}", key.key_id);
                println!("api key (shown once, keep it safe):");
                println!("{}", key.secret);
            }
        }
        TenantsCommand::List { json } => {
            for tenant in deps.tenants.list_tenants().await.context("listing tenants")? {
                if json {
                    println!("{}", serde_json::to_string(&tenant)?);
                } else {
                    println!("{}\t{}\t{}", tenant.id, tenant.created_at.to_rfc3339(), tenant.name);
                }
            }
        }
        TenantsCommand::AddKey { tenant_id: raw, json } => {
            let tenant = tenant_id(&raw)?;
            if deps.tenants.get_tenant(&tenant).await?.is_none() {
                bail!("no tenant {tenant}");
            }
            let key = app::create_api_key(deps, &tenant).await.context("making the key")?;
            if json {
                println!("{}", json!({"tenant_id": tenant, "key_id": key.key_id, "api_key": key.secret}));
            } else {
                println!("key id: {}", key.key_id);
                println!("{}", key.secret);
            }
        }
        TenantsCommand::RevokeKey { tenant_id: raw, key_id } => {
            let tenant = tenant_id(&raw)?;
            match app::revoke_api_key(deps, &tenant, &key_id).await {
                Ok(()) => println!("revoked {key_id}"),
                Err(app::AppError::NotFound) => bail!("tenant {tenant} has no key {key_id}"),
                Err(other) => return Err(other).context("revoking the key"),
            }
        }
        TenantsCommand::Keys { tenant_id: raw } => {
            let tenant = tenant_id(&raw)?;
            for key in deps.tenants.list_api_keys(&tenant).await.context("listing keys")? {
                let state = key.revoked_at.map_or("active".to_owned(), |at| format!("revoked {}", at.to_rfc3339()));
                println!("{}\t{}\t{}", key.key_id, key.created_at.to_rfc3339(), state);
            }
        }
    }
    Ok(())
}
