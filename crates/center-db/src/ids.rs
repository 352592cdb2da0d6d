//! Typed ids at the database's boundary: the model's ids (`CustomerId`, ...) are stored
//! as integers. `raw(id)` is what a query binds, `cook(row.try_get(..)?)` what a row
//! gives back; both work on an id and on an optional one.

use mamori_center_model::ids::*;

/// A model value stored as an integer column (or a nullable one).
pub(crate) trait Stored: Sized {
    type Raw;
    fn raw(self) -> Self::Raw;
    fn cook(raw: Self::Raw) -> Self;
}

macro_rules! stored {
    ($($id:ident),*) => {$(
        impl Stored for $id {
            type Raw = i64;
            fn raw(self) -> i64 {
                self.get()
            }
            fn cook(raw: i64) -> Self {
                $id::new(raw)
            }
        }
    )*};
}

stored!(
    CustomerId,
    SiteId,
    UserId,
    EquipmentId,
    InstructionId,
    IncidentId,
    ApplicationId,
    ContractId,
    InvoiceId
);

impl<T: Stored<Raw = i64>> Stored for Option<T> {
    type Raw = Option<i64>;
    fn raw(self) -> Option<i64> {
        self.map(T::raw)
    }
    fn cook(raw: Option<i64>) -> Self {
        raw.map(T::cook)
    }
}

/// What a query binds for `v`.
pub(crate) fn raw<T: Stored>(v: T) -> T::Raw {
    v.raw()
}

/// The model value of a column read as `raw`.
pub(crate) fn cook<T: Stored>(raw: T::Raw) -> T {
    T::cook(raw)
}
