//! The monthly invoice run at scale (docs/benchmarks.md): seeds N contracts (some
//! starting or ending in September, so prorated or with an early-termination sum),
//! runs July and August, records payments for July's invoices (10 % of them late, in
//! September, so with Art. 17-4 interest), then times the run for September (with
//! those interest lines) and the same run again, which must issue nothing.
//!
//! cargo run --release -p mamori-center --example bench_invoice_run -- <database-url> <contracts>

use jiff::civil::date;
use mamori_billing::Yen;
use mamori_billing::charges::{InterestSettings, late_interest};
use mamori_center::app::{App, Settings};
use mamori_center::backoffice::{BackofficeConfig, Payment};
use mamori_center::domain::UserId;
use mamori_center::domain::{Actor, Role};
use mamori_center::store::Store;
use mamori_center::store::billing::SeedContract;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return Err("usage: bench_invoice_run <database-url> <contracts>".into());
    }
    let n: usize = args[2].parse()?;
    let store = Store::open(&args[1], 4).await?;
    let now = now_ms();
    let contracts: Vec<SeedContract> = (0..n)
        .map(|i| SeedContract {
            // Most start well before; every 7th starts in September (prorated).
            start: if i % 7 == 0 {
                date(2026, 9, 1 + (i % 28) as i8)
            } else {
                date(2025, 1 + (i % 12) as i8, 1 + (i % 28) as i8)
            },
            monthly_fee: Yen::new(20_000 + (i % 50) as u64 * 1_000),
            // Every 20th ends in September (most within the minimum term).
            end: (i % 20 == 1 && i % 7 != 0).then(|| date(2026, 9, 1 + (i % 30) as i8)),
        })
        .collect();
    let t = std::time::Instant::now();
    store
        .backoffice()
        .seed_contracts(&contracts, 10, now)
        .await?;
    eprintln!("seeded {n} contracts in {:.1} s", t.elapsed().as_secs_f64());

    let app = App {
        store: store.clone(),
        settings: Settings::default(),
    };
    let actor = Actor {
        user_id: UserId::new(0),
        label: "bench@provider.example.jp".into(),
        role: Role::BackOffice,
        customer_id: None,
        source: "bench".into(),
        locale: None,
    };
    let cfg = BackofficeConfig::default();
    app.backoffice()
        .invoice_run(&actor, &cfg, "2026-07", now)
        .await?;
    app.backoffice()
        .invoice_run(&actor, &cfg, "2026-08", now)
        .await?;
    // Payments for July's invoices (due 2026-08-31): 90 % on time, 10 % late in
    // September, so with Art. 17-4 interest billed on September's invoices.
    let invoices = store.backoffice().invoices_of_month("2026-07").await?;
    let settings = InterestSettings::default();
    let payments: Vec<Payment> = invoices
        .iter()
        .enumerate()
        .map(|(i, inv)| {
            let paid = if i % 10 == 0 {
                date(2026, 9, 12 + (i % 17) as i8)
            } else {
                date(2026, 8, 25)
            };
            let interest = late_interest(inv.total, inv.due_date, paid, &settings)?;
            Ok(Payment {
                id: 0,
                invoice_id: inv.id,
                customer_id: inv.customer_id,
                contract_id: inv.contract_id,
                amount: inv.total,
                date: paid,
                interest,
                interest_invoice: None,
                created_at: now,
            })
        })
        .collect::<Result<_, mamori_billing::MoneyError>>()?;
    let late = payments.iter().filter(|p| p.interest > Yen::ZERO).count();
    store.backoffice().seed_payments(&payments).await?;

    let t = std::time::Instant::now();
    let sep = app
        .backoffice()
        .invoice_run(&actor, &cfg, "2026-09", now)
        .await?;
    let t_sep = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let again = app
        .backoffice()
        .invoice_run(&actor, &cfg, "2026-09", now)
        .await?;
    let t_again = t.elapsed().as_secs_f64();
    println!("backend: {:?}", store.backend());
    println!("contracts: {n}");
    println!(
        "payments of July's invoices: {} ({late} late, with interest)",
        payments.len()
    );
    println!("run 2026-09: issued {} in {t_sep:.2} s", sep.issued);
    println!("re-run 2026-09: issued {} in {t_again:.2} s", again.issued);
    if again.issued != 0 {
        return Err("the re-run issued invoices".into());
    }
    store.close().await;
    Ok(())
}
