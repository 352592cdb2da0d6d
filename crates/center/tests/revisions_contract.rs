//! The desired-configuration contract the agent listener reads: the newest published
//! generation of a site and the sites published since a time, on SQLite and a real
//! PostgreSQL. The rows are written here with plain SQL (set-up only); the workflow's
//! own tests publish through the API.

mod gateways_support;
mod support;

use gateways_support::site;
use mamori_center::domain::{CustomerId, SiteId};
use support::{Backend, Center};

both_backends!(published_config_is_the_newest_generation_of_the_site);

async fn published_config_is_the_newest_generation_of_the_site(backend: Backend) {
    let c = Center::start(backend).await;
    let admin = c.admin().await;
    let (cust, _, _) = c.customer(&admin, "Alpha").await;
    let site = site(&c, &admin, cust, "HQ").await;
    let store = c.store();
    assert_eq!(
        store.published_config(SiteId::new(site)).await.unwrap(),
        None
    );
    assert!(store.generations_since(0).await.unwrap().is_empty());

    let settings = r#"{"ntp":["ntp.example.jp"],"dns":["192.0.2.53"]}"#;
    for (n, at) in [(1, 1_000), (2, 2_000)] {
        store
            .execute_raw(&format!(
                "INSERT INTO config_revisions (customer_id, site_id, number, policy_text, settings_json, author_id, reason, state, created_at, published_by, published_at, generation) \
                 VALUES ({cust}, {site}, {n}, 'policy {n}', '{settings}', (SELECT MIN(id) FROM users), 'r', 'published', {at}, (SELECT MIN(id) FROM users), {at}, {n})"
            ))
            .await
            .unwrap();
        store
            .execute_raw(&format!(
                "INSERT INTO site_generations (site_id, generation, customer_id, revision_id, policy_text, settings_json, published_by, published_at) \
                 VALUES ({site}, {n}, {cust}, (SELECT id FROM config_revisions WHERE site_id = {site} AND number = {n}), 'policy {n}', '{settings}', (SELECT MIN(id) FROM users), {at})"
            ))
            .await
            .unwrap();
    }
    let p = store
        .published_config(SiteId::new(site))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.site_id, p.customer_id, p.generation),
        (SiteId::new(site), CustomerId::new(cust), 2)
    );
    assert_eq!(p.policy_text, "policy 2");
    assert_eq!(p.published_at, 2_000);
    assert_eq!(p.settings.ntp, ["ntp.example.jp"]);
    assert_eq!(p.settings.dns, ["192.0.2.53"]);
    assert_eq!(store.generations_since(1_500).await.unwrap(), [(site, 2)]);
    assert_eq!(store.generations_since(0).await.unwrap(), [(site, 2)]);
    assert!(store.generations_since(2_001).await.unwrap().is_empty());
    // One generation number per site.
    let dup = store
        .execute_raw(&format!(
            "INSERT INTO site_generations (site_id, generation, customer_id, revision_id, policy_text, settings_json, published_by, published_at) \
             VALUES ({site}, 2, {cust}, (SELECT id FROM config_revisions WHERE site_id = {site} AND number = 1), 'x', '{{}}', (SELECT MIN(id) FROM users), 3000)"
        ))
        .await;
    assert!(dup.is_err());
    c.stop().await;
}
