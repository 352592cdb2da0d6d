//! The gateway settings of a generation (syslog target, SNMP v3 users, NTP and DNS
//! servers) rendered as configuration fragments for the daemons that serve them:
//! `rsyslog.conf`, `snmpd.conf`, `chrony.conf` and `resolv.conf`, each written atomically
//! into a configured directory (the distribution's include directories point there).
//!
//! The settings arrive as JSON (`mamori_api::agent::DesiredConfig::settings`) and are
//! read as `mamori_api::settings::GatewaySettings` and checked with its `check`; a value
//! that could break out of its configuration line is refused as well.

use std::path::Path;

use crate::state::{StateError, write_atomic};

/// The settings as the contract defines them.
pub use mamori_api::settings::{GatewaySettings as Settings, SnmpAuth, SnmpPriv, Transport};

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

/// Reads and checks the settings JSON of a desired configuration.
pub fn from_json(v: &serde_json::Value) -> Result<Settings, SettingsError> {
    if v.is_null() {
        return Ok(Settings::default());
    }
    let s: Settings =
        serde_json::from_value(v.clone()).map_err(|e| SettingsError::Invalid(e.to_string()))?;
    let problems = s.check();
    if !problems.is_empty() {
        let all: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.en))
            .collect();
        return Err(SettingsError::Invalid(all.join("; ")));
    }
    if let Some(l) = &s.syslog {
        safe("syslog.host", &l.host)?;
    }
    for (i, u) in s.snmp_v3.iter().enumerate() {
        safe(&format!("snmp_v3[{i}].user"), &u.user)?;
        safe(&format!("snmp_v3[{i}].auth_pass"), &u.auth_pass)?;
        safe(&format!("snmp_v3[{i}].priv_pass"), &u.priv_pass)?;
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
pub fn render(s: &Settings) -> Result<Vec<(&'static str, String, bool)>, SettingsError> {
    let head = "# Written by the Mamori agent from the site's published configuration; changes here are replaced.\n";
    let mut syslog = head.to_string();
    if let Some(l) = &s.syslog {
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
    for u in &s.snmp_v3 {
        snmp.push_str(&format!(
            "createUser {} {} \"{}\" {} \"{}\"\nrouser {} priv\n",
            u.user,
            auth_name(u.auth),
            u.auth_pass,
            priv_name(u.privacy),
            u.priv_pass,
            u.user
        ));
    }
    let mut chrony = head.to_string();
    for n in &s.ntp {
        chrony.push_str(&format!("server {n} iburst\n"));
    }
    let mut resolv = head.to_string();
    for n in &s.dns {
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
pub fn write(s: &Settings, dir: &Path) -> Result<(), SettingsError> {
    std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, text, private) in render(s)? {
        write_atomic(&dir.join(name), text.as_bytes(), private)?;
    }
    Ok(())
}

fn auth_name(a: SnmpAuth) -> &'static str {
    match a {
        SnmpAuth::Sha => "SHA",
        SnmpAuth::Sha256 => "SHA-256",
        SnmpAuth::Sha512 => "SHA-512",
    }
}

fn priv_name(p: SnmpPriv) -> &'static str {
    match p {
        SnmpPriv::Aes => "AES",
        SnmpPriv::Aes256 => "AES-256",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_each_daemons_fragment() {
        let s = from_json(&json!({
            "syslog": {"host": "192.0.2.9", "protocol": "tcp"},
            "snmp_v3": [{"user": "ops", "auth": "sha256", "auth_pass": "authpass1", "privacy": "aes", "priv_pass": "privpass1"}],
            "ntp": ["ntp.example"],
            "dns": ["192.0.2.53"]
        }))
        .unwrap();
        let r = render(&s).unwrap();
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
        let e = from_json(&json!({"dns": ["1.1.1.1\nnameserver 6.6.6.6"]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dns[0]"), "{e}");
        assert!(from_json(&json!({"snmp_v3": [{"user": "u", "auth": "md5", "auth_pass": "aaaaaaaa", "privacy": "aes", "priv_pass": "bbbbbbbb"}]})).is_err());
        assert_eq!(
            from_json(&serde_json::Value::Null).unwrap(),
            Settings::default()
        );
    }
}
