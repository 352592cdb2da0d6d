//! Sealing of secrets at rest (AES-256-GCM, `ring::aead`): the TOTP secrets of users
//! and setup links. The key comes from the center (`<data_dir>/secret.key`); the
//! associated data names the column and row, so a value copied elsewhere does not open.

use mamori_center_model::ids::*;
use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The prefix of a sealed value: `v1:` + base64url(nonce ‖ ciphertext ‖ tag).
pub const SEALED_PREFIX: &str = "v1:";

/// What an operator of several center processes on one PostgreSQL database must know.
pub const MULTI_CENTER_HINT: &str = "with PostgreSQL, every center process sharing the database needs a copy of the same secret.key (from the data directory of the center that created it)";

/// The key that seals the TOTP secrets.
pub struct SecretKey {
    key: LessSafeKey,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> SecretKey {
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, bytes).expect("AES-256-GCM takes a 32-byte key"),
        );
        let mut h = Sha256::new();
        h.update(b"mamori secret key id v1\0");
        h.update(bytes);
        let id = data_encoding::HEXLOWER.encode(&h.finalize()[..16]);
        SecretKey { key, id }
    }

    /// A public name of the key (a hash of it), recorded in the database.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plain`, bound to `aad` (the column and row it is stored in).
    pub fn seal(&self, plain: &str, aad: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Secret(e.to_string()))?;
        let mut buf = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Secret("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&out)
        ))
    }

    /// Decrypts a value made by [`SecretKey::seal`] with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, StoreError> {
        let bad = || {
            StoreError::Secret(format!(
                "{aad} does not decrypt with the key in secret.key (another center's key, or a changed value); {MULTI_CENTER_HINT}"
            ))
        };
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?;
        let mut raw = data_encoding::BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&raw[..NONCE_LEN]);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut raw[NONCE_LEN..],
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

/// Whether a stored value is sealed (else it is an earlier version's plain text).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The associated data of a user's TOTP secret.
pub fn user_aad(user_id: UserId) -> String {
    format!("users.totp_secret:{user_id}")
}

/// The associated data of a setup link's TOTP secret.
pub fn setup_link_aad(token_hash: &str) -> String {
    format!("setup_links.totp_secret:{token_hash}")
}

/// How a [`Store`] treats TOTP secrets.
#[derive(Clone, Default)]
pub enum Sealing {
    /// No key: writing a secret is an error, reading a sealed one too.
    #[default]
    NoKey,
    /// Tools and tests that fill a database before a center serves it: secrets are
    /// written as given, and the center encrypts them at its next start.
    Plain,
    /// The center: secrets are sealed with the key.
    Key(Arc<SecretKey>),
}

impl Sealing {
    /// The value to store for `plain` in the place `aad` names.
    pub fn seal(&self, plain: &str, aad: &str) -> Result<String, StoreError> {
        match self {
            Sealing::Key(k) => k.seal(plain, aad),
            Sealing::Plain => Ok(plain.to_string()),
            Sealing::NoKey => Err(StoreError::Secret(
                "this store was opened without the secret key; TOTP secrets are never written in the clear".into(),
            )),
        }
    }

    /// The plain text of a stored value (an earlier version's plain text as it is).
    pub fn open(&self, stored: &str, aad: &str) -> Result<String, StoreError> {
        if !is_sealed(stored) {
            return Ok(stored.to_string());
        }
        match self {
            Sealing::Key(k) => k.open(stored, aad),
            _ => Err(StoreError::Secret(format!(
                "{aad} is encrypted and this store was opened without the secret key"
            ))),
        }
    }
}
