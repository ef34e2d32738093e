//! Times a function's `bootstrap` the way the Lambda service sees it: the binary from the
//! function's zip runs as a child process against a Lambda Runtime API served here on
//! 127.0.0.1, with the table and queues on the moto emulator (`AWS_ENDPOINT_URL`).
//!
//! - **init** is the time from starting the process to its first `GET
//!   /runtime/invocation/next`, what Lambda reports as "Init Duration";
//! - **handler** is the time from handing an event out (the answer to `next`) to receiving
//!   the function's response, what Lambda bills as "Duration";
//! - the process's log output is counted, per invocation, for the cost of CloudWatch Logs.
//!
//! Usage: `lambda_timing <bootstrap> <event.json> <cold starts> <warm invocations>`;
//! `scripts/lambda-timing.sh` builds the zips and runs it for every function. It also proves
//! that each zip boots and answers its sample event: an error from the function, or an HTTP
//! answer of 5xx, fails the run.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use porchlight::ports::{QueueName, WorkQueue};
use porchlight_aws::Runtime;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

mod support;

/// The memory the template gives every function; Lambda passes it to the runtime.
const MEMORY_MB: &str = "256";
/// How long one invocation may take before the run fails.
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, event, cold, warm] = args.as_slice() else {
        bail!("usage: lambda_timing <bootstrap> <event.json> <cold starts> <warm invocations>");
    };
    let (cold, warm): (usize, usize) = (
        cold.parse().context("cold starts must be a number")?,
        warm.parse().context("warm invocations must be a number")?,
    );
    ensure!(cold >= 1, "at least one cold start is needed");
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(event).with_context(|| format!("reading {event}"))?)
            .with_context(|| format!("{event} is not JSON"))?;
    let name = Path::new(bootstrap)
        .parent()
        .and_then(|p| p.file_name())
        .map_or("function".into(), |n| n.to_string_lossy().into_owned());
    let (environment, runtime) = environment(&event).await?;

    let mut inits = Vec::new();
    let (mut handler_times, mut sends, mut differences) = (Vec::new(), Vec::new(), Vec::new());
    let mut log_bytes = 0;
    for run in 0..cold {
        let mut child = Child::start(bootstrap, &environment).await?;
        inits.push(child.initialised().await?);
        // The first invocation of a fresh process; the warm ones follow in the last run.
        child.invoke(&event).await?;
        if run + 1 == cold {
            let logged = child.logged().await?;
            for _ in 0..warm {
                let took = child.invoke(&event).await?;
                // What the emulator alone takes for the call every function makes at least
                // once, right after, under the same conditions.
                let started = Instant::now();
                runtime.queues.send_batch(QueueName::CarrierUpdates, &[b"{}".to_vec()]).await?;
                let send = started.elapsed();
                handler_times.push(took);
                sends.push(send);
                differences.push(took.saturating_sub(send));
            }
            log_bytes = child.logged().await? - logged;
        }
        child.stop().await;
    }
    println!("{name}: init {} over {cold} cold starts", summary(&mut inits));
    if warm > 0 {
        println!(
            "{name}: warm handler {} over {warm} invocations; {} bytes logged per invocation",
            summary(&mut handler_times),
            log_bytes / warm as u64
        );
        println!("{name}:   one SQS send to the emulator from this process, after each {}", summary(&mut sends));
        println!("{name}:   the handler less that send {}", summary(&mut differences));
    }
    Ok(())
}

/// The process environment Lambda would give the function: the template's settings, on a
/// fresh table and queues in the emulator, with a merchant whose key the sample API event
/// carries.
async fn environment(event: &Value) -> anyhow::Result<(Vec<(String, String)>, Runtime)> {
    support::emulator()?;
    let mut environment = support::settings();
    for (name, value) in [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/porchlight-timing"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "timing"),
    ] {
        environment.push((name.into(), value.into()));
    }
    for name in ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "PATH"] {
        environment.push((name.into(), std::env::var(name).with_context(|| format!("{name} is not set"))?));
    }
    let config = support::config(&environment)?;
    let runtime = Runtime::connect(&config).await;
    support::create_resources(&runtime, &config).await?;
    if event.pointer("/headers/as-api-key").is_some() {
        support::add_merchant(&runtime, event).await?;
    }
    Ok((environment, runtime))
}

/// One function process and the Runtime API it talks to.
struct Child {
    process: tokio::process::Child,
    log: std::path::PathBuf,
    started: Instant,
    runtime: Arc<RuntimeApi>,
    server: tokio::task::JoinHandle<()>,
    answers: mpsc::Receiver<Answer>,
}

