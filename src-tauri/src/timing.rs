//! Start-up and IPC timing, for the benchmark (`veritas-bench`). With `VERITAS_VIEWER_TIMING=1`
//! the UI reports when the audit list and its facet sidebar are on screen and how long its list calls took, and the
//! app prints each report as one line on stdout (`veritas-timing {json}`); the benchmark
//! measures start-up from its own clock at the moment that line arrives. Off otherwise.

use std::io::Write;

use serde::Serialize;
use veritas_core::{Error, Result};

/// The environment variable that turns timing reports on.
pub const TIMING_ENV: &str = "VERITAS_VIEWER_TIMING";

/// What the UI may report.
const NAMES: &[&str] = &["list_painted", "facets_painted", "ipc_list"];
const MAX_SAMPLES: usize = 10_000;

/// Whether this process was started with timing reports on.
pub fn enabled() -> bool {
    std::env::var(TIMING_ENV).is_ok_and(|v| v == "1")
}

/// One report, as printed.
#[derive(Debug, Serialize)]
pub struct TimingReport<'a> {
    pub name: &'a str,
    pub samples_ms: &'a [f64],
}

/// The line printed for a report from the webview, which is checked first: a known name and
/// at most 10,000 finite, non-negative samples.
pub fn report_line(name: &str, samples_ms: &[f64]) -> Result<String> {
    if !NAMES.contains(&name) {
        return Err(Error::invalid(
            format!("timing report {name:?}"),
            format!("not one of {}", NAMES.join(", ")),
        ));
    }
    if samples_ms.len() > MAX_SAMPLES || samples_ms.iter().any(|s| !s.is_finite() || *s < 0.0) {
        return Err(Error::invalid(
            format!("timing report {name:?}"),
            format!("samples must be at most {MAX_SAMPLES} finite, non-negative numbers"),
        ));
    }
    let json = serde_json::to_string(&TimingReport { name, samples_ms })?;
    Ok(format!("veritas-timing {json}"))
}

/// Print a report from the webview, if timing is on.
pub fn report(name: &str, samples_ms: &[f64]) -> Result<()> {
    if !enabled() {
        return Err(Error::invalid(
            "timing report",
            format!("the app was not started with {TIMING_ENV}=1"),
        ));
    }
    let line = report_line(name, samples_ms)?;
    let mut out = std::io::stdout().lock();
    // The benchmark reads this line the moment it is written.
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io_of("writing a timing report to standard output", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_report_becomes_one_json_line() {
        assert_eq!(
            report_line("ipc_list", &[1.5, 0.25]).unwrap(),
            r#"veritas-timing {"name":"ipc_list","samples_ms":[1.5,0.25]}"#
        );
    }

    #[test]
    fn unknown_names_and_bad_samples_are_refused() {
        assert!(report_line("rm -rf", &[1.0]).is_err());
        assert!(report_line("ipc_list", &[f64::NAN]).is_err());
        assert!(report_line("ipc_list", &[-1.0]).is_err());
        assert!(report_line("ipc_list", &vec![1.0; MAX_SAMPLES + 1]).is_err());
    }
}
