//! The state of one check: results come in one by one (a probe round's verdict, or one
//! sample of a value) and leave as state changes.
//!
//! - Debounce: the state turns `Problem` after `bad_after` bad results in a row and
//!   back to `Ok` after `good_after` good ones in a row; until the first change it is
//!   `Pending`, which turns whichever way the first run of results settles.
//! - Values: a sample is bad while above `limit`; once in `Problem`, it is good only at
//!   or below `clear` (`clear <= limit`, hysteresis), so a value hovering at the limit
//!   does not bounce.
//! - Flap damping (as Nagios measures it): over the last `window` raw results, the share
//!   of results that differ from the one before, judged once the window is full (a
//!   new check's first results are not a pattern). Above `high` the check is flapping:
//!   its state changes are still kept but flagged `damped` (no notification); below
//!   `low` it stops flapping, and the state it settled in is reported once.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Ok,
    Problem,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Debounce {
    pub bad_after: u32,
    pub good_after: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flap {
    /// How many recent results are looked at (at least 2).
    pub window: usize,
    /// Share of changes (0..=1) above which the check is flapping.
    pub high: f64,
    /// Share of changes below which it stops flapping.
    pub low: f64,
}

impl Default for Flap {
    fn default() -> Self {
        Flap {
            window: 21,
            high: 0.5,
            low: 0.25,
        }
    }
}

/// A value over its threshold for N samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub limit: f64,
    /// Back to good at or below this.
    pub clear: f64,
}

/// What changed after one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The state became this; `damped` while the check flaps.
    State {
        state: State,
        damped: bool,
    },
    FlappingStarted,
    /// Flapping ended with the check in this state.
    FlappingStopped {
        state: State,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("a check needs at least 1 bad and 1 good result to change state")]
    ZeroRun,
    #[error("the flap window must hold at least 2 results, and 0 <= low <= high <= 1")]
    BadFlap,
    #[error("a threshold's clear value must not be above its limit")]
    ClearAboveLimit,
}

#[derive(Debug, Clone)]
pub struct Check {
    debounce: Debounce,
    flap: Flap,
    threshold: Option<Threshold>,
    state: State,
    run_bad: u32,
    run_good: u32,
    history: VecDeque<bool>,
    flapping: bool,
}

impl Check {
    /// A check on a verdict (up/down).
    pub fn new(debounce: Debounce, flap: Flap) -> Result<Check, ConfigError> {
        if debounce.bad_after == 0 || debounce.good_after == 0 {
            return Err(ConfigError::ZeroRun);
        }
        if flap.window < 2 || !(0.0 <= flap.low && flap.low <= flap.high && flap.high <= 1.0) {
            return Err(ConfigError::BadFlap);
        }
        Ok(Check {
            debounce,
            flap,
            threshold: None,
            state: State::Pending,
            run_bad: 0,
            run_good: 0,
            history: VecDeque::with_capacity(flap.window),
            flapping: false,
        })
    }

