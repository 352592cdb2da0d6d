//! A real SMTP server (Python's aiosmtpd, Debian's `python3-aiosmtpd`) on loopback that
//! writes each message it receives to a file in its directory, for tests of what the
//! center sends by e-mail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Smtp {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

const SMTP_SERVER: &str = r#"
import sys, os, time, socket, asyncio
from aiosmtpd.controller import Controller
d = sys.argv[1]
class H:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        H.n += 1
        with open(os.path.join(d, "msg-%04d.eml.tmp" % H.n), "wb") as f:
            f.write(("X-Rcpt: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(os.path.join(d, "msg-%04d.eml.tmp" % H.n), os.path.join(d, "msg-%04d.eml" % H.n))
        return "250 OK"
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = Controller(H(), hostname="127.0.0.1", port=port)
c.start()
with open(os.path.join(d, "port.tmp"), "w") as f: f.write(str(port))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
while True: time.sleep(3600)
"#;

impl Smtp {
    pub fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        // Debian's interpreter, where python3-aiosmtpd installs the module.
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(SMTP_SERVER)
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (Debian python3-aiosmtpd)");
        let port_file = dir.path().join("port");
        for _ in 0..200 {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                return Smtp {
                    child,
                    port: p.trim().parse().unwrap(),
                    dir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the SMTP server did not start");
    }

    /// The messages received so far, in order, each with an `X-Rcpt:` line first.
    pub fn messages(&self) -> Vec<String> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        v.sort();
        v.iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes the base64 body of a message written by the center.
pub fn body_of(msg: &str) -> String {
    let (_, body) = msg.split_once("\r\n\r\n").unwrap();
    let b64: String = body.split_whitespace().collect();
    String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap()
}
