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
}
