//! Finding fingerprints (migration 10): the same problem keeps its fingerprint across audits
//! of a site whatever the producer re-scores or re-words; each finding is new, persisting or
//! regressed against the site's earlier audits; the list's `changes` facet and filter agree
//! with that; rows the backend inserts itself are judged too; `doctor` stays clean.

use veritas_core::{
    AuditFilter, AuditId, AuditRecord, FindingChangeKind, ListRequest, NewFinding, ProjectName, Store,
};

use crate::common::{fresh, raw, record};

fn finding(pattern: &str, category: &str, cwe: Option<&str>, confidence: f64, text: &str) -> NewFinding {
    NewFinding {
        created_at: None,
        run: None,
        pattern_type: pattern.into(),
        category: Some(category.into()),
        severity: "high".into(),
        confidence,
        description: text.into(),
        cwe_id: cwe.map(Into::into),
        ..NewFinding::default()
    }
}

/// Audit `i` of `url`, created `minute` minutes into the day, with `findings`.
fn audit(i: usize, url: &str, minute: u32, findings: Vec<NewFinding>) -> AuditRecord {
    let mut r = record(i);
    r.url = url.into();
    r.fields.created_at = Some(format!(
        "2026-03-01 {:02}:{:02}:00.000000",
        minute / 60,
        minute % 60
    ));
    r.findings = findings;
    r
}

fn p() -> ProjectName {
    ProjectName::default()
}

async fn prints(store: &Store, id: &str) -> Vec<String> {
    let d = store.get_audit(&p(), &AuditId::parse(id).unwrap()).await.unwrap();
    d.findings
        .iter()
        .map(|f| f.fingerprint.clone().expect("fingerprinted"))
        .collect()
}

async fn changes(store: &Store, id: &str) -> Vec<(String, FindingChangeKind)> {
    let c = store
        .audit_changes(&p(), &AuditId::parse(id).unwrap())
        .await
        .unwrap();
    c.findings
        .into_iter()
        .map(|f| (f.fingerprint, f.change))
        .collect()
}

async fn listed(store: &Store, change: &str) -> Vec<String> {
    let req = ListRequest {
        filter: AuditFilter {
            changes: vec![change.into()],
            ..AuditFilter::default()
        },
        limit: Some(100),
        ..ListRequest::default()
    };
    let mut ids: Vec<String> = store
        .list_audits(&p(), &req)
        .await
        .unwrap()
        .audits
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.sort();
    ids
}

async fn assert_doctor_clean(store: &Store) {
    let report = store
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        report.facet_mismatches.is_empty(),
        "{:?}",
        report.facet_mismatches
    );
}

