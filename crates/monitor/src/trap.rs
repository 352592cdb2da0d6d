//! SNMP notifications (traps and informs, v1, v2c, v3) as the engine reads them. The
//! bytes are taken off the wire and decoded (BER, USM) by the receiver adapter with an
//! SNMP library; what reaches this module is already a [`Notification`]: the trap OID,
//! the uptime and the variable bindings. Here they get their meaning: the generic traps
//! of SNMPv2-MIB and IF-MIB ([`TrapEvent`]) and any enterprise trap, with its OID and
//! its variables.

use std::fmt;
use std::str::FromStr;

/// An object identifier, `1.3.6.1...`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This OID with `arcs` appended.
    pub fn child(&self, arcs: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(arcs);
        Oid(v)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OID `{text}`, arc {arc}: an arc is a number from 0 to 4294967295")]
pub struct OidError {
    pub text: String,
    /// 1-based.
    pub arc: usize,
}

impl FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.strip_prefix('.').unwrap_or(s);
        t.split('.')
            .enumerate()
            .map(|(i, a)| {
                a.parse::<u32>().map_err(|_| OidError {
                    text: s.to_string(),
                    arc: i + 1,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Oid)
    }
}

/// A variable binding's value (SMIv2 types and the v2 exceptions).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    OctetString(Vec<u8>),
    Null,
    Oid(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    /// The value as an unsigned number, for the integer types.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(i) => u64::try_from(i).ok(),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => Some(v.into()),
            Value::Counter64(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2c,
    V3,
}

/// A notification as received, after decoding and authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub version: Version,
    /// An inform (acknowledged), not a trap.
    pub confirmed: bool,
    /// The community (v1, v2c) or the USM user name (v3).
    pub security_name: String,
    /// sysUpTime.0 of the sender, in hundredths of a second.
    pub uptime: u32,
    /// snmpTrapOID.0 (for v1, the OID RFC 3584 maps the trap to: [`v1_trap_oid`]).
    pub trap_oid: Oid,
    /// The bindings after sysUpTime.0 and snmpTrapOID.0.
    pub varbinds: Vec<(Oid, Value)>,
}

/// `snmpTraps` (SNMPv2-MIB): the generic traps are its children 1..=5.
pub fn snmp_traps() -> Oid {
    Oid(vec![1, 3, 6, 1, 6, 3, 1, 1, 5])
}

/// The snmpTrapOID of a v1 trap (RFC 3584 §3.1): a generic trap 0..=5 is
/// `snmpTraps.(generic + 1)`; an enterprise-specific one (6) is
/// `enterprise.0.specific`.
pub fn v1_trap_oid(enterprise: &Oid, generic: i32, specific: i32) -> Oid {
    match u32::try_from(generic) {
        Ok(g @ 0..=5) => snmp_traps().child(&[g + 1]),
        _ => enterprise.child(&[0, specific.max(0) as u32]),
    }
}

const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
const IF_INDEX: u32 = 1;
const IF_DESCR: u32 = 2;
const IF_ADMIN_STATUS: u32 = 7;
const IF_OPER_STATUS: u32 = 8;
/// ifName (IF-MIB ifXEntry.1).
const IF_NAME: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];

/// ifAdminStatus / ifOperStatus (IF-MIB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfStatus {
    Up,
    Down,
    Testing,
    Unknown,
    Dormant,
    NotPresent,
    LowerLayerDown,
}

impl IfStatus {
    pub fn from_code(code: i64) -> Option<IfStatus> {
        Some(match code {
            1 => IfStatus::Up,
            2 => IfStatus::Down,
            3 => IfStatus::Testing,
            4 => IfStatus::Unknown,
            5 => IfStatus::Dormant,
            6 => IfStatus::NotPresent,
            7 => IfStatus::LowerLayerDown,
            _ => return None,
        })
    }
}

/// The interface a linkDown/linkUp names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    pub if_index: Option<u32>,
    pub admin: Option<IfStatus>,
    pub oper: Option<IfStatus>,
    /// ifDescr or ifName, when the agent sent one.
    pub name: Option<String>,
}

