//! What guards the sign-in besides the account lock (which lives in the database): the
//! per-process throttle of attempts per source address and per account, and the notice
//! to the owner of an account that was locked. Time comes in as a value.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// Every sign-in step from one source address (password and TOTP code).
    Address(IpAddr),
    /// TOTP codes tried for one account, from anywhere.
    Account(i64),
}

const WINDOW_MS: i64 = 60_000;
const MAX_KEYS: usize = 100_000;

/// Sign-in attempts per key within a one-minute window. An attempt is checked and
/// counted in one step ([`Throttle::admit`]), before it is evaluated, so concurrent
/// attempts cannot all pass a check made before any of them is counted; an attempt that
/// succeeds is taken back ([`Throttle::forgive`]), so the count is of failures and of
/// attempts still being evaluated.
///
/// The counts are kept per center process: with several processes sharing one
/// database, each process admits its own limit (the account lock, kept in the
/// database, holds across all of them).
#[derive(Default)]
pub struct Throttle {
    inner: Mutex<HashMap<Key, (i64, u32)>>,
}

impl Throttle {
    /// Admits and counts one attempt for `key` when fewer than `limit` are counted in
    /// its current window; false (and nothing counted) otherwise.
    pub fn admit(&self, key: Key, now: i64, limit: u32) -> bool {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_KEYS {
            m.retain(|_, (start, _)| now - *start < WINDOW_MS);
        }
        let e = m.entry(key).or_insert((now, 0));
        if now - e.0 >= WINDOW_MS {
            *e = (now, 0);
        }
        if e.1 >= limit {
            return false;
        }
        e.1 += 1;
        true
    }

    /// Takes back one admitted attempt of `key` (it succeeded).
    pub fn forgive(&self, key: Key, now: i64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = m.get_mut(&key)
            && now - e.0 < WINDOW_MS
        {
            e.1 = e.1.saturating_sub(1);
        }
    }
}

/// Where the owner of a locked account is told: the SMTP relay (`host:port`) and the
/// sender address.
#[derive(Debug, Clone)]
pub struct Mail {
    pub smtp: String,
    pub from: String,
}

/// The sign-in's guards that live outside the database, handed to the sign-in use
/// cases by the HTTP layer.
pub struct Guard<'a> {
    pub throttle: &'a Throttle,
    /// TOTP codes tried per account per minute.
    pub totp_per_account: u32,
    /// `None`: locks are audited but nobody is told by e-mail.
    pub mail: Option<Mail>,
}

impl Guard<'static> {
    /// No throttle and no e-mail (benchmark seeders, tests of other things).
    pub fn none() -> Guard<'static> {
        static UNUSED: std::sync::OnceLock<Throttle> = std::sync::OnceLock::new();
        Guard {
            throttle: UNUSED.get_or_init(Throttle::default),
            totp_per_account: u32::MAX,
            mail: None,
        }
    }
}

/// The lock notice: subject and body, in Japanese and English. `until` is in ms.
pub fn lock_notice(email: &str, source: &str, until: i64) -> (String, String) {
    let until_text = jiff::Timestamp::from_millisecond(until)
        .map(|t| {
            jiff::tz::offset(9)
                .to_datetime(t)
                .strftime("%Y-%m-%d %H:%M JST")
                .to_string()
        })
        .unwrap_or_else(|_| until.to_string());
    let subject = "Mamori: アカウントをロックしました / Your account has been locked".to_string();
    let body = format!(
        "{email} のアカウントは、サインインの失敗が続いたため {until_text} までロックされています。\n\
         最後の試行の接続元: {source}\n\
         心当たりがない場合は、管理者に連絡してください。ロックが解けるとまたサインインできます。\n\
         \n\
         The account {email} is locked until {until_text} after repeated failed sign-ins.\n\
         Last attempt from: {source}\n\
         If this was not you, tell your administrator. You can sign in again once the lock ends.\n"
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admit_counts_in_the_same_step_and_forgive_takes_back() {
        let t = Throttle::default();
        let k = Key::Address([192, 0, 2, 1].into());
        assert!(t.admit(k, 0, 2));
        assert!(t.admit(k, 1, 2));
        assert!(
            !t.admit(k, 2, 2),
            "the third attempt of the window is refused"
        );
        t.forgive(k, 3);
        assert!(t.admit(k, 4, 2), "a success frees its place");
        assert!(!t.admit(k, 5, 2));
        // Another key has its own count; a new window starts afresh.
        assert!(t.admit(Key::Account(7), 5, 2));
        assert!(t.admit(k, WINDOW_MS, 2));
    }

    #[test]
    fn lock_notice_names_the_account_and_the_end_in_both_languages() {
        let (subject, body) = lock_notice("a@example.jp", "192.0.2.7", 1_775_003_400_000);
        assert!(subject.contains("ロック") && subject.contains("locked"));
        assert!(body.contains("a@example.jp") && body.contains("192.0.2.7"));
        assert!(body.contains("2026-04-01 09:30 JST"), "{body}");
    }
}
