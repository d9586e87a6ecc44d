//! The maintained facet counts (migration 7) against plain counts over the rows: after
//! inserts, updates, deletes, re-runs, rows the backend writes with its own INSERTs, and a
//! write that died half-way, every facet under every kind of filter says what counting the
//! audits and findings one by one says, and `doctor` finds nothing to repair.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::json;
use sqlx::{Connection, Row};
use veritas_core::{
    AuditFilter, AuditStatus, Facets, IngestOptions, ListRequest, NewFinding, ProjectName, Store,
};

use crate::common::{aid, fresh, ingest_lines, pname, raw, record};

/// One audit as the plain count sees it, read from the rows.
struct Plain {
    id: String,
    project: String,
    dims: [Option<String>; 4],
    /// The score if it is a number; `Err(())` for text (it passes every lower bound and no
    /// upper one, as SQLite compares text above numbers).
    score: Option<Result<f64, ()>>,
    severity: BTreeSet<String>,
    pattern: BTreeSet<String>,
    mitre: BTreeSet<String>,
    cwe: BTreeSet<String>,
    green: bool,
}

async fn plain_rows(dir: &Path) -> Vec<Plain> {
    let mut c = raw(dir).await;
    let audits = sqlx::query(
        "SELECT id, project, lower(status) AS status, risk_level, audit_tier, site_type,
                typeof(trust_score) AS t, CASE WHEN typeof(trust_score) IN ('integer', 'real') THEN trust_score END AS s
         FROM audits",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let findings: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT audit_id, lower(severity), pattern_type FROM audit_findings")
            .fetch_all(&mut c)
            .await
            .unwrap();
    let facts: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT audit_id, kind, value FROM audit_facts WHERE kind IN ('mitre', 'cwe', 'green_flags')",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    audits
        .iter()
        .map(|r| {
            let id: String = r.get("id");
            let of = |kind: &str| -> BTreeSet<String> {
                facts
                    .iter()
                    .filter(|(a, k, _)| *a == id && k == kind)
                    .map(|(_, _, v)| v.clone())
                    .collect()
            };
            let t: String = r.get("t");
            Plain {
                id: id.clone(),
                project: r.get("project"),
                dims: ["status", "risk_level", "audit_tier", "site_type"].map(|d| r.get(d)),
                score: match t.as_str() {
                    "null" => None,
                    "text" | "blob" => Some(Err(())),
                    _ => Some(Ok(r.get("s"))),
                },
                severity: findings
                    .iter()
                    .filter(|(a, _, _)| *a == id)
                    .filter_map(|(_, s, _)| s.clone())
                    .collect(),
                pattern: findings
                    .iter()
                    .filter(|(a, _, _)| *a == id)
                    .filter_map(|(_, _, p)| p.clone())
                    .collect(),
                mitre: of("mitre"),
                cwe: of("cwe"),
                green: !of("green_flags").is_empty(),
            }
        })
        .collect()
}

type Counts = BTreeMap<&'static str, BTreeMap<String, i64>>;

const NAMES: [&str; 9] = [
    "status",
    "risk_level",
    "audit_tier",
    "site_type",
    "severity",
    "pattern_type",
    "mitre",
    "cwe",
    "green_flags",
];

/// Whether audit `a` is in `f`, leaving out facet `skip`'s own choice; `found` holds the
/// audits the search finds (the search itself is the search suite's to check).
fn passes(a: &Plain, f: &AuditFilter, skip: &str, found: &Option<BTreeSet<String>>) -> bool {
    if found.as_ref().is_some_and(|ids| !ids.contains(&a.id)) {
        return false;
    }
    let status: Vec<String> = f.status.iter().map(|s| s.as_str().to_string()).collect();
    let dim_lists = [&status, &f.risk_level, &f.audit_tier, &f.site_type];
    for (i, want) in dim_lists.iter().enumerate() {
        if NAMES[i] != skip && !want.is_empty() && !a.dims[i].as_ref().is_some_and(|v| want.contains(v)) {
            return false;
        }
    }
    let sets = [
        (&a.severity, &f.severity),
        (&a.pattern, &f.pattern_type),
        (&a.mitre, &f.mitre),
        (&a.cwe, &f.cwe),
    ];
    for (i, (have, want)) in sets.iter().enumerate() {
        let want: Vec<String> = want
            .iter()
            .map(|w| if i == 0 { w.to_lowercase() } else { w.clone() })
            .collect();
        if NAMES[i + 4] != skip && !want.is_empty() && !want.iter().any(|w| have.contains(w)) {
            return false;
        }
    }
    if skip != "green_flags" && f.green_flags.is_some_and(|g| g != a.green) {
        return false;
    }
    let score_ok = |bound: Option<f64>, lower: bool| match (bound, &a.score) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(_), Some(Err(()))) => lower,
        (Some(b), Some(Ok(s))) => {
            if lower {
                *s >= b
            } else {
                *s <= b
            }
        }
    };
    score_ok(f.min_score, true) && score_ok(f.max_score, false)
}

