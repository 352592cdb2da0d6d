//! The center's own certificate authority for gateway agents. It signs an agent's
//! certificate signing request with an identity the center chooses (the site and the
//! unit, never what the request asks for), with a serial number the center records so
//! that a certificate can be revoked. Time comes in as a value (ms since the epoch).

use mamori_center_model::ids::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("the CA certificate or key is not usable: {0}")]
    BadCa(String),
    #[error("the certificate signing request is not valid: {0}")]
    BadCsr(String),
    #[error("the certificate is not one of this center's agent certificates: {0}")]
    BadCert(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// Who a certificate speaks for: one unit at one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentIdentity {
    pub site_id: SiteId,
    pub equipment_id: EquipmentId,
}

/// A certificate issued to an agent.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    /// The serial number, lower-case hex; the key of the revocation check.
    pub serial: String,
    pub not_after: i64,
}

pub struct Ca {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn odt(ms: i64) -> Result<OffsetDateTime, CaError> {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map_err(|e| CaError::Sign(format!("time {ms} ms: {e}")))
}

const CN_PREFIX: &str = "mamori-agent";

impl Ca {
    /// A new CA (ECDSA P-256), valid for `valid_ms` from `now`.
    pub fn generate(name: &str, now: i64, valid_ms: i64) -> Result<Ca, CaError> {
        let key = KeyPair::generate().map_err(|e| CaError::Sign(e.to_string()))?;
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.not_before = odt(now - 3_600_000)?;
        p.not_after = odt(now + valid_ms)?;
        let cert = p
            .self_signed(&key)
            .map_err(|e| CaError::Sign(e.to_string()))?;
        Ca::from_pem(&cert.pem(), &key.serialize_pem())
    }

    /// The CA from its certificate and private key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, CaError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| CaError::BadCa(format!("key: {e}")))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|e| CaError::BadCa(format!("certificate: {e}")))?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The CA certificate in DER.
    pub fn cert_der(&self) -> Result<Vec<u8>, CaError> {
        x509_parser::pem::parse_x509_pem(self.cert_pem.as_bytes())
            .map(|(_, p)| p.contents)
            .map_err(|e| CaError::BadCa(e.to_string()))
    }

    /// A server certificate for the center's agent listener, for `names` (DNS names or
    /// IP addresses): (certificate DER, PKCS#8 private key DER).
    pub fn server_identity(
        &self,
        names: Vec<String>,
        now: i64,
        valid_ms: i64,
    ) -> Result<(Vec<u8>, Vec<u8>), CaError> {
        let key = KeyPair::generate().map_err(|e| CaError::Sign(e.to_string()))?;
        let mut p = CertificateParams::new(names).map_err(|e| CaError::Sign(e.to_string()))?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, "mamori center");
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = odt(now - 300_000)?;
        p.not_after = odt(now + valid_ms)?;
        let cert = p
            .signed_by(&key, &self.issuer)
            .map_err(|e| CaError::Sign(e.to_string()))?;
        Ok((cert.der().to_vec(), key.serialize_der()))
    }

    /// Signs an agent's request for `who`. The request proves possession of the key
    /// (its signature is checked); its subject and extensions are ignored.
    pub fn issue(
        &self,
        csr_pem: &str,
        who: AgentIdentity,
        serial: u64,
        now: i64,
        valid_ms: i64,
    ) -> Result<Issued, CaError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| CaError::BadCsr(e.to_string()))?;
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(
            DnType::CommonName,
            format!("{CN_PREFIX} site={} unit={}", who.site_id, who.equipment_id),
        );
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
        p.not_before = odt(now - 300_000)?;
        p.not_after = odt(now + valid_ms)?;
        p.use_authority_key_identifier_extension = true;
        csr.params = p;
        let cert = csr
            .signed_by(&self.issuer)
            .map_err(|e| CaError::Sign(e.to_string()))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            serial: format!("{serial:x}"),
            not_after: now + valid_ms,
        })
    }
}

/// Loads the CA from `dir` (`ca.pem`, `ca.key`), or creates it there when neither file
/// exists (the directory 0700, both files 0600). Several center processes serving the same agents
/// must share this directory (or copies of its two files).
pub fn load_or_create(dir: &std::path::Path, now: i64) -> Result<Ca, CaError> {
    let cert_path = dir.join("ca.pem");
    let key_path = dir.join("ca.key");
    let io =
        |p: &std::path::Path, e: std::io::Error| CaError::BadCa(format!("{}: {e}", p.display()));
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let cert = std::fs::read_to_string(&cert_path).map_err(|e| io(&cert_path, e))?;
            let key = std::fs::read_to_string(&key_path).map_err(|e| io(&key_path, e))?;
            Ca::from_pem(&cert, &key).map_err(|e| {
                CaError::BadCa(format!(
                    "{} and {}: {e}",
                    cert_path.display(),
                    key_path.display()
                ))
            })
        }
        (false, false) => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(|e| io(dir, e))?;
            let ca = Ca::generate("Mamori center CA", now, 20 * 365 * 86_400_000)?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            use std::io::Write;
            for (path, pem) in [(&key_path, ca.key_pem()), (&cert_path, ca.cert_pem())] {
                let mut f = opts.open(path).map_err(|e| io(path, e))?;
                f.write_all(pem.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| io(path, e))?;
            }
            Ok(ca)
        }
        (c, _) => Err(CaError::BadCa(format!(
            "{} is missing while {} exists; restore it or remove both to make a new CA (every agent must then enrol again)",
            if c {
                key_path.display()
            } else {
                cert_path.display()
            },
            if c {
                cert_path.display()
            } else {
                key_path.display()
            },
        ))),
    }
}

