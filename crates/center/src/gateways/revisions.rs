//! Configuration revisions of a site (Art. 4-3 (2), the saving of settings) and their
//! workflow: draft → approved or rejected → published with the site's next generation.
//! A revision is immutable: only its state moves forward. Drafting runs the policy
//! checker and compiler; errors block, warnings are kept with the revision (the checker
//! is pure and deterministic, so they are recomputed from the stored text when shown).
//! A policy whose `[management] center` leaves out one of the operations center's
//! addresses (`operations_center`) is refused when drafted, rolled back to or published.
//!
//! The diff between two revisions is computed here: a line diff of the policy text and
//! of the settings, and a summary of what changes in the checked policies.

use mamori_center_model::ids::*;
use std::collections::BTreeMap;

use mamori_api::settings::{GatewaySettings, SnmpV3User};
use mamori_policy as policy;

use crate::app::record;
use crate::app::{AppError, Conflict, Field, Forbidden, Invalid, Lang, Result};
use crate::domain::{Actor, Scope, Site};
use mamori_center_model::authz::Action;
use mamori_center_model::messages::revisions::{ChangeItem, ChangeText};

pub use mamori_center_model::revisions::{NewRevision, Revision, RevisionState};

/// What a user asks to draft.
#[derive(Debug, Clone)]
pub struct Draft {
    pub policy_text: String,
    pub settings: GatewaySettings,
    pub reason: String,
    pub instruction_id: Option<InstructionId>,
}

/// The checker's and compiler's verdict on a revision's content.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub policy: Vec<policy::Diagnostic>,
    pub settings: Vec<mamori_api::settings::SettingsProblem>,
    /// Rules in the compiled table (when the policy checks).
    pub compiled_rules: Option<usize>,
}

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.policy.iter().any(|d| d.is_error()) || !self.settings.is_empty()
    }
}

/// Checks and compiles a policy and checks the settings. External lists are not
/// supplied by the center (the agent holds them): a declared list is a warning.
pub fn diagnose(policy_text: &str, settings: &GatewaySettings) -> Diagnostics {
    let checked = policy::check(policy_text, &policy::Lists::new());
    let compiled_rules = checked
        .policy
        .as_ref()
        .map(|p| policy::compile(p, policy::Mode::Sets).rule_count());
    Diagnostics {
        policy: checked.diagnostics,
        settings: settings.check(),
        compiled_rules,
    }
}

/// Pass phrases as they are shown to people who may not read them.
pub const MASK: &str = "********";

/// The settings with every SNMP pass phrase replaced by [`MASK`].
pub fn masked(s: &GatewaySettings) -> GatewaySettings {
    let mut s = s.clone();
    for u in &mut s.snmp_v3 {
        u.auth_pass = MASK.into();
        u.priv_pass = MASK.into();
    }
    s
}

/// Whether the caller may read SNMP pass phrases: provider staff who configure them.
pub fn sees_secrets(actor: &Actor) -> bool {
    actor.may(Action::ReadConfigSecrets)
}

/// Who drafts revisions.
pub fn may_draft(actor: &Actor) -> bool {
    actor.may(Action::DraftRevisions)
}

/// Who reviews revisions.
pub fn may_review(actor: &Actor) -> bool {
    actor.may(Action::ReviewRevisions)
}

/// Who publishes revisions.
pub fn may_publish(actor: &Actor) -> bool {
    actor.may(Action::PublishRevisions)
}

// ---- diff ------------------------------------------------------------------------------

/// One line of a line diff, and what it is: the wire types themselves.
pub use mamori_api::revisions::{DiffKind, DiffLine};

/// A line diff with three lines of context around each change.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine {
                kind: DiffKind::Gap,
                old: None,
                new: None,
                text: String::new(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => DiffKind::Context,
                    ChangeTag::Insert => DiffKind::Added,
                    ChangeTag::Delete => DiffKind::Removed,
                };
                out.push(DiffLine {
                    kind,
                    old: change.old_index().map(|n| n + 1),
                    new: change.new_index().map(|n| n + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                });
            }
        }
    }
    out
}

