//! Typed ids: one type per entity, so that a site's id cannot be passed where a
//! customer's is expected, nor a user's where a unit's is. The database stores them as
//! integers; `center-db` converts at its boundary (`new` when a row is read, `get` when
//! a value is bound), and the HTTP layer when it parses a path or writes a wire type.

use std::fmt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// The id stored as `raw`.
            pub const fn new(raw: i64) -> Self {
                $name(raw)
            }

            /// The stored integer.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            /// The id written as its integer (a path segment, a form field).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

ids! {
    /// A customer (a contracting business).
    CustomerId;
    /// A site of a customer, where units are installed.
    SiteId;
    /// An account: provider staff, or a customer's officer or staff.
    UserId;
    /// A unit of the equipment inventory (a gateway).
    EquipmentId;
    /// An officer's instruction (Art. 4-2).
    InstructionId;
    /// An incident of the monitoring.
    IncidentId;
    /// An application for the service (Art. 7).
    ApplicationId;
    /// A contract for the service.
    ContractId;
    /// An invoice.
    InvoiceId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_integer_on_the_way_in_and_out() {
        let c = CustomerId::new(42);
        assert_eq!(c.get(), 42);
        assert_eq!(i64::from(c), 42);
        assert_eq!(c.to_string(), "42");
        assert!(CustomerId::new(1) < CustomerId::new(2));
        assert_eq!("17".parse::<SiteId>(), Ok(SiteId::new(17)));
        assert!("x".parse::<SiteId>().is_err());
    }
}
