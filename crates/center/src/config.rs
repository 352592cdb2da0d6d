//! The center's configuration: defaults, then the TOML file, then `MAMORI_*` environment
//! variables, then command-line flags (applied by the caller). Unknown keys are errors.

use std::net::SocketAddr;
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
    /// Holds the SQLite database (when no `database_url` is set) and local state.
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
    /// Failed sign-ins from one address within a minute before it is throttled.
    pub throttle_per_minute: u32,
    /// Database connections per center process.
    pub max_connections: u32,
    /// The back office: eligible lines, invoice issuer, SMTP for notices.
    pub backoffice: crate::backoffice::BackofficeConfig,
    /// Address and port of the agent listener (mutual TLS); empty means no listener.
    pub agent_listen: String,
    /// Configuration revisions need a reviewer other than their author.
    pub four_eyes: bool,
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
            max_connections: 16,
            backoffice: Default::default(),
            agent_listen: String::new(),
            four_eyes: true,
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
                "MAX_CONNECTIONS" => self.max_connections = num(&value).map_err(err)?,
                "AGENT_LISTEN" => self.agent_listen = value.clone(),
                "FOUR_EYES" => self.four_eyes = num(&value).map_err(err)?,
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
