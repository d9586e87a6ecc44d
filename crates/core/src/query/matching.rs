//! Full-text matching for the audit list when a search matches many audits.
//!
//! Collecting every match and sorting it costs as much as there are matches: seconds for a
//! common word among a million audits. So when a search matches many, the list is walked in
//! its own order instead, a chunk at a time, and each chunk is checked against the FTS
//! indexes within the chunk's rowids; a page then costs about what it shows. When the walk
//! finds the matches sparse, collecting them is cheaper than walking past the others.
//!
//! Two costs of FTS5 grow with the index rather than with the answer, and the [`Plan`] made
//! for each index avoids both (measured at 1,000,000 audits, 5,000,000 findings):
//! - a prefix term merges every doclist of its prefix before it can seek (12 ms for a word
//!   in one finding in ten, against 0.3 ms for the word itself), so a prefix becomes the
//!   index's own words, read from its vocabulary, where they are few; prefixes of up to
//!   three characters have prefix indexes of their own (migration 9) and seek as they are;
//! - a query of several terms finds its first match by reading its terms' doclists from
//!   their start, whatever rowids it is asked about (15-20 ms where the terms never occur
//!   together), so a chunk's rows are first narrowed to those that hold every word (each
//!   word alone seeks; one statement intersects them), and the whole query is only asked
//!   about those, and only once it is known to match somewhere.

use std::collections::{HashMap, HashSet};

use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqliteConnection};

use crate::error::Result;
use crate::search::Term;

/// How many audits a search walks before it calls the matches sparse and collects them
/// instead (the walk reads chunks of 128, 256, ... audits: 4 chunks).
pub(super) const WALK_BUDGET: usize = 1920;

/// A prefix that begins more words than this in an index stays a prefix query there.
const MAX_EXPANSION: usize = 8;

/// Both indexes keep prefix indexes of 1, 2 and 3 characters (`prefix = '1 2 3'`).
const PREFIX_INDEXED: usize = 3;

/// A quoted phrase adds its words to those looked up, and narrowing a chunk's rows (see
/// [`Plan`]), only until the search has this many; further words are left to the query
/// itself. (A pasted paragraph in quotes is one phrase.)
const MAX_WORD_CHECKS: usize = 16;

/// The read connections' views of the two indexes' vocabularies (FTS5's `fts5vocab`), made
/// in each connection's temp schema: the database file is not changed.
pub(crate) const VOCABULARIES: &str =
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.audits_fts_vocab USING fts5vocab(main, audits_fts, row);
     CREATE VIRTUAL TABLE IF NOT EXISTS temp.findings_fts_vocab USING fts5vocab(main, findings_fts, row);";

/// How one index is asked about a search.
pub(super) struct IndexPlan {
    table: &'static str,
    /// The search in FTS5 syntax, with this index's words for its prefixes.
    fts: String,
    /// For a search of more than one word, a query per word: a row can only match where
    /// every one of them does. Empty for a single word.
    words: Vec<String>,
    /// Whether the whole search matches anywhere in the index: known for a single word,
    /// asked the first time a chunk has a row with every word.
    any: Option<bool>,
}

/// How a search is asked of the two indexes; `None` for an index it cannot match.
pub(super) struct Plan {
    audits: Option<IndexPlan>,
    findings: Option<IndexPlan>,
}

impl Plan {
    /// Whether neither index can match: the search has no result.
    pub(super) fn none(&self) -> bool {
        self.audits.is_none() && self.findings.is_none()
    }
}

/// Plan the search of `terms` (at least one) in both indexes.
pub(super) async fn plan(conn: &mut SqliteConnection, terms: &[Term]) -> Result<Plan> {
    Ok(Plan {
        audits: index_plan(conn, "audits_fts", terms).await?,
        findings: index_plan(conn, "findings_fts", terms).await?,
    })
}

