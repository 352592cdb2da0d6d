//! `audit verify` against SQLite and a real PostgreSQL on entries whose text is hard to
//! carry: quotes, backslashes, control characters, non-ASCII, empty and NULL fields.
//! They verify as written, and a one-character change in one of them is named.
//!
//! The end of the chain: the newest entries deleted with SQL are named by the signed
//! checkpoint of the head (a chain alone cannot show it), also when entries were
//! written again in their place; the center does not start on a cut chain; a forged or
//! foreign checkpoint, or a removed one, is reported; checkpoints go to a real syslog
//! socket and by mail, and a cut made while the center runs is sent as an alert.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mamori_center::audit::{Entry, GENESIS, Record};
use mamori_center::audit_head::{
    Anchor, CHECKPOINT_FILE, Checkpoint, Signer, VerifyOptions, read_checkpoint, write_checkpoint,
};
use mamori_center::config::Config;
use mamori_center::domain::Scope;
use support::{Backend, Center};

both_backends!(tricky_text_verifies_and_a_change_is_named);
both_backends!(a_value_of_another_type_is_named);
both_backends!(
    cutting_the_newest_entries_is_named_by_the_checkpoint,
    a_forged_foreign_or_removed_checkpoint_is_reported,
    checkpoints_go_to_syslog_and_by_mail_and_a_cut_is_an_alert,
);

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

async fn tricky_text_verifies_and_a_change_is_named(backend: Backend) {
    let c = Center::start(backend).await;
    c.admin().await;
    let store = c.store();
    // The chain so far, oldest first, to find the last hash.
    let mut existing = store.audit_entries(Scope::All, None, 10_000).await.unwrap();
    existing.reverse();
    let mut prev = GENESIS.to_string();
    for e in &existing {
        prev = e.hash(&prev);
    }
    let texts = [
        "担当者 \"quoted\" \\ back\\nslash 'single'",
        "\u{1}\u{1f}\u{7f}\t\r\n",
        "指示.提出 🚀 \u{2028}\u{feff}",
        "",
        "</script>&amp;\\u0041",
    ];
    let mut seq = existing.last().map_or(0, |e| e.seq);
    let mut tricky_seq = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        seq += 1;
        let e = Entry {
            seq,
            at: 1_700_000_000_000 + i as i64,
            actor_id: if i % 2 == 0 { None } else { Some(7) },
            actor: t.to_string(),
            customer_id: if i % 2 == 1 { None } else { Some(3) },
            source: t.chars().rev().collect(),
            action: format!("test.{i}"),
            object: t.to_string(),
            outcome: "ok".into(),
            detail: t.repeat(3),
        };
        let hash = e.hash(&prev);
        store
            .execute_raw(&format!(
                "INSERT INTO audit_log (seq, at, actor_id, actor, customer_id, source, action, object, outcome, detail, prev_hash, hash) \
                 VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                e.seq,
                e.at,
                opt(e.actor_id),
                lit(&e.actor),
                opt(e.customer_id),
                lit(&e.source),
                lit(&e.action),
                lit(&e.object),
                lit(&e.outcome),
                lit(&e.detail),
                lit(&prev),
                lit(&hash),
            ))
            .await
            .unwrap();
        tricky_seq.push(seq);
        prev = hash;
    }
    let n = store.verify_audit().await.unwrap();
    assert_eq!(n as i64, seq, "every entry verifies");
    // The same with ranges as small as the store makes them.
    assert_eq!(store.verify_audit_in_ranges(1).await.unwrap() as i64, seq);

    // One character changed in the entry with control characters: named.
    let target = tricky_seq[1];
    store
        .execute_raw(&format!(
            "UPDATE audit_log SET source = {} WHERE seq = {target}",
            lit("\u{1}\u{1f}\u{7f}\t\r\u{b}")
        ))
        .await
        .unwrap();
    let e = store.verify_audit().await.unwrap_err().to_string();
    assert!(e.contains(&format!("audit entry {target}:")), "{e}");
    c.stop().await;
}

