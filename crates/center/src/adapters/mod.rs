//! The center's adapters to the world outside its database: they speak a protocol to
//! another system and nothing else; the use cases call them, never `http`: the SMTP
//! client, and monitoring's probes and receivers (ICMP, SNMP, syslog, service probes).

pub mod monitor;
pub mod smtp;
