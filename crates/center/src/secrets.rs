//! Secrets at rest: the TOTP secrets of users and setup links are kept in the database
//! encrypted with AES-256-GCM (`ring::aead`) under a random 256-bit key in
//! `<data_dir>/secret.key` (mode 0600), created on the first start.
//!
//! A sealed value is `v1:` + base64url(nonce ‖ ciphertext ‖ tag); the associated data
//! names the column and the row (`users.totp_secret:<id>`), so a value copied to
//! another row does not open. The database records the key's id (a hash of the key, in
//! `center_settings`), so a center started with another key, or without its key while
//! sealed secrets exist, stops with a clear error instead of locking everyone out or
//! making a new key. Several center processes on one PostgreSQL database need copies
//! of the same `secret.key`.
//!
//! At start, [`attach`] loads (or creates) the key, checks it against the database and
//! encrypts any plain-text secrets left by an earlier version, in one audited
//! transaction; running it again changes nothing.

use std::path::{Path, PathBuf};

use crate::audit::Record;
use crate::store::{Store, StoreError};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "secret.key";

/// What marks a sealed value (format version 1).
use mamori_center_db::sealing::MULTI_CENTER_HINT;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the database holds encrypted TOTP secrets, but the key file {path} is missing\nhint: restore {path} from a backup of this data directory; {MULTI_CENTER_HINT}. No new key is made while encrypted secrets exist: without this one nobody could sign in with TOTP"
    )]
    Missing { path: PathBuf },
    #[error(
        "the key file {path} (key id {file_id}) is not the key of this database's TOTP secrets (key id {db_id})\nhint: {MULTI_CENTER_HINT}"
    )]
    Mismatch {
        path: PathBuf,
        file_id: String,
        db_id: String,
    },
    #[error(
        "the key file {path} is not a Mamori secret key: {reason}\nhint: it holds 64 hexadecimal digits; restore it from a backup"
    )]
    BadFile { path: PathBuf, reason: String },
    #[error("cannot {what} the key file {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the system random generator failed: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub use mamori_center_db::sealing::{
    SEALED_PREFIX, Sealing, SecretKey, is_sealed, setup_link_aad, user_aad,
};

/// A new random key and its bytes (for the key file).
fn generate() -> Result<(SecretKey, [u8; 32]), SecretError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok((SecretKey::from_bytes(&b), b))
}

/// Reads `<dir>/secret.key`; `None` when it does not exist.
pub fn read_key_file(dir: &Path) -> Result<Option<SecretKey>, SecretError> {
    let path = dir.join(KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SecretError::Io {
                what: "read",
                path,
                source,
            });
        }
    };
    let hex = text.trim();
    let bad = |reason: &str| SecretError::BadFile {
        path: path.clone(),
        reason: reason.into(),
    };
    if hex.len() != 64 {
        return Err(bad("it does not hold 64 hexadecimal digits"));
    }
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| bad("it holds something other than hexadecimal digits"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad("it does not hold 32 bytes"))?;
    Ok(Some(SecretKey::from_bytes(&bytes)))
}

/// Creates `<dir>/secret.key` (0600, never over an existing file). When another process
/// created it first, its key is returned; the flag says whether this call made it.
fn create_key_file(dir: &Path) -> Result<(SecretKey, bool), SecretError> {
    let path = dir.join(KEY_FILE);
    let (key, bytes) = generate()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |what, source| SecretError::Io {
        what,
        path: path.clone(),
        source,
    };
    match opts.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            let text = format!("{}\n", data_encoding::HEXLOWER.encode(&bytes));
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| io("write", e))?;
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_key_file(dir)? {
            Some(k) => Ok((k, false)),
            None => Err(io("create", e)),
        },
        Err(e) => Err(io("create", e)),
    }
}

/// Gives `store` the data directory's key: loads `secret.key` or, when the database has
/// no encrypted secret yet, creates it; checks it is the database's key; encrypts the
/// plain-text TOTP secrets an earlier version left (one audited transaction).
pub async fn attach(store: Store, data_dir: &Path, now: i64) -> Result<Store, SecretError> {
    let path = data_dir.join(KEY_FILE);
    let recorded = store.secret_key_id().await?;
    let (key, created) = match read_key_file(data_dir)? {
        Some(k) => (k, false),
        None if recorded.is_some() || store.sealed_totp_secret_count().await? > 0 => {
            return Err(SecretError::Missing { path });
        }
        None => create_key_file(data_dir)?,
    };
    let db_id = match recorded {
        Some(id) => id,
        None => store.record_secret_key_id(key.id()).await?,
    };
    if db_id != key.id() {
        if created {
            // Another center recorded its key first: leave no second key behind.
            let _ = std::fs::remove_file(&path);
        }
        return Err(SecretError::Mismatch {
            path,
            file_id: key.id().to_string(),
            db_id,
        });
    }
    let store = store.with_secret_key(key);
    let mut tx = store.begin().await?;
    let (users, links) = tx.seal_plain_totp_secrets().await?;
    if users + links > 0 {
        tx.audit(
            Record {
                actor_id: None,
                actor: "system".into(),
                customer_id: None,
                source: "startup".into(),
                action: "secrets.encrypt".into(),
                object: "totp_secret".into(),
                outcome: "ok".into(),
                detail: format!(
                    "TOTP secrets encrypted at rest: {users} of users, {links} of setup links"
                ),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(
            users,
            setup_links = links,
            "plain-text TOTP secrets found and encrypted with {}",
            path.display()
        );
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_center_model::ids::UserId;

    #[test]
    fn sealed_values_open_only_with_their_key_and_place() {
        let k = SecretKey::from_bytes(&[7u8; 32]);
        let s = k
            .seal("JBSWY3DPEHPK3PXP", &user_aad(UserId::new(1)))
            .unwrap();
        assert!(is_sealed(&s) && !s.contains("JBSWY3DPEHPK3PXP"), "{s}");
        assert_eq!(
            k.open(&s, &user_aad(UserId::new(1))).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        // Another row, another key, a changed byte: refused.
        assert!(k.open(&s, &user_aad(UserId::new(2))).is_err());
        assert!(
            SecretKey::from_bytes(&[8u8; 32])
                .open(&s, &user_aad(UserId::new(1)))
                .is_err()
        );
        let mut b = s.clone().into_bytes();
        let last = b.len() - 1;
        b[last] = if b[last] == b'A' { b'B' } else { b'A' };
        assert!(
            k.open(&String::from_utf8(b).unwrap(), &user_aad(UserId::new(1)))
                .is_err()
        );
        // Two seals of one value differ (random nonces).
        assert_ne!(k.seal("x", "a").unwrap(), k.seal("x", "a").unwrap());
        assert_ne!(k.id(), SecretKey::from_bytes(&[8u8; 32]).id());
    }

    #[test]
    fn without_a_key_nothing_is_written_in_the_clear() {
        let k = SecretKey::from_bytes(&[7u8; 32]);
        let s = k.seal("S", "a").unwrap();
        assert!(Sealing::NoKey.seal("S", "a").is_err());
        assert!(Sealing::NoKey.open(&s, "a").is_err());
        assert_eq!(Sealing::NoKey.open("PLAIN", "a").unwrap(), "PLAIN");
        assert_eq!(Sealing::Plain.seal("S", "a").unwrap(), "S");
    }

    proptest::proptest! {
        #[test]
        fn opening_garbage_never_panics(v in "v1:[A-Za-z0-9_-]{0,80}") {
            let k = SecretKey::from_bytes(&[1u8; 32]);
            proptest::prop_assert!(k.open(&v, "a").is_err());
        }
    }
}
