//! Values derived from successive readings of counters: rates that survive a counter's
//! wrap, and the share of busy CPU time from raw tick counters.

/// The per-second rate of a counter of `bits` bits (32 or 64) read as `prev` then
/// `cur`, `secs` apart. A counter that went down is taken to have wrapped once (the
/// only reading a 32/64-bit counter allows); `None` when no time passed, or when the
/// counter went down by more than a wrap could explain (an agent restart: no rate).
pub fn counter_rate(prev: u64, cur: u64, bits: u32, secs: f64) -> Option<f64> {
    if secs <= 0.0 || !secs.is_finite() || !(bits == 32 || bits == 64) {
        return None;
    }
    let delta = if cur >= prev {
        cur - prev
    } else {
        let max = if bits == 32 {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        if prev > max {
            return None;
        }
        (max - prev).wrapping_add(cur).wrapping_add(1)
    };
    Some(delta as f64 / secs)
}

/// Raw CPU tick counters (UCD-SNMP-MIB ssCpuRaw*, 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTicks {
    pub user: u32,
    pub nice: u32,
    pub system: u32,
    pub idle: u32,
    pub wait: u32,
}

/// Busy share (0..=100) between two readings: (user + nice + system) over all five,
/// each difference taken modulo 2^32. `None` when no tick passed.
pub fn cpu_busy_percent(prev: &CpuTicks, cur: &CpuTicks) -> Option<f64> {
    let d = |a: u32, b: u32| f64::from(b.wrapping_sub(a));
    let busy = d(prev.user, cur.user) + d(prev.nice, cur.nice) + d(prev.system, cur.system);
    let total = busy + d(prev.idle, cur.idle) + d(prev.wait, cur.wait);
    (total > 0.0).then(|| busy * 100.0 / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_and_wraps() {
        assert_eq!(counter_rate(100, 400, 64, 3.0), Some(100.0));
        assert_eq!(
            counter_rate(u64::from(u32::MAX) - 9, 10, 32, 1.0),
            Some(20.0)
        );
        assert_eq!(counter_rate(u64::MAX, 0, 64, 1.0), Some(1.0));
        assert_eq!(counter_rate(5, 5, 64, 0.0), None);
        assert_eq!(counter_rate(u64::from(u32::MAX) + 5, 3, 32, 1.0), None);
    }

    #[test]
    fn cpu_share() {
        let a = CpuTicks {
            user: 100,
            nice: 0,
            system: 50,
            idle: 800,
            wait: 50,
        };
        let b = CpuTicks {
            user: 160,
            nice: 0,
            system: 70,
            idle: 900,
            wait: 70,
        };
        assert_eq!(cpu_busy_percent(&a, &b), Some(40.0));
        assert_eq!(cpu_busy_percent(&a, &a), None);
    }

    proptest! {
        /// Adding `d` ticks to a 32-bit counter, wrapping or not, gives rate d/secs.
        #[test]
        fn a_wrap_is_read_as_one(start in any::<u32>(), d in 0u32..u32::MAX, secs in 1u32..1000) {
            let cur = start.wrapping_add(d);
            let r = counter_rate(start.into(), cur.into(), 32, secs.into()).unwrap();
            prop_assert!((r - f64::from(d) / f64::from(secs)).abs() < 1e-6);
        }

        #[test]
        fn busy_share_is_a_percentage(
            a in any::<[u32; 5]>(), d in proptest::array::uniform5(0u32..1_000_000),
        ) {
            let t = |x: [u32; 5]| CpuTicks { user: x[0], nice: x[1], system: x[2], idle: x[3], wait: x[4] };
            let b = [0, 1, 2, 3, 4].map(|i| a[i].wrapping_add(d[i]));
            if let Some(p) = cpu_busy_percent(&t(a), &t(b)) {
                prop_assert!((0.0..=100.0).contains(&p));
            } else {
                prop_assert_eq!(d, [0; 5]);
            }
        }
    }
}