/// The settings as lines of text for the diff (pass phrases masked unless `secrets`).
pub fn settings_text(s: &GatewaySettings, secrets: bool) -> String {
    let s = if secrets { s.clone() } else { masked(s) };
    let mut out = String::new();
    match &s.syslog {
        Some(t) => out.push_str(&format!(
            "syslog = {}:{} {}\n",
            t.host,
            t.port,
            match t.protocol {
                mamori_api::settings::Transport::Udp => "udp",
                mamori_api::settings::Transport::Tcp => "tcp",
            }
        )),
        None => out.push_str("syslog = (none)\n"),
    }
    for u in &s.snmp_v3 {
        out.push_str(&format!(
            "snmp_v3 user={} auth={} auth_pass={} privacy={} priv_pass={}\n",
            u.user,
            snmp_auth(u),
            u.auth_pass,
            snmp_priv(u),
            u.priv_pass
        ));
    }
    for n in &s.ntp {
        out.push_str(&format!("ntp = {n}\n"));
    }
    for d in &s.dns {
        out.push_str(&format!("dns = {d}\n"));
    }
    out
}

pub fn snmp_auth(u: &SnmpV3User) -> &'static str {
    use mamori_api::settings::SnmpAuth;
    match u.auth {
        SnmpAuth::Sha => "sha",
        SnmpAuth::Sha256 => "sha256",
        SnmpAuth::Sha512 => "sha512",
    }
}

pub fn snmp_priv(u: &SnmpV3User) -> &'static str {
    use mamori_api::settings::SnmpPriv;
    match u.privacy {
        SnmpPriv::Aes => "aes",
        SnmpPriv::Aes256 => "aes256",
    }
}

/// What changes between two checked policies (and settings), by name: the wire type
/// itself, as the center computes it.
pub use mamori_api::revisions::ChangeSummary;

fn keyed<T: Clone, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> BTreeMap<K, T> {
    items.iter().map(|i| (key(i), i.clone())).collect()
}

/// Added, removed and changed keys of two maps.
fn compare<K: Ord + Clone, V: PartialEq>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
) -> (Vec<K>, Vec<K>, Vec<K>) {
    let added = new
        .keys()
        .filter(|k| !old.contains_key(k))
        .cloned()
        .collect();
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(k))
        .cloned()
        .collect();
    let changed = new
        .iter()
        .filter(|(k, v)| old.get(k).is_some_and(|o| o != *v))
        .map(|(k, _)| k.clone())
        .collect();
    (added, removed, changed)
}

/// Describes added/removed/changed items of one kind into `out`, in `lang`.
fn describe(
    lang: Lang,
    out: &mut Vec<String>,
    item: ChangeItem,
    (a, r, c): (Vec<String>, Vec<String>, Vec<String>),
) {
    out.extend(
        a.into_iter()
            .map(|name| ChangeText::Added { item, name }.text(lang)),
    );
    out.extend(
        r.into_iter()
            .map(|name| ChangeText::Removed { item, name }.text(lang)),
    );
    out.extend(
        c.into_iter()
            .map(|name| ChangeText::Changed { item, name }.text(lang)),
    );
}

/// The summary of changes between two policies and settings, in English (the API's).
pub fn summarize(
    old_text: &str,
    old_settings: &GatewaySettings,
    new_text: &str,
    new_settings: &GatewaySettings,
) -> ChangeSummary {
    summarize_in(Lang::En, old_text, old_settings, new_text, new_settings)
}

