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
    /// Walk the hash chain and name the first entry that does not match.
    Verify,
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
            command: AuditCommand::Verify,
        }) => match mamori_center::audit_verify_blocking(&config) {
            Ok(n) => {
                println!("audit log verified: {n} entries, chain intact");
                Ok(ExitCode::SUCCESS)
            }
            Err(mamori_center::CenterError::Store(mamori_center::store::StoreError::Chain(e))) => {
                println!("audit log verification FAILED: {e}");
                Ok(ExitCode::from(2))
            }
            Err(e) => Err(e.into()),
        },
    }
}
