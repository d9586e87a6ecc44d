//! Team mode (issue 15): `veritas-db push` into the PostgreSQL and SeaweedFS that
//! tests/services.sh starts (the test command starts them; these tests fail, never skip,
//! without them). Each test has a database and an object prefix of its own.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use veritas_core::team::ObjectShots;

use crate::common::{run, run_json};

/// A fresh team: (database URL, objects URL), both empty.
pub(crate) async fn fresh_team() -> (String, String) {
    let need = |var: &str| {
        std::env::var(var).unwrap_or_else(|_| {
            panic!(
                "{var} is not set: team mode's tests need PostgreSQL and SeaweedFS. Run them through \
                 tests/all.sh, or: source tests/services.sh && services_start && cargo test"
            )
        })
    };
    let admin = need("VERITAS_TEST_DATABASE_URL");
    let objects = need("VERITAS_TEST_OBJECTS_URL");
    let name = format!("veritas_t_{:016x}", fastrand::u64(..));
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("the test PostgreSQL answers");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    (
        format!("{base}/{name}"),
        format!("{}/{name}", objects.trim_end_matches('/')),
    )
}

pub(crate) fn push(data: &Path, team: &(String, String), extra: &[&str]) -> Value {
    let mut args = vec!["push", "--to", &team.0, "--objects", &team.1, "--json"];
    args.extend_from_slice(extra);
    run_json(data, &args)
}

fn ingest(data: &Path, project: &str, lines: &[String]) {
    let mut child = crate::common::veritas_db(data)
        .args(["--project", project, "ingest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all((lines.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn count(db: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(db).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn two_folders_push_into_one_team_database_and_pushing_again_changes_nothing() {
    let team = fresh_team().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(run(a.path(), &["demo", "--audits", "4"]).status.success());
    for i in 0..2 {
        let id = format!("vrts_b000000{i}");
        ingest(
            b.path(),
            "default",
            &crate::common::audit_stream(&id, "https://b.example/", 3, false),
        );
    }
    let local = |dir: &Path| run_json(dir, &["list", "--json"]).as_array().unwrap().clone();
    let (la, lb) = (local(a.path()), local(b.path()));
    let local_findings: i64 = la
        .iter()
        .chain(&lb)
        .map(|x| x["findings_count"].as_i64().unwrap())
        .sum();

    let first = push(a.path(), &team, &[]);
    assert_eq!(first["audits"], 4);
    assert_eq!(first["new_audits"], 4);
    assert!(first["objects_uploaded"].as_u64().unwrap() > 0, "{first}");
    let second = push(b.path(), &team, &[]);
    assert_eq!(
        (second["audits"].as_u64(), second["new_audits"].as_u64()),
        (Some(2), Some(2))
    );

    assert_eq!(count(&team.0, "SELECT count(*) FROM audits").await, 6);
    assert_eq!(
        count(&team.0, "SELECT count(*) FROM audit_findings").await,
        local_findings
    );
    let ids_before: Vec<i64> = {
        let mut conn = PgConnection::connect(&team.0).await.unwrap();
        sqlx::query_scalar("SELECT id FROM audit_findings ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };

    // Again: nothing new, no object sent twice, every finding keeps its id.
    let again = push(a.path(), &team, &[]);
    assert_eq!(again["new_audits"], 0, "{again}");
    assert_eq!(again["objects_uploaded"], 0, "{again}");
    let present = |r: &Value| r["objects_uploaded"].as_u64().unwrap() + r["objects_reused"].as_u64().unwrap();
    assert_eq!(
        again["objects_reused"].as_u64().unwrap(),
        present(&first),
        "{again}"
    );
    assert_eq!(count(&team.0, "SELECT count(*) FROM audits").await, 6);
    let ids_after: Vec<i64> = {
        let mut conn = PgConnection::connect(&team.0).await.unwrap();
        sqlx::query_scalar("SELECT id FROM audit_findings ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(ids_before, ids_after);
}

#[tokio::test]
async fn pushed_screenshots_are_the_local_bytes_stored_once_by_content() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "3"]).status.success());
    let report = push(a.path(), &team, &[]);

    let mut conn = PgConnection::connect(&team.0).await.unwrap();
    let rows: Vec<(String, i32, Option<String>)> =
        sqlx::query_as("SELECT audit_id, seq, object_key FROM audit_screenshots ORDER BY audit_id, seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    let objects = ObjectShots::open(&team.1).unwrap();
    let mut distinct = std::collections::BTreeSet::new();
    for (audit_id, seq, key) in &rows {
        let detail = run_json(a.path(), &["show", audit_id, "--json"]);
        let shot = &detail["screenshots"][*seq as usize];
        match key {
            Some(key) => {
                let local = std::fs::read(shot["resolved_path"].as_str().unwrap()).unwrap();
                assert_eq!(objects.get(key).await.unwrap(), local, "{audit_id} #{seq}");
                distinct.insert(key.clone());
            }
            None => assert_eq!(shot["exists"], false, "{audit_id} #{seq} has its file here"),
        }
    }
    // The store holds each content once, and nothing else.
    let stored: std::collections::BTreeSet<_> = objects.keys().await.unwrap().into_iter().collect();
    assert_eq!(stored, distinct);
    assert_eq!(
        report["objects_uploaded"].as_u64().unwrap() as usize,
        distinct.len()
    );
}

#[tokio::test]
async fn projects_stay_apart_and_an_audit_of_another_project_is_refused_by_name() {
    let team = fresh_team().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stream = crate::common::audit_stream("vrts_5a3e0001", "https://same.example/", 2, false);
    ingest(a.path(), "shop", &stream);
    ingest(b.path(), "news", &stream);
    ingest(
        b.path(),
        "news",
        &crate::common::audit_stream("vrts_5a3e0002", "https://other.example/", 1, false),
    );
    push(a.path(), &team, &["--project", "shop"]);

    let out = run(
        b.path(),
        &["--project", "news", "push", "--to", &team.0, "--objects", &team.1],
    );
    assert!(!out.status.success(), "a refused audit fails the push");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not pushed: vrts_5a3e0001") && text.contains("\"shop\""),
        "{text}"
    );
    assert_eq!(
        count(&team.0, "SELECT count(*) FROM audits WHERE project = 'shop'").await,
        1
    );
    // The other audit of the push went in.
    assert_eq!(
        count(&team.0, "SELECT count(*) FROM audits WHERE project = 'news'").await,
        1
    );
}

#[tokio::test]
async fn triage_decisions_arrive_once_pointing_at_the_team_databases_finding() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    ingest(
        a.path(),
        "default",
        &crate::common::audit_stream("vrts_7a1a0001", "https://t.example/", 3, false),
    );
    let detail = run_json(a.path(), &["show", "vrts_7a1a0001", "--json"]);
    let second = detail["findings"][1]["id"].as_i64().unwrap();
    let verdict = run(
        a.path(),
        &[
            "triage",
            &second.to_string(),
            "--verdict",
            "false_positive",
            "--note",
            "a banner",
            "--author",
            "ana",
        ],
    );
    assert!(
        verdict.status.success(),
        "{}",
        String::from_utf8_lossy(&verdict.stderr)
    );

    let first = push(a.path(), &team, &[]);
    assert_eq!(
        (first["triage_added"].as_u64(), first["triage_known"].as_u64()),
        (Some(1), Some(0))
    );
    let again = push(a.path(), &team, &[]);
    assert_eq!(
        (again["triage_added"].as_u64(), again["triage_known"].as_u64()),
        (Some(0), Some(1))
    );

    let mut conn = PgConnection::connect(&team.0).await.unwrap();
    let (verdict, author, seq): (String, String, i32) = sqlx::query_as(
        "SELECT t.verdict, t.author, f.seq FROM triage t JOIN audit_findings f ON f.id = t.origin_finding_id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (verdict.as_str(), author.as_str(), seq),
        ("false_positive", "ana", 1)
    );
}