async fn index_plan(
    conn: &mut SqliteConnection,
    table: &'static str,
    terms: &[Term],
) -> Result<Option<IndexPlan>> {
    let mut parts = Vec::with_capacity(terms.len());
    let mut words = Vec::new();
    for term in terms {
        match term {
            Term::Prefix(w) => {
                let Some(q) = expand(conn, table, w).await? else {
                    return Ok(None);
                };
                words.push(q.clone());
                parts.push(q);
            }
            Term::Phrase(ws) => {
                for w in ws.iter().take(MAX_WORD_CHECKS.saturating_sub(words.len())) {
                    let q = quoted(w);
                    if !any_match(conn, table, &q).await? {
                        return Ok(None);
                    }
                    words.push(q);
                }
                parts.push(term.fts());
            }
        }
    }
    // One word, seen in the index: the search matches there.
    let single = words.len() == 1;
    Ok(Some(IndexPlan {
        table,
        // Explicit: FTS5 takes whitespace for AND only between phrases, not groups.
        fts: parts.join(" AND "),
        words: if single { Vec::new() } else { words },
        any: single.then_some(true),
    }))
}

/// The query for prefix `w` in `table`, which matches there (`None` where nothing does):
/// the index's words that begin with `w` where they are few, else the prefix itself.
async fn expand(conn: &mut SqliteConnection, table: &str, w: &str) -> Result<Option<String>> {
    let prefix = Term::Prefix(w.to_string()).fts();
    if !w.is_ascii() {
        // The index folds case and drops diacritics with Unicode's tables; only ASCII is
        // folded here the same way for certain.
        return Ok(any_match(conn, table, &prefix).await?.then_some(prefix));
    }
    if w.chars().count() <= PREFIX_INDEXED {
        // The index keeps a doclist for each prefix this short (migration 9): the prefix
        // seeks like a word, and its words may be thousands.
        return Ok(any_match(conn, table, &prefix).await?.then_some(prefix));
    }
    let w = w.to_ascii_lowercase();
    // The words that begin with `w` and are longer (`w` itself is looked up apart: the
    // vocabulary reads a word's whole doclist to count it). ASCII letters and digits: the
    // range ends where the last one is one higher.
    let mut end = w.clone().into_bytes();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    let mut found: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT term FROM temp.{table}_vocab WHERE term >= ? AND term < ? LIMIT {}",
        MAX_EXPANSION + 1
    ))
    .bind(format!("{w}\u{1}"))
    .bind(String::from_utf8(end).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    if found.len() > MAX_EXPANSION {
        return Ok(Some(prefix));
    }
    if any_match(conn, table, &quoted(&w)).await? {
        found.insert(0, w);
    }
    Ok(match found.as_slice() {
        [] => None,
        [one] => Some(quoted(one)),
        many => Some(format!(
            "({})",
            many.iter().map(|t| quoted(t)).collect::<Vec<_>>().join(" OR ")
        )),
    })
}

/// `word` as an FTS5 string (a quote inside is doubled).
fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Whether `fts` matches anything in `table`.
async fn any_match(conn: &mut SqliteConnection, table: &str, fts: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT 1)"
    ))
    .bind(fts)
    .fetch_one(&mut *conn)
    .await?
        > 0)
}

/// The rowids of the audits in `chunk` (rowid, id) whose url or narrative, or one of whose
/// findings, matches the search; only the indexes `plan` has are asked.
pub(super) async fn matching(
    conn: &mut SqliteConnection,
    plan: &mut Plan,
    chunk: &[(i64, String)],
) -> Result<HashSet<i64>> {
    let rowids: Vec<i64> = chunk.iter().map(|(r, _)| *r).collect();
    let mut matched = match &mut plan.audits {
        Some(audits) => in_index(conn, audits, Rows::List(rowids)).await?,
        None => HashSet::new(),
    };
    let Some(findings_plan) = &mut plan.findings else {
        return Ok(matched);
    };
    let rest = serde_json::to_string(
        &chunk
            .iter()
            .filter(|(r, _)| !matched.contains(r))
            .map(|(_, id)| id.as_str())
            .collect::<Vec<_>>(),
    )?;
    // The findings of the audits left, as a range of ids where they were written together
    // (the usual case: then only the matching ones are read, never all of them).
    let (lo, hi, n): (Option<i64>, Option<i64>, i64) = sqlx::query_as(
        "SELECT min(f.id), max(f.id), count(*) FROM audit_findings f
         WHERE f.audit_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&rest)
    .fetch_one(&mut *conn)
    .await?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(matched);
    };
    let rows = if is_compact(hi - lo, n) {
        Rows::Range(lo, hi)
    } else {
        Rows::List(
            sqlx::query_scalar(
                "SELECT f.id FROM audit_findings f WHERE f.audit_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&rest)
            .fetch_all(&mut *conn)
            .await?,
        )
    };
    let hits = in_index(conn, findings_plan, rows).await?;
    if hits.is_empty() {
        return Ok(matched);
    }
    // Whose the matching findings are: a range may hold findings of audits of other chunks.
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT f.audit_id FROM audit_findings f WHERE f.id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&hits)?)
    .fetch_all(&mut *conn)
    .await?;
    let rowid_of: HashMap<&str, i64> = chunk.iter().map(|(r, id)| (id.as_str(), *r)).collect();
    matched.extend(owners.iter().filter_map(|o| rowid_of.get(o.as_str()).copied()));
    Ok(matched)
}

