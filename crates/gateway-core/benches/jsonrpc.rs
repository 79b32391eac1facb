//! Nanoseconds for the JSON-RPC work on the gateway's hot path: parsing the envelope of a
//! `tools/call` request and of a 10 KB `tools/list` result, reading the routed params
//! fields, rewriting the id and re-encoding, and editing `_meta` through [`RawObject`].
//!
//! `cargo bench -p gateway-core --bench jsonrpc -- --warm-up-time 0.5 --measurement-time 1`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway_core::jsonrpc::{Message, RequestId};
use gateway_core::mcp::{ParamsView, RawObject};
use serde_json::json;

/// A typical `tools/call` with a progress token, as a client sends it.
const TOOLS_CALL: &[u8] = br#"{"jsonrpc":"2.0","id":"client-42","method":"tools/call","params":{"name":"search_files","arguments":{"path":"/srv/data","pattern":"*.rs","limit":50},"_meta":{"progressToken":"tok-17","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;

/// A `tools/list` response of about 10 KB (25 tools with input schemas).
fn tools_list_response() -> Vec<u8> {
    let tools: Vec<_> = (0..25)
        .map(|i| {
            json!({
                "name": format!("tool_{i:02}"),
                "description": format!("Tool number {i}: does something useful with a path and a pattern, and reports progress."),
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "Where to look"},
                        "pattern": {"type": "string", "description": "Glob pattern"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 1000}
                    },
                    "required": ["path"]
                },
                "annotations": {"readOnlyHint": true}
            })
        })
        .collect();
    let body = json!({"jsonrpc": "2.0", "id": 7, "result": {"tools": tools}});
    serde_json::to_vec(&body).unwrap_or_default()
}

fn parse(c: &mut Criterion) {
    let list = tools_list_response();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(TOOLS_CALL.len() as u64));
    group.bench_function("tools_call_request", |b| {
        b.iter(|| black_box(Message::parse(black_box(TOOLS_CALL)).is_ok()))
    });
    group.throughput(Throughput::Bytes(list.len() as u64));
    group.bench_function("tools_list_result_10kb", |b| {
        b.iter(|| black_box(Message::parse(black_box(&list)).is_ok()))
    });
    group.finish();
}

fn rewrite(c: &mut Criterion) {
    let mut group = c.benchmark_group("rewrite");
    // What the relay does per request: parse, read the routed fields, swap the id, encode.
    group.bench_function("parse_route_id_rewrite_encode", |b| {
        let mut next = 0i64;
        b.iter(|| {
            let Ok(Message::Request(mut request)) = Message::parse(black_box(TOOLS_CALL)) else {
                return 0;
            };
            let routed = ParamsView::parse(request.params.as_deref())
                .map(|v| v.name.map_or(0, |n| n.len()))
                .unwrap_or(0);
            next += 1;
            let client_id = std::mem::replace(&mut request.id, RequestId::Number(next));
            let out = Message::from(request).to_vec();
            black_box((client_id, routed));
            out.len()
        })
    });
    // The response on the way back: parse, restore the caller's id, encode.
    let list = tools_list_response();
    group.bench_function("response_id_restore_encode_10kb", |b| {
        b.iter(|| {
            let Ok(Message::Response(mut response)) = Message::parse(black_box(&list)) else {
                return 0;
            };
            response.id = Some(RequestId::from("client-42"));
            Message::from(response).to_vec().len()
        })
    });
    group.finish();
}

fn meta_edit(c: &mut Criterion) {
    let Ok(Message::Request(request)) = Message::parse(TOOLS_CALL) else {
        return;
    };
    let Some(params) = request.params else {
        return;
    };
    let mut group = c.benchmark_group("raw_object");
    // Replace the progress token inside `_meta`; every other byte is kept.
    group.bench_function("meta_progress_token_edit", |b| {
        b.iter(|| {
            let Ok(mut object) = RawObject::parse(black_box(&params)) else {
                return 0;
            };
            object.edit_object("_meta", |meta| meta.insert_value("progressToken", "gw-1"));
            object.to_raw().get().len()
        })
    });
    group.finish();
}

criterion_group!(benches, parse, rewrite, meta_edit);
criterion_main!(benches);
