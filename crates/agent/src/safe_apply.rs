//! Safe apply as a pure state machine: apply a revision, then confirm it before a deadline
//! or have the previous one restored. Time comes in as a value ([`Millis`]); the executor
//! ([`crate::standalone`]) does the I/O the returned [`Action`]s ask for, and persists the
//! new [`State`] only when they succeeded.
//!
//! Revisions are numbered from 1; revision 0 is the empty ruleset (no `inet mamori` table).

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Millis(pub u64);

/// Revision 0: no `inet mamori` table at all.
pub const EMPTY: u64 = 0;

/// The agent's enforcement state, persisted in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The revision running now.
    pub current: u64,
    /// The revision that ran before `current` (what a rollback restores).
    pub previous: Option<u64>,
    /// An apply waiting for confirmation.
    pub pending: Option<Pending>,
    /// The number the next apply gets.
    pub next: u64,
}

/// An applied revision that is rolled back unless confirmed by `deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub revision: u64,
    pub restore: u64,
    pub deadline: Millis,
}

/// What happens to the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Apply a new revision (its ruleset is stored by the executor under the number
    /// [`State::next_revision`] returns); with a confirmation window, arm a rollback.
    Apply { confirm_within_ms: Option<u64> },
    /// Keep the pending revision.
    Confirm,
    /// Restore the previous revision now, by hand.
    Rollback,
    /// The waiter of `revision` woke up.
    Deadline { revision: u64 },
}

/// What the executor must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Apply this revision's ruleset (revision 0: remove the table).
    Apply { revision: u64 },
    /// Start a waiter that sends `Deadline { revision }` at `deadline`.
    ArmRollback { revision: u64, deadline: Millis },
    /// The waiter should sleep until `until` and try again.
    WaitUntil(Millis),
}

/// Why a command cannot be carried out in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafeApplyError {
    #[error(
        "revision {revision} is waiting for confirmation until {deadline} ms (Unix time); \
         run `mamori agent confirm` or `mamori agent rollback` first"
    )]
    PendingConfirmation { revision: u64, deadline: u64 },
    #[error("nothing to confirm: no apply is waiting for confirmation")]
    NothingToConfirm,
    #[error("nothing to roll back to: no earlier revision was applied")]
    NothingToRollBack,
}

/// The outcome of a transition: the state to persist once the actions succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: State,
    pub actions: Vec<Action>,
    /// What happened, for the operator.
    pub note: Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Applied {
        revision: u64,
        deadline: Option<Millis>,
    },
    Confirmed {
        revision: u64,
    },
    RolledBack {
        from: u64,
        to: u64,
    },
    /// The waiter found nothing to do (confirmed, or superseded).
    Nothing,
    /// The deadline has not come yet.
    NotYet,
}

impl State {
    /// The number the next applied revision gets.
    pub fn next_revision(&self) -> u64 {
        self.next.max(1)
    }

    /// The pure transition function.
    pub fn step(&self, now: Millis, cmd: Command) -> Result<Transition, SafeApplyError> {
        match cmd {
            Command::Apply { confirm_within_ms } => {
                if let Some(p) = self.pending {
                    return Err(SafeApplyError::PendingConfirmation {
                        revision: p.revision,
                        deadline: p.deadline.0,
                    });
                }
                let revision = self.next_revision();
                let deadline = confirm_within_ms.map(|ms| Millis(now.0.saturating_add(ms)));
                let mut actions = vec![Action::Apply { revision }];
                if let Some(deadline) = deadline {
                    actions.push(Action::ArmRollback { revision, deadline });
                }
                Ok(Transition {
                    state: State {
                        current: revision,
                        previous: Some(self.current),
                        pending: deadline.map(|deadline| Pending {
                            revision,
                            restore: self.current,
                            deadline,
                        }),
                        next: revision + 1,
                    },
                    actions,
                    note: Note::Applied { revision, deadline },
                })
            }
            Command::Confirm => {
                let Some(p) = self.pending else {
                    return Err(SafeApplyError::NothingToConfirm);
                };
                Ok(Transition {
                    state: State {
                        pending: None,
                        ..self.clone()
                    },
                    actions: vec![],
                    note: Note::Confirmed {
                        revision: p.revision,
                    },
                })
            }
            Command::Rollback => {
                let to = match (self.pending, self.previous) {
                    (Some(p), _) => p.restore,
                    (None, Some(prev)) => prev,
                    (None, None) => return Err(SafeApplyError::NothingToRollBack),
                };
                Ok(self.roll_back_to(to))
            }
            Command::Deadline { revision } => match self.pending {
                Some(p) if p.revision == revision => {
                    if now < p.deadline {
                        Ok(Transition {
                            state: self.clone(),
                            actions: vec![Action::WaitUntil(p.deadline)],
                            note: Note::NotYet,
                        })
                    } else {
                        Ok(self.roll_back_to(p.restore))
                    }
                }
                _ => Ok(Transition {
                    state: self.clone(),
                    actions: vec![],
                    note: Note::Nothing,
                }),
            },
        }
    }

