//! Decoder and capture reader: never panic on arbitrary input, and decode what they
//! should.

use mamori_ids::decode::defrag::Defrag;
use mamori_ids::decode::{decode, decode_ip};
use mamori_ids::detect::Layer4;
use mamori_ids::pcap::{PcapReader, linktype};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics(link in prop::sample::select(vec![0u16, 1, 101, 104, 113, 276, 228, 229, 9999]), data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(link, &data);
    }

    #[test]
    fn decode_ip_shaped_input_never_panics(v6 in any::<bool>(), proto in prop::sample::select(vec![1u8, 4, 6, 17, 41, 44, 47, 58, 0, 43, 60, 51]), data in prop::collection::vec(any::<u8>(), 0..120)) {
        let mut f = if v6 { vec![0x60, 0, 0, 0, 0, data.len() as u8, proto, 64] } else { vec![0x45, 0, 0, (20 + data.len()) as u8, 0, 0, 0, 0, 64, proto, 0, 0] };
        f.resize(if v6 { 40 } else { 20 }, 1);
        f.extend_from_slice(&data);
        if let Ok(p) = decode_ip(&f)
            && p.fragment.is_some() {
                let mut d = Defrag::default();
                let _ = d.add(0, &p);
            }
    }

    #[test]
    fn pcap_reader_never_panics(data in prop::collection::vec(any::<u8>(), 0..400), classic in any::<bool>()) {
        let mut f = if classic { vec![0xd4, 0xc3, 0xb2, 0xa1] } else { vec![0x0a, 0x0d, 0x0d, 0x0a] };
        f.extend_from_slice(&data);
        if let Ok(r) = PcapReader::new(&f[..]) {
            for p in r.take(100) {
                let _ = p;
            }
        }
    }
}

#[test]
fn linux_cooked_capture_is_decoded() {
    let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    ]);
    f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
    let p = decode(linktype::LINUX_SLL, &f).unwrap();
    assert_eq!(
        p.l4,
        Layer4::Udp {
            src_port: 1,
            dst_port: 2
        }
    );
    assert_eq!(p.src.to_string(), "1.1.1.1");
}

#[test]
fn gre_tunnel_is_decapsulated() {
    let inner = [
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 3, 3, 3, 3, 4, 4, 4, 4, 0, 9, 0, 10, 0, 8, 0, 0,
    ];
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&inner);
    let mut outer = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 47, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    ];
    let total = (20 + gre.len()) as u16;
    outer[2..4].copy_from_slice(&total.to_be_bytes());
    outer.extend_from_slice(&gre);
    let p = decode(linktype::RAW, &outer).unwrap();
    assert_eq!(p.src.to_string(), "3.3.3.3");
    assert_eq!(
        p.l4,
        Layer4::Udp {
            src_port: 9,
            dst_port: 10
        }
    );
}

#[test]
fn nested_tunnels_are_bounded() {
    // 64 levels of IP-in-IP: decoding stops descending (no stack exhaustion).
    let mut pkt = vec![
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 9, 9, 9, 9, 8, 8, 8, 8, 0, 1, 0, 2, 0, 8, 0, 0,
    ];
    for _ in 0..64 {
        let mut outer = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 4, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
        ];
        let total = (20 + pkt.len()) as u16;
        outer[2..4].copy_from_slice(&total.to_be_bytes());
        outer.extend_from_slice(&pkt);
        pkt = outer;
    }
    let p = decode(linktype::RAW, &pkt).unwrap();
    assert_eq!(p.proto, 4);
}
