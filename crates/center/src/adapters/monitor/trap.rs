//! The SNMP trap and inform receiver: async-snmp's notification receiver takes the
//! datagrams off the wire (BER, communities, USM authentication and privacy, the
//! acknowledgement of informs); each notification is handed to the engine as a
//! `mamori_monitor::trap::Notification` with its meaning.
//!
//! What is dropped: notifications under a community not listed or below authPriv
//! (counted here), v3 messages that fail USM (unknown user or engine, wrong digest,
//! outside the time window, undecryptable; counted by the library), all summed in
//! [`TrapReceiver::dropped`]. Datagrams that are not SNMP at all the library logs and
//! skips without a counter.

use super::snmp::{AuthProtocol, PrivProtocol, engine_oid, value};
use async_snmp::notification::{
    Notification as Wire, NotificationAcceptance, NotificationReceiver,
};
use mamori_monitor::trap::{self, Notification, TrapError, TrapEvent, Version};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A USM user allowed to send v3 notifications (authPriv).
#[derive(Clone)]
pub struct User {
    pub name: String,
    pub auth: AuthProtocol,
    pub auth_password: String,
    pub privacy: PrivProtocol,
    pub privacy_password: String,
}

#[derive(Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    /// v1/v2c communities accepted (none: no v1/v2c notification is accepted).
    pub communities: Vec<String>,
    pub users: Vec<User>,
    /// Our SNMP engine id (informs v3 are sent to it; keep it stable across restarts).
    pub engine_id: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrapReceiverError {
    #[error("SNMP notification receiver on {bind}: {what}")]
    Setup { bind: SocketAddr, what: String },
    #[error("SNMP notification receiver: {0}")]
    Receive(String),
}

/// One notification received.
#[derive(Debug, Clone)]
pub struct Received {
    pub source: SocketAddr,
    pub notification: Notification,
    /// What it means, or what in it does not say what its OID promises.
    pub event: Result<TrapEvent, TrapError>,
}

pub struct TrapReceiver {
    inner: NotificationReceiver,
    rejected: Arc<AtomicU64>,
}

impl TrapReceiver {
    pub async fn bind(s: &Settings) -> Result<TrapReceiver, TrapReceiverError> {
        let setup = |what: String| TrapReceiverError::Setup { bind: s.bind, what };
        let mut b = NotificationReceiver::builder().bind(s.bind.to_string());
        if !s.users.is_empty() {
            // The engine's boots counter is kept by the library for this process; a
            // restart starts again at 1 (senders of informs rediscover it).
            let engine = async_snmp::AuthoritativeEngine::install(s.engine_id.clone(), |_| {
                Ok::<(), std::convert::Infallible>(())
            })
            .map_err(|e| setup(e.to_string()))?;
            b = b.authoritative_engine(engine);
            for u in &s.users {
                let u = u.clone();
                b = b
                    .usm_user(u.name.clone().into_bytes(), move |x| {
                        x.auth_priv(
                            u.auth,
                            u.auth_password.as_bytes(),
                            u.privacy,
                            u.privacy_password.as_bytes(),
                        )
                    })
                    .map_err(|e| setup(e.to_string()))?;
            }
        }
        // Our own acceptance rather than the library's community list, so that what is
        // refused is counted: v1/v2c under a listed community, v3 only at authPriv.
        let communities: Vec<Vec<u8>> = s
            .communities
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect();
        let rejected = Arc::new(AtomicU64::new(0));
        let counted = rejected.clone();
        b = b.acceptance_policy(move |n| {
            let ok = match n.community {
                Some(c) => communities.iter().any(|x| x.as_slice() == c.as_bytes()),
                None => n.security_level >= Some(async_snmp::SecurityLevel::AuthPriv),
            };
            if ok {
                NotificationAcceptance::Accept
            } else {
                counted.fetch_add(1, Ordering::Relaxed);
                NotificationAcceptance::Reject
            }
        });
        let inner = b.build().await.map_err(|e| setup(e.to_string()))?;
        Ok(TrapReceiver { inner, rejected })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }

    /// Notifications dropped: refused by our acceptance (community, security level),
    /// and by the library (silent drops, every USM failure).
    pub fn dropped(&self) -> u64 {
        let r = &self.inner;
        self.rejected.load(Ordering::Relaxed)
            + [
                r.snmp_silent_drops(),
                r.usm_unknown_engine_ids(),
                r.usm_unknown_usernames(),
                r.usm_wrong_digests(),
                r.usm_not_in_time_windows(),
                r.usm_unsupported_sec_levels(),
                r.usm_decryption_errors(),
            ]
            .iter()
            .map(|&c| u64::from(c))
            .sum::<u64>()
    }

    /// The next notification (informs are acknowledged before it is returned).
    pub async fn recv(&self) -> Result<Received, TrapReceiverError> {
        let r = self
            .inner
            .recv()
            .await
            .map_err(|e| TrapReceiverError::Receive(e.to_string()))?;
        let notification =
            convert(&r.notification).map_err(|e| TrapReceiverError::Receive(e.to_string()))?;
        let event = trap::interpret(&notification);
        Ok(Received {
            source: r.source,
            notification,
            event,
        })
    }
}

/// async-snmp's notification as the engine's.
pub fn convert(n: &Wire) -> Result<Notification, Box<async_snmp::Error>> {
    let (version, confirmed, security_name) = match n {
        Wire::TrapV1 { community, .. } => (Version::V1, false, community_text(community)),
        Wire::TrapV2c { community, .. } => (Version::V2c, false, community_text(community)),
        Wire::InformV2c { community, .. } => (Version::V2c, true, community_text(community)),
        Wire::TrapV3 { username, .. } => (
            Version::V3,
            false,
            String::from_utf8_lossy(username).into_owned(),
        ),
        Wire::InformV3 { username, .. } => (
            Version::V3,
            true,
            String::from_utf8_lossy(username).into_owned(),
        ),
    };
    Ok(Notification {
        version,
        confirmed,
        security_name,
        uptime: n.uptime(),
        trap_oid: engine_oid(&n.trap_oid()?),
        varbinds: n
            .varbinds()
            .iter()
            .map(|vb| (engine_oid(&vb.oid), value(&vb.value)))
            .collect(),
    })
}

fn community_text(c: &async_snmp::Community) -> String {
    String::from_utf8_lossy(c.as_bytes()).into_owned()
}
