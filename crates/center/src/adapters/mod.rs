//! The center's adapters to the world outside its database: they speak a protocol to
//! another system and nothing else; the use cases call them, never `http`. The SMTP
//! client today; the probes and receivers of monitoring (ICMP, SNMP, syslog) belong here.

pub mod smtp;
