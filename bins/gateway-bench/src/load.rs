//! The load run: sessions, warm-up, then the measured phase with `/proc` readings around it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{self, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::args::LoadArgs;
use crate::check;
use crate::plan::{self, Plan, Session};
use crate::procstat::{self, ProcSample};
use crate::report::{Latency, ProcessReport, Report, round2};

/// Highest latency the histogram tracks (larger values are clamped).
const MAX_LATENCY_NS: u64 = 300_000_000_000;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Shared by every worker of a run.
struct Ctx {
    client: HttpClient,
    plan: Plan,
    timeout: Duration,
    deadline: Instant,
}

/// What one worker saw.
struct Tally {
    latencies: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    first_error: Option<String>,
    done: u64,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)?,
            errors: BTreeMap::new(),
            first_error: None,
            done: 0,
        })
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.latencies.add(&other.latencies)?;
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.first_error = self.first_error.take().or(other.first_error);
        self.done += other.done;
        Ok(())
    }
}

/// Builds the runtime and runs `args` to completion.
pub(crate) fn main(args: LoadArgs) -> anyhow::Result<Report> {
    if args.concurrency == 0 || args.threads == 0 {
        bail!("--concurrency and --threads must be at least 1");
    }
    if !(args.timeout_s > 0.0 && args.timeout_s.is_finite()) {
        bail!("--timeout-s must be a positive number of seconds");
    }
    let plan = Plan::new(&args)?;
    let pids = args
        .pids
        .iter()
        .map(|spec| {
            let (name, pid) = spec
                .split_once('=')
                .with_context(|| format!("--pid {spec:?}: expected NAME=PID"))?;
            pid.parse::<u32>()
                .with_context(|| format!("--pid {spec:?}: PID is not a number"))?;
            Ok((name.to_owned(), pid.to_owned()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(args, plan, pids))
}

async fn run(args: LoadArgs, plan: Plan, pids: Vec<(String, String)>) -> anyhow::Result<Report> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build(connector);
    let ctx = Arc::new(Ctx {
        client,
        plan,
        timeout: Duration::from_secs_f64(args.timeout_s),
        deadline: Instant::now() + Duration::from_secs(args.max_seconds),
    });

    let sessions = if ctx.plan.needs_session() {
        let opening = (0..args.concurrency).map(|_| open_session(&ctx));
        futures_join_all(opening).await?
    } else {
        vec![None; args.concurrency]
    };
    let sessions = Arc::new(sessions);

    if args.warmup > 0 {
        let warm = phase(&ctx, &sessions, args.warmup, 0).await?;
        if warm.done > 0 && warm.errors.values().sum::<u64>() == warm.done {
            bail!(
                "every warm-up request failed ({:?}); first: {}",
                warm.errors,
                warm.first_error.unwrap_or_default()
            );
        }
    }

    let ticks_per_second = procstat::clock_ticks_per_second();
    let before: Vec<ProcSample> = pids
        .iter()
        .map(|(_, pid)| procstat::sample(pid))
        .collect::<anyhow::Result<_>>()?;
    let me_before = procstat::sample("self")?;
    let started = Instant::now();
    let tally = phase(&ctx, &sessions, args.requests, args.warmup).await?;
    let elapsed = started.elapsed();
    let me_after = procstat::sample("self")?;
    let mut processes = BTreeMap::new();
    for ((name, pid), before) in pids.iter().zip(before) {
        let after = procstat::sample(pid)?;
        let report = ProcessReport::new(pid, before, after, ticks_per_second, tally.done, elapsed);
        processes.insert(name.clone(), report);
    }
    let errors = tally.errors.values().sum();
    Ok(Report {
        label: args.label,
        mode: args.mode.as_str(),
        url: args.url,
        requests: args.requests,
        completed: tally.done,
        not_run: args.requests.saturating_sub(tally.done),
        concurrency: args.concurrency,
        warmup: args.warmup,
        threads: args.threads,
        elapsed_s: round2(elapsed.as_secs_f64() * 1000.0) / 1000.0,
        rps: round2(tally.done as f64 / elapsed.as_secs_f64().max(1e-9)),
        errors,
        error_kinds: tally.errors,
        first_error: tally.first_error,
        latency_us: Latency::from_nanos(&tally.latencies),
        processes,
        client: ProcessReport::new(
            "self",
            me_before,
            me_after,
            ticks_per_second,
            tally.done,
            elapsed,
        ),
    })
}

/// Awaits every future (spawned, so sessions open concurrently), failing on the first error.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> anyhow::Result<Vec<T>>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await??);
    }
    Ok(out)
}

