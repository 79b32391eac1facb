//! `gateway-bench passthrough --upstream URL`: the baseline the gateway is measured
//! against. A bare hyper proxy: every request's method, headers and body bytes go to the
//! upstream URL (its path replaces the request's) over pooled keep-alive connections, and
//! the answer's status, headers and body stream back. No JSON is parsed, nothing is
//! checked, nothing is counted: what the gateway costs beyond this is the gateway's own
//! work. Loopback only, like the load generator.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::args::PassthroughArgs;
use crate::target;

type Upstream = Client<HttpConnector, Incoming>;

/// Headers that belong to one hop (RFC 9110 §7.6.1), not forwarded either way.
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Builds the runtime (multi-threaded, like the gateway's) and serves until killed.
pub(crate) fn main(args: PassthroughArgs) -> anyhow::Result<()> {
    let upstream = target::parse_loopback(&args.upstream)?;
    let listen: SocketAddr = args
        .listen
        .parse()
        .with_context(|| format!("--listen {:?}: expected IP:PORT", args.listen))?;
    if !listen.ip().is_loopback() {
        anyhow::bail!("--listen {listen}: the pass-through listens on loopback only");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(listen, upstream))
}

async fn serve(listen: SocketAddr, upstream: Uri) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    // The line scripts/bench waits for, as for the echo upstream.
    println!("listening on http://{}", listener.local_addr()?);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let client = client.clone();
        let upstream = upstream.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                forward(client.clone(), upstream.clone(), req)
            });
            // A client that goes away mid-request is not the proxy's concern.
            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}

/// Sends `req` to `upstream` and returns its answer, body streamed; 502 if it fails.
async fn forward(
    client: Upstream,
    upstream: Uri,
    req: Request<Incoming>,
) -> Result<Response<Either<Incoming, Full<Bytes>>>, Infallible> {
    let (mut parts, body) = req.into_parts();
    parts.uri = upstream;
    strip_hop_by_hop(&mut parts.headers);
    // The upstream's own authority (the client named the proxy's).
    parts.headers.remove(header::HOST);
    match client.request(Request::from_parts(parts, body)).await {
        Ok(answer) => {
            let (mut parts, body) = answer.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Either::Left(body)))
        }
        Err(e) => {
            let mut answer = Response::new(Either::Right(Full::new(Bytes::from(format!(
                "pass-through: upstream failed: {e}"
            )))));
            *answer.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(answer)
        }
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}