/// The facets counted audit by audit.
fn plain_facets(
    rows: &[Plain],
    project: &str,
    f: &AuditFilter,
    found: &Option<BTreeSet<String>>,
) -> (i64, Counts) {
    let mine: Vec<&Plain> = rows.iter().filter(|a| a.project == project).collect();
    let total = mine.iter().filter(|a| passes(a, f, "", found)).count() as i64;
    let mut counts = Counts::new();
    for (i, name) in NAMES.into_iter().enumerate() {
        let mut c = BTreeMap::new();
        for a in mine.iter().filter(|a| passes(a, f, name, found)) {
            let values: Vec<String> = match i {
                0..=3 => a.dims[i].clone().into_iter().collect(),
                4 => a.severity.iter().cloned().collect(),
                5 => a.pattern.iter().cloned().collect(),
                6 => a.mitre.iter().cloned().collect(),
                7 => a.cwe.iter().cloned().collect(),
                _ => vec![if a.green { "yes" } else { "no" }.to_string()],
            };
            for v in values {
                *c.entry(v).or_insert(0) += 1;
            }
        }
        counts.insert(name, c);
    }
    (total, counts)
}

fn as_counts(f: &Facets) -> (i64, Counts) {
    let lists = [
        &f.status,
        &f.risk_level,
        &f.audit_tier,
        &f.site_type,
        &f.severity,
        &f.pattern_type,
        &f.mitre,
        &f.cwe,
        &f.green_flags,
    ];
    let counts = NAMES
        .into_iter()
        .zip(lists)
        .map(|(n, l)| (n, l.iter().map(|c| (c.value.clone(), c.count)).collect()))
        .collect();
    (f.total, counts)
}

/// Filters of every shape: those the maintained counts answer and those counted from rows.
fn filters() -> Vec<AuditFilter> {
    let d = AuditFilter::default;
    vec![
        d(),
        AuditFilter {
            status: vec![AuditStatus::Error],
            ..d()
        },
        AuditFilter {
            status: vec![AuditStatus::Completed, AuditStatus::Running],
            risk_level: vec!["suspicious".into()],
            ..d()
        },
        AuditFilter {
            min_score: Some(20.0),
            max_score: Some(60.0),
            ..d()
        },
        AuditFilter {
            min_score: Some(30.0),
            ..d()
        },
        AuditFilter {
            max_score: Some(50.0),
            ..d()
        },
        AuditFilter {
            min_score: Some(20.5),
            max_score: Some(59.9),
            ..d()
        },
        AuditFilter {
            audit_tier: vec!["deep_forensic".into()],
            site_type: vec!["ecommerce".into(), "blog".into()],
            ..d()
        },
        AuditFilter {
            severity: vec!["HIGH".into()],
            ..d()
        },
        AuditFilter {
            pattern_type: vec!["hidden_costs".into()],
            ..d()
        },
        AuditFilter {
            severity: vec!["high".into(), "critical".into()],
            ..d()
        },
        AuditFilter {
            severity: vec!["critical".into()],
            status: vec![AuditStatus::Completed],
            ..d()
        },
        AuditFilter {
            severity: vec!["low".into()],
            pattern_type: vec!["countdown_timer".into()],
            ..d()
        },
        AuditFilter {
            green_flags: Some(true),
            ..d()
        },
        AuditFilter {
            green_flags: Some(false),
            severity: vec!["high".into()],
            ..d()
        },
        AuditFilter {
            mitre: vec!["T1566".into()],
            ..d()
        },
        AuditFilter {
            cwe: vec!["CWE-79".into()],
            min_score: Some(10.0),
            ..d()
        },
        AuditFilter {
            search: Some("fee".into()),
            ..d()
        },
        AuditFilter {
            search: Some("fee".into()),
            status: vec![AuditStatus::Completed],
            severity: vec!["high".into(), "low".into()],
            green_flags: Some(false),
            ..d()
        },
    ]
}

