//! The writes of upkeep: abandoned running audits, embeddings, stale counters, and the
//! full-text indexes' check and rebuild.

use sqlx::SqliteConnection;

use super::Outcome;
use crate::embedding::encode_embedding;
use crate::error::{Error, Result};
use crate::time::now_text;

/// Running audits of `project` not updated since `idle_since` (stored form) become
/// disconnected.
pub(super) async fn mark_disconnected(
    conn: &mut SqliteConnection,
    project: &str,
    idle_since: &str,
) -> Result<Outcome> {
    let done = sqlx::query(
        "UPDATE audits SET status = 'disconnected', updated_at = ?1
         WHERE project = ?2 AND lower(status) = 'running'
           AND COALESCE(updated_at, created_at, '') < ?3",
    )
    .bind(now_text())
    .bind(project)
    .bind(idle_since)
    .execute(&mut *conn)
    .await?;
    Ok(Outcome {
        id: None,
        rows: done.rows_affected(),
        duplicate: false,
        created: false,
        run: 0,
    })
}

/// Attach an embedding to finding `finding_id` of `project`.
pub(super) async fn set_embedding(
    conn: &mut SqliteConnection,
    project: &str,
    finding_id: i64,
    vector: &[f32],
    model: &str,
    version: &str,
) -> Result<Outcome> {
    let done = sqlx::query(
        "UPDATE audit_findings SET embedding = ?1, embedding_model = ?2, embedding_model_version = ?3
         WHERE id = ?4 AND audit_id IN (SELECT id FROM audits WHERE project = ?5)",
    )
    .bind(encode_embedding(vector))
    .bind(model)
    .bind(version)
    .bind(finding_id)
    .bind(project)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!(
            "finding {finding_id} in project {project}"
        )));
    }
    Ok(Outcome {
        id: Some(finding_id),
        rows: 1,
        duplicate: false,
        created: false,
        run: 0,
    })
}

/// Set `screenshots_count` to the number of screenshot rows where they disagree.
pub(super) async fn repair_counters(conn: &mut SqliteConnection) -> Result<Outcome> {
    let done = sqlx::query(
        "UPDATE audits SET screenshots_count =
           (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = audits.id)
         WHERE COALESCE(screenshots_count, -1) !=
           (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = audits.id)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(Outcome {
        id: None,
        rows: done.rows_affected(),
        duplicate: false,
        created: false,
        run: 0,
    })
}

/// Put the findings' facts right where they differ from the findings, then rebuild the
/// facet counts, totals and pairs from the rows (the views of migrations 7 and 8 say what they should be).
pub(super) async fn rebuild_facet_counts(conn: &mut SqliteConnection) -> Result<Outcome> {
    let mut rows = 0;
    for sql in [
        // Fingerprints (migration 10) before the change facts that are judged from them, and
        // they and the triage state (migration 12) before the findings' facts, which follow
        // whether each finding is hidden.
        "DELETE FROM site_audits",
        "INSERT OR REPLACE INTO site_audits (site, seq, audit_id)
           SELECT site, seq, audit_id FROM site_audits_expected",
        "DELETE FROM finding_fingerprints",
        "INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
           SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected",
        "DELETE FROM audit_facts WHERE source = 'fingerprint' AND (kind, value, audit_id) IN
           (SELECT kind, value, audit_id FROM audit_facts WHERE source = 'fingerprint'
            EXCEPT SELECT kind, value, audit_id FROM change_facts_expected)",
        "INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
           SELECT kind, value, audit_id, 'fingerprint' FROM change_facts_expected",
        "DELETE FROM triage_state",
        "INSERT INTO triage_state SELECT site, fingerprint, scope, hides FROM triage_state_expected",
        "DELETE FROM audit_facts WHERE source = 'finding' AND (kind, value, audit_id) IN
           (SELECT kind, value, audit_id FROM audit_facts WHERE source = 'finding'
            EXCEPT SELECT kind, value, audit_id FROM finding_facts_expected)",
        "INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
           SELECT kind, value, audit_id, 'finding' FROM finding_facts_expected",
        // The totals and scores follow the counts by trigger; emptied between the two steps so that
        // a total that had drifted on its own is rebuilt too.
        "DELETE FROM facet_counts",
        "DELETE FROM facet_totals",
        "DELETE FROM facet_scores",
        "INSERT INTO facet_counts SELECT * FROM facet_counts_expected",
        "DELETE FROM facet_pairs",
        "INSERT INTO facet_pairs SELECT * FROM facet_pairs_expected",
    ] {
        rows += sqlx::query(sql).execute(&mut *conn).await?.rows_affected();
    }
    Ok(Outcome {
        id: None,
        rows,
        duplicate: false,
        created: false,
        run: 0,
    })
}

/// Fail unless both full-text indexes agree with their tables. FTS5's check is written as
/// an INSERT, so it goes through the writer; it changes nothing.
pub(super) async fn check_search_index(conn: &mut SqliteConnection) -> Result<Outcome> {
    for sql in [
        "INSERT INTO audits_fts (audits_fts, rank) VALUES ('integrity-check', 1)",
        "INSERT INTO findings_fts (findings_fts, rank) VALUES ('integrity-check', 1)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(Outcome::default())
}

/// Rebuild both full-text indexes from the tables.
pub(super) async fn rebuild_search_index(conn: &mut SqliteConnection) -> Result<Outcome> {
    for sql in [
        "INSERT INTO audits_fts (audits_fts) VALUES ('rebuild')",
        "INSERT INTO findings_fts (findings_fts) VALUES ('rebuild')",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(Outcome::default())
}
