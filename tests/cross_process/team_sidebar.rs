//! The sidebar's facets on a team database within their time budget
//! (`TeamStore::audit_facets_within`): a search estimated from the project's newest audits
//! and named so, exact when asked or when the sample is the whole project, and a count from
//! the rows that runs past the budget stopped by PostgreSQL and estimated instead.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use veritas_core::team::TeamStore;
use veritas_core::{AuditFilter, Facets, ProjectName};

use crate::common::run;
use crate::team::{fresh_team, push};

/// Audits written straight into the team database (its triggers keep the counts): more than
/// an estimate's sample of 4,000, a quarter of them with "quarterly" in their narrative,
/// evenly through time so the newest are like the rest.
const MANY: i64 = 6000;

fn filter(json: serde_json::Value) -> AuditFilter {
    serde_json::from_value(json).unwrap()
}

fn total_of(f: &Facets) -> i64 {
    f.status.iter().map(|c| c.count).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_team_sidebar_estimates_past_its_budget_and_counts_exactly_when_asked() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "4"]).status.success());
    push(a.path(), &team, &[]);
    let mut conn = PgConnection::connect(&team.0).await.unwrap();
    sqlx::raw_sql(&format!(
        "INSERT INTO projects (name) VALUES ('small');
         INSERT INTO audits (id, project, url, status, trust_score, narrative, created_at)
           SELECT 'vrts_bulk' || lpad(i::text, 6, '0'), CASE WHEN i <= 10 THEN 'small' ELSE 'default' END,
                  'https://site' || (i % 50) || '.example/', CASE WHEN i % 3 = 0 THEN 'error' ELSE 'completed' END,
                  (i % 100)::float8, CASE WHEN i % 4 = 0 THEN 'a quarterly report' ELSE 'a monthly report' END,
                  to_char(timestamp '2026-01-01' + i * interval '1 minute', 'YYYY-MM-DD HH24:MI:SS.US')
           FROM generate_series(1, {MANY}) i"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let store = TeamStore::open(&team.0, &team.1).await.unwrap();
    let project = ProjectName::parse("default").unwrap();

    // A search: estimated from the newest audits at once, every count named, close to the
    // exact counts the sidebar asks for next.
    let word = filter(serde_json::json!({"search": "quarterly"}));
    let estimate = store.audit_facets_within(&project, &word, false).await.unwrap();
    let exact = store.audit_facets_within(&project, &word, true).await.unwrap();
    assert_eq!(exact, store.audit_facets(&project, &word).await.unwrap());
    assert!(exact.estimated.is_empty());
    let quarterly = (11..=MANY).filter(|i| i % 4 == 0).count() as i64;
    assert_eq!(exact.total, quarterly);
    assert!(estimate.estimated.contains(&"total".to_string()), "{estimate:?}");
    assert!(estimate.estimated.contains(&"status".to_string()), "{estimate:?}");
    let off = (estimate.total - exact.total).abs() as f64 / exact.total as f64;
    assert!(off < 0.05, "estimated {} for {}", estimate.total, exact.total);
    assert!((total_of(&estimate) - estimate.total).abs() <= 3, "{estimate:?}");

    // A project smaller than the sample: its "estimate" is the project, exact, not named.
    let small = ProjectName::parse("small").unwrap();
    assert_eq!(
        store.audit_facets_within(&small, &word, false).await.unwrap(),
        store.audit_facets(&small, &word).await.unwrap()
    );

    // A filter the counts do not answer, counted from the rows within the budget: exact.
    let url = filter(serde_json::json!({"url_contains": "site1"}));
    let counted = store.audit_facets_within(&project, &url, false).await.unwrap();
    assert!(counted.estimated.is_empty(), "{counted:?}");
    assert_eq!(counted, store.audit_facets(&project, &url).await.unwrap());

    // The same filter while another session holds the facts locked: the counts from the
    // rows wait past the budget, PostgreSQL stops them, and the sidebar gets estimates (read
    // once the lock goes) instead of waiting for the exact counts.
    let mut locker = PgConnection::connect(&team.0).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE audit_facts IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let release = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sqlx::raw_sql("COMMIT").execute(&mut locker).await.unwrap();
    };
    let (stopped, ()) = tokio::join!(store.audit_facets_within(&project, &url, false), release);
    let stopped = stopped.unwrap();
    assert!(stopped.estimated.contains(&"severity".to_string()), "{stopped:?}");
    let off = (stopped.total - counted.total).abs() as f64 / counted.total as f64;
    assert!(off < 0.05, "estimated {} for {}", stopped.total, counted.total);
}
