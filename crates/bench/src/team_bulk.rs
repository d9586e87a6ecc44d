//! The team database W2 browses at 1M (issue 15), built with COPY rather than by `push`:
//! at push's 72 audits/s a million audits take four hours. The rows are the ones push writes
//! from the SQLite browse database (the same workload audits), and every build first proves
//! it: a few hundred audits built both ways must give the same tables.
//!
//! While the rows go in the triggers are off (`session_replication_role = replica`, which
//! the bench's superuser connection may set) and the secondary indexes are dropped, to be
//! made again at the end; what the triggers maintain is then made set-wise from the views
//! `doctor --repair` rebuilds from (`audit_facts_expected`, `facet_counts_expected`,
//! `facet_pairs_expected`). The
//! database is built under a temporary name and renamed when whole, so an interrupted build
//! is never taken for a finished one.

use std::time::Instant;

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use veritas_core::team::TeamStore;
use veritas_core::{AuditRecord, ProjectName, Store};

use crate::workload;

/// Audits generated and copied at a time.
const BATCH: u64 = 10_000;

/// The tables compared by [`check_against_push`], each with its rows' columns (the row ids
/// are each database's own and the projects' creation time is when they were made).
const COMPARED: [(&str, &str); 9] = [
    ("projects", "name"),
    ("audits", "a.*"),
    (
        "audit_findings",
        "audit_id, seq, pattern_type, category, severity, confidence, description, plain_english,
         screenshot_index, created_at, finding_key, fingerprint, embedding, embedding_model,
         embedding_model_version, cwe_id, cvss_score, run, site, site_seq, search_vector",
    ),
    (
        "audit_screenshots",
        "audit_id, seq, object_key, format, width, height, file_path, label, index_num,
         file_size_bytes, created_at, run",
    ),
    (
        "audit_events",
        "audit_id, seq, event_type, data, timestamp, run, event_id, event_hash",
    ),
    ("audit_event_facts", "a.*"),
    ("audit_facts", "a.*"),
    ("facet_counts", "a.*"),
    (
        "(SELECT project, kind, value, kind2, value2, sum(n)::bigint AS n FROM facet_pairs
          GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0)",
        "a.*",
    ),
];

