//! `mamori`: the one binary. Each subcommand lives in its own module; this file only
//! parses the command line and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod billing;
mod center;
mod ids;
mod policy;

/// Mamori: a platform for running a managed security service.
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operations center, or one of its maintenance commands.
    Center(center::Args),
    /// Run the gateway agent, or apply a policy by hand.
    Agent(agent::Args),
    /// Inspect traffic with Suricata-format rules (pcap files or NFQUEUE).
    Ids(ids::Args),
    /// Check, compile and evaluate gateway policies.
    Policy(policy::Args),
    /// Billing tools: simulate a contract through time.
    Billing(billing::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Center(args) => center::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Ids(args) => ids::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Billing(args) => billing::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
