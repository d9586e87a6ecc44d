//! The demo's screenshots: page-like pictures rendered and encoded for real (PNG and JPEG,
//! viewport-sized and 1939x7464 full-page), so decoding and thumbnails are exercised.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

use super::catalogue::SITES;
use crate::error::{Error, Result};

/// A page-like picture: header, navigation, hero, a grid of cards, a footer; optionally a
/// red urgency banner. Real pixels, so decoding and thumbnails are exercised for real.
fn render_page(width: u32, height: u32, accent: [u8; 3], urgent: bool) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, Rgb([248, 250, 252]));
    // Whole rows are copied at once: per-pixel writes are slow in debug builds.
    let mut rect = |x: u32, y: u32, w: u32, h: u32, c: [u8; 3]| {
        let w = w.min(width.saturating_sub(x)) as usize;
        let row: Vec<u8> = c.repeat(w);
        let buf: &mut [u8] = &mut img;
        for yy in y..(y + h).min(height) {
            let start = (yy as usize * width as usize + x as usize) * 3;
            buf[start..start + row.len()].copy_from_slice(&row);
        }
    };
    let shade = |c: [u8; 3], f: f32| c.map(|v| (f32::from(v) * f + 255.0 * (1.0 - f)) as u8);
    rect(0, 0, width, 72, accent);
    for i in 0..5 {
        rect(width / 2 + i * 110, 26, 80, 20, shade(accent, 0.35));
    }
    rect(0, 72, width, 340, shade(accent, 0.15));
    rect(80, 150, width / 2, 36, [30, 41, 59]);
    rect(80, 210, width / 3, 18, [100, 116, 139]);
    rect(80, 290, 180, 48, accent);
    let mut y = 460;
    let card_w = (width.saturating_sub(160 + 3 * 40)) / 4;
    while y + 300 < height.saturating_sub(200) {
        for col in 0..4 {
            let x = 80 + col * (card_w + 40);
            rect(x, y, card_w, 260, [255, 255, 255]);
            rect(x, y, card_w, 150, shade(accent, 0.25 + 0.1 * col as f32));
            rect(x + 16, y + 170, card_w.saturating_sub(32), 14, [51, 65, 85]);
            rect(x + 16, y + 200, card_w / 2, 12, [148, 163, 184]);
        }
        y += 320;
    }
    if urgent {
        rect(0, 412, width, 44, [239, 68, 68]);
        rect(width / 2 - 120, 424, 240, 20, [254, 226, 226]);
    }
    rect(0, height.saturating_sub(160), width, 160, [30, 41, 59]);
    img
}

fn encode(img: &RgbImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .map_err(|e| Error::encoding("a demo image", e))?;
    Ok(out.into_inner())
}

/// A site's viewport PNG, viewport JPEG and (for every third site) full-page JPEG.
pub(super) type SitePictures = (Vec<u8>, Vec<u8>, Vec<u8>);

/// The pictures of `site` in its audits' `round` (0 the newest): the urgency banner is new
/// since the earlier rounds, so comparing a site's two audits shows a change.
pub(super) fn site_pictures(site: usize, round: usize) -> Result<SitePictures> {
    let accent = SITES[site].2;
    let banner = round == 0;
    Ok((
        encode(&render_page(1280, 800, accent, false), ImageFormat::Png)?,
        encode(
            &render_page(1280, 800, accent, banner && site % 2 == 0),
            ImageFormat::Jpeg,
        )?,
        if site % 3 == 0 {
            encode(&render_page(1939, 7464, accent, banner), ImageFormat::Jpeg)?
        } else {
            Vec::new()
        },
    ))
}
