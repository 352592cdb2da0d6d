//! The center's one clock adapter: the only place that reads the wall clock. Everything
//! else takes the time from the [`Clock`] in the use cases' settings.

use std::sync::Arc;

pub use mamori_center_model::clock::{Clock, TimeSource};

/// The system's wall clock.
struct System;

impl TimeSource for System {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The system clock.
pub fn system() -> Clock {
    Clock::new(Arc::new(System))
}
