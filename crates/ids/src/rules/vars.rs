//! Address and port groups (`$HOME_NET`, `$HTTP_PORTS`, ...).

use std::collections::BTreeMap;

/// Address and port groups, as raw Suricata expressions (resolved when a rule uses them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    pub address_groups: BTreeMap<String, String>,
    pub port_groups: BTreeMap<String, String>,
}

/// Why a vars document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VarsError {
    #[error("vars: not valid JSON at line {line}, column {column}: {detail}")]
    Json {
        line: usize,
        column: usize,
        detail: String,
    },
    #[error(
        "vars: `{field}` must be an object of name → string expression (hint: see default-vars.json)"
    )]
    Shape { field: String },
}

const DEFAULT_ADDRESS_GROUPS: &[(&str, &str)] = &[
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
];

const DEFAULT_PORT_GROUPS: &[(&str, &str)] = &[
    ("DNP3_PORTS", "20000"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("HTTP_PORTS", "80"),
    ("MODBUS_PORTS", "502"),
    ("ORACLE_PORTS", "1521"),
    ("SHELLCODE_PORTS", "!80"),
    ("SIP_PORTS", "[5060, 5061]"),
    ("SSH_PORTS", "22"),
    ("TEREDO_PORTS", "3544"),
    ("VXLAN_PORTS", "4789"),
];

impl Vars {
    /// Suricata's defaults (those of its default `suricata.yaml`).
    pub fn suricata_defaults() -> Vars {
        Vars {
            address_groups: DEFAULT_ADDRESS_GROUPS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            port_groups: DEFAULT_PORT_GROUPS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// From the JSON format of `default-vars.json` / `vars.json`:
    /// `{"address-groups": {NAME: EXPR}, "port-groups": {NAME: EXPR}}`.
    pub fn from_json(text: &str) -> Result<Vars, VarsError> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| VarsError::Json {
            line: e.line(),
            column: e.column(),
            detail: e.to_string(),
        })?;
        let mut vars = Vars::default();
        for (field, target) in [
            ("address-groups", &mut vars.address_groups),
            ("port-groups", &mut vars.port_groups),
        ] {
            match doc.get(field) {
                None => {}
                Some(serde_json::Value::Object(map)) => {
                    for (k, v) in map {
                        let v = match v {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(n) => n.to_string(),
                            _ => {
                                return Err(VarsError::Shape {
                                    field: format!("{field}.{k}"),
                                });
                            }
                        };
                        target.insert(k.clone(), v);
                    }
                }
                Some(_) => {
                    return Err(VarsError::Shape {
                        field: field.to_string(),
                    });
                }
            }
        }
        Ok(vars)
    }
}
