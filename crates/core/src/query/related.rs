//! Queries across audits: the history of one url, comparing two audits, similar findings.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlx::SqlitePool;

use super::changes::{fingerprint_diff, FingerprintDiff};
use super::{audit_from_row, finding_from_row, text, AUDIT_COLUMNS, FINDING_COLUMNS};
use crate::error::{Error, Result};
use crate::model::{Audit, Finding};

/// The audits of `url` in `project`, oldest first. A trailing slash does not make a
/// different site (`https://a.com` and `https://a.com/`).
pub async fn history(pool: &SqlitePool, project: &str, url: &str) -> Result<Vec<Audit>> {
    let base = url.trim_end_matches('/');
    let rows = sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audits a WHERE a.project = ?1 AND a.url IN (?2, ?3)
         ORDER BY COALESCE(a.created_at, ''), a.id"
    ))
    .bind(project)
    .bind(base)
    .bind(format!("{base}/"))
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(audit_from_row).collect())
}

/// How one pattern type's findings changed between two audits.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternCount {
    pub pattern_type: String,
    pub before: usize,
    pub after: usize,
}

/// Findings by pattern type: only in the later audit, only in the earlier, in both.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FindingChanges {
    pub new: Vec<PatternCount>,
    pub resolved: Vec<PatternCount>,
    pub kept: Vec<PatternCount>,
}

/// Audit `other` against audit `base`: deltas are `other - base`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base: Audit,
    pub other: Audit,
    pub score_delta: Option<f64>,
    /// Per signal; `None` where either audit lacks a numeric score for it.
    pub signal_deltas: BTreeMap<String, Option<f64>>,
    pub findings: FindingChanges,
    /// The findings matched one by one by fingerprint (the same problem in both audits).
    pub by_fingerprint: FingerprintDiff,
}

/// Compare two audits of `project`.
pub async fn compare(pool: &SqlitePool, project: &str, base_id: &str, other_id: &str) -> Result<Comparison> {
    let [(base, before), (other, after)] =
        super::changes::audits_with_findings(pool, project, base_id, other_id).await?;
    Ok(comparison(base, before, other, after))
}

/// Audit `other` (with its findings `after`) against audit `base` (with `before`): the one
/// comparison of every engine.
pub(crate) fn comparison(base: Audit, before: Vec<Finding>, other: Audit, after: Vec<Finding>) -> Comparison {
    let by_pattern = |fs: &[Finding]| {
        let mut patterns = BTreeMap::<String, usize>::new();
        for f in fs {
            *patterns.entry(f.pattern_type.clone()).or_insert(0) += 1;
        }
        patterns
    };
    let (patterns_before, patterns_after) = (by_pattern(&before), by_pattern(&after));
    let signals = |a: &Audit| -> BTreeMap<String, Option<f64>> {
        a.fields
            .signal_scores
            .as_ref()
            .and_then(|v| v.as_object())
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_f64())).collect())
            .unwrap_or_default()
    };
    let (sb, so) = (signals(&base), signals(&other));
    let signal_deltas = sb
        .keys()
        .chain(so.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            let d = match (sb.get(k).copied().flatten(), so.get(k).copied().flatten()) {
                (Some(b), Some(o)) => Some(o - b),
                _ => None,
            };
            (k.clone(), d)
        })
        .collect();
    let mut findings = FindingChanges::default();
    for p in patterns_before
        .keys()
        .chain(patterns_after.keys())
        .collect::<BTreeSet<_>>()
    {
        let count = PatternCount {
            pattern_type: p.clone(),
            before: patterns_before.get(p).copied().unwrap_or(0),
            after: patterns_after.get(p).copied().unwrap_or(0),
        };
        match (count.before, count.after) {
            (0, _) => findings.new.push(count),
            (_, 0) => findings.resolved.push(count),
            _ => findings.kept.push(count),
        }
    }
    let by_fingerprint = fingerprint_diff(before, after);
    Comparison {
        by_fingerprint,
        score_delta: base
            .fields
            .trust_score
            .zip(other.fields.trust_score)
            .map(|(b, o)| o - b),
        base,
        other,
        signal_deltas,
        findings,
    }
}

/// A finding similar to the one asked about.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarFinding {
    /// Cosine similarity, -1 to 1.
    pub similarity: f64,
    pub audit_url: String,
    pub finding: Finding,
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    (na > 0.0 && nb > 0.0).then(|| dot / (na.sqrt() * nb.sqrt()))
}

/// The findings of `project` most similar to finding `finding_id`, by cosine similarity
/// of embeddings made by the same model and version (others are not comparable).
pub async fn similar_findings(
    pool: &SqlitePool,
    project: &str,
    finding_id: i64,
    limit: usize,
) -> Result<Vec<SimilarFinding>> {
    let row = sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings f JOIN audits a ON a.id = f.audit_id
         WHERE f.id = ?1 AND a.project = ?2"
    ))
    .bind(finding_id)
    .bind(project)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found(format!("finding {finding_id} in project {project}")))?;
    let target = finding_from_row(&row);
    let Some(vector) = target.embedding.as_deref() else {
        return Err(Error::invalid(
            format!("finding {finding_id}"),
            "has no embedding to compare",
        ));
    };
    let rows = sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS}, a.url AS audit_url FROM audit_findings f JOIN audits a ON a.id = f.audit_id
         WHERE a.project = ?1 AND f.embedding IS NOT NULL AND f.id != ?2
           AND f.embedding_model IS ?3 AND f.embedding_model_version IS ?4"
    ))
    .bind(project)
    .bind(finding_id)
    .bind(&target.embedding_model)
    .bind(&target.embedding_model_version)
    .fetch_all(pool)
    .await?;
    let mut found: Vec<SimilarFinding> = rows
        .iter()
        .filter_map(|r| {
            let f = finding_from_row(r);
            let similarity = cosine(vector, f.embedding.as_deref()?)?;
            Some(SimilarFinding {
                similarity,
                audit_url: text(r, "audit_url").unwrap_or_default(),
                finding: f,
            })
        })
        .collect();
    // Ties in a stable order: by audit, then the audit's own order of findings.
    found.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.finding.audit_id.cmp(&b.finding.audit_id))
            .then(a.finding.id.cmp(&b.finding.id))
    });
    found.truncate(limit);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::cosine;

    #[test]
    fn cosine_of_parallel_orthogonal_and_mismatched_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]).unwrap() - 1.0).abs() < 1e-9);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).unwrap().abs() < 1e-9);
        assert_eq!(
            cosine(&[1.0], &[1.0, 2.0]),
            None,
            "different dimensions are not comparable"
        );
        assert_eq!(
            cosine(&[0.0, 0.0], &[1.0, 2.0]),
            None,
            "a zero vector has no direction"
        );
    }
}
