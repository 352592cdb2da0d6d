//! Reports waiting for the center's acknowledgement. The queue is part of the agent's
//! state file ([`crate::state::ReconcileState`]), so a report and the state change it
//! describes are saved together: after a crash either both exist or neither. A report
//! keeps its `report_id` until acknowledged; the center stores each id once, so sending
//! it again after a lost answer is harmless.

use mamori_api::agent::{MAX_REPORTS_PER_BATCH, Report, ReportKind};
use serde::{Deserialize, Serialize};

/// The most reports kept; beyond it the oldest drift reports are dropped first (a
/// center unreachable for very long must not fill the disk).
pub const MAX_QUEUED: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub reports: Vec<Report>,
}

/// A random UUID (version 4) in its text form.
pub fn new_report_id() -> String {
    let mut b = [0u8; 16];
    // The kernel's random source; failing it is not recoverable.
    getrandom::fill(&mut b).expect("the system's random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl Queue {
    /// Adds a report (the caller saves the state).
    pub fn push(&mut self, kind: ReportKind, generation: i64, detail: String, at: i64) -> &Report {
        if self.reports.len() >= MAX_QUEUED {
            let drop = self
                .reports
                .iter()
                .position(|r| matches!(r.kind, ReportKind::Drift | ReportKind::DriftRestored))
                .unwrap_or(0);
            self.reports.remove(drop);
        }
        self.reports.push(Report {
            report_id: new_report_id(),
            kind,
            generation,
            detail,
            at,
        });
        self.reports.last().expect("just pushed")
    }

    /// The next batch to send, oldest first.
    pub fn batch(&self) -> Vec<Report> {
        self.reports
            .iter()
            .take(MAX_REPORTS_PER_BATCH)
            .cloned()
            .collect()
    }

    /// Drops the acknowledged reports; returns how many.
    pub fn ack(&mut self, ids: &[String]) -> usize {
        let before = self.reports.len();
        self.reports.retain(|r| !ids.contains(&r.report_id));
        before - self.reports.len()
    }

    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_are_uuid_v4_and_differ() {
        let a = new_report_id();
        let b = new_report_id();
        assert!(mamori_api::agent::is_uuid_text(&a), "{a}");
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, b);
    }

    #[test]
    fn acknowledged_reports_leave_the_queue_and_the_others_stay_in_order() {
        let mut q = Queue::default();
        for g in 1..=3 {
            q.push(ReportKind::Applied, g, String::new(), g);
        }
        let ids: Vec<String> = q.reports.iter().map(|r| r.report_id.clone()).collect();
        assert_eq!(q.ack(&[ids[1].clone(), "unknown".into()]), 1);
        assert_eq!(
            q.reports.iter().map(|r| r.generation).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(q.batch().len(), 2);
    }

    #[test]
    fn a_full_queue_drops_drift_reports_first() {
        let mut q = Queue::default();
        q.push(ReportKind::Applied, 1, String::new(), 0);
        q.push(ReportKind::Drift, 1, String::new(), 0);
        for _ in 2..MAX_QUEUED {
            q.push(ReportKind::Applied, 2, String::new(), 0);
        }
        q.push(ReportKind::RolledBack, 3, String::new(), 0);
        assert_eq!(q.len(), MAX_QUEUED);
        assert!(q.reports.iter().all(|r| r.kind != ReportKind::Drift));
        assert_eq!(q.reports[0].generation, 1);
    }
}
