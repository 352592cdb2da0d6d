//! The center's configuration: defaults, then the TOML file, then `MAMORI_*` environment
//! variables, then command-line flags (applied by the caller). Unknown keys are errors.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{col}: {message}\nhint: see `mamori center --print-config` for every key and its default"
    )]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    pub listen: SocketAddr,
    /// Holds the SQLite database (when no `database_url` is set) and local state: the
    /// CA (`ca/`) and `secret.key`, the key of the TOTP secrets in the database. The
    /// directory is kept 0700 and its files 0600. With PostgreSQL, every center process
    /// sharing the database needs a copy of the same `secret.key`.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; empty means `<data_dir>/center.db`.
    pub database_url: String,
    /// The address people use to reach the panel, used in printed links; empty means
    /// `http://<listen>`.
    pub public_url: String,
    /// Log filter, e.g. `info` or `mamori_center=debug`.
    pub log: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Panel and API sessions end after this many seconds.
    pub session_ttl_secs: i64,
    /// Failed sign-ins of one account before it is locked.
    pub lockout_failures: i64,
    /// How long a locked account stays locked, in seconds.
    pub lockout_secs: i64,
    /// Sign-in attempts from one address within a minute (password and TOTP steps,
    /// failed or still being checked) before the address is throttled; per process.
    pub throttle_per_minute: u32,
    /// TOTP codes tried for one account within a minute, from any address, before its
    /// TOTP step is throttled; per process. (The account lock, `lockout_failures`,
    /// holds across processes.) The owner of a locked account is told by e-mail
    /// through `backoffice.smtp` from `backoffice.mail_from` when the relay is set.
    pub totp_throttle_per_minute: u32,
    /// Database connections per center process.
    pub max_connections: u32,
    /// The back office: eligible lines, invoice issuer, SMTP for notices.
    pub backoffice: crate::backoffice::BackofficeConfig,
    /// Address and port of the agent listener (mutual TLS); empty means no listener.
    /// On by default on every address at port 8443 (agents come over the network).
    pub agent_listen: String,
    /// The address agents use to reach the agent listener, shown in the enrolment
    /// command (e.g. `https://gw.example.jp:8443`); empty means the host of
    /// `public_url` with the agent listener's port. Its host goes into the listener's
    /// certificate. Environment: `MAMORI_AGENT_PUBLIC_URL`.
    pub agent_public_url: String,
    /// Configuration revisions need a reviewer other than their author.
    pub four_eyes: bool,
    /// Where the monitoring's incident notifications go (the operations center's
    /// mailbox), in Japanese and English, through `backoffice.smtp` from
    /// `backoffice.mail_from`; empty: no notifications. Environment: `MAMORI_NOC_EMAIL`.
    pub noc_email: String,
    /// Reverse proxies (addresses or CIDR prefixes, e.g. `["127.0.0.1", "10.0.0.0/8"]`)
    /// whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: a request whose
    /// direct peer is one of them counts as coming from the address it forwards (for
    /// the audit log and the sign-in throttle), and as HTTPS when it says `https`
    /// (cookies get `Secure`). Empty: the headers are ignored. Environment:
    /// `MAMORI_TRUSTED_PROXIES`, comma-separated.
    pub trusted_proxies: Vec<ProxyNet>,
    /// A bearer token `/metrics` requires (`Authorization: Bearer <token>`); empty
    /// means `/metrics` is open. Environment: `MAMORI_METRICS_TOKEN`.
    pub metrics_token: String,
    /// Timeouts and caps of both listeners, and the enrolment throttle (`[connections]`).
    pub connections: ConnectionsConfig,
    /// The operations center's addresses and networks, e.g. `["192.0.2.0/24",
    /// "2001:db8::/64"]` (`MAMORI_OPERATIONS_CENTER`, comma-separated). Every revision's
    /// `[management] center` must admit all of them: a draft or rollback that leaves
    /// one out is refused, and so is publishing such a revision drafted before, so that
    /// no published policy cuts the center off the gateways' ping, SSH, SNMP and HTTPS.
    /// Empty (the default): no such check.
    #[serde(deserialize_with = "addresses")]
    pub operations_center: Vec<String>,
    /// Signed checkpoints of the audit chain's head (`<data_dir>/audit-head.json`, key
    /// `<data_dir>/audit-key.pk8`), how often they are written and where else they go
    /// (`[audit_checkpoint]`: `interval_secs`, `after_commit_ms`, `syslog`,
    /// `email_to`; see `audit_head::CheckpointConfig`).
    pub audit_checkpoint: crate::audit_head::CheckpointConfig,
}

