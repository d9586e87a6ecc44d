//! The screenshot directory: `screenshots/<audit_id>/<timestamp>_<index>_<8 hex>.<ext>`.
//!
//! Bytes are checked before anything is written: the format is sniffed from the bytes (a
//! `.png` name proves nothing), and the dimensions are read from the header, so a tiny file
//! declaring 20000x20000 pixels is refused before a pixel is decoded. Files are written to a
//! temporary file, fsynced and renamed into place. Paths are built from a checked audit id
//! and a checked file name only, and resolved paths are confirmed (after following links)
//! to lie inside the directory, so nothing outside it is ever read or served.
//!
//! - [`sniff`]: what bytes are (format, dimensions, limits);
//! - [`dir`]: the folder, saving and resolving files;
//! - [`thumbnail`]: cached thumbnails;
//! - [`budget`]: the decoded memory thumbnails and diffs may hold at once;
//! - [`diff`]: the difference of two screenshots, cached like thumbnails.

mod budget;
mod diff;
mod dir;
mod sniff;
mod thumbnail;

pub use self::diff::{diff_images, DiffSummary, CHANGE_THRESHOLD};
pub(crate) use self::dir::write_atomically;
pub use self::dir::ScreenshotDir;
pub use self::sniff::{inspect, inspect_file, ImageInfo, ImageKind};
pub use self::thumbnail::make_thumbnail;
