//! Enrolment and renewal: a new key pair (ECDSA P-256, kept in `key.pem`, mode 0600), a
//! certificate signing request, and the certificate the center's CA issues for it.
//!
//! First contact: the enrolment token is `<secret>.<fingerprint>`, where the fingerprint
//! is the SHA-256 of the center's CA certificate (DER, hex). The agent trusts the center
//! only if the TLS chain it presents holds that CA and the server certificate verifies
//! against it; afterwards the CA the center returns (`ca.pem`, checked against the same
//! fingerprint) is the only root the agent trusts.
//!
//! The token comes from a file ([`read_token_file`]) or the environment rather than the
//! command line, which every local user can read. An enrolment that fails leaves no
//! key behind.

use std::time::Duration;

use mamori_api::agent as wire;
use rcgen::{CertificateParams, DnType, KeyPair};

use crate::client::{CenterUrl, Client, ClientError, cert_der_of_pem, fingerprint};
use crate::state::{Identity, StateDir, StateError, write_atomic};

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error(
        "the enrolment token is not valid: {0} (expected SECRET.FINGERPRINT as the center printed it)"
    )]
    BadToken(String),
    #[error(
        "{0} is already enrolled (identity.json exists); use another --state-dir or remove it to enrol again"
    )]
    AlreadyEnrolled(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the center refused ({status}): {detail}")]
    Refused { status: u16, detail: String },
    #[error("the center's answer is not understood: {0}")]
    BadAnswer(String),
    #[error("cannot make a key or request: {0}")]
    Key(String),
    #[error("the token file {path}: {detail}")]
    TokenFile { path: String, detail: String },
}

/// The largest token file read (a token is about 110 characters).
const MAX_TOKEN_FILE: u64 = 4096;

/// Reads an enrolment token from a file: its only line, surrounding white space
/// removed. Also returns a warning when other users may read the file.
pub fn read_token_file(path: &std::path::Path) -> Result<(String, Option<String>), EnrolError> {
    use std::io::Read;
    let bad = |detail: String| EnrolError::TokenFile {
        path: path.display().to_string(),
        detail,
    };
    let f = std::fs::File::open(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let meta = f
        .metadata()
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(bad("is not a regular file".into()));
    }
    let mut text = String::new();
    f.take(MAX_TOKEN_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot be read as text: {e}")))?;
    if text.len() as u64 > MAX_TOKEN_FILE {
        return Err(bad(format!(
            "is longer than {MAX_TOKEN_FILE} bytes; it should hold only the token"
        )));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(bad("is empty; it should hold the token".into()));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(bad(
            "holds more than one word; it should hold only the token".into(),
        ));
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "warning: the token file {} may be read by other users (mode {mode:04o}); make it 0600",
            path.display()
        )
    });
    Ok((token.to_string(), warning))
}

/// The CA fingerprint pinned in a token (lower-case hex, 64 digits).
pub fn token_fingerprint(token: &str) -> Result<String, EnrolError> {
    let (secret, fp) = token
        .rsplit_once('.')
        .ok_or_else(|| EnrolError::BadToken("it has no CA fingerprint after a dot".into()))?;
    if secret.is_empty() {
        return Err(EnrolError::BadToken("the secret part is empty".into()));
    }
    if fp.len() != 64 || !fp.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(EnrolError::BadToken(
            "the CA fingerprint is not 64 hexadecimal digits".into(),
        ));
    }
    Ok(fp.to_ascii_lowercase())
}

/// A new key pair and a request for it: (key PEM, CSR PEM).
pub fn new_key_and_csr() -> Result<(String, String), EnrolError> {
    let key = KeyPair::generate().map_err(|e| EnrolError::Key(e.to_string()))?;
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "mamori agent");
    let csr = p
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| EnrolError::Key(e.to_string()))?;
    Ok((key.serialize_pem(), csr))
}

/// Enrols: key, request, certificate; writes the state directory. Returns the identity.
/// When enrolment fails (the center refuses the token, cannot be reached, answers
/// badly), the new key is removed again (no certificate will ever match it), and so is
/// the state directory if this call made it and it is empty.
pub fn enrol(center: &str, token: &str, dir: &StateDir) -> Result<Identity, EnrolError> {
    let url = CenterUrl::parse(center)?;
    let fp = token_fingerprint(token)?;
    if dir.identity().exists() {
        return Err(EnrolError::AlreadyEnrolled(dir.dir.display().to_string()));
    }
    let made_dir = !dir.dir.exists();
    dir.create()?;
    let r = enrol_in(url, &fp, token, dir);
    if r.is_err() {
        let _ = std::fs::remove_file(dir.key());
        if made_dir {
            // Only when empty: anything else there is not ours to remove.
            let _ = std::fs::remove_dir(&dir.dir);
        }
    }
    r
}

fn enrol_in(url: CenterUrl, fp: &str, token: &str, dir: &StateDir) -> Result<Identity, EnrolError> {
    let (key, csr) = new_key_and_csr()?;
    // The key is on disk before the center signs anything for it.
    write_atomic(&dir.key(), key.as_bytes(), true)?;
    let client = Client::pinned(url.clone(), fp)?;
    let r = certificate_request(
        &client,
        "/agent/v1/enrol",
        &wire::EnrolRequest {
            token: token.to_string(),
            csr_pem: csr,
        },
    )?;
    let ca_fp = fingerprint(&cert_der_of_pem(&r.ca_pem)?);
    if ca_fp != fp {
        return Err(EnrolError::BadAnswer(format!(
            "the CA the center returned has fingerprint {ca_fp}, not the pinned {fp}"
        )));
    }
    write_atomic(&dir.ca(), r.ca_pem.as_bytes(), false)?;
    write_atomic(&dir.cert(), r.cert_pem.as_bytes(), false)?;
    let id = Identity {
        center: url.to_url(),
        site_id: r.site_id,
        equipment_id: r.equipment_id,
    };
    write_atomic(
        &dir.identity(),
        &serde_json::to_vec_pretty(&id).expect("serializes"),
        false,
    )?;
    Ok(id)
}