/// A number or a blob written by hand into a text column (SQLite keeps it as it is;
/// PostgreSQL turns it into text) does not verify, and the entry is named, the first
/// one in the chain first.
async fn a_value_of_another_type_is_named(backend: Backend) {
    let blob = match backend {
        Backend::Sqlite => "X'00FF'",
        Backend::Postgres => "'\\x00ff'::bytea",
    };
    let c = Center::start(backend).await;
    c.admin().await;
    let store = c.store();
    let last = store.verify_audit().await.unwrap() as i64;
    assert!(last >= 2, "the set-up wrote entries: {last}");
    store
        .execute_raw(&format!(
            "UPDATE audit_log SET detail = {blob} WHERE seq = {last}"
        ))
        .await
        .unwrap();
    let e = store.verify_audit().await.unwrap_err().to_string();
    assert!(e.contains(&format!("audit entry {last}:")), "{e}");
    store
        .execute_raw("UPDATE audit_log SET actor = 5 WHERE seq = 1")
        .await
        .unwrap();
    let e = store.verify_audit().await.unwrap_err().to_string();
    assert!(e.contains("audit entry 1:"), "{e}");
    c.stop().await;
}

/// A center on `backend` with its data in `data`, with some entries written, stopped
/// (which writes the last checkpoint); the configuration that reaches its database
/// (the PostgreSQL cluster stays up while the returned guard lives), and its public key.
async fn stopped_center(
    backend: Backend,
    data: &Path,
) -> (Config, Option<support::pg::PgCluster>, String) {
    let d = data.to_path_buf();
    let mut c = Center::start_with(backend, move |cfg| cfg.data_dir = d).await;
    let admin = c.admin().await;
    c.customer(&admin, "Alpha").await;
    let key = c.running.as_ref().unwrap().audit_key.clone();
    let pg = c.pg.take();
    c.stop().await;
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.to_path_buf(),
        database_url: pg.as_ref().map(|p| p.url()).unwrap_or_default(),
        log: "warn".into(),
        agent_listen: String::new(),
        ..Config::default()
    };
    (config, pg, key)
}

async fn verify(
    config: &Config,
    opts: &VerifyOptions,
) -> Result<mamori_center::AuditVerified, String> {
    mamori_center::audit_verify(config, opts)
        .await
        .map_err(|e| e.to_string())
}

