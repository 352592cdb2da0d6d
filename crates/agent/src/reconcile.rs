//! The reconcile loop of an enrolled agent: long-poll the center for a generation newer
//! than its own, compile it with the policy compiler, apply it with safe apply (the proof
//! step: a request over the agent channel succeeds after the apply), confirm, or restore
//! the last good ruleset by itself at the deadline and report why; write the gateway
//! settings; check for drift; queue reports until the center acknowledges them; renew
//! the certificate. Every state change is saved with its reports in one atomic write
//! ([`crate::state`]), before the kernel changes when it starts an apply.
//!
//! When the center is unreachable the agent keeps the running ruleset, keeps checking
//! for drift, and retries; nothing it has to say is lost.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mamori_api::agent::{self as wire, DesiredConfig, ReportKind};
use mamori_policy as policy;

use crate::client::{Client, ClientError};
use crate::drift;
use crate::enrol::{self, EnrolError};
use crate::host::nft::{Nft, NftError, Ruleset};
use crate::policy_file;
use crate::safe_apply::{Command, Millis, SafeApplyError};
use crate::settings::{self, Settings};
use crate::state::{Applied, ReconcileState, StateDir, StateError};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error(transparent)]
    SafeApply(#[from] SafeApplyError),
    #[error("the center answered {status}: {detail}")]
    Center { status: u16, detail: String },
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the gateway settings' fragments are written.
    pub settings_dir: PathBuf,
    /// The safe-apply window: an apply not proven by then is rolled back.
    pub confirm_within: Duration,
    /// The longest a long-poll waits; also the pace of the drift check while idle.
    pub poll_wait: Duration,
    /// How often the live ruleset is compared with the applied one.
    pub drift_interval: Duration,
    /// Put the applied ruleset back when drift is found.
    pub restore_drift: bool,
    /// Talk to this center instead of the enrolled one (another process on the same
    /// database and CA).
    pub center: Option<String>,
    /// Renew the certificate when less than this is left of it.
    pub renew_before: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings_dir: PathBuf::from("/etc/mamori/agent.d"),
            confirm_within: Duration::from_secs(30),
            poll_wait: Duration::from_secs(30),
            drift_interval: Duration::from_secs(30),
            restore_drift: true,
            center: None,
            renew_before: Duration::from_secs(10 * 86_400),
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What one desired configuration came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied { generation: i64 },
    Failed { generation: i64, detail: String },
    RolledBack { generation: i64, detail: String },
    Refused { generation: i64 },
    Ignored { generation: i64 },
}

pub struct Agent {
    dir: StateDir,
    nft: Nft,
    client: Client,
    opts: Options,
    state: ReconcileState,
    _lock: std::fs::File,
    last_drift_check: Option<Instant>,
}

fn log(msg: &str) {
    eprintln!("mamori agent: {msg}");
}

impl Agent {
    /// Opens an enrolled state directory (taking its lock), and brings the kernel in line
    /// with the saved state: an apply interrupted by a crash is rolled back (and
    /// reported), then the current ruleset is applied again.
    pub fn start(dir: StateDir, nft: Nft, opts: Options) -> Result<Agent, ReconcileError> {
        let lock = dir.lock()?;
        let client = enrol::client(&dir, opts.center.as_deref())?;
        let state = dir.load_reconcile()?;
        let mut agent = Agent {
            dir,
            nft,
            client,
            opts,
            state,
            _lock: lock,
            last_drift_check: None,
        };
        agent.recover()?;
        Ok(agent)
    }

    pub fn state(&self) -> &ReconcileState {
        &self.state
    }

    fn save(&self) -> Result<(), StateError> {
        self.dir.save_reconcile(&self.state)
    }

