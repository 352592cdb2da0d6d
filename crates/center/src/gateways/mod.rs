//! Managed gateways: the equipment inventory and its history (Art. 15). The use cases
//! take the caller and `now`, check roles and scope, and audit every change in its
//! transaction, like `app`.

pub mod enrol;
pub use mamori_center_model::inventory;
pub mod listener;
pub mod reconcile;
pub mod revisions;

use crate::app::{AppError, Conflict, Field, Forbidden, Invalid, Result, record};
use crate::domain::{Actor, Scope};
use inventory::{EquipmentState, Move, Placement};
use mamori_center_model::authz::Action;
use mamori_center_model::ids::*;

pub use mamori_center_model::inventory::{
    AgentCert, EnrolmentToken, Equipment, EquipmentEvent, EquipmentFilter,
};

/// A single-line text field: trimmed, not empty, at most `max` characters, no control
/// characters.
fn line(field: Field, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, Invalid::Empty { field }));
    }
    let n = v.chars().count();
    if n > max {
        return Err(AppError::invalid(field, Invalid::TooLong { field, n, max }));
    }
    crate::app::typed(field, v, false)?;
    Ok(v.to_string())
}

/// Who sees the inventory: provider staff, and customers (their own units).
fn inventory_scope(actor: &Actor) -> Scope {
    actor.scope()
}

crate::app::capability!(
    /// The inventory's use cases.
    Inventory, inventory
);

impl Inventory<'_> {
    pub async fn list(self, actor: &Actor, f: &EquipmentFilter) -> Result<Vec<Equipment>> {
        Ok(self.store.equipment_list(inventory_scope(actor), f).await?)
    }

    /// A unit and the history the caller may see.
    pub async fn get(
        self,
        actor: &Actor,
        id: EquipmentId,
    ) -> Result<(Equipment, Vec<EquipmentEvent>)> {
        let scope = inventory_scope(actor);
        let e = self
            .store
            .equipment(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let events = self.store.equipment_events(scope, id).await?;
        Ok((e, events))
    }

    /// Adds a unit to stock.
    pub async fn stock(
        self,
        actor: &Actor,
        serial: &str,
        model: &str,
        now: i64,
    ) -> Result<Equipment> {
        if !actor.may(Action::StockEquipment) {
            return Err(AppError::Forbidden(Forbidden::AddEquipment));
        }
        let serial = line(Field::Serial, serial, 100)?;
        let model = line(Field::Model, model, 100)?;
        let mut tx = self.store.begin().await?;
        let id = tx.insert_equipment(&serial, &model, now).await?;
        let to = Placement {
            state: EquipmentState::InStock,
            customer_id: None,
            site_id: None,
        };
        tx.move_equipment(id.get(), None, to, &actor.label, "", now)
            .await?;
        tx.audit(
            record(
                actor,
                None,
                "equipment.stock",
                format!("equipment/{id}"),
                format!("serial={serial} model={model}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .equipment(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Moves a unit to its next state (Art. 15), with a note saying why.
    pub async fn apply_move(
        self,
        actor: &Actor,
        id: EquipmentId,
        m: Move,
        note: &str,
        now: i64,
    ) -> Result<Equipment> {
        if !actor.may(Action::MoveEquipment) {
            return Err(AppError::Forbidden(Forbidden::MoveEquipment));
        }
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(AppError::invalid(
                Field::Note,
                Invalid::LongerThan {
                    field: Field::Note,
                    max: 1000,
                },
            ));
        }
        let mut tx = self.store.begin().await?;
        let e = tx
            .equipment_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        move_in_tx(&mut tx, actor, &e, m, note, now).await?;
        tx.commit().await?;
        self.store
            .equipment(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }
}

/// Moves a unit inside the caller's transaction by the inventory's rules (Art. 15):
/// checks the move, the customer and the site, writes the event (which starts a new
/// installation), revokes the unit's certificates and unused enrolment tokens, and
/// audits. Used by the inventory's own moves and by contracts lending and taking back
/// units.
pub(crate) async fn move_in_tx(
    tx: &mut crate::store::Tx,
    actor: &Actor,
    e: &Equipment,
    m: Move,
    note: &str,
    now: i64,
) -> Result<Placement> {
    let id = e.id;
    let to = inventory::apply(e.placement, m).map_err(|err| match err {
        inventory::MoveError::NeedsCustomer => {
            AppError::invalid(Field::CustomerId, Invalid::MoveNeedsCustomer)
        }
        inventory::MoveError::NeedsSite => AppError::invalid(Field::SiteId, Invalid::MoveNeedsSite),
        inventory::MoveError::Unexpected(f) => {
            let field = Field::from_code(f);
            AppError::invalid(field, Invalid::MoveUnexpected { field })
        }
        inventory::MoveError::NotAllowed { from, to, allowed } => AppError::invalid(
            Field::To,
            Invalid::MoveNotAllowed {
                from_ja: from.label().0.into(),
                from_en: from.to_string(),
                to_ja: to.label().0.into(),
                to_en: to.to_string(),
                allowed_ja: from
                    .next()
                    .iter()
                    .map(|s| s.label().0)
                    .collect::<Vec<_>>()
                    .join("、"),
                allowed_en: allowed,
            },
        ),
    })?;
    if m.to == EquipmentState::Lent
        && let Some(c) = to.customer_id
        && !tx.customer_exists(c).await?
    {
        return Err(AppError::invalid(
            Field::CustomerId,
            Invalid::NoSuchCustomer { customer: c.get() },
        ));
    }
    if let (EquipmentState::Installed, Some(site), Some(c)) = (to.state, to.site_id, to.customer_id)
        && !tx.site_belongs(site, c).await?
    {
        return Err(AppError::invalid(
            Field::SiteId,
            Invalid::SiteOfAnotherCustomer {
                site: site.get(),
                customer: c.get(),
            },
        ));
    }
    if !tx
        .move_equipment(id.get(), Some(e.placement), to, &actor.label, note, now)
        .await?
    {
        return Err(AppError::Conflict(Conflict::UnitMovedMeanwhile));
    }
    // Any move ends the installation: the unit's certificates and unused enrolment
    // tokens are revoked with it, so an agent speaks for a unit only where it was
    // enrolled (a new site, customer or state needs a new token).
    let revoked = tx
        .revoke_agent_certs_of(id, &format!("unit {}", to.state), now)
        .await?;
    let tokens = tx.revoke_enrolment_tokens_of(id, now).await?;
    let customer = to.customer_id.or(e.placement.customer_id);
    tx.audit(
        record(
            actor,
            customer,
            "equipment.move",
            format!("equipment/{id}"),
            format!(
                "serial={} {}->{} site={} revoked=[{}] tokens_revoked={tokens} note={note}",
                e.serial,
                e.placement.state,
                to.state,
                to.site_id.map(|s| s.to_string()).unwrap_or_default(),
                revoked.join(",")
            ),
        ),
        now,
    )
    .await?;
    Ok(to)
}