/// Appends `n` entries as the center does (same transaction shape, same chain).
async fn append(config: &Config, n: usize) {
    let store = mamori_center::open_store(config).await.unwrap();
    for i in 0..n {
        let mut tx = store.begin().await.unwrap();
        tx.audit(
            Record {
                actor_id: None,
                actor: "system".into(),
                customer_id: None,
                source: "cli".into(),
                action: "test.append".into(),
                object: format!("thing/{i}"),
                outcome: "ok".into(),
                detail: String::new(),
            },
            1_700_000_000_000,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    store.close().await;
}

async fn cutting_the_newest_entries_is_named_by_the_checkpoint(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (config, _pg, key) = stopped_center(backend, dir.path()).await;
    // Intact: every entry verifies and the chain reaches the checkpoint of its head.
    let v = verify(&config, &VerifyOptions::default()).await.unwrap();
    let Anchor::Matched { checkpoint, path } = v.anchor else {
        panic!("no checkpoint: {:?}", v.anchor)
    };
    assert_eq!(path, dir.path().join(CHECKPOINT_FILE));
    assert_eq!(checkpoint.key, key);
    let n = checkpoint.seq;
    assert_eq!(
        n as u64, v.entries,
        "the checkpoint is the head at shutdown"
    );
    assert!(n > 4, "{n}");

    // The attack: the two newest rows deleted with SQL.
    let store = mamori_center::open_store(&config).await.unwrap();
    let deleted = store
        .execute_raw(&format!("DELETE FROM audit_log WHERE seq >= {}", n - 1))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    // The chain alone still verifies...
    assert_eq!(store.verify_audit().await.unwrap() as i64, n - 2);
    store.close().await;
    // ... the checkpoint names what is missing.
    let e = verify(&config, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.starts_with(&format!(
            "audit entries {}..{n} are missing (checkpoint at seq {n}, ",
            n - 1
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!("the chain now ends at {}", n - 2)),
        "{e}"
    );
    // The center does not start on the cut chain (and leaves the checkpoint alone).
    let before = std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap();
    match mamori_center::start(config.clone()).await {
        Ok(_) => panic!("the center started on a cut audit trail"),
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains(&format!("audit entries {}..{n} are missing", n - 1)),
                "{e}"
            );
            assert!(e.contains("move"), "says how to go on: {e}");
        }
    }
    assert_eq!(
        std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap(),
        before
    );
    // Entries written again in place of the cut ones (a valid chain of the same length
    // and more): entry n is not the one the checkpoint signed.
    append(&config, 3).await;
    let e = verify(&config, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.starts_with(&format!(
            "audit entry {n} is not the one the checkpoint signed (checkpoint at seq {n}, "
        )),
        "{e}"
    );
}

async fn a_forged_foreign_or_removed_checkpoint_is_reported(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (config, _pg, key) = stopped_center(backend, dir.path()).await;
    let file = dir.path().join(CHECKPOINT_FILE);
    let real = read_checkpoint(&file).unwrap().unwrap();
    // A copy kept elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy: PathBuf = elsewhere.path().join("head.json");
    std::fs::copy(&file, &copy).unwrap();

    // Forged: an earlier head under the real signature (to hide a cut).
    let mut forged = real.clone();
    forged.seq -= 2;
    write_checkpoint(&file, &forged).unwrap();
    let e = verify(&config, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.starts_with(&format!(
            "the checkpoint {} has a bad signature",
            file.display()
        )),
        "{e}"
    );
    // Signed, but by another key than the center's.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Signer::load_or_create(other_dir.path()).unwrap();
    write_checkpoint(&file, &other.sign(real.seq - 2, "00", real.at)).unwrap();
    let e = verify(&config, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.contains(&format!(
            "is signed by {}, not by the center's key {key}",
            other.public_key()
        )),
        "{e}"
    );
    // The center does not start on a checkpoint that is not its own.
    assert!(mamori_center::start(config.clone()).await.is_err());
    // Removed: the data directory has the key, so a checkpoint must be there.
    std::fs::remove_file(&file).unwrap();
    let e = verify(&config, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.contains("is missing, yet this data directory holds"),
        "{e}"
    );
    // The copy kept elsewhere, with the key given explicitly, verifies...
    let opts = VerifyOptions {
        checkpoint: Some(copy.clone()),
        public_key: Some(key.clone()),
    };
    let v = verify(&config, &opts).await.unwrap();
    assert!(
        matches!(&v.anchor, Anchor::Matched { checkpoint, path } if *checkpoint == real && *path == copy),
        "{:?}",
        v.anchor
    );
    // ... and a wrong key for it is reported.
    let opts = VerifyOptions {
        checkpoint: Some(copy),
        public_key: Some(other.public_key()),
    };
    let e = verify(&config, &opts).await.unwrap_err();
    assert!(e.contains("not by the center's key"), "{e}");
}

/// A minimal SMTP server on loopback: accepts mail and hands each message's data on.
async fn smtp_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 test\r\n").await?;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok::<(), std::io::Error>(());
                    }
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("DATA") {
                        w.write_all(b"354 go on\r\n").await?;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            r.read_line(&mut line).await?;
                            if line == ".\r\n" || line.is_empty() {
                                break;
                            }
                            data.push_str(&line);
                        }
                        let _ = tx.send(data);
                        w.write_all(b"250 OK\r\n").await?;
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await?;
                        return Ok(());
                    } else {
                        w.write_all(b"250 OK\r\n").await?;
                    }
                }
            });
        }
    });
    (port, rx)
}

