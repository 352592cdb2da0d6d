//! The customers' use cases: `app.customers()`

use super::*;

capability!(
    /// The customers' use cases.
    Customers, customers
);

impl Customers<'_> {
    pub async fn list(self, actor: &Actor) -> Result<Vec<Customer>> {
        Ok(self.store.customers(actor.scope()).await?)
    }

    pub async fn get(self, actor: &Actor, id: CustomerId) -> Result<Customer> {
        self.store
            .customer(actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates a customer with its security officer; returns both and the officer's
    /// setup token.
    pub async fn create(
        self,
        actor: &Actor,
        name: &str,
        officer_email: &str,
        officer_name: &str,
        now: i64,
    ) -> Result<(Customer, User, String)> {
        if !actor.role.manages_customers() || actor.customer_id.is_some() {
            return Err(AppError::Forbidden(Forbidden::CreateCustomers));
        }
        let name = text(Field::Name, name, 200, false)?;
        let mut tx = self.store.begin().await?;
        let id = tx.insert_customer(&name, now).await?;
        tx.audit(
            record(
                actor,
                Some(id),
                "customer.create",
                format!("customer/{id}"),
                format!("name={name}"),
            ),
            now,
        )
        .await?;
        let (uid, token) = self
            .users()
            .invite(
                &mut tx,
                actor,
                Some(id),
                officer_email,
                officer_name,
                Role::Officer,
                now,
            )
            .await?;
        tx.commit().await?;
        let c = self
            .store
            .customer(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let u = self
            .store
            .user(Scope::All, UserId::new(uid))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((c, u, token))
    }
}
