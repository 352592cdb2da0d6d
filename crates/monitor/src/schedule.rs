//! Check definitions and the probe schedule.
//!
//! A check names a template (what to probe and how often); a customer, then a site,
//! may override any setting of a template for their checks (the site's override wins).
//! The schedule spreads checks over their interval with a jitter derived from the
//! check's id (the same id always gets the same offset, so a restart does not bunch
//! every probe on the same second), keeps each check on its own grid (no drift), and
//! counts the rounds a late caller missed instead of running them all at once.

use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// What a check probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// ICMP echo: loss and round-trip time.
    Ping,
    /// SNMP polling of the numeric OIDs given.
    Snmp { oids: Vec<String> },
    /// HTTPS: status, response time, days to certificate expiry.
    Https { path: String },
    /// A DNS query answered.
    Dns { name: String },
    /// NTP: offset and stratum.
    Ntp,
    /// SSH banner.
    Ssh,
    /// SMTP banner and EHLO.
    Smtp,
}

/// How a check runs; every field can be overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub interval_secs: u32,
    /// Probes sent per round (e.g. 3 echo requests).
    pub probes: u32,
    pub timeout_ms: u32,
    /// The first round starts within this many seconds after the schedule starts.
    pub jitter_secs: u32,
}

/// An override: the fields that are set replace the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Override {
    pub interval_secs: Option<u32>,
    pub probes: Option<u32>,
    pub timeout_ms: Option<u32>,
    pub jitter_secs: Option<u32>,
}

impl Override {
    fn apply(&self, s: &mut Settings) {
        s.interval_secs = self.interval_secs.unwrap_or(s.interval_secs);
        s.probes = self.probes.unwrap_or(s.probes);
        s.timeout_ms = self.timeout_ms.unwrap_or(s.timeout_ms);
        s.jitter_secs = self.jitter_secs.unwrap_or(s.jitter_secs);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub probe: Probe,
    pub settings: Settings,
}

/// One check: a template applied to a target of a customer's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDef {
    pub id: String,
    pub customer: String,
    pub site: String,
    pub template: String,
    /// Host name or address probed.
    pub target: String,
}

/// Templates and their overrides by customer and by site.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub templates: BTreeMap<String, Template>,
    /// (customer, template) -> override.
    pub by_customer: BTreeMap<(String, String), Override>,
    /// (site, template) -> override.
    pub by_site: BTreeMap<(String, String), Override>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("check `{check}`: template `{template}` does not exist")]
    UnknownTemplate { check: String, template: String },
    #[error("check `{check}`: {what}")]
    BadSettings { check: String, what: &'static str },
    #[error("check `{check}` is defined twice")]
    Duplicate { check: String },
}

impl Catalog {
    /// The settings a check runs with: template, then customer override, then site.
    pub fn effective(&self, c: &CheckDef) -> Result<(Probe, Settings), ScheduleError> {
        let t = self
            .templates
            .get(&c.template)
            .ok_or_else(|| ScheduleError::UnknownTemplate {
                check: c.id.clone(),
                template: c.template.clone(),
            })?;
        let mut s = t.settings;
        if let Some(o) = self
            .by_customer
            .get(&(c.customer.clone(), c.template.clone()))
        {
            o.apply(&mut s);
        }
        if let Some(o) = self.by_site.get(&(c.site.clone(), c.template.clone())) {
            o.apply(&mut s);
        }
        let bad = |what| ScheduleError::BadSettings {
            check: c.id.clone(),
            what,
        };
        if s.interval_secs == 0 {
            return Err(bad("the interval must be at least 1 second"));
        }
        if s.probes == 0 {
            return Err(bad("a round sends at least 1 probe"));
        }
        if s.timeout_ms == 0 || u64::from(s.timeout_ms) > u64::from(s.interval_secs) * 1000 {
            return Err(bad("the timeout must be between 1 ms and the interval"));
        }
        Ok((t.probe.clone(), s))
    }
}

/// A round to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub check: String,
    /// When the round was due (on the check's grid).
    pub at: Timestamp,
    pub probes: u32,
    pub timeout_ms: u32,
    /// Rounds skipped because the caller came late.
    pub missed: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    settings: Settings,
    next: Timestamp,
}

/// Which checks are due when.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    entries: BTreeMap<String, Entry>,
    queue: BTreeSet<(Timestamp, String)>,
    missed: u64,
}