/// Asks the center for a certificate (`path`: enrolment or renewal); a status other
/// than 200 is a refusal with the center's reason.
fn certificate_request(
    client: &Client,
    path: &str,
    request: &impl serde::Serialize,
) -> Result<wire::EnrolResponse, EnrolError> {
    let body = serde_json::to_vec(request).expect("serializes");
    let a = client.request("POST", path, Some(&body), Duration::from_secs(30))?;
    if a.status != 200 {
        return Err(EnrolError::Refused {
            status: a.status,
            detail: a.error_text(),
        });
    }
    serde_json::from_slice(&a.body).map_err(|e| EnrolError::BadAnswer(e.to_string()))
}

/// The mutual-TLS client of an enrolled agent (for `center`, or the enrolled one).
pub fn client(dir: &StateDir, center: Option<&str>) -> Result<Client, EnrolError> {
    finish_renewal(dir)?;
    let id = dir.load_identity()?;
    let url = CenterUrl::parse(center.unwrap_or(&id.center))?;
    Ok(Client::mutual(
        url,
        &dir.read(&dir.ca())?,
        &dir.read(&dir.cert())?,
        &dir.read(&dir.key())?,
    )?)
}

/// The end of the certificate's validity (ms since the epoch).
pub fn not_after_ms(cert_pem: &str) -> Result<i64, EnrolError> {
    use x509_parser::prelude::FromDer;
    let der = cert_der_of_pem(cert_pem)?;
    let (_, c) = x509_parser::certificate::X509Certificate::from_der(&der)
        .map_err(|e| EnrolError::BadAnswer(format!("the certificate: {e}")))?;
    Ok(c.validity().not_after.timestamp() * 1000)
}

/// Renews the certificate when less than a third of `valid_ms` is left. The new key is
/// written before the request (`key.next.pem`) and swapped in with the new certificate,
/// so a crash never leaves a certificate without its key.
pub fn renew_if_due(
    dir: &StateDir,
    client: &Client,
    now_ms: i64,
    renew_before_ms: i64,
) -> Result<bool, EnrolError> {
    let cert = dir.read(&dir.cert())?;
    if not_after_ms(&cert)? - now_ms > renew_before_ms {
        return Ok(false);
    }
    let (key, csr) = new_key_and_csr()?;
    let next_key = dir.dir.join("key.next.pem");
    let next_cert = dir.dir.join("cert.next.pem");
    write_atomic(&next_key, key.as_bytes(), true)?;
    let r = match certificate_request(
        client,
        "/agent/v1/renew",
        &wire::RenewRequest { csr_pem: csr },
    ) {
        Err(e @ EnrolError::Refused { .. }) => {
            // Refused: the new key will not get a certificate.
            let _ = std::fs::remove_file(&next_key);
            return Err(e);
        }
        r => r?,
    };
    write_atomic(&next_cert, r.cert_pem.as_bytes(), false)?;
    finish_renewal(dir)?;
    Ok(true)
}

/// Completes a renewal a crash interrupted: with both `key.next.pem` and
/// `cert.next.pem`, they replace the current pair; a lone new key is dropped.
pub fn finish_renewal(dir: &StateDir) -> Result<(), EnrolError> {
    let next_key = dir.dir.join("key.next.pem");
    let next_cert = dir.dir.join("cert.next.pem");
    let io = |path: &std::path::Path, source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    match (next_key.exists(), next_cert.exists()) {
        (true, true) => {
            // The certificate last: a crash between the renames leaves key.pem new and
            // cert.next.pem, which the next start completes.
            std::fs::rename(&next_key, dir.key()).map_err(|e| io(&next_key, e))?;
            std::fs::rename(&next_cert, dir.cert()).map_err(|e| io(&next_cert, e))?;
        }
        (false, true) => {
            std::fs::rename(&next_cert, dir.cert()).map_err(|e| io(&next_cert, e))?;
        }
        (true, false) => {
            let _ = std::fs::remove_file(&next_key);
        }
        (false, false) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_carries_the_ca_fingerprint() {
        let fp = "AB".repeat(32);
        assert_eq!(
            token_fingerprint(&format!("s3cr-t_x.{fp}")).unwrap(),
            "ab".repeat(32)
        );
        for bad in ["nodot", ".abc", &format!("s.{}", "g".repeat(64)), "s.abcd"] {
            let e = token_fingerprint(bad).unwrap_err().to_string();
            assert!(e.contains("enrolment token"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_token_file_holds_one_token_and_says_when_others_may_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mamori-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "  s3cret.abcd\n\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&f).unwrap(), ("s3cret.abcd".into(), None));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, warning) = read_token_file(&f).unwrap();
        assert!(warning.unwrap().contains("mode 0644"));
        for (bad, why) in [
            ("", "is empty"),
            (" \n", "is empty"),
            ("one two", "more than one word"),
            (&"x".repeat(5000), "longer than 4096 bytes"),
        ] {
            std::fs::write(&f, bad).unwrap();
            let e = read_token_file(&f).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("token file"), "{e}");
        }
        let e = read_token_file(&dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be read"), "{e}");
        let e = read_token_file(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_and_request_are_pem() {
        let (key, csr) = new_key_and_csr().unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    }
}
