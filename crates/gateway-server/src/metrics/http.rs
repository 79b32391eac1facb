//! HTTP server basics: requests by route template and status class, open connections;
//! and [`observe`], the outermost-but-one layer that counts each request and writes its
//! log line (`crate::request_log`).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use parking_lot::RwLock;

use super::text::Exposition;
use crate::request_log::{self, Line, Note};

/// `http_route` of a request no route matched (a 404 by the fallback).
const UNMATCHED: &str = "unmatched";
/// Status classes, by `status / 100 - 1`.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Counters of the HTTP server.
pub(crate) struct HttpMetrics {
    /// By route template (the router's routes: a bounded set), then status class.
    routes: RwLock<HashMap<Box<str>, Arc<[AtomicU64; 5]>>>,
    /// Client connections open now (the listener's).
    open_connections: Arc<AtomicUsize>,
    /// Whether requests are counted (`MCP_GATEWAY_METRICS`).
    enabled: bool,
}

impl HttpMetrics {
    /// Counters reporting `open_connections` (kept by the listener).
    pub(crate) fn new(open_connections: Arc<AtomicUsize>, enabled: bool) -> Self {
        Self {
            routes: RwLock::default(),
            open_connections,
            enabled,
        }
    }

    /// Counts one answered request.
    pub(crate) fn count(&self, route: &str, status: u16) {
        if !self.enabled {
            return;
        }
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        let found = self.routes.read().get(route).cloned();
        let counters = match found {
            Some(c) => c,
            None => self.routes.write().entry(route.into()).or_default().clone(),
        };
        counters[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Writes `http_server_requests_total` and `http_server_open_connections`.
    pub(crate) fn write(&self, page: &mut Exposition) {
        page.family(
            "http_server_requests_total",
            "counter",
            "HTTP requests answered, by route template and status class.",
        );
        let mut routes: Vec<_> = self
            .routes
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        for (route, counters) in &routes {
            for (class, n) in CLASSES.iter().zip(counters.iter()) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let labels = [("http_route", &**route), ("status_class", *class)];
                    page.sample("http_server_requests_total", &labels, n as f64);
                }
            }
        }
        page.family(
            "http_server_open_connections",
            "gauge",
            "Client connections open now.",
        );
        let open = self.open_connections.load(Ordering::Relaxed);
        page.sample("http_server_open_connections", &[], open as f64);
    }
}

/// Counts the request by route and status class, and logs its line.
pub(crate) async fn observe(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A reference-count increment: the route's text is shared with the router.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let response = if request_log::enabled() {
        let http_method = request.method().clone();
        let note = Arc::new(Note::default());
        let response = request_log::scope(note.clone(), next.run(request)).await;
        let request_id = crate::request_id::current();
        note.log(&Line {
            request_id: request_id.as_deref(),
            http_method: http_method.as_str(),
            route,
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
        });
        response
    } else {
        next.run(request).await
    };
    metrics.count(route, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_class() {
        let m = HttpMetrics::new(Arc::default(), true);
        m.count("/a", 200);
        m.count("/a", 204);
        m.count("/a", 503);
        m.count("/b", 404);
        let mut page = Exposition::default();
        m.write(&mut page);
        let text = page.finish();
        assert!(
            text.contains("http_server_requests_total{http_route=\"/a\",status_class=\"2xx\"} 2\n")
        );
        assert!(
            text.contains("http_server_requests_total{http_route=\"/a\",status_class=\"5xx\"} 1\n")
        );
        assert!(
            text.contains("http_server_requests_total{http_route=\"/b\",status_class=\"4xx\"} 1\n")
        );
        assert!(text.contains("http_server_open_connections 0\n"));
    }
}
