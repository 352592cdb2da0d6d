//! The sites' use cases: `app.sites()`

use super::*;
use crate::store::Tx;

capability!(
    /// The sites' use cases.
    Sites, sites
);

impl Sites<'_> {
    pub async fn list(self, actor: &Actor) -> Result<Vec<Site>> {
        Ok(self.store.sites(actor.scope()).await?)
    }

    pub async fn get(self, actor: &Actor, id: SiteId) -> Result<Site> {
        self.store
            .site(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn customer_for_write(
        self,
        tx: &mut Tx,
        actor: &Actor,
        customer_id: CustomerId,
    ) -> Result<()> {
        if !actor.role.manages_customers() {
            return Err(AppError::Forbidden(Forbidden::ChangeCustomers));
        }
        if let Scope::Customer(c) = actor.scope()
            && c != customer_id
        {
            return Err(AppError::NotFound);
        }
        if !tx.customer_exists(customer_id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    pub async fn create(
        self,
        actor: &Actor,
        customer_id: CustomerId,
        name: &str,
        address: &str,
        now: i64,
    ) -> Result<Site> {
        let name = text(Field::Name, name, 200, false)?;
        let address = if address.trim().is_empty() {
            String::new()
        } else {
            text(Field::Address, address, 500, false)?
        };
        let mut tx = self.store.begin().await?;
        self.customer_for_write(&mut tx, actor, customer_id).await?;
        let id = tx.insert_site(customer_id, &name, &address, now).await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                "site.create",
                format!("site/{id}"),
                format!("name={name}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .site(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)
    }
}
