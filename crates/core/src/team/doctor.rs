//! `veritas-db doctor` on a team store: what the database and the object store should agree
//! on, and the tables the triggers maintain against what the rows say.
//!
//! - objects no row refers to (a producer killed between storing a screenshot's bytes and
//!   committing its row, or a delete interrupted after its rows went): reported, kept, as a
//!   data folder's orphan files are;
//! - screenshot rows whose object is not in the store: reported (nothing can bring the bytes
//!   back; the app shows such a screenshot as missing);
//! - `audit_facts` and `facet_counts` (migration 3) and `facet_pairs` (migration 7, summed)
//!   against their views of what they should hold, and `triage_state` (migration 5) against what the decisions say: reported, and
//!   rebuilt from the rows with `--repair`.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::Acquire;

use super::TeamStore;
use crate::error::Result;

/// What `doctor` found on a team store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TeamDoctorReport {
    /// The team database and object store, without credentials.
    pub database: String,
    pub objects: String,
    pub schema_version: i64,
    pub audits: i64,
    /// Content keys of objects no screenshot row refers to (kept).
    pub orphan_objects: Vec<String>,
    /// Screenshot rows whose object is missing: `audit <id> screenshot <id>: <key>`.
    pub missing_objects: Vec<String>,
    /// Maintained tables that differed from what the rows say, with how many rows differed.
    pub facet_mismatches: Vec<String>,
    /// What `--repair` rebuilt.
    pub repaired: Vec<String>,
}

impl TeamDoctorReport {
    /// Whether everything the rows need is there and the counts are right (orphan objects
    /// cost space only).
    pub fn healthy(&self) -> bool {
        self.missing_objects.is_empty() && (self.facet_mismatches.is_empty() || !self.repaired.is_empty())
    }
}

/// The maintained tables: name, table, its view of what it should hold, the compared columns.
const MAINTAINED: [(&str, &str, &str, &str); 3] = [
    (
        "audit_facts",
        "audit_facts",
        "audit_facts_expected",
        "audit_id, kind, value, findings",
    ),
    (
        "facet_counts",
        "(SELECT * FROM facet_counts WHERE n <> 0) c",
        "facet_counts_expected",
        "project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n",
    ),
    (
        "facet_pairs",
        "(SELECT project, kind, value, kind2, value2, sum(n)::bigint AS n FROM facet_pairs
          GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0) p",
        "facet_pairs_expected",
        "project, kind, value, kind2, value2, n",
    ),
];

impl TeamStore {
    /// Check the team store; with `repair`, rebuild the maintained tables that differ.
    pub async fn doctor(&self, repair: bool) -> Result<TeamDoctorReport> {
        let pool = self.database().pool();
        let mut report = TeamDoctorReport {
            database: self.database().url().to_string(),
            objects: self.objects().url().to_string(),
            schema_version: self.database().version().await?,
            audits: sqlx::query_scalar("SELECT count(*) FROM audits")
                .fetch_one(pool)
                .await?,
            ..TeamDoctorReport::default()
        };

        // Rows first, then the store: an object stored after the listing cannot be counted
        // an orphan by a row committed after the query.
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT audit_id, id, object_key FROM audit_screenshots WHERE object_key IS NOT NULL
             ORDER BY audit_id, id",
        )
        .fetch_all(pool)
        .await?;
        let stored: BTreeSet<String> = self.objects().keys().await?.into_iter().collect();
        let referenced: BTreeSet<&str> = rows.iter().map(|(_, _, k)| k.as_str()).collect();
        report.orphan_objects = stored
            .iter()
            .filter(|k| !referenced.contains(k.as_str()))
            .cloned()
            .collect();
        report.missing_objects = rows
            .iter()
            .filter(|(_, _, k)| !stored.contains(k))
            .map(|(audit, id, key)| format!("audit {audit} screenshot {id}: {key}"))
            .collect();

        for (name, table, expected, columns) in MAINTAINED {
            let differing: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM ((SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {expected})
                   UNION ALL (SELECT {columns} FROM {expected} EXCEPT ALL SELECT {columns} FROM {table})) x"
            ))
            .fetch_one(pool)
            .await?;
            if differing > 0 {
                report
                    .facet_mismatches
                    .push(format!("{name}: {differing} rows differ"));
            }
        }
        // The decisions and the states read in one snapshot, so a verdict committed
        // meanwhile is not taken for a mismatch.
        let keys = {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let keys = super::triage::key_state_mismatches(&mut tx).await?;
            tx.commit().await?;
            keys
        };
        if keys > 0 {
            report
                .facet_mismatches
                .push(format!("triage_state: {keys} keys differ from their decisions"));
        }
        if repair && !report.facet_mismatches.is_empty() {
            self.rebuild_facets().await?;
            report
                .repaired
                .push("triage_state, audit_facts, facet_counts and facet_pairs rebuilt from the rows".into());
        }
        Ok(report)
    }

    /// Rebuild the triage keys' states, the facts and the counts from the rows, writers held
    /// off meanwhile (the locks conflict with the row changes their triggers make). The
    /// states first: the shown facts read them.
    async fn rebuild_facets(&self) -> Result<()> {
        let mut conn = self.database().pool().acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "LOCK TABLE audits, audit_findings, triage, triage_state, audit_facts, facet_counts, facet_pairs
             IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(&mut *tx)
        .await?;
        // The pairs' triggers stand aside: the pairs are made from their view at the end.
        sqlx::query("SET LOCAL veritas.rebuilding = 'on'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM triage_state").execute(&mut *tx).await?;
        super::triage::keep_all_key_states(&mut tx).await?;
        // The facts' own triggers move the counts as the facts are replaced; the counts are
        // replaced after them, so what those moves did does not matter.
        for sql in [
            "DELETE FROM audit_facts",
            "INSERT INTO audit_facts (audit_id, kind, value, findings) SELECT * FROM audit_facts_expected",
            "DELETE FROM facet_counts",
            "INSERT INTO facet_counts SELECT * FROM facet_counts_expected",
            "DELETE FROM facet_pairs",
            "INSERT INTO facet_pairs SELECT * FROM facet_pairs_expected",
        ] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