/// What a notification means.
#[derive(Debug, Clone, PartialEq)]
pub enum TrapEvent {
    ColdStart,
    WarmStart,
    LinkDown(Link),
    LinkUp(Link),
    AuthenticationFailure,
    /// Any other trap, with its OID and its bindings.
    Enterprise {
        trap_oid: Oid,
        varbinds: Vec<(Oid, Value)>,
    },
}

/// A binding that does not say what its OID promises.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{trap} trap, binding {index} ({oid}): {what}")]
pub struct TrapError {
    pub trap: &'static str,
    /// 1-based, after sysUpTime.0 and snmpTrapOID.0.
    pub index: usize,
    pub oid: Oid,
    pub what: &'static str,
}

/// Gives a notification its meaning.
pub fn interpret(n: &Notification) -> Result<TrapEvent, TrapError> {
    let traps = snmp_traps();
    if n.trap_oid.0.len() == traps.0.len() + 1 && n.trap_oid.starts_with(&traps) {
        match n.trap_oid.0[traps.0.len()] {
            1 => return Ok(TrapEvent::ColdStart),
            2 => return Ok(TrapEvent::WarmStart),
            3 => return link("linkDown", &n.varbinds).map(TrapEvent::LinkDown),
            4 => return link("linkUp", &n.varbinds).map(TrapEvent::LinkUp),
            5 => return Ok(TrapEvent::AuthenticationFailure),
            _ => {}
        }
    }
    Ok(TrapEvent::Enterprise {
        trap_oid: n.trap_oid.clone(),
        varbinds: n.varbinds.clone(),
    })
}

