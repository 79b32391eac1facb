//! The relay against in-process fake upstreams (`Upstream::fake`), with paused tokio
//! time: which of 502/503/504 a failed call gets, when it is retried, the retry budget,
//! cancellation, and dedicated sessions counting in their instance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use gateway_balancer::InFlightCounter;
use gateway_core::{
    EndpointUrl, Headers, HealthStatus, Instance, InstanceId, InstanceSpec, LoadBalancerSettings,
    Strategy, TemplateName, Transport, Weight,
    jsonrpc::{ErrorObject, Outcome, Response, to_raw},
    mcp::Method,
};
use gateway_health::{HealthBoard, HealthPolicy, Outcome as Health, RetryBudget};
use gateway_transport::{
    Connector, Error, Options as TransportOptions, Upstream, test_util::Failure,
};
use serde_json::json;

use super::*;
use crate::registry::{InstanceHandle, InstanceStats, Routing, RoutingTable, TemplateRoute};

/// What a fake instance does with every call.
#[derive(Clone, Copy, Debug)]
enum Play {
    /// Answers `{"ok": true}`.
    Answer,
    /// Answers with a JSON-RPC error.
    RpcError,
    /// Refuses the connection: nothing is sent.
    Refuse,
    /// Takes the request, then the link closes.
    Break,
    /// Never answers (times out at the call's deadline, as the transports do).
    Hang,
}

