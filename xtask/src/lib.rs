//! Development tasks of Mamori as a library: the network-namespace testbed used by the
//! integration tests and by `cargo xtask testbed up|down`, and the benchmarks.

pub mod testbed;