#[tokio::test]
async fn a_team_database_of_a_newer_schema_is_refused_and_left_untouched() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "1"]).status.success());
    push(a.path(), &team, &[]);
    {
        let mut conn = PgConnection::connect(&team.0).await.unwrap();
        sqlx::query(
            "INSERT INTO veritas_viewer_migrations (version, description) VALUES (999, 'from the future')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let out = run(a.path(), &["push", "--to", &team.0, "--objects", &team.1]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schema version 999"), "{err}");
    assert_eq!(
        count(&team.0, "SELECT max(version) FROM veritas_viewer_migrations").await,
        999
    );
}

#[test]
fn a_team_database_that_cannot_be_reached_is_named_without_its_password() {
    let a = tempfile::tempdir().unwrap();
    let objects = tempfile::tempdir().unwrap();
    let url = format!("file://{}", objects.path().display());
    // A closed port on loopback: refused at once.
    let out = run(
        a.path(),
        &[
            "push",
            "--to",
            "postgres://ana:s3cret@127.0.0.1:9/veritas",
            "--objects",
            &url,
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to postgres://ana:***@127.0.0.1:9/veritas"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

/// Every audit's id in list order, page after page (`--json-lines` and its cursor line),
/// from the data folder or, with `team`, from the team database.
fn walk(data: &Path, team: Option<&(String, String)>, args: &[&str]) -> Vec<String> {
    walk_pages(data, team, args, 7)
}

/// [`walk`] with pages of `limit`.
fn walk_pages(data: &Path, team: Option<&(String, String)>, args: &[&str], limit: u32) -> Vec<String> {
    let limit = limit.to_string();
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut a: Vec<String> = Vec::new();
        if let Some((db, objects)) = team {
            a.extend([
                "--database".into(),
                db.clone(),
                "--objects".into(),
                objects.clone(),
            ]);
        }
        a.extend(["list", "--json-lines", "--limit", &limit].map(String::from));
        a.extend(args.iter().map(|s| s.to_string()));
        if let Some(c) = &after {
            a.extend(["--after".into(), c.clone()]);
        }
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = run(data, &refs);
        assert!(
            out.status.success(),
            "{refs:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        after = None;
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            match v.get("next_cursor") {
                Some(c) => after = Some(c.as_str().unwrap().to_string()),
                None => ids.push(v["id"].as_str().unwrap().to_string()),
            }
        }
        if after.is_none() {
            return ids;
        }
    }
}

/// A search's pages come from a walk of the audits in list order when it finds a page
/// there, else from the indexes (team/read.rs): a word on most audits, one on a tenth (a
/// first walk finds some, a longer one is tried, then the indexes), a phrase, one on none;
/// pages of 7 and of 50, both orders, against the folder's full-text search.
#[tokio::test]
async fn a_search_lists_the_same_pages_from_the_walk_or_the_indexes_as_the_folder() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "260"]).status.success());
    push(a.path(), &team, &[]);
    for search in ["paying", "suspicious", "\"verify account\"", "nowhereword"] {
        for (limit, order) in [(7, None), (50, None), (50, Some("--asc")), (7, Some("--asc"))] {
            let mut args = vec!["--search", search, "--sort", "score"];
            args.extend(order);
            let local = walk_pages(a.path(), None, &args, limit);
            assert_eq!(
                walk_pages(a.path(), Some(&team), &args, limit),
                local,
                "{args:?} by {limit}"
            );
            if search == "paying" {
                assert!(local.len() > 150, "{}", local.len());
            }
            if search == "suspicious" {
                assert!((10..60).contains(&local.len()), "{}", local.len());
            }
        }
    }
}

/// What of an audit's detail must read the same from either engine: everything but the
/// rows' own ids and where a file is.
fn comparable(mut detail: Value) -> Value {
    for f in detail["findings"].as_array_mut().unwrap() {
        let o = f.as_object_mut().unwrap();
        o.remove("id");
    }
    for s in detail["screenshots"].as_array_mut().unwrap() {
        let o = s.as_object_mut().unwrap();
        o.remove("id");
        o.remove("resolved_path");
    }
    for e in detail["events"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("id");
    }
    detail
}

/// Where two JSON values first differ, as a path and both values.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: team {a} / local {b}")),
    }
}

