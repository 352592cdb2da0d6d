//! `mamori center`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mamori_center::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of the SQLite database and local state [env: MAMORI_DATA_DIR]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Address:port to listen on, e.g. 127.0.0.1:8080 [env: MAMORI_LISTEN]
    #[arg(long, global = true)]
    listen: Option<String>,
    /// postgres://user:password@host/db (default: SQLite in the data directory)
    /// [env: MAMORI_DATABASE_URL]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Configuration file (default: <data-dir>/center.toml when it exists)
    /// [env: MAMORI_CONFIG]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Print the configuration in effect (TOML) and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and name the first entry that does not match, then check
    /// that the chain still reaches the latest signed checkpoint of its head (naming
    /// the entries cut off the end).
    Verify {
        /// The checkpoint to check against, e.g. a copy kept elsewhere or taken from
        /// the syslog server (default: <data-dir>/audit-head.json).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// The center's public key the checkpoint must be signed with, as printed by
        /// `mamori center audit key` (default: the key in the data directory).
        #[arg(long, value_name = "ed25519:HEX")]
        public_key: Option<String>,
    },
    /// Print the public key that signs the audit checkpoints (created when missing).
    Key,
}

fn load(args: &Args) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let env_file = env
        .iter()
        .find(|(k, _)| k == "MAMORI_CONFIG")
        .map(|(_, v)| PathBuf::from(v));
    let env_dir = env
        .iter()
        .find(|(k, _)| k == "MAMORI_DATA_DIR")
        .map(|(_, v)| PathBuf::from(v));
    let (path, required) = match args.config.clone().or(env_file) {
        Some(p) => (p, true),
        None => {
            let dir = args
                .data_dir
                .clone()
                .or(env_dir)
                .unwrap_or_else(|| Config::default().data_dir);
            (dir.join("center.toml"), false)
        }
    };
    let mut config = Config::load_file(&path, required)?;
    config.apply_env(env)?;
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(l) = &args.listen {
        config.listen = l.parse().with_context(|| {
            format!("--listen {l:?}: expected address:port, e.g. 127.0.0.1:8080")
        })?;
    }
    if let Some(u) = &args.database_url {
        config.database_url = u.clone();
    }
    Ok(config)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = load(&args)?;
    if args.print_config {
        println!(
            "# {} encrypts the TOTP secrets in the database: keep it with the database's backups;\n# with PostgreSQL, every center process sharing the database needs a copy of the same file.",
            config
                .data_dir
                .join(mamori_center::secrets::KEY_FILE)
                .display()
        );
        print!("{}", config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    match args.command {
        None => {
            mamori_center::run_blocking(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Audit {
            command: AuditCommand::Key,
        }) => {
            println!("{}", mamori_center::audit_key(&config)?);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Audit {
            command:
                AuditCommand::Verify {
                    checkpoint,
                    public_key,
                },
        }) => {
            use mamori_center::audit_head::{Anchor, AnchorError, VerifyOptions};
            use mamori_center::{CenterError, store::StoreError};
            let opts = VerifyOptions {
                checkpoint,
                public_key,
            };
            match mamori_center::audit_verify_blocking(&config, &opts) {
                Ok(v) => {
                    println!("audit log verified: {} entries, chain intact", v.entries);
                    match v.anchor {
                        Anchor::Matched { checkpoint, path } => println!(
                            "checkpoint reached: entry {} at {} ({}), signed by {}",
                            checkpoint.seq,
                            checkpoint.at_text(),
                            path.display(),
                            checkpoint.key
                        ),
                        Anchor::None { path } => println!(
                            "note: no checkpoint at {} (the center never ran with this data directory): nothing shows whether entries were cut off the end; pass --checkpoint FILE",
                            path.display()
                        ),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(CenterError::Store(StoreError::Chain(e))) => {
                    println!("audit log verification FAILED: {e}");
                    Ok(ExitCode::from(2))
                }
                Err(CenterError::Anchor(e))
                    if !matches!(e, AnchorError::Store(_) | AnchorError::Key(_)) =>
                {
                    println!("audit log verification FAILED: {e}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