fn link(trap: &'static str, varbinds: &[(Oid, Value)]) -> Result<Link, TrapError> {
    let mut l = Link::default();
    let entry = Oid(IF_ENTRY.to_vec());
    let if_name = Oid(IF_NAME.to_vec());
    for (i, (oid, value)) in varbinds.iter().enumerate() {
        let bad = |what| TrapError {
            trap,
            index: i + 1,
            oid: oid.clone(),
            what,
        };
        let instance = |o: &Oid, base: usize| -> Result<u32, TrapError> {
            match &o.0[base..] {
                [i] => Ok(*i),
                _ => Err(bad("the instance is not one interface index")),
            }
        };
        if oid.starts_with(&entry) && oid.0.len() > entry.0.len() {
            let column = oid.0[entry.0.len()];
            let index = instance(oid, entry.0.len() + 1)?;
            match column {
                IF_INDEX => {
                    let v = value
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| bad("ifIndex is not an interface number"))?;
                    l.if_index = Some(v);
                }
                IF_DESCR => l.name = Some(text(value).ok_or_else(|| bad("ifDescr is not text"))?),
                IF_ADMIN_STATUS | IF_OPER_STATUS => {
                    let s = match value {
                        Value::Integer(c) => IfStatus::from_code(*c),
                        _ => None,
                    }
                    .ok_or_else(|| bad("the status is not an IF-MIB status code"))?;
                    if column == IF_ADMIN_STATUS {
                        l.admin = Some(s);
                    } else {
                        l.oper = Some(s);
                    }
                }
                _ => continue,
            }
            if l.if_index.is_some_and(|x| x != index) && column != IF_INDEX {
                return Err(bad("the bindings name different interfaces"));
            }
            l.if_index.get_or_insert(index);
        } else if oid.starts_with(&if_name) && oid.0.len() == if_name.0.len() + 1 {
            l.name = Some(text(value).ok_or_else(|| bad("ifName is not text"))?);
        }
    }
    Ok(l)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::OctetString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn n(trap: &str, varbinds: Vec<(Oid, Value)>) -> Notification {
        Notification {
            version: Version::V2c,
            confirmed: false,
            security_name: "public".into(),
            uptime: 42,
            trap_oid: oid(trap),
            varbinds,
        }
    }

    #[test]
    fn oids_parse_and_print() {
        assert_eq!(oid(".1.3.6.1").to_string(), "1.3.6.1");
        assert_eq!(
            "1.3.x".parse::<Oid>().unwrap_err().to_string(),
            "OID `1.3.x`, arc 3: an arc is a number from 0 to 4294967295"
        );
        assert!("".parse::<Oid>().is_err());
    }

    #[test]
    fn generic_traps() {
        assert_eq!(
            interpret(&n("1.3.6.1.6.3.1.1.5.1", vec![])),
            Ok(TrapEvent::ColdStart)
        );
        assert_eq!(
            interpret(&n("1.3.6.1.6.3.1.1.5.2", vec![])),
            Ok(TrapEvent::WarmStart)
        );
        assert_eq!(
            interpret(&n("1.3.6.1.6.3.1.1.5.5", vec![])),
            Ok(TrapEvent::AuthenticationFailure)
        );
    }

    #[test]
    fn link_down_with_the_if_mib_bindings() {
        let t = n(
            "1.3.6.1.6.3.1.1.5.3",
            vec![
                (oid("1.3.6.1.2.1.2.2.1.1.3"), Value::Integer(3)),
                (oid("1.3.6.1.2.1.2.2.1.7.3"), Value::Integer(1)),
                (oid("1.3.6.1.2.1.2.2.1.8.3"), Value::Integer(2)),
                (
                    oid("1.3.6.1.2.1.31.1.1.1.1.3"),
                    Value::OctetString(b"wan0".to_vec()),
                ),
            ],
        );
        assert_eq!(
            interpret(&t),
            Ok(TrapEvent::LinkDown(Link {
                if_index: Some(3),
                admin: Some(IfStatus::Up),
                oper: Some(IfStatus::Down),
                name: Some("wan0".into()),
            }))
        );
        // Without ifIndex, the instance of the status columns names the interface.
        let t = n(
            "1.3.6.1.6.3.1.1.5.4",
            vec![(oid("1.3.6.1.2.1.2.2.1.8.7"), Value::Integer(1))],
        );
        let TrapEvent::LinkUp(l) = interpret(&t).unwrap() else {
            panic!()
        };
        assert_eq!((l.if_index, l.oper), (Some(7), Some(IfStatus::Up)));
    }

    #[test]
    fn link_trap_errors_name_the_binding() {
        let t = n(
            "1.3.6.1.6.3.1.1.5.3",
            vec![
                (oid("1.3.6.1.2.1.2.2.1.1.3"), Value::Integer(3)),
                (
                    oid("1.3.6.1.2.1.2.2.1.8.3"),
                    Value::OctetString(b"down".to_vec()),
                ),
            ],
        );
        let e = interpret(&t).unwrap_err();
        assert_eq!(e.index, 2);
        assert_eq!(
            e.to_string(),
            "linkDown trap, binding 2 (1.3.6.1.2.1.2.2.1.8.3): the status is not an IF-MIB status code"
        );
        let t = n(
            "1.3.6.1.6.3.1.1.5.3",
            vec![
                (oid("1.3.6.1.2.1.2.2.1.1.3"), Value::Integer(3)),
                (oid("1.3.6.1.2.1.2.2.1.8.4"), Value::Integer(2)),
            ],
        );
        assert_eq!(
            interpret(&t).unwrap_err().what,
            "the bindings name different interfaces"
        );
    }

    #[test]
    fn enterprise_traps_keep_oid_and_bindings() {
        let vb = vec![(
            oid("1.3.6.1.4.1.99999.1.1"),
            Value::OctetString(b"fan".to_vec()),
        )];
        assert_eq!(
            interpret(&n("1.3.6.1.4.1.99999.0.7", vb.clone())),
            Ok(TrapEvent::Enterprise {
                trap_oid: oid("1.3.6.1.4.1.99999.0.7"),
                varbinds: vb
            })
        );
        // snmpTraps.6 and deeper OIDs under snmpTraps are not the generic traps.
        assert!(matches!(
            interpret(&n("1.3.6.1.6.3.1.1.5.3.1", vec![])),
            Ok(TrapEvent::Enterprise { .. })
        ));
    }

    #[test]
    fn v1_mapping_follows_rfc_3584() {
        let ent = oid("1.3.6.1.4.1.8072.3.2.10");
        assert_eq!(v1_trap_oid(&ent, 2, 0), oid("1.3.6.1.6.3.1.1.5.3"));
        assert_eq!(
            v1_trap_oid(&ent, 6, 17),
            oid("1.3.6.1.4.1.8072.3.2.10.0.17")
        );
    }
}