    fn recover(&mut self) -> Result<(), ReconcileError> {
        let now = now_ms();
        if let Some(p) = self.state.safe.pending {
            let generation = self
                .state
                .revisions
                .get(&p.revision)
                .map(|a| a.generation)
                .unwrap_or(0);
            let t = self
                .state
                .safe
                .step(Millis(now as u64), Command::Rollback)?;
            self.state.safe = t.state;
            let restored = self.state.applied_generation();
            self.state.queue.push(
                ReportKind::RolledBack,
                generation,
                format!(
                    "the agent stopped during the apply of generation {generation}; generation {restored} was restored at restart"
                ),
                now,
            );
            self.state.prune();
            self.save()?;
            log(&format!(
                "an apply of generation {generation} was interrupted; restored generation {restored}"
            ));
        }
        // The kernel runs what the state says, whatever happened before the restart.
        if let Some(cur) = self.state.current().cloned() {
            self.nft.apply_from(&cur.ruleset, "applied ruleset")?;
            let live = drift::normalise(self.nft.list_json()?.as_ref());
            let rev = self.state.safe.current;
            if let Some(a) = self.state.revisions.get_mut(&rev) {
                a.live = Some(live);
            }
            self.save()?;
            log(&format!("enforcing generation {}", cur.generation));
        }
        Ok(())
    }

    /// One long-poll: the desired configuration when the center has a newer one.
    pub fn poll(&self, wait: Duration) -> Result<Option<DesiredConfig>, ReconcileError> {
        let path = format!(
            "/agent/v1/desired?after={}&wait={}",
            self.state.after(),
            wait.as_secs()
        );
        let a = self
            .client
            .request("GET", &path, None, wait + Duration::from_secs(15))?;
        match a.status {
            200 => serde_json::from_slice(&a.body)
                .map(Some)
                .map_err(|e| ReconcileError::Center {
                    status: 200,
                    detail: format!("the desired configuration does not parse: {e}"),
                }),
            204 => Ok(None),
            s => Err(ReconcileError::Center {
                status: s,
                detail: a.error_text(),
            }),
        }
    }

    /// Acts on one desired configuration.
    pub fn handle(&mut self, d: DesiredConfig) -> Result<Outcome, ReconcileError> {
        let now = now_ms();
        let applied = self.state.applied_generation();
        let g = d.generation;
        if g < applied {
            if self.state.refused != Some(g) {
                self.state.refused = Some(g);
                self.state.queue.push(
                    ReportKind::Refused,
                    g,
                    format!(
                        "generation {g} is older than the applied generation {applied}; refused (the center's data may have been restored from an older backup)"
                    ),
                    now,
                );
                self.save()?;
                log(&format!("refused generation {g}: older than {applied}"));
            }
            return Ok(Outcome::Refused { generation: g });
        }
        if g <= self.state.after() {
            return Ok(Outcome::Ignored { generation: g });
        }
        // Compile and read the settings first: a bad document never reaches the kernel.
        let prepared = settings::from_json(&d.settings)
            .map_err(|e| e.to_string())
            .and_then(|s| compile(&d.policy_text, g).map(|r| (s, r)));
        let (settings, ruleset) = match prepared {
            Ok(x) => x,
            Err(detail) => return self.failed(g, detail, now),
        };
        self.safe_apply(g, ruleset, settings, d.settings)
    }

    fn failed(&mut self, g: i64, detail: String, now: i64) -> Result<Outcome, ReconcileError> {
        self.state.attempted = self.state.attempted.max(g);
        self.state
            .queue
            .push(ReportKind::ApplyFailed, g, detail.clone(), now);
        self.save()?;
        log(&format!("generation {g} not applied: {detail}"));
        Ok(Outcome::Failed {
            generation: g,
            detail,
        })
    }