#[tokio::test]
async fn list_and_show_read_the_same_from_the_team_database_as_from_the_folder_pushed() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "24"]).status.success());
    // A site's audits with 1, 2, 3, 1 and 3 findings: new ones, and two back after an absence.
    for (i, findings) in [1, 2, 3, 1, 3].into_iter().enumerate() {
        let id = format!("vrts_9a0000{i:02}");
        ingest(
            a.path(),
            "default",
            &crate::common::audit_stream(&id, "https://parity.example/", findings, i == 1),
        );
    }
    // The current backend's recording: MITRE techniques, weaknesses and green flags.
    let recording = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/elliot_stream.ndjson"),
    )
    .unwrap();
    ingest(
        a.path(),
        "default",
        &recording.lines().map(str::to_string).collect::<Vec<_>>(),
    );
    // Triage: a false positive for the whole site, an accepted risk for one audit only.
    let detail = run_json(a.path(), &["show", "vrts_9a000002", "--json"]);
    for (i, extra) in [(0, None), (1, Some("--this-audit-only"))] {
        let finding = detail["findings"][i]["id"].as_i64().unwrap().to_string();
        let verdict = if extra.is_some() {
            "accepted_risk"
        } else {
            "false_positive"
        };
        let mut args = vec!["triage", &finding, "--verdict", verdict, "--author", "ana"];
        args.extend(extra);
        let out = run(a.path(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    push(a.path(), &team, &[]);

    let sorts = [
        "created",
        "score",
        "url",
        "status",
        "risk",
        "tier",
        "site-type",
        "findings",
        "screenshots",
    ];
    for sort in sorts {
        for asc in [false, true] {
            let mut args = vec!["--sort", sort];
            if asc {
                args.push("--asc");
            }
            let local = walk(a.path(), None, &args);
            assert_eq!(local.len(), 31, "{args:?}");
            assert_eq!(walk(a.path(), Some(&team), &args), local, "{args:?}");
        }
    }
    for filter in [
        vec!["--status", "completed"],
        vec!["--risk", "high_risk", "--risk", "suspicious"],
        vec!["--min-score", "40", "--max-score", "75"],
        vec!["--severity", "high"],
        vec!["--url-contains", "SHOP"],
        vec!["--from", "2026-01-01", "--sort", "url"],
        vec!["--search", "narrative"],
        vec!["--search", "\"service fee\"", "--sort", "score"],
        vec!["--mitre", "t1204"],
        vec!["--cwe", "1021", "--sort", "url"],
        vec!["--cwe", "CWE-614", "--cwe", "CWE-693"],
        vec!["--green-flags", "yes"],
        vec!["--green-flags", "no", "--sort", "score"],
        vec!["--changes", "new", "--sort", "url"],
        vec!["--changes", "regressed"],
        vec!["--untriaged", "--sort", "url", "--asc"],
        vec![
            "--severity",
            crate::common::SEVERITIES[0],
            "--url-contains",
            "parity",
            "--include-hidden",
        ],
    ] {
        let local = walk(a.path(), None, &filter);
        assert!(!local.is_empty(), "{filter:?} matches something");
        assert_eq!(walk(a.path(), Some(&team), &filter), local, "{filter:?}");
    }
    // The site's false positive is each parity audit's only finding of that severity: gone
    // from the list's severity filter unless the hidden ones are asked for.
    let hidden = [
        "--severity",
        crate::common::SEVERITIES[0],
        "--url-contains",
        "parity",
    ];
    assert_eq!(walk(a.path(), None, &hidden), Vec::<String>::new());
    assert_eq!(walk(a.path(), Some(&team), &hidden), Vec::<String>::new());

    for id in walk(a.path(), None, &[]) {
        let local = run_json(a.path(), &["show", &id, "--json"]);
        let remote = run_json(
            a.path(),
            &["--database", &team.0, "--objects", &team.1, "show", &id, "--json"],
        );
        let (remote, local) = (comparable(remote), comparable(local));
        assert!(
            remote == local,
            "{id}: {}",
            first_difference(&remote, &local, "").unwrap_or_default()
        );
    }

    // Hostile search text is read as words, never as SQL or a query syntax that fails.
    for text in [
        "'; DROP TABLE audits; --",
        "\"unterminated",
        "a & b | !c <-> d:*",
        "- -- --- OR AND NOT",
        "(((",
        "\u{7}bell\ttab",
        "日本語 検索",
    ] {
        let search = format!("--search={text}");
        let out = run(
            a.path(),
            &[
                "--database",
                &team.0,
                "--objects",
                &team.1,
                "list",
                "--json",
                &search,
            ],
        );
        assert!(
            out.status.success(),
            "{text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(count(&team.0, "SELECT count(*) FROM audits").await, 31);

    // A site's history and two of its audits compared read the same too.
    let team_args = ["--database", team.0.as_str(), "--objects", team.1.as_str()];
    for args in [
        vec!["history", "https://parity.example", "--json"],
        vec!["compare", "vrts_9a000000", "vrts_9a000002", "--json"],
    ] {
        let mut local = run_json(a.path(), &args);
        let mut remote = run_json(a.path(), &[&team_args[..], &args].concat());
        without_ids_and_times(&mut local);
        without_ids_and_times(&mut remote);
        assert!(
            remote == local,
            "{args:?}: {}",
            first_difference(&remote, &local, "").unwrap_or_default()
        );
        assert_ne!(local, Value::Null);
    }
    assert_eq!(
        run_json(a.path(), &["history", "https://parity.example", "--json"])
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // The sidebar's facets count the same, every one of them, from the counts and from the
    // rows alike.
    let local = veritas_core::Backend::Local(veritas_core::Store::open(a.path()).await.unwrap());
    let remote = veritas_core::Backend::Team(
        veritas_core::team::TeamStore::open(&team.0, &team.1)
            .await
            .unwrap(),
    );
    let project = veritas_core::ProjectName::parse("default").unwrap();
    // The list's change flags read the same.
    let req: veritas_core::ListRequest = serde_json::from_value(serde_json::json!({"limit": 100})).unwrap();
    let flags = |page: veritas_core::AuditRowPage| -> Vec<(String, Vec<String>)> {
        page.audits.into_iter().map(|r| (r.id, r.changes)).collect()
    };
    let local_flags = flags(local.list_audits(&project, &req).await.unwrap());
    assert!(local_flags
        .iter()
        .any(|(_, c)| c.contains(&"regressed".to_string())));
    assert_eq!(
        flags(remote.list_audits(&project, &req).await.unwrap()),
        local_flags
    );
    let filters = [
        serde_json::json!({}),
        serde_json::json!({"status": ["completed"], "severity": ["high"]}),
        serde_json::json!({"risk_level": ["high_risk"], "min_score": 10.0}),
        serde_json::json!({"pattern_type": ["pattern_1"], "url_contains": "parity"}),
        serde_json::json!({"severity": ["high"], "pattern_type": ["pattern_1"]}),
        serde_json::json!({"severity": ["critical"], "max_score": 60.0}),
        serde_json::json!({"min_score": 40.5, "site_type": ["ecommerce"]}),
        serde_json::json!({"mitre": ["T1204"]}),
        serde_json::json!({"cwe": ["CWE-1021"], "status": ["completed"]}),
        serde_json::json!({"green_flags": true}),
        serde_json::json!({"green_flags": false, "severity": ["high"]}),
        serde_json::json!({"changes": ["new"]}),
        serde_json::json!({"changes": ["regressed"], "url_contains": "parity"}),
        serde_json::json!({"untriaged": true}),
        serde_json::json!({"include_hidden": true}),
        serde_json::json!({"include_hidden": true, "severity": ["critical"]}),
    ];
    for filter in filters {
        let filter: veritas_core::AuditFilter = serde_json::from_value(filter).unwrap();
        let (l, r) = (
            local.audit_facets(&project, &filter).await.unwrap(),
            remote.audit_facets(&project, &filter).await.unwrap(),
        );
        assert!(l.total > 0 && l.estimated.is_empty(), "{filter:?}");
        assert_eq!(r, l, "{filter:?}");
    }
    let all = local.audit_facets(&project, &Default::default()).await.unwrap();
    assert!(
        !all.mitre.is_empty() && !all.cwe.is_empty() && all.green_flags.len() == 2 && all.changes.len() == 2,
        "{all:?}"
    );
    assert!(all.hidden_findings > 0, "{all:?}");
}

#[tokio::test]
async fn changes_exports_and_similar_findings_read_the_same_from_the_team_database_as_from_the_folder_pushed()
{
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "12"]).status.success());
    // One site audited three times: pattern b is found, gone, then back (regressed); c is
    // new in the last; a persists.
    for (id, patterns) in [
        ("vrts_c4a00001", &["a", "b"][..]),
        ("vrts_c4a00002", &["a"][..]),
        ("vrts_c4a00003", &["a", "b", "c"][..]),
    ] {
        let findings: Vec<Value> = patterns
            .iter()
            .map(|p| {
                serde_json::json!({"category": "sneaking", "pattern_type": p, "severity": "high",
                                        "confidence": 0.5, "description": format!("{p} on {id}")})
            })
            .collect();
        let lines = [
            serde_json::json!({"type": "audit_start", "audit_id": id, "url": "https://changes.example/"}),
            serde_json::json!({"type": "audit_result", "result": {"trust_score": 40.0, "findings": findings}}),
            serde_json::json!({"type": "audit_complete", "audit_id": id}),
        ];
        ingest(a.path(), "default", &lines.map(|l| l.to_string()));
    }
    // Embeddings, as the backend writes them into its database (ingest takes none).
    let mut db = <sqlx::SqliteConnection as Connection>::connect(&format!(
        "sqlite://{}",
        a.path().join(veritas_core::DB_FILE).display()
    ))
    .await
    .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_findings")
        .fetch_all(&mut db)
        .await
        .unwrap();
    for id in ids {
        let v = [(id % 7) as f32, (id % 3) as f32 + 1.0, 1.0];
        sqlx::query("UPDATE audit_findings SET embedding = ?1, embedding_model = 'm1' WHERE id = ?2")
            .bind(veritas_core::encode_embedding(&v))
            .bind(id)
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();
    push(a.path(), &team, &[]);
    let on_team =
        |args: &[&str]| -> Vec<String> { on(&team).iter().chain(args).map(|s| s.to_string()).collect() };
    let both = |args: &[&str]| -> (Output, Output) {
        let shared = on_team(args);
        (
            run(a.path(), args),
            run(a.path(), &shared.iter().map(String::as_str).collect::<Vec<_>>()),
        )
    };

    let last = run_json(a.path(), &["changes", "vrts_c4a00003", "--json"]);
    let kinds: Vec<&str> = last["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["persisting", "regressed", "new"], "{last}");

    // Rows have each database's own ids: a finding is compared by its place in its audit.
    let json = |out: Output| -> Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let list = run_json(a.path(), &["list", "--json", "--limit", "500"]);
    let mut with_previous = 0;
    for audit in list.as_array().unwrap() {
        let id = audit["id"].as_str().unwrap();
        let (local_detail, team_detail) = both(&["show", id, "--json"]);
        let place = |detail: &Value| -> std::collections::HashMap<i64, usize> {
            let findings = detail["findings"].as_array().unwrap();
            findings
                .iter()
                .enumerate()
                .map(|(i, f)| (f["id"].as_i64().unwrap(), i))
                .collect()
        };
        let (local_place, team_place) = (place(&json(local_detail)), place(&json(team_detail)));
        let by_place = |mut changes: Value, places: &std::collections::HashMap<i64, usize>| {
            for f in changes["findings"].as_array_mut().unwrap() {
                f["finding_id"] = places[&f["finding_id"].as_i64().unwrap()].into();
            }
            for f in changes["fixed"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("id");
            }
            changes
        };
        let (local, shared) = both(&["changes", id, "--json"]);
        let local = by_place(json(local), &local_place);
        assert_eq!(local, by_place(json(shared), &team_place), "the changes of {id}");
        with_previous += usize::from(local["previous_audit_id"].is_string());

        let (local, shared) = both(&["export", id, "--format", "json"]);
        assert_eq!(
            comparable(json(local)),
            comparable(json(shared)),
            "the JSON export of {id}"
        );
        // The CSV without its finding_id column (the sixth).
        let without_ids = |out: Output| -> Vec<Vec<String>> {
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .has_headers(false)
                .from_reader(&out.stdout[..]);
            reader
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    r.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != 5)
                        .map(|(_, v)| v.to_string())
                        .collect()
                })
                .collect()
        };
        let (local, shared) = both(&["export", id, "--format", "csv"]);
        assert_eq!(without_ids(local), without_ids(shared), "the CSV export of {id}");
        let (local, shared) = both(&["export", id, "--format", "html"]);
        assert!(
            shared.status.success(),
            "{}",
            String::from_utf8_lossy(&shared.stderr)
        );
        assert!(
            local.stdout == shared.stdout,
            "the HTML report of {id} differs between the folder and the team database"
        );
    }
    assert!(
        with_previous >= 2,
        "sites audited more than once: {with_previous}"
    );

    // Similar findings: the same neighbours, by audit and place, with the same similarity.
    let mut compared = 0;
    for audit in list.as_array().unwrap() {
        let id = audit["id"].as_str().unwrap();
        let (local_detail, team_detail) = both(&["show", id, "--json"]);
        let (local_detail, team_detail) = (json(local_detail), json(team_detail));
        let Some(place) = local_detail["findings"]
            .as_array()
            .unwrap()
            .iter()
            .position(|f| !f["embedding"].is_null())
        else {
            continue;
        };
        let neighbours = |finding: &Value, on_team: bool| -> Vec<(String, String, String)> {
            let id = finding["id"].to_string();
            let args = ["similar", id.as_str(), "--limit", "5", "--json"];
            let out = if on_team { both(&args).1 } else { both(&args).0 };
            json(out)
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        format!("{:.9}", s["similarity"].as_f64().unwrap()),
                        s["finding"]["audit_id"].to_string(),
                        s["finding"]["description"].to_string(),
                    )
                })
                .collect()
        };
        let local = neighbours(&local_detail["findings"][place], false);
        assert!(!local.is_empty(), "findings with embeddings have neighbours");
        assert_eq!(
            local,
            neighbours(&team_detail["findings"][place], true),
            "the neighbours of {id}'s finding {place}"
        );
        compared += 1;
        if compared == 3 {
            break;
        }
    }
    assert!(compared > 0, "the demo has findings with embeddings");
    let args = on_team(&["export", "vrts_c4a00003", "--format", "html"]);
    let html = run(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>()).stdout;
    assert!(
        String::from_utf8(html).unwrap().contains("vrts_c4a00002"),
        "the team's report compares with the site's previous audit"
    );
}