/// An address or a CIDR prefix (`10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Whether `ip` is in this prefix (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl TryFrom<String> for ProxyNet {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<ProxyNet> for String {
    fn from(n: ProxyNet) -> String {
        let max = if n.addr.is_ipv4() { 32 } else { 128 };
        if n.prefix == max {
            n.addr.to_string()
        } else {
            format!("{}/{}", n.addr, n.prefix)
        }
    }
}

/// The agent listener's address unless configured: every address, port 8443.
pub const DEFAULT_AGENT_LISTEN: &str = "0.0.0.0:8443";

impl Config {
    /// The URL agents enrol at and talk to, given the agent listener's bound port:
    /// `agent_public_url`, else the host of the public URL with that port.
    pub fn agent_url(&self, port: u16) -> String {
        let own = self.agent_public_url.trim().trim_end_matches('/');
        if !own.is_empty() {
            return own.to_string();
        }
        let public = self.effective_public_url();
        let host = public
            .split("://")
            .nth(1)
            .unwrap_or(&public)
            .split('/')
            .next()
            .unwrap_or("");
        // Without the port: `[v6]:p` keeps its brackets, `host:p` loses `:p`.
        let host = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') => &host[..i],
            _ => host,
        };
        format!("https://{host}:{port}")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./mamori-data"),
            database_url: String::new(),
            public_url: String::new(),
            log: "info".into(),
            max_body_bytes: 64 * 1024,
            session_ttl_secs: 8 * 3600,
            lockout_failures: 5,
            lockout_secs: 15 * 60,
            throttle_per_minute: 30,
            totp_throttle_per_minute: 10,
            max_connections: 16,
            backoffice: Default::default(),
            agent_listen: DEFAULT_AGENT_LISTEN.into(),
            agent_public_url: String::new(),
            four_eyes: true,
            noc_email: String::new(),
            trusted_proxies: Vec::new(),
            metrics_token: String::new(),
            connections: ConnectionsConfig::default(),
            operations_center: Vec::new(),
            audit_checkpoint: Default::default(),
        }
    }
}

/// Reads `operations_center`: each entry an address, a CIDR or a range.
fn addresses<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    for a in &v {
        address(a).map_err(serde::de::Error::custom)?;
    }
    Ok(v)
}

fn address(a: &str) -> Result<mamori_policy::addr::IpRange, String> {
    mamori_policy::addr::parse_range(a).map_err(|e| {
        format!("operations_center: {e}; write addresses or networks, e.g. \"192.0.2.0/24\"")
    })
}

