//! The gateway settings of a generation (syslog target, SNMP v3 users, NTP and DNS
//! servers) rendered as configuration fragments for the daemons that serve them:
//! `rsyslog.conf`, `snmpd.conf`, `chrony.conf` and `resolv.conf`, each written atomically
//! into a configured directory (the distribution's include directories point there).
//!
//! The settings arrive as JSON (`mamori_api::agent::DesiredConfig::settings`). The
//! agent reads the fields it renders and ignores others, so a newer center can add a
//! setting without breaking older agents.

use std::path::Path;

use serde::Deserialize;

use crate::state::{StateError, write_atomic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub syslog: Option<Syslog>,
    pub snmp_v3: Vec<SnmpUser>,
    pub ntp: Vec<String>,
    pub dns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Syslog {
    pub host: String,
    #[serde(default = "default_syslog_port")]
    pub port: u16,
    #[serde(default)]
    pub protocol: Transport,
}

fn default_syslog_port() -> u16 {
    514
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnmpUser {
    pub user: String,
    pub auth: String,
    pub auth_pass: String,
    pub privacy: String,
    pub priv_pass: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the gateway settings are not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Write(#[from] StateError),
}

/// Characters a value may not carry into a configuration line.
fn safe(field: &str, v: &str) -> Result<(), SettingsError> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_control() || c == '"' || c == '\\' || c.is_whitespace())
    {
        return Err(SettingsError::Invalid(format!(
            "{field} {v:?} is empty or has spaces, quotes or control characters"
        )));
    }
    Ok(())
}

impl Settings {
    pub fn from_json(v: &serde_json::Value) -> Result<Settings, SettingsError> {
        if v.is_null() {
            return Ok(Settings::default());
        }
        let s: Settings =
            serde_json::from_value(v.clone()).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if let Some(l) = &s.syslog {
            safe("syslog.host", &l.host)?;
        }
        for (i, u) in s.snmp_v3.iter().enumerate() {
            safe(&format!("snmp_v3[{i}].user"), &u.user)?;
            safe(&format!("snmp_v3[{i}].auth_pass"), &u.auth_pass)?;
            safe(&format!("snmp_v3[{i}].priv_pass"), &u.priv_pass)?;
            auth_name(&u.auth)?;
            priv_name(&u.privacy)?;
        }
        for (i, n) in s.ntp.iter().enumerate() {
            safe(&format!("ntp[{i}]"), n)?;
        }
        for (i, n) in s.dns.iter().enumerate() {
            safe(&format!("dns[{i}]"), n)?;
        }
        Ok(s)
    }

    /// The fragments: (file name, text, private).
    pub fn render(&self) -> Result<Vec<(&'static str, String, bool)>, SettingsError> {
        let head = "# Written by the Mamori agent from the site's published configuration; changes here are replaced.\n";
        let mut syslog = head.to_string();
        if let Some(l) = &self.syslog {
            let at = match l.protocol {
                Transport::Udp => "@",
                Transport::Tcp => "@@",
            };
            let host = if l.host.contains(':') {
                format!("[{}]", l.host)
            } else {
                l.host.clone()
            };
            syslog.push_str(&format!("*.* {at}{host}:{}\n", l.port));
        }
        let mut snmp = head.to_string();
        for u in &self.snmp_v3 {
            snmp.push_str(&format!(
                "createUser {} {} \"{}\" {} \"{}\"\nrouser {} priv\n",
                u.user,
                auth_name(&u.auth)?,
                u.auth_pass,
                priv_name(&u.privacy)?,
                u.priv_pass,
                u.user
            ));
        }
        let mut chrony = head.to_string();
        for n in &self.ntp {
            chrony.push_str(&format!("server {n} iburst\n"));
        }
        let mut resolv = head.to_string();
        for n in &self.dns {
            resolv.push_str(&format!("nameserver {n}\n"));
        }
        Ok(vec![
            ("rsyslog.conf", syslog, false),
            ("snmpd.conf", snmp, true),
            ("chrony.conf", chrony, false),
            ("resolv.conf", resolv, false),
        ])
    }

    /// Writes every fragment into `dir`, each atomically.
    pub fn write(&self, dir: &Path) -> Result<(), SettingsError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, text, private) in self.render()? {
            write_atomic(&dir.join(name), text.as_bytes(), private)?;
        }
        Ok(())
    }
}

fn auth_name(a: &str) -> Result<&'static str, SettingsError> {
    match a {
        "sha" => Ok("SHA"),
        "sha256" => Ok("SHA-256"),
        "sha512" => Ok("SHA-512"),
        other => Err(SettingsError::Invalid(format!(
            "SNMP authentication {other:?} (expected sha, sha256 or sha512)"
        ))),
    }
}

fn priv_name(p: &str) -> Result<&'static str, SettingsError> {
    match p {
        "aes" => Ok("AES"),
        "aes256" => Ok("AES-256"),
        other => Err(SettingsError::Invalid(format!(
            "SNMP privacy {other:?} (expected aes or aes256)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_each_daemons_fragment() {
        let s = Settings::from_json(&json!({
            "syslog": {"host": "192.0.2.9", "protocol": "tcp"},
            "snmp_v3": [{"user": "ops", "auth": "sha256", "auth_pass": "authpass1", "privacy": "aes", "priv_pass": "privpass1"}],
            "ntp": ["ntp.example"],
            "dns": ["192.0.2.53"]
        }))
        .unwrap();
        let r = s.render().unwrap();
        let get = |n: &str| r.iter().find(|f| f.0 == n).unwrap().1.clone();
        assert!(get("rsyslog.conf").contains("*.* @@192.0.2.9:514\n"));
        assert!(
            get("snmpd.conf").contains(
                "createUser ops SHA-256 \"authpass1\" AES \"privpass1\"\nrouser ops priv\n"
            )
        );
        assert!(
            r.iter().find(|f| f.0 == "snmpd.conf").unwrap().2,
            "snmpd.conf is private"
        );
        assert!(get("chrony.conf").contains("server ntp.example iburst\n"));
        assert!(get("resolv.conf").contains("nameserver 192.0.2.53\n"));
    }

    #[test]
    fn a_value_that_could_break_out_of_its_line_is_refused() {
        let e = Settings::from_json(&json!({"dns": ["1.1.1.1\nnameserver 6.6.6.6"]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dns[0]"), "{e}");
        assert!(Settings::from_json(&json!({"snmp_v3": [{"user": "u", "auth": "md5", "auth_pass": "aaaaaaaa", "privacy": "aes", "priv_pass": "bbbbbbbb"}]})).is_err());
        assert_eq!(
            Settings::from_json(&serde_json::Value::Null).unwrap(),
            Settings::default()
        );
    }
}