    fn safe_apply(
        &mut self,
        g: i64,
        ruleset: Ruleset,
        settings: Settings,
        settings_json: serde_json::Value,
    ) -> Result<Outcome, ReconcileError> {
        let start = now_ms();
        let window = self.opts.confirm_within.as_millis() as u64;
        let before = self.state.clone();
        let rev = self.state.safe.next_revision();
        let t = self.state.safe.step(
            Millis(start as u64),
            Command::Apply {
                confirm_within_ms: Some(window),
            },
        )?;
        self.state.safe = t.state;
        self.state.revisions.insert(
            rev,
            Applied {
                generation: g,
                ruleset: ruleset.clone(),
                settings: settings_json,
                live: None,
            },
        );
        // The pending apply is on disk before the kernel changes.
        self.save()?;
        if let Err(e) = self.nft.apply_from(&ruleset, &format!("generation {g}")) {
            self.state = before;
            return self.failed(g, e.to_string(), now_ms());
        }
        let live = drift::normalise(self.nft.list_json()?.as_ref());
        if let Some(a) = self.state.revisions.get_mut(&rev) {
            a.live = Some(live);
        }
        let deadline = Instant::now() + self.opts.confirm_within;
        match self.prove(deadline) {
            Ok(()) => {
                let now = now_ms();
                let t = self.state.safe.step(Millis(now as u64), Command::Confirm)?;
                self.state.safe = t.state;
                self.state.attempted = self.state.attempted.max(g);
                self.state.drift_reported = false;
                self.state.prune();
                let detail = match settings::write(&settings, &self.opts.settings_dir) {
                    Ok(()) => format!("applied and proven in {} ms", now - start),
                    Err(e) => format!("ruleset applied; the settings were not written: {e}"),
                };
                self.state.queue.push(ReportKind::Applied, g, detail, now);
                self.save()?;
                log(&format!("enforcing generation {g}"));
                Ok(Outcome::Applied { generation: g })
            }
            Err(why) => {
                let now = now_ms();
                let at = now.max(start + window as i64);
                let t = self
                    .state
                    .safe
                    .step(Millis(at as u64), Command::Deadline { revision: rev })?;
                self.state.safe = t.state;
                let restored = self.state.current().cloned();
                match &restored {
                    Some(a) => self.nft.apply_from(&a.ruleset, "restored ruleset")?,
                    None => self.nft.remove_table()?,
                }
                let back = restored.as_ref().map(|a| a.generation).unwrap_or(0);
                if let Some(a) = self.state.revisions.get_mut(&self.state.safe.current) {
                    a.live = Some(drift::normalise(self.nft.list_json()?.as_ref()));
                }
                self.state.attempted = self.state.attempted.max(g);
                self.state.prune();
                let detail = format!(
                    "the center could not be reached over the agent channel within {} ms after the apply ({why}); generation {back} was restored",
                    window
                );
                self.state
                    .queue
                    .push(ReportKind::RolledBack, g, detail.clone(), now);
                self.save()?;
                log(&format!("rolled back generation {g}: {detail}"));
                Ok(Outcome::RolledBack {
                    generation: g,
                    detail,
                })
            }
        }
    }

