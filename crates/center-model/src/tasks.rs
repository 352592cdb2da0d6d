//! Background tasks: housekeeping and checks the center runs on a schedule or when an
//! operator asks, each run recorded so that operators see when each last ran and how
//! it ended.

use crate::ids::UserId;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The task's schedule.
    Schedule,
    /// An operator, on demand.
    Operator,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        [Trigger::Schedule, Trigger::Operator]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Ok, Outcome::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One run of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRun {
    pub id: i64,
    pub task: String,
    pub trigger: Trigger,
    /// The operator who asked for it (on demand).
    pub requested_by: Option<UserId>,
    pub started_at: i64,
    /// `None` while it runs (or when its process ended before it finished).
    pub finished_at: Option<i64>,
    pub outcome: Option<Outcome>,
    /// What it did, or why it failed.
    pub detail: String,
}

/// When a periodic task is next due: its interval after its last start, or at once
/// when it never ran.
pub fn next_due(last_started: Option<i64>, every_ms: i64) -> i64 {
    last_started.map_or(i64::MIN, |t| t.saturating_add(every_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [Trigger::Schedule, Trigger::Operator] {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
        }
        for o in [Outcome::Ok, Outcome::Failed] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("running"), None);
    }

    #[test]
    fn a_task_is_due_at_once_and_then_after_its_interval() {
        assert!(next_due(None, 60_000) <= 0);
        assert_eq!(next_due(Some(1_000), 60_000), 61_000);
        assert_eq!(next_due(Some(i64::MAX - 1), 60_000), i64::MAX);
    }
}
