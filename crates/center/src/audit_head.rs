//! The head of the audit chain, anchored outside the database. A hash chain proves the
//! order of the entries that are there, not that none was cut off the end: deleting the
//! newest rows leaves a shorter chain that verifies. So the center signs a
//! **checkpoint** of the head (sequence number and hash, with the time) with its own
//! Ed25519 key (`<data_dir>/audit-key.pk8`, created at first start, mode 0600), keeps the
//! latest in `<data_dir>/audit-head.json` (written atomically: temporary file, fsync,
//! rename, fsync of the directory), and can send each one to a syslog server and by
//! e-mail, out of reach of whoever can change the database. `audit verify` checks the
//! chain against the latest checkpoint (or a copy kept elsewhere, `--checkpoint`) and
//! names the entries that are missing.
//!
//! The writer ([`start`]) runs in the background: a checkpoint right after start, at
//! most `after_commit_ms` after a commit that appended entries (many commits make one
//! write: the store's `audit_appended` notification keeps one permit), every
//! `interval_secs` in any case (which also catches other center processes on the same
//! PostgreSQL; each process writes its own file), and at shutdown. It never signs a
//! head that does not extend its previous checkpoint: a cut chain is logged and sent to
//! syslog as an alert instead, and the center refuses to start on one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// The center's signing key, in the data directory.
pub const KEY_FILE: &str = "audit-key.pk8";
/// The latest checkpoint, in the data directory.
pub const CHECKPOINT_FILE: &str = "audit-head.json";

/// `[audit_checkpoint]` in the center's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Seconds between checkpoints when nothing else causes one (and at least between
    /// two e-mails). `MAMORI_AUDIT_CHECKPOINT_INTERVAL_SECS`; default 60.
    pub interval_secs: u64,
    /// A commit that appended audit entries is followed by a checkpoint within this
    /// many milliseconds, and checkpoints caused by commits are at least this far
    /// apart. `MAMORI_AUDIT_CHECKPOINT_AFTER_COMMIT_MS`; default 1000.
    pub after_commit_ms: u64,
    /// Where every checkpoint is also sent as an RFC 5424 syslog message (facility
    /// 13, log audit): `udp://HOST:PORT` or `unix:/dev/log`; empty: nowhere.
    /// `MAMORI_AUDIT_CHECKPOINT_SYSLOG`.
    pub syslog: String,
    /// An e-mail address that receives the checkpoint through the back office's SMTP
    /// relay (`backoffice.smtp`, `backoffice.mail_from`): at start and then at most once
    /// per interval, when the head moved; empty: no mail.
    /// `MAMORI_AUDIT_CHECKPOINT_EMAIL_TO`.
    pub email_to: String,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval_secs: 60,
            after_commit_ms: 1000,
            syslog: String::new(),
            email_to: String::new(),
        }
    }
}

/// A signed statement "at time `at`, the audit chain ended at entry `seq` with hash
/// `hash`". `seq` 0 with the genesis hash is the empty chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The public key that signed it: `ed25519:` and 64 hex digits.
    pub key: String,
    /// Ed25519 signature over [`Checkpoint::signed_bytes`], in hex.
    pub signature: String,
}

impl Checkpoint {
    /// What the signature covers.
    pub fn signed_bytes(seq: i64, hash: &str, at: i64) -> Vec<u8> {
        format!("mamori audit checkpoint v1\nseq {seq}\nhash {hash}\nat {at}\n").into_bytes()
    }

    /// The time of the checkpoint, RFC 3339 in UTC.
    pub fn at_text(&self) -> String {
        jiff::Timestamp::from_millisecond(self.at)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| format!("{} ms", self.at))
    }

    /// Checks that it was signed by `trusted` (`ed25519:HEX` or HEX) and is unchanged.
    pub fn verify(&self, trusted: &str, path: &Path) -> Result<(), AnchorError> {
        let want = parse_public_key(trusted)?;
        if parse_public_key(&self.key).ok().as_deref() != Some(want.as_slice()) {
            return Err(AnchorError::WrongKey {
                path: path.to_path_buf(),
                key: self.key.clone(),
                trusted: format!("ed25519:{}", data_encoding::HEXLOWER.encode(&want)),
            });
        }
        let sig = data_encoding::HEXLOWER_PERMISSIVE
            .decode(self.signature.as_bytes())
            .map_err(|_| AnchorError::BadSignature {
                path: path.to_path_buf(),
            })?;
        UnparsedPublicKey::new(&ED25519, &want)
            .verify(&Self::signed_bytes(self.seq, &self.hash, self.at), &sig)
            .map_err(|_| AnchorError::BadSignature {
                path: path.to_path_buf(),
            })
    }
}

