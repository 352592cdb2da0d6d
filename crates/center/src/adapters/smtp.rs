//! A small SMTP client (RFC 5321) for notices: one message per connection, plain
//! text in UTF-8 (8BITMIME body in base64, RFC 2047 subject). No authentication or
//! TLS: the center hands mail to the provider's own relay.

use data_encoding::BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("cannot connect to the SMTP server {server}: {source}")]
    Connect {
        server: String,
        source: std::io::Error,
    },
    #[error("SMTP connection to {server} failed: {source}")]
    Io {
        server: String,
        source: std::io::Error,
    },
    #[error("the SMTP server {server} answered {reply:?} to {command}")]
    Rejected {
        server: String,
        command: &'static str,
        reply: String,
    },
    #[error("the SMTP exchange with {0} took longer than 30 s")]
    Timeout(String),
    #[error("the address {0:?} cannot be used in SMTP")]
    Address(String),
}

fn check_address(a: &str) -> Result<(), SmtpError> {
    if a.is_empty()
        || a.chars()
            .any(|c| c.is_control() || c == '<' || c == '>' || c == ' ')
    {
        return Err(SmtpError::Address(a.to_string()));
    }
    Ok(())
}

/// Encodes a header value as RFC 2047 base64 words when it is not plain ASCII.
fn encode_header(v: &str) -> String {
    if v.is_ascii() {
        return v.to_string();
    }
    // Split into words of at most 45 bytes on character boundaries.
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in v.chars() {
        if cur.len() + ch.len_utf8() > 45 {
            out.push(format!("=?UTF-8?B?{}?=", BASE64.encode(cur.as_bytes())));
            cur.clear();
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(format!("=?UTF-8?B?{}?=", BASE64.encode(cur.as_bytes())));
    }
    out.join("\r\n ")
}

/// Builds the message: headers and a base64 body, lines of 76 characters.
pub fn message(from: &str, to: &str, subject: &str, body: &str, date: &str) -> String {
    let b64 = BASE64.encode(
        body.replace('\n', "\r\n")
            .replace("\r\r\n", "\r\n")
            .as_bytes(),
    );
    let mut lines = String::new();
    for chunk in b64.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        lines.push_str("\r\n");
    }
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{lines}",
        encode_header(subject)
    )
}

/// Sends one message to `to` through `server` (`host:port`).
pub async fn send(
    server: &str,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<(), SmtpError> {
    check_address(from)?;
    check_address(to)?;
    let date = jiff::Timestamp::from_millisecond(now)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string();
    let msg = message(from, to, subject, body, &date);
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        exchange(server, from, to, &msg),
    )
    .await
    .map_err(|_| SmtpError::Timeout(server.to_string()))?
}

async fn exchange(server: &str, from: &str, to: &str, msg: &str) -> Result<(), SmtpError> {
    let stream = TcpStream::connect(server)
        .await
        .map_err(|source| SmtpError::Connect {
            server: server.to_string(),
            source,
        })?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let io = |source| SmtpError::Io {
        server: server.to_string(),
        source,
    };
    async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await? == 0 {
                return Ok(all);
            }
            all.push_str(&line);
            // "250-..." continues, "250 ..." ends.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return Ok(all);
            }
        }
    }
    let expect = |command: &'static str, got: String, code: &str| {
        if got.starts_with(code) {
            Ok(())
        } else {
            Err(SmtpError::Rejected {
                server: server.to_string(),
                command,
                reply: got.trim_end().to_string(),
            })
        }
    };
    expect("connect", reply(&mut r).await.map_err(io)?, "220")?;
    let steps: [(&'static str, String, &str); 4] = [
        ("EHLO", "EHLO mamori-center\r\n".to_string(), "250"),
        ("MAIL FROM", format!("MAIL FROM:<{from}>\r\n"), "250"),
        ("RCPT TO", format!("RCPT TO:<{to}>\r\n"), "25"),
        ("DATA", "DATA\r\n".to_string(), "354"),
    ];
    for (name, cmd, code) in steps {
        w.write_all(cmd.as_bytes()).await.map_err(io)?;
        expect(name, reply(&mut r).await.map_err(io)?, code)?;
    }
    // Dot-stuffing (RFC 5321 4.5.2); base64 lines never start with a dot, headers
    // might.
    let mut data = String::with_capacity(msg.len() + 8);
    for line in msg.split("\r\n") {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    w.write_all(data.as_bytes()).await.map_err(io)?;
    expect("end of data", reply(&mut r).await.map_err(io)?, "250")?;
    w.write_all(b"QUIT\r\n").await.map_err(io)?;
    let _ = reply(&mut r).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_subject_is_encoded_words_that_decode_back() {
        let s = "利用規約の変更のお知らせ（2027年4月1日）";
        let h = encode_header(s);
        assert!(h.is_ascii());
        let decoded: String = h
            .split("\r\n ")
            .map(|w| {
                let b = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
                String::from_utf8(BASE64.decode(b.as_bytes()).unwrap()).unwrap()
            })
            .collect();
        assert_eq!(decoded, s);
    }

    #[test]
    fn addresses_with_angle_brackets_or_newlines_are_refused() {
        assert!(check_address("a@b.jp").is_ok());
        assert!(check_address("a@b.jp>\r\nRCPT TO:<x@y").is_err());
        assert!(check_address("").is_err());
    }
}
