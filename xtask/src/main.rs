//! Development tasks: `cargo xtask <task>`. The tidy checks live in `tidy.rs` and run as
//! tests (`cargo test -p xtask`).

use std::process::ExitCode;

#[cfg(test)]
mod tidy;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("help") | None => {
            println!("usage: cargo xtask <task>\n\ntasks:\n  help    this text");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown task `{other}` (try `cargo xtask help`)");
            ExitCode::FAILURE
        }
    }
}
