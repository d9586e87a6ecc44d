//! The facts the list filters by that only events say (MITRE techniques, CVEs' weaknesses,
//! green flags): read by [`crate::intel::event_facts`], the same reading a data folder's
//! writer makes, and kept in `audit_event_facts` (migration 5), whose trigger makes them
//! audit facts counted in the facets.

use serde_json::Value;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::error::Result;
use crate::intel::{event_facts, FACT_EVENT_TYPES};

/// The facts of events (type, data).
fn facts_of<'a>(events: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Vec<(&'static str, String)> {
    let mut facts: Vec<_> = events
        .into_iter()
        .flat_map(|(event_type, data)| event_facts(event_type, data))
        .collect();
    facts.sort();
    facts.dedup();
    facts
}

/// Add the facts of an arriving event to audit `audit_id` (a fact already there stays once).
pub(super) async fn add(
    conn: &mut PgConnection,
    audit_id: &str,
    event_type: &str,
    data: &Value,
) -> Result<()> {
    insert(conn, audit_id, &facts_of([(event_type, data)])).await
}

/// Audit `audit_id`'s event facts made those of `events` (a copy replacing what was there).
pub(super) async fn replace<'a>(
    conn: &mut PgConnection,
    audit_id: &str,
    events: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<()> {
    let facts = facts_of(events);
    let (kinds, values): (Vec<&str>, Vec<&str>) = facts.iter().map(|(k, v)| (*k, v.as_str())).unzip();
    sqlx::query(
        "DELETE FROM audit_event_facts WHERE audit_id = $1
         AND (kind, value) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))",
    )
    .bind(audit_id)
    .bind(&kinds)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    insert(conn, audit_id, &facts).await
}

async fn insert(conn: &mut PgConnection, audit_id: &str, facts: &[(&'static str, String)]) -> Result<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Postgres>::new("INSERT INTO audit_event_facts (audit_id, kind, value) ");
    q.push_values(facts, |mut b, (kind, value)| {
        b.push_bind(audit_id).push_bind(*kind).push_bind(value);
    });
    q.push(" ON CONFLICT DO NOTHING");
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// Every stored event's facts (migration 5 on a database that had events), a page of
/// events at a time.
pub(super) async fn backfill(conn: &mut PgConnection) -> Result<()> {
    let mut after = 0i64;
    loop {
        let page: Vec<(i64, String, String, Option<sqlx::types::Json<Value>>)> = sqlx::query_as(
            "SELECT id, audit_id, event_type, data FROM audit_events
             WHERE id > $1 AND event_type = ANY($2) ORDER BY id LIMIT 5000",
        )
        .bind(after)
        .bind(&FACT_EVENT_TYPES[..])
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.0;
        for (_, audit_id, event_type, data) in &page {
            if let Some(data) = data {
                add(conn, audit_id, event_type, &data.0).await?;
            }
        }
    }
}
