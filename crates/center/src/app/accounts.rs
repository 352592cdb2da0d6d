//! The accounts' use cases: bootstrap and setup links, sign-in and sessions, the caller's own account: `app.accounts()`

use super::*;

capability!(
    /// The accounts' use cases.
    Accounts, accounts
);

impl Accounts<'_> {
    // ---- bootstrap and setup links -----------------------------------------------

    /// When no active administrator exists, issues a fresh one-time bootstrap link
    /// (retiring older ones) and returns its token.
    pub async fn ensure_bootstrap(self, now: i64) -> Result<Option<String>> {
        if self.store.user_count_with_role(Role::Admin).await? > 0 {
            return Ok(None);
        }
        let token = auth::new_token()?;
        let secret = auth::new_totp_secret()?;
        let mut tx = self.store.begin().await?;
        // Checked again under the write lock: another process may have finished the
        // bootstrap meanwhile.
        if tx.admin_count().await? > 0 {
            return Ok(None);
        }
        // Links of earlier runs are retired; links issued in the last few minutes stay
        // valid, so that several processes starting at once on an empty database each
        // print a link that works (the first one used voids the others).
        tx.retire_bootstrap_links_before(now - BOOTSTRAP_CONCURRENT_MS)
            .await?;
        tx.insert_setup_link(
            &auth::token_hash(&token),
            None,
            "bootstrap",
            &secret,
            now + 24 * 3600 * 1000,
            now,
        )
        .await?;
        tx.audit(
            Record {
                actor_id: None,
                actor: "system".into(),
                customer_id: None,
                source: "startup".into(),
                action: "bootstrap.link".into(),
                object: "setup".into(),
                outcome: "ok".into(),
                detail: "one-time link to create the first administrator issued".into(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// A valid (unused, unexpired) setup link and the account it is for.
    pub async fn setup_link(self, token: &str, now: i64) -> Result<(SetupLink, Option<User>)> {
        let link = self
            .store
            .setup_link(&auth::token_hash(token))
            .await?
            .filter(|l| !l.used && l.expires_at > now)
            .ok_or(AppError::NotFound)?;
        let user = match link.user_id {
            Some(id) => Some(
                self.store
                    .user(Scope::All, id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        Ok((link, user))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of the setup form, passed as they came"
    )]
    pub async fn complete_setup(
        self,
        token: &str,
        email_in: Option<&str>,
        display_name: &str,
        password_in: &str,
        totp_code: Option<&str>,
        source: &str,
        now: i64,
    ) -> Result<User> {
        let (link, user) = self.setup_link(token, now).await?;
        let display_name = text(Field::DisplayName, display_name, 200, false)?;
        password(password_in)?;
        let role = user.as_ref().map_or(Role::Admin, |u| u.role);
        let code = totp_code.map(str::trim).filter(|c| !c.is_empty());
        let step = code.and_then(|c| auth::totp_step(&link.totp_secret, c, now / 1000));
        let totp = match code {
            Some(_) if step.is_some() => Some(link.totp_secret.as_str()),
            Some(_) => {
                return Err(AppError::invalid(Field::TotpCode, Invalid::TotpMismatch));
            }
            None if role.totp_required() => {
                return Err(AppError::invalid(Field::TotpCode, Invalid::TotpNeeded));
            }
            None => None,
        };
        let hash = auth::hash_password_async(password_in).await?;
        let mut tx = self.store.begin().await?;
        let user_id = match &user {
            Some(u) => u.id,
            None => {
                let e = email(email_in.unwrap_or(""))?;
                if tx.email_taken(&e).await? {
                    return Err(AppError::Conflict(Conflict::AccountExists));
                }
                tx.insert_user(None, &e, &display_name, Role::Admin, now)
                    .await?
            }
        };
        if !tx.use_setup_link(&link.token_hash).await? {
            return Err(AppError::NotFound);
        }
        tx.set_credentials(user_id, &display_name, &hash, totp)
            .await?;
        if let Some(step) = step {
            // The enrolment code cannot be replayed to sign in.
            tx.claim_totp_step(user_id, step).await?;
        }
        if user.is_none() {
            // The first administrator exists: every other bootstrap link is void.
            tx.retire_bootstrap_links().await?;
        }
        let label = match &user {
            Some(u) => u.email.clone(),
            None => email(email_in.unwrap_or(""))?,
        };
        tx.audit(
            Record {
                actor_id: Some(user_id.get()),
                actor: label,
                customer_id: (user.as_ref().and_then(|u| u.customer_id)).map(CustomerId::get),
                source: source.into(),
                action: if user.is_none() {
                    "bootstrap.admin"
                } else {
                    "account.setup"
                }
                .into(),
                object: format!("user/{user_id}"),
                outcome: "ok".into(),
                detail: format!("role={role} totp={}", totp.is_some()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, user_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    // ---- sign-in -------------------------------------------------------------------
    //
    // Every attempt on an existing account is counted in the database before it is
    // evaluated (`Tx::admit_signin`: one conditional UPDATE), so concurrent attempts
    // never evaluate more guesses than the lock allows; a locked account admits nothing
    // and answers exactly like a wrong password. Password hashing runs off the async
    // threads (`auth::verify_password_async`).

    async fn audit_signin(
        self,
        user: Option<&User>,
        label: &str,
        source: &str,
        outcome: &str,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.audit(
            Record {
                actor_id: (user.map(|u| u.id)).map(UserId::get),
                actor: label.into(),
                customer_id: (user.and_then(|u| u.customer_id)).map(CustomerId::get),
                source: source.into(),
                action: "signin".into(),
                object: user.map_or_else(|| "user/?".into(), |u| format!("user/{}", u.id)),
                outcome: outcome.into(),
                detail: detail.into(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An admitted attempt failed: it stays counted, the account is locked when the
    /// count reached the limit (and its owner told), the failure is audited.
    async fn fail_signin(
        self,
        c: &Credentials,
        source: &str,
        detail: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<AppError> {
        let mut tx = self.store.begin().await?;
        let locked = tx
            .fail_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.audit(
            Record {
                actor_id: Some(c.user.id.get()),
                actor: c.user.email.clone(),
                customer_id: c.user.customer_id.map(CustomerId::get),
                source: source.into(),
                action: "signin".into(),
                object: format!("user/{}", c.user.id),
                outcome: "failed".into(),
                detail: if locked.is_some() {
                    format!("{detail}; account locked")
                } else {
                    detail.into()
                },
            },
            now,
        )
        .await?;
        tx.commit().await?;
        if let Some(until) = locked {
            self.notify_lock(&c.user, source, until, guard, now);
        }
        Ok(signin_refused())
    }

    /// An attempt the account's lock refused before evaluating it: audited, answered
    /// like a wrong password. `now_locked`: this attempt found the count used up and
    /// locked the account.
    async fn deny_signin(
        self,
        user: &User,
        source: &str,
        detail: &str,
        locked: Option<i64>,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<AppError> {
        self.audit_signin(Some(user), &user.email, source, "denied", detail, now)
            .await?;
        if let Some(until) = locked {
            self.notify_lock(user, source, until, guard, now);
        }
        Ok(signin_refused())
    }

    /// Tells the owner of a just-locked account by e-mail, in the background (the
    /// answer to the attempt must not wait for the relay, nor differ in its timing);
    /// the sending is audited.
    fn notify_lock(self, user: &User, source: &str, until: i64, guard: &Guard<'_>, now: i64) {
        let Some(mail) = guard.mail.clone() else {
            return;
        };
        let app = App::clone(&self);
        let user = user.clone();
        let source = source.to_string();
        tokio::spawn(async move {
            let (subject, body) = signin::lock_notice(&user.email, &source, until);
            let sent = crate::adapters::smtp::send(
                &mail.smtp,
                &mail.from,
                &user.email,
                &subject,
                &body,
                now,
            )
            .await;
            let (outcome, detail) = match &sent {
                Ok(()) => ("ok", format!("to={}", user.email)),
                Err(e) => ("failed", format!("to={} error={e}", user.email)),
            };
            let audited = async {
                let mut tx = app.store.begin().await?;
                tx.audit(
                    Record {
                        actor_id: None,
                        actor: "system".into(),
                        customer_id: user.customer_id.map(CustomerId::get),
                        source: "smtp".into(),
                        action: "signin.lock_notice".into(),
                        object: format!("user/{}", user.id),
                        outcome: outcome.into(),
                        detail,
                    },
                    now,
                )
                .await?;
                tx.commit().await
            };
            if let Err(e) = audited.await {
                tracing::error!(error = %e, "cannot audit the lock notice");
            }
        });
    }

    /// Checks e-mail and password. The attempt is counted against the account before the
    /// password is verified; on success it is still counted (the caller completes the
    /// sign-in, which resets the count, or releases the attempt for the TOTP step).
    pub async fn check_password(
        self,
        email_in: &str,
        password_in: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<Credentials> {
        let e = email_in.trim().to_lowercase();
        let creds = self.store.credentials_by_email(&e).await?;
        let Some(c) = creds else {
            auth::verify_password_async(password_in, None).await;
            self.audit_signin(
                None,
                &e.chars().take(254).collect::<String>(),
                source,
                "failed",
                "unknown account",
                now,
            )
            .await?;
            return Err(signin_refused());
        };
        let mut tx = self.store.begin().await?;
        let admission = tx
            .admit_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.commit().await?;
        if let Admission::Locked { until, now_locked } = admission {
            // Verified against nothing, so that the answer takes as long as a wrong
            // password's.
            auth::verify_password_async(password_in, None).await;
            return Err(self
                .deny_signin(
                    &c.user,
                    source,
                    "account locked",
                    now_locked.then_some(until),
                    guard,
                    now,
                )
                .await?);
        }
        let ok = auth::verify_password_async(password_in, c.password_hash.as_deref()).await;
        if !ok || !c.user.active {
            return Err(self
                .fail_signin(
                    &c,
                    source,
                    if c.user.active {
                        "wrong password"
                    } else {
                        "inactive account"
                    },
                    guard,
                    now,
                )
                .await?);
        }
        Ok(c)
    }

    /// Completes an admitted attempt: claims the TOTP code's time step (`step`), resets
    /// the count unless the account was locked meanwhile, replaces the pending session
    /// (`pending`) and starts a full one; audited. A replayed code or a lock that won
    /// the race refuses the sign-in.
    async fn open_session(
        self,
        c: &Credentials,
        step: Option<i64>,
        pending: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<String> {
        let token = auth::new_token()?;
        let csrf = auth::new_token()?;
        let mut tx = self.store.begin().await?;
        // A code is good once: the step is claimed atomically, so a replay (even to
        // another center process, even concurrently) fails like a wrong code.
        if let Some(step) = step
            && !tx.claim_totp_step(c.user.id, step).await?
        {
            drop(tx);
            return Err(self
                .fail_signin(c, source, "TOTP code already used", guard, now)
                .await?);
        }
        if !tx.finish_signin(c.user.id, now).await? {
            drop(tx);
            return Err(self
                .deny_signin(&c.user, source, "account locked", None, guard, now)
                .await?);
        }
        // Expired sessions and used or expired setup links are purged as sessions start.
        tx.purge_expired(now).await?;
        if let Some(p) = pending {
            tx.delete_session(p).await?;
        }
        tx.insert_session(
            &auth::token_hash(&token),
            c.user.id,
            "full",
            &csrf,
            now,
            now + self.settings.session_ttl_ms,
        )
        .await?;
        tx.audit(
            Record {
                actor_id: Some(c.user.id.get()),
                actor: c.user.email.clone(),
                customer_id: c.user.customer_id.map(CustomerId::get),
                source: source.into(),
                action: "signin".into(),
                object: format!("user/{}", c.user.id),
                outcome: "ok".into(),
                detail: format!("totp={}", c.user.totp_enabled),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Checks an admitted attempt's TOTP code (throttled per account) and opens the
    /// session. `throttled` is the error of a code the per-account throttle refuses.
    #[expect(
        clippy::too_many_arguments,
        reason = "one private step of the sign-in; the values are all different"
    )]
    async fn totp_then_session(
        self,
        c: &Credentials,
        code: &str,
        pending: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        throttled: AppError,
        now: i64,
    ) -> Result<String> {
        let account = signin::Key::Account(c.user.id.get());
        if !guard.throttle.admit(account, now, guard.totp_per_account) {
            self.fail_signin(
                c,
                source,
                "too many TOTP codes for this account",
                guard,
                now,
            )
            .await?;
            return Err(throttled);
        }
        let secret = c.totp_secret.as_deref().unwrap_or("");
        let Some(step) = auth::totp_step(secret, code, now / 1000) else {
            return Err(self
                .fail_signin(c, source, "wrong TOTP code", guard, now)
                .await?);
        };
        let token = self
            .open_session(c, Some(step), pending, source, guard, now)
            .await?;
        guard.throttle.forgive(account, now);
        Ok(token)
    }

    /// One-step sign-in (API): password and TOTP code together, with no throttle and
    /// no lock notice (for tools and seeders; the API uses [`App::sign_in_guarded`]).
    pub async fn sign_in(
        self,
        email_in: &str,
        password_in: &str,
        code: Option<&str>,
        source: &str,
        now: i64,
    ) -> Result<(String, User)> {
        self.sign_in_guarded(email_in, password_in, code, source, &Guard::none(), now)
            .await
    }

    /// One-step sign-in (API): password and TOTP code together. Every refusal, even
    /// that of the per-account TOTP throttle, is the same answer, so it never tells
    /// that the password was right.
    pub async fn sign_in_guarded(
        self,
        email_in: &str,
        password_in: &str,
        code: Option<&str>,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<(String, User)> {
        let c = self
            .check_password(email_in, password_in, source, guard, now)
            .await?;
        let token = if c.user.totp_enabled {
            let Some(code) = code else {
                return Err(self
                    .fail_signin(&c, source, "TOTP code missing", guard, now)
                    .await?);
            };
            self.totp_then_session(&c, code, None, source, guard, signin_refused(), now)
                .await?
        } else {
            self.open_session(&c, None, None, source, guard, now)
                .await?
        };
        Ok((token, c.user))
    }

    /// The panel's first step.
    pub async fn sign_in_password(
        self,
        email_in: &str,
        password_in: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<SignIn> {
        let c = self
            .check_password(email_in, password_in, source, guard, now)
            .await?;
        if !c.user.totp_enabled {
            let token = self
                .open_session(&c, None, None, source, guard, now)
                .await?;
            return Ok(SignIn::Done {
                token,
                user: c.user,
            });
        }
        // The password was right: the attempt is taken back, the TOTP step counts by
        // itself.
        let pending_token = auth::new_token()?;
        let mut tx = self.store.begin().await?;
        if !tx.release_signin(c.user.id, now).await? {
            drop(tx);
            return Err(self
                .deny_signin(&c.user, source, "account locked", None, guard, now)
                .await?);
        }
        tx.purge_expired(now).await?;
        tx.insert_session(
            &auth::token_hash(&pending_token),
            c.user.id,
            "password",
            &auth::new_token()?,
            now,
            now + PENDING_SESSION_TTL_MS,
        )
        .await?;
        tx.commit().await?;
        Ok(SignIn::NeedTotp { pending_token })
    }

    /// The panel's second step: the pending session's TOTP code, counted against the
    /// account like a password and throttled per account. The pending session is
    /// replaced by a new full one.
    pub async fn sign_in_totp(
        self,
        pending_token: &str,
        code: &str,
        source: &str,
        guard: &Guard<'_>,
        now: i64,
    ) -> Result<String> {
        let hash = auth::token_hash(pending_token);
        let s = self
            .store
            .session(&hash)
            .await?
            .filter(|s| s.stage == "password" && s.expires_at > now)
            .ok_or_else(|| AppError::Unauthenticated(Unauthenticated::SigninExpired))?;
        let c = self
            .store
            .credentials_by_id(s.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let admission = tx
            .admit_signin(
                c.user.id,
                now,
                self.settings.lockout_failures,
                self.settings.lockout_ms,
            )
            .await?;
        tx.commit().await?;
        if let Admission::Locked { until, now_locked } = admission {
            return Err(self
                .deny_signin(
                    &c.user,
                    source,
                    "account locked",
                    now_locked.then_some(until),
                    guard,
                    now,
                )
                .await?);
        }
        if !c.user.active {
            return Err(self
                .fail_signin(&c, source, "inactive account", guard, now)
                .await?);
        }
        self.totp_then_session(
            &c,
            code,
            Some(&hash),
            source,
            guard,
            AppError::Throttled(Throttled::TotpCodes),
            now,
        )
        .await
    }

    pub async fn sign_out(self, actor: &Actor, token: &str, now: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&auth::token_hash(token)).await?;
        tx.audit(
            record(
                actor,
                actor.customer_id,
                "signout",
                format!("user/{}", actor.user_id),
                String::new(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind a full session token (panel cookie or bearer).
    pub async fn session_actor(
        self,
        token: &str,
        source: &str,
        now: i64,
    ) -> Result<Option<(Actor, Session)>> {
        let Some((s, u)) = self
            .store
            .session_with_user(&auth::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        if s.stage != "full" || s.expires_at <= now || !u.active {
            return Ok(None);
        }
        let actor = Actor {
            user_id: u.id,
            label: u.email.clone(),
            role: u.role,
            customer_id: u.customer_id,
            source: source.into(),
            locale: u.locale.clone(),
        };
        Ok(Some((actor, s)))
    }

    /// The caller behind an `Authorization: Bearer` value: a session or an API token.
    pub async fn bearer_actor(self, token: &str, source: &str, now: i64) -> Result<Option<Actor>> {
        if let Some((a, _)) = self.session_actor(token, source, now).await? {
            return Ok(Some(a));
        }
        // The token and its owner as they are now, in one query: a token never acts
        // with more than its owner's current role allows, nor for another customer
        // than its owner's.
        let Some((t, u)) = self
            .store
            .api_token_with_owner(&auth::token_hash(token))
            .await?
        else {
            return Ok(None);
        };
        let usable = !t.revoked
            && t.expires_at.is_none_or(|e| e > now)
            && u.active
            && token_role_allowed(u.role, t.role)
            && u.customer_id.is_none_or(|c| t.customer_id == Some(c));
        if !usable {
            return Ok(None);
        }
        if t.last_used_at.is_none_or(|at| at <= now - TOKEN_TOUCH_MS)
            && let Err(e) = self.store.touch_api_token(t.id, now, TOKEN_TOUCH_MS).await
        {
            tracing::warn!(error = %e, token = t.id, "cannot record the token's last use");
        }
        Ok(Some(Actor {
            user_id: u.id,
            label: format!("{} (token {})", u.email, t.name),
            role: t.role,
            customer_id: t.customer_id,
            source: source.into(),
            locale: u.locale,
        }))
    }

    /// The caller's own account (an API token's creator).
    pub async fn me(self, actor: &Actor) -> Result<User> {
        self.store
            .user(Scope::All, actor.user_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn set_locale(self, actor: &Actor, locale: Option<&str>, now: i64) -> Result<()> {
        let locale = match locale {
            None | Some("") => None,
            Some(l @ ("ja" | "en")) => Some(l),
            Some(_) => {
                return Err(AppError::invalid(Field::Locale, Invalid::NotALocale));
            }
        };
        let mut tx = self.store.begin().await?;
        tx.set_locale(actor.user_id, locale).await?;
        tx.audit(
            record(
                actor,
                actor.customer_id,
                "user.locale",
                format!("user/{}", actor.user_id),
                locale.unwrap_or("browser").into(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
