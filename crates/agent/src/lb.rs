//! Load-balancer health: per-backend up/down state with rise/fall thresholds (pure), and
//! the nft transaction that points a pool's map at the healthy backends only.
//!
//! The compiled ruleset sends a virtual service through a map keyed by a random number:
//!
//! ```text
//! map lb_web { typeof numgen random mod 1000 : ip daddr . tcp dport; flags interval; }
//! ... ip daddr 198.51.100.1 tcp dport 80 dnat ip to numgen random mod 1000 map @lb_web
//! ```
//!
//! The agent fills `[0, modulus)` with one interval per healthy backend, sized by weight,
//! in one transaction (`flush map` + `add element`), so a packet never sees a half-made map.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// The numgen modulus the compiled rule uses for pools (keys `0..LB_MODULUS`).
pub const LB_MODULUS: u32 = 1000;

/// One backend of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub addr: SocketAddr,
    pub weight: u32,
}

/// How a backend is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A TCP connection to the backend's address succeeds.
    Tcp,
    /// `GET path` answers with a 2xx or 3xx status.
    Http { path: String },
}

/// Thresholds: `rise` consecutive successes bring a backend up, `fall` failures take it
/// down. The first result of a backend decides its state directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub rise: u32,
    pub fall: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct One {
    up: Option<bool>,
    streak: u32,
}

/// Up/down state of every backend of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    th: Thresholds,
    backends: Vec<One>,
}

impl Health {
    pub fn new(backends: usize, th: Thresholds) -> Health {
        Health {
            th: Thresholds {
                rise: th.rise.max(1),
                fall: th.fall.max(1),
            },
            backends: vec![One::default(); backends],
        }
    }

    /// Records one check result; true when the backend's state changed.
    pub fn record(&mut self, i: usize, ok: bool) -> bool {
        let b = &mut self.backends[i];
        match b.up {
            None => {
                b.up = Some(ok);
                b.streak = 0;
                true
            }
            Some(up) if up == ok => {
                b.streak = 0;
                false
            }
            Some(_) => {
                b.streak += 1;
                let need = if ok { self.th.rise } else { self.th.fall };
                if b.streak >= need {
                    b.up = Some(ok);
                    b.streak = 0;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether backend `i` is up (false until its first result).
    pub fn is_up(&self, i: usize) -> bool {
        self.backends[i].up == Some(true)
    }

    /// Indexes of the backends that are up.
    pub fn up(&self) -> Vec<usize> {
        (0..self.backends.len())
            .filter(|&i| self.is_up(i))
            .collect()
    }
}

/// Splits `[0, modulus)` over the given backends by weight: one `(lo, hi, backend)` each
/// (inclusive bounds), in order, covering every key once. Zero-weight backends get none.
pub fn spread(backends: &[Backend], modulus: u32) -> Vec<(u32, u32, Backend)> {
    let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
    if total == 0 || modulus == 0 {
        return vec![];
    }
    let mut out = Vec::new();
    let mut acc: u64 = 0;
    let mut lo: u32 = 0;
    for b in backends {
        acc += u64::from(b.weight);
        let hi = ((acc * u64::from(modulus)) / total) as u32;
        if hi > lo {
            out.push((lo, hi - 1, *b));
            lo = hi;
        }
    }
    out
}

/// The nft transaction that makes `map` (in `inet mamori`) point at `healthy` only.
pub fn render_update(map: &str, healthy: &[Backend], modulus: u32) -> String {
    let mut s = format!("flush map inet mamori {map}\n");
    let parts = spread(healthy, modulus);
    if !parts.is_empty() {
        let _ = write!(s, "add element inet mamori {map} {{ ");
        for (i, (lo, hi, b)) in parts.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let key = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            };
            let _ = write!(s, "{key} : {} . {}", b.addr.ip(), b.addr.port());
        }
        s.push_str(" }\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str, weight: u32) -> Backend {
        Backend {
            addr: s.parse().unwrap(),
            weight,
        }
    }

    #[test]
    fn first_result_decides_then_thresholds_apply() {
        let mut h = Health::new(1, Thresholds { rise: 2, fall: 2 });
        assert!(!h.is_up(0));
        assert!(h.record(0, true));
        assert!(h.is_up(0));
        assert!(!h.record(0, false));
        assert!(h.is_up(0), "one failure is not enough with fall = 2");
        assert!(!h.record(0, true));
        assert!(!h.record(0, false));
        assert!(h.record(0, false));
        assert!(!h.is_up(0));
        assert!(!h.record(0, true));
        assert!(h.record(0, true));
        assert!(h.is_up(0));
    }

    #[test]
    fn spread_follows_weights_and_covers_the_range() {
        let parts = spread(&[b("203.0.113.11:80", 1), b("203.0.113.12:80", 3)], 1000);
        assert_eq!(parts[0].0, 0);
        assert_eq!(parts[0].1, 249);
        assert_eq!(parts[1].0, 250);
        assert_eq!(parts[1].1, 999);
    }

    #[test]
    fn render_update_flushes_then_fills_in_one_script() {
        let s = render_update(
            "lb_web",
            &[b("203.0.113.11:8080", 1), b("203.0.113.12:8080", 1)],
            1000,
        );
        assert_eq!(
            s,
            "flush map inet mamori lb_web\nadd element inet mamori lb_web { 0-499 : 203.0.113.11 . 8080, 500-999 : 203.0.113.12 . 8080 }\n"
        );
        assert_eq!(
            render_update("lb_web", &[], 1000),
            "flush map inet mamori lb_web\n"
        );
    }

    proptest! {
        #[test]
        fn spread_is_a_partition(weights in proptest::collection::vec(0u32..1000, 0..20), modulus in 1u32..5000) {
            let backends: Vec<Backend> = weights.iter().enumerate()
                .map(|(i, w)| b(&format!("203.0.113.{}:80", i + 1), *w)).collect();
            let parts = spread(&backends, modulus);
            let total: u32 = weights.iter().sum();
            if total == 0 {
                prop_assert!(parts.is_empty());
            } else {
                let mut next = 0;
                for (lo, hi, _) in &parts {
                    prop_assert_eq!(*lo, next);
                    prop_assert!(hi >= lo);
                    next = hi + 1;
                }
                prop_assert_eq!(next, modulus);
            }
        }
    }
}
