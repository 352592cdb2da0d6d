//! Load-balancer health: per-backend up/down state with rise/fall thresholds (pure), and
//! what to check for each backend of a policy's load balancer. The map update itself is
//! rendered by the policy crate ([`mamori_policy::lb_update`]): one `nft -f` transaction
//! that replaces the balancer's DNAT rule with one over the healthy backends only.

use std::net::SocketAddr;

use mamori_policy as policy;

/// How a backend is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A TCP connection to the backend's address succeeds.
    Tcp,
    /// `GET path` answers with the expected status (`None`: any 2xx or 3xx).
    Http { path: String, expect: Option<u16> },
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

/// What to check for each backend of a load balancer, and how often: the address to
/// probe (the backend, or the health check's own port), the check, the interval (ms).
pub fn checks_of(lb: &policy::LoadBalancer) -> (Vec<SocketAddr>, Check, u64) {
    let (port, check) = match &lb.health {
        policy::HealthCheck::Tcp { port, .. } => (*port, Check::Tcp),
        policy::HealthCheck::Http {
            port,
            path,
            expect_status,
            ..
        } => (
            *port,
            Check::Http {
                path: path.clone(),
                expect: *expect_status,
            },
        ),
    };
    let targets = lb
        .backends
        .iter()
        .map(|b| SocketAddr::new(b.address, port.unwrap_or(b.port)))
        .collect();
    (targets, check, lb.health.interval_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    proptest::proptest! {
        #[test]
        fn a_run_of_equal_results_decides_the_state(
            results in proptest::collection::vec(proptest::bool::ANY, 0..60),
            rise in 1u32..4,
            fall in 1u32..4,
        ) {
            let mut h = Health::new(1, Thresholds { rise, fall });
            for r in &results {
                h.record(0, *r);
            }
            let need = rise.max(fall) as usize;
            if results.len() >= need {
                let tail = &results[results.len() - need..];
                if tail.iter().all(|r| *r == tail[0]) {
                    proptest::prop_assert_eq!(h.is_up(0), tail[0]);
                }
            }
        }
    }
}
