//! SNMP polling of a gateway's agent, v2c or v3 (authPriv with SHA-2 and AES), through
//! async-snmp: sysUpTime, IF-MIB 64-bit octet counters and operational status,
//! HOST-RESOURCES processor load, UCD memory, disks and load averages. Numeric OIDs
//! only (no MIB files are needed, or installed, here).

use mamori_monitor::metrics::CpuTicks;
use mamori_monitor::rollup::Sample;
use mamori_monitor::trap::{IfStatus, Oid, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

pub use async_snmp::{AuthProtocol, PrivProtocol};

/// How to speak to an agent.
#[derive(Clone)]
pub enum Credentials {
    V2c {
        community: String,
    },
    /// USM with authentication and privacy (authPriv).
    V3 {
        user: String,
        auth: AuthProtocol,
        auth_password: String,
        privacy: PrivProtocol,
        privacy_password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::V2c { .. } => write!(f, "V2c {{ community: <hidden> }}"),
            Credentials::V3 {
                user,
                auth,
                privacy,
                ..
            } => write!(
                f,
                "V3 {{ user: {user:?}, auth: {auth}, privacy: {privacy:?} }}"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub credentials: Credentials,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SnmpError {
    #[error("SNMP agent {addr}: {what}")]
    Agent { addr: SocketAddr, what: String },
    #[error("SNMP agent {addr}: the credentials are not usable: {what}")]
    Credentials { addr: SocketAddr, what: String },
}

/// One interface's row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interface {
    pub in_octets: Option<u64>,
    pub out_octets: Option<u64>,
    pub oper: Option<IfStatus>,
}

/// What one poll read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Poll {
    /// Hundredths of a second.
    pub uptime: Option<u32>,
    /// By ifIndex.
    pub interfaces: BTreeMap<u32, Interface>,
    /// hrProcessorLoad per processor, percent (net-snmp fills it after its first
    /// minute of samples).
    pub cpu_load: Vec<u32>,
    /// UCD raw CPU ticks: two polls give the busy share
    /// (`mamori_monitor::metrics::cpu_busy_percent`).
    pub cpu_ticks: Option<CpuTicks>,
    pub mem_total_kb: Option<u64>,
    pub mem_available_kb: Option<u64>,
    /// (dskPath, dskPercent) for each disk snmpd watches.
    pub disks: Vec<(String, u32)>,
    /// 1, 5 and 15 minute load averages.
    pub load: Vec<f64>,
}

pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
pub const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
pub const IF_HC_IN_OCTETS: &str = "1.3.6.1.2.1.31.1.1.1.6";
pub const IF_HC_OUT_OCTETS: &str = "1.3.6.1.2.1.31.1.1.1.10";
pub const HR_PROCESSOR_LOAD: &str = "1.3.6.1.2.1.25.3.3.1.2";
pub const MEM_TOTAL_REAL: &str = "1.3.6.1.4.1.2021.4.5.0";
pub const MEM_AVAIL_REAL: &str = "1.3.6.1.4.1.2021.4.6.0";
pub const DSK_PATH: &str = "1.3.6.1.4.1.2021.9.1.2";
pub const DSK_PERCENT: &str = "1.3.6.1.4.1.2021.9.1.9";
/// ssCpuRawUser, Nice, System, Idle, Wait (UCD-SNMP-MIB systemStats).
pub const SS_CPU_RAW: [&str; 5] = [
    "1.3.6.1.4.1.2021.11.50.0",
    "1.3.6.1.4.1.2021.11.51.0",
    "1.3.6.1.4.1.2021.11.52.0",
    "1.3.6.1.4.1.2021.11.53.0",
    "1.3.6.1.4.1.2021.11.54.0",
];
/// laLoadInt: the load average times 100.
pub const LA_LOAD_INT: &str = "1.3.6.1.4.1.2021.10.1.5";

fn oid(s: &str) -> async_snmp::Oid {
    // The constants above are valid OIDs.
    s.parse()
        .unwrap_or_else(|_| async_snmp::Oid::from_slice(&[0]))
}

/// async-snmp's value as the engine's.
pub fn value(v: &async_snmp::Value) -> Value {
    use async_snmp::Value as V;
    match v {
        V::Integer(i) => Value::Integer(i64::from(*i)),
        V::OctetString(b) => Value::OctetString(b.to_vec()),
        V::Null => Value::Null,
        V::ObjectIdentifier(o) => Value::Oid(Oid(o.arcs().to_vec())),
        V::IpAddress(a) => Value::IpAddress(*a),
        V::Counter32(c) => Value::Counter32(*c),
        V::Gauge32(g) | V::UInteger32(g) => Value::Gauge32(*g),
        V::TimeTicks(t) => Value::TimeTicks(*t),
        V::Opaque(b) | V::Nsap(b) => Value::Opaque(b.to_vec()),
        V::Counter64(c) => Value::Counter64(*c),
        V::NoSuchObject => Value::NoSuchObject,
        V::NoSuchInstance => Value::NoSuchInstance,
        V::EndOfMibView => Value::EndOfMibView,
        _ => Value::Null,
    }
}

pub fn engine_oid(o: &async_snmp::Oid) -> Oid {
    Oid(o.arcs().to_vec())
}

/// The instance arcs of `full` under `column`, if it is under it.
fn instance<'a>(full: &'a [u32], column: &[u32]) -> Option<&'a [u32]> {
    full.strip_prefix(column)
}

