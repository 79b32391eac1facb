//! An incremental Server-Sent Events parser: feed body chunks, get whole events.

/// One dispatched SSE event.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Event {
    /// The `event:` field (`None` means the default, "message").
    pub(crate) event: Option<String>,
    /// The joined `data:` lines.
    pub(crate) data: Vec<u8>,
    /// The `id:` field, if any.
    pub(crate) id: Option<String>,
}

/// Parser state between chunks.
#[derive(Debug)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    current: Event,
    max: usize,
    /// The last `id:` field seen on this stream (`Some("")` once reset), dispatched or not.
    last_id: Option<String>,
    /// The last valid `retry:` field seen on this stream, in milliseconds.
    retry: Option<u64>,
}

/// An event or line over the size limit.
#[derive(Debug, PartialEq)]
pub(crate) struct TooLarge(pub(crate) usize);

impl SseParser {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            line: Vec::new(),
            current: Event::default(),
            max,
            last_id: None,
            retry: None,
        }
    }

    /// The stream's last event id so far (the SSE "last event ID buffer"): also set by
    /// events that carry no data, such as a resumability priming event. `Some("")` means
    /// the server reset it.
    pub(crate) fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    pub(crate) fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Consumes `chunk`, appending completed events to `out`.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), TooLarge> {
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..at]);
            rest = &rest[at + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.field(&line, out)?;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > self.max {
            return Err(TooLarge(self.line.len()));
        }
        Ok(())
    }

    fn field(&mut self, line: &[u8], out: &mut Vec<Event>) -> Result<(), TooLarge> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            if !event.data.is_empty() || event.event.is_some() {
                out.push(event);
            }
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(()); // comment / keep-alive
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(at) => {
                let v = &line[at + 1..];
                (&line[..at], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if !self.current.data.is_empty() {
                    self.current.data.push(b'\n');
                }
                self.current.data.extend_from_slice(value);
                if self.current.data.len() > self.max {
                    return Err(TooLarge(self.current.data.len()));
                }
            }
            b"event" => self.current.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"id" => {
                let id = String::from_utf8_lossy(value).into_owned();
                if !id.contains('\0') {
                    self.last_id = Some(id.clone());
                }
                self.current.id = Some(id);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                self.retry = ms.or(self.retry);
            }
            _ => {} // unknown fields
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_across_chunk_boundaries() {
        let stream = b"id: p\ndata: \n\n: keep-alive\n\nevent: message\ndata: {\"a\":\ndata: 1}\n\nevent: endpoint\r\ndata: /m?s=1\r\n\r\n";
        for split in 1..stream.len() {
            let mut p = SseParser::new(1024);
            let mut out = Vec::new();
            p.push(&stream[..split], &mut out).unwrap();
            p.push(&stream[split..], &mut out).unwrap();
            assert_eq!(out.len(), 2, "split at {split}");
            assert_eq!(out[0].data, b"{\"a\":\n1}");
            assert_eq!(out[1].event.as_deref(), Some("endpoint"));
            assert_eq!(out[1].data, b"/m?s=1");
        }
    }

    #[test]
    fn tracks_the_last_event_id_and_retry() {
        let mut p = SseParser::new(1024);
        let mut out = Vec::new();
        assert_eq!((p.last_event_id(), p.retry()), (None, None));
        // A priming event (id, empty data) is not dispatched but still sets the id.
        p.push(b"id: prime-1\nretry: 2500\ndata: \n\n", &mut out)
            .unwrap();
        assert!(out.is_empty());
        assert_eq!(
            (p.last_event_id(), p.retry()),
            (Some("prime-1"), Some(2500))
        );
        p.push(b"retry: soon\nid: e2\ndata: {}\n\n", &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id.as_deref(), Some("e2"));
        assert_eq!((p.last_event_id(), p.retry()), (Some("e2"), Some(2500)));
        p.push(b"id\n\n", &mut out).unwrap();
        assert_eq!(p.last_event_id(), Some(""));
    }

    #[test]
    fn enforces_the_limit() {
        let mut p = SseParser::new(8);
        let mut out = Vec::new();
        assert_eq!(p.push(b"data: 0123456789\n", &mut out), Err(TooLarge(10)));
    }
}