/// Why the chain does not reach its checkpoint, or the checkpoint cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(
        "audit entries {from}..{to} are missing (checkpoint at seq {seq}, {at}; the chain now ends at {head}): the end of the audit trail was cut"
    )]
    Missing {
        from: i64,
        to: i64,
        seq: i64,
        at: String,
        head: i64,
    },
    #[error(
        "audit entry {seq} is not the one the checkpoint signed (checkpoint at seq {seq}, {at}): the chain was cut before it and written again"
    )]
    Rewritten { seq: i64, at: String },
    #[error(
        "the checkpoint {path} has a bad signature: it was not written by the center (forged or changed)"
    )]
    BadSignature { path: PathBuf },
    #[error("the checkpoint {path} is signed by {key}, not by the center's key {trusted}")]
    WrongKey {
        path: PathBuf,
        key: String,
        trusted: String,
    },
    #[error(
        "the checkpoint {path} is missing, yet this data directory holds the center's audit key: it was removed\nhint: check against a copy kept elsewhere with --checkpoint FILE"
    )]
    Gone { path: PathBuf },
    #[error("cannot read the checkpoint {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error(
        "{0}\nhint: pass the center's public key (`mamori center audit key`) as --public-key ed25519:HEX"
    )]
    Key(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `ed25519:HEX` or HEX to the 32 bytes of the key.
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, AnchorError> {
    let hex = text.trim().trim_start_matches("ed25519:");
    match data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()) {
        Ok(k) if k.len() == 32 => Ok(k),
        _ => Err(AnchorError::Key(format!(
            "`{text}` is not an Ed25519 public key (ed25519: and 64 hex digits)"
        ))),
    }
}

/// The center's signing key.
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl Signer {
    /// The key of `data_dir`, if it has one.
    pub fn load(data_dir: &Path) -> Result<Option<Signer>, String> {
        let path = data_dir.join(KEY_FILE);
        let der = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| {
            format!(
                "{} is not an Ed25519 key in PKCS #8 ({e}); move it aside to let the center create a new one (and move {CHECKPOINT_FILE} aside with it)",
                path.display()
            )
        })?;
        Ok(Some(Signer { pair }))
    }

    /// The key of `data_dir`, created (mode 0600, written atomically) when it has none.
    pub fn load_or_create(data_dir: &Path) -> Result<Signer, String> {
        if let Some(s) = Self::load(data_dir)? {
            return Ok(s);
        }
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| "cannot generate the audit key".to_string())?;
        let path = data_dir.join(KEY_FILE);
        write_atomically(&path, doc.as_ref(), true)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Self::load(data_dir)?.ok_or_else(|| format!("{} vanished", path.display()))
    }

    /// `ed25519:` and the public key in hex.
    pub fn public_key(&self) -> String {
        format!(
            "ed25519:{}",
            data_encoding::HEXLOWER.encode(self.pair.public_key().as_ref())
        )
    }

    pub fn sign(&self, seq: i64, hash: &str, at: i64) -> Checkpoint {
        let sig = self.pair.sign(&Checkpoint::signed_bytes(seq, hash, at));
        Checkpoint {
            seq,
            hash: hash.to_string(),
            at,
            key: self.public_key(),
            signature: data_encoding::HEXLOWER.encode(sig.as_ref()),
        }
    }
}

/// Writes `bytes` to `path`: a temporary file beside it, fsync, rename, fsync of the
/// directory; `private` makes the file readable by its owner only.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(if private { 0o600 } else { 0o644 });
        }
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The checkpoint in `path`; `None` when there is no such file.
pub fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>, AnchorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AnchorError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| AnchorError::Unreadable {
            path: path.to_path_buf(),
            message: format!("not a checkpoint: {e}"),
        })
}

/// Writes a checkpoint to `path` atomically.
pub fn write_checkpoint(path: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(cp).map_err(std::io::Error::other)?;
    text.push('\n');
    // Not a secret, but the data directory's files are all 0600 (`datadir`).
    write_atomically(path, text.as_bytes(), true)
}

/// Whether the chain in `store` still holds the head `cp` signed: entry `cp.seq` with
/// hash `cp.hash` (entries after it are normal).
pub async fn check_anchor(store: &Store, cp: &Checkpoint) -> Result<(), AnchorError> {
    let head = store.audit_head().await?.0;
    anchor_of(store, cp, head).await
}

