//! The audit log's chain: each entry's hash is SHA-256 over the previous entry's hash
//! and the entry's canonical content. Entries are only ever appended (by the store, in
//! the same transaction as the change they record); nothing updates or deletes them.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash of the (absent) entry before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry as it is hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub actor_id: Option<i64>,
    /// Who acted: an e-mail address, `system`, or `anonymous`.
    pub actor: String,
    pub customer_id: Option<i64>,
    /// Where from: the peer address, or `cli`.
    pub source: String,
    pub action: String,
    pub object: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    pub detail: String,
}

/// What an entry records, before the store gives it a sequence number and time.
#[derive(Debug, Clone)]
pub struct Record {
    pub actor_id: Option<i64>,
    pub actor: String,
    pub customer_id: Option<i64>,
    pub source: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub detail: String,
}

/// An entry with borrowed text, as read from a database row without copying: it has
/// the same canonical content (and so the same hash) as the [`Entry`] it stands for.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EntryRef<'a> {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub customer_id: Option<i64>,
    pub source: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub outcome: &'a str,
    pub detail: &'a str,
}

impl Entry {
    /// The canonical content: JSON with the fields in declaration order, no whitespace.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("an entry always serializes")
    }

    pub fn hash(&self, prev_hash: &str) -> String {
        Hasher::default()
            .digest(prev_hash, &self.as_ref())
            .to_string()
    }

    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            seq: self.seq,
            at: self.at,
            actor_id: self.actor_id,
            actor: &self.actor,
            customer_id: self.customer_id,
            source: &self.source,
            action: &self.action,
            object: &self.object,
            outcome: &self.outcome,
            detail: &self.detail,
        }
    }
}

/// Hashes entries one after another, reusing its buffers (no allocation per entry).
pub struct Hasher {
    canonical: Vec<u8>,
    hex: [u8; 64],
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            canonical: Vec::with_capacity(512),
            hex: [0; 64],
        }
    }
}

impl Hasher {
    /// The entry's hash, in lower-case hex: SHA-256 over the previous entry's hash, a
    /// newline and the entry's canonical content.
    pub fn digest(&mut self, prev_hash: &str, e: &EntryRef<'_>) -> &str {
        self.canonical.clear();
        serde_json::to_writer(&mut self.canonical, e).expect("an entry always serializes");
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(&self.canonical);
        data_encoding::HEXLOWER.encode_mut(&h.finalize(), &mut self.hex);
        std::str::from_utf8(&self.hex).expect("hex is ASCII")
    }
}

/// Why the chain does not verify, naming the first entry that does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(
        "audit entry {seq}: its content does not match its hash (changed after it was written)"
    )]
    HashMismatch { seq: i64 },
    #[error("audit entry {seq}: its previous-hash field does not match entry {prev}'s hash")]
    BrokenLink { seq: i64, prev: i64 },
    #[error("audit entry {expected} is missing (the entry after {prev} is {found})")]
    Missing {
        expected: i64,
        prev: i64,
        found: i64,
    },
}

/// Walks a chain entry by entry. Feed entries in sequence order.
#[derive(Debug)]
pub struct Verifier {
    prev_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev_seq: 0,
            prev_hash: GENESIS.to_string(),
            checked: 0,
        }
    }
}

impl Verifier {
    /// Continues a chain after entry `prev_seq` whose hash is `prev_hash`.
    pub fn resume(prev_seq: i64, prev_hash: &str) -> Verifier {
        Verifier {
            prev_seq,
            prev_hash: prev_hash.to_string(),
            checked: 0,
        }
    }

    pub fn last_seq(&self) -> i64 {
        self.prev_seq
    }

    pub fn last_hash(&self) -> &str {
        &self.prev_hash
    }

    pub fn push(&mut self, e: &Entry, prev_hash: &str, hash: &str) -> Result<(), ChainError> {
        let computed = e.hash(prev_hash);
        self.push_hashed(e.seq, prev_hash, hash, &computed)
    }

