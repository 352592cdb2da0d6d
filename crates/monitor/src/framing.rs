//! Syslog over a byte stream (TCP, TLS): RFC 6587 octet counting (`LEN SP MSG`) and
//! non-transparent LF framing (`MSG LF`), told apart frame by frame as rsyslog does: a
//! frame that starts with a digit is counted, any other is LF-terminated.
//!
//! Truncation rule: a message longer than the limit is cut to its first `max` bytes
//! (less an incomplete UTF-8 sequence at the cut), returned with `truncated` set, and
//! the rest of that message is read and dropped, so the next frame starts where it
//! should. Memory per stream stays within the limit plus one read.
//!
//! A counted frame whose length is not `1-9 digits SP` breaks the stream: the error
//! says at which byte of the stream, and the caller closes the connection (there is no
//! safe place to resume).

/// How a frame was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    OctetCounting,
    LineFeed,
}

/// One message taken off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub framing: Framing,
    /// The message was longer than the limit and was cut (see the module doc).
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("syslog stream, byte {at}: an octet count must be 1 to 9 digits then a space")]
    BadLength { at: u64 },
    #[error("syslog stream, byte {at}: the stream ended inside a counted message")]
    EndInsideFrame { at: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    No,
    /// The rest of an over-long counted message.
    Bytes(usize),
    /// The rest of an over-long LF-framed message.
    ToLf,
}

/// Stream deframer: [`push`](Self::push) what was read, then take frames with
/// [`next_frame`](Self::next_frame) until it returns `None`.
#[derive(Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    max: usize,
    skip: Skip,
    broken: bool,
}

/// RFC 5425 requires receivers to take 2048 bytes and should take 8192.
pub const DEFAULT_MAX_MESSAGE: usize = 8192;