    /// The proof step: `GET /agent/v1/whoami` answers 200 before `deadline`.
    fn prove(&self, deadline: Instant) -> Result<(), String> {
        let mut last = String::from("no attempt");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(last);
            }
            let mut c = self.client.clone();
            c.connect_timeout = left.min(Duration::from_secs(3));
            match c.request(
                "GET",
                "/agent/v1/whoami",
                None,
                left.min(Duration::from_secs(5)),
            ) {
                Ok(a) if a.status == 200 => return Ok(()),
                Ok(a) => last = format!("the center answered {}: {}", a.status, a.error_text()),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(
                Duration::from_millis(300).min(deadline.saturating_duration_since(Instant::now())),
            );
        }
    }

    /// Sends the queued reports; returns how many the center acknowledged.
    pub fn flush(&mut self) -> Result<usize, ReconcileError> {
        let mut total = 0;
        while !self.state.queue.is_empty() {
            let batch = wire::ReportBatch {
                reports: self.state.queue.batch(),
            };
            let body = serde_json::to_vec(&batch).expect("serializes");
            let a = self.client.request(
                "POST",
                "/agent/v1/reports",
                Some(&body),
                Duration::from_secs(30),
            )?;
            if a.status != 200 {
                return Err(ReconcileError::Center {
                    status: a.status,
                    detail: a.error_text(),
                });
            }
            let ack: wire::ReportAck =
                serde_json::from_slice(&a.body).map_err(|e| ReconcileError::Center {
                    status: 200,
                    detail: format!("the acknowledgement does not parse: {e}"),
                })?;
            let n = self.state.queue.ack(&ack.acknowledged);
            self.save()?;
            total += n;
            if n == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Compares the live table with the applied one; reports drift once, and restores
    /// the applied ruleset when `restore_drift` is on. Returns the difference found.
    pub fn check_drift(&mut self) -> Result<Option<String>, ReconcileError> {
        self.last_drift_check = Some(Instant::now());
        let Some(cur) = self.state.current().cloned() else {
            return Ok(None);
        };
        let Some(applied) = &cur.live else {
            return Ok(None);
        };
        let live = drift::normalise(self.nft.list_json()?.as_ref());
        let Some(diff) = drift::difference(applied, &live) else {
            if self.state.drift_reported {
                self.state.drift_reported = false;
                self.save()?;
            }
            return Ok(None);
        };
        let now = now_ms();
        if !self.state.drift_reported {
            self.state
                .queue
                .push(ReportKind::Drift, cur.generation, diff.clone(), now);
            self.state.drift_reported = true;
            log(&format!("drift: {diff}"));
        }
        if self.opts.restore_drift {
            self.nft.apply_from(&cur.ruleset, "applied ruleset")?;
            self.state.queue.push(
                ReportKind::DriftRestored,
                cur.generation,
                format!(
                    "the applied ruleset of generation {} was put back",
                    cur.generation
                ),
                now_ms(),
            );
            self.state.drift_reported = false;
            log("drift restored");
        }
        self.save()?;
        Ok(Some(diff))
    }

    /// Runs until `stop` is set: poll, apply, report, check drift, renew.
    pub fn run(&mut self, stop: &AtomicBool) {
        let mut backoff = Duration::from_millis(500);
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.flush() {
                log(&format!(
                    "reports not sent yet ({} queued): {e}",
                    self.state.queue.len()
                ));
            }
            if let Err(e) = enrol::renew_if_due(
                &self.dir,
                &self.client,
                now_ms(),
                self.opts.renew_before.as_millis() as i64,
            )
            .and_then(|renewed| {
                if renewed {
                    self.client = enrol::client(&self.dir, self.opts.center.as_deref())?;
                    log("certificate renewed");
                }
                Ok(())
            }) {
                log(&format!("certificate renewal failed: {e}"));
            }
            let wait = self
                .opts
                .poll_wait
                .min(self.opts.drift_interval)
                .max(Duration::from_secs(1));
            match self.poll(wait) {
                Ok(Some(d)) => {
                    backoff = Duration::from_millis(500);
                    match self.handle(d) {
                        Ok(Outcome::Refused { .. }) | Ok(Outcome::Ignored { .. }) => {
                            std::thread::sleep(wait)
                        }
                        Ok(_) => {}
                        Err(e) => log(&format!("apply error: {e}")),
                    }
                }
                Ok(None) => backoff = Duration::from_millis(500),
                Err(e) => {
                    log(&format!(
                        "center unreachable, enforcing generation {}: {e}",
                        self.state.applied_generation()
                    ));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(wait);
                }
            }
            let due = self
                .last_drift_check
                .is_none_or(|t| t.elapsed() >= self.opts.drift_interval);
            if due && let Err(e) = self.check_drift() {
                log(&format!("drift check failed: {e}"));
            }
        }
    }
}

/// Checks and compiles a policy document (without external list files: a published
/// policy is self-contained).
pub fn compile(policy_text: &str, generation: i64) -> Result<Ruleset, String> {
    let checked = policy::check(policy_text, &policy::Lists::new());
    let name = format!("generation {generation}");
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.display(&name).to_string())
        .collect();
    match checked.policy {
        Some(p) if errors.is_empty() => Ok(policy_file::ruleset(&p)),
        _ => Err(format!(
            "the policy does not compile:\n{}",
            if errors.is_empty() {
                "no policy".to_string()
            } else {
                errors.join("\n")
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_with_errors_is_not_compiled_and_says_where() {
        let e = compile("[zones\n", 3).unwrap_err();
        assert!(e.contains("generation 3:"), "{e}");
    }
}
