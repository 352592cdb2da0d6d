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
        Check::Http { path } => http_ok(addr, path, timeout).unwrap_or(false),
    }
}

fn http_ok(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<bool> {
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
    Ok(status_ok(&head[..n]))
}

/// True when the bytes start an HTTP status line with a 2xx or 3xx code.
pub fn status_ok(head: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(head) else {
        return false;
    };
    let mut parts = text.split(' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return false;
    };
    version.starts_with("HTTP/")
        && code.len() >= 3
        && matches!(code.as_bytes()[0], b'2' | b'3')
        && code[..3].bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_2xx_3xx_is_healthy_others_not() {
        assert!(status_ok(b"HTTP/1.0 200 OK\r\n"));
        assert!(status_ok(b"HTTP/1.1 301 Moved"));
        assert!(!status_ok(b"HTTP/1.0 404 Not Found"));
        assert!(!status_ok(b"HTTP/1.0 500 "));
        assert!(!status_ok(b"SSH-2.0-OpenSSH"));
        assert!(!status_ok(b""));
    }
}
