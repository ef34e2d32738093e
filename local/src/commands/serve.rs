//! `porchlight serve`: the merchant API, the admin API and carriers' webhooks on one listener,
//! with the workers that Lambda triggers run on AWS.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use porchlight::adapters::outbox::OutboxMessenger;
use porchlight::adapters::smtp::SmtpMessenger;
use porchlight::adapters::sqlite::SqliteStore;
use porchlight::app::{self, BatchingQueue, Deps};
use porchlight::ports::Messenger;
use porchlight::settings::{Settings, SettingsError, var};

/// `serve`'s flags. Those that are shared settings read the same variables as on Lambda
/// (`porchlight::settings::var`); a flag wins over its variable.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORCHLIGHT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Also set up the demo shop and print its API key before serving.
    #[arg(long)]
    pub demo: bool,
    /// A carrier's webhook secret, `SLUG=SECRET`; repeat for several carriers. The environment
    /// variable takes them comma-separated.
    #[arg(long = "webhook-secret", env = "PORCHLIGHT_WEBHOOK_SECRETS", hide_env_values = true, value_delimiter = ',')]
    webhook_secrets: Vec<String>,
    /// The operator's token for the admin API (merchants, quarantine, counters); the admin API
    /// is off without one.
    #[arg(long, env = "PORCHLIGHT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The operator's carrier accounts, JSON `{"<slug>": {"<field>": "<value>"}}`: polls use
    /// one for a carrier when the merchant has no connection of their own.
    #[arg(long, env = "PORCHLIGHT_CARRIER_ACCOUNTS", hide_env_values = true)]
    carrier_accounts: Option<String>,
    /// Seconds between poll runs [default: 60].
    #[arg(long, env = "PORCHLIGHT_POLL_EVERY")]
    poll_every: Option<String>,
    /// Shipments one round of a poll run takes at most [default: 500].
    #[arg(long, env = "PORCHLIGHT_POLL_BATCH")]
    poll_batch: Option<String>,
    /// Poll interval override, in seconds, for every status that is polled: `SLUG=SECONDS` for
    /// a carrier, `TENANT_ID:SLUG=SECONDS` for one tenant's shipments with it,
    /// `TENANT_ID:*=SECONDS` for all of a tenant's. Repeatable; comma-separated in the
    /// environment.
    #[arg(long = "poll-interval", env = "PORCHLIGHT_POLL_INTERVALS", value_delimiter = ',')]
    poll_intervals: Vec<String>,
    /// Seconds before a carrier request is abandoned [default: 20].
    #[arg(long, env = "PORCHLIGHT_CARRIER_TIMEOUT")]
    carrier_timeout: Option<String>,
    /// Days a finished shipment is kept after its last change; unset keeps everything.
    #[arg(long, env = "PORCHLIGHT_RETENTION_DAYS")]
    retention_days: Option<String>,
    /// Days a finished shipment keeps its shoppers' names, contacts and street address after
    /// its last change (at most --retention-days); unset keeps them with the shipment.
    #[arg(long, env = "PORCHLIGHT_PERSONAL_DATA_DAYS")]
    personal_data_days: Option<String>,
    /// Where shoppers reach the tracking pages, for the links in tracking answers
    /// [default: http://<listen address>].
    #[arg(long, env = "PORCHLIGHT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Tracking page lookups one client address may make per minute [default: 30].
    #[arg(long, env = "PORCHLIGHT_PAGE_LOOKUPS_PER_MINUTE")]
    page_lookups_per_minute: Option<String>,
    /// Console sign-ins (and password reset requests) one client address may make per minute
    /// [default: 10].
    #[arg(long, env = "PORCHLIGHT_CONSOLE_SIGN_INS_PER_MINUTE")]
    console_sign_ins_per_minute: Option<String>,
    /// Public page requests (tracking pages, the returns portal, unsubscribing) one client
    /// address may make per minute [default: 600].
    #[arg(long, env = "PORCHLIGHT_PAGE_VIEWS_PER_MINUTE")]
    page_views_per_minute: Option<String>,
    /// Carrier and storefront webhook requests one sending address may make per minute (429
    /// beyond, which senders retry) [default: 12000].
    #[arg(long, env = "PORCHLIGHT_WEBHOOKS_PER_MINUTE")]
    webhooks_per_minute: Option<String>,
    /// Requests per second one API key may make to the merchant APIs (AfterShip's 429 beyond,
    /// with its `as-ratelimit-*` headers) [default: no limit].
    #[arg(long, env = "PORCHLIGHT_RATE_LIMIT")]
    rate_limit: Option<String>,
    /// Where notifications are written, one `.eml` file per email and one `.sms.json` per
    /// SMS [default: `outbox/` beside the database].
    #[arg(long, env = "PORCHLIGHT_OUTBOX")]
    pub outbox: Option<std::path::PathBuf>,
    /// Lets merchants' webhooks target http, any port and loopback or private addresses
    /// (development and tests only: it makes Porchlight a way into the network it runs in).
    #[arg(long, env = "PORCHLIGHT_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
    /// Send emails through this SMTP server instead of the outbox (SMS still go to the outbox):
    /// `smtp://[user:password@]host[:port]` plain, `...?tls=starttls` upgrading with STARTTLS,
    /// or `smtps://...` TLS throughout.
    #[arg(long, env = "PORCHLIGHT_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// PEM certificates of authorities to trust for the SMTP server's TLS certificate, beside
    /// the system's (a relay with a private authority).
    #[arg(long, env = "PORCHLIGHT_SMTP_CA_FILE", requires = "smtp_url")]
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// The address notifications are sent from, under each merchant's name.
    #[arg(long, env = "PORCHLIGHT_MAIL_FROM", default_value = "notifications@localhost")]
    pub mail_from: String,
}

