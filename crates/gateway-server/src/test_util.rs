//! Helpers shared by this crate's unit tests.
#![allow(clippy::unwrap_used)]

use axum::http::{HeaderMap, HeaderValue};

/// A header map from `(name, value)` pairs.
pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}