impl Deframer {
    /// `max` is the longest message kept whole (at least 1).
    pub fn new(max: usize) -> Self {
        Deframer {
            buf: Vec::new(),
            base: 0,
            max: max.max(1),
            skip: Skip::No,
            broken: false,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if !self.broken {
            self.buf.extend_from_slice(data);
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.base += n as u64;
    }

    /// The next whole frame, an error (after which the stream yields nothing), or
    /// `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FramingError>> {
        loop {
            if self.broken {
                return None;
            }
            match self.skip {
                Skip::Bytes(n) => {
                    let k = n.min(self.buf.len());
                    self.consume(k);
                    if k < n {
                        self.skip = Skip::Bytes(n - k);
                        return None;
                    }
                    self.skip = Skip::No;
                }
                Skip::ToLf => match self.buf.iter().position(|&b| b == b'\n') {
                    Some(p) => {
                        self.consume(p + 1);
                        self.skip = Skip::No;
                    }
                    None => {
                        let n = self.buf.len();
                        self.consume(n);
                        return None;
                    }
                },
                Skip::No => {}
            }
            // Blank lines between frames (some senders end frames with CR LF or add
            // LF after counted frames) are not messages.
            let blank = self
                .buf
                .iter()
                .position(|&b| !matches!(b, b'\n' | b'\r'))
                .unwrap_or(self.buf.len());
            if blank > 0 {
                self.consume(blank);
                continue;
            }
            let first = *self.buf.first()?;
            return if first.is_ascii_digit() {
                self.counted()
            } else {
                self.line()
            };
        }
    }

    fn counted(&mut self) -> Option<Result<Frame, FramingError>> {
        let digits = self.buf.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 9
            || (digits < self.buf.len() && self.buf[digits] != b' ')
            || self.buf[0] == b'0'
        {
            self.broken = true;
            let at = if self.buf[0] == b'0' {
                0
            } else {
                digits.min(9)
            };
            return Some(Err(FramingError::BadLength {
                at: self.base + at as u64,
            }));
        }
        if digits == self.buf.len() {
            return None;
        }
        let len: usize = std::str::from_utf8(&self.buf[..digits])
            .ok()?
            .parse()
            .ok()?;
        let start = digits + 1;
        if len <= self.max {
            if self.buf.len() < start + len {
                return None;
            }
            let bytes = self.buf[start..start + len].to_vec();
            self.consume(start + len);
            return Some(Ok(Frame {
                bytes,
                framing: Framing::OctetCounting,
                truncated: false,
            }));
        }
        if self.buf.len() < start + self.max {
            return None;
        }
        let bytes = cut(&self.buf[start..start + self.max]);
        self.consume(start + self.max);
        self.skip = Skip::Bytes(len - self.max);
        Some(Ok(Frame {
            bytes,
            framing: Framing::OctetCounting,
            truncated: true,
        }))
    }

    fn line(&mut self) -> Option<Result<Frame, FramingError>> {
        let window = self.buf.len().min(self.max + 1);
        match self.buf[..window].iter().position(|&b| b == b'\n') {
            Some(p) => {
                let mut bytes = self.buf[..p].to_vec();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                self.consume(p + 1);
                Some(Ok(Frame {
                    bytes,
                    framing: Framing::LineFeed,
                    truncated: false,
                }))
            }
            None if self.buf.len() > self.max => {
                let bytes = cut(&self.buf[..self.max]);
                self.consume(self.max);
                self.skip = Skip::ToLf;
                Some(Ok(Frame {
                    bytes,
                    framing: Framing::LineFeed,
                    truncated: true,
                }))
            }
            None => None,
        }
    }

    /// The stream has ended: an unterminated LF-framed message is still a message
    /// (rsyslog keeps it too); a counted one cut short is an error.
    pub fn finish(&mut self) -> Option<Result<Frame, FramingError>> {
        if self.broken || self.buf.is_empty() || self.skip != Skip::No {
            return None;
        }
        self.broken = true;
        if self.buf[0].is_ascii_digit() {
            return Some(Err(FramingError::EndInsideFrame {
                at: self.base + self.buf.len() as u64,
            }));
        }
        let bytes = std::mem::take(&mut self.buf);
        Some(Ok(Frame {
            bytes,
            framing: Framing::LineFeed,
            truncated: false,
        }))
    }
}

/// `bytes` less an incomplete UTF-8 sequence at its end (when the rest is UTF-8).
fn cut(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => bytes[..e.valid_up_to()].to_vec(),
        _ => bytes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Deframer) -> Vec<Result<Frame, FramingError>> {
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    fn ok(bytes: &[u8], framing: Framing, truncated: bool) -> Result<Frame, FramingError> {
        Ok(Frame {
            bytes: bytes.to_vec(),
            framing,
            truncated,
        })
    }

    #[test]
    fn mixed_framings_split_across_reads() {
        let stream = b"11 <13>1 - - -\n<14>hello\r\n\n5 abcde<15>x\n";
        for split in 0..stream.len() {
            let mut d = Deframer::new(100);
            d.push(&stream[..split]);
            let mut got = all(&mut d);
            d.push(&stream[split..]);
            got.extend(all(&mut d));
            assert_eq!(
                got,
                vec![
                    ok(b"<13>1 - - -", Framing::OctetCounting, false),
                    ok(b"<14>hello", Framing::LineFeed, false),
                    ok(b"abcde", Framing::OctetCounting, false),
                    ok(b"<15>x", Framing::LineFeed, false),
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn oversized_messages_are_cut_and_the_rest_dropped() {
        let mut d = Deframer::new(4);
        d.push(b"10 0123456789<1>abcdefgh\n<2>ok\n");
        assert_eq!(
            all(&mut d),
            vec![
                ok(b"0123", Framing::OctetCounting, true),
                ok(b"<1>a", Framing::LineFeed, true),
                ok(b"<2>o", Framing::LineFeed, true),
            ]
        );
        // A cut inside a UTF-8 sequence drops the partial character.
        let mut d = Deframer::new(5);
        d.push("<1>é\n<1>éé\n".as_bytes());
        assert_eq!(
            all(&mut d),
            vec![
                ok("<1>é".as_bytes(), Framing::LineFeed, false),
                ok("<1>é".as_bytes(), Framing::LineFeed, true),
            ]
        );
    }

    #[test]
    fn bad_counts_break_the_stream_with_the_position() {
        let mut d = Deframer::new(100);
        d.push(b"3 abc12x <1>y\n");
        assert_eq!(
            all(&mut d),
            vec![
                ok(b"abc", Framing::OctetCounting, false),
                Err(FramingError::BadLength { at: 7 })
            ]
        );
        d.push(b"<1>more\n");
        assert_eq!(d.next_frame(), None);
        let mut d = Deframer::new(100);
        d.push(b"01234567890 x");
        assert!(matches!(
            d.next_frame(),
            Some(Err(FramingError::BadLength { .. }))
        ));
        let mut d = Deframer::new(100);
        d.push(b"0 ");
        assert!(matches!(
            d.next_frame(),
            Some(Err(FramingError::BadLength { at: 0 }))
        ));
    }

    #[test]
    fn end_of_stream() {
        let mut d = Deframer::new(100);
        d.push(b"<1>no newline");
        assert_eq!(d.next_frame(), None);
        assert_eq!(
            d.finish(),
            Some(ok(b"<1>no newline", Framing::LineFeed, false))
        );
        let mut d = Deframer::new(100);
        d.push(b"10 abc");
        assert_eq!(d.next_frame(), None);
        assert_eq!(
            d.finish(),
            Some(Err(FramingError::EndInsideFrame { at: 6 }))
        );
    }
}