#[tokio::test]
async fn the_same_problem_keeps_its_fingerprint_and_different_problems_do_not_share_one() {
    let fx = fresh().await;
    let s = &fx.store;
    let url = "https://shop.example/checkout";
    s.insert_audit(
        &p(),
        audit(
            1,
            url,
            1,
            vec![
                finding(
                    "countdown_timer",
                    "false_urgency",
                    None,
                    0.91,
                    "A fake timer counts down.",
                ),
                finding("weak_tls", "security", Some("CWE-326"), 1.0, "TLS 1.0 accepted"),
            ],
        ),
    )
    .await
    .unwrap();
    // A re-run: other confidence, other words, other case and spacing, the CWE without its
    // prefix.
    s.insert_audit(
        &p(),
        audit(
            2,
            &format!("{url}/"),
            2,
            vec![
                finding(
                    "Countdown Timer",
                    " FALSE_URGENCY ",
                    None,
                    0.55,
                    "Timer resets on reload",
                ),
                finding(
                    "weak-tls",
                    "Security",
                    Some("326"),
                    0.7,
                    "Old TLS versions are on",
                ),
            ],
        ),
    )
    .await
    .unwrap();
    // Different problems: another pattern, another category, another weakness.
    s.insert_audit(
        &p(),
        audit(
            3,
            url,
            3,
            vec![
                finding(
                    "fake_scarcity",
                    "false_urgency",
                    None,
                    0.91,
                    "A fake timer counts down.",
                ),
                finding(
                    "countdown_timer",
                    "misdirection",
                    None,
                    0.91,
                    "A fake timer counts down.",
                ),
                finding("weak_tls", "security", Some("CWE-327"), 1.0, "TLS 1.0 accepted"),
            ],
        ),
    )
    .await
    .unwrap();
    let (a, b, c) = (
        prints(s, &record(1).id).await,
        prints(s, &record(2).id).await,
        prints(s, &record(3).id).await,
    );
    assert_eq!(a, b, "re-scored, re-worded, re-cased: the same problems");
    for f in &c {
        assert!(!a.contains(f), "{f} is another problem than any of {a:?}");
    }
    assert_eq!(c.len(), 3);
    assert_eq!(
        c.iter().collect::<std::collections::BTreeSet<_>>().len(),
        3,
        "three different problems: {c:?}"
    );
    // Rows ids and confidence are not in it.
    assert!(
        a.iter().all(|f| !f.contains("0.91") && !f.contains("A fake")),
        "{a:?}"
    );
    assert_doctor_clean(s).await;
}

#[tokio::test]
async fn three_audits_with_a_regression_new_persisting_regressed_and_fixed() {
    let fx = fresh().await;
    let s = &fx.store;
    let url = "https://news.example";
    let timer = || finding("countdown_timer", "false_urgency", None, 0.9, "timer");
    let fees = || finding("hidden_costs", "sneaking", None, 0.8, "fees at the end");
    let (a1, a2, a3) = (record(11).id, record(12).id, record(13).id);
    s.insert_audit(&p(), audit(11, url, 10, vec![timer(), fees()]))
        .await
        .unwrap();
    s.insert_audit(&p(), audit(12, url, 20, vec![timer()]))
        .await
        .unwrap();
    s.insert_audit(&p(), audit(13, url, 30, vec![timer(), fees()]))
        .await
        .unwrap();
    // Another site's audit between them changes nothing for this one.
    s.insert_audit(&p(), audit(14, "https://other.example", 25, vec![fees()]))
        .await
        .unwrap();

    let first = s
        .audit_changes(&p(), &AuditId::parse(&a1).unwrap())
        .await
        .unwrap();
    assert_eq!(first.previous_audit_id, None);
    assert!(
        first.findings.iter().all(|f| f.change == FindingChangeKind::New),
        "{first:?}"
    );

    let second = s
        .audit_changes(&p(), &AuditId::parse(&a2).unwrap())
        .await
        .unwrap();
    assert_eq!(second.previous_audit_id.as_deref(), Some(a1.as_str()));
    assert_eq!(second.findings.len(), 1);
    assert_eq!(second.findings[0].change, FindingChangeKind::Persisting);
    assert_eq!(second.fixed.len(), 1, "the fees are gone in the second run");
    assert_eq!(second.fixed[0].pattern_type, "hidden_costs");
    assert_eq!(second.fixed[0].audit_id, a1);

    let third = changes(s, &a3).await;
    let kind = |pattern: &str| {
        third
            .iter()
            .find(|(f, _)| f.contains(pattern))
            .map(|(_, c)| *c)
            .unwrap()
    };
    assert_eq!(kind("countdown_timer"), FindingChangeKind::Persisting);
    assert_eq!(kind("hidden_costs"), FindingChangeKind::Regressed);

    // The list's flags and facet say the same.
    let mut with_new = vec![a1.clone(), record(14).id];
    with_new.sort();
    assert_eq!(listed(s, "new").await, with_new);
    assert_eq!(listed(s, "regressed").await, vec![a3.clone()]);
    let facets = s.audit_facets(&p(), &AuditFilter::default()).await.unwrap();
    let count = |v: &str| facets.changes.iter().find(|c| c.value == v).map(|c| c.count);
    assert_eq!(
        (count("new"), count("regressed")),
        (Some(2), Some(1)),
        "{:?}",
        facets.changes
    );

    // Comparing any two audits matches by the same fingerprints.
    let cmp = s
        .compare_audits(&p(), &AuditId::parse(&a1).unwrap(), &AuditId::parse(&a2).unwrap())
        .await
        .unwrap();
    assert_eq!(cmp.by_fingerprint.kept.len(), 1);
    assert_eq!(cmp.by_fingerprint.fixed.len(), 1);
    assert!(cmp.by_fingerprint.new.is_empty());
    assert_doctor_clean(s).await;

    // Without the second run, the fees were never absent: the third run's are persisting.
    s.delete_audit(&p(), &AuditId::parse(&a2).unwrap()).await.unwrap();
    assert!(changes(s, &a3)
        .await
        .iter()
        .all(|(_, c)| *c == FindingChangeKind::Persisting));
    assert!(listed(s, "regressed").await.is_empty());
    assert_doctor_clean(s).await;
}

