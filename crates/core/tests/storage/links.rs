//! Issue 16, bug 1: a data folder unpacked from a shared archive can hold symbolic links that
//! point out of it. Nothing we write, cache or delete may follow one: each is refused, naming
//! the link, and what lies outside is untouched.

#![cfg(unix)]

use std::os::unix::fs::symlink;

use image::ImageFormat;
use serde_json::json;
use veritas_core::{ExportFormat, IngestOptions};

use crate::common::{aid, base64, fresh, image_bytes, ingest_lines, pname, record};

/// One audit with one screenshot, ingested; its id.
async fn audit_with_shot(store: &veritas_core::Store) -> String {
    let id = "vrts_11nk0001";
    let png = image_bytes(64, 40, ImageFormat::Png);
    let lines = [
        json!({"type": "audit_start", "audit_id": id, "url": "https://a.example/"}),
        json!({"type": "screenshot", "url": "a0.png", "label": "t0", "index": 0, "data": base64(&png)}),
        json!({"type": "audit_result", "result": {"url": "https://a.example/", "status": "completed", "trust_score": 50}}),
    ]
    .map(|v| v.to_string());
    let (_, rejected) = ingest_lines(store, &lines, &IngestOptions::default()).await;
    assert!(rejected.is_empty(), "{rejected:?}");
    id.to_string()
}

#[tokio::test]
async fn delete_refuses_a_linked_thumbnail_cache_and_leaves_its_target_alone() {
    let fx = fresh().await;
    let outside = tempfile::tempdir().unwrap();
    let id = audit_with_shot(&fx.store).await;
    // `cache/thumbnails -> <outside>`, and outside a folder named like the audit.
    std::fs::create_dir_all(fx.dir.path().join("cache")).unwrap();
    symlink(outside.path(), fx.dir.path().join("cache/thumbnails")).unwrap();
    std::fs::create_dir_all(outside.path().join(&id)).unwrap();
    std::fs::write(outside.path().join(&id).join("precious.txt"), "keep").unwrap();

    let e = fx
        .store
        .delete_audit(&pname("default"), &aid(&id))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("cache/thumbnails") && e.to_string().contains("symbolic link"),
        "the refused link is named: {e}"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join(&id).join("precious.txt")).unwrap(),
        "keep"
    );
}

#[tokio::test]
async fn thumbnails_and_screenshots_are_not_written_through_planted_links() {
    let fx = fresh().await;
    let outside = tempfile::tempdir().unwrap();
    let id = audit_with_shot(&fx.store).await;
    let shot = fx
        .store
        .get_audit(&pname("default"), &aid(&id))
        .await
        .unwrap()
        .screenshots[0]
        .id;

    // `cache/thumbnails/<id> -> <outside>`: the thumbnail is refused, nothing lands outside.
    std::fs::create_dir_all(fx.dir.path().join("cache/thumbnails")).unwrap();
    symlink(outside.path(), fx.dir.path().join("cache/thumbnails").join(&id)).unwrap();
    let e = fx
        .store
        .thumbnail(&pname("default"), &aid(&id), shot, 200)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    // `screenshots/<id> -> <outside>` for an audit still to come: its screenshot line is
    // rejected, naming the link, and nothing is written outside.
    let next = "vrts_11nk0002";
    symlink(outside.path(), fx.dir.path().join("screenshots").join(next)).unwrap();
    let png = image_bytes(8, 8, ImageFormat::Png);
    let lines = [
        json!({"type": "audit_start", "audit_id": next, "url": "https://b.example/"}),
        json!({"type": "screenshot", "url": "b0.png", "label": "t0", "index": 0, "data": base64(&png)}),
    ]
    .map(|v| v.to_string());
    let (_, rejected) = ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].1.contains("symbolic link"), "{rejected:?}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_export_replaces_a_planted_link_instead_of_writing_through_it() {
    let fx = fresh().await;
    let outside = tempfile::tempdir().unwrap();
    fx.store.insert_audit(&pname("default"), record(1)).await.unwrap();
    let id = aid(record(1).id);
    let target = outside.path().join("victim.txt");
    std::fs::write(&target, "keep").unwrap();
    std::fs::create_dir_all(fx.dir.path().join("exports")).unwrap();
    let planted = fx.dir.path().join("exports").join(format!("{id}.html"));
    symlink(&target, &planted).unwrap();

    let path = fx
        .store
        .export_audit_to_folder(&pname("default"), &id, ExportFormat::Html, false)
        .await
        .unwrap();
    assert_eq!(path, planted);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "keep",
        "the file outside is untouched"
    );
    assert!(!std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&path).unwrap().contains("<html"));

    // A linked `exports/` folder itself is refused.
    std::fs::remove_dir_all(fx.dir.path().join("exports")).unwrap();
    symlink(outside.path(), fx.dir.path().join("exports")).unwrap();
    let e = fx
        .store
        .export_audit_to_folder(&pname("default"), &id, ExportFormat::Html, false)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("exports") && e.to_string().contains("symbolic link"),
        "{e}"
    );
}

/// A hard link shares a file outside the folder with no sign of where: neither served nor
/// exported. A symbolic link in place of an audit's folder: doctor names the link as what
/// no row refers to, and never lists the files it points at as the folder's orphans.
#[tokio::test]
async fn hard_links_are_not_served_and_doctor_does_not_list_through_a_linked_audit_folder() {
    let fx = fresh().await;
    let outside = tempfile::tempdir().unwrap();
    let id = audit_with_shot(&fx.store).await;
    let detail = fx.store.get_audit(&pname("default"), &aid(&id)).await.unwrap();
    let shot = &detail.screenshots[0];
    let stored = std::path::PathBuf::from(shot.resolved_path.clone().unwrap());
    let before = fx
        .store
        .export_audit(&pname("default"), &aid(&id), ExportFormat::Html)
        .await
        .unwrap();
    assert!(
        before.contains("data:image/png;base64"),
        "a file of one name is embedded"
    );
    // The stored file replaced by a hard link to a "secret" outside, of the same format.
    let secret = outside.path().join("secret.png");
    std::fs::copy(&stored, &secret).unwrap();
    std::fs::remove_file(&stored).unwrap();
    std::fs::hard_link(&secret, &stored).unwrap();
    let served = fx
        .store
        .screenshot_file(&pname("default"), &aid(&id), shot.id)
        .await;
    assert!(served.is_err(), "a hard-linked file is not served");
    let html = fx
        .store
        .export_audit(&pname("default"), &aid(&id), ExportFormat::Html)
        .await
        .unwrap();
    assert!(
        !html.contains("data:image/png;base64"),
        "nor embedded in an export"
    );

    // screenshots/vrts_elsewhere -> a folder outside holding files.
    std::fs::write(outside.path().join("letter.txt"), "private").unwrap();
    symlink(outside.path(), fx.dir.path().join("screenshots/vrts_elsewhere")).unwrap();
    let report = fx
        .store
        .doctor(false, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        report.orphan_files.iter().any(|o| o.ends_with("vrts_elsewhere")),
        "{:?}",
        report.orphan_files
    );
    assert!(
        !report
            .orphan_files
            .iter()
            .any(|o| o.contains("letter.txt") || o.contains("secret.png")),
        "nothing outside is listed: {:?}",
        report.orphan_files
    );
}