/// Polls every object above once. A table the agent does not have is left empty; an
/// agent that does not answer, or refuses our credentials, is an error.
pub async fn poll(t: &Target) -> Result<Poll, SnmpError> {
    let agent = |e: Box<async_snmp::Error>| SnmpError::Agent {
        addr: t.addr,
        what: e.to_string(),
    };
    let retry =
        async_snmp::Retry::fixed(t.retries, Duration::ZERO).map_err(|e| SnmpError::Agent {
            addr: t.addr,
            what: e.to_string(),
        })?;
    let client = match &t.credentials {
        Credentials::V2c { community } => {
            async_snmp::Client::builder(t.addr, async_snmp::Auth::v2c(community.as_str()))
                .request_timeout(t.timeout)
                .retry(retry)
                .connect()
                .await
        }
        Credentials::V3 {
            user,
            auth,
            auth_password,
            privacy,
            privacy_password,
        } => {
            let usm = async_snmp::UsmConfig::new(user.clone())
                .auth_priv(
                    *auth,
                    auth_password.as_str(),
                    *privacy,
                    privacy_password.as_str(),
                )
                .map_err(|e| SnmpError::Credentials {
                    addr: t.addr,
                    what: e.to_string(),
                })?;
            async_snmp::Client::builder(t.addr, usm)
                .request_timeout(t.timeout)
                .retry(retry)
                .connect()
                .await
        }
    }
    .map_err(agent)?;

    let mut p = Poll::default();
    let mut wanted = vec![oid(SYS_UPTIME), oid(MEM_TOTAL_REAL), oid(MEM_AVAIL_REAL)];
    wanted.extend(SS_CPU_RAW.iter().map(|o| oid(o)));
    let scalars = client.get_many(&wanted).await.map_err(agent)?;
    let mut ticks = [None; 5];
    for vb in &scalars.varbinds {
        let v = value(&vb.value);
        let s = vb.oid.to_string();
        match s.as_str() {
            SYS_UPTIME => {
                p.uptime = match v {
                    Value::TimeTicks(t) => Some(t),
                    _ => None,
                }
            }
            MEM_TOTAL_REAL => p.mem_total_kb = v.as_u64(),
            MEM_AVAIL_REAL => p.mem_available_kb = v.as_u64(),
            other => {
                if let Some(i) = SS_CPU_RAW.iter().position(|o| *o == other)
                    && let Value::Counter32(c) = v
                {
                    ticks[i] = Some(c);
                }
            }
        }
    }
    if let [Some(user), Some(nice), Some(system), Some(idle), Some(wait)] = ticks {
        p.cpu_ticks = Some(CpuTicks {
            user,
            nice,
            system,
            idle,
            wait,
        });
    }
    let walk = |column: &'static str| {
        let client = &client;
        async move {
            let rows = client
                .walk(oid(column))
                .map_err(agent)?
                .collect()
                .await
                .map_err(agent)?;
            let col = oid(column).arcs().to_vec();
            Ok::<_, SnmpError>(
                rows.into_iter()
                    .filter_map(|vb| {
                        let i = instance(vb.oid.arcs(), &col)?.to_vec();
                        Some((i, value(&vb.value)))
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    let if_index = |i: &[u32]| match i {
        [x] => Some(*x),
        _ => None,
    };
    for (i, v) in walk(IF_OPER_STATUS).await? {
        if let (Some(x), Value::Integer(c)) = (if_index(&i), v) {
            p.interfaces.entry(x).or_default().oper = IfStatus::from_code(c);
        }
    }
    for (i, v) in walk(IF_HC_IN_OCTETS).await? {
        if let Some(x) = if_index(&i) {
            p.interfaces.entry(x).or_default().in_octets = v.as_u64();
        }
    }
    for (i, v) in walk(IF_HC_OUT_OCTETS).await? {
        if let Some(x) = if_index(&i) {
            p.interfaces.entry(x).or_default().out_octets = v.as_u64();
        }
    }
    p.cpu_load = walk(HR_PROCESSOR_LOAD)
        .await?
        .into_iter()
        .filter_map(|(_, v)| v.as_u64().and_then(|x| u32::try_from(x).ok()))
        .collect();
    let paths = walk(DSK_PATH).await?;
    let percents: BTreeMap<Vec<u32>, Value> = walk(DSK_PERCENT).await?.into_iter().collect();
    for (i, v) in paths {
        if let (Value::OctetString(path), Some(pct)) = (v, percents.get(&i).and_then(Value::as_u64))
        {
            p.disks.push((
                String::from_utf8_lossy(&path).into_owned(),
                pct.min(100) as u32,
            ));
        }
    }
    p.load = walk(LA_LOAD_INT)
        .await?
        .into_iter()
        .filter_map(|(_, v)| v.as_u64().map(|x| x as f64 / 100.0))
        .collect();
    Ok(p)
}

impl Poll {
    /// The poll as named samples at `at`: `uptime_s`, `if.N.in_octets`,
    /// `if.N.out_octets`, `if.N.oper_up` (1 or 0), `cpu.N.load`, `mem.used_percent`,
    /// `disk.PATH.used_percent`, `load.1`/`load.5`/`load.15`.
    pub fn samples(&self, at: jiff::Timestamp) -> Vec<(String, Sample)> {
        let mut out = Vec::new();
        let mut put = |name: String, value: f64| out.push((name, Sample { at, value }));
        if let Some(u) = self.uptime {
            put("uptime_s".into(), f64::from(u) / 100.0);
        }
        for (i, itf) in &self.interfaces {
            if let Some(v) = itf.in_octets {
                put(format!("if.{i}.in_octets"), v as f64);
            }
            if let Some(v) = itf.out_octets {
                put(format!("if.{i}.out_octets"), v as f64);
            }
            if let Some(s) = itf.oper {
                put(
                    format!("if.{i}.oper_up"),
                    f64::from(u8::from(s == IfStatus::Up)),
                );
            }
        }
        for (n, l) in self.cpu_load.iter().enumerate() {
            put(format!("cpu.{n}.load"), f64::from(*l));
        }
        if let (Some(total), Some(avail)) = (self.mem_total_kb, self.mem_available_kb)
            && total > 0
        {
            put(
                "mem.used_percent".into(),
                (total.saturating_sub(avail)) as f64 * 100.0 / total as f64,
            );
        }
        for (path, pct) in &self.disks {
            put(format!("disk.{path}.used_percent"), f64::from(*pct));
        }
        for (name, v) in ["load.1", "load.5", "load.15"].iter().zip(&self.load) {
            put((*name).into(), *v);
        }
        out
    }
}
