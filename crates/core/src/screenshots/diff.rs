//! The difference between two screenshots (of two audits of a site, same label): a heat map
//! and the share of the page that changed. Both are decoded whole by the `image` crate
//! (within the same limits as everything else), aligned at the top left (full-page shots of
//! different heights line up from the top), and compared pixel by pixel. The heat map is
//! derived and cached beside the thumbnails, like them; the originals never change.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::{ImageReader, Limits, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use super::budget;
use super::dir::{write_atomically, ScreenshotDir};
use super::sniff::{MAX_PIXELS, MAX_SIDE};
use crate::error::{Error, Result};
use crate::ids::AuditId;

/// A pixel has changed when one of its channels differs by more than this (out of 255):
/// below it is JPEG noise and anti-aliasing, not a change a person would see.
pub const CHANGE_THRESHOLD: u8 = 32;

/// What a diff found.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// The compared area: the larger width and the larger height of the two.
    pub width: u32,
    pub height: u32,
    /// Pixels that differ (over [`CHANGE_THRESHOLD`]), or that only one image covers.
    pub changed_pixels: u64,
    /// `changed_pixels` over the compared area, 0 to 1.
    pub changed_share: f64,
}

/// Compare `before` and `after` aligned at the top left. Returns the summary and the heat
/// map: `after` in faint grey, changed pixels in red (stronger for a larger difference),
/// area only one image covers in solid red.
pub fn diff_images(before: &RgbImage, after: &RgbImage) -> (DiffSummary, RgbImage) {
    let (w, h) = (
        before.width().max(after.width()),
        before.height().max(after.height()),
    );
    let mut heat = RgbImage::new(w, h);
    let mut changed = 0u64;
    for (x, y, out) in heat.enumerate_pixels_mut() {
        let a = (x < before.width() && y < before.height()).then(|| before.get_pixel(x, y).0);
        let b = (x < after.width() && y < after.height()).then(|| after.get_pixel(x, y).0);
        *out = match (a, b) {
            (Some(a), Some(b)) => {
                let d = (0..3).map(|i| a[i].abs_diff(b[i])).max().unwrap_or(0);
                if d > CHANGE_THRESHOLD {
                    changed += 1;
                    // From light red (just over the threshold) to full red.
                    let fade = 200 - (u16::from(d) * 200 / 255) as u8;
                    Rgb([255, fade / 2, fade / 2])
                } else {
                    let luma = (u16::from(b[0]) * 3 + u16::from(b[1]) * 6 + u16::from(b[2])) / 10;
                    let faint = 190 + (luma * 60 / 255) as u8;
                    Rgb([faint, faint, faint])
                }
            }
            _ => {
                changed += 1;
                Rgb([230, 30, 30])
            }
        };
    }
    let area = u64::from(w) * u64::from(h);
    let summary = DiffSummary {
        width: w,
        height: h,
        changed_pixels: changed,
        changed_share: if area == 0 {
            0.0
        } else {
            changed as f64 / area as f64
        },
    };
    (summary, heat)
}

/// Decode a stored screenshot whole, within the limits, as RGB.
fn decode_rgb(source: &Path) -> Result<RgbImage> {
    let file = fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(source, e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    reader.limits(limits);
    Ok(reader
        .decode()
        .map_err(|e| Error::invalid(source.display(), format!("cannot decode image ({e})")))?
        .into_rgb8())
}

/// A file's stem, for cache names.
fn stem(p: &Path) -> &str {
    p.file_stem().and_then(|s| s.to_str()).unwrap_or("shot")
}

impl ScreenshotDir {
    /// The diff of stored files `before` (of audit `before_audit`) and `after` (of
    /// `after_audit`): its summary and the path of its cached JPEG heat map, made once.
    pub fn diff(
        &self,
        before_audit: &AuditId,
        before: &Path,
        after_audit: &AuditId,
        after: &Path,
    ) -> Result<(DiffSummary, PathBuf)> {
        let confine = |p: &Path| {
            self.confine(p)
                .ok_or_else(|| Error::invalid(p.display(), "not a file in the screenshot directory"))
        };
        let (before, after) = (confine(before)?, confine(after)?);
        // Under the later audit's cache folder, so it goes when that audit is deleted.
        let dir = self.cache_dir(after_audit)?;
        let name = format!("diff_{before_audit}_{}__{}", stem(&before), stem(&after));
        let (image, summary_file) = (dir.join(format!("{name}.jpg")), dir.join(format!("{name}.json")));
        let fresh = |cached: &Path| {
            if crate::paths::refuse_link(cached).is_err() {
                return false;
            }
            let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
            match (modified(cached), modified(&before), modified(&after)) {
                (Some(c), Some(a), Some(b)) => c >= a && c >= b,
                _ => false,
            }
        };
        if fresh(&image) && fresh(&summary_file) {
            if let Some(summary) = fs::read(&summary_file)
                .ok()
                .and_then(|b| serde_json::from_slice::<DiffSummary>(&b).ok())
            {
                return Ok((summary, image));
            }
        }
        // Both images and the heat map (as large as the larger of them) at once.
        let (pa, pb) = (budget::pixels_of(&before), budget::pixels_of(&after));
        let _memory = budget::reserve(budget::bytes_for(pa + pb + pa.max(pb)), &after)?;
        let (a, b) = (decode_rgb(&before)?, decode_rgb(&after)?);
        let (summary, heat) = diff_images(&a, &b);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(&heat)
            .map_err(|e| Error::invalid(after.display(), format!("cannot encode the diff ({e})")))?;
        write_atomically(&dir, &image, &jpeg)?;
        write_atomically(&dir, &summary_file, &serde_json::to_vec(&summary)?)?;
        Ok((summary, image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_change_gives_its_exact_share_and_a_taller_page_counts_its_extra_rows() {
        let grey = |w, h| RgbImage::from_pixel(w, h, Rgb([120, 120, 120]));
        let before = grey(100, 200);
        let mut after = grey(100, 200);
        // A 10x20 block changed strongly, and a 100x10 band changed below the threshold.
        for y in 50..70 {
            for x in 30..40 {
                after.put_pixel(x, y, Rgb([250, 20, 20]));
            }
        }
        for y in 100..110 {
            for x in 0..100 {
                after.put_pixel(x, y, Rgb([120 + CHANGE_THRESHOLD, 120, 120]));
            }
        }
        let (s, heat) = diff_images(&before, &after);
        assert_eq!((s.width, s.height, s.changed_pixels), (100, 200, 200));
        assert!((s.changed_share - 0.01).abs() < 1e-12, "{s:?}");
        assert_eq!(heat.get_pixel(35, 60).0[0], 255, "a changed pixel is red");
        assert!(
            heat.get_pixel(5, 5).0.iter().all(|c| *c >= 190),
            "unchanged is faint"
        );

        // The same page grown by 50 rows: the rows only one image has are all changed.
        let taller = grey(100, 250);
        let (s, _) = diff_images(&before, &taller);
        assert_eq!((s.height, s.changed_pixels), (250, 5000));
        assert!((s.changed_share - 0.2).abs() < 1e-12);
        let (same, _) = diff_images(&before, &before);
        assert_eq!(same.changed_pixels, 0);
    }
}
