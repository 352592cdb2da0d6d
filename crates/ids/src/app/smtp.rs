//! SMTP: the client's commands (HELO/EHLO, MAIL FROM, RCPT TO, DATA) parsed from the
//! reassembled stream; one transaction per mail (from MAIL FROM to the end of its
//! DATA). After STARTTLS the session is encrypted and no longer parsed.

use std::collections::VecDeque;

/// One mail transaction.
#[derive(Debug, Clone, Default)]
pub struct SmtpTx {
    pub id: u64,
    pub helo: Option<Vec<u8>>,
    pub mail_from: Option<Vec<u8>>,
    pub rcpt_to: Vec<Vec<u8>>,
    /// The message (headers and body) as sent, dot-unstuffed, bounded.
    pub data: Vec<u8>,
    pub complete: bool,
}

/// SMTP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct SmtpState {
    buf: Vec<u8>,
    helo: Option<Vec<u8>>,
    in_data: bool,
    encrypted: bool,
    txs: VecDeque<SmtpTx>,
    next_tx: u64,
    pub errors: u64,
}

const MAX_LINE: usize = 4096;
const MAX_DATA: usize = 100 * 1024;
const MAX_TXS: usize = 16;

/// Whether client data looks like an SMTP greeting (`None`: too short to tell).
pub fn probe_client(d: &[u8]) -> Option<bool> {
    if d.len() < 5 {
        let up = d.to_ascii_uppercase();
        return if b"EHLO ".starts_with(&up) || b"HELO ".starts_with(&up) {
            None
        } else {
            Some(false)
        };
    }
    let up = d[..5].to_ascii_uppercase();
    Some(up == b"EHLO " || up == b"HELO ")
}

fn arg(line: &[u8], prefix_len: usize) -> Vec<u8> {
    let a = &line[prefix_len.min(line.len())..];
    let a = a
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map_or(&a[a.len()..], |i| &a[i..]);
    // The address without angle brackets and parameters.
    let a = match (
        a.iter().position(|&c| c == b'<'),
        a.iter().position(|&c| c == b'>'),
    ) {
        (Some(s), Some(e)) if e > s => &a[s + 1..e],
        _ => a.split(|c| c.is_ascii_whitespace()).next().unwrap_or(a),
    };
    a.to_vec()
}

impl SmtpState {
    pub fn tx(&self, id: u64) -> Option<&SmtpTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// The HELO/EHLO name of the session.
    pub fn helo(&self) -> Option<&[u8]> {
        self.helo.as_deref()
    }

    fn current(&mut self) -> &mut SmtpTx {
        if self.txs.back().is_none_or(|t| t.complete) {
            let id = self.next_tx;
            self.next_tx += 1;
            self.txs.push_back(SmtpTx {
                id,
                helo: self.helo.clone(),
                ..SmtpTx::default()
            });
            while self.txs.len() > MAX_TXS {
                self.txs.pop_front();
            }
        }
        self.txs.back_mut().expect("just ensured")
    }

    /// Client-to-server stream data; appends the ids of updated transactions.
    pub fn feed_client(&mut self, data: &[u8], out: &mut Vec<u64>) {
        if self.encrypted {
            return;
        }
        self.buf.extend_from_slice(data);
        while let Some(nl) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.line(line, out);
            if self.encrypted {
                self.buf.clear();
                return;
            }
        }
        if self.buf.len() > MAX_LINE && !self.in_data {
            self.errors += 1;
            self.buf.clear();
        }
        if self.in_data && self.buf.len() > MAX_LINE {
            // A very long line inside the message: keep what fits.
            let rest = std::mem::take(&mut self.buf);
            let tx = self.current();
            let room = MAX_DATA.saturating_sub(tx.data.len());
            tx.data.extend_from_slice(&rest[..rest.len().min(room)]);
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u64>) {
        if self.in_data {
            if line == b"." {
                self.in_data = false;
                let tx = self.current();
                tx.complete = true;
                out.push(tx.id);
                return;
            }
            let line = line.strip_prefix(b".").unwrap_or(line);
            let tx = self.current();
            if tx.data.len() + line.len() + 2 <= MAX_DATA {
                tx.data.extend_from_slice(line);
                tx.data.extend_from_slice(b"\r\n");
            }
            return;
        }
        let up: Vec<u8> = line.iter().take(10).map(u8::to_ascii_uppercase).collect();
        if up.starts_with(b"HELO") || up.starts_with(b"EHLO") {
            self.helo = Some(arg(line, 4));
            let helo = self.helo.clone();
            let tx = self.current();
            tx.helo = helo;
            out.push(tx.id);
        } else if up.starts_with(b"MAIL FROM:") {
            if self
                .txs
                .back()
                .is_some_and(|t| t.mail_from.is_some() && !t.complete)
            {
                // A new MAIL FROM without DATA: the previous one is abandoned.
                if let Some(t) = self.txs.back_mut() {
                    t.complete = true;
                }
            }
            let tx = self.current();
            tx.mail_from = Some(arg(line, 10));
            out.push(tx.id);
        } else if up.starts_with(b"RCPT TO:") {
            let tx = self.current();
            if tx.rcpt_to.len() < 64 {
                tx.rcpt_to.push(arg(line, 8));
            }
            out.push(tx.id);
        } else if up.starts_with(b"DATA") {
            self.in_data = true;
        } else if up.starts_with(b"STARTTLS") {
            self.encrypted = true;
        } else if up.starts_with(b"RSET")
            && let Some(t) = self.txs.back_mut()
        {
            t.complete = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_transaction() {
        let mut s = SmtpState::default();
        let mut out = Vec::new();
        let session = b"EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=10\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
        for c in session.chunks(5) {
            s.feed_client(c, &mut out);
        }
        let t = s.tx(0).unwrap();
        assert_eq!(t.helo.as_deref(), Some(&b"client.example"[..]));
        assert_eq!(t.mail_from.as_deref(), Some(&b"a@example.org"[..]));
        assert_eq!(
            t.rcpt_to,
            vec![b"b@example.net".to_vec(), b"c@example.net".to_vec()]
        );
        assert_eq!(t.data, b"Subject: hi\r\n\r\n.dot\r\n");
        assert!(t.complete);
        assert_eq!(out.last(), Some(&0));
    }

    #[test]
    fn starttls_stops_parsing() {
        let mut s = SmtpState::default();
        let mut out = Vec::new();
        s.feed_client(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<hidden@x>\r\n", &mut out);
        assert!(s.tx(0).unwrap().mail_from.is_none());
    }
}
