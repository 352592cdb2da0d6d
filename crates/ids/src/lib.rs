//! The intrusion detection and prevention engine. Sans-IO: packets and time go in,
//! verdicts and EVE events come out. Reads Suricata-format rules; the front-ends
//! (pcap files, NFQUEUE) live in the `mamori` binary.

pub mod app;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod eve;
pub mod flow;
pub mod pcap;
pub mod rules;
pub mod stream;
