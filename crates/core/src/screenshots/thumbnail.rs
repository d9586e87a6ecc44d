//! Thumbnails: derived from a stored screenshot, cached under `cache/thumbnails/`, never
//! touching the original.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, Limits, RgbImage};

use super::budget;
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
        let dir = self.cache_dir(audit_id)?;
        let cached = dir.join(format!("{stem}_w{width}.jpg"));
        // A cached file that is a link is made again (the rename replaces the link itself).
        if crate::paths::refuse_link(&cached).is_ok() && is_fresh(&cached, &source) {
            return Ok(cached);
        }
        let bytes = make_thumbnail(&source, width)?;
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
    // Held until the thumbnail is encoded: the decoded image lives until then.
    let _memory = budget::reserve(budget::bytes_for(budget::pixels_of(source)), source)?;
    let file = fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(source, e))?;
    let scaled = match reader.format() {
        Some(ImageFormat::Jpeg) => decode_jpeg_scaled(source, width)?,
        _ => None,
    };
    let img = match scaled {
        Some(img) => img,
        None => decode(reader, source)?,
    };
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

/// Decode the whole image, within the limits.
fn decode(mut reader: ImageReader<BufReader<fs::File>>, source: &Path) -> Result<DynamicImage> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| Error::invalid(source.display(), format!("cannot decode image ({e})")))
}

/// A JPEG decoded at the smallest of 1/8, 1/4, 1/2 (or full) size that is still at least
/// `width` wide: the IDCT scales it, as libjpeg does for vipsthumbnail, so a 1939x7464
/// full-page shot is decoded as 485x1866 instead of decoded whole and then shrunk. `None`
/// for what this decoder gives in a form a thumbnail is not made of (CMYK, 16-bit), which
/// is then decoded whole.
fn decode_jpeg_scaled(source: &Path, width: u32) -> Result<Option<DynamicImage>> {
    let bad = |e: jpeg_decoder::Error| Error::invalid(source.display(), format!("cannot decode image ({e})"));
    let file = fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let mut decoder = jpeg_decoder::Decoder::new(BufReader::new(file));
    decoder.read_info().map_err(bad)?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 {
        return Err(Error::invalid(
            source.display(),
            format!(
                "image declares {w}x{h} pixels, over the limit ({MAX_SIDE} a side, {} megapixels)",
                MAX_PIXELS / 1_000_000
            ),
        ));
    }
    let want_h = (u64::from(h) * u64::from(width) / u64::from(w)).clamp(1, u64::from(u16::MAX)) as u16;
    let want_w = width.min(w).min(u32::from(u16::MAX)) as u16;
    let (sw, sh) = decoder.scale(want_w, want_h).map_err(bad)?;
    decoder.set_max_decoding_buffer_size((MAX_PIXELS * 4) as usize);
    let pixels = decoder.decode().map_err(bad)?;
    let format = decoder.info().map(|i| i.pixel_format);
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    Ok(match format {
        Some(jpeg_decoder::PixelFormat::RGB24) => {
            RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8)
        }
        Some(jpeg_decoder::PixelFormat::L8) => {
            GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::sniff::{inspect, test_png as png, ImageKind};
    use super::*;

    #[test]
    fn thumbnail_of_a_tall_full_page_shot_is_cached_and_leaves_the_original() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::in_data_dir(tmp.path().to_path_buf());
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

    #[test]
    fn a_wide_jpeg_is_decoded_scaled_down_and_keeps_its_picture() {
        // Red above, blue below: 1600x400, so 1/8 (200 wide) is the smallest scale that is
        // still 200 wide.
        let img = RgbImage::from_fn(1600, 400, |_, y| {
            if y < 200 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("wide.jpg");
        img.save(&path).unwrap();

        let scaled = decode_jpeg_scaled(&path, 200).unwrap().expect("an RGB JPEG");
        assert_eq!((scaled.width(), scaled.height()), (200, 50), "decoded at 1/8");
        let thumb = image::load_from_memory(&make_thumbnail(&path, 200).unwrap())
            .unwrap()
            .into_rgb8();
        assert_eq!(thumb.dimensions(), (200, 50));
        let (top, bottom) = (thumb.get_pixel(100, 10).0, thumb.get_pixel(100, 40).0);
        assert!(top[0] > 180 && top[2] < 60, "top stays red: {top:?}");
        assert!(bottom[2] > 180 && bottom[0] < 60, "bottom stays blue: {bottom:?}");

        // Not a JPEG inside: refused with the file named.
        let fake = tmp.path().join("fake.jpg");
        fs::write(&fake, b"\xff\xd8\xff\xe0 not really").unwrap();
        let err = make_thumbnail(&fake, 200).unwrap_err();
        assert!(err.to_string().contains("fake.jpg"), "{err}");
    }
}