impl ServeArgs {
    /// The value given for shared setting `name`, by flag or environment.
    pub fn setting(&self, name: &str) -> Option<String> {
        let list = |values: &[String]| (!values.is_empty()).then(|| values.join(","));
        match name {
            var::WEBHOOK_SECRETS => list(&self.webhook_secrets),
            var::ADMIN_TOKEN => self.admin_token.clone(),
            var::CARRIER_ACCOUNTS => self.carrier_accounts.clone(),
            var::POLL_EVERY => self.poll_every.clone(),
            var::POLL_BATCH => self.poll_batch.clone(),
            var::POLL_INTERVALS => list(&self.poll_intervals),
            var::CARRIER_TIMEOUT => self.carrier_timeout.clone(),
            var::RETENTION_DAYS => self.retention_days.clone(),
            var::PERSONAL_DATA_DAYS => self.personal_data_days.clone(),
            var::PUBLIC_URL => self.public_url.clone(),
            var::PAGE_LOOKUPS_PER_MINUTE => self.page_lookups_per_minute.clone(),
            var::CONSOLE_SIGN_INS_PER_MINUTE => self.console_sign_ins_per_minute.clone(),
            var::PAGE_VIEWS_PER_MINUTE => self.page_views_per_minute.clone(),
            var::WEBHOOKS_PER_MINUTE => self.webhooks_per_minute.clone(),
            var::RATE_LIMIT => self.rate_limit.clone(),
            var::ALLOW_PRIVATE_WEBHOOKS => self.allow_private_webhooks.then(|| "true".to_owned()),
            _ => None,
        }
    }
}

