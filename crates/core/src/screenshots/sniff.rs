//! What image bytes are: the format sniffed from the bytes (a `.png` name proves nothing)
//! and the dimensions read from the header, within limits, before a pixel is decoded.

use std::fs;
use std::io::{BufReader, Cursor};
use std::path::Path;

use image::{ImageFormat, ImageReader};
use serde::Serialize;

use crate::error::{Error, Result};

/// The widest or tallest screenshot accepted (full-page shots are tall, but not this tall).
pub const MAX_SIDE: u32 = 30_000;
/// The most pixels accepted: about 400 MB decoded as RGBA.
pub const MAX_PIXELS: u64 = 100_000_000;
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
    pub(super) fn from_format(f: ImageFormat) -> Option<ImageKind> {
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

pub(super) fn to_image_format(k: ImageKind) -> ImageFormat {
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

/// A small PNG of one colour, for tests.
#[cfg(test)]
pub(crate) fn test_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        test_png(w, h)
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

    /// The start of each format the sniffer knows, for inputs that get past the first look.
    fn magic() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::sample::select(vec![
            b"\x89PNG\r\n\x1a\n".to_vec(),
            b"\xff\xd8\xff".to_vec(),
            b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec(),
            b"GIF89a".to_vec(),
            test_png(3, 2)[..33].to_vec(),
        ])
    }

    proptest::proptest! {
        /// Issue 16's fuzzing: no bytes make the sniffer panic, and what it accepts has
        /// dimensions within the limits.
        #[test]
        fn fuzz_inspect_never_panics(head in magic(), tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), raw in proptest::prelude::any::<bool>()) {
            let bytes = if raw { tail.clone() } else { [head, tail].concat() };
            if let Ok(info) = inspect(&bytes) {
                proptest::prop_assert!(info.width > 0 && info.height > 0);
                proptest::prop_assert!(u64::from(info.width) * u64::from(info.height) <= MAX_PIXELS);
            }
        }
    }
}
