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

impl Entry {
    /// The canonical content: JSON with the fields in declaration order, no whitespace.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("an entry always serializes")
    }

    pub fn hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical().as_bytes());
        data_encoding::HEXLOWER.encode(&h.finalize())
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
        self.prev_hash = hash.to_string();
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