    /// A check on a value: bad above the threshold for `debounce.bad_after` samples.
    pub fn on_value(
        debounce: Debounce,
        flap: Flap,
        threshold: Threshold,
    ) -> Result<Check, ConfigError> {
        // NaN in either is refused too.
        if !matches!(
            threshold.clear.partial_cmp(&threshold.limit),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ) {
            return Err(ConfigError::ClearAboveLimit);
        }
        let mut c = Check::new(debounce, flap)?;
        c.threshold = Some(threshold);
        Ok(c)
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn flapping(&self) -> bool {
        self.flapping
    }

    /// Share of changes over the window (0 when fewer than 2 results).
    pub fn change_share(&self) -> f64 {
        if self.history.len() < 2 {
            return 0.0;
        }
        let changes = self
            .history
            .iter()
            .zip(self.history.iter().skip(1))
            .filter(|(a, b)| a != b)
            .count();
        changes as f64 / (self.history.len() - 1) as f64
    }

    /// One value sample (a check made with [`Check::on_value`]); a NaN is bad.
    pub fn sample(&mut self, value: f64) -> Vec<Change> {
        let good = match self.threshold {
            Some(t) if self.state == State::Problem => value <= t.clear,
            Some(t) => value <= t.limit,
            None => !value.is_nan(),
        };
        self.result(good)
    }

    /// One verdict: `true` good, `false` bad.
    pub fn result(&mut self, good: bool) -> Vec<Change> {
        let mut out = Vec::new();
        if good {
            self.run_good = self.run_good.saturating_add(1);
            self.run_bad = 0;
        } else {
            self.run_bad = self.run_bad.saturating_add(1);
            self.run_good = 0;
        }
        if self.history.len() == self.flap.window {
            self.history.pop_front();
        }
        self.history.push_back(good);
        let share = self.change_share();
        let was_flapping = self.flapping;
        if !self.flapping && self.history.len() == self.flap.window && share > self.flap.high {
            self.flapping = true;
            out.push(Change::FlappingStarted);
        }
        let next = if self.run_bad >= self.debounce.bad_after {
            State::Problem
        } else if self.run_good >= self.debounce.good_after {
            State::Ok
        } else {
            self.state
        };
        if next != self.state {
            self.state = next;
            out.push(Change::State {
                state: next,
                damped: self.flapping,
            });
        }
        if was_flapping && share < self.flap.low {
            self.flapping = false;
            out.push(Change::FlappingStopped { state: self.state });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(bad: u32, good: u32) -> Check {
        Check::new(
            Debounce {
                bad_after: bad,
                good_after: good,
            },
            Flap::default(),
        )
        .unwrap()
    }

    fn states(c: &mut Check, results: &[bool]) -> Vec<Change> {
        results.iter().flat_map(|&r| c.result(r)).collect()
    }

    #[test]
    fn debounce_needs_runs() {
        let mut c = check(3, 2);
        assert_eq!(c.state(), State::Pending);
        assert_eq!(
            states(&mut c, &[true, true]),
            vec![Change::State {
                state: State::Ok,
                damped: false
            }]
        );
        assert!(states(&mut c, &[false, false, true, false, false]).is_empty());
        assert_eq!(
            states(&mut c, &[false]),
            vec![Change::State {
                state: State::Problem,
                damped: false
            }]
        );
        assert!(states(&mut c, &[true, false, true]).is_empty());
        assert_eq!(c.state(), State::Problem);
    }

    #[test]
    fn threshold_over_for_n_samples_with_hysteresis() {
        let mut c = Check::on_value(
            Debounce {
                bad_after: 3,
                good_after: 2,
            },
            Flap::default(),
            Threshold {
                limit: 90.0,
                clear: 80.0,
            },
        )
        .unwrap();
        for v in [10.0, 20.0] {
            c.sample(v);
        }
        assert_eq!(c.state(), State::Ok);
        for v in [95.0, 96.0] {
            assert!(c.sample(v).is_empty());
        }
        assert_eq!(
            c.sample(91.0),
            vec![Change::State {
                state: State::Problem,
                damped: false
            }]
        );
        // 85 is under the limit but above the clear value: still bad.
        for v in [85.0, 85.0, 85.0] {
            assert!(c.sample(v).is_empty());
        }
        c.sample(80.0);
        assert_eq!(
            c.sample(79.0),
            vec![Change::State {
                state: State::Ok,
                damped: false
            }]
        );
        assert!(
            c.sample(f64::NAN).is_empty(),
            "a NaN is bad, one is not a run"
        );
        assert_eq!(
            Check::on_value(
                Debounce {
                    bad_after: 1,
                    good_after: 1
                },
                Flap::default(),
                Threshold {
                    limit: 1.0,
                    clear: 2.0
                }
            )
            .unwrap_err(),
            ConfigError::ClearAboveLimit
        );
    }

    #[test]
    fn flapping_damps_then_reports_the_settled_state() {
        let mut c = check(1, 1);
        let mut all = Vec::new();
        for i in 0..20 {
            all.extend(c.result(i % 2 == 0));
        }
        assert!(!c.flapping(), "not judged before the window of 21 is full");
        for i in 20..26 {
            all.extend(c.result(i % 2 == 0));
        }
        assert!(c.flapping());
        assert!(all.contains(&Change::FlappingStarted));
        let after_start = all
            .iter()
            .skip_while(|c| **c != Change::FlappingStarted)
            .skip(1)
            .collect::<Vec<_>>();
        assert!(
            after_start
                .iter()
                .all(|c| matches!(c, Change::State { damped: true, .. })),
            "{after_start:?}"
        );
        let mut end = Vec::new();
        for _ in 0..30 {
            end.extend(c.result(false));
        }
        assert!(!c.flapping());
        assert_eq!(
            end.last(),
            Some(&Change::FlappingStopped {
                state: State::Problem
            })
        );
    }

    proptest! {
        /// The state is Problem exactly when the last `bad_after` results were bad,
        /// Ok exactly when the last `good_after` were good, else unchanged.
        #[test]
        fn state_follows_the_last_runs(
            bad in 1u32..5, good in 1u32..5,
            results in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let mut c = check(bad, good);
            let mut expected = State::Pending;
            for (i, &r) in results.iter().enumerate() {
                let changes = c.result(r);
                let upto = &results[..=i];
                let tail = |n: u32, v: bool| upto.len() >= n as usize
                    && upto[upto.len() - n as usize..].iter().all(|&x| x == v);
                let before = expected;
                if tail(bad, false) { expected = State::Problem }
                else if tail(good, true) { expected = State::Ok }
                prop_assert_eq!(c.state(), expected);
                let reported = changes.iter().filter(|c| matches!(c, Change::State { .. })).count();
                prop_assert_eq!(reported, usize::from(before != expected));
            }
        }

        /// Flapping starts and stops alternately, and while flapping every state change
        /// is damped.
        #[test]
        fn flapping_marks_alternate_and_damp(
            results in proptest::collection::vec(any::<bool>(), 0..300),
        ) {
            let mut c = check(1, 1);
            let mut flapping = false;
            for r in results {
                for ch in c.result(r) {
                    match ch {
                        Change::FlappingStarted => { prop_assert!(!flapping); flapping = true }
                        Change::FlappingStopped { state } => {
                            prop_assert!(flapping); flapping = false;
                            prop_assert_eq!(state, c.state());
                        }
                        Change::State { damped, .. } => prop_assert_eq!(damped, flapping),
                    }
                }
                prop_assert_eq!(flapping, c.flapping());
            }
        }
    }
}