async fn anchor_of(store: &Store, cp: &Checkpoint, head: i64) -> Result<(), AnchorError> {
    if head < cp.seq {
        return Err(AnchorError::Missing {
            from: head + 1,
            to: cp.seq,
            seq: cp.seq,
            at: cp.at_text(),
            head,
        });
    }
    match store.audit_hash_at(cp.seq).await? {
        Some(h) if h == cp.hash => Ok(()),
        Some(_) => Err(AnchorError::Rewritten {
            seq: cp.seq,
            at: cp.at_text(),
        }),
        None => Err(AnchorError::Missing {
            from: cp.seq,
            to: cp.seq,
            seq: cp.seq,
            at: cp.at_text(),
            head,
        }),
    }
}

/// What `audit verify` checks the chain against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A checkpoint file (e.g. a copy kept elsewhere); default `<data_dir>/audit-head.json`.
    pub checkpoint: Option<PathBuf>,
    /// The key the checkpoint must be signed with; default the public half of
    /// `<data_dir>/audit-key.pk8`.
    pub public_key: Option<String>,
}

/// How the end of the chain was checked.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// The chain reaches the checkpoint in `path`, signed by the trusted key.
    Matched {
        checkpoint: Checkpoint,
        path: PathBuf,
    },
    /// There is no checkpoint at `path` and this data directory has no audit key (the
    /// center never ran here): the end of the chain is not anchored.
    None { path: PathBuf },
}

/// Checks the chain in `store` against the latest checkpoint.
pub async fn verify_anchor(
    store: &Store,
    data_dir: &Path,
    opts: &VerifyOptions,
) -> Result<Anchor, AnchorError> {
    let path = opts
        .checkpoint
        .clone()
        .unwrap_or_else(|| data_dir.join(CHECKPOINT_FILE));
    let own = Signer::load(data_dir).map_err(AnchorError::Key)?;
    let cp = match read_checkpoint(&path)? {
        Some(cp) => cp,
        None if opts.checkpoint.is_some() => {
            return Err(AnchorError::Unreadable {
                path,
                message: "no such file".into(),
            });
        }
        None if own.is_some() => return Err(AnchorError::Gone { path }),
        None => return Ok(Anchor::None { path }),
    };
    let trusted = match (&opts.public_key, &own) {
        (Some(k), _) => k.clone(),
        (None, Some(s)) => s.public_key(),
        (None, None) => {
            return Err(AnchorError::Key(format!(
                "no audit key in {} to check the checkpoint against",
                data_dir.display()
            )));
        }
    };
    cp.verify(&trusted, &path)?;
    check_anchor(store, &cp).await?;
    Ok(Anchor::Matched {
        checkpoint: cp,
        path,
    })
}

// ---- export ------------------------------------------------------------------------------

/// A syslog destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    /// `HOST:PORT`.
    Udp(String),
    /// A datagram socket, e.g. `/dev/log`.
    Unix(PathBuf),
}

impl SyslogTarget {
    pub fn parse(text: &str) -> Result<SyslogTarget, String> {
        let t = text.trim();
        if let Some(a) = t.strip_prefix("udp://") {
            let port_ok = a
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            if port_ok {
                return Ok(SyslogTarget::Udp(a.to_string()));
            }
        } else if let Some(p) = t.strip_prefix("unix:") {
            let p = p.trim_start_matches("//");
            if p.starts_with('/') {
                return Ok(SyslogTarget::Unix(PathBuf::from(p)));
            }
        }
        Err(format!(
            "audit_checkpoint.syslog = {text:?}: write udp://HOST:PORT (e.g. udp://192.0.2.5:514) or unix:/dev/log"
        ))
    }

    /// Sends one message (blocking; a datagram, so it does not wait for the server).
    pub fn send(&self, line: &str) -> std::io::Result<()> {
        match self {
            SyslogTarget::Udp(addr) => {
                use std::net::ToSocketAddrs;
                let to = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| std::io::Error::other(format!("{addr} has no address")))?;
                let local = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                std::net::UdpSocket::bind(local)?.send_to(line.as_bytes(), to)?;
                Ok(())
            }
            #[cfg(unix)]
            SyslogTarget::Unix(path) => {
                std::os::unix::net::UnixDatagram::unbound()?.send_to(line.as_bytes(), path)?;
                Ok(())
            }
            #[cfg(not(unix))]
            SyslogTarget::Unix(_) => Err(std::io::Error::other("no unix sockets here")),
        }
    }
}

/// An RFC 5424 syslog message of facility 13 (log audit) from `mamori-center`.
pub fn syslog_line(severity: u8, msg_id: &str, text: &str, now: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "-".into());
    format!(
        "<{}>1 {ts} - mamori-center {} {msg_id} - {text}",
        13 * 8 + severity,
        std::process::id()
    )
}

