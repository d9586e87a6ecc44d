//! Thumbnails: derived from a stored screenshot, cached under `cache/thumbnails/`, never
//! touching the original.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::{ImageReader, Limits};

use super::dir::{write_atomically, ScreenshotDir};
use super::sniff::{MAX_PIXELS, MAX_SIDE};
use crate::error::{Error, Result};
use crate::ids::AuditId;

/// Thumbnail widths accepted.
pub const THUMB_WIDTHS: std::ops::RangeInclusive<u32> = 16..=2048;

impl ScreenshotDir {
    /// A JPEG thumbnail `width` pixels wide of the stored file `source` (as returned by
    /// [`ScreenshotDir::resolve`]), cached on disk; the original is never modified. An
    /// image narrower than `width` keeps its size.
    pub fn thumbnail(&self, audit_id: &AuditId, source: &Path, width: u32) -> Result<PathBuf> {
        if !THUMB_WIDTHS.contains(&width) {
            return Err(Error::invalid(
                format!("thumbnail width {width}"),
                format!("must be {} to {}", THUMB_WIDTHS.start(), THUMB_WIDTHS.end()),
            ));
        }
        let source = self
            .confine(source)
            .ok_or_else(|| Error::invalid(source.display(), "not a file in the screenshot directory"))?;
        let stem = source.file_stem().and_then(|s| s.to_str()).unwrap_or("shot");
        let dir = self.thumbs.join(audit_id.as_str());
        let cached = dir.join(format!("{stem}_w{width}.jpg"));
        if is_fresh(&cached, &source) {
            return Ok(cached);
        }
        let bytes = make_thumbnail(&source, width)?;
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_atomically(&dir, &cached, &bytes)?;
        Ok(cached)
    }
}

/// The cached file exists and is not older than its source.
fn is_fresh(cached: &Path, source: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(cached), modified(source)), (Some(c), Some(s)) if c >= s)
}

/// Decode `source` (within the limits) and scale it to `width`, as JPEG bytes.
pub fn make_thumbnail(source: &Path, width: u32) -> Result<Vec<u8>> {
    let file = fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(source, e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| Error::invalid(source.display(), format!("cannot decode image ({e})")))?;
    let img = if img.width() > width {
        let height = ((u64::from(img.height()) * u64::from(width)) / u64::from(img.width())).max(1) as u32;
        img.thumbnail_exact(width, height)
    } else {
        img
    };
    let rgb = img.into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&rgb)
        .map_err(|e| Error::invalid(source.display(), format!("cannot encode thumbnail ({e})")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::sniff::{inspect, test_png as png, ImageKind};
    use super::*;

    #[test]
    fn thumbnail_of_a_tall_full_page_shot_is_cached_and_leaves_the_original() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::new(tmp.path().join("screenshots"), tmp.path().join("thumbs"));
        let original = png(1939, 7464);
        let id = AuditId::parse("vrts_1").unwrap();
        let saved = dir.save(&id, 0, &original).unwrap();
        let thumb = dir.thumbnail(&id, &saved.path, 400).unwrap();
        let info = inspect(&fs::read(&thumb).unwrap()).unwrap();
        assert_eq!(
            (info.format, info.width, info.height),
            (ImageKind::Jpeg, 400, 1539)
        );
        assert_eq!(
            fs::read(&saved.path).unwrap(),
            original,
            "the original is never modified"
        );
        let again = dir.thumbnail(&id, &saved.path, 400).unwrap();
        assert_eq!(again, thumb);
        let err = dir.thumbnail(&id, &saved.path, 5).unwrap_err();
        assert!(err.message.contains("thumbnail width 5"), "{err}");
        // A real image, which would decode, just outside the screenshot folder: refused for
        // where it is, not for what it holds.
        let outside = tmp.path().join("outside.png");
        std::fs::write(&outside, png(8, 8)).unwrap();
        let err = dir.thumbnail(&id, &outside, 100).unwrap_err();
        assert!(
            err.message.contains("not a file in the screenshot directory"),
            "{err}"
        );
    }
}
