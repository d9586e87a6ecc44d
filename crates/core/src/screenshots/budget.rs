//! How much decoded image memory thumbnails and diffs may hold at once. Each decode reserves
//! what its pixels will take before it starts and waits while others hold the rest, so eight
//! thumbnails of accepted 100-megapixel screenshots asked for at once (they took the app to
//! 3.3 GB) are made two at a time; a decode that could never fit is refused, named.

use std::path::Path;
use std::sync::{Condvar, Mutex};

use super::sniff::inspect_file;
use crate::error::{Error, Result};

/// Decoded bytes all decodes together may hold: two of the largest images accepted
/// ([`super::sniff::MAX_PIXELS`] as RGBA is 400 MB) at once, with room to spare.
pub const DECODE_BUDGET: u64 = 1 << 30;

/// Bytes a decoded pixel takes at most (RGBA, 8 bits a channel: what we decode into).
const BYTES_PER_PIXEL: u64 = 4;

static IN_USE: Mutex<u64> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation(u64);

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut used = IN_USE.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.0;
        FREED.notify_all();
    }
}

/// The pixels of the image in `source`, from its header (0 when it cannot be read: the
/// decode that follows fails on it, named).
pub fn pixels_of(source: &Path) -> u64 {
    inspect_file(source).map_or(0, |i| u64::from(i.width) * u64::from(i.height))
}

/// The bytes holding `pixels` decoded takes.
pub fn bytes_for(pixels: u64) -> u64 {
    pixels * BYTES_PER_PIXEL
}

/// Reserve `bytes` for decoding `what`, waiting (a blocking thread's wait) while other
/// decodes hold too much; refused if it exceeds the whole budget.
pub fn reserve(bytes: u64, what: &Path) -> Result<Reservation> {
    if bytes > DECODE_BUDGET {
        return Err(Error::invalid(
            what.display(),
            format!(
                "decoding it would take {} MB, more than the {} MB thumbnails and diffs may use",
                bytes >> 20,
                DECODE_BUDGET >> 20
            ),
        ));
    }
    let mut used = IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    while *used + bytes > DECODE_BUDGET {
        used = FREED.wait(used).unwrap_or_else(|e| e.into_inner());
    }
    *used += bytes;
    Ok(Reservation(bytes))
}

/// Bytes reserved right now.
#[cfg(test)]
fn in_use() -> u64 {
    *IN_USE.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn decodes_wait_while_the_budget_is_held_and_one_too_large_is_refused() {
        let path = Path::new("/data/screenshots/vrts_1/huge.png");
        let e = reserve(DECODE_BUDGET + 1, path).unwrap_err();
        assert!(
            e.to_string().contains("huge.png") && e.to_string().contains("MB"),
            "{e}"
        );

        // Eight decodes of 400 MB at once: never more than the budget held.
        let peak = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let peak = peak.clone();
                std::thread::spawn(move || {
                    let held = reserve(400 << 20, path).unwrap();
                    peak.fetch_max(in_use(), Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    drop(held);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((400 << 20..=DECODE_BUDGET).contains(&peak), "peak {peak}");
    }
}
