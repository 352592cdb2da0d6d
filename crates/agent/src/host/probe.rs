//! Health checks of load-balancer backends over real sockets: a TCP connect, or an HTTP
//! GET whose status must be 2xx or 3xx.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::lb::Check;

/// Runs one check of `addr`; true when the backend is healthy.
pub fn check(addr: SocketAddr, check: &Check, timeout: Duration) -> bool {
    match check {
        Check::Tcp => TcpStream::connect_timeout(&addr, timeout).is_ok(),
        Check::Http { path, expect } => http_ok(addr, path, *expect, timeout).unwrap_or(false),
    }
}

fn http_ok(
    addr: SocketAddr,
    path: &str,
    expect: Option<u16>,
    timeout: Duration,
) -> std::io::Result<bool> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: mamori-agent\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 32];
    let mut n = 0;
    while n < 12 {
        let got = s.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(status_ok(&head[..n], expect))
}

/// True when the bytes start an HTTP status line with the expected code (`None`: any
/// 2xx or 3xx).
pub fn status_ok(head: &[u8], expect: Option<u16>) -> bool {
    let Ok(text) = std::str::from_utf8(head) else {
        return false;
    };
    let mut parts = text.split(' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return false;
    };
    let code = code.trim_end_matches(['\r', '\n']);
    let Ok(n) = code.parse::<u16>() else {
        return false;
    };
    version.starts_with("HTTP/")
        && match expect {
            Some(e) => n == e,
            None => (200..400).contains(&n),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_2xx_3xx_is_healthy_others_not() {
        assert!(status_ok(b"HTTP/1.0 200 OK\r\n", None));
        assert!(status_ok(b"HTTP/1.1 301 Moved", None));
        assert!(!status_ok(b"HTTP/1.0 404 Not Found", None));
        assert!(status_ok(b"HTTP/1.0 404 Not Found", Some(404)));
        assert!(!status_ok(b"HTTP/1.0 200 OK", Some(204)));
        assert!(!status_ok(b"HTTP/1.0 500 ", None));
        assert!(!status_ok(b"SSH-2.0-OpenSSH", None));
        assert!(!status_ok(b"", None));
    }
}
