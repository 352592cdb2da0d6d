//! Development tasks: `cargo xtask <task>`. The tidy checks live in `tidy.rs` and run as
//! tests (`cargo test -p xtask`).

use std::process::ExitCode;

use xtask::testbed::{self, Host, Testbed};

#[cfg(test)]
mod tidy;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  testbed up [--name NAME]     build the netns testbed (namespaces mtb-NAME-*, default NAME=dev)
  testbed down [--name NAME]   delete a testbed (every mtb-* namespace without --name)
  help                         this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["help"] => {
            println!("{USAGE}");
            Ok(())
        }
        ["testbed", "up", rest @ ..] => name_arg(rest).and_then(|n| testbed_up(n.unwrap_or("dev"))),
        ["testbed", "down", rest @ ..] => name_arg(rest).and_then(testbed_down),
        [other, ..] => Err(anyhow::anyhow!(
            "unknown task `{}` (try `cargo xtask help`)",
            other
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn name_arg<'a>(rest: &[&'a str]) -> anyhow::Result<Option<&'a str>> {
    match rest {
        [] => Ok(None),
        ["--name", n] => Ok(Some(n)),
        _ => anyhow::bail!("expected `--name NAME`, got {rest:?}"),
    }
}

fn testbed_up(name: &str) -> anyhow::Result<()> {
    let tb = Testbed::up_named(name)?;
    println!("testbed up; namespaces:");
    for h in Host::ALL {
        println!("  {:<7} {}", h.short(), tb.ns(h));
    }
    println!(
        "run a command inside: ip netns exec {} COMMAND; remove with: cargo xtask testbed down --name {name}",
        tb.ns(Host::Gw)
    );
    tb.keep();
    Ok(())
}

fn testbed_down(name: Option<&str>) -> anyhow::Result<()> {
    let deleted = testbed::down(name)?;
    if deleted.is_empty() {
        println!("no testbed namespaces found");
    }
    for ns in deleted {
        println!("deleted {ns}");
    }
    Ok(())
}
