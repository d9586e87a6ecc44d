//! Issue 13's figures on a browse database: the sidebar's facet counts under each kind of
//! filter, with a search of a word and of a phrase, and search as you type (each prefix of
//! "preselected": the first page, and the facets beside it). All through the app's own
//! path (`Store::audit_facets_superseding`, with its time budget), p95 of 200 calls after warm-up
//! (20 on the 20k database).

use std::future::Future;
use std::time::Instant;

use veritas_core::{AuditFilter, AuditStatus, Backend, Direction, ListRequest, ProjectName, SortKey};

use crate::{percentile, Report};

/// Calls timed per case after the warm-up: the 200 on the 1M database, 20 on the
/// smaller one (the test command's short version).
fn calls(tag: &str) -> (usize, usize) {
    if tag == "1m" {
        (200, 10)
    } else {
        (20, 2)
    }
}

/// Time `calls` calls of `f` after `warm_up` calls; sorted milliseconds.
async fn timed<F, Fut>((calls, warm_up): (usize, usize), mut f: F) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut times = Vec::with_capacity(calls);
    for j in 0..warm_up + calls {
        let t = Instant::now();
        f().await;
        if j >= warm_up {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// The facets under `filter`, timed; also how many of the nine facets and the total came
/// as estimates (on the last call).
async fn facet_case(store: &Backend, filter: &AuditFilter, tag: &str) -> (Vec<f64>, usize) {
    let project = ProjectName::default();
    let estimated = std::cell::Cell::new(0);
    let times = timed(calls(tag), || async {
        let f = store
            .audit_facets_superseding("bench", &project, filter, false)
            .await
            .unwrap_or_else(|e| panic!("the sidebar's facets under {filter:?}: {e}"));
        estimated.set(f.estimated.len());
    })
    .await;
    (times, estimated.get())
}

pub(crate) async fn facets(report: &mut Report, store: &Backend, tag: &str) {
    let d = AuditFilter::default;
    let cases: Vec<(&str, &str, AuditFilter)> = vec![
        ("none", "no filter", d()),
        (
            "status",
            "status completed",
            AuditFilter {
                status: vec![AuditStatus::Completed],
                ..d()
            },
        ),
        (
            "status_risk",
            "status completed + risk suspicious",
            AuditFilter {
                status: vec![AuditStatus::Completed],
                risk_level: vec!["suspicious".into()],
                ..d()
            },
        ),
        (
            "score",
            "trust score 40 to 60",
            AuditFilter {
                min_score: Some(40.0),
                max_score: Some(60.0),
                ..d()
            },
        ),
        (
            "tier_site",
            "tier deep_forensic + site type ecommerce",
            AuditFilter {
                audit_tier: vec!["deep_forensic".into()],
                site_type: vec!["ecommerce".into()],
                ..d()
            },
        ),
        (
            "severity",
            "a finding of severity critical",
            AuditFilter {
                severity: vec!["critical".into()],
                ..d()
            },
        ),
        (
            "pattern",
            "a finding of pattern hidden_costs",
            AuditFilter {
                pattern_type: vec!["hidden_costs".into()],
                ..d()
            },
        ),
        (
            "word",
            "search of a word (\"preselected\")",
            AuditFilter {
                search: Some("preselected".into()),
                ..d()
            },
        ),
        (
            "phrase",
            "search of a phrase (\"hidden subscription fee\")",
            AuditFilter {
                search: Some("\"hidden subscription fee\"".into()),
                ..d()
            },
        ),
    ];
    for (name, what, filter) in cases {
        let (times, estimated) = facet_case(store, &filter, tag).await;
        let exact = if estimated == 0 {
            "all exact".to_string()
        } else {
            format!("{estimated} of 10 estimated, exact next")
        };
        report.put(
            &format!("facets_{tag}_{name}_p95_ms"),
            percentile(&times, 95.0),
            "ms",
            &format!("all facets, {what}; {exact}"),
        );
    }

    // Search as you type matches prefixes on SQLite only so far (a team database's search
    // matches whole words): not timed there.
    if matches!(store, Backend::Team(_)) {
        return;
    }
    // Search as you type: each prefix of "preselected", the first page, then the facets.
    let word = "preselected";
    let project = ProjectName::default();
    let (mut worst_page, mut worst_facets, mut estimated_prefixes) = (0.0f64, 0.0f64, 0);
    for k in 1..=word.len() {
        let filter = AuditFilter {
            search: Some(word[..k].to_string()),
            ..d()
        };
        let req = ListRequest {
            filter: filter.clone(),
            sort: SortKey::Created,
            direction: Direction::Desc,
            limit: Some(50),
            after: None,
        };
        let page = timed(calls(tag), || async {
            drop(store.list_audits(&project, &req).await.expect("a page"));
        })
        .await;
        let (facets, estimated) = facet_case(store, &filter, tag).await;
        let (p, f) = (percentile(&page, 95.0), percentile(&facets, 95.0));
        report.put(
            &format!("type_{tag}_{k:02}_page_p95_ms"),
            p,
            "ms",
            &format!("search as you type {:?}: first 50", &word[..k]),
        );
        report.put(
            &format!("type_{tag}_{k:02}_facets_p95_ms"),
            f,
            "ms",
            &format!(
                "... and the facets beside it ({})",
                if estimated == 0 {
                    "exact".to_string()
                } else {
                    format!("{estimated} estimated")
                }
            ),
        );
        worst_page = worst_page.max(p);
        worst_facets = worst_facets.max(f);
        estimated_prefixes += usize::from(estimated > 0);
    }
    report.put(
        &format!("type_{tag}_worst_page_p95_ms"),
        worst_page,
        "ms",
        "search as you type: the slowest prefix's first page (target <= 50 ms)",
    );
    report.put(
        &format!("type_{tag}_worst_facets_p95_ms"),
        worst_facets,
        "ms",
        &format!(
            "... the slowest prefix's facets (target <= 300 ms; {estimated_prefixes} of 11 prefixes answered with estimates first)"
        ),
    );
}