#[tokio::test]
async fn pull_copies_the_team_into_a_folder_and_a_team_backup_restores_by_push() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "8"]).status.success());
    let list = run_json(a.path(), &["list", "--json"]);
    let first = list[0]["id"].as_str().unwrap().to_string();
    let finding = run_json(a.path(), &["show", &first, "--json"])["findings"][0]["id"]
        .as_i64()
        .unwrap();
    let verdict = run(
        a.path(),
        &[
            "triage",
            &finding.to_string(),
            "--verdict",
            "accepted_risk",
            "--author",
            "ana",
        ],
    );
    assert!(
        verdict.status.success(),
        "{}",
        String::from_utf8_lossy(&verdict.stderr)
    );
    push(a.path(), &team, &[]);
    let team_args =
        |args: &[&str]| -> Vec<String> { on(&team).iter().chain(args).map(|s| s.to_string()).collect() };
    let on_team = |dir: &Path, args: &[&str]| -> Value {
        let args = team_args(args);
        run_json(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // Pulled into an empty folder: the team's audits, read the same, screenshots included.
    let b = tempfile::tempdir().unwrap();
    let pull = |dir: &Path| run_json(dir, &["pull", "--from", &team.0, "--objects", &team.1, "--json"]);
    let report = pull(b.path());
    assert_eq!(
        (report["audits"].as_u64(), report["new_audits"].as_u64()),
        (Some(8), Some(8)),
        "{report}"
    );
    assert_eq!(report["triage_added"], 1);
    let same_as_team = |dir: &Path| {
        for audit in on_team(a.path(), &["list", "--json"]).as_array().unwrap() {
            let id = audit["id"].as_str().unwrap();
            let there = comparable(on_team(a.path(), &["show", id, "--json"]));
            let here = comparable(run_json(dir, &["show", id, "--json"]));
            if let Some(d) = first_difference(&there, &here, id) {
                panic!("{} reads otherwise than the team's: {d}", dir.display());
            }
        }
    };
    same_as_team(b.path());
    let triage = run_json(b.path(), &["triage", "export", "-"]);
    assert_eq!(triage["decisions"][0]["author"], "ana");
    // Again: nothing new, nothing replaced.
    let again = pull(b.path());
    assert_eq!(
        (again["new_audits"].as_u64(), again["replaced_audits"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["triage_added"], 0);

    // The team's backup is a data folder; pushed into a new team database it is the team.
    let dest = b.path().join("team-backup");
    let args = team_args(&["backup", dest.to_str().unwrap()]);
    let backup = run(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    same_as_team(&dest);
    let restored = fresh_team().await;
    let pushed = run_json(
        &dest,
        &[
            "push",
            "--all-projects",
            "--to",
            &restored.0,
            "--objects",
            &restored.1,
            "--json",
        ],
    );
    assert_eq!(pushed["audits"], 8);
    for audit in on_team(a.path(), &["list", "--json"]).as_array().unwrap() {
        let id = audit["id"].as_str().unwrap();
        let there = comparable(on_team(a.path(), &["show", id, "--json"]));
        let args: Vec<String> = on(&restored)
            .iter()
            .map(|s| s.to_string())
            .chain(["show".into(), id.into(), "--json".into()])
            .collect();
        let back = comparable(run_json(
            a.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert_eq!(first_difference(&there, &back, id), None);
    }
    // A backup never writes into a folder that has anything in it.
    let refused = run(
        a.path(),
        &team_args(&["backup", dest.to_str().unwrap()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("must be a new or empty folder"));
}

#[tokio::test]
async fn screenshots_are_served_from_the_object_store_through_the_core_with_thumbnails() {
    use veritas_core::{AuditId, Backend, ProjectName};
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "2"]).status.success());
    push(a.path(), &team, &[]);

    let backend = Backend::Team(
        veritas_core::team::TeamStore::open(&team.0, &team.1)
            .await
            .unwrap(),
    );
    let project = ProjectName::parse("default").unwrap();
    let mut served = 0;
    for listed in walk(a.path(), None, &[]) {
        let id = AuditId::parse(&listed).unwrap();
        let local = run_json(a.path(), &["show", &listed, "--json"]);
        let detail = backend.get_audit(&project, &id).await.unwrap();
        for (shot, here) in detail
            .screenshots
            .iter()
            .zip(local["screenshots"].as_array().unwrap())
        {
            let result = backend.screenshot_file(&project, &id, shot.id).await;
            if here["exists"] == false {
                let err = result.unwrap_err();
                assert_eq!(err.kind, veritas_core::ErrorKind::NotFound, "{err}");
                continue;
            }
            let (path, info) = result.unwrap();
            let original = std::fs::read(here["resolved_path"].as_str().unwrap()).unwrap();
            assert_eq!(
                std::fs::read(&path).unwrap(),
                original,
                "{listed} #{}",
                shot.index
            );
            assert_eq!(Some(info.width), shot.width);
            let thumb = backend.thumbnail(&project, &id, shot.id, 320).await.unwrap();
            let thumb = image::open(thumb).unwrap();
            assert_eq!(thumb.width(), 320.min(info.width));
            served += 1;
        }
        // A screenshot id of another audit is not found through this one.
        let other = backend
            .screenshot_file(&project, &id, i64::MAX)
            .await
            .unwrap_err();
        assert_eq!(other.kind, veritas_core::ErrorKind::NotFound);
    }
    assert!(served > 0);
}

#[tokio::test]
async fn a_push_by_another_process_is_noticed_through_listen_notify() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let team = fresh_team().await;
    let store = veritas_core::team::TeamStore::open(&team.0, &team.1)
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let watch = store
        .watch_changes(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();

    let a = tempfile::tempdir().unwrap();
    ingest(
        a.path(),
        "default",
        &crate::common::audit_stream("vrts_11e00001", "https://live.example/", 2, false),
    );
    push(a.path(), &team, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    watch.abort();
    // One push of one audit (its rows in one transaction, then its triage) is reported as
    // a burst, not row by row.
    let n = seen.load(Ordering::SeqCst);
    assert!((1..=3).contains(&n), "the push was noticed {n} times");
}

#[tokio::test]
async fn a_verdict_on_the_team_database_reaches_the_sites_other_audit_and_every_window() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use veritas_core::{AuditId, ProjectName};
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    // Two audits of one site with the same findings (the same problems).
    for id in ["vrts_7ea00001", "vrts_7ea00002"] {
        ingest(
            a.path(),
            "default",
            &crate::common::audit_stream(id, "https://site.example/", 3, false),
        );
    }
    push(a.path(), &team, &[]);
    let on_team = |args: &[&str]| -> Vec<String> {
        let mut v = vec![
            "--database".to_string(),
            team.0.clone(),
            "--objects".into(),
            team.1.clone(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let args = on_team(&["show", "vrts_7ea00001", "--json"]);
    let first = run_json(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    let finding = first["findings"][1]["id"].as_i64().unwrap().to_string();

    // Another analyst's window, listening.
    let other = veritas_core::team::TeamStore::open(&team.0, &team.1)
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let watch = other
        .watch_changes(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();

    let args = on_team(&[
        "triage",
        &finding,
        "--verdict",
        "false_positive",
        "--note",
        "a banner",
        "--author",
        "ana",
        "--json",
    ]);
    let decided = run_json(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(decided["verdict"], "false_positive", "{decided}");
    assert_eq!(decided["hidden"], true);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    watch.abort();
    assert!(seen.load(Ordering::SeqCst) >= 1, "the other window was told");

    // The site's other audit: the same problem carries the verdict there.
    let project = ProjectName::parse("default").unwrap();
    let second = other
        .audit_triage(&project, &AuditId::parse("vrts_7ea00002").unwrap())
        .await
        .unwrap();
    let carried: Vec<_> = second.findings.iter().filter(|f| f.carried).collect();
    assert_eq!(carried.len(), 1, "{second:?}");
    assert_eq!(
        carried[0].verdict,
        Some(veritas_core::TriageVerdict::FalsePositive)
    );
    assert_eq!(second.hidden, 1);

    // A later verdict replaces it; the history has both, newest first.
    let args = on_team(&["triage", &finding, "--verdict", "confirmed", "--author", "bo"]);
    assert!(
        run(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>())
            .status
            .success()
    );
    let args = on_team(&["triage", &finding, "--history", "--json"]);
    let history = run_json(a.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    let verdicts: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["confirmed", "false_positive"]);
    let now = other
        .audit_triage(&project, &AuditId::parse("vrts_7ea00002").unwrap())
        .await
        .unwrap();
    assert_eq!(now.hidden, 0);
}

#[tokio::test]
async fn the_environment_chooses_the_team_database_and_push_still_reads_the_folder() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    ingest(
        a.path(),
        "default",
        &crate::common::audit_stream("vrts_e0e00001", "https://env.example/", 1, false),
    );
    let with_env = |args: &[&str]| {
        crate::common::veritas_db(a.path())
            .args(args)
            .env("VERITAS_DATABASE_URL", &team.0)
            .env("VERITAS_OBJECTS_URL", &team.1)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Nothing pushed yet: the team database is empty, though the folder has an audit.
    let before = with_env(&["list", "--json"]);
    assert!(
        before.status.success(),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&before.stdout).unwrap(),
        serde_json::json!([])
    );
    // push (no --to) reads the folder and writes to the database the environment names.
    let pushed = with_env(&["push", "--json"]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let after = with_env(&["list", "--json"]);
    let listed: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(listed[0]["id"], "vrts_e0e00001");
    // A command only a folder has says so rather than quietly reading the folder.
    let demo = with_env(&["demo", "--audits", "1"]);
    assert!(!demo.status.success());
    assert!(String::from_utf8_lossy(&demo.stderr).contains("not available on a team"));
}

/// The arguments that put a `veritas-db` command on `team`.
fn on(team: &(String, String)) -> [&str; 4] {
    ["--database", &team.0, "--objects", &team.1]
}

/// An audit's detail without what differs between two ingests of the same stream: the
/// rows' own ids, where a file is, and the moments things were stored.
fn without_ids_and_times(detail: &mut Value) {
    const DIFFER: [&str; 12] = [
        "id",
        "resolved_path",
        "file_path",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "timestamp",
        "at",
        "start",
        "end",
        "seconds",
    ];
    match detail {
        Value::Object(o) => {
            o.retain(|k, _| !DIFFER.contains(&k.as_str()));
            o.values_mut().for_each(without_ids_and_times);
        }
        Value::Array(a) => a.iter_mut().for_each(without_ids_and_times),
        _ => {}
    }
}

#[tokio::test]
async fn ingest_into_the_team_database_stores_what_ingest_into_a_folder_stores_and_a_replay_nothing() {
    let team = fresh_team().await;
    let dir = tempfile::tempdir().unwrap();
    let (local, remote) = (dir.path().join("local"), dir.path().join("remote"));
    // The current backend's recording (interleaved audits, numbered events, screenshots,
    // security modules, findings sent three ways), and both forms of the older stream.
    let mut streams = vec![std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/elliot_stream.ndjson"),
    )
    .unwrap()];
    for (i, envelope) in [false, true].into_iter().enumerate() {
        let lines = crate::common::audit_stream(
            &format!("vrts_1e0000{i:02}"),
            "https://forms.example/",
            6,
            envelope,
        );
        streams.push(lines.join("\n") + "\n");
    }
    streams.push(crate::soak::round_stream(7));
    let ingest_file = |data: &Path, engine: &[&str], text: &str| {
        let file = dir.path().join("stream.ndjson");
        std::fs::write(&file, text).unwrap();
        let mut args: Vec<&str> = engine.to_vec();
        args.extend(["ingest", file.to_str().unwrap()]);
        let out = run(data, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for text in &streams {
        ingest_file(&local, &[], text);
        let said = ingest_file(&remote, &on(&team), text);
        assert!(said.contains("rejected 0 lines"), "{said}");
    }
    assert!(
        !remote.join("veritas.db").exists() && !remote.join("screenshots").exists(),
        "nothing of a team ingest is written to the data folder"
    );

    let ids: Vec<String> = run_json(&local, &["list", "--json", "--all"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 7);
    let team_ids: Vec<String> = {
        let mut args = on(&team).to_vec();
        args.extend(["list", "--json", "--all"]);
        run_json(&local, &args)
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(team_ids.len(), 7);
    let mut shots = 0;
    for id in &ids {
        let mut l = run_json(&local, &["show", id, "--json"]);
        let mut args = on(&team).to_vec();
        args.extend(["show", id, "--json"]);
        let mut r = run_json(&local, &args);
        shots += r["screenshots"].as_array().unwrap().len();
        assert!(
            r["screenshots"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["exists"] == true),
            "{id}"
        );
        without_ids_and_times(&mut l);
        without_ids_and_times(&mut r);
        assert!(
            r == l,
            "{id}: {}",
            first_difference(&r, &l, "").unwrap_or_default()
        );
    }
    assert_eq!(
        shots,
        2 + 3 * crate::soak::AUDITS_PER_ROUND,
        "the screenshots arrived"
    );
    // Every screenshot's bytes are an object, each stored once, all read back through the core.
    let objects = ObjectShots::open(&team.1).unwrap();
    assert_eq!(objects.keys().await.unwrap().len(), shots);

    // Every stream again: each event is known (same id, same content), nothing is doubled.
    let before = count(&team.0, "SELECT count(*) FROM audit_events").await;
    for text in &streams[..1] {
        let said = ingest_file(&remote, &on(&team), text);
        assert!(
            said.contains("ingested 0 events") && said.contains("76 received before"),
            "{said}"
        );
    }
    ingest_file(&remote, &on(&team), &streams[3]);
    assert_eq!(count(&team.0, "SELECT count(*) FROM audit_events").await, before);
    assert_eq!(objects.keys().await.unwrap().len(), shots);

    // Another project's audit is refused by name, and nothing of it is written.
    let mut args = on(&team).to_vec();
    args.extend(["--project", "other"]);
    let file = dir.path().join("again.ndjson");
    std::fs::write(&file, &streams[1]).unwrap();
    args.extend(["ingest", file.to_str().unwrap()]);
    let out = run(&remote, &args);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("belongs to project default, not other")
            || String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&team.0, "SELECT count(*) FROM audit_events").await, before);
}

#[test]
fn three_producers_ingest_100_audits_each_into_the_team_database_and_a_reader_never_sees_half_an_audit() {
    let team = tokio::runtime::Runtime::new().unwrap().block_on(fresh_team());
    crate::multi_writer::three_producers_and_a_reader(&on(&team));
}

#[test]
fn producers_killed_mid_audit_leave_nothing_partial_in_the_team_database() {
    use crate::soak::{audit_id, check_audit, ingest_child, round_stream, AUDITS_PER_ROUND};
    let team = tokio::runtime::Runtime::new().unwrap().block_on(fresh_team());
    let engine = on(&team);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed = fastrand::u64(..);
    eprintln!("team crash rounds: seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    // How long one whole ingest takes, so the kills fall from its start to past its end.
    let file = dir.path().join("calibrate.ndjson");
    std::fs::write(&file, round_stream(900)).unwrap();
    let started = std::time::Instant::now();
    assert!(ingest_child(&data, &engine, &file).wait().unwrap().success());
    let whole = started.elapsed();

    let rounds = 4;
    let mut streams = Vec::new();
    let mut states = std::collections::BTreeMap::<&str, usize>::new();
    for round in 0..rounds {
        let file = dir.path().join(format!("round{round}.ndjson"));
        std::fs::write(&file, round_stream(round)).unwrap();
        let mut child = ingest_child(&data, &engine, &file);
        let delay = whole.mul_f64(0.1 + rng.f64());
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        streams.push(file);
        for a in 0..AUDITS_PER_ROUND {
            let id = audit_id(round, a);
            let state = check_audit(&data, &engine, &id)
                .unwrap_or_else(|e| panic!("round {round} (killed after {delay:?}, seed {seed}): {e}"));
            *states.entry(state).or_default() += 1;
        }
    }
    eprintln!("team crash rounds: {whole:?} a whole ingest; audits after the kills: {states:?}");
    // Each stream again, whole: every audit completes, nothing doubled.
    for file in &streams {
        assert!(ingest_child(&data, &engine, file).wait().unwrap().success());
    }
    for round in 0..rounds {
        for a in 0..AUDITS_PER_ROUND {
            let id = audit_id(round, a);
            assert_eq!(check_audit(&data, &engine, &id), Ok("complete"), "{id}");
        }
    }
}

/// The rows of `table` that `expected` (a view computing them from the rows) does not give,
/// and the other way round: zero when the maintained table is right.
async fn mismatches(db: &str, table: &str, expected: &str, columns: &str) -> i64 {
    count(
        db,
        &format!(
            "SELECT count(*) FROM ((SELECT {columns} FROM {table} WHERE n <> 0 EXCEPT ALL SELECT {columns} FROM {expected})
               UNION ALL (SELECT {columns} FROM {expected} EXCEPT ALL SELECT {columns} FROM {table} WHERE n <> 0)) x"
        ),
    )
    .await
}

#[tokio::test]
async fn facet_counts_follow_every_write_and_match_what_the_rows_say() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "24"]).status.success());
    push(a.path(), &team, &[]);
    // Straight into the team database: audits created running, completed, given findings.
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in [
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/elliot_stream.ndjson"),
        )
        .unwrap(),
        crate::soak::round_stream(3),
    ]
    .iter()
    .enumerate()
    {
        let file = dir.path().join(format!("s{i}.ndjson"));
        std::fs::write(&file, text).unwrap();
        let mut args = on(&team).to_vec();
        args.extend(["ingest", file.to_str().unwrap()]);
        assert!(run(dir.path(), &args).status.success());
    }
    // An analyst's verdicts: one for a site, one for an audit alone.
    let mut conn = PgConnection::connect(&team.0).await.unwrap();
    let findings: Vec<i64> = sqlx::query_scalar(
        "SELECT min(f.id) FROM audit_findings f JOIN audits a ON a.id = f.audit_id
         GROUP BY a.id ORDER BY a.id LIMIT 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (finding, extra) in findings.iter().zip([None, Some("--this-audit-only")]) {
        let finding = finding.to_string();
        let mut args = on(&team).to_vec();
        args.extend([
            "triage",
            &finding,
            "--verdict",
            "false_positive",
            "--author",
            "ana",
        ]);
        args.extend(extra);
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        count(
            &team.0,
            "SELECT count(*) FROM audit_facts WHERE kind = 'severity_shown'"
        )
        .await
            > 0
    );
    // What another program might do: change a finding, move an audit, delete one whole.
    for sql in [
        "UPDATE audits SET security_results = '{\"m\": {\"findings\": [{\"cwe_id\": 79}, {\"cwe_id\": \"CWE-352\"}]}}'
           WHERE id = (SELECT max(id) FROM audits WHERE project = 'default')",
        "UPDATE audit_findings SET cwe_id = '89', category = 'other' WHERE id = (SELECT max(id) FROM audit_findings)",
        "UPDATE audits SET url = url || '/moved', created_at = '2020-01-01 00:00:00'
           WHERE id = (SELECT min(id) FROM audits WHERE project = 'default')",
        "UPDATE audit_findings SET severity = 'LOW' WHERE id = (SELECT min(id) FROM audit_findings)",
        "UPDATE audits SET status = 'error', trust_score = 12.5, risk_level = NULL
           WHERE id = (SELECT min(id) FROM audits WHERE trust_score IS NOT NULL)",
        "DELETE FROM audits WHERE id = (SELECT max(id) FROM audits WHERE project = 'default')",
        "DELETE FROM audit_findings WHERE id IN (SELECT id FROM audit_findings ORDER BY id DESC LIMIT 7)",
        "INSERT INTO projects (name) VALUES ('moved')",
        "UPDATE audits SET project = 'moved' WHERE id = (SELECT max(id) FROM audits WHERE project = 'default')",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    let facts = mismatches(
        &team.0,
        "(SELECT *, 1 AS n FROM audit_facts) t",
        "audit_facts_expected",
        "audit_id, kind, value, findings",
    )
    .await;
    assert_eq!(facts, 0, "audit_facts differs from the findings");
    let counts = mismatches(
        &team.0,
        "facet_counts",
        "facet_counts_expected",
        "project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n",
    )
    .await;
    assert_eq!(counts, 0, "facet_counts differs from the audits");
    // The pairs' deltas sum to what the facts say, before and after they are folded.
    let pairs = || {
        mismatches(
            &team.0,
            "(SELECT project, kind, value, kind2, value2, sum(n)::bigint AS n FROM facet_pairs
              GROUP BY 1, 2, 3, 4, 5) p",
            "facet_pairs_expected",
            "project, kind, value, kind2, value2, n",
        )
    };
    assert_eq!(pairs().await, 0, "facet_pairs differs from the facts");
    let folded = count(&team.0, "SELECT veritas_compact_pairs()").await;
    assert!(folded > 0, "there were deltas to fold");
    assert_eq!(pairs().await, 0, "facet_pairs differs from the facts once folded");
    assert_eq!(
        count(&team.0, "SELECT count(*) FROM facet_pairs").await,
        count(&team.0, "SELECT count(*) FROM facet_pairs_expected").await,
        "folded, each pair is one row"
    );
    assert!(
        count(
            &team.0,
            "SELECT count(*) FROM facet_counts WHERE kind = 'pattern'"
        )
        .await
            > 0
    );

    // And the sidebar reads the same from the counts as counted from the rows.
    let remote = veritas_core::team::TeamStore::open(&team.0, &team.1)
        .await
        .unwrap();
    let project = veritas_core::ProjectName::parse("default").unwrap();
    for filter in [
        serde_json::json!({}),
        serde_json::json!({"severity": ["high"], "status": ["completed"]}),
        serde_json::json!({"pattern_type": ["pattern_1"], "min_score": 10.0, "max_score": 42.0}),
        serde_json::json!({"changes": ["new"], "status": ["completed"]}),
        serde_json::json!({"cwe": ["CWE-1021"]}),
        serde_json::json!({"green_flags": true}),
        serde_json::json!({"severity": ["critical"], "include_hidden": true}),
        // One fact chosen and no audit-level facet: the fact facets from the pairs.
        serde_json::json!({"severity": ["high"]}),
        serde_json::json!({"changes": ["new"]}),
        serde_json::json!({"pattern_type": ["pattern_1"], "include_hidden": true}),
    ] {
        let filter: veritas_core::AuditFilter = serde_json::from_value(filter).unwrap();
        // The same filter with a date bound every audit passes is counted from the rows.
        let mut from_rows = filter.clone();
        from_rows.created_from = Some("1970-01-01".into());
        let (counted, rows) = (
            remote.audit_facets(&project, &filter).await.unwrap(),
            remote.audit_facets(&project, &from_rows).await.unwrap(),
        );
        assert_eq!(counted, rows, "{filter:?}");
        assert!(counted.total > 0, "{filter:?}");
    }
}

#[tokio::test]
async fn history_and_delete_on_the_team_database_and_an_object_goes_with_the_last_row_using_it() {
    use base64::Engine;
    let team = fresh_team().await;
    let dir = tempfile::tempdir().unwrap();
    let png = |seed: u8| {
        let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([seed, x as u8, y as u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    };
    let (shared, own) = (png(1), png(2));
    let mut lines = Vec::new();
    for (id, shots) in [
        ("vrts_de100001", vec![&shared, &own]),
        ("vrts_de100002", vec![&shared]),
    ] {
        lines.push(
            serde_json::json!({"type": "audit_start", "audit_id": id, "url": "https://twice.example/"}),
        );
        for (i, data) in shots.into_iter().enumerate() {
            lines.push(serde_json::json!({"type": "screenshot", "label": "page", "index": i, "data": data}));
        }
        lines.push(serde_json::json!({"type": "audit_complete", "audit_id": id}));
    }
    let file = dir.path().join("two.ndjson");
    std::fs::write(
        &file,
        lines.iter().map(|l| l.to_string() + "\n").collect::<String>(),
    )
    .unwrap();
    let team_args =
        |args: &[&str]| -> Vec<String> { on(&team).iter().chain(args).map(|s| s.to_string()).collect() };
    let cli = |args: &[&str]| {
        let args = team_args(args);
        run(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert!(cli(&["ingest", file.to_str().unwrap()]).status.success());
    let objects = ObjectShots::open(&team.1).unwrap();
    assert_eq!(
        objects.keys().await.unwrap().len(),
        2,
        "the shared bytes are stored once"
    );

    let history: Value =
        serde_json::from_slice(&cli(&["history", "https://twice.example", "--json"]).stdout).unwrap();
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["vrts_de100001", "vrts_de100002"],
        "the site's audits, oldest first"
    );

    assert!(cli(&["delete", "vrts_de100001"]).status.success());
    let gone = cli(&["show", "vrts_de100001"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
    assert_eq!(
        objects.keys().await.unwrap().len(),
        1,
        "its own screenshot's object went; the one the other audit uses stayed"
    );
    let left: Value = serde_json::from_slice(&cli(&["show", "vrts_de100002", "--json"]).stdout).unwrap();
    assert_eq!(left["screenshots"][0]["exists"], true);
    let again = cli(&["delete", "vrts_de100001"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("audit vrts_de100001 in project default"));
    assert!(cli(&["delete", "vrts_de100002"]).status.success());
    assert!(objects.keys().await.unwrap().is_empty());
    let counts = mismatches(
        &team.0,
        "facet_counts",
        "facet_counts_expected",
        "project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n",
    )
    .await;
    assert_eq!(counts, 0, "the counts followed the deletes");
}

#[tokio::test]
async fn doctor_on_the_team_store_finds_orphan_and_missing_objects_and_repairs_the_counts_and_triage_keys() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    assert!(run(a.path(), &["demo", "--audits", "6"]).status.success());
    // Triage keys with decisions (one for the site, one for an audit only): the clean
    // doctor below finds their states right, and the repair rebuilds them.
    let first = run_json(a.path(), &["list", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = run_json(a.path(), &["show", &first, "--json"]);
    for (i, extra) in [(0, None), (1, Some("--this-audit-only"))] {
        let finding = detail["findings"][i]["id"].as_i64().unwrap().to_string();
        let mut args = vec![
            "triage",
            &finding,
            "--verdict",
            "false_positive",
            "--author",
            "ana",
        ];
        args.extend(extra);
        let out = run(a.path(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    push(a.path(), &team, &[]);
    let doctor = |repair: bool| {
        let mut args = on(&team).to_vec();
        args.extend(["doctor", "--json"]);
        if repair {
            args.push("--repair");
        }
        run_json(a.path(), &args)
    };
    let clean = doctor(false);
    assert_eq!(clean["orphan_objects"], serde_json::json!([]), "{clean}");
    assert_eq!(clean["missing_objects"], serde_json::json!([]));
    assert_eq!(clean["facet_mismatches"], serde_json::json!([]));
    assert_eq!(clean["audits"], 6);

    // An object no row refers to, a row whose object is gone, counts gone wrong.
    let objects = ObjectShots::open(&team.1).unwrap();
    let png = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let orphan = objects.put(&png).await.unwrap().key;
    let mut conn = PgConnection::connect(&team.0).await.unwrap();
    let (audit, shot, key): (String, i64, String) = sqlx::query_as(
        "SELECT audit_id, id, object_key FROM audit_screenshots WHERE object_key IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let shared: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_screenshots WHERE object_key = $1")
        .bind(&key)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    objects.delete(&key).await.unwrap();
    sqlx::raw_sql(
        "UPDATE facet_counts SET n = n + 3 WHERE kind = 'audit'; DELETE FROM audit_facts WHERE kind = 'pattern';
         INSERT INTO facet_pairs SELECT project, kind, value, kind2, value2, 2 FROM facet_pairs LIMIT 1",
    )
        .execute(&mut conn)
        .await
        .unwrap();
    // A triage key that hides a finding's problem though no decision was ever recorded for
    // it (its trigger takes the finding off the shown counts, so only the key is wrong).
    let (site, fingerprint): (String, String) = sqlx::query_as(
        "SELECT f.site, f.fingerprint FROM audit_findings f
         WHERE f.fingerprint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM triage_state s WHERE s.site = f.site
           AND s.fingerprint = f.fingerprint)
         ORDER BY f.id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    // Findings shown by severity (the facet counts count audits, which may keep the fact).
    async fn shown(conn: &mut PgConnection) -> i64 {
        sqlx::query_scalar(
            "SELECT COALESCE(sum(findings), 0)::bigint FROM audit_facts WHERE kind = 'severity_shown'",
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }
    let shown_before = shown(&mut conn).await;
    sqlx::query("INSERT INTO triage_state (site, fingerprint, scope, hides) VALUES ($1, $2, '', true)")
        .bind(&site)
        .bind(&fingerprint)
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        shown(&mut conn).await < shown_before,
        "the planted key hides a finding"
    );

    let found = doctor(false);
    assert_eq!(found["orphan_objects"], serde_json::json!([orphan]), "{found}");
    let missing = found["missing_objects"].as_array().unwrap();
    assert_eq!(missing.len() as i64, shared, "{found}");
    assert!(missing[0]
        .as_str()
        .unwrap()
        .starts_with(&format!("audit {audit} screenshot {shot}: {key}")));
    let mismatches = found["facet_mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 4, "{found}");
    assert!(
        mismatches
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("facet_pairs: ")),
        "{found}"
    );
    assert!(
        mismatches.contains(&serde_json::json!(
            "triage_state: 1 keys differ from their decisions"
        )),
        "{found}"
    );
    assert_eq!(found["repaired"], serde_json::json!([]));

    let repaired = doctor(true);
    assert_eq!(repaired["repaired"].as_array().unwrap().len(), 1, "{repaired}");
    let after = doctor(false);
    assert_eq!(after["facet_mismatches"], serde_json::json!([]), "{after}");
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM triage_state WHERE hides")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, 2, "the decisions' keys are rebuilt");
    let planted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM triage_state WHERE site = $1 AND fingerprint = $2")
            .bind(&site)
            .bind(&fingerprint)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(planted, 0, "the key without decisions is gone");
    assert_eq!(shown(&mut conn).await, shown_before, "its finding is shown again");
    assert_eq!(
        after["orphan_objects"],
        serde_json::json!([orphan]),
        "kept, as orphan files are"
    );
    assert_eq!(after["missing_objects"].as_array().unwrap().len() as i64, shared);
    let text = {
        let mut args = on(&team).to_vec();
        args.push("doctor");
        String::from_utf8(run(a.path(), &args).stdout).unwrap()
    };
    assert!(text.contains("NOT healthy"), "{text}");
}

#[tokio::test]
async fn triage_exported_from_a_folder_imports_into_the_team_database_once_and_exports_the_same() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    ingest(
        a.path(),
        "default",
        &crate::common::audit_stream("vrts_7e0a0001", "https://x.example/", 3, false),
    );
    let detail = run_json(a.path(), &["show", "vrts_7e0a0001", "--json"]);
    for (i, verdict) in [(0, "confirmed"), (2, "accepted_risk")] {
        let id = detail["findings"][i]["id"].as_i64().unwrap().to_string();
        let out = run(a.path(), &["triage", &id, "--verdict", verdict, "--author", "bo"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    push(a.path(), &team, &[]);
    // A second analyst's decisions, in a file: into the team database, not through push.
    let b = tempfile::tempdir().unwrap();
    ingest(
        b.path(),
        "default",
        &crate::common::audit_stream("vrts_7e0a0002", "https://y.example/", 2, false),
    );
    let other = run_json(b.path(), &["show", "vrts_7e0a0002", "--json"]);
    let id = other["findings"][0]["id"].as_i64().unwrap().to_string();
    assert!(run(
        b.path(),
        &["triage", &id, "--verdict", "false_positive", "--author", "cy"]
    )
    .status
    .success());
    let file = b.path().join("cy.json");
    assert!(run(b.path(), &["triage", "export", file.to_str().unwrap()])
        .status
        .success());

    let mut args = on(&team).to_vec();
    args.extend(["triage", "import", file.to_str().unwrap()]);
    let said = |out: std::process::Output| String::from_utf8(out.stdout).unwrap();
    let first = said(run(a.path(), &args));
    assert!(
        first.starts_with("1 decisions added, 0 known already, 0 conflicts"),
        "{first}"
    );
    args.push("--json");
    let again = run_json(a.path(), &args);
    assert_eq!(
        (again["added"].as_i64(), again["known"].as_i64()),
        (Some(0), Some(1)),
        "{again}"
    );

    // The team's export holds the pushed decisions and the imported one, as the files did.
    let out = team_triage_export(&team, a.path());
    let decisions = out["decisions"].as_array().unwrap();
    assert_eq!(out["format"], "veritas-triage");
    let mut seen: Vec<String> = decisions
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["author"].as_str().unwrap(),
                d["verdict"].as_str().unwrap(),
                d["url"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "bo accepted_risk https://x.example",
            "bo confirmed https://x.example",
            "cy false_positive https://y.example"
        ]
    );
    let local = run_json(b.path(), &["triage", "export", "-"]);
    let imported = decisions.iter().find(|d| d["author"] == "cy").unwrap();
    assert_eq!(
        imported["id"], local["decisions"][0]["id"],
        "the same decision, by its content"
    );

    // A file that is no export is refused by name, and nothing changes.
    let bad = b.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": \"something else\"}").unwrap();
    let mut args = on(&team).to_vec();
    args.extend(["triage", "import", bad.to_str().unwrap()]);
    let refused = run(a.path(), &args);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("triage file"));
    assert_eq!(count(&team.0, "SELECT count(*) FROM triage").await, 3);
}

/// The team's triage export, through `veritas-db triage export -`.
fn team_triage_export(team: &(String, String), dir: &Path) -> Value {
    let mut args = on(team).to_vec();
    args.extend(["triage", "export", "-"]);
    run_json(dir, &args)
}

#[tokio::test]
async fn a_named_profile_stands_for_the_team_database_and_object_store() {
    let team = fresh_team().await;
    let a = tempfile::tempdir().unwrap();
    ingest(
        a.path(),
        "default",
        &crate::common::audit_stream("vrts_9f0f0001", "https://profile.example/", 1, false),
    );
    let profiles = a.path().join("profiles.json");
    std::fs::write(
        &profiles,
        serde_json::json!({"profiles": {"acme": {"database": team.0, "objects": team.1}}}).to_string(),
    )
    .unwrap();
    let with = |args: &[&str]| {
        crate::common::veritas_db(a.path())
            .args(args)
            .env("VERITAS_PROFILES", &profiles)
            .env_remove("VERITAS_DATABASE_URL")
            .env_remove("VERITAS_OBJECTS_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // push to the profile's database, then read it back by name.
    let pushed = with(&["--profile", "acme", "push", "--json"]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let listed: Value =
        serde_json::from_slice(&with(&["--profile", "acme", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["id"], "vrts_9f0f0001");
    assert_eq!(count(&team.0, "SELECT count(*) FROM audits").await, 1);

    let unknown = with(&["--profile", "nope", "list"]);
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("profile \"nope\"") && err.contains("\"acme\""),
        "{err}"
    );
    let both = with(&["--profile", "acme", "--database", &team.0, "list"]);
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
