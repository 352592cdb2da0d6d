//! Host adapters: everything that runs a process (`nft`, the agent's own background
//! waiter) or opens a socket to check a backend lives here, and only here.

pub mod nft;
pub mod probe;
pub mod process;
