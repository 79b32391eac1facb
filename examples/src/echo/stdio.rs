//! stdio transport: one JSON-RPC message per line, requests handled concurrently.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader, BufWriter,
};
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::EchoConfig;
use super::emit::{Emitter, Framing};
use super::rpc::{self, Incoming};

/// How long to wait for in-flight requests after stdin closes.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves MCP over stdin/stdout until stdin reaches EOF, then waits (up to 5 s) for in-flight
/// requests and returns `Ok(())`. Only JSON-RPC messages are written to stdout.
pub async fn serve_stdio(config: EchoConfig) -> io::Result<()> {
    serve_lines(tokio::io::stdin(), tokio::io::stdout(), config).await
}

/// [`serve_stdio`] over arbitrary streams.
pub(crate) async fn serve_lines<R, W>(input: R, output: W, config: EchoConfig) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let config = Arc::new(config);
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(output, rx));
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut line = Vec::new();
    let read_result = loop {
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
        if line.trim_ascii().is_empty() {
            line.clear();
            continue;
        }
        let message = std::mem::take(&mut line);
        let out = Emitter::new(tx.clone(), Framing::Line);
        let config = Arc::clone(&config);
        tokio::spawn(async move { handle_line(&message, &config, &out).await });
    };
    // Every in-flight task holds a sender clone: the writer finishes once they all have.
    drop(tx);
    let drained = match tokio::time::timeout(DRAIN_TIMEOUT, writer).await {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => Err(io::Error::other(join_error)),
        Err(_elapsed) => Ok(()),
    };
    read_result.and(drained)
}

/// Handles one input line: requests are answered (progress first), notifications and client
/// responses are ignored, unparseable input gets an error response.
pub(crate) async fn handle_line(line: &[u8], config: &EchoConfig, out: &Emitter) {
    match rpc::parse(line.trim_ascii()) {
        Ok(Incoming::Request(request)) => {
            let response = rpc::handle_request_body_era(request, config, Some(out)).await;
            out.emit(&response);
        }
        Ok(Incoming::Notification { .. } | Incoming::Response) => {}
        Err((id, error)) => out.emit(&rpc::response_err(id, error)),
    }
}

/// Writes framed messages in order, flushing whenever no more output is immediately queued.
async fn write_loop<W: AsyncWrite + Unpin>(
    output: W,
    mut rx: UnboundedReceiver<Bytes>,
) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(64 * 1024, output);
    while let Some(chunk) = rx.recv().await {
        writer.write_all(&chunk).await?;
        while let Ok(more) = rx.try_recv() {
            writer.write_all(&more).await?;
        }
        writer.flush().await?;
    }
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tokio::io::AsyncReadExt as _;

    fn config() -> EchoConfig {
        EchoConfig::new("stdio-test")
    }

    async fn run_line(line: &str) -> Vec<Value> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        handle_line(line.as_bytes(), &config(), &Emitter::new(tx, Framing::Line)).await;
        let mut out = Vec::new();
        while let Ok(bytes) = rx.try_recv() {
            assert_eq!(bytes.last(), Some(&b'\n'));
            assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
            out.push(serde_json::from_slice(&bytes).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn line_request_notification_and_garbage() {
        let out = run_line(r#"{"jsonrpc":"2.0","id":"x","method":"ping"}"#).await;
        assert_eq!(out, vec![json!({"jsonrpc":"2.0","id":"x","result":{}})]);
        assert!(
            run_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                .await
                .is_empty()
        );
        assert!(
            run_line(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)
                .await
                .is_empty()
        );
        let out = run_line("{nope\r\n").await;
        assert_eq!(out[0]["error"]["code"], -32700);
        assert_eq!(out[0]["id"], Value::Null);
    }

    #[tokio::test]
    async fn line_progress_comes_before_response() {
        let out = run_line(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"sleep_ms","arguments":{"ms":1},"_meta":{"progressToken":"p"}}}"#,
        )
        .await;
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0]["params"],
            json!({"progressToken":"p","progress":1,"total":2})
        );
        assert_eq!(
            out[1]["params"],
            json!({"progressToken":"p","progress":2,"total":2})
        );
        assert_eq!(out[2]["result"]["content"][0]["text"], "slept 1ms");
    }

    #[tokio::test]
    async fn concurrent_requests_overlap_and_eof_drains() {
        let (mut client_in, server_in) = tokio::io::duplex(1 << 20);
        let (server_out, mut client_out) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(serve_lines(server_in, server_out, config()));
        let mut input = String::new();
        for id in 0..200 {
            input.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"sleep_ms\",\"arguments\":{{\"ms\":300}}}}}}\n"
            ));
        }
        input.push_str("\n{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\"}}\n");
        let started = std::time::Instant::now();
        client_in.write_all(input.as_bytes()).await.unwrap();
        drop(client_in); // EOF
        server.await.unwrap().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "requests did not overlap"
        );
        let mut output = String::new();
        client_out.read_to_string(&mut output).await.unwrap();
        let responses: Vec<Value> = output
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(responses.len(), 201);
        let last = responses.iter().find(|r| r["id"] == "last").unwrap();
        assert_eq!(
            last["result"]["structuredContent"]["instance_id"],
            "stdio-test"
        );
    }
}
