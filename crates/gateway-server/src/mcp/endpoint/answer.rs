//! Runs a request and replies: JSON, or an SSE stream when the request asked for
//! progress (or runs in a dedicated session, whose upstream may ask the client things
//! while the call runs) and the client accepts event streams. Within a session the run
//! races the client's `notifications/cancelled`; dropping the reply (the client went
//! away) drops the run, which cancels the upstream call.

use std::sync::Arc;

use axum::{body::Bytes, response::Response};
use gateway_core::{
    jsonrpc::{Message, Notification, Outcome, RequestId, Response as RpcResponse},
    mcp::{Method, ParamsView},
};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::mcp::{
    dispatch::{self, ClientRequest, Ctx},
    era, reply,
    session::Live,
    stream::{AbortOnDrop, sse_response},
};

/// The protocol era of a request, for what its result must carry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Era {
    Legacy,
    /// 2026-07-28; `progress`: its params carry a progress token (the endpoint has
    /// already read them).
    Modern {
        progress: bool,
    },
}

/// Runs `request` and answers it.
pub(super) async fn answer(
    mut ctx: Ctx,
    request: ClientRequest,
    live: Option<Arc<Live>>,
    era: Era,
    sse_ok: bool,
) -> Response {
    let ClientRequest { id, method, params } = request;
    // Dedicated sessions stream whenever they may: the upstream can send requests
    // (sampling, elicitation, roots) while the call runs.
    let has_token = || match era {
        Era::Modern { progress } => progress,
        Era::Legacy => ParamsView::parse(params.as_deref())
            .ok()
            .and_then(|p| p.meta().ok())
            .is_some_and(|m| m.progress_token.is_some()),
    };
    let wants_progress = sse_ok && (ctx.dedicated.is_some() || has_token());
    // Only 2026-07-28 results are completed afterwards, by method.
    let modern = matches!(era, Era::Modern { .. }).then(|| method.clone());
    if !wants_progress {
        let outcome = run(&ctx, &id, method, params, live).await;
        return reply::json(encode(id, modern.as_ref(), outcome));
    }
    let keepalive = ctx.mcp.keepalive;
    let (events_tx, events_rx) = mpsc::channel::<Bytes>(32);
    let sink = match (&ctx.dedicated, &live) {
        (Some(_), Some(live)) => Some((
            live.outbox.clone(),
            live.outbox.lock().attach(events_tx.clone()),
        )),
        _ => None,
    };
    let (progress_tx, mut progress_rx) = mpsc::channel::<Notification>(32);
    ctx.progress = Some(progress_tx);
    let forward_progress = {
        let events_tx = events_tx.clone();
        tokio::spawn(async move {
            while let Some(n) = progress_rx.recv().await {
                let bytes = Bytes::from(Message::from(n).to_vec());
                if events_tx.send(bytes).await.is_err() {
                    return;
                }
            }
        })
    };
    let work = async move {
        let outcome = run(&ctx, &id, method, params, live).await;
        drop(ctx);
        // Progress sent before the response goes out first.
        let _ = forward_progress.await;
        let body = encode(id, modern.as_ref(), outcome);
        if let Some((outbox, sink)) = sink {
            outbox.lock().detach(sink);
        }
        let _ = events_tx.send(Bytes::from(body)).await;
    };
    let work = tokio::spawn(crate::request_id::carried(
        work.instrument(tracing::Span::current()),
    ));
    // An in-flight request: it may finish while the server drains (the drain layer
    // ends it at the deadline).
    sse_response(
        events_rx,
        AbortOnDrop(vec![work]),
        keepalive,
        std::future::pending(),
    )
}

/// Dispatches, racing a client `notifications/cancelled` within a session.
async fn run(
    ctx: &Ctx,
    id: &RequestId,
    method: Method,
    params: Option<Box<RawValue>>,
    live: Option<Arc<Live>>,
) -> Outcome {
    let Some(live) = live else {
        return dispatch::dispatch(ctx, method, params).await;
    };
    let (cancelled, _guard) = live.track(id.to_json());
    tokio::select! {
        outcome = dispatch::dispatch(ctx, method, params) => outcome,
        Ok(()) = cancelled => reply::cancelled(),
    }
}

/// The response bytes; 2026-07-28 results (`modern`: the request's method) get the
/// fields modern clients require.
pub(super) fn encode(id: RequestId, modern: Option<&Method>, outcome: Outcome) -> Vec<u8> {
    let outcome = match (outcome, modern) {
        (Outcome::Result(result), Some(method)) => Outcome::Result(era::modernize(method, result)),
        (other, _) => other,
    };
    Message::from(RpcResponse {
        id: Some(id),
        outcome,
    })
    .to_vec()
}
