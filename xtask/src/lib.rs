//! Development tasks of Mamori as a library: the network-namespace testbed used by the
//! integration tests and by `cargo xtask testbed up|down`, the differential test of the
//! policy evaluator against the kernel, and the benchmarks.

pub mod bench;
pub mod bench_agents;
pub mod differential;
pub mod testbed;