/// `error` with the flag that sets its variable named too: a person at a terminal typed that.
pub fn name_the_flag(error: SettingsError) -> anyhow::Error {
    let flag = match &error {
        SettingsError::Missing(name) | SettingsError::Invalid { name, .. } => match *name {
            var::SECRET_KEY => "--secret-key",
            var::PREVIOUS_SECRET_KEYS => "--previous-secret-keys",
            var::WEBHOOK_SECRETS => "--webhook-secret",
            var::ADMIN_TOKEN => "--admin-token",
            var::CARRIER_ACCOUNTS => "--carrier-accounts",
            var::POLL_EVERY => "--poll-every",
            var::POLL_BATCH => "--poll-batch",
            var::POLL_INTERVALS => "--poll-interval",
            var::CARRIER_TIMEOUT => "--carrier-timeout",
            var::RETENTION_DAYS => "--retention-days",
            var::PERSONAL_DATA_DAYS => "--personal-data-days",
            var::PUBLIC_URL => "--public-url",
            var::PAGE_LOOKUPS_PER_MINUTE => "--page-lookups-per-minute",
            var::CONSOLE_SIGN_INS_PER_MINUTE => "--console-sign-ins-per-minute",
            var::PAGE_VIEWS_PER_MINUTE => "--page-views-per-minute",
            var::WEBHOOKS_PER_MINUTE => "--webhooks-per-minute",
            var::RATE_LIMIT => "--rate-limit",
            var::ALLOW_PRIVATE_WEBHOOKS => "--allow-private-webhooks",
            _ => return error.into(),
        },
    };
    anyhow::anyhow!("{flag}: {error}")
}

/// Serves until SIGINT or SIGTERM, then finishes the requests and worker rounds in hand.
pub async fn run(db: &Path, store: SqliteStore, settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    let released = store.release_all_leases().await.context("recovering the queue, the ledger and the deliveries")?;
    if released > 0 {
        tracing::info!(released, "leases held by a previous process released");
    }
    let mut deps = crate::wire(db, store.clone(), &settings)?;
    if deps.public_url.is_none() {
        deps.public_url = Some(Arc::from(default_public_url(args.listen)));
    }
    if args.demo {
        crate::demo::set_up(&deps, args.listen).await?;
    }
    // Webhook intake shares transactions: concurrent requests commit together.
    deps.queue = BatchingQueue::spawn(Arc::clone(&deps.queue), 256);
    let (polled, pushed) = app::carriers_tracked_live(&deps);
    tracing::info!(
        polled = %polled.join(","),
        webhooks = %pushed.join(","),
        "carriers tracked live; others only through merchants' courier connections"
    );
    let outbox_dir = args.outbox.clone().unwrap_or_else(|| db.with_file_name("outbox"));
    let outbox = OutboxMessenger::new(&outbox_dir, &args.mail_from)
        .with_context(|| format!("making the outbox {}", outbox_dir.display()))?;
    let messenger: Arc<dyn Messenger> = match &args.smtp_url {
        Some(url) => {
            let authorities = match &args.smtp_ca_file {
                Some(path) => {
                    Some(std::fs::read(path).with_context(|| format!("--smtp-ca-file: reading {}", path.display()))?)
                }
                None => None,
            };
            let smtp = SmtpMessenger::new(url, &args.mail_from, authorities.as_deref(), outbox)
                .map_err(|e| anyhow::anyhow!("--smtp-url (PORCHLIGHT_SMTP_URL) {e}"))?;
            tracing::info!(sms_outbox = %outbox_dir.display(), "emails go to the smtp server, sms to the outbox");
            Arc::new(smtp)
        }
        None => {
            tracing::info!(outbox = %outbox_dir.display(), "notifications go to the outbox");
            Arc::new(outbox)
        }
    };
    serve(deps, store, &settings, args.listen, messenger).await
}

/// `http://<listen address>`, with `localhost` for an address that listens everywhere.
fn default_public_url(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("http://localhost:{}", listen.port())
    } else {
        format!("http://{listen}")
    }
}

async fn serve(
    deps: Deps,
    store: SqliteStore,
    settings: &Settings,
    listen: SocketAddr,
    messenger: Arc<dyn Messenger>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving the merchant api and the tracking pages");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = crate::workers::spawn(deps.clone(), store, settings, messenger, stopped);
    crate::listener::serve(listener, porchlight::api::router(deps), shutdown_signal()).await;
    let _ = stop.send(true);
    workers.await;
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