impl Config {
    /// Parses a TOML text; `path` is only used in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = match e.span() {
                Some(span) => line_col(text, span.start),
                None => (1, 1),
            };
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_string(),
            }
        })
    }

    /// Loads the file if it exists (`required` makes a missing file an error).
    pub fn load_file(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Applies `MAMORI_<KEY>` variables from the given list (the caller passes the
    /// process environment).
    pub fn apply_env<I>(&mut self, vars: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("MAMORI_") else {
                continue;
            };
            let err = |message: String| ConfigError::Env {
                name: name.clone(),
                value: value.clone(),
                message,
            };
            fn num<T: std::str::FromStr>(v: &str) -> Result<T, String>
            where
                T::Err: std::fmt::Display,
            {
                v.parse::<T>().map_err(|e| e.to_string())
            }
            match key {
                "LISTEN" => {
                    self.listen = value
                        .parse()
                        .map_err(|e| err(format!("{e}; expected address:port")))?
                }
                "DATA_DIR" => self.data_dir = PathBuf::from(&value),
                "DATABASE_URL" => self.database_url = value.clone(),
                "PUBLIC_URL" => self.public_url = value.clone(),
                "LOG" => self.log = value.clone(),
                "MAX_BODY_BYTES" => self.max_body_bytes = num(&value).map_err(err)?,
                "SESSION_TTL_SECS" => self.session_ttl_secs = num(&value).map_err(err)?,
                "LOCKOUT_FAILURES" => self.lockout_failures = num(&value).map_err(err)?,
                "LOCKOUT_SECS" => self.lockout_secs = num(&value).map_err(err)?,
                "THROTTLE_PER_MINUTE" => self.throttle_per_minute = num(&value).map_err(err)?,
                "TOTP_THROTTLE_PER_MINUTE" => {
                    self.totp_throttle_per_minute = num(&value).map_err(err)?
                }
                "MAX_CONNECTIONS" => self.max_connections = num(&value).map_err(err)?,
                "AGENT_LISTEN" => self.agent_listen = value.clone(),
                "AGENT_PUBLIC_URL" => self.agent_public_url = value.clone(),
                "FOUR_EYES" => self.four_eyes = num(&value).map_err(err)?,
                "NOC_EMAIL" => self.noc_email = value.clone(),
                "TRUSTED_PROXIES" => {
                    self.trusted_proxies = value
                        .split(',')
                        .filter(|p| !p.trim().is_empty())
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(err)?
                }
                "METRICS_TOKEN" => self.metrics_token = value.clone(),
                k if self.connections.apply_env(k, &value).map_err(err)? => {}
                "OPERATIONS_CENTER" => {
                    let list: Vec<String> = value
                        .split(',')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect();
                    for a in &list {
                        address(a).map_err(err)?;
                    }
                    self.operations_center = list;
                }
                "AUDIT_CHECKPOINT_INTERVAL_SECS" => {
                    self.audit_checkpoint.interval_secs = num(&value).map_err(err)?
                }
                "AUDIT_CHECKPOINT_AFTER_COMMIT_MS" => {
                    self.audit_checkpoint.after_commit_ms = num(&value).map_err(err)?
                }
                "AUDIT_CHECKPOINT_SYSLOG" => self.audit_checkpoint.syslog = value.clone(),
                "AUDIT_CHECKPOINT_EMAIL_TO" => self.audit_checkpoint.email_to = value.clone(),
                // Variables for other parts of Mamori (and the config file path) are not ours.
                _ => {}
            }
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or the SQLite file in the data dir.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("center.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    pub fn effective_public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }

    /// `operations_center` as address ranges (an entry that does not parse is an error
    /// naming it).
    pub fn operations_center_ranges(&self) -> Result<Vec<mamori_policy::addr::IpRange>, String> {
        self.operations_center.iter().map(|a| address(a)).collect()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }
}

/// `[connections]`: how long a connection may take and how many may be open, on the
/// panel/API listener (`listen`) and on the agent listener (`agent_listen`). The center
/// raises its open-file limit to the hard limit at start and, when the caps do not fit
/// under it (with a reserve for the database and files), lowers them and says so in the
/// log, so that a cap is reached before the process runs out of descriptors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// A request's head must arrive in full within this many seconds of the connection
    /// being ready for it (after the TLS handshake, or after the previous answer), so a
    /// connection that sends nothing, or its headers slowly, is closed after it; this is
    /// also the longest a kept-alive connection stays open between requests.
    /// [env: MAMORI_HEADER_READ_TIMEOUT_SECS]
    pub header_read_timeout_secs: u64,
    /// A request body must arrive in full, and the client must take each part of an
    /// answer, within this many seconds, else the connection is closed. A long-poll
    /// waiting for news is not idle. [env: MAMORI_IDLE_TIMEOUT_SECS]
    pub idle_timeout_secs: u64,
    /// Open connections on the panel/API listener. [env: MAMORI_PANEL_MAX_CONNECTIONS]
    pub panel_max: usize,
    /// Open panel/API connections from one source address (IPv6: one /64).
    /// [env: MAMORI_PANEL_MAX_CONNECTIONS_PER_SOURCE]
    pub panel_per_source: usize,
    /// Open connections on the agent listener, enrolled agents and anonymous ones
    /// together: one per agent plus its reports. [env: MAMORI_AGENT_MAX_CONNECTIONS]
    pub agent_max: usize,
    /// Open agent connections with the same client certificate.
    /// [env: MAMORI_AGENT_MAX_CONNECTIONS_PER_CERTIFICATE]
    pub agent_per_certificate: usize,
    /// Open agent connections without a client certificate: those still in their TLS
    /// handshake and those that enrol. [env: MAMORI_AGENT_MAX_ANONYMOUS]
    pub anonymous_max: usize,
    /// Open agent connections without a certificate from one source address (IPv6: one
    /// /64). [env: MAMORI_AGENT_MAX_ANONYMOUS_PER_SOURCE]
    pub anonymous_per_source: usize,
    /// A connection to the agent listener without a client certificate is closed this
    /// many seconds after it was accepted (handshake and enrolment included).
    /// [env: MAMORI_AGENT_ANONYMOUS_SECS]
    pub anonymous_secs: u64,
    /// Refused enrolments from one source address within `enrol_window_secs` before
    /// its further enrolment requests are answered 429 without being checked.
    /// [env: MAMORI_ENROL_REFUSALS_PER_WINDOW]
    pub enrol_refusals_per_window: u32,
    /// The enrolment throttle's window, and how often the refusals from one source
    /// address are written to the audit log: one entry per source and window, with the
    /// count. [env: MAMORI_ENROL_WINDOW_SECS]
    pub enrol_window_secs: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        ConnectionsConfig {
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
            panel_max: 4096,
            panel_per_source: 256,
            agent_max: 65_536,
            agent_per_certificate: 8,
            anonymous_max: 1024,
            anonymous_per_source: 128,
            anonymous_secs: 15,
            enrol_refusals_per_window: 10,
            enrol_window_secs: 60,
        }
    }
}

impl ConnectionsConfig {
    /// Applies `MAMORI_<key>` (without the prefix) when it is one of these keys; false
    /// when it is not.
    fn apply_env(&mut self, key: &str, value: &str) -> Result<bool, String> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String>
        where
            T::Err: std::fmt::Display,
        {
            v.parse::<T>().map_err(|e| e.to_string())
        }
        match key {
            "HEADER_READ_TIMEOUT_SECS" => self.header_read_timeout_secs = num(value)?,
            "IDLE_TIMEOUT_SECS" => self.idle_timeout_secs = num(value)?,
            "PANEL_MAX_CONNECTIONS" => self.panel_max = num(value)?,
            "PANEL_MAX_CONNECTIONS_PER_SOURCE" => self.panel_per_source = num(value)?,
            "AGENT_MAX_CONNECTIONS" => self.agent_max = num(value)?,
            "AGENT_MAX_CONNECTIONS_PER_CERTIFICATE" => self.agent_per_certificate = num(value)?,
            "AGENT_MAX_ANONYMOUS" => self.anonymous_max = num(value)?,
            "AGENT_MAX_ANONYMOUS_PER_SOURCE" => self.anonymous_per_source = num(value)?,
            "AGENT_ANONYMOUS_SECS" => self.anonymous_secs = num(value)?,
            "ENROL_REFUSALS_PER_WINDOW" => self.enrol_refusals_per_window = num(value)?,
            "ENROL_WINDOW_SECS" => self.enrol_window_secs = num(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_their_place() {
        let err = Config::from_toml(
            "listen = \"127.0.0.1:9000\"\nlisten_port = 3\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:2:1:"), "{err}");
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    fn file_then_env_override() {
        let mut c = Config::from_toml(
            "listen = \"127.0.0.1:9000\"\nlog = \"debug\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        c.apply_env([("MAMORI_LISTEN".to_string(), "127.0.0.1:9100".to_string())])
            .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.log, "debug");
        let e = c
            .apply_env([("MAMORI_LOCKOUT_SECS".to_string(), "soon".to_string())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("MAMORI_LOCKOUT_SECS"), "{e}");
    }

    #[test]
    fn trusted_proxies_parse_and_match() {
        let c = Config::from_toml(
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\", \"192.0.2.7\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let has = |ip: &str| {
            let ip: IpAddr = ip.parse().unwrap();
            c.trusted_proxies.iter().any(|n| n.contains(ip))
        };
        assert!(has("10.1.2.3") && has("::1") && has("192.0.2.7") && has("::ffff:10.9.9.9"));
        assert!(!has("11.0.0.1") && !has("192.0.2.8") && !has("::2") && !has("127.0.0.1"));
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("x")).unwrap(), c);
        let e = Config::from_toml("trusted_proxies = [\"10.0.0.0/33\"]\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1:") && e.contains("prefix"), "{e}");
        let mut c = Config::default();
        c.apply_env([(
            "MAMORI_TRUSTED_PROXIES".to_string(),
            "127.0.0.1, fd00::/8".to_string(),
        )])
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        let e = c
            .apply_env([(
                "MAMORI_TRUSTED_PROXIES".to_string(),
                "proxy.local".to_string(),
            )])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MAMORI_TRUSTED_PROXIES") && e.contains("CIDR"),
            "{e}"
        );
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!(!all.contains("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn connection_keys_from_file_and_env() {
        let mut c = Config::from_toml(
            "[connections]\nheader_read_timeout_secs = 3\npanel_max = 100\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.connections.header_read_timeout_secs, 3);
        assert_eq!(c.connections.panel_max, 100);
        assert_eq!(c.connections.agent_max, 65_536);
        c.apply_env([
            ("MAMORI_AGENT_MAX_ANONYMOUS".to_string(), "7".to_string()),
            ("MAMORI_ENROL_WINDOW_SECS".to_string(), "5".to_string()),
        ])
        .unwrap();
        assert_eq!(c.connections.anonymous_max, 7);
        assert_eq!(c.connections.enrol_window_secs, 5);
        let e = c
            .apply_env([("MAMORI_IDLE_TIMEOUT_SECS".to_string(), "-1".to_string())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("MAMORI_IDLE_TIMEOUT_SECS"), "{e}");
        let e = Config::from_toml("[connections]\npanel = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:1:"), "{e}");
    }

    #[test]
    fn operations_center_takes_addresses_and_networks_only() {
        let c = Config::from_toml(
            "operations_center = [\"192.0.2.0/24\", \"2001:db8::/64\", \"203.0.113.10\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.operations_center_ranges().unwrap().len(), 3);
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("x")).unwrap(), c);
        let e = Config::from_toml(
            "operations_center = [\"192.0.2.0/24\", \"center.example.jp\"]\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("c.toml:1:"), "{e}");
        assert!(e.contains("center.example.jp"), "{e}");
        let mut c = Config::default();
        assert!(c.operations_center.is_empty(), "no check by default");
        c.apply_env([(
            "MAMORI_OPERATIONS_CENTER".to_string(),
            "192.0.2.0/24, 2001:db8::/64".to_string(),
        )])
        .unwrap();
        assert_eq!(c.operations_center, ["192.0.2.0/24", "2001:db8::/64"]);
        let e = c
            .apply_env([(
                "MAMORI_OPERATIONS_CENTER".to_string(),
                "192.0.2.300".to_string(),
            )])
            .unwrap_err()
            .to_string();
        assert!(e.contains("MAMORI_OPERATIONS_CENTER"), "{e}");
    }

    #[test]
    fn the_agent_url_is_its_own_or_the_public_host_with_the_listeners_port() {
        let mut c = Config::default();
        assert_eq!(c.agent_listen, "0.0.0.0:8443", "on by default");
        assert_eq!(c.agent_url(8443), "https://127.0.0.1:8443");
        c.public_url = "https://panel.example.jp/".into();
        assert_eq!(c.agent_url(8443), "https://panel.example.jp:8443");
        c.public_url = "http://[2001:db8::1]:8080".into();
        assert_eq!(c.agent_url(9443), "https://[2001:db8::1]:9443");
        c.agent_public_url = "https://gw.example.jp:443/".into();
        assert_eq!(c.agent_url(8443), "https://gw.example.jp:443");
        c.apply_env([("MAMORI_AGENT_LISTEN".to_string(), String::new())])
            .unwrap();
        assert_eq!(c.agent_listen, "", "the environment turns it off");
    }

    #[test]
    fn printed_config_parses_back() {
        let c = Config::default();
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("x")).unwrap(), c);
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_errors_have_a_place(text in "(?s).{0,200}") {
            if let Err(e) = Config::from_toml(&text, Path::new("p.toml")) {
                let msg = e.to_string();
                proptest::prop_assert!(msg.starts_with("p.toml:"), "{}", msg);
            }
        }

        #[test]
        fn parsing_keyish_input_never_panics(text in "(listen|log|data_dir|x) ?= ?(\"[^\"]{0,20}\"|[0-9]{1,30}|\\[|\\{)?\n?") {
            let _ = Config::from_toml(&text, Path::new("p.toml"));
        }
    }
}
