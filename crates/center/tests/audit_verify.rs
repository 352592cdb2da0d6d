//! `audit verify` against SQLite and a real PostgreSQL on entries whose text is hard to
//! carry: quotes, backslashes, control characters, non-ASCII, empty and NULL fields.
//! They verify as written, and a one-character change in one of them is named.

mod support;

use mamori_center::audit::{Entry, GENESIS};
use mamori_center::domain::Scope;
use support::{Backend, Center};

both_backends!(tricky_text_verifies_and_a_change_is_named);
both_backends!(a_value_of_another_type_is_named);

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