/// The team database of `m` workload audits named `name` under the admin URL `admin`: reused
/// when it exists, else built (after the check against push). Returns its URL.
pub(crate) async fn team_browse_db(admin: &str, objects: &str, name: &str, m: u64) -> String {
    let url = database_url(admin, name);
    let exists: bool = {
        let mut conn = PgConnection::connect(admin).await.unwrap();
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    if exists {
        // Opening applies any newer migration, as the SQLite browse databases do.
        drop(TeamStore::open(&url, &format!("{objects}/{name}")).await.unwrap());
        eprintln!("reusing the team browse database {name}");
        return url;
    }
    check_against_push(admin, objects, &std::process::id().to_string()).await;
    let building = format!("{name}_building");
    recreate(admin, &building).await;
    let t = Instant::now();
    build(&database_url(admin, &building), objects, 0..m).await;
    let mut conn = PgConnection::connect(admin).await.unwrap();
    conn.execute(format!("ALTER DATABASE {building} RENAME TO {name}").as_str())
        .await
        .unwrap();
    eprintln!(
        "built the team browse database {name} ({m} audits) in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    url
}

/// The first audits of the workload pushed from a SQLite browse database into one team
/// database and bulk-built into another: every compared table must hold the same rows, or
/// the bulk builder no longer writes what push writes (a schema change it does not know).
/// `tag` makes the two databases' names this check's own.
async fn check_against_push(admin: &str, objects: &str, tag: &str) {
    const N: u64 = 300;
    let folder = tempfile::tempdir().unwrap();
    crate::w2::build_browse_db(folder.path(), N, "check").await;
    let (pushed, bulk) = (
        &format!("veritas_bench_check_push_{tag}"),
        &format!("veritas_bench_check_copy_{tag}"),
    );
    for name in [pushed, bulk] {
        recreate(admin, name).await;
    }
    let team = TeamStore::open(&database_url(admin, pushed), &format!("{objects}/{pushed}"))
        .await
        .unwrap();
    let local = Store::open(folder.path()).await.unwrap();
    local.push_to(&team, None).await.unwrap();
    drop(team);
    build(&database_url(admin, bulk), objects, 0..N).await;
    let (mut a, mut b) = (
        PgConnection::connect(&database_url(admin, pushed)).await.unwrap(),
        PgConnection::connect(&database_url(admin, bulk)).await.unwrap(),
    );
    for (table, columns) in COMPARED {
        let sql = format!(
            "SELECT count(*), md5(COALESCE(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\"), ''))
             FROM (SELECT ROW({columns})::text AS r FROM {table} a WHERE {}) x",
            if table == "facet_counts" { "n <> 0" } else { "true" }
        );
        let (rows_a, sum_a): (i64, String) = sqlx::query_as(&sql).fetch_one(&mut a).await.unwrap();
        let (rows_b, sum_b): (i64, String) = sqlx::query_as(&sql).fetch_one(&mut b).await.unwrap();
        assert!(
            rows_a > 0 || table == "audit_event_facts",
            "push wrote no {table}"
        );
        assert_eq!(
            (rows_a, &sum_a),
            (rows_b, &sum_b),
            "the bulk builder's {table} differ from what push writes ({N} audits)"
        );
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    for name in [pushed, bulk] {
        drop_database(admin, name).await;
    }
    eprintln!("bulk builder checked: {N} audits, the same rows as push writes");
}

/// Write workload audits `range` into the empty team database at `url`.
async fn build(url: &str, objects: &str, range: std::ops::Range<u64>) {
    drop(TeamStore::open(url, &format!("{objects}/bulk")).await.unwrap()); // the schema
    let mut conn = PgConnection::connect(url).await.unwrap();
    conn.execute(
        "SET session_replication_role = replica; SET maintenance_work_mem = '1GB';
         SET synchronous_commit = off",
    )
    .await
    .unwrap();
    let project = ProjectName::default();
    sqlx::query("INSERT INTO projects (name) VALUES ($1)")
        .bind(project.as_str())
        .execute(&mut conn)
        .await
        .unwrap();

    // Secondary indexes (not those of constraints) go while the rows go in.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = 'public'
           AND i.tablename IN ('audits', 'audit_findings', 'audit_screenshots', 'audit_events', 'audit_facts')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (name, _) in &indexes {
        conn.execute(format!("DROP INDEX {name}").as_str()).await.unwrap();
    }

    // Audits are made on a thread of their own while the previous batch is copied.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let end = range.end;
    let maker = std::thread::spawn(move || {
        for start in range.step_by(BATCH as usize) {
            let batch = Batch::of((start..(start + BATCH).min(end)).map(workload::audit), "default");
            if tx.blocking_send(batch).is_err() {
                return;
            }
        }
    });
    let t = Instant::now();
    let mut copied = 0;
    while let Some(batch) = rx.recv().await {
        for (table, text) in [
            ("audits", &batch.audits),
            ("audit_findings", &batch.findings),
            ("audit_screenshots", &batch.screenshots),
            ("audit_events", &batch.events),
            ("audit_event_facts", &batch.event_facts),
        ] {
            copy(&mut conn, table, text).await;
        }
        copied += batch.audits.lines().count();
        if copied % 100_000 == 0 {
            eprintln!("  {copied} audits copied ({:.0} s)", t.elapsed().as_secs_f64());
        }
    }
    maker.join().unwrap();
    eprintln!("  rows copied in {:.0} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    for (_, def) in &indexes {
        conn.execute(def.as_str()).await.unwrap();
    }
    eprintln!("  indexes made in {:.0} s", t.elapsed().as_secs_f64());
    // What the triggers keep, made from the rows (no triage yet, so no triage keys), once
    // the planner knows the tables: the views' functions plan their lookups at first call.
    let t = Instant::now();
    for sql in [
        "ANALYZE",
        "INSERT INTO audit_facts (audit_id, kind, value, findings) SELECT * FROM audit_facts_expected",
        "INSERT INTO facet_counts SELECT * FROM facet_counts_expected",
        "INSERT INTO facet_pairs SELECT * FROM facet_pairs_expected",
        "VACUUM ANALYZE",
    ] {
        conn.execute(sql).await.unwrap();
    }
    eprintln!(
        "  facts, counts and statistics in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    conn.close().await.unwrap();
}

/// Send `text` (COPY's text format) into `table`.
async fn copy(conn: &mut PgConnection, table: &str, text: &str) {
    let columns = match table {
        "audits" => {
            "id, project, url, status, audit_tier, verdict_mode, trust_score, risk_level, signal_scores,
             narrative, site_type, site_type_confidence, security_results, pages_scanned,
             screenshots_count, elapsed_seconds, errors, error_message, started_at, completed_at,
             created_at, updated_at"
        }
        "audit_findings" => {
            "audit_id, seq, pattern_type, category, severity, confidence, description, plain_english,
             screenshot_index, created_at, finding_key, cwe_id, cvss_score, run, site, site_seq"
        }
        "audit_screenshots" => "audit_id, seq, file_path, label, index_num, file_size_bytes, created_at, run",
        "audit_events" => "audit_id, seq, event_type, data, timestamp, run",
        _ => "audit_id, kind, value",
    };
    let mut sink = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await
        .unwrap();
    sink.send(text.as_bytes()).await.unwrap();
    sink.finish().await.unwrap();
}

/// One batch of audits as COPY text, a buffer per table.
#[derive(Default)]
struct Batch {
    audits: String,
    findings: String,
    screenshots: String,
    events: String,
    event_facts: String,
}

impl Batch {
    /// The rows push writes for these audits, as the SQLite browse database holds them
    /// (`raw::Inserts`): findings and screenshots take their audit's creation time, and a
    /// run no producer numbered is the first.
    fn of(audits: impl Iterator<Item = AuditRecord>, project: &str) -> Batch {
        let mut b = Batch::default();
        for a in audits {
            let f = &a.fields;
            let json = |v: &Option<Value>| v.as_ref().map(Value::to_string);
            let created = f.created_at.clone();
            let status = a.status.map(|s| s.as_str()).unwrap_or("completed");
            row(
                &mut b.audits,
                &[
                    Some(a.id.clone()),
                    Some(project.into()),
                    Some(a.url.clone()),
                    Some(status.into()),
                    f.audit_tier.clone(),
                    f.verdict_mode.clone(),
                    f.trust_score.map(|v| v.to_string()),
                    f.risk_level.clone(),
                    json(&f.signal_scores),
                    f.narrative.clone(),
                    f.site_type.clone(),
                    f.site_type_confidence.map(|v| v.to_string()),
                    json(&f.security_results),
                    f.pages_scanned.map(|v| v.to_string()),
                    Some(
                        a.screenshots_count
                            .unwrap_or(a.screenshots.len() as i64)
                            .to_string(),
                    ),
                    f.elapsed_seconds.map(|v| v.to_string()),
                    json(&f.errors),
                    f.error_message.clone(),
                    f.started_at.clone(),
                    f.completed_at.clone(),
                    created.clone(),
                    f.updated_at.clone(),
                ],
            );
            // veritas_site and veritas_seq (migration 5), which the findings' trigger sets.
            let site = format!("{project}\u{1f}{}", a.url.trim_end_matches('/'));
            let site_seq = format!("{} {}", created.as_deref().unwrap_or(""), a.id);
            for (seq, x) in a.findings.iter().enumerate() {
                row(
                    &mut b.findings,
                    &[
                        Some(a.id.clone()),
                        Some(seq.to_string()),
                        Some(x.pattern_type.clone()),
                        x.category.clone(),
                        Some(x.severity.clone()),
                        Some(x.confidence.to_string()),
                        Some(x.description.clone()),
                        x.plain_english.clone(),
                        x.screenshot_index.map(|v| v.to_string()),
                        created.clone(),
                        x.key.clone(),
                        x.cwe_id.clone(),
                        x.cvss_score.map(|v| v.to_string()),
                        Some(x.run.unwrap_or(1).to_string()),
                        Some(site.clone()),
                        Some(site_seq.clone()),
                    ],
                );
            }
            for (seq, s) in a.screenshots.iter().enumerate() {
                row(
                    &mut b.screenshots,
                    &[
                        Some(a.id.clone()),
                        Some(seq.to_string()),
                        Some(s.file_path.clone()),
                        Some(s.label.clone()),
                        Some(s.index.to_string()),
                        s.file_size_bytes.map(|v| v.to_string()),
                        created.clone(),
                        Some(s.run.unwrap_or(1).to_string()),
                    ],
                );
            }
            let mut facts = Vec::new();
            for (seq, e) in a.events.iter().enumerate() {
                row(
                    &mut b.events,
                    &[
                        Some(a.id.clone()),
                        Some(seq.to_string()),
                        Some(e.event_type.clone()),
                        Some(e.data.to_string()),
                        e.timestamp.clone(),
                        Some(e.run.unwrap_or(1).to_string()),
                    ],
                );
                facts.extend(veritas_core::event_facts(&e.event_type, &e.data));
            }
            facts.sort();
            facts.dedup();
            for (kind, value) in facts {
                row(
                    &mut b.event_facts,
                    &[Some(a.id.clone()), Some(kind.into()), Some(value)],
                );
            }
        }
        b
    }
}

/// One row of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn row(out: &mut String, values: &[Option<String>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match v {
            None => out.push_str("\\N"),
            Some(v) => {
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

/// The URL of database `name` on the server of admin URL `admin`.
fn database_url(admin: &str, name: &str) -> String {
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

async fn recreate(admin: &str, name: &str) {
    drop_database(admin, name).await;
    let mut conn = PgConnection::connect(admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
}

async fn drop_database(admin: &str, name: &str) {
    let mut conn = PgConnection::connect(admin).await.unwrap();
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    /// The check every bulk build starts with, run by the test command too, so a migration
    /// that changes what push writes cannot leave the builder behind unnoticed.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_bulk_builder_writes_the_rows_push_writes() {
        let need = |var: &str| {
            std::env::var(var).unwrap_or_else(|_| {
                panic!("{var} is not set: this test needs tests/services.sh's PostgreSQL and SeaweedFS")
            })
        };
        let (admin, objects) = (
            need("VERITAS_TEST_DATABASE_URL"),
            need("VERITAS_TEST_OBJECTS_URL"),
        );
        super::check_against_push(&admin, &objects, &format!("test{}", std::process::id())).await;
    }
}