/// Opens one legacy session: `initialize`, then `notifications/initialized`.
fn open_session(
    ctx: &Arc<Ctx>,
) -> impl std::future::Future<Output = anyhow::Result<Option<Session>>> + Send + 'static {
    let ctx = Arc::clone(ctx);
    async move {
        let response = tokio::time::timeout(ctx.timeout, ctx.client.request(ctx.plan.initialize()))
            .await
            .context("initialize timed out")?
            .context("initialize failed")?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        if !parts.status.is_success() {
            bail!("initialize answered {}", parts.status);
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let result = check::rpc_result(content_type, &bytes)
            .map_err(|kind| anyhow::anyhow!("initialize: {kind}"))?;
        let version = serde_json::from_str::<serde_json::Value>(&result)?
            .get("protocolVersion")
            .and_then(|v| v.as_str())
            .map(HeaderValue::from_str)
            .transpose()?
            .unwrap_or(HeaderValue::from_static(plan::LEGACY_VERSION));
        let session = Session {
            id: plan::session_id(&parts.headers),
            version,
        };
        let ack = ctx.client.request(ctx.plan.initialized(&session)).await?;
        if !ack.status().is_success() {
            bail!("notifications/initialized answered {}", ack.status());
        }
        ack.into_body().collect().await?;
        Ok(Some(session))
    }
}

/// Runs `count` requests over `sessions.len()` workers; sequence numbers start at `first`.
async fn phase(
    ctx: &Arc<Ctx>,
    sessions: &Arc<Vec<Option<Session>>>,
    count: u64,
    first: u64,
) -> anyhow::Result<Tally> {
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..sessions.len())
        .map(|w| {
            let (ctx, sessions, next) = (Arc::clone(ctx), Arc::clone(sessions), Arc::clone(&next));
            tokio::spawn(
                async move { worker(&ctx, sessions[w].as_ref(), &next, count, first).await },
            )
        })
        .collect();
    let mut total = Tally::new()?;
    for handle in workers {
        total.merge(handle.await??)?;
    }
    Ok(total)
}

async fn worker(
    ctx: &Ctx,
    session: Option<&Session>,
    next: &AtomicU64,
    count: u64,
    first: u64,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    loop {
        if Instant::now() >= ctx.deadline {
            break;
        }
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= count {
            break;
        }
        let request = ctx.plan.request(first + n, session);
        let started = Instant::now();
        let outcome = one(ctx, request).await;
        let took = started.elapsed();
        tally.done += 1;
        match outcome {
            Ok(()) => {
                let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
                tally.latencies.saturating_record(ns.max(1));
            }
            Err((kind, detail)) => {
                if tally.first_error.is_none() {
                    tally.first_error = Some(format!("{kind}: {detail}"));
                }
                *tally.errors.entry(kind).or_default() += 1;
            }
        }
    }
    Ok(tally)
}

/// Sends one request and judges the response: `Err((kind, detail))` on failure.
async fn one(ctx: &Ctx, request: hyper::Request<Full<Bytes>>) -> Result<(), (String, String)> {
    let exchange = async {
        let response = ctx.client.request(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, bytes))
    };
    let (parts, bytes) = match tokio::time::timeout(ctx.timeout, exchange).await {
        Err(_) => return Err(("timeout".to_owned(), format!("after {:?}", ctx.timeout))),
        Ok(Err(e)) => return Err(("transport".to_owned(), error_chain(&*e))),
        Ok(Ok(exchange)) => exchange,
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let session = plan::session_id(&parts.headers);
    check::check(
        ctx.plan.expect(),
        parts.status,
        content_type,
        session.is_some(),
        &bytes,
    )
    .map_err(|kind| {
        let snippet = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        (kind, snippet)
    })?;
    match session {
        Some(id) if ctx.plan.closes_sessions() => close(ctx, id).await,
        _ => Ok(()),
    }
}

/// `DELETE`s session `id`, expecting 2xx.
async fn close(ctx: &Ctx, id: HeaderValue) -> Result<(), (String, String)> {
    let exchange = async {
        let response = ctx.client.request(ctx.plan.delete(id)).await?;
        let status = response.status();
        response.into_body().collect().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(status)
    };
    match tokio::time::timeout(ctx.timeout, exchange).await {
        Err(_) => Err((
            "timeout".to_owned(),
            format!("DELETE after {:?}", ctx.timeout),
        )),
        Ok(Err(e)) => Err(("transport".to_owned(), error_chain(&*e))),
        Ok(Ok(status)) if status.is_success() => Ok(()),
        Ok(Ok(status)) => Err((
            format!("delete_status_{}", status.as_u16()),
            "DELETE of the session just opened".to_owned(),
        )),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
