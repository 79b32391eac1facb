//! A tiny HTTP/1.1 server for tests: real sockets on port 0, canned responses written by
//! hand, and the raw requests captured for assertions.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};

/// A response to send back.
pub(crate) struct Canned {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Canned {
    /// `status` is the status line's tail, e.g. `"201 Created"`.
    pub(crate) fn json(status: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.into(),
        }
    }

    pub(crate) fn text(status: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", "text/html".to_owned())],
            body: body.into(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A request as received.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Lower-cased names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Captured {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Serves `responses` in order, one connection each; the handle yields the requests.
pub(crate) async fn serve(responses: Vec<Canned>) -> (String, JoinHandle<Vec<Captured>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let mut captured = Vec::new();
        for canned in responses {
            let (mut socket, _) = listener.accept().await.unwrap();
            captured.push(read_request(&mut socket).await);
            let mut out = format!("HTTP/1.1 {}\r\n", canned.status);
            for (name, value) in &canned.headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                canned.body.len(),
                canned.body
            ));
            socket.write_all(out.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
        captured
    });
    (url, handle)
}

/// Serves one response and returns the request it answered.
pub(crate) async fn serve_one(canned: Canned) -> (String, JoinHandle<Vec<Captured>>) {
    serve(vec![canned]).await
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Captured {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client closed before sending a full request");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let path = request_line.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client closed before sending the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    Captured {
        method,
        path,
        headers,
        body: String::from_utf8(buf[head_end..head_end + length].to_vec()).unwrap(),
    }
}

/// Installs the ring provider once for the test process (the SDK does not pick one).
pub(crate) fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `url` with the provider installed.
pub(crate) fn client(url: &str) -> crate::GatewayClient {
    install_crypto();
    crate::GatewayClient::new(url).unwrap()
}