/// The identity and serial number (lower-case hex) of an agent certificate (DER) that
/// the TLS layer has already verified against this CA.
pub fn identity_of(cert_der: &[u8]) -> Result<(AgentIdentity, String), CaError> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(cert_der)
        .map_err(|e| CaError::BadCert(e.to_string()))?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .ok_or_else(|| CaError::BadCert("no common name".into()))?;
    let rest = cn
        .strip_prefix(CN_PREFIX)
        .ok_or_else(|| CaError::BadCert(format!("common name {cn:?}")))?;
    let mut site = None;
    let mut unit = None;
    for part in rest.split_whitespace() {
        match part.split_once('=') {
            Some(("site", v)) => site = v.parse().ok(),
            Some(("unit", v)) => unit = v.parse().ok(),
            _ => {}
        }
    }
    let (Some(site_id), Some(equipment_id)) = (site, unit) else {
        return Err(CaError::BadCert(format!("common name {cn:?}")));
    };
    let serial = cert.tbs_certificate.serial.to_str_radix(16);
    Ok((
        AgentIdentity {
            site_id,
            equipment_id,
        },
        serial,
    ))
}

/// What an agent does before enrolling: a new key pair and a request for it. Returns
/// (private key PEM, request PEM).
pub fn new_key_and_csr() -> Result<(String, String), CaError> {
    let key = KeyPair::generate().map_err(|e| CaError::Sign(e.to_string()))?;
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "mamori agent");
    let csr = p
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| CaError::Sign(e.to_string()))?;
    Ok((key.serialize_pem(), csr))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn der_of(pem: &str) -> Vec<u8> {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        p.contents
    }

    #[test]
    fn issues_a_client_certificate_with_the_centers_identity_and_serial() {
        let ca = Ca::generate("Mamori center CA", NOW, 3650 * DAY).unwrap();
        let (_key, csr) = new_key_and_csr().unwrap();
        let who = AgentIdentity {
            site_id: SiteId::new(3),
            equipment_id: EquipmentId::new(17),
        };
        let issued = ca.issue(&csr, who, 0xdead_beef, NOW, 90 * DAY).unwrap();
        assert_eq!(issued.serial, "deadbeef");
        let der = der_of(&issued.cert_pem);
        let (id, serial) = identity_of(&der).unwrap();
        assert_eq!(id, who);
        assert_eq!(serial, "deadbeef");
        // Signed by the CA: verify with the CA's public key.
        use x509_parser::prelude::FromDer;
        let ca_der = der_of(ca.cert_pem());
        let (_, ca_cert) = x509_parser::certificate::X509Certificate::from_der(&ca_der).unwrap();
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        assert_eq!(
            cert.validity().not_after.timestamp(),
            (NOW + 90 * DAY) / 1000
        );
        // A CA loaded back from its PEM signs too.
        let again = Ca::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
        assert!(again.issue(&csr, who, 2, NOW, DAY).is_ok());
    }

    #[test]
    fn the_ca_is_created_once_and_loaded_after() {
        let dir = std::env::temp_dir().join(format!("mamori-ca-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = load_or_create(&dir, NOW).unwrap();
        let b = load_or_create(&dir, NOW + DAY).unwrap();
        assert_eq!(a.cert_pem(), b.cert_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join("ca.key")), 0o600);
            assert_eq!(mode(&dir.join("ca.pem")), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        std::fs::remove_file(dir.join("ca.pem")).unwrap();
        let e = load_or_create(&dir, NOW).err().unwrap().to_string();
        assert!(e.contains("ca.pem is missing while"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_request_is_refused_with_the_reason() {
        let ca = Ca::generate("CA", NOW, DAY).unwrap();
        let who = AgentIdentity {
            site_id: SiteId::new(1),
            equipment_id: EquipmentId::new(1),
        };
        let e = ca.issue("not a csr", who, 1, NOW, DAY).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the certificate signing request is not valid"),
            "{e}"
        );
        // A request whose signature does not match its key.
        let (_, csr) = new_key_and_csr().unwrap();
        let (_, p) = x509_parser::pem::parse_x509_pem(csr.as_bytes()).unwrap();
        let mut der = p.contents;
        let n = der.len();
        der[n - 3] ^= 0x55;
        let tampered = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            data_encoding::BASE64.encode(&der)
        );
        assert!(matches!(
            ca.issue(&tampered, who, 1, NOW, DAY),
            Err(CaError::BadCsr(_))
        ));
        assert!(identity_of(b"garbage").is_err());
    }
}
