//! The instructions' use cases: `app.instructions()`.

use super::*;

capability!(
    /// The instructions' use cases.
    Instructions, instructions
);

impl Instructions<'_> {
    fn instruction_scope(actor: &Actor) -> Result<Scope> {
        if actor.may(Action::ReadInstructions) {
            Ok(actor.scope())
        } else {
            Err(AppError::Forbidden(Forbidden::SeeInstructions))
        }
    }

    pub async fn list(self, actor: &Actor, limit: i64) -> Result<Vec<Instruction>> {
        self.page(actor, None, limit).await
    }

    /// Newest first, at most `limit` (1 to 500), those with an id below `before` when
    /// given (keyset pagination: pass the last id of the previous page).
    pub async fn page(
        self,
        actor: &Actor,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Instruction>> {
        let scope = Self::instruction_scope(actor)?;
        Ok(self
            .store
            .instructions_before(scope, before, limit.clamp(1, 500))
            .await?)
    }

    pub async fn get(
        self,
        actor: &Actor,
        id: InstructionId,
    ) -> Result<(Instruction, Vec<Comment>)> {
        let scope = Self::instruction_scope(actor)?;
        let i = self
            .store
            .instruction(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let c = self.store.comments(scope, id).await?;
        Ok((i, c))
    }

    /// Art. 6-3(3): only the customer's security officer instructs the provider.
    pub async fn submit(
        self,
        actor: &Actor,
        subject: &str,
        body: &str,
        kind: &str,
        now: i64,
    ) -> Result<Instruction> {
        let (Role::Officer, Some(customer_id)) = (actor.role, actor.customer_id) else {
            return Err(AppError::Forbidden(Forbidden::SubmitInstructions));
        };
        let subject = text(Field::Subject, subject, 200, false)?;
        let body = text(Field::Body, body, 10_000, true)?;
        let kind = InstructionKind::parse(kind).ok_or_else(|| {
            AppError::invalid(
                Field::Kind,
                Invalid::NotAnInstructionKind {
                    kind: kind.to_string(),
                },
            )
        })?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_instruction(customer_id, actor.user_id, &subject, &body, kind, now)
            .await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                "instruction.submit",
                format!("instruction/{id}"),
                format!("kind={} subject={subject}", kind.as_str()),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .instruction(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Accept, reject (with a reason) or mark done.
    pub async fn decide(
        self,
        actor: &Actor,
        id: InstructionId,
        to: InstructionState,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Instruction> {
        let scope = Self::instruction_scope(actor)?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(text(Field::Reason, r, 2000, true)?),
            None if to == InstructionState::Rejected => {
                return Err(AppError::invalid(
                    Field::Reason,
                    Invalid::RejectionNeedsReason,
                ));
            }
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let i = tx.instruction(scope, id).await?.ok_or(AppError::NotFound)?;
        if !actor.role.handles_instructions() {
            return Err(AppError::Forbidden(Forbidden::ActOnInstructions));
        }
        if !i.state.can_become(to)
            || !tx
                .set_instruction_state(id.get(), i.state, to, reason.as_deref(), now)
                .await?
        {
            return Err(AppError::Conflict(Conflict::InstructionState {
                from: i.state.as_str().into(),
                to: to.as_str().into(),
            }));
        }
        let action = match to {
            InstructionState::Accepted => "instruction.accept",
            InstructionState::Rejected => "instruction.reject",
            InstructionState::Done => "instruction.done",
            InstructionState::Submitted => "instruction.submit",
        };
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                action,
                format!("instruction/{id}"),
                reason.map(|r| format!("reason={r}")).unwrap_or_default(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .instruction(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn comment(
        self,
        actor: &Actor,
        id: InstructionId,
        body: &str,
        now: i64,
    ) -> Result<Comment> {
        let scope = Self::instruction_scope(actor)?;
        let body = text(Field::Body, body, 10_000, true)?;
        let mut tx = self.store.begin().await?;
        let i = tx.instruction(scope, id).await?.ok_or(AppError::NotFound)?;
        if !actor.may(Action::CommentOnInstructions) {
            return Err(AppError::Forbidden(Forbidden::StaffComment));
        }
        let cid = tx
            .insert_comment(id, i.customer_id, actor.user_id, &body, now)
            .await?;
        tx.audit(
            record(
                actor,
                Some(i.customer_id),
                "instruction.comment",
                format!("instruction/{id}"),
                format!("comment={cid}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let comments = self.store.comments(Scope::All, id).await?;
        comments
            .into_iter()
            .find(|c| c.id == cid)
            .ok_or(AppError::NotFound)
    }
}