    fn roll_back_to(&self, to: u64) -> Transition {
        Transition {
            state: State {
                current: to,
                previous: Some(self.current),
                pending: None,
                next: self.next_revision(),
            },
            actions: vec![Action::Apply { revision: to }],
            note: Note::RolledBack {
                from: self.current,
                to,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = Millis(1_000_000);

    fn apply(s: &State, now: Millis, within: Option<u64>) -> Transition {
        s.step(
            now,
            Command::Apply {
                confirm_within_ms: within,
            },
        )
        .unwrap()
    }

    #[test]
    fn first_apply_without_window_is_final() {
        let t = apply(&State::default(), T0, None);
        assert_eq!(t.actions, vec![Action::Apply { revision: 1 }]);
        assert_eq!(t.state.current, 1);
        assert_eq!(t.state.previous, Some(EMPTY));
        assert_eq!(t.state.pending, None);
    }

    #[test]
    fn apply_with_window_arms_a_rollback_to_the_previous_revision() {
        let s = apply(&State::default(), T0, None).state;
        let t = apply(&s, T0, Some(60_000));
        assert_eq!(
            t.actions,
            vec![
                Action::Apply { revision: 2 },
                Action::ArmRollback {
                    revision: 2,
                    deadline: Millis(T0.0 + 60_000)
                }
            ]
        );
        let p = t.state.pending.unwrap();
        assert_eq!((p.revision, p.restore), (2, 1));
    }

    #[test]
    fn deadline_before_time_waits_and_after_time_restores() {
        let s = apply(&State::default(), T0, None).state;
        let s = apply(&s, T0, Some(5_000)).state;
        let early = s
            .step(Millis(T0.0 + 4_999), Command::Deadline { revision: 2 })
            .unwrap();
        assert_eq!(early.actions, vec![Action::WaitUntil(Millis(T0.0 + 5_000))]);
        assert_eq!(early.state, s);
        let late = s
            .step(Millis(T0.0 + 5_000), Command::Deadline { revision: 2 })
            .unwrap();
        assert_eq!(late.actions, vec![Action::Apply { revision: 1 }]);
        assert_eq!(late.state.current, 1);
        assert_eq!(late.state.pending, None);
        assert_eq!(late.note, Note::RolledBack { from: 2, to: 1 });
    }

    #[test]
    fn confirmed_revision_is_not_rolled_back_by_its_waiter() {
        let s = apply(&State::default(), T0, Some(1_000)).state;
        let s = s.step(T0, Command::Confirm).unwrap().state;
        let t = s
            .step(Millis(T0.0 + 10_000), Command::Deadline { revision: 1 })
            .unwrap();
        assert!(t.actions.is_empty());
        assert_eq!(t.note, Note::Nothing);
        assert_eq!(t.state.current, 1);
    }

    #[test]
    fn first_apply_rolls_back_to_the_empty_ruleset() {
        let s = apply(&State::default(), T0, Some(1_000)).state;
        let t = s
            .step(Millis(T0.0 + 1_000), Command::Deadline { revision: 1 })
            .unwrap();
        assert_eq!(t.actions, vec![Action::Apply { revision: EMPTY }]);
    }

    #[test]
    fn apply_while_pending_is_refused() {
        let s = apply(&State::default(), T0, Some(1_000)).state;
        let err = s
            .step(
                T0,
                Command::Apply {
                    confirm_within_ms: None,
                },
            )
            .unwrap_err();
        assert!(matches!(
            err,
            SafeApplyError::PendingConfirmation { revision: 1, .. }
        ));
    }

    #[test]
    fn confirm_and_rollback_need_something_to_act_on() {
        let s = State::default();
        assert_eq!(
            s.step(T0, Command::Confirm).unwrap_err(),
            SafeApplyError::NothingToConfirm
        );
        assert_eq!(
            s.step(T0, Command::Rollback).unwrap_err(),
            SafeApplyError::NothingToRollBack
        );
    }

    #[test]
    fn manual_rollback_restores_previous_and_keeps_numbers_growing() {
        let s = apply(&State::default(), T0, None).state;
        let s = apply(&s, T0, None).state;
        let t = s.step(T0, Command::Rollback).unwrap();
        assert_eq!(t.actions, vec![Action::Apply { revision: 1 }]);
        let s = apply(&t.state, T0, None).state;
        assert_eq!(s.current, 3);
    }

    #[test]
    fn stale_waiter_of_a_superseded_revision_does_nothing() {
        let s = apply(&State::default(), T0, Some(1_000)).state;
        let s = s.step(T0, Command::Confirm).unwrap().state;
        let s = apply(&s, T0, Some(1_000)).state;
        let t = s
            .step(Millis(T0.0 + 2_000), Command::Deadline { revision: 1 })
            .unwrap();
        assert!(t.actions.is_empty());
        assert_eq!(t.state.pending.unwrap().revision, 2);
    }
}
