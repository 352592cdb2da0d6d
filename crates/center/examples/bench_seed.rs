//! Fills a database for the benchmarks of docs/benchmarks.md and prints a session token
//! of an operator (usable as `Authorization: Bearer` and as the `mamori_session` cookie).
//! With `--admin` it prints first a session token of the administrator, who may create
//! sites (for `cargo xtask bench agents`), then the operator's, on one line.
//!
//! cargo run --release -p mamori-center --example bench_seed -- <database-url> <customers> <users-per-customer> <audit-entries> [--admin]

use mamori_center::app::{App, Settings};
use mamori_center::auth;
use mamori_center::domain::{Actor, Role};
use mamori_center::store::{Store, seed};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let with_admin = args.len() == 6 && args[5] == "--admin";
    if args.len() != 5 && !with_admin {
        return Err(
            "usage: bench_seed <database-url> <customers> <users-per-customer> <audit-entries> [--admin]"
                .into(),
        );
    }
    // Seeded before a center serves the database: TOTP secrets are written as given, and
    // the center encrypts them with its data directory's key when it starts.
    let store = Store::open(&args[1], 4).await?.with_plain_secrets();
    let volume = seed::Volume {
        customers: args[2].parse()?,
        users_per_customer: args[3].parse()?,
        instructions_per_customer: 5,
        audit_entries: args[4].parse()?,
    };
    let t0 = std::time::Instant::now();
    seed::seed(&store, volume, now_ms()).await?;
    seed::append_audit(&store, volume.audit_entries, now_ms()).await?;
    eprintln!("seeded in {:.1} s", t0.elapsed().as_secs_f64());

    let app = App {
        store: store.clone(),
        settings: Settings {
            session_ttl_ms: 24 * 3600 * 1000,
            lockout_failures: 5,
            lockout_ms: 60_000,
            operations_center: Vec::new(),
            clock: mamori_center::clock::system(),
            notify: None,
        },
    };
    let password = "benchmark password 1";
    let now = now_ms();
    let boot = app
        .accounts()
        .ensure_bootstrap(now)
        .await?
        .ok_or("an administrator already exists")?;
    let (link, _) = app.accounts().setup_link(&boot, now).await?;
    let code = auth::totp_code(&link.totp_secret, now / 1000).unwrap();
    let admin = app
        .accounts()
        .complete_setup(
            &boot,
            Some("bench-admin@provider.example.jp"),
            "Bench admin",
            password,
            Some(&code),
            "bench",
            now,
        )
        .await?;
    // A TOTP code is good once: the administrator signs in with the next step's code.
    let next_admin = auth::totp_code(&link.totp_secret, now / 1000 + 30).unwrap();
    let admin_token = if with_admin {
        let (t, _) = app
            .accounts()
            .sign_in(
                "bench-admin@provider.example.jp",
                password,
                Some(&next_admin),
                "bench",
                now,
            )
            .await?;
        Some(t)
    } else {
        None
    };
    let actor = Actor {
        user_id: admin.id,
        label: admin.email.clone(),
        role: Role::Admin,
        customer_id: None,
        source: "bench".into(),
        locale: None,
    };
    let (_, invite) = app
        .users()
        .create(
            &actor,
            "bench-operator@provider.example.jp",
            "Bench operator",
            "operator",
            None,
            now,
        )
        .await?;
    let (link, _) = app.accounts().setup_link(&invite, now).await?;
    let code = auth::totp_code(&link.totp_secret, now / 1000).unwrap();
    app.accounts()
        .complete_setup(
            &invite,
            None,
            "Bench operator",
            password,
            Some(&code),
            "bench",
            now,
        )
        .await?;
    // A TOTP code is good once: sign in with the next step's code.
    let next = auth::totp_code(&link.totp_secret, now / 1000 + 30).unwrap();
    let (token, _) = app
        .accounts()
        .sign_in(
            "bench-operator@provider.example.jp",
            password,
            Some(&next),
            "bench",
            now,
        )
        .await?;
    match admin_token {
        Some(admin) => println!("{admin} {token}"),
        None => println!("{token}"),
    }
    store.close().await;
    Ok(())
}
