//! The `shot:` scheme, answered by `protocol::serve` on a real data directory.

use tauri::http::{header, Request, StatusCode};
use veritas_core::{AuditId, ProjectName, Store};
use veritas_viewer::protocol::serve;

async fn demo_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store
        .load_demo(&ProjectName::default(), 4, &mut |_, _| {})
        .await
        .unwrap();
    (store, dir)
}

fn get(uri: &str, range: Option<&str>) -> Request<Vec<u8>> {
    let mut b = Request::builder().uri(uri);
    if let Some(r) = range {
        b = b.header(header::RANGE, r);
    }
    b.body(Vec::new()).unwrap()
}

#[tokio::test]
async fn serves_screenshots_by_id_with_their_real_type_ranges_and_thumbnails() {
    let (store, _dir) = demo_store().await;
    // Audit 3 of the demo has JPEG bytes recorded as a Windows .png path.
    let page = store
        .list_audits_full(&ProjectName::default(), &Default::default())
        .await
        .unwrap();
    let cozy = page.audits.iter().find(|a| a.url.contains("cozy")).unwrap();
    let detail = store
        .get_audit(&ProjectName::default(), &AuditId::parse(&cozy.id).unwrap())
        .await
        .unwrap();
    let legacy = detail
        .screenshots
        .iter()
        .find(|s| s.file_path.ends_with("legacy.png"))
        .unwrap();
    let base = format!("shot://localhost/default/{}/{}", cozy.id, legacy.id);

    let full = serve(&veritas_core::Backend::Local(store.clone()), &get(&base, None)).await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(
        full.headers()[header::CONTENT_TYPE],
        "image/jpeg",
        "the type comes from the bytes, not the name"
    );
    assert!(full.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let bytes = full.body().clone();
    assert_eq!(bytes.len(), legacy.file_size_bytes.unwrap() as usize);

    let part = serve(
        &veritas_core::Backend::Local(store.clone()),
        &get(&base, Some("bytes=10-19")),
    )
    .await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body().as_slice(), &bytes[10..20]);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 10-19/{}", bytes.len()).as_str()
    );
    let multi = serve(
        &veritas_core::Backend::Local(store.clone()),
        &get(&base, Some("bytes=0-1,5-6")),
    )
    .await;
    assert_eq!(
        (multi.status(), multi.body().len()),
        (StatusCode::OK, bytes.len()),
        "multi-range gets the whole file"
    );
    let beyond = serve(
        &veritas_core::Backend::Local(store.clone()),
        &get(&base, Some(&format!("bytes={}-", bytes.len()))),
    )
    .await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let thumb = serve(
        &veritas_core::Backend::Local(store.clone()),
        &get(&format!("{base}?w=200"), None),
    )
    .await;
    assert_eq!(
        (
            thumb.status(),
            thumb.headers()[header::CONTENT_TYPE].to_str().unwrap()
        ),
        (StatusCode::OK, "image/jpeg")
    );
    let info = veritas_core::inspect_image(thumb.body()).unwrap();
    assert_eq!(info.width, 200);
}

#[tokio::test]
async fn refuses_what_is_not_a_stored_screenshot_of_the_project() {
    let (store, _dir) = demo_store().await;
    let page = store
        .list_audits_full(&ProjectName::default(), &Default::default())
        .await
        .unwrap();
    let news = page
        .audits
        .iter()
        .find(|a| a.url.contains("daily-ledger"))
        .unwrap();
    let detail = store
        .get_audit(&ProjectName::default(), &AuditId::parse(&news.id).unwrap())
        .await
        .unwrap();
    let missing = detail
        .screenshots
        .iter()
        .find(|s| !s.exists)
        .expect("the demo's missing file");
    let present = detail.screenshots.iter().find(|s| s.exists).unwrap();
    for (uri, status) in [
        (
            format!("shot://localhost/default/{}/{}", news.id, missing.id),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("shot://localhost/other/{}/{}", news.id, present.id),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("shot://localhost/default/{}/999999", news.id),
            StatusCode::NOT_FOUND,
        ),
        (
            "shot://localhost/default/..%2F..%2Fetc/1".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "shot://localhost/default/vrts_1/../../../etc/passwd".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("shot://localhost/default/{}/{}?w=99999", news.id, present.id),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(
            serve(&veritas_core::Backend::Local(store.clone()), &get(&uri, None))
                .await
                .status(),
            status,
            "{uri}"
        );
    }
}
