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
        }
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
            b"id" => self.current.id = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {} // retry and unknown fields
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
    fn enforces_the_limit() {
        let mut p = SseParser::new(8);
        let mut out = Vec::new();
        assert_eq!(p.push(b"data: 0123456789\n", &mut out), Err(TooLarge(10)));
    }
}
