//! Application-layer parsers: never panic on arbitrary input fed in arbitrary pieces,
//! and parse the same whatever the split.

use mamori_ids::app::dns::parse_message;
use mamori_ids::app::http::{HttpState, TxUpdate, normalize_uri};
use mamori_ids::app::smtp::SmtpState;
use mamori_ids::app::tls::TlsState;
use mamori_ids::detect::Direction;
use proptest::prelude::*;

fn feed_http(chunks_req: &[Vec<u8>], chunks_resp: &[Vec<u8>]) -> (HttpState, Vec<TxUpdate>) {
    let mut h = HttpState::default();
    let mut out = Vec::new();
    for c in chunks_req {
        h.feed(Direction::ToServer, c, &mut out);
    }
    for c in chunks_resp {
        h.feed(Direction::ToClient, c, &mut out);
    }
    h.close(Direction::ToServer, &mut out);
    h.close(Direction::ToClient, &mut out);
    (h, out)
}

fn http_like() -> impl Strategy<Value = Vec<u8>> {
    let tokens = prop::sample::select(vec![
        &b"GET / HTTP/1.1\r\n"[..],
        b"HTTP/1.1 200 OK\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\n",
        b"Content-Encoding: gzip\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"5\r\n",
        b"hello",
        b"0\r\n\r\n",
        b" ",
        b"\x1f\x8b\x08\x00",
        b"ffffffffffffffff\r\n",
        b":",
    ]);
    prop::collection::vec(tokens, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn http_never_panics(req in http_like(), resp in http_like(), raw in prop::collection::vec(any::<u8>(), 0..300), split in 1usize..17) {
        let r: Vec<Vec<u8>> = req.chunks(split).map(|c| c.to_vec()).collect();
        let mut s: Vec<Vec<u8>> = resp.chunks(split).map(|c| c.to_vec()).collect();
        s.push(raw);
        let _ = feed_http(&r, &s);
        let _ = normalize_uri(&req);
    }

    #[test]
    fn http_parse_does_not_depend_on_segmentation(split in 1usize..40) {
        let req = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".to_vec();
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 2\r\n\r\nno".to_vec();
        let (whole, _) = feed_http(std::slice::from_ref(&req), std::slice::from_ref(&resp));
        let r: Vec<Vec<u8>> = req.chunks(split).map(|c| c.to_vec()).collect();
        let s: Vec<Vec<u8>> = resp.chunks(split).map(|c| c.to_vec()).collect();
        let (parts, _) = feed_http(&r, &s);
        for id in 0..2 {
            let (a, b) = (whole.tx(id).unwrap(), parts.tx(id).unwrap());
            prop_assert_eq!(&a.uri_raw, &b.uri_raw);
            prop_assert_eq!(&a.request_body, &b.request_body);
            prop_assert_eq!(&a.response_body, &b.response_body);
            prop_assert_eq!(&a.status, &b.status);
        }
        prop_assert_eq!(&whole.tx(0).unwrap().response_body, b"hi");
        prop_assert_eq!(&whole.tx(1).unwrap().request_body, b"abc");
    }

    #[test]
    fn dns_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_message(&data);
    }

    #[test]
    fn smtp_never_panics(data in prop::collection::vec(any::<u8>(), 0..400), split in 1usize..30) {
        let mut s = SmtpState::default();
        let mut out = Vec::new();
        let mut d = b"EHLO x\r\nMAIL FROM:<a>\r\nDATA\r\n".to_vec();
        d.extend_from_slice(&data);
        for c in d.chunks(split) {
            s.feed_client(c, &mut out);
        }
    }

    #[test]
    fn tls_never_panics(data in prop::collection::vec(any::<u8>(), 0..400), split in 1usize..50) {
        let mut t = TlsState::default();
        let mut rec = vec![0x16, 3, 1, (data.len() >> 8) as u8, data.len() as u8];
        rec.extend_from_slice(&data);
        for c in rec.chunks(split) {
            t.feed(Direction::ToServer, c);
            t.feed(Direction::ToClient, c);
        }
    }
}

#[test]
fn uri_normalisation_like_suricata() {
    assert_eq!(normalize_uri(b"/a/./b/../c%2Fd?q=%41+b"), b"/a/c/d?q=A+b");
    assert_eq!(normalize_uri(b"http://Host:80/x\\y"), b"/x/y");
    assert_eq!(normalize_uri(b"/%u0041"), b"/A");
}
