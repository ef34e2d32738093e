//! The `porchlight` command: the embedded all-in-one server on SQLite, and the operator verbs.
//!
//! Every command takes `--db PATH` (env `PORCHLIGHT_DB`). Output meant for scripts goes to
//! stdout; logs go to stderr. Settings shared with the AWS runtime are read once, with the
//! same names, units and defaults (`porchlight::settings`): flags first, then the environment.

mod commands;
mod database;
mod demo;
mod listener;
mod workers;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use porchlight::adapters::http_client::ReqwestClient;
use porchlight::app::{self, Deps, Ports};
use porchlight::ports::SystemClock;
use porchlight::settings::{Settings, var};

use commands::quarantine::QuarantineCommand;
use commands::serve::ServeArgs;
use commands::tenants::TenantsCommand;
use database::Open;

/// mimalloc: parsing carrier payloads and serving JSON allocate many small strings, which it
/// serves faster than the system allocator (see `common/benches/parse.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "porchlight", version, about = "Post-purchase tracking, AfterShip-compatible, on one SQLite file")]
struct Cli {
    /// The SQLite database file; `serve`, `demo` and `tenants create` create it (with its
    /// folder) when missing, other commands expect it.
    #[arg(long, global = true, env = "PORCHLIGHT_DB", default_value = "data/porchlight.db")]
    db: PathBuf,
    /// The 256-bit key (64 hex characters) that seals merchants' carrier credentials. Without
    /// one, a key is made on first use and kept in `<db>.key` (mode 0600) beside the database.
    #[arg(long, global = true, env = "PORCHLIGHT_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Earlier keys (comma-separated), which still open what they sealed after a rotation;
    /// only with --secret-key (a key file keeps its own previous keys).
    #[arg(long, global = true, env = "PORCHLIGHT_PREVIOUS_SECRET_KEYS", hide_env_values = true)]
    previous_secret_keys: Option<String>,
    /// Log format on stderr (`pretty` has colours only on a terminal).
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
    Serve(Box<ServeArgs>),
    /// Create the demo shop with sample shipments and print its API key.
    Demo,
    /// Manage tenants (merchants) and their API keys.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Courier tools.
    #[command(subcommand)]
    Couriers(commands::couriers::CouriersCommand),
    /// Messages set aside because they could not be processed (dead letters), per queue.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// A merchant's branded tracking page: show or change its settings.
    #[command(subcommand)]
    TrackingPage(commands::tracking_page::TrackingPageCommand),
    /// A merchant's notification rules: list, add, change, delete.
    #[command(subcommand)]
    NotificationRules(commands::notification_rules::NotificationRulesCommand),
    /// What shoppers are told: preview a trigger's message.
    #[command(subcommand)]
    Notifications(commands::notifications::NotificationsCommand),
    /// A merchant's orders: import JSON lines, show one, list them.
    #[command(subcommand)]
    Orders(commands::orders::OrdersCommand),
    /// A merchant's returns: the team's numbers over a period.
    #[command(subcommand)]
    Returns(commands::returns::ReturnsCommand),
    /// A merchant's numbers (overview, carrier scorecards, exceptions); recount the rollups.
    #[command(subcommand)]
    Analytics(commands::analytics::AnalyticsCommand),
    /// A merchant's report: HTML with charts and CSVs over a range of days.
    #[command(subcommand)]
    Reports(commands::reports::ReportsCommand),
    /// Estimated delivery dates: their accuracy on a merchant's own history.
    #[command(subcommand)]
    Edd(commands::edd::EddCommand),
    /// Made-up data with known truth (a history of trackings on known lanes).
    #[command(subcommand)]
    Generate(commands::generate::GenerateCommand),
    /// Bring a merchant's history in from a file (AfterShip's export, or a CSV).
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// A merchant's storefront connectors (Shopify, WooCommerce): list them, backfill orders.
    #[command(subcommand)]
    Connectors(commands::connectors::ConnectorsCommand),
    /// A merchant's console team: add, list, remove members; print a sign-in link.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Write a merchant's trackings out as CSV (the columns an import reads).
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    /// A shopper's data: export it, erase it; expire personal fields of finished trackings.
    #[command(subcommand)]
    Privacy(commands::privacy::PrivacyCommand),
    /// Copy the database into a new file, consistent as of one moment, while serve may run.
    Backup {
        /// The new file (never overwritten).
        path: PathBuf,
    },
    /// The sealing key: rotate it, or seal stored credentials again under it.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),
    /// Put a backup in place of the database (serve stopped), migrated to this version.
    Restore {
        /// The backup.
        path: PathBuf,
        /// Replace the database when it exists.
        #[arg(long)]
        force: bool,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let (secret_key, previous_keys) = (cli.secret_key.clone(), cli.previous_secret_keys.clone());
    let key_given = secret_key.is_some();
    let given = move |settings_var: &str| match settings_var {
        var::SECRET_KEY => secret_key.clone(),
        var::PREVIOUS_SECRET_KEYS => previous_keys.clone(),
        _ => None,
    };
    match cli.command {
        Command::Couriers(command) => commands::couriers::run(command),
        Command::Backup { path } => commands::backup::backup(&cli.db, &path),
        Command::Restore { path, force } => commands::backup::restore(&cli.db, &path, force),
        Command::Generate(command) => commands::generate::run(command),
        Command::Serve(args) => {
            let settings = Settings::from_vars(|name| args.setting(name).or_else(|| given(name)))
                .map_err(commands::serve::name_the_flag)?;
            let _lock = database::lock_for_serving(&cli.db)?;
            let store = database::open(&cli.db, Open::OrCreate)?;
            commands::serve::run(&cli.db, store, settings, *args).await
        }
        Command::Demo => {
            let deps = connect(&cli.db, Open::OrCreate, given)?;
            demo::set_up(&deps, "127.0.0.1:8080".parse()?).await
        }
        Command::Tenants(command) => {
            let mode = if command.creates() { Open::OrCreate } else { Open::Existing };
            let deps = connect(&cli.db, mode, |name| given(name).or_else(|| public_url(name)))?;
            commands::tenants::run(&deps, command).await
        }
        Command::Users(command) => {
            // Printed sign-in links start with the public URL serve is given.
            let deps = connect(&cli.db, Open::Existing, |name| given(name).or_else(|| public_url(name)))?;
            commands::users::run(&deps, command).await
        }
        Command::Quarantine(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::quarantine::run(&deps, command).await
        }
        Command::TrackingPage(command) => {
            // The page's address in what is printed comes from the public URL serve is given.
            let deps = connect(&cli.db, Open::Existing, |name| given(name).or_else(|| public_url(name)))?;
            commands::tracking_page::run(&deps, command).await
        }
        Command::NotificationRules(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::notification_rules::run(&deps, command).await
        }
        Command::Notifications(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::notifications::run(&deps, command).await
        }
        Command::Orders(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::orders::run(&deps, command).await
        }
        Command::Returns(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::returns::run(&deps, command).await
        }
        Command::Analytics(command) => {
            let settings = Settings::from_vars(given).map_err(commands::serve::name_the_flag)?;
            let store = database::open(&cli.db, Open::Existing)?;
            let deps = wire(&cli.db, store.clone(), &settings)?;
            commands::analytics::run(&deps, &store, command).await
        }
        Command::Reports(command) => {
            let deps = connect(&cli.db, Open::Existing, |name| given(name).or_else(|| public_url(name)))?;
            commands::reports::run(&deps, command).await
        }
        Command::Edd(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::edd::run(&deps, command).await
        }
        Command::Import(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::import::run(&deps, command).await
        }
        Command::Secrets(command) => {
            if matches!(command, commands::secrets::SecretsCommand::Rotate) {
                database::open(&cli.db, Open::Existing)?;
                commands::secrets::rotate_key_file(&cli.db, key_given)?;
            }
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::secrets::reseal(&deps).await
        }
        Command::Export(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::export::run(&deps, command).await
        }
        Command::Privacy(command) => {
            let deps = connect(&cli.db, Open::Existing, given)?;
            commands::privacy::run(&deps, command).await
        }
        Command::Connectors(command) => {
            // A backfill calls the store's API as webhooks are sent: private addresses only
            // when the operator allows them (development, tests).
            let private =
                |name: &str| (name == var::ALLOW_PRIVATE_WEBHOOKS).then(|| std::env::var(name).ok()).flatten();
            let deps = connect(&cli.db, Open::Existing, |name| given(name).or_else(|| private(name)))?;
            commands::connectors::run(&deps, command).await
        }
    }
}

/// `PORCHLIGHT_PUBLIC_URL` from the environment when `name` asks for it: commands that print
/// links (pages, reports, sign-in links) start them with the address serve is given.
fn public_url(name: &str) -> Option<String> {
    (name == var::PUBLIC_URL).then(|| std::env::var(name).ok()).flatten()
}

/// The use cases on the database at `db`, with the settings `var` gives (the operator verbs
/// need only the secret key of them).
fn connect(db: &std::path::Path, mode: Open, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Deps> {
    let settings = Settings::from_vars(var).map_err(commands::serve::name_the_flag)?;
    wire(db, database::open(db, mode)?, &settings)
}

/// Wires the use cases on `store`: its queue, the system clock, real carrier HTTP.
fn wire(
    db: &std::path::Path,
    store: porchlight::adapters::sqlite::SqliteStore,
    settings: &Settings,
) -> anyhow::Result<Deps> {
    let secrets = database::secret_box(db, settings.secret_key.clone()).context("the secret key")?;
    let queue = Arc::new(store.clone());
    let http = Arc::new(ReqwestClient::new(settings.carrier_timeout));
    let webhook_http = Arc::new(ReqwestClient::for_webhooks(app::webhooks::TIMEOUT, settings.webhook_targets));
    // Shoppers' photos of returned items, in a folder beside the database.
    let blobs = Arc::new(porchlight::adapters::blobs::FolderBlobs::new(db.with_extension("blobs")));
    let ports = Ports::of_store(store, queue, Arc::new(SystemClock), http, webhook_http, blobs);
    Ok(Deps::new(ports, secrets, settings))
}
