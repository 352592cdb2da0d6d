//! The API tokens' use cases: `app.tokens()`

use super::*;

capability!(
    /// The API tokens' use cases.
    Tokens, tokens
);

impl Tokens<'_> {
    /// Issues an API token acting with `role` within `customer_id`, valid for
    /// `expires_in_days` days (1 to 3650) or until revoked. Nobody issues a token with
    /// more rights than their own.
    pub async fn create(
        self,
        actor: &Actor,
        name: &str,
        role: &str,
        customer_id: Option<CustomerId>,
        expires_in_days: Option<i64>,
        now: i64,
    ) -> Result<(i64, String, Role, Option<i64>)> {
        let name = text(Field::Name, name, 100, false)?;
        let role = Role::parse(role).ok_or_else(|| {
            AppError::invalid(
                Field::Role,
                Invalid::NotARole {
                    role: role.to_string(),
                },
            )
        })?;
        let expires_at = match expires_in_days {
            None => None,
            Some(d @ 1..=3650) => Some(now + d * 24 * 3600 * 1000),
            Some(d) => {
                return Err(AppError::invalid(
                    Field::ExpiresInDays,
                    Invalid::TokenDays { days: d },
                ));
            }
        };
        if !token_role_allowed(actor.role, role) {
            return Err(AppError::Forbidden(Forbidden::TokenRole));
        }
        let customer_id = match actor.scope() {
            Scope::Customer(own) => {
                if customer_id.is_some_and(|c| c != own) {
                    return Err(AppError::NotFound);
                }
                Some(own)
            }
            Scope::All => customer_id,
        };
        let mut tx = self.store.begin().await?;
        if let Some(c) = customer_id
            && !tx.customer_exists(c).await?
        {
            return Err(AppError::NotFound);
        }
        let token = auth::new_token()?;
        let id = tx
            .insert_api_token(
                &auth::token_hash(&token),
                actor.user_id,
                &name,
                role,
                customer_id,
                expires_at,
                now,
            )
            .await?;
        tx.audit(
            record(
                actor,
                customer_id,
                "token.create",
                format!("token/{id}"),
                format!(
                    "name={name} role={role} expires={}",
                    expires_at.map_or_else(|| "never".to_string(), rfc3339)
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((id, token, role, customer_id.map(CustomerId::get)))
    }

    /// Whether `actor` may see and revoke token `t`: its owner, or an administrator;
    /// either only within the caller's customer when the caller is scoped to one.
    fn token_visible(actor: &Actor, t: &ApiToken) -> bool {
        (actor.may(Action::ManageAllTokens) || t.user_id == actor.user_id)
            && match actor.scope() {
                Scope::All => true,
                Scope::Customer(c) => t.customer_id == Some(c),
            }
    }

    /// The tokens the caller may see, newest first: their own; an administrator's, every
    /// one (within the caller's customer when scoped to one).
    pub async fn list(self, actor: &Actor) -> Result<Vec<ApiToken>> {
        let filter = TokenFilter {
            owner: (!actor.may(Action::ManageAllTokens)).then_some(actor.user_id.get()),
            scope: actor.scope(),
        };
        Ok(self.store.api_tokens(filter).await?)
    }

    /// Revokes a token (its owner, or an administrator); another's token, or one of
    /// another customer, is `NotFound`. Revoking a revoked token changes nothing.
    pub async fn revoke(self, actor: &Actor, id: i64, now: i64) -> Result<ApiToken> {
        let mut tx = self.store.begin().await?;
        let t = tx
            .api_token(id)
            .await?
            .filter(|t| Self::token_visible(actor, t))
            .ok_or(AppError::NotFound)?;
        if tx.revoke_api_token(id, now, actor.user_id).await? {
            tx.audit(
                record(
                    actor,
                    t.customer_id,
                    "token.revoke",
                    format!("token/{id}"),
                    format!("name={} owner={}", t.name, t.owner),
                ),
                now,
            )
            .await?;
        }
        let t = tx.api_token(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(t)
    }
}