/// Every facet under every filter in both projects equals the plain count, and doctor
/// finds the maintained tables right.
async fn assert_counts_agree(store: &Store, dir: &Path, when: &str) {
    let rows = plain_rows(dir).await;
    // The project list's counts come from the maintained counts too.
    let mut plain_projects: BTreeMap<String, i64> = BTreeMap::new();
    for a in &rows {
        *plain_projects.entry(a.project.clone()).or_insert(0) += 1;
    }
    let listed: BTreeMap<String, i64> = store
        .projects()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.audits > 0)
        .map(|p| (p.name, p.audits))
        .collect();
    assert_eq!(listed, plain_projects, "{when}: the projects' audit counts");
    for project in ["default", "other"] {
        for f in filters() {
            let got = store.audit_facets(&pname(project), &f).await.unwrap();
            let found = match &f.search {
                Some(text) => Some(searched(store, project, text).await),
                None => None,
            };
            assert!(
                got.estimated.is_empty(),
                "{when}: exact counts are never estimates"
            );
            assert_eq!(
                as_counts(&got),
                plain_facets(&rows, project, &f, &found),
                "{when}: project {project}, filter {f:?}"
            );
            // With the budget spent at once, what is not maintained is estimated from the
            // newest audits in one pass; the projects are smaller than the sample, so the
            // estimate must be the exact count.
            let spent = veritas_core::FacetOptions {
                budget: Some(std::time::Duration::ZERO),
                cancel: None,
            };
            let estimate = veritas_core::facets_with(store.database().reader(), project, &f, &spent)
                .await
                .unwrap();
            assert_eq!(
                as_counts(&estimate),
                as_counts(&got),
                "{when}: the estimate of project {project} under {f:?} (estimated {:?})",
                estimate.estimated
            );
        }
    }
    let report = store
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        report.facet_mismatches,
        vec![],
        "{when}: doctor finds the maintained counts right"
    );
}

/// The audits of `project` a search finds, every page of the list.
async fn searched(store: &Store, project: &str, text: &str) -> BTreeSet<String> {
    let mut req = ListRequest {
        filter: AuditFilter {
            search: Some(text.into()),
            ..Default::default()
        },
        limit: Some(100),
        ..Default::default()
    };
    let mut ids = BTreeSet::new();
    loop {
        let page = store.list_audits(&pname(project), &req).await.unwrap();
        ids.extend(page.audits.into_iter().map(|a| a.id));
        match page.next_cursor {
            Some(c) => req.after = Some(c),
            None => return ids,
        }
    }
}

fn finding(pattern: &str, severity: &str) -> NewFinding {
    NewFinding {
        created_at: None,
        run: None,
        key: Some(format!("{pattern}-{severity}")),
        pattern_type: pattern.into(),
        category: Some("sneaking".into()),
        severity: severity.into(),
        confidence: 0.6,
        description: format!("{pattern} seen, a hidden fee"),
        ..NewFinding::default()
    }
}