/// One fake instance: its handle, how many calls reached it, whether a call on it was
/// dropped before it finished.
struct Fake {
    handle: Arc<InstanceHandle>,
    calls: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

/// Sets its flag when dropped unfinished (an abandoned upstream call).
struct DropFlag(Arc<AtomicBool>, bool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn fake_upstream(id: &InstanceId, play: Play) -> (Upstream, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let (c, d, instance) = (calls.clone(), dropped.clone(), id.clone());
    let upstream = Upstream::fake(id.clone(), Transport::Http, move |request, options| {
        c.fetch_add(1, Ordering::SeqCst);
        let (d, instance) = (d.clone(), instance.clone());
        async move {
            let mut flag = DropFlag(d, false);
            let reply = match play {
                Play::Answer => Ok(Response::result(request.id, to_raw(&json!({"ok": true})))),
                Play::RpcError => Ok(Response::error(
                    Some(request.id),
                    &ErrorObject::new(-32602, "no such tool"),
                )),
                Play::Refuse => Err(Error::fake(&instance, Failure::Refused)),
                Play::Break => Err(Error::fake(&instance, Failure::Broke)),
                Play::Hang => {
                    let deadline = options.timeout.unwrap();
                    let _ = tokio::time::timeout(deadline, std::future::pending::<()>()).await;
                    Err(Error::fake(&instance, Failure::TimedOut(deadline)))
                }
            };
            flag.1 = true;
            reply
        }
    });
    (upstream, calls, dropped)
}

fn instance(template: &str, id: &str) -> Instance {
    Instance {
        id: InstanceId::parse(id).unwrap(),
        template: TemplateName::parse(template).unwrap(),
        spec: InstanceSpec::Http {
            url: EndpointUrl::parse("http://127.0.0.1:9/mcp").unwrap(),
            headers: Headers::default(),
        },
        weight: Weight::ONE,
        metadata: Default::default(),
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

fn fake(board: &HealthBoard, template: &str, id: &str, play: Play) -> Fake {
    fake_gated(board, template, id, play, (1024, 1024))
}

/// A fake instance whose admission gate has `(max_in_flight, max_pending)`.
fn fake_gated(
    board: &HealthBoard,
    template: &str,
    id: &str,
    play: Play,
    (slots, queue): (usize, usize),
) -> Fake {
    let instance = instance(template, id);
    let (upstream, calls, dropped) = fake_upstream(&instance.id, play);
    let handle = Arc::new(InstanceHandle {
        health: board.cell(&instance.id, HealthStatus::Unknown),
        instance,
        upstream,
        counter: InFlightCounter::new(),
        gate: gateway_health::AdmissionGate::new(slots, queue),
        stats: InstanceStats::default(),
        ops: Default::default(),
    });
    Fake {
        handle,
        calls,
        dropped,
    }
}

/// A relay serving template `t` over instances playing `plays`.
struct Setup {
    relay: Relay,
    fakes: Vec<Fake>,
}

fn setup(plays: &[Play], max_retries: u32, timeout_secs: u64, budget: RetryBudget) -> Setup {
    setup_gated(plays, max_retries, timeout_secs, budget, (1024, 1024))
}

/// [`setup`] with every instance's admission gate `(max_in_flight, max_pending)`.
fn setup_gated(
    plays: &[Play],
    max_retries: u32,
    timeout_secs: u64,
    budget: RetryBudget,
    gate: (usize, usize),
) -> Setup {
    let board = HealthBoard::new(HealthPolicy::default());
    let fakes: Vec<Fake> = plays
        .iter()
        .enumerate()
        .map(|(i, play)| fake_gated(&board, "t", &format!("t-{i}"), *play, gate))
        .collect();
    let settings =
        LoadBalancerSettings::new(Strategy::RoundRobin, 30, 10, max_retries, timeout_secs, 1)
            .unwrap();
    let name = TemplateName::parse("t").unwrap();
    let route = TemplateRoute::new(
        name.clone(),
        settings,
        Connector::new(TransportOptions::default()),
        fakes.iter().map(|f| f.handle.clone()).collect(),
    );
    let routing = Routing::default();
    routing.store(Arc::new(RoutingTable {
        templates: BTreeMap::from([(name, Arc::new(route))]),
    }));
    let relay = Relay::new(
        routing,
        budget,
        Arc::new(GatewayStats::new()),
        Credentials::default(),
    );
    Setup { relay, fakes }
}

impl Setup {
    async fn call(&self, method: Method) -> Result<Relayed, RelayError> {
        let call = Call::new(method, None);
        self.relay
            .call(Target::Template("t"), call, Options::default())
            .await
    }

    fn calls(&self) -> usize {
        self.fakes
            .iter()
            .map(|f| f.calls.load(Ordering::SeqCst))
            .sum()
    }
}

fn budget() -> RetryBudget {
    RetryBudget::default()
}

#[tokio::test(start_paused = true)]
async fn an_answer_is_returned_with_its_instance_and_counted() {
    let s = setup(&[Play::Answer], 3, 60, budget());
    let relayed = s.call(Method::ToolsList).await.unwrap();
    assert!(matches!(relayed.outcome, Outcome::Result(ref r) if r.get() == r#"{"ok":true}"#));
    assert_eq!(relayed.instance.instance.id.as_str(), "t-0");
    let stats = &s.fakes[0].handle.stats;
    assert_eq!(stats.requests.load(Ordering::Relaxed), 1);
    assert_eq!(stats.errors.load(Ordering::Relaxed), 0);
    assert_eq!(s.fakes[0].handle.counter.get(), 0, "no longer in flight");
}

#[tokio::test(start_paused = true)]
async fn an_upstream_json_rpc_error_is_an_answer_not_a_failure() {
    let s = setup(&[Play::RpcError, Play::RpcError], 3, 60, budget());
    let relayed = s.call(Method::ToolsCall).await.unwrap();
    assert!(matches!(relayed.outcome, Outcome::Error(_)));
    assert_eq!(s.calls(), 1, "not retried: the instance answered");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_spent_is_504() {
    let s = setup(&[Play::Hang, Play::Hang], 3, 5, budget());
    let started = tokio::time::Instant::now();
    let e = s.call(Method::ToolsList).await.err().unwrap();
    assert!(matches!(e, RelayError::TimedOut { .. }), "{e:?}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5),
        "one deadline for the call"
    );
    assert_eq!(
        s.calls(),
        1,
        "the deadline is spent: nothing left for a retry"
    );
    assert!(
        std::error::Error::source(&e).is_some(),
        "the transport error is the source"
    );
}

#[tokio::test(start_paused = true)]
async fn a_final_timeout_wins_over_an_earlier_broken_attempt() {
    let s = setup(&[Play::Break, Play::Hang], 3, 5, budget());
    // Round robin: one of the two calls breaks first, is retried (tools/list is
    // idempotent) and then times out; the other times out at once. Both are 504.
    for _ in 0..2 {
        let e = s.call(Method::ToolsList).await.err().unwrap();
        assert!(matches!(e, RelayError::TimedOut { .. }), "{e:?}");
    }
    assert_eq!(s.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_broke_at_the_upstream_is_502_and_not_retried() {
    let s = setup(&[Play::Break, Play::Answer, Play::Answer], 3, 60, budget());
    // Whichever instance comes first: a broken tools/call may have acted, so it is not
    // repeated; an answering first instance answers.
    let mut failed = 0;
    for _ in 0..3 {
        let before = s.calls();
        match s.call(Method::ToolsCall).await {
            Ok(_) => assert_eq!(s.calls(), before + 1),
            Err(e) => {
                assert!(matches!(e, RelayError::Failed { .. }), "{e:?}");
                assert_eq!(s.calls(), before + 1, "sent once, never again");
                failed += 1;
            }
        }
    }
    assert_eq!(
        failed, 1,
        "round robin gave the broken instance one call in three"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_sent_is_503_and_retried_even_for_tools_call() {
    let s = setup(&[Play::Refuse, Play::Refuse, Play::Answer], 3, 60, budget());
    for _ in 0..3 {
        assert!(
            s.call(Method::ToolsCall).await.is_ok(),
            "a refused connection moves on"
        );
    }
    let s = setup(&[Play::Refuse, Play::Refuse], 3, 60, budget());
    let e = s.call(Method::ToolsCall).await.err().unwrap();
    assert!(
        matches!(e, RelayError::Unavailable { cause: Some(_), .. }),
        "{e:?}"
    );
    assert_eq!(s.calls(), 2, "every instance tried once");
}

#[tokio::test(start_paused = true)]
async fn idempotent_retries_stop_at_max_retries() {
    let plays = [Play::Break; 5];
    let s = setup(&plays, 2, 60, budget());
    let e = s.call(Method::ToolsList).await.err().unwrap();
    assert!(matches!(e, RelayError::Failed { .. }), "{e:?}");
    assert_eq!(s.calls(), 3, "one attempt and max_retries (2) more");
    let s = setup(&plays, 0, 60, budget());
    assert!(s.call(Method::ResourcesRead).await.is_err());
    assert_eq!(s.calls(), 1, "max_retries 0: no retry");
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_caps_retries() {
    // No refill from first attempts, one retry in reserve.
    let s = setup(&[Play::Break; 4], 3, 60, RetryBudget::new(0.0, 1));
    assert!(s.call(Method::ToolsList).await.is_err());
    assert_eq!(s.calls(), 2, "the reserve's one retry");
    assert!(s.call(Method::ToolsList).await.is_err());
    assert_eq!(s.calls(), 3, "budget spent: the first attempt only");
}

#[tokio::test(start_paused = true)]
async fn open_circuits_leave_nothing_to_try_503_without_a_cause() {
    let s = setup(&[Play::Answer, Play::Answer], 3, 60, budget());
    for f in &s.fakes {
        for _ in 0..HealthPolicy::default().failure_threshold {
            assert!(f.handle.health.try_acquire());
            f.handle
                .health
                .report(Health::Failure, Duration::from_millis(1));
        }
    }
    let e = s.call(Method::ToolsList).await.err().unwrap();
    assert!(
        matches!(e, RelayError::Unavailable { cause: None, .. }),
        "{e:?}"
    );
    assert_eq!(s.calls(), 0, "the breakers kept every call away");
}

#[tokio::test(start_paused = true)]
async fn unknown_and_empty_templates() {
    let s = setup(&[], 3, 60, budget());
    let e = s.call(Method::ToolsList).await.err().unwrap();
    assert!(matches!(e, RelayError::NoInstances(_)), "{e:?}");
    let call = Call::new(Method::ToolsList, None);
    let e = s
        .relay
        .call(Target::Template("nope"), call, Options::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(e, RelayError::TemplateNotFound(_)), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_stops_the_upstream_call() {
    let s = Arc::new(setup(&[Play::Hang], 3, 60, budget()));
    let running = {
        let s = s.clone();
        tokio::spawn(async move { s.call(Method::ToolsCall).await.is_ok() })
    };
    while s.calls() == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(s.fakes[0].handle.counter.get(), 1, "in flight");
    running.abort();
    let _ = running.await;
    assert!(
        s.fakes[0].dropped.load(Ordering::SeqCst),
        "the upstream call was dropped"
    );
    assert_eq!(s.fakes[0].handle.counter.get(), 0, "no longer in flight");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_stops_the_upstream_call() {
    // As the MCP endpoint runs a session request: raced against the client's
    // `notifications/cancelled` (here, its signal).
    let s = setup(&[Play::Hang], 3, 60, budget());
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = s.call(Method::ToolsCall);
    let canceller = async {
        while s.calls() == 0 {
            tokio::task::yield_now().await;
        }
        let _ = cancel.send(());
    };
    let raced = async {
        tokio::select! {
            _ = call => "answered",
            Ok(()) = cancelled => "cancelled",
        }
    };
    let (outcome, ()) = tokio::join!(raced, canceller);
    assert_eq!(outcome, "cancelled");
    assert!(s.fakes[0].dropped.load(Ordering::SeqCst));
    assert_eq!(s.fakes[0].handle.counter.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_pinned_session_counts_in_its_instance() {
    let s = setup(&[Play::Answer], 3, 60, budget());
    let handle = s.fakes[0].handle.clone();
    let (own, calls, _) = fake_upstream(&handle.instance.id, Play::Break);
    let pinned = Pinned {
        template: "t".into(),
        handle: handle.clone(),
        upstream: own,
        timeout: Duration::from_secs(60),
    };
    let call = Call::new(Method::ToolsCall, None);
    let e = s
        .relay
        .call(Target::Pinned(&pinned), call, Options::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(e, RelayError::Failed { .. }), "{e:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "its own upstream, not the pool's"
    );
    assert_eq!(s.fakes[0].calls.load(Ordering::SeqCst), 0);
    assert_eq!(handle.stats.requests.load(Ordering::Relaxed), 1);
    assert_eq!(handle.stats.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn pages_are_drained_from_the_instance_that_issued_the_cursor() {
    let board = HealthBoard::new(HealthPolicy::default());
    let id = InstanceId::parse("p-0").unwrap();
    let upstream = Upstream::fake(id.clone(), Transport::Stdio, |request, _| async move {
        let page = match request.params.as_deref().map(|p| p.get().to_owned()) {
            None => json!({"tools": [{"name": "a"}], "nextCursor": "2"}),
            Some(p) if p.contains("\"2\"") => json!({"tools": [{"name": "b"}]}),
            Some(_) => json!({"tools": []}),
        };
        Ok(Response::result(request.id, to_raw(&page)))
    });
    let mut only = fake(&board, "p", "p-0", Play::Answer);
    Arc::get_mut(&mut only.handle).unwrap().upstream = upstream;
    let name = TemplateName::parse("p").unwrap();
    let route = TemplateRoute::new(
        name.clone(),
        LoadBalancerSettings::default(),
        Connector::new(TransportOptions::default()),
        vec![only.handle.clone()],
    );
    let routing = Routing::default();
    routing.store(Arc::new(RoutingTable {
        templates: BTreeMap::from([(name, Arc::new(route))]),
    }));
    let relay = Relay::new(
        routing,
        budget(),
        Arc::new(GatewayStats::new()),
        Credentials::default(),
    );
    let items = relay
        .list_all("p", &Method::ToolsList, "tools", None)
        .await
        .unwrap();
    let names: Vec<_> = items.iter().map(|i| i.get()).collect();
    assert_eq!(names, [r#"{"name":"a"}"#, r#"{"name":"b"}"#]);
    assert_eq!(only.handle.stats.requests.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn calls_and_attempts_are_timed_under_their_labels() {
    // Two refused attempts, then no answer: one failed server operation, two failed
    // client operations.
    let s = setup(&[Play::Refuse, Play::Refuse], 3, 60, budget());
    let options = Options {
        interface: Interface::LegacySse,
        ..Options::default()
    };
    let call = Call::new(Method::ToolsCall, None);
    assert!(
        s.relay
            .call(Target::Template("t"), call, options)
            .await
            .is_err()
    );
    let mut server = Vec::new();
    s.relay.0.stats.ops.each(|t, m, i, e, h| {
        server.push((t.to_owned(), m, i, e, h.count()));
    });
    assert_eq!(
        server,
        [("t".to_owned(), "tools/call", "legacy_sse", "unavailable", 1)]
    );
    for f in &s.fakes {
        let used: Vec<_> = f
            .handle
            .ops
            .used()
            .map(|(m, e, h)| (m, e, h.count()))
            .collect();
        assert_eq!(used.len(), 1, "{used:?}");
        let (method, error_type, n) = used[0];
        assert_eq!((method, n), ("tools/call", 1));
        assert!(!error_type.is_empty() && error_type != "jsonrpc_error");
    }

    // An answer and an upstream's JSON-RPC error (REST by default).
    let s = setup(&[Play::Answer], 3, 60, budget());
    s.call(Method::ToolsList).await.unwrap();
    let s2 = setup(&[Play::RpcError], 3, 60, budget());
    s2.call(Method::parse("vendor/x")).await.unwrap();
    let mut server = Vec::new();
    s.relay
        .0
        .stats
        .ops
        .each(|_, m, i, e, h| server.push((m, i, e, h.count())));
    s2.relay
        .0
        .stats
        .ops
        .each(|_, m, i, e, h| server.push((m, i, e, h.count())));
    assert_eq!(
        server,
        [
            ("tools/list", "rest", "", 1),
            ("other", "rest", "jsonrpc_error", 1)
        ]
    );
    let client: Vec<_> = s2.fakes[0]
        .handle
        .ops
        .used()
        .map(|(m, e, h)| (m, e, h.count()))
        .collect();
    assert_eq!(client, [("other", "jsonrpc_error", 1)]);
}

#[tokio::test(start_paused = true)]
async fn a_full_instance_is_passed_over_for_the_next() {
    let s = setup_gated(&[Play::Answer, Play::Answer], 0, 60, budget(), (1, 0));
    let _busy = s.fakes[0].handle.gate.admit(None).await.unwrap();
    for _ in 0..4 {
        let relayed = s.call(Method::ToolsCall).await.unwrap();
        assert_eq!(relayed.instance.instance.id.as_str(), "t-1");
    }
    assert_eq!(s.fakes[0].calls.load(Ordering::SeqCst), 0);
    // Round robin offered it first in two calls of four: passed over, counted.
    assert_eq!(s.fakes[0].handle.gate.refused(), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn every_instance_full_is_overloaded_at_once_and_nothing_is_sent() {
    let s = setup_gated(&[Play::Answer, Play::Answer], 3, 60, budget(), (1, 0));
    let _a = s.fakes[0].handle.gate.admit(None).await.unwrap();
    let _b = s.fakes[1].handle.gate.admit(None).await.unwrap();
    let started = tokio::time::Instant::now();
    let e = s.call(Method::ToolsCall).await.err().unwrap();
    assert!(
        matches!(e, RelayError::Overloaded { waited: false, .. }),
        "{e:?}"
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "refused without waiting");
    assert_eq!(s.calls(), 0);
    assert_eq!(e.class(), "overloaded");
}

#[tokio::test(start_paused = true)]
async fn a_queued_call_runs_when_a_slot_frees_and_gives_up_at_its_deadline() {
    let s = Arc::new(setup_gated(&[Play::Answer], 0, 5, budget(), (1, 1)));
    let busy = s.fakes[0].handle.gate.admit(None).await.unwrap();
    let started = tokio::time::Instant::now();
    let queued = {
        let s = s.clone();
        tokio::spawn(async move { s.call(Method::ToolsCall).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(s.fakes[0].handle.gate.pending(), 1);
    drop(busy);
    queued.await.unwrap().unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(s.calls(), 1);

    // Held for good: the waiting call gives up at its deadline (5 s), unsent.
    let _held = s.fakes[0].handle.gate.admit(None).await.unwrap();
    let started = tokio::time::Instant::now();
    let e = s.call(Method::ToolsCall).await.err().unwrap();
    assert!(
        matches!(e, RelayError::Overloaded { waited: true, .. }),
        "{e:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(s.calls(), 1);
}