    /// Like [`Verifier::push`], with the entry's hash already computed from its content
    /// and its stored previous hash (so that hashing can run elsewhere, in parallel).
    pub fn push_hashed(
        &mut self,
        seq: i64,
        prev_hash: &str,
        hash: &str,
        computed: &str,
    ) -> Result<(), ChainError> {
        if seq != self.prev_seq + 1 {
            return Err(ChainError::Missing {
                expected: self.prev_seq + 1,
                prev: self.prev_seq,
                found: seq,
            });
        }
        if prev_hash != self.prev_hash {
            return Err(ChainError::BrokenLink {
                seq,
                prev: self.prev_seq,
            });
        }
        if computed != hash {
            return Err(ChainError::HashMismatch { seq });
        }
        self.prev_seq = seq;
        self.prev_hash.clear();
        self.prev_hash.push_str(hash);
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hash as the chain defines it, computed the plain way (owned canonical
    /// String of the owned entry).
    fn reference_hash(e: &Entry, prev: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(b"\n");
        h.update(serde_json::to_string(e).unwrap().as_bytes());
        data_encoding::HEXLOWER.encode(&h.finalize())
    }

    /// The borrowed form built field by field (not through `as_ref`), so that a field
    /// order or name that differs from `Entry` shows.
    fn borrowed(e: &Entry) -> EntryRef<'_> {
        EntryRef {
            seq: e.seq,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor.as_str(),
            customer_id: e.customer_id,
            source: e.source.as_str(),
            action: e.action.as_str(),
            object: e.object.as_str(),
            outcome: e.outcome.as_str(),
            detail: e.detail.as_str(),
        }
    }

    fn tricky() -> Entry {
        Entry {
            seq: 42,
            at: -1,
            actor_id: None,
            actor: "担当者 \"quoted\" \\ back\nslash".into(),
            customer_id: Some(i64::MAX),
            source: "\u{1}\u{1f}\u{7f}\t\r".into(),
            action: "指示.提出 🚀".into(),
            object: String::new(),
            outcome: "ok".into(),
            detail: "</script>&'\u{2028}\u{feff}".into(),
        }
    }

    #[test]
    fn canonical_bytes_of_a_tricky_entry() {
        // Written out by hand: field order, null, escapes (control characters as
        // \u00XX, DEL and non-ASCII as they are).
        let expected = concat!(
            r#"{"seq":42,"at":-1,"actor_id":null,"actor":"担当者 \"quoted\" \\ back\nslash","#,
            r#""customer_id":9223372036854775807,"source":"\u0001\u001f"#,
            "\u{7f}",
            r#"\t\r","action":"指示.提出 🚀","object":"","outcome":"ok","#,
            r#""detail":"</script>&'"#,
            "\u{2028}\u{feff}",
            r#""}"#
        );
        let e = tricky();
        assert_eq!(e.canonical(), expected);
        let mut buf = Vec::new();
        serde_json::to_writer(&mut buf, &borrowed(&e)).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
    }

    #[test]
    fn streaming_hash_equals_the_plain_hash() {
        let mut h = Hasher::default();
        let mut prev = GENESIS.to_string();
        for e in [tricky(), entry(1), entry(2)] {
            let plain = reference_hash(&e, &prev);
            assert_eq!(h.digest(&prev, &borrowed(&e)), plain);
            assert_eq!(e.hash(&prev), plain);
            prev = plain;
        }
        // The previous hash is part of what is hashed.
        let e = entry(3);
        assert_ne!(h.digest(GENESIS, &borrowed(&e)).to_string(), e.hash(&prev));
    }

    proptest! {
        #[test]
        fn streaming_hash_equals_the_plain_hash_for_any_entry(
            seq in any::<i64>(), at in any::<i64>(),
            actor_id in any::<Option<i64>>(), customer_id in any::<Option<i64>>(),
            actor in any::<String>(), source in any::<String>(), action in any::<String>(),
            object in any::<String>(), outcome in any::<String>(), detail in any::<String>(),
            prev in any::<String>(),
        ) {
            let e = Entry { seq, at, actor_id, actor, customer_id, source, action, object, outcome, detail };
            let mut h = Hasher::default();
            prop_assert_eq!(h.digest(&prev, &borrowed(&e)), reference_hash(&e, &prev));
        }
    }

    fn entry(seq: i64) -> Entry {
        Entry {
            seq,
            at: 1_700_000_000_000 + seq,
            actor_id: Some(1),
            actor: "a@example.jp".into(),
            customer_id: None,
            source: "127.0.0.1".into(),
            action: "test".into(),
            object: format!("thing/{seq}"),
            outcome: "ok".into(),
            detail: String::new(),
        }
    }

    fn chain(n: i64) -> Vec<(Entry, String, String)> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|s| {
                let e = entry(s);
                let h = e.hash(&prev);
                let out = (e, prev.clone(), h.clone());
                prev = h;
                out
            })
            .collect()
    }

    #[test]
    fn verifies_and_names_the_first_bad_entry() {
        let c = chain(5);
        let mut v = Verifier::default();
        for (e, p, h) in &c {
            v.push(e, p, h).unwrap();
        }
        assert_eq!(v.checked, 5);

        let mut bad = c.clone();
        bad[2].0.detail = "changed".into();
        let mut v = Verifier::default();
        let err = bad
            .iter()
            .map(|(e, p, h)| v.push(e, p, h))
            .find_map(Result::err)
            .unwrap();
        assert_eq!(err, ChainError::HashMismatch { seq: 3 });

        let mut gone = c.clone();
        gone.remove(1);
        let mut v = Verifier::default();
        let err = gone
            .iter()
            .map(|(e, p, h)| v.push(e, p, h))
            .find_map(Result::err)
            .unwrap();
        assert_eq!(
            err,
            ChainError::Missing {
                expected: 2,
                prev: 1,
                found: 3
            }
        );
    }
}
