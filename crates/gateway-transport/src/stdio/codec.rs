//! Line framing for stdio: one JSON-RPC message per line, bounded in size.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Bytes kept from each end of an oversized line, enough to find its `"id"`.
const KEEP: usize = 256;

/// One line read from a child.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// A complete line without its line ending.
    Line(Vec<u8>),
    /// A line over the limit, discarded except for its two ends.
    TooLarge {
        size: usize,
        head: Vec<u8>,
        tail: Vec<u8>,
    },
}

/// Reads the next non-empty line, or `None` at end of input.
pub(crate) async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<Frame>> {
    let mut line = Vec::new();
    let mut size = 0usize;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(finish(line, size, tail, max));
        }
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(at) => (&buf[..at], true),
            None => (buf, false),
        };
        size += chunk.len();
        if size <= max {
            line.extend_from_slice(chunk);
        } else {
            // Over the limit: keep only the first and last KEEP bytes, to find the id.
            line.truncate(KEEP);
            let room = KEEP.saturating_sub(line.len()).min(chunk.len());
            line.extend_from_slice(&chunk[..room]);
            tail.extend_from_slice(&chunk[chunk.len().saturating_sub(KEEP)..]);
            if tail.len() > KEEP {
                tail.drain(..tail.len() - KEEP);
            }
        }
        let consumed = chunk.len() + usize::from(found);
        reader.consume(consumed);
        if found {
            if let Some(frame) = finish(
                std::mem::take(&mut line),
                size,
                std::mem::take(&mut tail),
                max,
            ) {
                return Ok(Some(frame));
            }
            size = 0;
        }
    }
}

fn finish(mut line: Vec<u8>, size: usize, tail: Vec<u8>, max: usize) -> Option<Frame> {
    if size > max {
        line.truncate(KEEP);
        return Some(Frame::TooLarge {
            size,
            head: line,
            tail,
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(Frame::Line(line))
}

/// Finds a numeric `"id":N` in the kept ends of an oversized message.
pub(crate) fn find_numeric_id(head: &[u8], tail: &[u8]) -> Option<i64> {
    [head, tail].into_iter().find_map(|part| {
        let text = String::from_utf8_lossy(part);
        text.match_indices("\"id\"").find_map(|(at, _)| {
            let rest = text[at + 4..].trim_start().strip_prefix(':')?.trim_start();
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            digits.parse().ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut r = tokio::io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        while let Some(f) = read_frame(&mut r, max).await.unwrap() {
            out.push(f);
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_skips_blank_ones() {
        let got = frames(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 100).await;
        assert_eq!(
            got,
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"{\"b\":2}".to_vec()),
                Frame::Line(b"{\"c\":3}".to_vec())
            ]
        );
    }

    #[tokio::test]
    async fn oversized_line_is_reported_and_skipped() {
        let big = format!(
            "{{\"result\":\"{}\",\"jsonrpc\":\"2.0\",\"id\":42}}\n{{\"ok\":1}}\n",
            "x".repeat(5000)
        );
        let got = frames(big.as_bytes(), 1000).await;
        assert_eq!(got.len(), 2);
        let Frame::TooLarge { size, head, tail } = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(*size, big.find('\n').unwrap());
        assert_eq!(find_numeric_id(head, tail), Some(42));
        assert_eq!(got[1], Frame::Line(b"{\"ok\":1}".to_vec()));
    }
}