/// The summary of changes between two policies and settings, its descriptions in
/// `lang` (names of rules, objects and items stay as written).
pub fn summarize_in(
    lang: Lang,
    old_text: &str,
    old_settings: &GatewaySettings,
    new_text: &str,
    new_settings: &GatewaySettings,
) -> ChangeSummary {
    let mut s = ChangeSummary::default();
    settings_changes(lang, &mut s.settings, old_settings, new_settings);
    let lists = policy::Lists::new();
    let (old, new) = match (
        policy::check(old_text, &lists).policy,
        policy::check(new_text, &lists).policy,
    ) {
        (Some(o), Some(n)) => (o, n),
        _ => {
            s.unavailable = Some(ChangeText::Unavailable.text(lang));
            return s;
        }
    };
    // Rules by label (name, or position when unnamed); position and line alone are no
    // change.
    let norm = |r: &policy::Rule| {
        let mut r = r.clone();
        r.line = 0;
        r.index = 0;
        r.counter.clear();
        r
    };
    let old_rules: BTreeMap<String, policy::Rule> =
        old.rules.iter().map(|r| (r.label(), norm(r))).collect();
    let new_rules: BTreeMap<String, policy::Rule> =
        new.rules.iter().map(|r| (r.label(), norm(r))).collect();
    let (a, r, c) = compare(&old_rules, &new_rules);
    s.rules_added = a;
    s.rules_removed = r;
    s.rules_changed = c;
    let (a, r, c) = compare(&old.objects, &new.objects);
    s.objects_added = a;
    s.objects_removed = r;
    s.objects_changed = c;

    describe(
        lang,
        &mut s.zones,
        ChangeItem::Interface,
        compare(
            &keyed(&old.interfaces, |i| i.name.clone()),
            &keyed(&new.interfaces, |i| i.name.clone()),
        ),
    );
    let pair = |m: &BTreeMap<(String, String), policy::Action>| -> BTreeMap<String, String> {
        m.iter()
            .map(|((f, t), a)| (format!("{f}→{t}"), a.as_str().to_string()))
            .collect()
    };
    describe(
        lang,
        &mut s.zones,
        ChangeItem::Default,
        compare(&pair(&old.defaults), &pair(&new.defaults)),
    );
    if old.default_action != new.default_action {
        s.zones.push(
            ChangeText::DefaultAction {
                from: old.default_action.as_str().into(),
                to: new.default_action.as_str().into(),
            }
            .text(lang),
        );
    }

    let set =
        |v: &[String]| -> BTreeMap<String, ()> { v.iter().map(|z| (z.clone(), ())).collect() };
    describe(
        lang,
        &mut s.nat,
        ChangeItem::Masquerade,
        compare(&set(&old.masquerade), &set(&new.masquerade)),
    );
    let snat_key = |n: &policy::Snat| format!("{}→{}", n.zone, n.to);
    describe(
        lang,
        &mut s.nat,
        ChangeItem::SourceNat,
        compare(&keyed(&old.snat, snat_key), &keyed(&new.snat, snat_key)),
    );
    describe(
        lang,
        &mut s.nat,
        ChangeItem::PortForward,
        compare(
            &keyed(&old.port_forwards, |p| p.name.clone()),
            &keyed(&new.port_forwards, |p| p.name.clone()),
        ),
    );
    let one_key = |o: &policy::OneToOne| format!("{}↔{}", o.public, o.private);
    describe(
        lang,
        &mut s.nat,
        ChangeItem::OneToOne,
        compare(
            &keyed(&old.one_to_one, one_key),
            &keyed(&new.one_to_one, one_key),
        ),
    );
    describe(
        lang,
        &mut s.load_balancers,
        ChangeItem::LoadBalancer,
        compare(
            &keyed(&old.load_balancers, |l| l.name.clone()),
            &keyed(&new.load_balancers, |l| l.name.clone()),
        ),
    );
    s
}

