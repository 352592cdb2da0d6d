//! Time-series downsampling, as pure functions over samples: raw samples are kept 48
//! hours, 5-minute min/avg/max buckets 35 days, hourly buckets 13 months.
//!
//! Buckets are aligned on multiples of their width since the Unix epoch (UTC). A
//! bucket is made once its period has ended; [`Series::compact`] rolls up what has
//! ended and drops what is past its retention, and running it again changes nothing.
//! A sample that arrives for a period already rolled up stays in the raw samples but
//! is not added to the buckets (it is counted in [`Series::late`]). NaN samples are
//! not values and are skipped by the buckets.

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp, ToSpan};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub value: f64,
}

/// min/avg/max over one period (`avg = sum / count`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub start: Timestamp,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
}

impl Bucket {
    pub fn avg(&self) -> f64 {
        self.sum / self.count as f64
    }

    fn add(&mut self, other: &Bucket) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }
}

pub const FIVE_MINUTES: i64 = 300;
pub const HOUR: i64 = 3600;
pub const RAW_KEEP: SignedDuration = SignedDuration::from_hours(48);
pub const FIVE_MINUTE_KEEP: SignedDuration = SignedDuration::from_hours(35 * 24);
pub const HOURLY_MONTHS: i32 = 13;

/// The start of the `width`-second period holding `at`.
pub fn floor(at: Timestamp, width: i64) -> Timestamp {
    let s = at.as_second().div_euclid(width) * width;
    Timestamp::from_second(s).unwrap_or(at)
}

/// Buckets of `width` seconds over samples in any order, sorted by start.
pub fn downsample(samples: &[Sample], width: i64) -> Vec<Bucket> {
    let buckets: Vec<Bucket> = samples
        .iter()
        .filter(|s| !s.value.is_nan())
        .map(|s| Bucket {
            start: s.at,
            min: s.value,
            max: s.value,
            sum: s.value,
            count: 1,
        })
        .collect();
    merge(&buckets, width)
}

/// Narrow buckets merged into `width`-second ones (5-minute into hourly).
pub fn merge(buckets: &[Bucket], width: i64) -> Vec<Bucket> {
    let mut sorted: Vec<Bucket> = buckets.to_vec();
    sorted.sort_by_key(|b| b.start);
    let mut out: Vec<Bucket> = Vec::new();
    for b in sorted {
        let start = floor(b.start, width);
        match out.last_mut() {
            Some(last) if last.start == start => last.add(&b),
            _ => out.push(Bucket { start, ..b }),
        }
    }
    out
}

/// One metric's stored series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub raw: Vec<Sample>,
    pub five_minute: Vec<Bucket>,
    pub hourly: Vec<Bucket>,
    /// Raw samples before this are rolled into 5-minute buckets.
    pub five_minute_until: Option<Timestamp>,
    /// 5-minute buckets before this are rolled into hourly ones.
    pub hourly_until: Option<Timestamp>,
    /// Samples that came after their period was rolled up.
    pub late: u64,
}

impl Series {
    pub fn push(&mut self, s: Sample) {
        if self.five_minute_until.is_some_and(|u| s.at < u) {
            self.late += 1;
        }
        self.raw.push(s);
    }

    /// Rolls up every period that has ended by `now` and drops what is past retention.
    pub fn compact(&mut self, now: Timestamp) {
        let cut5 = floor(now, FIVE_MINUTES);
        let from5 = self.five_minute_until;
        let fresh: Vec<Sample> = self
            .raw
            .iter()
            .filter(|s| from5.is_none_or(|f| s.at >= f) && s.at < cut5)
            .copied()
            .collect();
        self.five_minute.extend(downsample(&fresh, FIVE_MINUTES));
        self.five_minute.sort_by_key(|b| b.start);
        self.five_minute_until = Some(from5.map_or(cut5, |f| f.max(cut5)));

        let cut_h = floor(now, HOUR);
        let from_h = self.hourly_until;
        let fresh: Vec<Bucket> = self
            .five_minute
            .iter()
            .filter(|b| from_h.is_none_or(|f| b.start >= f) && b.start < cut_h)
            .copied()
            .collect();
        self.hourly.extend(merge(&fresh, HOUR));
        self.hourly.sort_by_key(|b| b.start);
        self.hourly_until = Some(from_h.map_or(cut_h, |f| f.max(cut_h)));

        let raw_from = now - RAW_KEEP;
        self.raw.retain(|s| s.at >= raw_from);
        let five_from = now - FIVE_MINUTE_KEEP;
        self.five_minute.retain(|b| b.start >= five_from);
        let hourly_from = hourly_horizon(now);
        self.hourly.retain(|b| b.start >= hourly_from);
    }
}