#[tokio::test]
async fn maintained_facet_counts_equal_plain_counts_through_a_mixed_history() {
    let fx = fresh().await;
    let (store, dir) = (&fx.store, fx.dir.path());
    let statuses = [AuditStatus::Completed, AuditStatus::Error, AuditStatus::Running];
    let patterns = [
        "countdown_timer",
        "hidden_costs",
        "confirmshaming",
        "fake_login_form",
    ];
    let severities = ["low", "High", "critical", "medium"];
    for i in 0..36 {
        let mut r = record(i);
        r.status = Some(statuses[i % 3]);
        // Whole and fractional scores, on and beside the bounds the filters use.
        r.fields.trust_score = match i % 9 {
            0 => None,
            1 => Some(20.0),
            2 => Some(60.0),
            3 => Some(59.95),
            _ => Some((i * 37 % 1000) as f64 / 10.0),
        };
        r.fields.risk_level = [Some("suspicious"), Some("trusted"), None][i % 3].map(str::to_string);
        r.fields.audit_tier = Some(["deep_forensic", "standard_audit"][i % 2].into());
        r.fields.site_type = [Some("ecommerce"), Some("blog"), Some("news"), None][i % 4].map(str::to_string);
        r.findings = (0..(i % 4))
            .map(|j| finding(patterns[(i + j) % 4], severities[(i * 3 + j) % 4]))
            .collect();
        let project = if i % 6 == 5 { "other" } else { "default" };
        store.insert_audit(&pname(project), r).await.unwrap();
    }
    assert_counts_agree(store, dir, "after inserts").await;

    // Deletes, and an audit re-run through the stream (its events arriving again, as the
    // current backend's reconnecting stream sends them, without audit_start): its result moves it to another
    // status, score and tier and adds findings; another gets green flags and MITRE ids.
    store
        .delete_audit(&pname("default"), &aid(crate::common::audit_id(0)))
        .await
        .unwrap();
    store
        .delete_audit(&pname("default"), &aid(crate::common::audit_id(7)))
        .await
        .unwrap();
    let rerun = crate::common::audit_id(4);
    let env = |e: serde_json::Value| json!({"audit_id": rerun, "event": e}).to_string();
    let lines = vec![
        env(
            json!({"type": "finding", "finding": {"pattern_type": "fake_login_form", "severity": "CRITICAL", "confidence": 0.9, "description": "Posts the password elsewhere"}}),
        ),
        env(json!({"type": "green_flags", "flags": ["Clear refund policy"]})),
        env(
            json!({"type": "mitre_technique_mapped", "technique": {"technique_id": "T1566", "name": "Phishing"}}),
        ),
        env(
            json!({"type": "audit_result", "result": {"url": "https://site4.example/again", "status": "error", "trust_score": 33, "risk_level": "high_risk", "audit_tier": "deep_forensic",
            "findings": [{"pattern_type": "hidden_costs", "severity": "medium", "confidence": 0.7, "description": "Fee at the end"}]}}),
        ),
        env(json!({"type": "audit_complete", "audit_id": rerun})),
    ];
    let (_, rejected) = ingest_lines(store, &lines, &IngestOptions::default()).await;
    assert_eq!(rejected, vec![], "the re-run is ingested whole");
    store
        .mark_disconnected(&pname("default"), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_counts_agree(store, dir, "after deletes, a re-run and marking running audits").await;

    // The backend writes behind our back: its INSERTs and UPDATEs fire only triggers.
    let mut c = raw(dir).await;
    for (id, status, score, site) in [
        // Bound as text: the column's REAL affinity makes numbers of "44.0" and "71", and
        // keeps "abc" as text, as a careless producer would leave it.
        ("vrts_bk000001", "COMPLETED", Some("44.0"), Some("ecommerce")),
        ("vrts_bk000002", "RUNNING", None, None),
        ("vrts_bk000003", "COMPLETED", Some("abc"), Some("blog")),
        ("vrts_bk000004", "ERROR", Some("71"), Some("news")),
        ("vrts_bk000005", "COMPLETED", Some("abc"), Some("news")),
    ] {
        sqlx::query(
            "INSERT INTO audits (id, url, status, audit_tier, trust_score, risk_level, site_type, security_results, created_at)
             VALUES (?1, 'https://backend.example', ?2, 'standard_audit', ?3, 'suspicious', ?4,
                     '{\"headers\": {\"findings\": [{\"cwe_id\": 79}]}}', '2026-03-01 09:00:00.000000')",
        )
        .bind(id)
        .bind(status)
        .bind(score)
        .bind(site)
        .execute(&mut c)
        .await
        .unwrap();
        for (p, s) in [
            ("hidden_costs", "high"),
            ("sneak_into_basket", "HIGH"),
            ("hidden_costs", "low"),
        ] {
            sqlx::query(
                "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description)
                 VALUES (?1, ?2, 'sneaking', ?3, 0.5, 'backend finding')",
            )
            .bind(id)
            .bind(p)
            .bind(s)
            .execute(&mut c)
            .await
            .unwrap();
        }
    }
    sqlx::query("UPDATE audits SET status = 'COMPLETED', trust_score = 88.5, risk_level = 'trusted' WHERE id = 'vrts_bk000002'")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_findings SET severity = 'critical' WHERE audit_id = 'vrts_bk000001' AND pattern_type = 'hidden_costs'")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM audit_findings WHERE audit_id = 'vrts_bk000004' AND pattern_type = 'sneak_into_basket'",
    )
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query("UPDATE audits SET project = 'other' WHERE id = 'vrts_bk000004'")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audits WHERE id = 'vrts_bk000003'")
        .execute(&mut c)
        .await
        .unwrap();
    assert_counts_agree(store, dir, "after the backend's INSERTs, UPDATEs and DELETEs").await;

    // A write that dies half-way: its audit, findings and counts are all rolled back.
    let mut tx = c.begin().await.unwrap();
    sqlx::query("INSERT INTO audits (id, url, status, trust_score) VALUES ('vrts_crash001', 'https://x.example', 'RUNNING', 12.0)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_findings (audit_id, pattern_type, severity, confidence, description)
         VALUES ('vrts_crash001', 'hidden_costs', 'high', 0.5, 'half-written')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    drop(c);
    assert_counts_agree(store, dir, "after a write that died half-way").await;
}

#[tokio::test]
async fn doctor_finds_and_repairs_counts_that_were_tampered_with() {
    let fx = fresh().await;
    for i in 0..6 {
        let mut r = record(i);
        r.findings.push(finding("hidden_costs", "high"));
        fx.store.insert_audit(&ProjectName::default(), r).await.unwrap();
    }
    let mut c = raw(fx.dir.path()).await;
    // Another program that knows nothing of our tables: it drops a trigger, writes, and
    // edits a count.
    sqlx::query("DROP TRIGGER finding_fingerprints_insert")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_findings (audit_id, pattern_type, severity, confidence, description)
         VALUES (?1, 'trick_question', 'low', 0.5, 'unseen')",
    )
    .bind(crate::common::audit_id(2))
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE facet_counts SET n = n + 5 WHERE (project, kind, value, status, risk_level, audit_tier, site_type, score, whole)
         IN (SELECT project, kind, value, status, risk_level, audit_tier, site_type, score, whole
             FROM facet_counts WHERE kind = 'audit' LIMIT 1)",
    )
        .execute(&mut c)
        .await
        .unwrap();
    // The totals (migration 8) follow that edit by trigger; one edited behind them too.
    sqlx::query(
        "UPDATE facet_totals SET n = n + 2 WHERE (project, kind, value, status, risk_level, audit_tier, site_type)
         IN (SELECT project, kind, value, status, risk_level, audit_tier, site_type
             FROM facet_totals WHERE kind = 'severity' LIMIT 1)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM facet_scores WHERE (project, facet, value, score, whole)
         IN (SELECT project, facet, value, score, whole FROM facet_scores WHERE facet = 'status' LIMIT 1)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    let tampered = fx
        .store
        .audit_facets(&ProjectName::default(), &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        tampered.total, 11,
        "the unfiltered total is read from the maintained counts, not counted"
    );
    let report = fx
        .store
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    let tables: Vec<&str> = report.facet_mismatches.iter().map(|m| m.table.as_str()).collect();
    assert!(
        tables.contains(&"facet_counts"),
        "the edited count is found: {tables:?}"
    );
    assert!(
        tables.contains(&"facet_totals"),
        "the edited total is found: {tables:?}"
    );
    assert!(
        tables.contains(&"facet_scores"),
        "the deleted per-score count is found: {tables:?}"
    );
    assert!(
        tables.contains(&"audit_facts (findings)"),
        "the finding no trigger saw is found: {tables:?}"
    );
    assert!(!report.healthy());

    let repaired = fx
        .store
        .doctor(true, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(!repaired.repaired.is_empty(), "repair says what it did");
    let after = fx
        .store
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(after.facet_mismatches, vec![], "repaired");
    let f = fx
        .store
        .audit_facets(
            &ProjectName::default(),
            &AuditFilter {
                pattern_type: vec!["trick_question".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.total, 1,
        "the finding the trigger missed is counted after the repair"
    );
}

#[tokio::test]
async fn past_the_budget_facets_are_estimated_and_named_and_a_cancelled_request_stops() {
    let fx = fresh().await;
    for i in 0..12 {
        let mut r = record(i);
        r.findings.push(finding(
            "hidden_costs",
            if i % 3 == 0 { "critical" } else { "low" },
        ));
        fx.store.insert_audit(&ProjectName::default(), r).await.unwrap();
    }
    let pool = fx.store.database().reader();
    // A search cannot be answered from the maintained counts: it is counted from the rows.
    let filter = AuditFilter {
        search: Some("fee".into()),
        ..AuditFilter::default()
    };
    let exact = fx
        .store
        .audit_facets(&ProjectName::default(), &filter)
        .await
        .unwrap();
    assert!(exact.estimated.is_empty());
    let spent = veritas_core::FacetOptions {
        budget: Some(std::time::Duration::ZERO),
        cancel: None,
    };
    // The project is smaller than the sample: counted from the sample, the counts are the
    // exact ones, and not labelled as estimates.
    let whole = veritas_core::facets_with(pool, "default", &filter, &spent)
        .await
        .unwrap();
    assert_eq!(whole, exact, "a sample that is the whole project counts exactly");

    // Past the sample's size (the backend's own INSERTs, a quarter of them with fees), a
    // spent budget estimates and names what it estimated.
    let mut c = raw(fx.dir.path()).await;
    sqlx::query("BEGIN").execute(&mut c).await.unwrap();
    for i in 0..4100 {
        let id = format!("vrts_big{i:06}");
        let text = if i % 4 == 0 {
            "a hidden fee at checkout"
        } else {
            "clean"
        };
        sqlx::query(
            "INSERT INTO audits (id, url, status, trust_score, risk_level, narrative) \
             VALUES (?1, 'https://big.example', 'COMPLETED', 50, 'suspicious', ?2)",
        )
        .bind(&id)
        .bind(text)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description) \
             VALUES (?1, 'hidden_costs', 'sneaking', ?2, 0.5, 'backend finding')",
        )
        .bind(&id)
        .bind(if i % 8 == 0 { "critical" } else { "low" })
        .execute(&mut c)
        .await
        .unwrap();
    }
    sqlx::query("COMMIT").execute(&mut c).await.unwrap();
    let exact = fx
        .store
        .audit_facets(&ProjectName::default(), &filter)
        .await
        .unwrap();
    assert!(exact.estimated.is_empty());
    let estimate = veritas_core::facets_with(pool, "default", &filter, &spent)
        .await
        .unwrap();
    assert!(
        estimate.estimated.contains(&"total".to_string())
            && estimate.estimated.contains(&"severity".to_string()),
        "a spent budget names what it estimated: {:?}",
        estimate.estimated
    );
    // The newest 4,000 of 4,112 audits, scaled up: close to the exact counts.
    let near = |est: i64, exact: i64| (est - exact).abs() as f64 <= 0.05 * exact as f64;
    assert!(
        near(estimate.total, exact.total),
        "estimated total {} beside exact {}",
        estimate.total,
        exact.total
    );
    for (e, x) in estimate.severity.iter().zip(&exact.severity) {
        assert!(
            e.value == x.value && near(e.count, x.count),
            "severity estimate {e:?} beside exact {x:?}"
        );
    }
    let cancelled = veritas_core::FacetOptions {
        budget: None,
        cancel: Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true))),
    };
    let err = veritas_core::facets_with(pool, "default", &filter, &cancelled)
        .await
        .unwrap_err();
    assert_eq!(err.kind, veritas_core::ErrorKind::Cancelled, "{err}");
    // The connection the cancelled request used serves the next request as usual.
    for _ in 0..4 {
        assert_eq!(
            fx.store
                .audit_facets(&ProjectName::default(), &filter)
                .await
                .unwrap(),
            exact
        );
    }
}
