//! From events to incident intents to notification intents. The engine decides; the
//! center stores the incidents and sends the notifications.
//!
//! Rules:
//! - Dedupe: one open incident per key; a problem for a key already open changes
//!   nothing; a clear for a key not open is ignored.
//! - Dependencies: while a site's reachability check is in problem, problems of that
//!   site's other checks are held (no incident: the site incident covers them). When
//!   the site is reachable again, the held problems that have not cleared meanwhile
//!   open their incidents.
//! - Maintenance windows: an incident that opens inside a window of its site or
//!   customer is kept but not notified; if it is still open when the window ends, it is
//!   notified then. Its resolution is notified only if its opening was.
//! - Quiet hours: notifications below critical wait until the quiet hours end, and are
//!   dropped then if their incident has resolved meanwhile (with its resolution).
//! - Storm: at most `storm_max` notifications go out within `storm_window`; the ones
//!   over that are gathered into one summary sent when the window closes.

use crate::check::{Change, State};
use crate::trap::TrapEvent;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A problem raised or cleared (a check's state change, a trap, a syslog match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// One open incident per key.
    pub key: String,
    pub customer: String,
    pub site: String,
    /// This is the site's reachability check: others of the site depend on it.
    pub reachability: bool,
    pub severity: Severity,
    /// `true` raises the problem, `false` clears it.
    pub problem: bool,
    pub at: Timestamp,
    pub summary: String,
}

/// A maintenance window; `None` matches every customer or site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub customer: Option<String>,
    pub site: Option<String>,
    pub from: Timestamp,
    pub until: Timestamp,
}

impl Window {
    fn covers(&self, customer: &str, site: &str, at: Timestamp) -> bool {
        self.customer.as_deref().is_none_or(|c| c == customer)
            && self.site.as_deref().is_none_or(|s| s == site)
            && self.from <= at
            && at < self.until
    }
}

/// Daily quiet hours in a fixed offset; `from > until` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub from_minute: u16,
    pub until_minute: u16,
    pub offset: Offset,
}