const NOTICE: u8 = 5;
const ALERT: u8 = 1;

/// Where checkpoints go besides the file.
#[derive(Debug, Clone, Default)]
struct Exports {
    syslog: Option<SyslogTarget>,
    /// (SMTP server, from, to).
    email: Option<(String, String, String)>,
}

// ---- the writer --------------------------------------------------------------------------

/// The running checkpoint writer.
pub struct HeadWriter {
    /// The center's public key, for `audit verify --public-key` elsewhere.
    pub public_key: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl HeadWriter {
    /// Writes the last checkpoint and ends.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Opens (or creates) the key, checks the chain against the last checkpoint (an error
/// when it no longer reaches it: the center does not start on a cut audit trail), and
/// starts the writer. `smtp` and `mail_from` are the back office's relay and sender.
pub async fn start(
    store: &Store,
    clock: crate::clock::Clock,
    data_dir: &Path,
    cfg: &CheckpointConfig,
    smtp: &str,
    mail_from: &str,
) -> Result<HeadWriter, String> {
    let mut exports = Exports::default();
    if !cfg.syslog.trim().is_empty() {
        exports.syslog = Some(SyslogTarget::parse(&cfg.syslog)?);
    }
    if !cfg.email_to.trim().is_empty() {
        if smtp.trim().is_empty() {
            return Err(
                "audit_checkpoint.email_to needs the back office's SMTP relay: set backoffice.smtp"
                    .into(),
            );
        }
        exports.email = Some((
            smtp.trim().to_string(),
            mail_from.trim().to_string(),
            cfg.email_to.trim().to_string(),
        ));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let signer = Signer::load_or_create(data_dir)?;
    let path = data_dir.join(CHECKPOINT_FILE);
    let refuse = |e: AnchorError| {
        format!(
            "{e}\nhint: run `mamori center audit verify`; if the database was restored from a backup on purpose, move {} aside to start",
            path.display()
        )
    };
    let last = read_checkpoint(&path).map_err(refuse)?;
    if let Some(cp) = &last {
        cp.verify(&signer.public_key(), &path).map_err(refuse)?;
        check_anchor(store, cp).await.map_err(refuse)?;
    }
    let public_key = signer.public_key();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let w = Writer {
        store: store.clone(),
        clock,
        signer: Arc::new(signer),
        path,
        exports,
        last,
        mailed: None,
        alerted: None,
    };
    let task = tokio::spawn(w.run(
        stopped,
        Duration::from_secs(cfg.interval_secs.max(1)),
        Duration::from_millis(cfg.after_commit_ms),
    ));
    Ok(HeadWriter {
        public_key,
        stop,
        task,
    })
}

struct Writer {
    store: Store,
    clock: crate::clock::Clock,
    signer: Arc<Signer>,
    path: PathBuf,
    exports: Exports,
    /// The last checkpoint written (or found at start).
    last: Option<Checkpoint>,
    /// The sequence number of the last checkpoint sent by e-mail.
    mailed: Option<i64>,
    /// The head last reported as not reaching `last`, so each cut is reported once.
    alerted: Option<(i64, String)>,
}

impl Writer {
    async fn run(
        mut self,
        mut stopped: tokio::sync::oneshot::Receiver<()>,
        interval: Duration,
        after_commit: Duration,
    ) {
        let appended = self.store.audit_appended();
        self.checkpoint(true).await;
        let mut last_write = tokio::time::Instant::now();
        let mut next_tick = last_write + interval;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep_until(next_tick) => {
                    self.checkpoint(true).await;
                    next_tick = tokio::time::Instant::now() + interval;
                    last_write = tokio::time::Instant::now();
                }
                _ = appended.notified() => {
                    // Coalesce: at most one checkpoint per `after_commit` for commits.
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = tokio::time::sleep_until(last_write + after_commit) => {}
                    }
                    self.checkpoint(false).await;
                    last_write = tokio::time::Instant::now();
                }
            }
        }
        self.checkpoint(true).await;
    }

