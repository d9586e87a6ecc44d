//! The screenshot directory: `screenshots/<audit_id>/<timestamp>_<index>_<8 hex>.<ext>`.
//!
//! Bytes are checked before anything is written: the format is sniffed from the bytes (a
//! `.png` name proves nothing), and the dimensions are read from the header, so a tiny file
//! declaring 20000x20000 pixels is refused before a pixel is decoded. Files are written to a
//! temporary file, fsynced and renamed into place. Paths are built from a checked audit id
//! and a checked file name only, and resolved paths are confirmed (after following links)
//! to lie inside the directory, so nothing outside it is ever read or served.

use std::fs;
use std::io::{BufReader, Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use image::{ImageFormat, ImageReader, Limits};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids;

/// The widest or tallest screenshot accepted (full-page shots are tall, but not this tall).
pub const MAX_SIDE: u32 = 30_000;
/// The most pixels accepted: about 400 MB decoded as RGBA.
pub const MAX_PIXELS: u64 = 100_000_000;
/// Thumbnail widths accepted.
pub const THUMB_WIDTHS: std::ops::RangeInclusive<u32> = 16..=2048;

/// What the bytes of an image say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    pub format: ImageKind,
    pub width: u32,
    pub height: u32,
}

/// The image formats a webview shows and the store accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageKind {
    fn from_format(f: ImageFormat) -> Option<ImageKind> {
        match f {
            ImageFormat::Png => Some(ImageKind::Png),
            ImageFormat::Jpeg => Some(ImageKind::Jpeg),
            ImageFormat::WebP => Some(ImageKind::Webp),
            ImageFormat::Gif => Some(ImageKind::Gif),
            _ => None,
        }
    }

    /// Name and file extension (`png`, `jpeg` is written `jpg`).
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpeg",
            ImageKind::Webp => "webp",
            ImageKind::Gif => "gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            other => other.name(),
        }
    }

    /// The MIME type to serve the bytes with.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }
}

/// Decode base64 image data as producers send it: standard alphabet, padded or not, line
/// breaks allowed, optionally as a `data:image/...;base64,` URL.
pub fn decode_base64(data: &str) -> Result<Vec<u8>> {
    let body = match data.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, b)| b).unwrap_or(""),
        None => data,
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(compact.as_bytes())
        .map_err(|e| Error::invalid("screenshot data", format!("not valid base64 ({e})")))
}

/// Sniff the format and read the dimensions from the header, refusing what is not an
/// image the app can show or whose dimensions are absurd. Decodes no pixels.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo> {
    let format = image::guess_format(bytes)
        .ok()
        .and_then(ImageKind::from_format)
        .ok_or_else(|| Error::invalid("screenshot data", "not a PNG, JPEG, WebP or GIF image"))?;
    let reader = ImageReader::with_format(Cursor::new(bytes), to_image_format(format));
    let (width, height) = reader.into_dimensions().map_err(|e| {
        Error::invalid(
            "screenshot data",
            format!("unreadable {} header ({e})", format.name()),
        )
    })?;
    check_dimensions(width, height)?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

fn to_image_format(k: ImageKind) -> ImageFormat {
    match k {
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Webp => ImageFormat::WebP,
        ImageKind::Gif => ImageFormat::Gif,
    }
}

fn check_dimensions(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::invalid(
            "screenshot data",
            format!("image is {width}x{height} pixels"),
        ));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Error::invalid(
            "screenshot data",
            format!(
                "image declares {width}x{height} pixels, over the limit ({MAX_SIDE} a side, {} megapixels)",
                MAX_PIXELS / 1_000_000
            ),
        ));
    }
    Ok(())
}

/// Read format and dimensions from a file's header (for files written by other programs).
pub fn inspect_file(path: &Path) -> Option<ImageInfo> {
    let file = fs::File::open(path).ok()?;
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?;
    let format = reader.format().and_then(ImageKind::from_format)?;
    let (width, height) = reader.into_dimensions().ok()?;
    Some(ImageInfo {
        format,
        width,
        height,
    })
}

/// A stored screenshot file.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFile {
    pub path: PathBuf,
    pub info: ImageInfo,
    pub size: u64,
}

/// The screenshot directory of a data directory.
#[derive(Debug, Clone)]
pub struct ScreenshotDir {
    root: PathBuf,
    thumbs: PathBuf,
}