fn settings_changes(
    lang: Lang,
    out: &mut Vec<String>,
    old: &GatewaySettings,
    new: &GatewaySettings,
) {
    if old.syslog != new.syslog {
        out.push(ChangeText::SyslogChanged.text(lang));
    }
    let users = |s: &GatewaySettings| keyed(&s.snmp_v3, |u| u.user.clone());
    let (ou, nu) = (users(old), users(new));
    let (a, r, c) = compare(&ou, &nu);
    out.extend(
        a.into_iter()
            .map(|user| ChangeText::SnmpUserAdded { user }.text(lang)),
    );
    out.extend(
        r.into_iter()
            .map(|user| ChangeText::SnmpUserRemoved { user }.text(lang)),
    );
    for u in c {
        let (o, n) = (&ou[&u], &nu[&u]);
        if o.auth != n.auth || o.privacy != n.privacy {
            out.push(ChangeText::SnmpAlgorithms { user: u.clone() }.text(lang));
        }
        if o.auth_pass != n.auth_pass || o.priv_pass != n.priv_pass {
            out.push(ChangeText::SnmpPassPhrase { user: u.clone() }.text(lang));
        }
    }
    if old.ntp != new.ntp {
        out.push(ChangeText::NtpChanged.text(lang));
    }
    if old.dns != new.dns {
        out.push(ChangeText::DnsChanged.text(lang));
    }
}

/// Two revisions of a site compared.
#[derive(Debug, Clone)]
pub struct RevisionDiff {
    pub from: Revision,
    pub to: Revision,
    pub policy: Vec<DiffLine>,
    pub settings: Vec<DiffLine>,
    pub summary: ChangeSummary,
}

impl RevisionDiff {
    /// The summary of this change with its descriptions in `lang` (`summary` is
    /// English, the API's).
    pub fn summary_in(&self, lang: Lang) -> ChangeSummary {
        summarize_in(
            lang,
            &self.from.policy_text,
            &self.from.settings,
            &self.to.policy_text,
            &self.to.settings,
        )
    }
}

// ---- use cases --------------------------------------------------------------------------

fn reason_text(field: Field, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, Invalid::Empty { field }));
    }
    let n = v.chars().count();
    if n > 1000 {
        return Err(AppError::invalid(
            field,
            Invalid::ReasonTooLong { field, n },
        ));
    }
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(AppError::invalid(
            field,
            Invalid::ControlCharacter { field, c: c as u32 },
        ));
    }
    Ok(v.to_string())
}

/// The error that blocks a draft: every policy error with its line:column, every
/// settings problem with its field.
fn blocking_error(d: &Diagnostics) -> Option<AppError> {
    let errors: Vec<&policy::Diagnostic> = d.policy.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect();
        let ja_list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}行{}列: {}", e.line, e.column, e.message_for("ja")))
            .collect();
        return Some(AppError::invalid(
            Field::PolicyText,
            Invalid::PolicyErrors {
                count: errors.len(),
                list_ja: ja_list.join("; "),
                list_en: list.join("; "),
            },
        ));
    }
    if !d.settings.is_empty() {
        let en: Vec<String> = d
            .settings
            .iter()
            .map(|p| format!("{}: {}", p.field, p.en))
            .collect();
        let ja: Vec<String> = d.settings.iter().map(|p| p.ja.clone()).collect();
        return Some(AppError::invalid(
            Field::Settings,
            Invalid::SettingsErrors {
                list_ja: ja.join("; "),
                list_en: en.join("; "),
            },
        ));
    }
    None
}

/// The error that refuses a policy whose `[management] center` leaves out one of the
/// operations center's addresses (`operations_center` in the center's configuration):
/// applied, it would pass the agent's proof (its own outbound channel still works) and
/// silently cut the center off the gateway's ping, SSH, SNMP and HTTPS. Names the
/// missing addresses and the line:column of `center`. A policy that does not check is
/// left to [`blocking_error`].
pub fn operations_center_error(
    policy_text: &str,
    required: &[policy::addr::IpRange],
) -> Option<AppError> {
    if required.is_empty() {
        return None;
    }
    let checked = policy::check(policy_text, &policy::Lists::new());
    let gap = policy::management_gap(
        policy_text,
        checked.policy.as_ref()?,
        required,
        policy::Severity::Error,
    )?;
    let list: Vec<String> = gap.missing.iter().map(|r| r.to_string()).collect();
    let quoted: Vec<String> = list.iter().map(|a| format!("\"{a}\"")).collect();
    let (line, column) = (gap.diagnostic.line, gap.diagnostic.column);
    Some(AppError::invalid(
        Field::PolicyText,
        Invalid::OperationsCenterLeftOut {
            line,
            column,
            count: list.len(),
            list_ja: list.join("、"),
            list_en: list.join(", "),
            quoted: quoted.join(", "),
        },
    ))
}

