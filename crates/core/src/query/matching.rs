//! Full-text matching for the audit list when a search matches many audits.
//!
//! Collecting every match and sorting it costs as much as there are matches: seconds for a
//! common word among a million audits. So when a search matches many, the list is walked in
//! its own order instead, a chunk at a time, and each chunk is checked against the FTS
//! indexes within the chunk's rowid range; a page then costs about what it shows. When the
//! walk finds the matches sparse, collecting them is cheaper than walking past the others.

use std::collections::{HashMap, HashSet};

use sqlx::SqliteConnection;

use crate::error::Result;

/// How many audits a search walks before it calls the matches sparse and collects them
/// instead (the walk reads chunks of 128, 256, ... audits: 4 chunks).
pub(super) const WALK_BUDGET: usize = 1920;

/// Which of the two indexes hold any match of a query at all.
#[derive(Clone, Copy)]
pub(super) struct Indexes {
    audits: bool,
    findings: bool,
}

impl Indexes {
    /// Whether neither index matches: the search has no result.
    pub(super) fn none(self) -> bool {
        !self.audits && !self.findings
    }
}

/// Ask each index once whether `fts` matches anything in it. An FTS5 query with several
/// terms finds its first match by reading its doclists from the start, so a query that
/// matches nothing in an index costs a read of those doclists every time it is asked: once
/// here, rather than once per chunk of the walk.
pub(super) async fn indexes_matching(conn: &mut SqliteConnection, fts: &str) -> Result<Indexes> {
    // A prefix term merges every doclist of its prefix before it can answer (as costly as
    // the walk's first chunk): when the whole word is in the index, so is a match.
    let exact = fts.strip_suffix('*').filter(|_| one_word(fts));
    let mut any = [false; 2];
    for (table, any) in ["audits_fts", "findings_fts"].into_iter().zip(&mut any) {
        for query in exact.into_iter().chain([fts]) {
            *any = sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT 1)"
            ))
            .bind(query)
            .fetch_one(&mut *conn)
            .await?
                > 0;
            if *any {
                break;
            }
        }
    }
    Ok(Indexes {
        audits: any[0],
        findings: any[1],
    })
}

/// The rowids of the audits in `chunk` (rowid, id) whose url or narrative, or one of whose
/// findings, matches `fts`; only the indexes in `indexes` are asked.
pub(super) async fn matching(
    conn: &mut SqliteConnection,
    fts: &str,
    indexes: Indexes,
    chunk: &[(i64, String)],
) -> Result<HashSet<i64>> {
    let rowids: Vec<i64> = chunk.iter().map(|(r, _)| *r).collect();
    let mut matched = if indexes.audits {
        in_index(conn, "audits_fts", fts, &rowids).await?
    } else {
        HashSet::new()
    };
    if !indexes.findings {
        return Ok(matched);
    }
    let rest: Vec<&str> = chunk
        .iter()
        .filter(|(r, _)| !matched.contains(r))
        .map(|(_, id)| id.as_str())
        .collect();
    if rest.is_empty() {
        return Ok(matched);
    }
    let findings: Vec<(i64, String)> = sqlx::query_as(
        "SELECT f.id, f.audit_id FROM audit_findings f WHERE f.audit_id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&rest)?)
    .fetch_all(&mut *conn)
    .await?;
    let finding_ids: Vec<i64> = findings.iter().map(|(f, _)| *f).collect();
    let hits = in_index(conn, "findings_fts", fts, &finding_ids).await?;
    let rowid_of: HashMap<&str, i64> = chunk.iter().map(|(r, id)| (id.as_str(), *r)).collect();
    for (finding, audit) in &findings {
        if hits.contains(finding) {
            if let Some(r) = rowid_of.get(audit.as_str()) {
                matched.insert(*r);
            }
        }
    }
    Ok(matched)
}

/// Which of `rowids` (rows of `table`'s content table) match `fts`: one read of the index
/// over their range when they lie close together (rows written one after another: the usual
/// case), else one probe of the index per row.
async fn in_index(
    conn: &mut SqliteConnection,
    table: &str,
    fts: &str,
    rowids: &[i64],
) -> Result<HashSet<i64>> {
    let (Some(lo), Some(hi)) = (rowids.iter().min(), rowids.iter().max()) else {
        return Ok(HashSet::new());
    };
    let wanted: HashSet<i64> = rowids.iter().copied().collect();
    let span = u64::try_from(hi - lo).unwrap_or(u64::MAX);
    let found: Vec<i64> = if span <= 4 * rowids.len() as u64 + 64 {
        sqlx::query_scalar(&format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ?"
        ))
        .bind(fts)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar(&format!(
            "SELECT j.value FROM json_each(?) j
             WHERE EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = j.value)"
        ))
        .bind(serde_json::to_string(rowids)?)
        .bind(fts)
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(found.into_iter().filter(|r| wanted.contains(r)).collect())
}

/// Whether `fts` (as [`crate::search::fts_query`] writes it) is a single word: `"w"` or `"w"*`.
fn one_word(fts: &str) -> bool {
    let inner = fts.strip_suffix('*').unwrap_or(fts);
    inner.len() >= 2
        && inner.starts_with('"')
        && inner.ends_with('"')
        && !inner[1..inner.len() - 1].contains(['"', ' '])
}

#[cfg(test)]
mod tests {
    use super::one_word;
    use crate::search::fts_query;

    #[test]
    fn one_word_is_a_single_term_only() {
        let q = |s: &str| fts_query(s).unwrap();
        assert!(one_word(&q("preselected")));
        assert!(one_word(&q("\"fee\"")));
        assert!(!one_word(&q("hidden fee")));
        assert!(!one_word(&q("\"hidden subscription fee\"")));
    }
}
