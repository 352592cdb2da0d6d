//! The center's model: what the operations center knows, as pure types and rules,
//! without I/O. Typed ids, actors, roles and the one authorization table, the message
//! catalog (every text a user sees, in Japanese and English), and the domain types of
//! each capability. `center-db` stores these types; `center` runs the use cases over
//! them. Nothing here reads a clock, a socket, a file or a database.

pub mod authz;
pub mod backoffice;
pub mod clock;
pub mod domain;
pub mod fleet;
pub mod ids;
pub mod inventory;
pub mod messages;
pub mod monitoring;
pub mod revisions;
pub mod tasks;
pub mod text;
