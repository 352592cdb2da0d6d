//! Time as a value: the center reads "now" from a [`Clock`] it is given, never from the
//! wall clock. The binary gives the system clock (its one clock adapter,
//! `mamori_center::clock`); tests give a [`Clock::fixed`] one that they move by hand, or
//! move a running one forward with [`Clock::advance`] (a TOTP step without waiting).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where the current time comes from.
pub trait TimeSource: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// A shared handle to the center's time; cheap to clone, clones share the time.
#[derive(Clone)]
pub struct Clock(Inner);

#[derive(Clone)]
enum Inner {
    /// A time source and how far the clock has been moved ahead of it.
    Source(Arc<dyn TimeSource>, Arc<AtomicI64>),
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// A clock over a time source (the system clock adapter).
    pub fn new(source: Arc<dyn TimeSource>) -> Clock {
        Clock(Inner::Source(source, Arc::new(AtomicI64::new(0))))
    }

    /// A clock that stands at `ms` until moved with [`Clock::set`] or
    /// [`Clock::advance`] (tests).
    pub fn fixed(ms: i64) -> Clock {
        Clock(Inner::Fixed(Arc::new(AtomicI64::new(ms))))
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Inner::Source(s, ahead) => s.now_ms().saturating_add(ahead.load(Ordering::SeqCst)),
            Inner::Fixed(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Whether this clock is fixed (moved by hand).
    pub fn is_fixed(&self) -> bool {
        matches!(self.0, Inner::Fixed(_))
    }

    /// Moves a fixed clock to `ms`; a clock over a time source is not moved.
    pub fn set(&self, ms: i64) {
        if let Inner::Fixed(t) = &self.0 {
            t.store(ms, Ordering::SeqCst);
        }
    }

    /// Moves the clock forward by `ms`: a fixed one to a new time; one over a time
    /// source runs on, `ms` ahead of it (tests; the center itself never moves its clock).
    pub fn advance(&self, ms: i64) {
        match &self.0 {
            Inner::Fixed(t) | Inner::Source(_, t) => {
                t.fetch_add(ms, Ordering::SeqCst);
            }
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_fixed() { "fixed" } else { "source" };
        write!(f, "Clock({kind}, {})", self.now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_by_hand_and_clones_share_it() {
        let c = Clock::fixed(1_000);
        let d = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        c.advance(30_000);
        assert_eq!(d.now_ms(), 31_000);
        d.set(5);
        assert_eq!(c.now_ms(), 5);
    }

    struct Ten;
    impl TimeSource for Ten {
        fn now_ms(&self) -> i64 {
            10
        }
    }

    #[test]
    fn a_source_clock_ignores_set_and_runs_ahead_when_advanced() {
        let c = Clock::new(Arc::new(Ten));
        let d = c.clone();
        c.set(99);
        assert_eq!(c.now_ms(), 10);
        c.advance(30_000);
        assert_eq!(d.now_ms(), 30_010);
        assert!(!c.is_fixed());
    }
}
