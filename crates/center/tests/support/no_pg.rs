//! Without the feature `external` there is no PostgreSQL: this stand-in for `pg.rs` has
//! the same names, and its cluster cannot be made. Only the PostgreSQL half of a scenario
//! reaches it, and that half exists only with the feature; a plain test that asked for
//! PostgreSQL would fail here, loudly, rather than pass without it.

pub enum PgCluster {}

impl PgCluster {
    pub fn start() -> PgCluster {
        panic!(
            "PostgreSQL is software installed on the machine: its tests need the cargo feature `external` (scripts/test)"
        )
    }

    pub fn url(&self) -> String {
        match *self {}
    }

    pub fn psql(&self, _sql: &str) -> String {
        match *self {}
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        match *self {}
    }
}