impl ScreenshotDir {
    /// `root` holds the audits' folders; `thumbs` caches thumbnails.
    pub fn new(root: PathBuf, thumbs: PathBuf) -> ScreenshotDir {
        ScreenshotDir { root, thumbs }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one audit (checked id; not created).
    pub fn audit_dir(&self, audit_id: &str) -> Result<PathBuf> {
        Ok(self.root.join(ids::audit_id(audit_id)?))
    }

    /// Check `bytes` and store them as screenshot `index` of `audit_id`.
    pub fn save(&self, audit_id: &str, index: i64, bytes: &[u8]) -> Result<SavedFile> {
        let info = inspect(bytes)?;
        let dir = self.audit_dir(audit_id)?;
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let name = format!(
            "{}_{}_{:08x}.{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
            index,
            fastrand::u32(..),
            info.format.extension()
        );
        let path = dir.join(name);
        write_atomically(&dir, &path, bytes)?;
        Ok(SavedFile {
            path,
            info,
            size: bytes.len() as u64,
        })
    }

    /// Where the file of a screenshot row is in this directory, if it is there: by audit id
    /// and the recorded path's file name, whichever machine recorded it.
    pub fn resolve(&self, audit_id: &str, recorded_path: &str) -> Option<PathBuf> {
        let name = ids::file_name_of_recorded_path(recorded_path)?;
        let candidate = self.audit_dir(audit_id).ok()?.join(name);
        self.confine(&candidate)
    }

    /// `path` after following links, if it is a file inside the screenshot directory.
    fn confine(&self, path: &Path) -> Option<PathBuf> {
        let real = fs::canonicalize(path).ok()?;
        let root = fs::canonicalize(&self.root).ok()?;
        // Path::starts_with compares whole components: /data/screenshots-evil is not inside.
        (real.starts_with(&root) && real.is_file()).then_some(real)
    }

    /// Remove an audit's files and cached thumbnails.
    pub fn remove_audit(&self, audit_id: &str) -> Result<()> {
        let id = ids::audit_id(audit_id)?;
        for dir in [self.root.join(id), self.thumbs.join(id)] {
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
        Ok(())
    }

    /// A JPEG thumbnail `width` pixels wide of the stored file `source` (as returned by
    /// [`ScreenshotDir::resolve`]), cached on disk; the original is never modified. An
    /// image narrower than `width` keeps its size.
    pub fn thumbnail(&self, audit_id: &str, source: &Path, width: u32) -> Result<PathBuf> {
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
        let dir = self.thumbs.join(ids::audit_id(audit_id)?);
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

/// Write to a temporary file beside `path`, fsync it, rename it into place, fsync the
/// folder: a crash leaves either no file or the whole file, never a torn one.
pub(crate) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    // Make the rename itself durable (a no-op where folders cannot be opened, e.g. Windows).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn sniffs_format_and_dimensions_from_bytes() {
        let info = inspect(&png(3, 5)).unwrap();
        assert_eq!(
            info,
            ImageInfo {
                format: ImageKind::Png,
                width: 3,
                height: 5
            }
        );
    }

    #[test]
    fn refuses_bytes_that_are_no_image() {
        let err = inspect(b"<html>not an image</html>").unwrap_err();
        assert!(err.message.contains("not a PNG"), "{}", err.message);
    }

    #[test]
    fn base64_in_the_forms_producers_send() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("data:image/png;base64,aG\nk=").unwrap(), b"hi");
        assert!(decode_base64("***").unwrap_err().message.contains("base64"));
    }

    #[test]
    fn saves_atomically_resolves_by_name_and_stays_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::new(tmp.path().join("screenshots"), tmp.path().join("thumbs"));
        let saved = dir.save("vrts_00000001", 2, &png(4, 4)).unwrap();
        let name = saved.path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.contains("_2_") && name.ends_with(".png"), "{name}");
        let windows = format!(r"C:\Users\hp\data\screenshots\vrts_00000001\{name}");
        assert_eq!(
            dir.resolve("vrts_00000001", &windows),
            Some(fs::canonicalize(&saved.path).unwrap())
        );
        assert_eq!(dir.resolve("vrts_00000001", "../../etc/passwd"), None);
        assert_eq!(dir.resolve("../x", &name), None);
        assert!(dir.save("../escape", 0, &png(1, 1)).is_err());
        let leftovers: Vec<_> = fs::read_dir(saved.path.parent().unwrap())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_directory_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::new(tmp.path().join("screenshots"), tmp.path().join("thumbs"));
        fs::create_dir_all(tmp.path().join("screenshots/vrts_1")).unwrap();
        fs::write(tmp.path().join("secret.png"), png(1, 1)).unwrap();
        std::os::unix::fs::symlink(
            tmp.path().join("secret.png"),
            tmp.path().join("screenshots/vrts_1/a.png"),
        )
        .unwrap();
        assert_eq!(dir.resolve("vrts_1", "a.png"), None);
    }

    #[test]
    fn thumbnail_of_a_tall_full_page_shot_is_cached_and_leaves_the_original() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::new(tmp.path().join("screenshots"), tmp.path().join("thumbs"));
        let original = png(1939, 7464);
        let saved = dir.save("vrts_1", 0, &original).unwrap();
        let thumb = dir.thumbnail("vrts_1", &saved.path, 400).unwrap();
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
        let again = dir.thumbnail("vrts_1", &saved.path, 400).unwrap();
        assert_eq!(again, thumb);
        assert!(dir.thumbnail("vrts_1", &saved.path, 5).is_err());
        assert!(dir.thumbnail("vrts_1", Path::new("/etc/hostname"), 100).is_err());
    }
}