impl Child {
    async fn start(bootstrap: &str, environment: &[(String, String)]) -> anyhow::Result<Child> {
        let (answered, answers) = mpsc::channel(1);
        let (runtime, listener) = RuntimeApi::bind(answered).await?;
        let address = listener.local_addr()?;
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        let log = std::env::temp_dir().join(format!("porchlight-timing-{}.log", uuid::Uuid::new_v4().simple()));
        let output = std::fs::File::create(&log)?;
        let started = Instant::now();
        let process = tokio::process::Command::new(bootstrap)
            .env_clear()
            .envs(environment.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "porchlight-timing")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {bootstrap}"))?;
        Ok(Child { process, log, started, runtime, server, answers })
    }

    /// The time until the process first asks for an event.
    async fn initialised(&mut self) -> anyhow::Result<Duration> {
        let mut polled = self.runtime.first_poll.lock().await;
        let at = tokio::time::timeout(DEADLINE, polled.recv())
            .await
            .ok()
            .flatten()
            .with_context(|| format!("the function never asked for an event; its log: {}", self.log_text()))?;
        Ok(at - self.started)
    }

    /// Hands `event` to the function and waits for its answer; the handler time. A scheduled
    /// event is dated now, as EventBridge sends it (the poller covers the minute before it).
    async fn invoke(&mut self, event: &Value) -> anyhow::Result<Duration> {
        let mut event = event.clone();
        if event["source"] == "aws.events" {
            event["time"] = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
        }
        self.runtime.events.send(event).await.context("runtime api stopped")?;
        let answer = tokio::time::timeout(DEADLINE, self.answers.recv())
            .await
            .ok()
            .flatten()
            .with_context(|| format!("no answer within {DEADLINE:?}; the function's log: {}", self.log_text()))?;
        if answer.failed {
            bail!("the function reported an error: {}", answer.body);
        }
        let answer_body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if let Some(status) = answer_body.get("statusCode").and_then(Value::as_u64) {
            ensure!(status < 500, "the function answered HTTP {status}: {}", answer.body);
        }
        Ok(answer.took)
    }

    async fn logged(&self) -> anyhow::Result<u64> {
        // Let the process flush what it wrote for the last answer.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(std::fs::metadata(&self.log)?.len())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn stop(mut self) {
        self.process.kill().await.ok();
        self.server.abort();
        std::fs::remove_file(&self.log).ok();
    }
}

/// The Runtime API's state: events waiting to be handed out, when each was handed out, and
/// where answers go.
struct RuntimeApi {
    events: mpsc::Sender<Value>,
    waiting: Mutex<mpsc::Receiver<Value>>,
    first_poll: Mutex<mpsc::Receiver<Instant>>,
    polled: mpsc::Sender<Instant>,
    handed_out: Mutex<HashMap<String, Instant>>,
    answered: mpsc::Sender<Answer>,
}

struct Answer {
    took: Duration,
    failed: bool,
    body: String,
}

impl RuntimeApi {
    async fn bind(answered: mpsc::Sender<Answer>) -> anyhow::Result<(Arc<RuntimeApi>, tokio::net::TcpListener)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (events, waiting) = mpsc::channel(1);
        let (polled, first_poll) = mpsc::channel(1);
        let runtime = RuntimeApi {
            events,
            waiting: Mutex::new(waiting),
            first_poll: Mutex::new(first_poll),
            polled,
            handed_out: Mutex::default(),
            answered,
        };
        Ok((Arc::new(runtime), listener))
    }

    async fn answer(&self, id: &str, failed: bool, body: String) -> StatusCode {
        let now = Instant::now();
        let Some(handed_out) = self.handed_out.lock().await.remove(id) else {
            return StatusCode::NOT_FOUND;
        };
        self.answered.send(Answer { took: now - handed_out, failed, body }).await.ok();
        StatusCode::ACCEPTED
    }
}

async fn next(State(runtime): State<Arc<RuntimeApi>>) -> (HeaderMap, String) {
    // Only the first poll matters to the init time; later ones find the channel full.
    runtime.polled.try_send(Instant::now()).ok();
    let event = runtime.waiting.lock().await.recv().await.unwrap_or(Value::Null);
    let id = uuid::Uuid::new_v4().to_string();
    let deadline = chrono::Utc::now().timestamp_millis() + DEADLINE.as_millis() as i64;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:porchlight-timing".into(),
        ),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
    ] {
        headers.insert(name, value.parse().expect("a valid header value"));
    }
    let body = event.to_string();
    runtime.handed_out.lock().await.insert(id, Instant::now());
    (headers, body)
}

async fn response(State(runtime): State<Arc<RuntimeApi>>, UrlPath(id): UrlPath<String>, body: String) -> StatusCode {
    runtime.answer(&id, false, body).await
}

async fn error(State(runtime): State<Arc<RuntimeApi>>, UrlPath(id): UrlPath<String>, body: String) -> StatusCode {
    runtime.answer(&id, true, body).await
}

async fn init_error(body: String) -> StatusCode {
    eprintln!("the function failed to start: {body}");
    StatusCode::ACCEPTED
}

/// "p50 x ms, p90 y ms, p99 z ms, max w ms" of `times`.
fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    format!("p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms", at(0.5), at(0.9), at(0.99), at(1.0))
}