#[tokio::test]
async fn rows_the_backend_inserts_are_fingerprinted_and_judged() {
    let fx = fresh().await;
    let s = &fx.store;
    let url = "https://bank.example/login";
    s.insert_audit(
        &p(),
        audit(
            21,
            url,
            5,
            vec![finding("weak_tls", "security", Some("CWE-326"), 1.0, "old TLS")],
        ),
    )
    .await
    .unwrap();
    // The backend's ORM: the audit row, then its findings, naming only its own columns.
    let mut c = raw(fx.dir.path()).await;
    sqlx::query(
        "INSERT INTO audits (id, url, status, created_at) VALUES ('vrts_backend1', ?1, 'completed', '2026-03-01 09:00:00.000000')",
    )
    .bind(url)
    .execute(&mut c)
    .await
    .unwrap();
    for (pattern, category) in [("weak_tls", "security"), ("confirmshaming", "emotional")] {
        sqlx::query(
            "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description)
             VALUES ('vrts_backend1', ?1, ?2, 'high', 0.5, 'seen')",
        )
        .bind(pattern)
        .bind(category)
        .execute(&mut c)
        .await
        .unwrap();
    }
    // Without a CWE the backend's weak TLS is another problem than ours with one: new.
    let got = changes(s, "vrts_backend1").await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, k)| *k == FindingChangeKind::New), "{got:?}");
    sqlx::query("UPDATE audit_findings SET cwe_id = 'CWE-326' WHERE audit_id = 'vrts_backend1' AND pattern_type = 'weak_tls'")
        .execute(&mut c)
        .await
        .unwrap();
    let got = changes(s, "vrts_backend1").await;
    let tls = got.iter().find(|(f, _)| f.contains("weak_tls")).unwrap();
    assert_eq!(tls.1, FindingChangeKind::Persisting, "{got:?}");
    assert_eq!(
        listed(s, "new").await.len(),
        2,
        "ours (first audit) and the backend's"
    );
    assert_doctor_clean(s).await;
}

#[tokio::test]
async fn doctor_repairs_flags_left_stale_by_an_audit_written_out_of_order() {
    let fx = fresh().await;
    let s = &fx.store;
    let url = "https://late.example";
    let timer = || finding("countdown_timer", "false_urgency", None, 0.9, "timer");
    s.insert_audit(&p(), audit(31, url, 50, vec![timer()]))
        .await
        .unwrap();
    // An earlier audit of the site arrives afterwards: the later one's timer is no longer
    // new, which the triggers (judging arrivals) leave for the doctor.
    s.insert_audit(&p(), audit(32, url, 40, vec![timer()]))
        .await
        .unwrap();
    let report = s
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        report
            .facet_mismatches
            .iter()
            .any(|m| m.table.contains("changes")),
        "{:?}",
        report.facet_mismatches
    );
    let repaired = s
        .doctor(true, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(!repaired.repaired.is_empty());
    assert_doctor_clean(s).await;
    assert_eq!(listed(s, "new").await, vec![record(32).id]);
}