/// Rows of an index's content table to check.
enum Rows {
    /// Every row from one rowid to another, inclusive.
    Range(i64, i64),
    /// These rows.
    List(Vec<i64>),
}

impl Rows {
    /// Whether one read of an index over the rows' range costs less than a probe per row.
    fn compact(&self) -> bool {
        match self {
            Rows::Range(..) => true,
            Rows::List(ids) => match (ids.iter().min(), ids.iter().max()) {
                (Some(lo), Some(hi)) => is_compact(hi - lo, ids.len() as i64),
                _ => true,
            },
        }
    }
}

/// Whether `n` rows spread over `span` rowids lie close together (rows written one after
/// another: the usual case).
fn is_compact(span: i64, n: i64) -> bool {
    span <= 4 * n + 64
}

/// Which of `rows` (of the plan's table's content table) match the search.
async fn in_index(conn: &mut SqliteConnection, plan: &mut IndexPlan, mut rows: Rows) -> Result<HashSet<i64>> {
    if plan.any == Some(false) {
        return Ok(HashSet::new());
    }
    // Decided on the rows asked about, not on the fewer that hold the first words: the cost
    // of reading a range is the range's, however few of its rows are still wanted.
    let compact = rows.compact();
    if !plan.words.is_empty() {
        let hits = rows_matching(conn, plan.table, &plan.words, &rows, compact).await?;
        if hits.is_empty() {
            return Ok(hits);
        }
        rows = Rows::List(hits.into_iter().collect());
    }
    if plan.any.is_none() {
        let any = any_match(conn, plan.table, &plan.fts).await?;
        plan.any = Some(any);
        if !any {
            return Ok(HashSet::new());
        }
    }
    rows_matching(conn, plan.table, std::slice::from_ref(&plan.fts), &rows, compact).await
}

/// Which of `rows` match every one of `queries` (at least one) in `table`, in one
/// statement: one read of the index over the rows' range per query where `compact`, else
/// one probe of the index per row.
async fn rows_matching(
    conn: &mut SqliteConnection,
    table: &str,
    queries: &[String],
    rows: &Rows,
    compact: bool,
) -> Result<HashSet<i64>> {
    let (lo, hi, wanted) = match rows {
        Rows::Range(lo, hi) => (*lo, *hi, None),
        Rows::List(ids) => match (ids.iter().min(), ids.iter().max()) {
            (Some(lo), Some(hi)) => (*lo, *hi, Some(ids.iter().copied().collect::<HashSet<i64>>())),
            _ => return Ok(HashSet::new()),
        },
    };
    let mut args = SqliteArguments::default();
    let sql = if compact {
        let one = format!("SELECT rowid FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ?");
        for q in queries {
            args.add(q.as_str()).map_err(sqlx::Error::Encode)?;
            args.add(lo).map_err(sqlx::Error::Encode)?;
            args.add(hi).map_err(sqlx::Error::Encode)?;
        }
        vec![one; queries.len()].join(" INTERSECT ")
    } else {
        let ids: Vec<i64> = match rows {
            Rows::List(ids) => ids.clone(),
            Rows::Range(lo, hi) => (*lo..=*hi).collect(),
        };
        args.add(serde_json::to_string(&ids)?)
            .map_err(sqlx::Error::Encode)?;
        let one = format!("EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? AND rowid = j.value)");
        for q in queries {
            args.add(q.as_str()).map_err(sqlx::Error::Encode)?;
        }
        format!(
            "SELECT j.value FROM json_each(?) j WHERE {}",
            vec![one; queries.len()].join(" AND ")
        )
    };
    let found: Vec<i64> = sqlx::query_scalar_with(&sql, args).fetch_all(&mut *conn).await?;
    Ok(match wanted {
        Some(wanted) => found.into_iter().filter(|r| wanted.contains(r)).collect(),
        None => found.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quoted("fee"), "\"fee\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
