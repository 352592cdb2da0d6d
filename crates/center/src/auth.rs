//! Credentials: argon2id password hashes, TOTP (RFC 6238, SHA-1, 6 digits, 30 s), random
//! tokens (sessions, API tokens, setup links, CSRF) stored only as SHA-256 hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the system random generator failed: {0}")]
    Random(String),
}

fn argon() -> Argon2<'static> {
    // OWASP's argon2id minimum: m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that a missing account
/// costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// Password hashing is CPU work of tens of milliseconds: it runs on the blocking pool,
/// never on the async worker threads that serve every other request, and at most one
/// computation per core at a time (the others wait their turn, asleep).
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static S: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs `f` (an argon2 computation) on the blocking pool when a hashing slot is free.
async fn off_the_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// [`hash_password`] off the async worker threads.
pub async fn hash_password_async(password: &str) -> Result<String, AuthError> {
    let password = password.to_string();
    off_the_runtime(move || hash_password(&password)).await?
}

/// [`verify_password`] off the async worker threads; `None` verifies against
/// [`dummy_hash`] (an account without a password, a missing or a locked one) and is
/// false, taking the same time as a wrong password.
pub async fn verify_password_async(password: &str, hash: Option<&str>) -> bool {
    let password = password.to_string();
    let hash = hash.map(str::to_string);
    off_the_runtime(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            verify_password(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

pub fn fill_random(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Random(e.to_string()))
}

/// A fresh random token: 32 bytes, URL-safe base64 without padding.
pub fn new_token() -> Result<String, AuthError> {
    let mut b = [0u8; 32];
    fill_random(&mut b)?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&b))
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// A new TOTP secret (160 bits), base32 without padding as authenticator apps expect.
pub fn new_totp_secret() -> Result<String, AuthError> {
    let mut b = [0u8; 20];
    fill_random(&mut b)?;
    Ok(data_encoding::BASE32_NOPAD.encode(&b))
}

pub fn totp_uri(secret: &str, account: &str) -> String {
    let account: String = account
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "otpauth://totp/Mamori:{account}?secret={secret}&issuer=Mamori&algorithm=SHA1&digits=6&period=30"
    )
}

/// A QR code of `uri` (an otpauth URI) as an inline SVG element: 4 px per module with
/// the standard 4-module quiet zone, black on white. `None` when the text is too long
/// for a QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .module_dimensions(4, 4)
        .build();
    // Inline in HTML: no XML prolog; an accessible name.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"otpauth QR code\" ",
        1,
    ))
}

/// The RFC 6238 code for `secret` (base32) at Unix time `unix`.
pub fn totp_code(secret: &str, unix: i64) -> Option<String> {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .ok()?;
    let counter = (unix.max(0) / 30) as u64;
    Some(hotp(&key, counter))
}

fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// Accepts the code of the current step and of one step either side (clock drift).
pub fn totp_verify(secret: &str, code: &str, unix: i64) -> bool {
    totp_step(secret, code, unix).is_some()
}

/// The time step (Unix time / 30) whose code `code` is, among the current step and one
/// step either side; `None` when it matches none of them. The caller remembers the
/// step so that a code is accepted once only.
pub fn totp_step(secret: &str, code: &str, unix: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for d in [-30, 0, 30] {
        let t = unix + d;
        if let Some(c) = totp_code(secret, t)
            && constant_time_eq(c.as_bytes(), code.as_bytes())
        {
            found = Some(t.max(0) / 30);
        }
    }
    found
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back out of the SVG's path (`M{x} {y}h{w}v{h}H{x}V{y}`
    /// rectangles in pixels) into a grid of `n` × `n` modules, quiet zone removed.
    fn modules_of(svg: &str, n: usize) -> Vec<bool> {
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut grid = vec![false; n * n];
        for rect in d.split('M').filter(|r| !r.is_empty()) {
            let nums: Vec<u32> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().unwrap())
                .collect();
            let [x, y, w, h] = [nums[0], nums[1], nums[2], nums[3]];
            assert!(
                x % 4 == 0 && y % 4 == 0 && w % 4 == 0 && h % 4 == 0,
                "{rect}"
            );
            for my in y / 4..(y + h) / 4 {
                for mx in x / 4..(x + w) / 4 {
                    let (mx, my) = (mx as usize - 4, my as usize - 4);
                    assert!(mx < n && my < n, "a module outside the symbol: {rect}");
                    grid[my * n + mx] = true;
                }
            }
        }
        grid
    }

    #[test]
    fn qr_svg_draws_exactly_the_code_of_the_uri() {
        let uri = totp_uri("JBSWY3DPEHPK3PXP", "officer@alpha.example.jp");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        let model = qrcode::QrCode::with_error_correction_level(&uri, qrcode::EcLevel::M).unwrap();
        let n = model.width();
        assert!(svg.contains(&format!("width=\"{}\"", (n + 8) * 4)), "{svg}");
        let want: Vec<bool> = model
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        assert_eq!(modules_of(&svg, n), want);
        // Another URI gives another picture.
        let other = totp_uri("JBSWY3DPEHPK3PXQ", "officer@alpha.example.jp");
        assert_ne!(qr_svg(&other).unwrap(), svg);
    }

    #[test]
    fn totp_matches_rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", truncated to 6 digits.
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1111111109).unwrap(), "081804");
        assert_eq!(totp_code(&secret, 1234567890).unwrap(), "005924");
        assert_eq!(totp_code(&secret, 20000000000).unwrap(), "353130");
        assert!(totp_verify(&secret, "287082", 59 + 30));
        assert!(!totp_verify(&secret, "287082", 59 + 90));
        assert!(!totp_verify(&secret, "28708", 59));
    }

    /// On a runtime with one thread, another task keeps running while a password is
    /// verified: the computation is not on the runtime's thread. (Were argon2 run inline,
    /// the verification would finish before the other task is polled at all.)
    #[test]
    fn verification_leaves_the_runtime_thread_free() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let h = hash_password_async("correct horse").await.unwrap();
            let ticks = std::sync::atomic::AtomicU64::new(0);
            let done = std::sync::atomic::AtomicBool::new(false);
            let verify = async {
                let ok = verify_password_async("correct horse", Some(&h)).await;
                let seen = ticks.load(std::sync::atomic::Ordering::SeqCst);
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                (ok, seen)
            };
            let ticker = async {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            };
            let ((ok, seen), ()) = tokio::join!(verify, ticker);
            assert!(ok);
            assert!(seen > 0, "the runtime thread was busy hashing");
            assert!(!verify_password_async("wrong", Some(&h)).await);
            assert!(!verify_password_async("correct horse", None).await);
        });
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