/// The next syslog datagram (waits at most 20 s).
async fn datagram(sock: &tokio::net::UdpSocket) -> String {
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(20), sock.recv(&mut buf))
        .await
        .expect("a syslog message within 20 s")
        .unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The checkpoint in a syslog message of the center.
fn checkpoint_of(line: &str) -> Checkpoint {
    assert!(line.starts_with("<109>1 "), "{line}");
    let (_, json) = line
        .split_once(" audit-checkpoint - ")
        .unwrap_or_else(|| panic!("not a checkpoint: {line}"));
    serde_json::from_str(json).unwrap()
}

async fn checkpoints_go_to_syslog_and_by_mail_and_a_cut_is_an_alert(backend: Backend) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let (smtp, mut mails) = smtp_server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let c = Center::start_with(backend, move |cfg| {
        cfg.data_dir = data;
        cfg.audit_checkpoint.syslog = format!("udp://127.0.0.1:{port}");
        cfg.audit_checkpoint.after_commit_ms = 50;
        cfg.audit_checkpoint.email_to = "audit@provider.example.jp".into();
        cfg.backoffice.smtp = format!("127.0.0.1:{smtp}");
    })
    .await;
    let key = c.running.as_ref().unwrap().audit_key.clone();
    let file = dir.path().join(CHECKPOINT_FILE);
    // Right after start: a checkpoint of the head, signed by the center's key, on the
    // syslog socket and by mail.
    let first = checkpoint_of(&datagram(&sock).await);
    first.verify(&key, &file).unwrap();
    let mail = tokio::time::timeout(Duration::from_secs(20), mails.recv())
        .await
        .expect("a mail within 20 s")
        .unwrap();
    assert!(mail.contains("To: audit@provider.example.jp"), "{mail}");
    assert!(
        mail.contains(&format!(
            "Subject: Mamori audit checkpoint: entry {}",
            first.seq
        )),
        "{mail}"
    );
    let (_, body) = mail.split_once("\r\n\r\n").unwrap();
    let b64: String = body.split_whitespace().collect();
    let body = String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap();
    assert!(
        body.contains(&serde_json::to_string(&first).unwrap()),
        "{body}"
    );
    // Writes: a later checkpoint follows them.
    let admin = c.admin().await;
    let head = loop {
        let cp = checkpoint_of(&datagram(&sock).await);
        cp.verify(&key, &file).unwrap();
        let now = c.store().audit_head().await.unwrap();
        if cp.seq == now.0 {
            assert_eq!(cp.hash, now.1);
            break cp;
        }
        assert!(cp.seq >= first.seq, "{cp:?}");
    };
    assert!(head.seq > first.seq);
    // The attack while it runs: the two newest rows deleted with SQL, then a write.
    c.store()
        .execute_raw(&format!(
            "DELETE FROM audit_log WHERE seq >= {}",
            head.seq - 1
        ))
        .await
        .unwrap();
    c.customer(&admin, "Alpha").await;
    let alert = loop {
        let line = datagram(&sock).await;
        if line.contains(" audit-cut - ") {
            break line;
        }
    };
    assert!(alert.starts_with("<105>1 "), "severity alert: {alert}");
    // Entries missing, or written again in their place by the writes that followed.
    assert!(
        alert.contains(&format!("(checkpoint at seq {}, ", head.seq))
            && (alert.contains(" are missing ")
                || alert.contains(" is not the one the checkpoint signed ")),
        "{alert}"
    );
    // The file still holds the last good checkpoint: the cut head was never signed.
    c.stop().await;
    assert_eq!(read_checkpoint(&file).unwrap().unwrap().seq, head.seq);
}
