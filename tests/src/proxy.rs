//! Loopback HTTP/1.1 proxies in front of a real upstream (fault injection, counting):
//! the accept loop and the request retargeting they share.

use std::error::Error;

use hyper::{
    Request, Response,
    body::{Body, Incoming},
    http::request::Parts,
    service::Service,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinHandle};

type BoxError = Box<dyn Error + Send + Sync>;

/// Accepts connections on `listener` until the task is aborted, serving each over
/// HTTP/1.1 with the service `make` returns for it (dropped when the connection ends,
/// so it may hold a per-connection guard).
pub fn serve_http1<M, S, B>(listener: TcpListener, make: M) -> JoinHandle<()>
where
    M: Fn() -> S + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = make();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// Points a received request at `127.0.0.1:port` (same path and query; its `Host`
/// dropped, so the client sets the upstream's).
pub fn retarget(parts: &mut Parts, port: u16) {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://127.0.0.1:{port}{path}").parse().unwrap();
    parts.headers.remove(hyper::header::HOST);
}
