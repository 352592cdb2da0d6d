//! `mamori billing simulate` end to end: the real binary on scenario files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mamori() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/billing")
        .join(name)
}

fn simulate(path: &Path) -> Output {
    mamori()
        .args(["billing", "simulate"])
        .arg(path)
        .output()
        .expect("run mamori")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "mamori failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Writes `text` to a file unique to this test and process.
fn scenario_file(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("mamori-billing-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn invoice<'a>(v: &'a serde_json::Value, month: &str) -> &'a serde_json::Value {
    v["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["month"] == month)
        .unwrap_or_else(|| panic!("no invoice for {month}"))
}

fn line_amount(inv: &serde_json::Value, kind: &str) -> Option<u64> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .map(|l| l["amount"].as_u64().unwrap())
}

/// The issue's example scenario, checked by hand:
///
/// - minimum term: 2026-04-10 → 2027-04-09 (Art. 10-1);
/// - cancellation notice 2026-08-01 allows an end from 2026-08-31; 2026-09-20 is kept
///   (Art. 11-1);
/// - April: 30,000 × 21/30 = 21,000, tax 2,100, total 23,100, due 2026-05-31;
///   paid 2026-06-11, 11 days after the due date: interest for 06-01..06-10 = 10
///   days: floor(23,100 × 0.145 × 10 / 365) = floor(91.77) = 91, billed on the June
///   invoice (Art. 17-4); the payment of 33,000 leaves 9,900 overpaid;
/// - June: 30,000 + tax 3,000 + interest 91 (no tax) = 33,091;
/// - July: fee 30,000 + reinstallation 18,000 + handling 3,000 (Art. 15-6) + evaded
///   50,000 + surcharge 2 × 50,000 = 100,000 (Art. 17-3) = 201,000 taxable;
///   tax once: 20,100; total 221,100;
/// - September: 30,000 × 20/30 = 20,000, tax 2,000; early termination
///   (Art. 10-2): whole term 21,000 + 11 × 30,000 + 9,000 (2027-04: 9/30) = 360,000,
///   used 21,000 + 4 × 30,000 + 20,000 = 161,000, lump 199,000 (no tax);
///   total 221,000: exactly the issue's output;
/// - liability cap at 2027-03-05 (Art. 18-5): payments in [2026-03-05, 2027-03-05):
///   the 33,000 of 2026-06-11. (The issue's sample shows 0, which would be right
///   without that payment; TERMS.md's decision counts payments received.)
#[test]
fn the_issue_example_end_to_end() {
    let v = json(&simulate(&fixture("issue_example.toml")));
    assert_eq!(v["minimum_term_end"], "2027-04-09");
    assert_eq!(v["end"], "2026-09-20");
    assert_eq!(v["ending"]["moved"], false);
    assert_eq!(v["early_termination"], 199_000);

    let months: Vec<&str> = v["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["month"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        [
            "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"
        ]
    );

    let apr = invoice(&v, "2026-04");
    assert_eq!(line_amount(apr, "monthly_fee"), Some(21_000));
    assert_eq!(apr["total"], 23_100);
    assert_eq!(apr["payments"][0]["interest"], 91);
    assert_eq!(apr["payments"][0]["interest_invoice"], "2026-06");
    assert_eq!(apr["overpaid"], 9_900);
    assert_eq!(apr["unpaid"], 0);

    let jun = invoice(&v, "2026-06");
    assert_eq!(line_amount(jun, "late_interest"), Some(91));
    assert_eq!(jun["total"], 33_091);

    let jul = invoice(&v, "2026-07");
    assert_eq!(line_amount(jul, "reinstallation"), Some(18_000));
    assert_eq!(line_amount(jul, "handling"), Some(3_000));
    assert_eq!(line_amount(jul, "evaded_fee"), Some(50_000));
    assert_eq!(line_amount(jul, "evasion_surcharge"), Some(100_000));
    assert_eq!(jul["taxable_subtotal"], 201_000);
    assert_eq!(jul["tax"], 20_100);
    assert_eq!(jul["total"], 221_100);

    let sep = invoice(&v, "2026-09");
    assert_eq!(sep["issue_date"], "2026-10-01");
    assert_eq!(sep["due_date"], "2026-10-31");
    assert_eq!(
        sep["lines"],
        serde_json::json!([
            {"kind": "monthly_fee", "amount": 20000, "taxable": true, "rate": "10%", "date": "2026-09-20"},
            {"kind": "early_termination", "amount": 199000, "taxable": false, "date": "2026-09-20"}
        ])
    );
    assert_eq!(sep["taxable_subtotal"], 20_000);
    assert_eq!(sep["tax"], 2_000);
    assert_eq!(sep["total"], 221_000);

    assert_eq!(v["liability_cap"], 33_000);
}

/// Art. 12: termination by the provider for non-payment with prior notice; every
/// debt falls due on the last day of service (Art. 12-3); the lump sum of Art. 10-2
/// applies too. Start 2026-04-01, 30,000 a month, notice 2026-07-01, end 2026-07-15:
/// - June invoice (issued 07-01, normally due 07-31) becomes due 07-15;
/// - July: 30,000 × 15/31 = 14,516 + tax 1,451; lump = 360,000 − (90,000 + 14,516)
///   = 255,484; issued and due 07-15.
#[test]
fn art_12_provider_termination_accelerates_debts() {
    let path = scenario_file(
        "terminate",
        r#"
start = 2026-04-01
monthly_fee = 30000
until = 2026-08-31

[[event]]
date = 2026-07-01
type = "terminate"
reason = "non_payment"
end = 2026-07-15
"#,
    );
    let v = json(&simulate(&path));
    assert_eq!(v["ending"]["by"], "provider");
    assert_eq!(v["ending"]["reason"], "non_payment");
    assert_eq!(v["ending"]["notice"]["date"], "2026-07-01");
    let jun = invoice(&v, "2026-06");
    assert_eq!(jun["issue_date"], "2026-07-01");
    assert_eq!(jun["due_date"], "2026-07-15");
    let jul = invoice(&v, "2026-07");
    assert_eq!(jul["issue_date"], "2026-07-15");
    assert_eq!(jul["due_date"], "2026-07-15");
    assert_eq!(line_amount(jul, "monthly_fee"), Some(14_516));
    assert_eq!(line_amount(jul, "early_termination"), Some(255_484));
    assert_eq!(jul["tax"], 1_451);
    assert_eq!(v["invoices"].as_array().unwrap().len(), 4);
    std::fs::remove_file(path).ok();
}

/// Art. 11-1: a cancellation asking for an end less than 30 days after the notice is
/// moved to notice + 30 days, and the output says so.
#[test]
fn art_11_1_early_request_is_moved() {
    let path = scenario_file(
        "moved",
        r#"
start = 2026-04-01
monthly_fee = 30000
until = 2027-06-30

[[event]]
date = 2027-03-02
type = "cancel"
end = 2027-03-31
"#,
    );
    let v = json(&simulate(&path));
    assert_eq!(v["ending"]["moved"], true);
    assert_eq!(v["end"], "2027-04-01");
    // Past the minimum term (ends 2027-03-31): no lump sum; April has 1 day.
    assert_eq!(v["early_termination"], 0);
    let apr = invoice(&v, "2027-04");
    assert_eq!(line_amount(apr, "monthly_fee"), Some(1_000));
    assert_eq!(line_amount(apr, "early_termination"), None);
    std::fs::remove_file(path).ok();
}

/// Settings and the tax-rate table: a rate change in the middle of the contract gives
/// invoices with the rate of each line's date; issue and due dates follow the
/// settings; interest uses the configured rate and grace days.
#[test]
fn settings_and_tax_rate_table() {
    let path = scenario_file(
        "settings",
        r#"
start = 2029-08-01
monthly_fee = 10000
until = 2029-11-30

[settings]
issue_day = 5
due_months_after_issue = 1
due_day = 10
interest_rate = "10%"
grace_days = 15

[settings.taxable]
early_termination = false

[[tax_rate]]
from = 2019-10-01
rate = "10%"

[[tax_rate]]
from = 2029-10-01
rate = "12.5%"

[[event]]
date = 2029-11-25
type = "payment"
invoice = "2029-08"
amount = 11000
"#,
    );
    let v = json(&simulate(&path));
    let aug = invoice(&v, "2029-08");
    assert_eq!(aug["issue_date"], "2029-09-05");
    assert_eq!(aug["due_date"], "2029-10-10");
    assert_eq!(aug["tax"], 1_000);
    // due 10-10, paid 11-25: 46 days after, 15 grace → interest for 45 days:
    // floor(11000 × 0.10 × 45 / 365) = floor(135.6) = 135, on the November invoice.
    assert_eq!(aug["payments"][0]["interest"], 135);
    let oct = invoice(&v, "2029-10");
    assert_eq!(oct["by_rate"][0]["rate"], "12.5%");
    assert_eq!(oct["tax"], 1_250);
    let nov = invoice(&v, "2029-11");
    assert_eq!(line_amount(nov, "late_interest"), Some(135));
    assert_eq!(nov["total"], 10_000 + 1_250 + 135);
    std::fs::remove_file(path).ok();
}

/// Bad scenarios: each is refused with the file, line and column of the fault, a
/// message that says what is wrong, and nothing on stdout.
#[test]
fn bad_scenarios_name_the_line_and_print_nothing() {
    let base = "start = 2026-04-10\nmonthly_fee = 30000\nuntil = 2026-12-31\n";
    let cases: &[(&str, String, usize, &str)] = &[
        (
            "unknown-key",
            format!("{base}colour = \"blue\"\n"),
            4,
            "unknown field `colour`",
        ),
        (
            "unknown-event-key",
            format!(
                "{base}[[event]]\ndate = 2026-05-01\ntype = \"evasion\"\namount = 1\nnote = \"x\"\n"
            ),
            8,
            "unknown field `note`",
        ),
        (
            "key-of-another-event",
            format!(
                "{base}[[event]]\ndate = 2026-05-01\ntype = \"evasion\"\namount = 1\nend = 2026-06-01\n"
            ),
            8,
            "`end` is not a key of a \"evasion\" event",
        ),
        (
            "impossible-date",
            "start = 2026-02-30\nmonthly_fee = 30000\nuntil = 2026-12-31\n".to_string(),
            1,
            "invalid date, expected day between 01 and 28",
        ),
        (
            "impossible-event-date",
            format!("{base}\n[[event]]\ndate = 2027-02-29\ntype = \"cancel\"\nend = 2027-03-31\n"),
            6,
            "invalid date",
        ),
        (
            "negative-fee",
            "start = 2026-04-10\nmonthly_fee = -5\nuntil = 2026-12-31\n".to_string(),
            2,
            "negative",
        ),
        (
            "negative-payment",
            format!(
                "{base}[[event]]\ndate = 2026-06-01\ntype = \"payment\"\ninvoice = \"2026-04\"\namount = -33000\n"
            ),
            8,
            "negative",
        ),
        (
            "missing-invoice",
            format!(
                "{base}[[event]]\ndate = 2026-06-01\ntype = \"payment\"\ninvoice = \"2025-04\"\namount = 33000\n"
            ),
            7,
            "does not exist",
        ),
        (
            "unknown-type",
            format!("{base}[[event]]\ndate = 2026-06-01\ntype = \"refund\"\n"),
            6,
            "unknown event type",
        ),
        (
            "missing-key",
            "start = 2026-04-10\nuntil = 2026-12-31\n".to_string(),
            1,
            "monthly_fee",
        ),
        (
            "bad-rate",
            format!("{base}[settings]\ninterest_rate = \"14.5\"\n"),
            5,
            "invalid rate",
        ),
        (
            "two-endings",
            format!(
                "{base}[[event]]\ndate = 2026-06-01\ntype = \"cancel\"\nend = 2026-08-01\n[[event]]\ndate = 2026-06-02\ntype = \"cancel\"\nend = 2026-08-01\n"
            ),
            10,
            "already ends by the event on line 6",
        ),
        (
            "no-prior-notice",
            format!(
                "{base}[[event]]\ndate = 2026-06-01\ntype = \"terminate\"\nreason = \"non_payment\"\n"
            ),
            6,
            "without prior notice",
        ),
        (
            "unknown-reason",
            format!(
                "{base}[[event]]\ndate = 2026-06-01\ntype = \"terminate\"\nreason = \"bored\"\nurgent = true\n"
            ),
            7,
            "not a reason of Art. 12-1",
        ),
        (
            "payment-before-issue",
            format!(
                "{base}[[event]]\ndate = 2026-04-20\ntype = \"payment\"\ninvoice = \"2026-04\"\namount = 1\n"
            ),
            5,
            "issued on 2026-05-01",
        ),
        (
            "event-after-until",
            format!("{base}[[event]]\ndate = 2027-01-05\ntype = \"evasion\"\namount = 1\n"),
            5,
            "after `until`",
        ),
        ("not-toml", format!("{base}this is not toml\n"), 4, ""),
    ];
    for (name, text, line, needle) in cases {
        let path = scenario_file(name, text);
        let out = simulate(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: accepted:\n{text}");
        assert!(out.stdout.is_empty(), "{name}: printed output on error");
        let expected = format!("{}:{line}:", path.display());
        assert!(
            stderr.contains(&expected),
            "{name}: expected {expected} in: {stderr}"
        );
        assert!(
            stderr.contains(needle),
            "{name}: expected {needle:?} in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        std::fs::remove_file(path).ok();
    }
}

#[test]
fn a_missing_scenario_file_is_a_clear_error() {
    let out = simulate(Path::new("/nonexistent/scenario.toml"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the scenario /nonexistent/scenario.toml"),
        "{stderr}"
    );
}