/// FNV-1a: a stable spread of ids (not for security).
fn spread(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Schedule {
    /// Every check's first round falls in `[start, start + jitter)`.
    pub fn new(
        catalog: &Catalog,
        checks: &[CheckDef],
        start: Timestamp,
    ) -> Result<Schedule, ScheduleError> {
        let mut s = Schedule::default();
        for c in checks {
            let (_, settings) = catalog.effective(c)?;
            let jitter_ms = u64::from(settings.jitter_secs.min(settings.interval_secs)) * 1000;
            let offset = spread(&c.id).checked_rem(jitter_ms).unwrap_or(0);
            let next = start + SignedDuration::from_millis(offset as i64);
            if s.entries
                .insert(c.id.clone(), Entry { settings, next })
                .is_some()
            {
                return Err(ScheduleError::Duplicate {
                    check: c.id.clone(),
                });
            }
            s.queue.insert((next, c.id.clone()));
        }
        Ok(s)
    }

    /// When the next round is due, if any check is scheduled.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Rounds missed so far, over all checks.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Every round due at `now`, each check at most once; their next rounds are
    /// scheduled on their grid after `now`.
    pub fn due(&mut self, now: Timestamp) -> Vec<Due> {
        let mut out = Vec::new();
        while let Some((at, id)) = self.queue.first().cloned() {
            if at > now {
                break;
            }
            self.queue.pop_first();
            let e = self
                .entries
                .get_mut(&id)
                .expect("queued checks are entries");
            let interval_ms = i64::from(e.settings.interval_secs) * 1000;
            let late_ms = (now - at).as_millis() as i64;
            let missed = (late_ms / interval_ms) as u64;
            e.next = at + SignedDuration::from_millis((missed as i64 + 1) * interval_ms);
            self.missed += missed;
            self.queue.insert((e.next, id.clone()));
            out.push(Due {
                check: id,
                at: at + SignedDuration::from_millis(missed as i64 * interval_ms),
                probes: e.settings.probes,
                timeout_ms: e.settings.timeout_ms,
                missed,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.templates.insert(
            "ping".into(),
            Template {
                probe: Probe::Ping,
                settings: Settings {
                    interval_secs: 30,
                    probes: 3,
                    timeout_ms: 1000,
                    jitter_secs: 30,
                },
            },
        );
        c
    }

    fn def(id: &str, customer: &str, site: &str) -> CheckDef {
        CheckDef {
            id: id.into(),
            customer: customer.into(),
            site: site.into(),
            template: "ping".into(),
            target: "192.0.2.1".into(),
        }
    }

    #[test]
    fn overrides_site_over_customer_over_template() {
        let mut c = catalog();
        c.by_customer.insert(
            ("acme".into(), "ping".into()),
            Override {
                interval_secs: Some(60),
                probes: Some(5),
                ..Override::default()
            },
        );
        c.by_site.insert(
            ("osaka".into(), "ping".into()),
            Override {
                probes: Some(10),
                ..Override::default()
            },
        );
        let s = |d| c.effective(&d).unwrap().1;
        assert_eq!(s(def("a", "other", "x")).interval_secs, 30);
        assert_eq!(
            (
                s(def("a", "acme", "x")).interval_secs,
                s(def("a", "acme", "x")).probes
            ),
            (60, 5)
        );
        let o = s(def("a", "acme", "osaka"));
        assert_eq!((o.interval_secs, o.probes, o.timeout_ms), (60, 10, 1000));
        let mut bad = def("a", "acme", "x");
        bad.template = "nope".into();
        assert_eq!(
            c.effective(&bad).unwrap_err().to_string(),
            "check `a`: template `nope` does not exist"
        );
        c.by_site.insert(
            ("kobe".into(), "ping".into()),
            Override {
                timeout_ms: Some(61_000),
                ..Override::default()
            },
        );
        assert!(matches!(
            c.effective(&def("a", "acme", "kobe")),
            Err(ScheduleError::BadSettings { .. })
        ));
    }

    #[test]
    fn late_caller_gets_one_round_and_a_missed_count() {
        let c = catalog();
        let mut s = Schedule::new(&c, &[def("a", "x", "y")], t(0)).unwrap();
        let first = s.next_due().unwrap();
        assert!(first >= t(0) && first < t(30));
        let d = s.due(first + SignedDuration::from_secs(95));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].missed, 3);
        assert_eq!(d[0].at, first + SignedDuration::from_secs(90));
        assert_eq!(s.next_due(), Some(first + SignedDuration::from_secs(120)));
        assert_eq!(s.missed(), 3);
        assert!(matches!(
            Schedule::new(&c, &[def("a", "x", "y"), def("a", "x", "y")], t(0)),
            Err(ScheduleError::Duplicate { .. })
        ));
    }

    proptest! {
        /// Polled every second for ten intervals, each check runs once per interval,
        /// exactly on its grid, and nothing is missed; the first rounds are spread
        /// within the jitter.
        #[test]
        fn every_check_runs_once_per_interval_on_its_grid(n in 1usize..60, interval in 1u32..90) {
            let mut c = catalog();
            c.templates.get_mut("ping").unwrap().settings.interval_secs = interval;
            let checks: Vec<_> = (0..n).map(|i| def(&format!("gw-{i}"), "x", "y")).collect();
            let mut s = Schedule::new(&c, &checks, t(0)).unwrap();
            let mut runs: BTreeMap<String, Vec<Timestamp>> = BTreeMap::new();
            for sec in 0..(interval as i64 * 10) {
                for d in s.due(t(sec)) {
                    prop_assert!(d.at <= t(sec) && d.at > t(sec - 1));
                    runs.entry(d.check).or_default().push(d.at);
                }
            }
            prop_assert_eq!(s.missed(), 0);
            for (_, at) in runs {
                prop_assert!(at[0] < t(i64::from(interval)));
                prop_assert!((9..=10).contains(&at.len()));
                for w in at.windows(2) {
                    prop_assert_eq!(w[1] - w[0], SignedDuration::from_secs(interval.into()));
                }
            }
        }
    }
}
