//! `mamori billing`: billing tools. `mamori billing simulate SCENARIO.toml` runs a
//! contract through time without a server and prints the invoices as JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run a contract through time and print its invoices as JSON.
    ///
    /// The scenario is a TOML file:
    ///
    ///   start = 2026-04-10            # service start (day 1 of the minimum term)
    ///   monthly_fee = 30000           # yen per month before tax
    ///   until = 2026-12-31            # simulate the months up to this date's month
    ///   liability_cause_date = 2027-03-05   # optional: Art. 18-5 cap
    ///
    ///   [settings]                    # optional, defaults shown
    ///   issue_day = 1                 # day of the next month invoices are issued
    ///   due_months_after_issue = 0
    ///   due_day = "end"               # or 1-31
    ///   interest_rate = "14.5%"       # Art. 17-4
    ///   grace_days = 10
    ///   [settings.taxable]            # monthly_fee, early_termination, evaded_fee,
    ///   early_termination = false     # evasion_surcharge, reinstallation, handling
    ///
    ///   [[tax_rate]]                  # optional; default: Japan's standard rates
    ///   from = 2019-10-01
    ///   rate = "10%"
    ///
    ///   [[event]]   type = "cancel"    date, end
    ///   [[event]]   type = "terminate" date (notice), end, reason, urgent
    ///   [[event]]   type = "payment"   date, invoice = "YYYY-MM", amount
    ///   [[event]]   type = "evasion"   date, amount
    ///   [[event]]   type = "damage"    date, reinstallation, handling
    ///
    /// Termination reasons (Art. 12-1): insolvency, non_payment, business_closure,
    /// terms_violation, false_statement, carrier_contract_ended, antisocial_forces,
    /// fraud_or_threat, other. A termination needs `end` after `date` (prior notice,
    /// Art. 12-2) unless `urgent = true`.
    ///
    /// Output: JSON with minimum_term_end, end, ending, early_termination, invoices
    /// (month, issue_date, due_date, lines, by_rate, taxable_subtotal, tax, total,
    /// payments, paid, unpaid), totals, overdue and liability_cap. A bad scenario
    /// prints `FILE:LINE:COLUMN: what is wrong` and a hint on stderr, and nothing on
    /// stdout.
    #[command(verbatim_doc_comment)]
    Simulate {
        /// The scenario file.
        scenario: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Simulate { scenario } => simulate(&scenario),
    }
}

fn simulate(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the scenario {}", path.display()))?;
    let sim = match mamori_billing::simulate::run(&text) {
        Ok(sim) => sim,
        Err(e) => {
            let mut msg = format!(
                "{}:{}:{}: {}",
                path.display(),
                e.loc.line,
                e.loc.column,
                e.message
            );
            if let Some(hint) = &e.hint {
                msg.push_str(&format!("\n  hint: {hint}"));
            }
            anyhow::bail!(msg);
        }
    };
    let json = serde_json::to_string_pretty(&sim).context("cannot encode the result as JSON")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}").context("cannot write the result")?;
    Ok(ExitCode::SUCCESS)
}