impl QuietHours {
    fn active(&self, at: Timestamp) -> bool {
        let dt = self.offset.to_datetime(at);
        let m = dt.hour() as u16 * 60 + dt.minute() as u16;
        if self.from_minute <= self.until_minute {
            self.from_minute <= m && m < self.until_minute
        } else {
            m >= self.from_minute || m < self.until_minute
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub maintenance: Vec<Window>,
    pub quiet: Option<QuietHours>,
    pub storm_window: SignedDuration,
    pub storm_max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentIntent {
    Open {
        key: String,
        customer: String,
        site: String,
        severity: Severity,
        at: Timestamp,
        summary: String,
        in_maintenance: bool,
    },
    Resolve {
        key: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationIntent {
    Opened {
        key: String,
        customer: String,
        severity: Severity,
        summary: String,
        at: Timestamp,
    },
    Resolved {
        key: String,
        customer: String,
        at: Timestamp,
    },
    /// The notifications held back by a storm, in one.
    Summary {
        count: usize,
        keys: Vec<String>,
        from: Timestamp,
        until: Timestamp,
    },
}

impl NotificationIntent {
    fn key(&self) -> Option<&str> {
        match self {
            NotificationIntent::Opened { key, .. } | NotificationIntent::Resolved { key, .. } => {
                Some(key)
            }
            NotificationIntent::Summary { .. } => None,
        }
    }
}

/// Why a problem made no incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    SiteUnreachable,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub incidents: Vec<IncidentIntent>,
    pub notifications: Vec<NotificationIntent>,
    pub held: Vec<(String, Held)>,
}

#[derive(Debug, Clone)]
struct OpenIncident {
    signal: Signal,
    notified: bool,
}

#[derive(Debug, Clone)]
struct Storm {
    from: Timestamp,
    keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    open: BTreeMap<String, OpenIncident>,
    unreachable: BTreeSet<String>,
    held: BTreeMap<String, Signal>,
    quiet: Vec<(Severity, NotificationIntent)>,
    sent: VecDeque<Timestamp>,
    storm: Option<Storm>,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Keys with an open incident.
    pub fn open_keys(&self) -> impl Iterator<Item = &str> {
        self.open.keys().map(String::as_str)
    }

    pub fn handle(&mut self, s: Signal, policy: &Policy) -> Output {
        let mut out = Output::default();
        self.signal(s, policy, &mut out);
        out
    }

    fn signal(&mut self, s: Signal, policy: &Policy, out: &mut Output) {
        if s.problem {
            if s.reachability {
                self.unreachable.insert(s.site.clone());
            } else if self.unreachable.contains(&s.site) {
                out.held.push((s.key.clone(), Held::SiteUnreachable));
                self.held.insert(s.key.clone(), s);
                return;
            }
            if self.open.contains_key(&s.key) {
                return;
            }
            let in_maintenance = policy
                .maintenance
                .iter()
                .any(|w| w.covers(&s.customer, &s.site, s.at));
            out.incidents.push(IncidentIntent::Open {
                key: s.key.clone(),
                customer: s.customer.clone(),
                site: s.site.clone(),
                severity: s.severity,
                at: s.at,
                summary: s.summary.clone(),
                in_maintenance,
            });
            if !in_maintenance {
                self.notify(s.severity, opened(&s), s.at, policy, out);
            }
            self.open.insert(
                s.key.clone(),
                OpenIncident {
                    signal: s,
                    notified: !in_maintenance,
                },
            );
        } else {
            self.held.remove(&s.key);
            if let Some(o) = self.open.remove(&s.key) {
                out.incidents.push(IncidentIntent::Resolve {
                    key: s.key.clone(),
                    at: s.at,
                });
                if o.notified {
                    let n = NotificationIntent::Resolved {
                        key: s.key.clone(),
                        customer: o.signal.customer.clone(),
                        at: s.at,
                    };
                    // Still waiting for the quiet hours to end: both go.
                    let before = self.quiet.len();
                    self.quiet.retain(|(_, q)| q.key() != Some(&s.key));
                    if self.quiet.len() == before {
                        self.notify(o.signal.severity, n, s.at, policy, out);
                    }
                }
            }
            if s.reachability && self.unreachable.remove(&s.site) {
                let site = s.site.clone();
                let released: Vec<Signal> = self
                    .held
                    .values()
                    .filter(|h| h.site == site)
                    .cloned()
                    .collect();
                for mut h in released {
                    self.held.remove(&h.key);
                    h.at = s.at;
                    self.signal(h, policy, out);
                }
            }
        }
    }

    fn notify(
        &mut self,
        severity: Severity,
        n: NotificationIntent,
        at: Timestamp,
        policy: &Policy,
        out: &mut Output,
    ) {
        if severity < Severity::Critical && policy.quiet.is_some_and(|q| q.active(at)) {
            self.quiet.push((severity, n));
            return;
        }
        while self
            .sent
            .front()
            .is_some_and(|t| *t + policy.storm_window <= at)
        {
            self.sent.pop_front();
        }
        if self.storm.is_none() && self.sent.len() < policy.storm_max {
            self.sent.push_back(at);
            out.notifications.push(n);
            return;
        }
        let storm = self.storm.get_or_insert(Storm {
            from: at,
            keys: Vec::new(),
        });
        storm.keys.push(n.key().unwrap_or_default().to_string());
    }

    /// Time passes: quiet hours and maintenance windows end, storms are summed up.
    pub fn tick(&mut self, now: Timestamp, policy: &Policy) -> Output {
        let mut out = Output::default();
        if let Some(storm) = &self.storm
            && storm.from + policy.storm_window <= now
        {
            let storm = self.storm.take().expect("checked");
            let mut keys = storm.keys;
            keys.dedup();
            out.notifications.push(NotificationIntent::Summary {
                count: keys.len(),
                keys,
                from: storm.from,
                until: now,
            });
            self.sent.clear();
        }
        if !self.quiet.is_empty() && !policy.quiet.is_some_and(|q| q.active(now)) {
            for (severity, n) in std::mem::take(&mut self.quiet) {
                self.notify(severity, n, now, policy, &mut out);
            }
        }
        let late: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| {
                !o.notified
                    && !policy
                        .maintenance
                        .iter()
                        .any(|w| w.covers(&o.signal.customer, &o.signal.site, now))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in late {
            let o = self.open.get_mut(&k).expect("listed");
            o.notified = true;
            let (severity, n) = (o.signal.severity, opened(&o.signal));
            self.notify(severity, n, now, policy, &mut out);
        }
        out
    }
}

/// What a check's change means for incidents: `Some(true)` raises its problem,
/// `Some(false)` clears it, `None` is no signal. Damped changes (the check flaps) and
/// the start of flapping are not signals; the state a check settles in when flapping
/// stops is.
pub fn from_check(change: &Change) -> Option<bool> {
    match *change {
        Change::State {
            state,
            damped: false,
        }
        | Change::FlappingStopped { state } => match state {
            State::Problem => Some(true),
            State::Ok => Some(false),
            State::Pending => None,
        },
        Change::State { damped: true, .. } | Change::FlappingStarted => None,
    }
}

/// What a trap means for incidents: linkDown raises and linkUp clears the problem of
/// the interface it names (`(key suffix, problem)`, e.g. `("link/3", true)`). Other
/// traps are events to keep, not states: no signal.
pub fn from_trap(event: &TrapEvent) -> Option<(String, bool)> {
    let (link, problem) = match event {
        TrapEvent::LinkDown(l) => (l, true),
        TrapEvent::LinkUp(l) => (l, false),
        _ => return None,
    };
    let key = match (link.if_index, &link.name) {
        (Some(i), _) => format!("link/{i}"),
        (None, Some(n)) => format!("link/{n}"),
        (None, None) => "link/?".to_string(),
    };
    Some((key, problem))
}

fn opened(s: &Signal) -> NotificationIntent {
    NotificationIntent::Opened {
        key: s.key.clone(),
        customer: s.customer.clone(),
        severity: s.severity,
        summary: s.summary.clone(),
        at: s.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        // 2027-01-15T00:00:00Z
        Timestamp::from_second(1_800_000_000 - 1_800_000_000 % 86_400 + s).unwrap()
    }

    fn policy() -> Policy {
        Policy {
            maintenance: vec![],
            quiet: None,
            storm_window: SignedDuration::from_secs(300),
            storm_max: 100,
        }
    }

    fn sig(key: &str, site: &str, problem: bool, at: i64) -> Signal {
        Signal {
            key: key.into(),
            customer: "acme".into(),
            site: site.into(),
            reachability: key.ends_with("reach"),
            severity: Severity::Warning,
            problem,
            at: t(at),
            summary: format!("{key} {problem}"),
        }
    }

    fn opened_keys(o: &Output) -> Vec<&str> {
        o.notifications
            .iter()
            .filter_map(|n| match n {
                NotificationIntent::Opened { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dedupe_one_incident_per_key() {
        let (mut e, p) = (Engine::new(), policy());
        assert_eq!(e.handle(sig("a", "s", true, 0), &p).incidents.len(), 1);
        assert_eq!(e.handle(sig("a", "s", true, 1), &p), Output::default());
        let o = e.handle(sig("a", "s", false, 2), &p);
        assert_eq!(
            o.incidents,
            vec![IncidentIntent::Resolve {
                key: "a".into(),
                at: t(2)
            }]
        );
        assert!(matches!(
            o.notifications[..],
            [NotificationIntent::Resolved { .. }]
        ));
        assert_eq!(e.handle(sig("a", "s", false, 3), &p), Output::default());
    }

    #[test]
    fn unreachable_site_holds_its_services_and_releases_the_still_down() {
        let (mut e, p) = (Engine::new(), policy());
        e.handle(sig("osaka/reach", "osaka", true, 0), &p);
        let o = e.handle(sig("osaka/https", "osaka", true, 1), &p);
        assert!(o.incidents.is_empty() && o.notifications.is_empty());
        assert_eq!(o.held, vec![("osaka/https".into(), Held::SiteUnreachable)]);
        e.handle(sig("osaka/dns", "osaka", true, 1), &p);
        e.handle(sig("osaka/dns", "osaka", false, 2), &p);
        // Another site is not affected.
        assert_eq!(
            e.handle(sig("kobe/https", "kobe", true, 2), &p)
                .incidents
                .len(),
            1
        );
        let o = e.handle(sig("osaka/reach", "osaka", false, 3), &p);
        assert_eq!(opened_keys(&o), vec!["osaka/https"]);
        assert_eq!(
            o.incidents.len(),
            2,
            "the site resolves, https opens: {o:?}"
        );
        assert_eq!(
            e.open_keys().collect::<Vec<_>>(),
            vec!["kobe/https", "osaka/https"]
        );
    }

    #[test]
    fn maintenance_keeps_the_incident_silent_until_the_window_ends() {
        let (mut e, mut p) = (Engine::new(), policy());
        p.maintenance.push(Window {
            customer: None,
            site: Some("osaka".into()),
            from: t(0),
            until: t(600),
        });
        let o = e.handle(sig("osaka/a", "osaka", true, 10), &p);
        assert!(matches!(
            o.incidents[..],
            [IncidentIntent::Open {
                in_maintenance: true,
                ..
            }]
        ));
        assert!(o.notifications.is_empty());
        // Cleared inside the window: nothing is ever sent.
        let o = e.handle(sig("osaka/a", "osaka", false, 20), &p);
        assert!(o.notifications.is_empty() && o.incidents.len() == 1);
        e.handle(sig("osaka/b", "osaka", true, 30), &p);
        assert!(e.tick(t(599), &p).notifications.is_empty());
        assert_eq!(opened_keys(&e.tick(t(600), &p)), vec!["osaka/b"]);
        assert!(e.tick(t(601), &p).notifications.is_empty());
    }

    #[test]
    fn quiet_hours_hold_non_critical_and_drop_what_resolved() {
        let (mut e, mut p) = (Engine::new(), policy());
        // 22:00 to 07:00 in UTC+9 is 13:00 to 22:00 UTC.
        p.quiet = Some(QuietHours {
            from_minute: 22 * 60,
            until_minute: 7 * 60,
            offset: Offset::constant(9),
        });
        let at = 14 * 3600;
        assert!(
            e.handle(sig("a", "s", true, at), &p)
                .notifications
                .is_empty()
        );
        assert!(
            e.handle(sig("b", "s", true, at), &p)
                .notifications
                .is_empty()
        );
        let mut crit = sig("c", "s", true, at);
        crit.severity = Severity::Critical;
        assert_eq!(opened_keys(&e.handle(crit, &p)), vec!["c"]);
        assert!(
            e.handle(sig("b", "s", false, at + 60), &p)
                .notifications
                .is_empty()
        );
        assert!(e.tick(t(21 * 3600), &p).notifications.is_empty());
        assert_eq!(opened_keys(&e.tick(t(22 * 3600), &p)), vec!["a"]);
    }

    #[test]
    fn storm_is_summed_up() {
        let (mut e, mut p) = (Engine::new(), policy());
        p.storm_max = 3;
        let mut sent = 0;
        for i in 0..10 {
            sent += e
                .handle(sig(&format!("k{i}"), "s", true, i), &p)
                .notifications
                .len();
        }
        assert_eq!(sent, 3);
        assert!(e.tick(t(299), &p).notifications.is_empty());
        let o = e.tick(t(303), &p);
        assert!(matches!(
            &o.notifications[..],
            [NotificationIntent::Summary { count: 7, .. }]
        ));
        // After the summary, notifications flow again.
        assert_eq!(
            e.handle(sig("new", "s", true, 304), &p).notifications.len(),
            1
        );
    }

    #[test]
    fn traps_to_signals() {
        use crate::trap::Link;
        let down = TrapEvent::LinkDown(Link {
            if_index: Some(3),
            ..Link::default()
        });
        assert_eq!(from_trap(&down), Some(("link/3".into(), true)));
        let up = TrapEvent::LinkUp(Link {
            name: Some("wan0".into()),
            ..Link::default()
        });
        assert_eq!(from_trap(&up), Some(("link/wan0".into(), false)));
        assert_eq!(from_trap(&TrapEvent::ColdStart), None);
    }

    proptest! {
        /// A check's verdicts through `from_check` into the engine: whenever the check
        /// is not flapping, its incident is open exactly when its state is Problem.
        #[test]
        fn a_check_and_its_incident_agree_when_it_does_not_flap(
            results in proptest::collection::vec(any::<bool>(), 0..400),
            bad in 1u32..4, good in 1u32..4,
        ) {
            use crate::check::{Check, Debounce, Flap};
            let mut c = Check::new(Debounce { bad_after: bad, good_after: good }, Flap::default()).unwrap();
            let (mut e, p) = (Engine::new(), policy());
            for (i, r) in results.into_iter().enumerate() {
                for ch in c.result(r) {
                    if let Some(problem) = from_check(&ch) {
                        e.handle(sig("gw/ping", "s", problem, i as i64), &p);
                    }
                }
                if !c.flapping() {
                    let open = e.open_keys().next().is_some();
                    prop_assert_eq!(open, c.state() == State::Problem);
                }
            }
        }

        /// Whatever the order of signals: opens and resolves alternate per key (never
        /// two opens, never a resolve of what is not open), the intents agree with the
        /// engine's open set, and no more than storm_max individual notifications go
        /// out per window.
        #[test]
        fn incidents_alternate_and_storms_are_capped(
            signals in proptest::collection::vec((0u8..4, 0u8..2, any::<bool>()), 0..200),
            storm_max in 1usize..6,
        ) {
            let mut p = policy();
            p.storm_max = storm_max;
            let mut e = Engine::new();
            let mut open: BTreeSet<String> = BTreeSet::new();
            let mut sent: Vec<Timestamp> = Vec::new();
            for (i, (k, site, problem)) in signals.into_iter().enumerate() {
                let key = if k == 0 { format!("s{site}/reach") } else { format!("s{site}/svc{k}") };
                let o = e.handle(sig(&key, &format!("s{site}"), problem, i as i64 * 10), &p);
                for inc in &o.incidents {
                    match inc {
                        IncidentIntent::Open { key, .. } => prop_assert!(open.insert(key.clone())),
                        IncidentIntent::Resolve { key, .. } => prop_assert!(open.remove(key)),
                    }
                }
                for n in &o.notifications {
                    if !matches!(n, NotificationIntent::Summary { .. }) {
                        sent.push(t(i as i64 * 10));
                    }
                }
                let t_now = t(i as i64 * 10);
                e.tick(t_now, &p);
                prop_assert_eq!(open.iter().map(String::as_str).collect::<Vec<_>>(), e.open_keys().collect::<Vec<_>>());
                let recent = sent.iter().filter(|s| **s + p.storm_window > t_now).count();
                prop_assert!(recent <= storm_max);
            }
        }
    }
}
