//! The users' use cases: `app.users()`

use super::*;
use crate::store::Tx;

capability!(
    /// The users' use cases.
    Users, users
);

impl Users<'_> {
    pub async fn list(self, actor: &Actor) -> Result<Vec<User>> {
        Ok(self.store.users(actor.scope()).await?)
    }

    pub async fn get(self, actor: &Actor, id: UserId) -> Result<User> {
        self.store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one private helper; the fields are all different"
    )]
    pub(super) async fn invite(
        self,
        tx: &mut Tx,
        actor: &Actor,
        customer_id: Option<CustomerId>,
        email_in: &str,
        display_name: &str,
        role: Role,
        now: i64,
    ) -> Result<(i64, String)> {
        let e = email(email_in)?;
        let name = text(Field::DisplayName, display_name, 200, false)?;
        if tx.email_taken(&e).await? {
            // Addresses are unique across the service (they sign in). A customer's
            // user must not learn that an address is in use elsewhere, so they get
            // the answer of any unusable input; provider administrators see why.
            if actor.customer_id.is_some() {
                return Err(AppError::invalid(Field::Email, Invalid::EmailUnusable));
            }
            return Err(AppError::Conflict(Conflict::AccountWithEmailExists {
                email: e,
            }));
        }
        if role == Role::Officer
            && let Some(c) = customer_id
            && tx.active_officer_count(c).await? > 0
        {
            return Err(AppError::Conflict(Conflict::OfficerExists));
        }
        let id = tx.insert_user(customer_id, &e, &name, role, now).await?;
        let token = auth::new_token()?;
        tx.insert_setup_link(
            &auth::token_hash(&token),
            Some(id),
            "invite",
            &auth::new_totp_secret()?,
            now + SETUP_LINK_TTL_MS,
            now,
        )
        .await?;
        tx.audit(
            record(
                actor,
                customer_id,
                "user.create",
                format!("user/{id}"),
                format!("email={e} role={role}"),
            ),
            now,
        )
        .await?;
        Ok((id.get(), token))
    }

    /// Creates an account; returns it and the token of its one-time setup link.
    pub async fn create(
        self,
        actor: &Actor,
        email_in: &str,
        display_name: &str,
        role: &str,
        customer_id: Option<CustomerId>,
        now: i64,
    ) -> Result<(User, String)> {
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARoleForUser {
                    role: role.to_string(),
                },
            )
        })?;
        let customer_id = match (actor.role, actor.customer_id) {
            (Role::Admin, None) => customer_id,
            (Role::Officer, Some(own)) => {
                if role != Role::Staff {
                    return Err(AppError::Forbidden(Forbidden::OfficerCreatesStaffOnly));
                }
                if customer_id.is_some_and(|c| c != own) {
                    return Err(AppError::NotFound);
                }
                Some(own)
            }
            _ => return Err(AppError::Forbidden(Forbidden::CreateUsers)),
        };
        match (role.is_provider(), customer_id) {
            (true, Some(_)) => {
                return Err(AppError::invalid(
                    Field::CustomerId,
                    Invalid::ProviderHasNoCustomer,
                ));
            }
            (false, None) => {
                return Err(AppError::invalid(
                    Field::CustomerId,
                    Invalid::CustomerUserNeedsCustomer,
                ));
            }
            _ => {}
        }
        let mut tx = self.store.begin().await?;
        if let Some(c) = customer_id
            && !tx.customer_exists(c).await?
        {
            return Err(AppError::NotFound);
        }
        let (id, token) = self
            .invite(
                &mut tx,
                actor,
                customer_id,
                email_in,
                display_name,
                role,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok((
            self.store
                .user(Scope::All, UserId::new(id))
                .await?
                .ok_or(AppError::NotFound)?,
            token,
        ))
    }

    pub async fn set_active(
        self,
        actor: &Actor,
        id: UserId,
        active: bool,
        now: i64,
    ) -> Result<User> {
        let target = self
            .store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let allowed = match actor.role {
            Role::Admin => actor.customer_id.is_none(),
            Role::Officer => target.role == Role::Staff,
            _ => false,
        };
        if !allowed {
            return Err(AppError::Forbidden(Forbidden::ChangeAccount));
        }
        let mut tx = self.store.begin().await?;
        if !active && target.active {
            last_admin_stays(&mut tx, &target).await?;
        }
        // Deactivation ends the user's sessions (in `set_active`) and tokens at once.
        tx.set_active(id, active).await?;
        let revoked = if active {
            0
        } else {
            tx.revoke_user_tokens(id, now, actor.user_id.get()).await?
        };
        tx.audit(
            record(
                actor,
                target.customer_id,
                if active {
                    "user.activate"
                } else {
                    "user.deactivate"
                },
                format!("user/{id}"),
                if active {
                    format!("role={}", target.role)
                } else {
                    format!("role={} tokens_revoked={revoked}", target.role)
                },
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Changes a provider user's role (administrators only; customer roles are fixed:
    /// an officer is replaced, not promoted). The user's sessions and API tokens end at
    /// once, on every center process (each request reads them from the database).
    pub async fn set_role(self, actor: &Actor, id: UserId, role: &str, now: i64) -> Result<User> {
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARole {
                    role: role.to_string(),
                },
            )
        })?;
        let target = self
            .store
            .user(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.may(Action::ChangeRoles) {
            return Err(AppError::Forbidden(Forbidden::ChangeRoles));
        }
        if !target.role.is_provider() || !role.is_provider() {
            return Err(AppError::invalid(
                Field::Role,
                Invalid::OnlyProviderRolesChange,
            ));
        }
        if target.id == actor.user_id && role != Role::Admin {
            return Err(AppError::invalid(Field::Role, Invalid::OwnAdminRole));
        }
        let mut tx = self.store.begin().await?;
        if role != Role::Admin && target.active {
            last_admin_stays(&mut tx, &target).await?;
        }
        tx.set_role(id, role).await?;
        let revoked = tx.revoke_user_tokens(id, now, actor.user_id.get()).await?;
        tx.audit(
            record(
                actor,
                None,
                "user.role",
                format!("user/{id}"),
                format!("from={} to={role} tokens_revoked={revoked}", target.role),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .user(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }
}

/// The rule that the provider keeps an active administrator: taking `target` away (by
/// deactivating it or giving it another role) is refused when it is the last one.
/// Locks the administrators' rows for the rest of `tx` (see `Tx::lock_active_admins`).
async fn last_admin_stays(tx: &mut crate::store::Tx, target: &User) -> Result<()> {
    if target.role != Role::Admin || target.customer_id.is_some() {
        return Ok(());
    }
    if tx.lock_active_admins().await? <= 1 {
        return Err(AppError::Conflict(Conflict::LastActiveAdmin));
    }
    Ok(())
}
