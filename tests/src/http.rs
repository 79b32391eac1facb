//! [`Http`]: a plain HTTP client for status and shape checks (every test sees the raw
//! status, headers and body, unlike an SDK that would interpret them).

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A client bound to one base URL.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics (showing the body) if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        self.json()
    }

    /// Asserts an error reply: the status, the one error shape
    /// (`{"error": code, "detail": message, "field"?}`) and the code; returns the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.expect_status(status);
        assert_eq!(body["error"], code, "error code of {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty(), "error without a detail: {body}");
        body
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Http {
    /// A client for `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Http {
        crate::install_crypto_provider();
        Http {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// `POST path` with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<String>) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body.into());
        self.send(request).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Any method, with extra headers (`Host`, `Origin`, ...) and an optional raw body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }
}