/// The audit record of a change to revision `number` of a site.
fn revision_record(
    actor: &Actor,
    rev_customer_id: i64,
    site_id: SiteId,
    number: i64,
    action: &str,
    detail: String,
) -> crate::audit::Record {
    record(
        actor,
        Some(CustomerId::new(rev_customer_id)),
        action,
        format!("site/{site_id}/revision/{number}"),
        detail,
    )
}

crate::app::capability!(
    /// The revision use cases.
    Revisions, revisions
);

impl Revisions<'_> {
    /// Ends a change to revision `number`: records it, commits, and reads the revision
    /// back as the caller sees it.
    #[allow(clippy::too_many_arguments)]
    async fn record_revision_change(
        self,
        mut tx: crate::store::Tx,
        actor: &Actor,
        customer_id: CustomerId,
        site_id: SiteId,
        number: i64,
        action: &str,
        detail: String,
        now: i64,
    ) -> Result<Revision> {
        tx.audit(
            revision_record(actor, customer_id.get(), site_id, number, action, detail),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get(actor, site_id, number).await
    }

    /// A site the caller may see.
    async fn revision_site(self, actor: &Actor, site_id: SiteId) -> Result<Site> {
        self.store
            .site(actor.scope(), site_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The revisions of a site, newest first.
    pub async fn history(self, actor: &Actor, site_id: SiteId) -> Result<(Site, Vec<Revision>)> {
        let site = self.revision_site(actor, site_id).await?;
        let list = self
            .store
            .revisions(Scope::Customer(site.customer_id), site_id)
            .await?;
        Ok((site, list))
    }

    /// One revision of a site, by its number.
    pub async fn get(self, actor: &Actor, site_id: SiteId, number: i64) -> Result<Revision> {
        let site = self.revision_site(actor, site_id).await?;
        self.store
            .revision(Scope::Customer(site.customer_id), site_id, number)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Drafts a new revision (coordinators, operators). Errors of the checker or of the
    /// settings refuse it; warnings stay with it.
    pub async fn draft(
        self,
        actor: &Actor,
        site_id: SiteId,
        draft: Draft,
        now: i64,
    ) -> Result<Revision> {
        self.draft_revision(actor, site_id, draft, None, now).await
    }

    async fn draft_revision(
        self,
        actor: &Actor,
        site_id: SiteId,
        draft: Draft,
        restored_from: Option<i64>,
        now: i64,
    ) -> Result<Revision> {
        let site = self.revision_site(actor, site_id).await?;
        if !may_draft(actor) {
            return Err(AppError::Forbidden(Forbidden::DraftRevisions));
        }
        let reason = reason_text(Field::ChangeReason, &draft.reason)?;
        if draft.policy_text.trim().is_empty() {
            return Err(AppError::invalid(
                Field::PolicyText,
                Invalid::Empty {
                    field: Field::PolicyText,
                },
            ));
        }
        let diags = diagnose(&draft.policy_text, &draft.settings);
        if let Some(e) = blocking_error(&diags) {
            return Err(e);
        }
        if let Some(e) =
            operations_center_error(&draft.policy_text, &self.settings.operations_center)
        {
            return Err(e);
        }
        if let Some(i) = draft.instruction_id
            && self
                .store
                .instruction(Scope::Customer(site.customer_id), i)
                .await?
                .is_none()
        {
            return Err(AppError::invalid(
                Field::InstructionId,
                Invalid::NoSuchInstruction { id: i.get() },
            ));
        }
        let settings_json = serde_json::to_string(&draft.settings).map_err(|e| {
            AppError::Conflict(Conflict::SettingsNotStored {
                detail: e.to_string(),
            })
        })?;
        let warnings = diags.policy.iter().filter(|d| !d.is_error()).count();
        let mut tx = self.store.begin().await?;
        let number = tx
            .insert_revision(
                &NewRevision {
                    customer_id: site.customer_id,
                    site_id,
                    policy_text: draft.policy_text,
                    settings_json,
                    author_id: actor.user_id,
                    reason: reason.clone(),
                    instruction_id: draft.instruction_id,
                    restored_from,
                },
                now,
            )
            .await?;
        let action = if restored_from.is_some() {
            "revision.rollback"
        } else {
            "revision.draft"
        };
        let detail = format!(
            "warnings={warnings} instruction={} restored_from={} reason={reason}",
            draft
                .instruction_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            restored_from.map(|i| i.to_string()).unwrap_or_default(),
        );
        self.record_revision_change(
            tx,
            actor,
            site.customer_id,
            site_id,
            number,
            action,
            detail,
            now,
        )
        .await
    }

    /// Rolls back to revision `number`: a new draft with its content (`restored_from`),
    /// which goes through the same workflow.
    pub async fn rollback(
        self,
        actor: &Actor,
        site_id: SiteId,
        number: i64,
        reason: &str,
        instruction_id: Option<InstructionId>,
        now: i64,
    ) -> Result<Revision> {
        let old = self.get(actor, site_id, number).await?;
        let draft = Draft {
            policy_text: old.policy_text,
            settings: old.settings,
            reason: reason.to_string(),
            instruction_id,
        };
        self.draft_revision(actor, site_id, draft, Some(number), now)
            .await
    }

    /// Approves (`approve`) or rejects a draft. With `four_eyes`, the reviewer must not
    /// be its author. A rejection needs a note.
    #[allow(clippy::too_many_arguments)]
    pub async fn review(
        self,
        actor: &Actor,
        site_id: SiteId,
        number: i64,
        approve: bool,
        note: &str,
        four_eyes: bool,
        now: i64,
    ) -> Result<Revision> {
        let rev = self.get(actor, site_id, number).await?;
        let action = if approve {
            "revision.approve"
        } else {
            "revision.reject"
        };
        if !may_review(actor) {
            return Err(AppError::Forbidden(Forbidden::ReviewRevisions));
        }
        if four_eyes && rev.author_id == actor.user_id {
            // A refused self-review is recorded: it is the control four-eyes exists for.
            let mut tx = self.store.begin().await?;
            let mut rec = revision_record(
                actor,
                rev.customer_id.get(),
                site_id,
                number,
                action,
                "four-eyes: the author may not review".into(),
            );
            rec.outcome = "denied".into();
            tx.audit(rec, now).await?;
            tx.commit().await?;
            return Err(AppError::Forbidden(Forbidden::FourEyes));
        }
        let note = note.trim();
        if !approve {
            reason_text(Field::ReviewNote, note)?;
        } else if note.chars().count() > 1000 {
            reason_text(Field::ReviewComment, note)?;
        }
        if rev.state != RevisionState::Draft {
            return Err(AppError::Conflict(Conflict::RevisionNotDraft {
                number,
                state: rev.state.to_string(),
            }));
        }
        let to = if approve {
            RevisionState::Approved
        } else {
            RevisionState::Rejected
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .review_revision(rev.id, to, actor.user_id.get(), note, now)
            .await?
        {
            return Err(AppError::Conflict(Conflict::RevisionReviewedMeanwhile {
                number,
            }));
        }
        self.record_revision_change(
            tx,
            actor,
            rev.customer_id,
            site_id,
            number,
            action,
            format!("note={note}"),
            now,
        )
        .await
    }

    /// Publishes an approved revision (operators, administrators): it gets the site's
    /// next generation, and the generation row is written in the same transaction.
    pub async fn publish(
        self,
        actor: &Actor,
        site_id: SiteId,
        number: i64,
        now: i64,
    ) -> Result<Revision> {
        let rev = self.get(actor, site_id, number).await?;
        if !may_publish(actor) {
            return Err(AppError::Forbidden(Forbidden::PublishRevisions));
        }
        if rev.state != RevisionState::Approved {
            return Err(AppError::Conflict(Conflict::RevisionNotApproved {
                number,
                state: rev.state.to_string(),
            }));
        }
        // Drafted before `operations_center` named these addresses: still refused.
        if let Some(e) = operations_center_error(&rev.policy_text, &self.settings.operations_center)
        {
            return Err(e);
        }
        let mut tx = self.store.begin().await?;
        let Some(generation) = tx.publish_revision(rev.id, actor.user_id, now).await? else {
            return Err(AppError::Conflict(Conflict::RevisionPublishedMeanwhile {
                number,
            }));
        };
        self.record_revision_change(
            tx,
            actor,
            rev.customer_id,
            site_id,
            number,
            "revision.publish",
            format!("generation={generation}"),
            now,
        )
        .await
    }

    /// Compares two revisions of a site (`from` old, `to` new).
    pub async fn diff(
        self,
        actor: &Actor,
        site_id: SiteId,
        from: i64,
        to: i64,
    ) -> Result<RevisionDiff> {
        let a = self.get(actor, site_id, from).await?;
        let b = self.get(actor, site_id, to).await?;
        let secrets = sees_secrets(actor);
        let policy = line_diff(&a.policy_text, &b.policy_text);
        let settings = line_diff(
            &settings_text(&a.settings, secrets),
            &settings_text(&b.settings, secrets),
        );
        let summary = summarize(&a.policy_text, &a.settings, &b.policy_text, &b.settings);
        Ok(RevisionDiff {
            from: a,
            to: b,
            policy,
            settings,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_numbers_lines_and_leaves_gaps() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "");
        let d = line_diff(&old, &new);
        let removed: Vec<_> = d.iter().filter(|l| l.kind == DiffKind::Removed).collect();
        let added: Vec<_> = d.iter().filter(|l| l.kind == DiffKind::Added).collect();
        assert_eq!(removed.len(), 2);
        assert_eq!(
            (removed[0].old, removed[0].text.as_str()),
            (Some(2), "line 2")
        );
        assert_eq!(
            (removed[1].old, removed[1].text.as_str()),
            (Some(18), "line 18")
        );
        assert_eq!(added.len(), 1);
        assert_eq!(
            (added[0].new, added[0].text.as_str()),
            (Some(2), "line two")
        );
        assert_eq!(d.iter().filter(|l| l.kind == DiffKind::Gap).count(), 1);
        assert!(line_diff(&old, &old).is_empty());
    }

    #[test]
    fn masked_settings_hide_every_pass_phrase() {
        let s: GatewaySettings = serde_json::from_str(
            r#"{"snmp_v3":[{"user":"ops","auth":"sha256","auth_pass":"secret-auth","privacy":"aes","priv_pass":"secret-priv"}]}"#,
        )
        .unwrap();
        let text = settings_text(&s, false);
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("auth_pass=********"), "{text}");
        assert!(settings_text(&s, true).contains("secret-auth"));
    }

    #[test]
    fn settings_changes_name_users_and_servers() {
        let a: GatewaySettings = serde_json::from_str(
            r#"{"ntp":["ntp1.example.jp"],"snmp_v3":[{"user":"ops","auth":"sha256","auth_pass":"aaaaaaaa","privacy":"aes","priv_pass":"bbbbbbbb"}]}"#,
        )
        .unwrap();
        let mut b = a.clone();
        b.snmp_v3[0].priv_pass = "cccccccc".into();
        b.ntp.push("ntp2.example.jp".into());
        let mut out = Vec::new();
        settings_changes(Lang::En, &mut out, &a, &b);
        assert_eq!(
            out,
            ["SNMP user ops: pass phrase changed", "NTP servers changed"]
        );
    }

    #[test]
    fn states_round_trip() {
        for s in RevisionState::ALL {
            assert_eq!(RevisionState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RevisionState::parse("deleted"), None);
    }
}