/// A PNG of `w`x`h` grey pixels with a `bw`x`bh` white block at (`bx`, `by`).
fn page_png(w: u32, h: u32, block: Option<(u32, u32, u32, u32)>) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| match block {
        Some((bx, by, bw, bh)) if x >= bx && x < bx + bw && y >= by && y < by + bh => {
            image::Rgb([255, 255, 255])
        }
        _ => image::Rgb([90, 90, 90]),
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn two_runs_screenshots_differ_by_a_known_share_and_the_report_compares_them() {
    let fx = fresh().await;
    let s = &fx.store;
    let url = "https://diff.example";
    // The later page is 20 rows taller and has a 40x30 block painted: (40*30 + 100*20) of
    // 100x220 pixels changed, exactly.
    for (i, minute, png, patterns) in [
        (41, 1, page_png(100, 200, None), vec!["countdown_timer"]),
        (
            42,
            2,
            page_png(100, 220, Some((10, 10, 40, 30))),
            vec!["countdown_timer", "hidden_costs"],
        ),
    ] {
        let mut r = audit(
            i,
            url,
            minute,
            patterns
                .iter()
                .map(|p| finding(p, "dark_pattern", None, 0.8, "seen"))
                .collect(),
        );
        let id = AuditId::parse(&r.id).unwrap();
        let saved = s.screenshots().save(&id, 0, &png).unwrap();
        r.screenshots = vec![veritas_core::NewScreenshot {
            created_at: None,
            run: None,
            file_path: saved.path.to_string_lossy().into_owned(),
            label: "fullpage".into(),
            index: 0,
            file_size_bytes: Some(saved.size as i64),
        }];
        s.insert_audit(&p(), r).await.unwrap();
    }
    let (a, b) = (
        AuditId::parse(&record(41).id).unwrap(),
        AuditId::parse(&record(42).id).unwrap(),
    );
    let shot = |d: &veritas_core::AuditDetail| d.screenshots[0].id;
    let (sa, sb) = (
        shot(&s.get_audit(&p(), &a).await.unwrap()),
        shot(&s.get_audit(&p(), &b).await.unwrap()),
    );
    let (summary, heat) = s.screenshot_diff(&p(), &a, sa, &b, sb).await.unwrap();
    assert_eq!((summary.width, summary.height), (100, 220));
    assert_eq!(summary.changed_pixels, 40 * 30 + 100 * 20);
    assert!(
        (summary.changed_share - 3200.0 / 22000.0).abs() < 1e-12,
        "{summary:?}"
    );
    let decoded = image::open(&heat).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (100, 220),
        "the heat map covers both pages"
    );
    // Cached: the second ask reads the same file.
    let again = s.screenshot_diff(&p(), &a, sa, &b, sb).await.unwrap();
    assert_eq!(again, (summary, heat));
    // Another project's ids are not found.
    let elsewhere = ProjectName::parse("elsewhere").unwrap();
    assert!(s.screenshot_diff(&elsewhere, &a, sa, &b, sb).await.is_err());

    let html = s
        .export_audit(&p(), &b, veritas_core::ExportFormat::Html)
        .await
        .unwrap();
    assert!(
        html.contains("Since the previous audit of the site"),
        "the report compares"
    );
    assert!(
        html.contains("<b>New or back:</b> hidden_costs"),
        "the new finding is named"
    );
    assert!(
        html.contains("fullpage: 14.5% of the page changed"),
        "the screenshot's changed share"
    );
    assert!(
        html.contains("alt=\"what changed in fullpage, in red\" src=\"data:image/jpeg;base64,"),
        "the heat map is in the report"
    );
}
