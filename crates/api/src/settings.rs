//! The gateway settings of a configuration revision: where the gateway sends its log,
//! who may read it over SNMPv3, and which time and name servers it uses. Serde only;
//! [`GatewaySettings::check`] names every problem in English and Japanese.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Everything of a gateway's configuration that is not the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Remote syslog target; none when absent.
    pub syslog: Option<SyslogTarget>,
    /// SNMPv3 users (authentication and privacy always on).
    pub snmp_v3: Vec<SnmpV3User>,
    /// NTP servers: host names or addresses.
    pub ntp: Vec<String>,
    /// DNS resolver addresses.
    pub dns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyslogTarget {
    pub host: String,
    #[serde(default = "default_syslog_port")]
    pub port: u16,
    #[serde(default)]
    pub protocol: Transport,
}

fn default_syslog_port() -> u16 {
    514
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SnmpV3User {
    pub user: String,
    pub auth: SnmpAuth,
    pub auth_pass: String,
    pub privacy: SnmpPriv,
    pub priv_pass: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SnmpAuth {
    Sha,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SnmpPriv {
    Aes,
    Aes256,
}

/// One problem of a settings document: the field (`snmp_v3[0].auth_pass`) and what is
/// wrong with it, in English and in Japanese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsProblem {
    pub field: String,
    pub en: String,
    pub ja: String,
}

/// The shortest pass phrase net-snmp accepts.
pub const MIN_SNMP_PASS: usize = 8;

impl GatewaySettings {
    /// Every problem of the settings; empty when they can be applied.
    pub fn check(&self) -> Vec<SettingsProblem> {
        let mut out = Vec::new();
        let mut add =
            |field: String, en: String, ja: String| out.push(SettingsProblem { field, en, ja });
        if let Some(s) = &self.syslog {
            if !is_host(&s.host) {
                add(
                    "syslog.host".into(),
                    format!("{:?} is not a host name or an IP address", s.host),
                    format!(
                        "syslog の送信先「{}」はホスト名でも IP アドレスでもありません",
                        s.host
                    ),
                );
            }
            if s.port == 0 {
                add(
                    "syslog.port".into(),
                    "the port must be between 1 and 65535".into(),
                    "syslog のポートは 1 から 65535 の間で指定してください".into(),
                );
            }
        }
        let mut users: Vec<&str> = Vec::new();
        for (i, u) in self.snmp_v3.iter().enumerate() {
            let valid_name = !u.user.is_empty()
                && u.user.len() <= 32
                && u.user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid_name {
                add(
                    format!("snmp_v3[{i}].user"),
                    format!(
                        "{:?} is not a valid SNMP user name (1 to 32 letters, digits, '-', '_' or '.')",
                        u.user
                    ),
                    format!(
                        "SNMP ユーザー名「{}」は使えません(英数字・「-」「_」「.」の 1〜32 文字)",
                        u.user
                    ),
                );
            } else if users.contains(&u.user.as_str()) {
                add(
                    format!("snmp_v3[{i}].user"),
                    format!("the SNMP user {:?} appears twice", u.user),
                    format!("SNMP ユーザー「{}」が重複しています", u.user),
                );
            }
            users.push(&u.user);
            for (field, pass, ja_name) in [
                ("auth_pass", &u.auth_pass, "認証パスフレーズ"),
                ("priv_pass", &u.priv_pass, "暗号化パスフレーズ"),
            ] {
                let n = pass.chars().count();
                if n < MIN_SNMP_PASS {
                    add(
                        format!("snmp_v3[{i}].{field}"),
                        format!(
                            "the pass phrase has {n} characters; SNMPv3 needs at least {MIN_SNMP_PASS}"
                        ),
                        format!(
                            "SNMP ユーザー「{}」の{ja_name}は {MIN_SNMP_PASS} 文字以上にしてください(現在 {n} 文字)",
                            u.user
                        ),
                    );
                } else if pass.chars().any(|c| c.is_control()) {
                    add(
                        format!("snmp_v3[{i}].{field}"),
                        "the pass phrase contains a control character".into(),
                        format!(
                            "SNMP ユーザー「{}」の{ja_name}に制御文字が含まれています",
                            u.user
                        ),
                    );
                }
            }
        }
        for (i, h) in self.ntp.iter().enumerate() {
            if !is_host(h) {
                add(
                    format!("ntp[{i}]"),
                    format!("{h:?} is not a host name or an IP address"),
                    format!("NTP サーバー「{h}」はホスト名でも IP アドレスでもありません"),
                );
            }
        }
        for (i, a) in self.dns.iter().enumerate() {
            if a.parse::<IpAddr>().is_err() {
                add(
                    format!("dns[{i}]"),
                    format!("{a:?} is not an IP address"),
                    format!("DNS サーバー「{a}」は IP アドレスではありません"),
                );
            }
        }
        out
    }
}

/// An IP address or a host name as RFC 1123 allows (labels of letters, digits and
/// hyphens, 1 to 63 characters, not starting or ending with a hyphen; 253 at most).
pub fn is_host(s: &str) -> bool {
    if s.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    // A name of digits and dots only is a malformed address, not a host name.
    labels_ok && !name.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, auth: &str, privp: &str) -> SnmpV3User {
        SnmpV3User {
            user: name.into(),
            auth: SnmpAuth::Sha256,
            auth_pass: auth.into(),
            privacy: SnmpPriv::Aes,
            priv_pass: privp.into(),
        }
    }

    #[test]
    fn empty_settings_are_valid_and_default() {
        let s: GatewaySettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, GatewaySettings::default());
        assert!(s.check().is_empty());
    }

    #[test]
    fn syslog_port_and_protocol_default_to_514_udp() {
        let s: GatewaySettings =
            serde_json::from_str(r#"{"syslog": {"host": "log.example.jp"}}"#).unwrap();
        let t = s.syslog.unwrap();
        assert_eq!((t.port, t.protocol), (514, Transport::Udp));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<GatewaySettings>(r#"{"sylog": null}"#).unwrap_err();
        assert!(e.to_string().contains("sylog"), "{e}");
        let e =
            serde_json::from_str::<GatewaySettings>(r#"{"syslog": {"host": "a", "proto": "tcp"}}"#)
                .unwrap_err();
        assert!(e.to_string().contains("proto"), "{e}");
    }

    #[test]
    fn short_snmp_pass_phrases_are_named() {
        let s = GatewaySettings {
            snmp_v3: vec![user("ops", "short", "longenough")],
            ..Default::default()
        };
        let p = s.check();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "snmp_v3[0].auth_pass");
        assert!(p[0].en.contains("at least 8"), "{}", p[0].en);
        assert!(p[0].ja.contains("8 文字以上"), "{}", p[0].ja);
    }

    #[test]
    fn duplicate_users_and_bad_names_are_named() {
        let s = GatewaySettings {
            snmp_v3: vec![
                user("ops", "12345678", "12345678"),
                user("ops", "12345678", "12345678"),
                user("bad name", "12345678", "12345678"),
            ],
            ..Default::default()
        };
        let fields: Vec<String> = s.check().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["snmp_v3[1].user", "snmp_v3[2].user"]);
    }

    #[test]
    fn hosts_and_addresses_are_checked() {
        let s = GatewaySettings {
            syslog: Some(SyslogTarget {
                host: "-bad-.example".into(),
                port: 0,
                protocol: Transport::Tcp,
            }),
            ntp: vec![
                "ntp.nict.jp".into(),
                "192.0.2.300".into(),
                "2001:db8::1".into(),
            ],
            dns: vec!["192.0.2.53".into(), "dns.example".into()],
            ..Default::default()
        };
        let fields: Vec<String> = s.check().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["syslog.host", "syslog.port", "ntp[1]", "dns[1]"]);
    }

    #[test]
    fn host_names() {
        for ok in [
            "a",
            "ntp.example.jp",
            "ntp.example.jp.",
            "10.0.0.1",
            "::1",
            "a-b.c1",
        ] {
            assert!(is_host(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            "-a",
            "a-",
            "a_b",
            "1.2.3.4.5",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(!is_host(bad), "{bad}");
        }
    }
}