    /// Signs and writes the current head, if it extends the last checkpoint; `periodic`
    /// writes it even when the head did not move (with the new time).
    async fn checkpoint(&mut self, periodic: bool) {
        let now = self.clock.now_ms();
        let head = match self.store.audit_head().await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "audit checkpoint: cannot read the head of the chain");
                return;
            }
        };
        if let Some(prev) = &self.last {
            if let Err(e) = anchor_of(&self.store, prev, head.0).await {
                if let AnchorError::Store(_) = e {
                    tracing::warn!(error = %e, "audit checkpoint: cannot read the chain");
                    return;
                }
                if self.alerted.as_ref() != Some(&head) {
                    self.alerted = Some(head.clone());
                    tracing::error!(error = %e, "audit checkpoint: the chain no longer reaches the last checkpoint; not signing it");
                    self.send_syslog(ALERT, "audit-cut", &e.to_string(), now)
                        .await;
                }
                return;
            }
            if !periodic && prev.seq == head.0 {
                return;
            }
        }
        let cp = self.signer.sign(head.0, &head.1, now);
        let (path, copy) = (self.path.clone(), cp.clone());
        match tokio::task::spawn_blocking(move || write_checkpoint(&path, &copy)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, path = %self.path.display(), "audit checkpoint: cannot write");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "audit checkpoint: the write failed");
                return;
            }
        }
        let json = serde_json::to_string(&cp).unwrap_or_default();
        self.send_syslog(NOTICE, "audit-checkpoint", &json, now)
            .await;
        if periodic && self.mailed != Some(cp.seq) {
            self.send_mail(&cp, &json, now).await;
        }
        self.last = Some(cp);
    }

    async fn send_syslog(&self, severity: u8, msg_id: &'static str, text: &str, now: i64) {
        let Some(target) = self.exports.syslog.clone() else {
            return;
        };
        let line = syslog_line(severity, msg_id, text, now);
        match tokio::task::spawn_blocking(move || target.send(&line)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "audit checkpoint: cannot send to syslog"),
            Err(e) => tracing::warn!(error = %e, "audit checkpoint: syslog send failed"),
        }
    }

    async fn send_mail(&mut self, cp: &Checkpoint, json: &str, now: i64) {
        let Some((smtp, from, to)) = &self.exports.email else {
            return;
        };
        let subject = format!("Mamori audit checkpoint: entry {}", cp.seq);
        let body = format!(
            "The operations center's audit trail ended at entry {} at {}.\n\
             Keep this mail: `mamori center audit verify --checkpoint FILE --public-key {}`\n\
             with FILE holding the line below tells whether entries were cut off since.\n\n{json}\n",
            cp.seq,
            cp.at_text(),
            cp.key
        );
        match crate::adapters::smtp::send(smtp, from, to, &subject, &body, now).await {
            Ok(()) => self.mailed = Some(cp.seq),
            Err(e) => tracing::warn!(error = %e, "audit checkpoint: cannot send the mail"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_unchanged_and_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = Signer::load_or_create(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The same key when loaded again.
        assert_eq!(
            Signer::load(dir.path()).unwrap().unwrap().public_key(),
            s.public_key()
        );
        let cp = s.sign(7, "ab", 1_700_000_000_000);
        let p = Path::new("x");
        cp.verify(&s.public_key(), p).unwrap();
        let mut later = cp.clone();
        later.seq = 5;
        assert!(matches!(
            later.verify(&s.public_key(), p),
            Err(AnchorError::BadSignature { .. })
        ));
        let other = tempfile::tempdir().unwrap();
        let o = Signer::load_or_create(other.path()).unwrap();
        assert!(matches!(
            o.sign(7, "ab", 1).verify(&s.public_key(), p),
            Err(AnchorError::WrongKey { .. })
        ));
        assert!(matches!(
            cp.verify("ed25519:12", p),
            Err(AnchorError::Key(_))
        ));
        // Round trip through the file.
        let f = dir.path().join(CHECKPOINT_FILE);
        write_checkpoint(&f, &cp).unwrap();
        assert_eq!(read_checkpoint(&f).unwrap(), Some(cp));
        assert_eq!(read_checkpoint(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn syslog_targets_and_lines() {
        assert_eq!(
            SyslogTarget::parse("udp://127.0.0.1:514"),
            Ok(SyslogTarget::Udp("127.0.0.1:514".into()))
        );
        assert_eq!(
            SyslogTarget::parse("udp://[::1]:5514"),
            Ok(SyslogTarget::Udp("[::1]:5514".into()))
        );
        assert_eq!(
            SyslogTarget::parse("unix:/dev/log"),
            Ok(SyslogTarget::Unix("/dev/log".into()))
        );
        for bad in ["udp://host", "tcp://h:1", "unix:dev/log", "", "udp://:514"] {
            assert!(SyslogTarget::parse(bad).is_err(), "{bad}");
        }
        let l = syslog_line(NOTICE, "audit-checkpoint", "{}", 0);
        assert!(
            l.starts_with("<109>1 1970-01-01T00:00:00Z - mamori-center "),
            "{l}"
        );
        assert!(l.ends_with(" audit-checkpoint - {}"), "{l}");
    }
}
