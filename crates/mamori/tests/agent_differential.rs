//! The differential test: random policies and random packets; the policy evaluator's
//! verdict and translations against what really crosses the testbed's gateway after
//! `mamori agent apply`. A bounded run here; `cargo xtask bench differential` runs longer.
//! `MAMORI_DIFF_SEED` picks another seed.

// Needs network namespaces and nft, as root: only with `external`.
#![cfg(feature = "external")]

mod agent_support;

use std::path::Path;

use agent_support::MAMORI;
use xtask::differential::{self, Summary};
use xtask::testbed::Testbed;

/// `MAMORI_DIFF_SEED`, or the default seed.
fn seed() -> u64 {
    std::env::var("MAMORI_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20260401)
}

/// Prints the run (`label`: which) and asserts that it compared at least `min_cases`
/// packets, delivered and blocked ones both, and that the kernel agreed on every one.
fn assert_agreement(seed: u64, label: &str, sum: &Summary, min_cases: usize) {
    println!("seed {seed}{label}: {}", sum.report());
    for c in &sum.all {
        println!("  {} => {} | {}", c.packet, c.seen, c.expected);
    }
    assert!(
        sum.cases >= min_cases,
        "too few packets compared: {}",
        sum.report()
    );
    assert!(
        sum.accepted > 0 && sum.accepted < sum.cases,
        "both delivered and blocked packets must be compared: {}",
        sum.report()
    );
    assert!(
        sum.disagreements.is_empty(),
        "seed {seed}: {}",
        sum.report()
    );
}

#[test]
fn evaluator_agrees_with_the_kernel_on_random_policies_and_packets() {
    let seed = seed();
    let tb = Testbed::up().unwrap();
    let sum = differential::run(&tb, Path::new(MAMORI), seed, 0..6, 8, false).unwrap();
    assert_agreement(seed, "", &sum, 30);
}

#[test]
fn harness_sees_disagreements_when_the_kernel_does_not_enforce_the_policy() {
    // The same comparison with the table deleted after each apply: packets the policy
    // blocks now cross, and the harness must say so.
    let tb = Testbed::up().unwrap();
    let sum = differential::run(&tb, Path::new(MAMORI), 20260401, 0..2, 8, true).unwrap();
    assert!(!sum.disagreements.is_empty(), "{}", sum.report());
}

#[test]
fn evaluator_agrees_with_the_kernel_on_ipv6_twins() {
    let seed = seed();
    let tb = Testbed::up().unwrap();
    let sum = differential::run_family(&tb, Path::new(MAMORI), seed, 0..4, 8, false, true).unwrap();
    assert_agreement(seed, " (IPv6)", &sum, 20);
}