/// `now` less 13 calendar months (UTC).
pub fn hourly_horizon(now: Timestamp) -> Timestamp {
    let dt = Offset::UTC.to_datetime(now);
    dt.checked_sub(HOURLY_MONTHS.months())
        .ok()
        .and_then(|d| Offset::UTC.to_timestamp(d).ok())
        .unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn five_minute_buckets_by_hand() {
        // 1_800_000_000 is 1_800_000_000 % 300 == 0: t(0) starts a bucket.
        let s = |at, value| Sample { at: t(at), value };
        let b = downsample(
            &[
                s(299, 4.0),
                s(0, 1.0),
                s(10, f64::NAN),
                s(300, 9.0),
                s(150, 7.0),
            ],
            300,
        );
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].start, b[0].min, b[0].max, b[0].count),
            (t(0), 1.0, 7.0, 3)
        );
        assert_eq!(b[0].avg(), 4.0);
        assert_eq!((b[1].start, b[1].avg(), b[1].count), (t(300), 9.0, 1));
    }

    #[test]
    fn retention_limits() {
        let mut series = Series::default();
        for i in 0..(50 * 12) {
            series.push(Sample {
                at: t(i * 300),
                value: i as f64,
            });
        }
        let now = t(50 * 3600);
        series.compact(now);
        assert!(series.raw.iter().all(|s| s.at >= now - RAW_KEEP));
        assert_eq!(series.raw.len(), 48 * 12);
        assert_eq!(series.five_minute.len(), 600);
        assert_eq!(series.hourly.len(), 50);
        let later = t(40 * 86_400);
        series.compact(later);
        assert!(series.raw.is_empty());
        assert!(series.five_minute.is_empty());
        assert_eq!(series.hourly.len(), 50);
        series.compact(t(400 * 86_400));
        assert!(series.hourly.is_empty(), "13 months is less than 400 days");
        series.push(Sample {
            at: t(0),
            value: 1.0,
        });
        assert_eq!(series.late, 1);
    }

    proptest! {
        /// Hourly buckets made from 5-minute buckets equal those made from the samples,
        /// and every bucket's min <= avg <= max with no sample lost.
        #[test]
        fn rollups_compose_and_keep_every_sample(
            raw in proptest::collection::vec((0i64..86_400 * 3, -1e6f64..1e6), 0..400),
        ) {
            let samples: Vec<Sample> = raw.iter().map(|&(s, v)| Sample { at: t(s), value: v }).collect();
            let five = downsample(&samples, FIVE_MINUTES);
            let via_five = merge(&five, HOUR);
            let direct = downsample(&samples, HOUR);
            prop_assert_eq!(via_five.len(), direct.len());
            for (a, b) in via_five.iter().zip(&direct) {
                prop_assert_eq!((a.start, a.min, a.max, a.count), (b.start, b.min, b.max, b.count));
                prop_assert!(close(a.sum, b.sum));
            }
            prop_assert_eq!(five.iter().map(|b| b.count).sum::<u64>(), samples.len() as u64);
            for b in five.iter().chain(&direct) {
                prop_assert!(b.min <= b.avg() + 1e-6 && b.avg() <= b.max + 1e-6);
                prop_assert_eq!(b.start, floor(b.start, FIVE_MINUTES));
            }
        }

        /// Compacting at increasing times as samples arrive in order gives the same
        /// buckets as compacting once at the end, and compacting twice changes nothing.
        #[test]
        fn compaction_is_incremental_and_idempotent(
            steps in proptest::collection::vec((1i64..900, -100f64..100.0), 1..300),
            every in 1usize..50,
        ) {
            let (mut inc, mut once) = (Series::default(), Series::default());
            let mut at = 0;
            for (i, (dt, v)) in steps.iter().enumerate() {
                at += dt;
                let s = Sample { at: t(at), value: *v };
                inc.push(s);
                once.push(s);
                if i % every == 0 {
                    inc.compact(t(at));
                }
            }
            let end = t(at + 1);
            inc.compact(end);
            once.compact(end);
            let again = { let mut x = inc.clone(); x.compact(end); x };
            prop_assert_eq!(&again, &inc);
            prop_assert_eq!(inc.late, 0);
            prop_assert_eq!(inc.five_minute.len(), once.five_minute.len());
            for (a, b) in inc.five_minute.iter().zip(&once.five_minute) {
                prop_assert_eq!((a.start, a.min, a.max, a.count), (b.start, b.min, b.max, b.count));
            }
            prop_assert_eq!(inc.hourly.len(), once.hourly.len());
            for (a, b) in inc.hourly.iter().zip(&once.hourly) {
                prop_assert_eq!((a.start, a.min, a.max, a.count), (b.start, b.min, b.max, b.count));
                prop_assert!(close(a.sum, b.sum));
            }
        }
    }
}
