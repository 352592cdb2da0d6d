//! SNMP notifications from arbitrary bytes: decoded by the SNMP library the trap
//! receiver uses, turned into the engine's notification the way the receiver does
//! (sysUpTime.0, snmpTrapOID.0, then the bindings) and interpreted. Nothing panics.
#![no_main]
use async_snmp::Value as V;
use async_snmp::message::Message;
use libfuzzer_sys::fuzz_target;
use mamori_monitor::trap::{Notification, Oid, Value, Version, interpret};

fn value(v: &V) -> Value {
    match v {
        V::Integer(i) => Value::Integer(i64::from(*i)),
        V::OctetString(b) => Value::OctetString(b.to_vec()),
        V::ObjectIdentifier(o) => Value::Oid(Oid(o.arcs().to_vec())),
        V::IpAddress(a) => Value::IpAddress(*a),
        V::Counter32(c) => Value::Counter32(*c),
        V::Gauge32(g) | V::UInteger32(g) => Value::Gauge32(*g),
        V::TimeTicks(t) => Value::TimeTicks(*t),
        V::Counter64(c) => Value::Counter64(*c),
        _ => Value::Null,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::decode(bytes::Bytes::copy_from_slice(data), Default::default()) else {
        return;
    };
    let Some(pdu) = m.value.pdu() else {
        return;
    };
    let vbs = pdu.varbinds();
    let (uptime, trap_oid) = match vbs {
        [u, t, ..] => (
            match u.value {
                V::TimeTicks(t) => t,
                _ => 0,
            },
            match &t.value {
                V::ObjectIdentifier(o) => Oid(o.arcs().to_vec()),
                _ => return,
            },
        ),
        _ => return,
    };
    let n = Notification {
        version: Version::V2c,
        confirmed: false,
        security_name: String::new(),
        uptime,
        trap_oid,
        varbinds: vbs[2..]
            .iter()
            .map(|vb| (Oid(vb.oid.arcs().to_vec()), value(&vb.value)))
            .collect(),
    };
    let _ = interpret(&n);
    let _ = n.trap_oid.to_string().parse::<Oid>();
});
