//! The intrusion detection and prevention engine. Sans-IO: packets and time go in,
//! verdicts and EVE events come out. Reads Suricata-format rules; the front-ends
//! (pcap files, NFQUEUE) live in the `mamori` binary.

pub mod detect;
pub mod rules;
pub mod decode;
pub mod pcap;
pub mod flow;
pub mod stream;
pub mod app;
