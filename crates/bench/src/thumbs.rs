//! Thumbnails: the core's thumbnail of a viewport shot and of a 1939x7464 full-page JPEG,
//! against `vipsthumbnail` on the same files.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::{median, Report};

/// A realistic page-like JPEG of `w`x`h`.
fn write_jpeg(path: &Path, w: u32, h: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let band = (y / 160) % 5;
        image::Rgb([
            (40 + band * 40) as u8,
            ((x * 255) / w) as u8,
            ((y % 256) as u8) / 2 + 60,
        ])
    });
    img.save_with_format(path, image::ImageFormat::Jpeg).unwrap();
}

/// Thumbnails 400 px wide, cold (no cache), against vipsthumbnail on the same files.
pub(crate) fn thumbnails(report: &mut Report) {
    let dir = tempfile::tempdir().unwrap();
    let tall = dir.path().join("tall.jpg");
    let wide = dir.path().join("wide.jpg");
    write_jpeg(&tall, 1939, 7464);
    write_jpeg(&wide, 1939, 1079);
    let ours = |p: &Path| {
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    veritas_core::make_thumbnail(p, 400).unwrap();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    let vips = |p: &Path| -> Option<f64> {
        let out = dir.path().join("vips-out.jpg");
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let ok = Command::new("vipsthumbnail")
                .arg(p)
                .args(["--size", "400x", "-o"])
                .arg(format!("{}[Q=82]", out.display()))
                .status()
                .ok()?
                .success();
            if !ok {
                return None;
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Some(median(times))
    };
    let (t_tall, t_wide) = (ours(&tall), ours(&wide));
    report.put(
        "thumb_ms",
        t_tall,
        "ms",
        "1939x7464 JPEG to 400 px, cold, veritas-core",
    );
    report.put(
        "thumb_wide_ms",
        t_wide,
        "ms",
        "1939x1079 JPEG to 400 px, cold, veritas-core",
    );
    match (vips(&tall), vips(&wide)) {
        (Some(v_tall), Some(v_wide)) => {
            report.put(
                "thumb_vips_ms",
                v_tall,
                "ms",
                "same file, vipsthumbnail (process included)",
            );
            report.put(
                "thumb_wide_vips_ms",
                v_wide,
                "ms",
                "same file, vipsthumbnail (process included)",
            );
            report.put(
                "thumb_ratio_vs_vips",
                t_tall / v_tall,
                "x",
                "target <= 1.0 (issue 13)",
            );
        }
        _ => report.note(
            "thumb_vips_ms",
            "vipsthumbnail not found: apt-get install libvips-tools",
        ),
    }
    screenshot_diff(report, &tall);
}

/// The difference of two 1939x7464 JPEGs (the second with a 600x800 block repainted), cold:
/// both decoded whole, compared, the heat map encoded and cached (issue 14).
fn screenshot_diff(report: &mut Report, tall: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let shots = veritas_core::ScreenshotDir::in_data_dir(dir.path().to_path_buf());
    let mut changed = image::open(tall).unwrap().into_rgb8();
    for y in 3000..3800 {
        for x in 600..1200 {
            changed.put_pixel(x, y, image::Rgb([250, 250, 250]));
        }
    }
    let changed_path = dir.path().join("changed.jpg");
    changed
        .save_with_format(&changed_path, image::ImageFormat::Jpeg)
        .unwrap();
    let (a, b) = (
        veritas_core::AuditId::parse("vrts_diffa").unwrap(),
        veritas_core::AuditId::parse("vrts_diffb").unwrap(),
    );
    let before = shots.save(&a, 0, &std::fs::read(tall).unwrap()).unwrap().path;
    let after = shots
        .save(&b, 0, &std::fs::read(&changed_path).unwrap())
        .unwrap()
        .path;
    let mut share = 0.0;
    let times = (0..3)
        .map(|_| {
            let _ = std::fs::remove_dir_all(dir.path().join("cache"));
            let t = Instant::now();
            share = shots.diff(&a, &before, &b, &after).unwrap().0.changed_share;
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    report.put(
        "diff_ms",
        median(times),
        "ms",
        "two 1939x7464 JPEGs: decoded, compared, heat map cached, cold (issue 14)",
    );
    report.put(
        "diff_changed_share",
        share,
        "",
        "the share it found changed (the block is 3.3% of the page, plus JPEG ringing)",
    );
}
