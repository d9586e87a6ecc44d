//! Our temporary files: a write goes to `.tmp-<pid>-<random>@<host>` beside its target and
//! is renamed into place. A process killed in between leaves the temporary file behind;
//! `doctor --repair` removes it once the process that wrote it is gone (named in the file,
//! so "gone" needs no guess from the file's age), or after an hour for a file of another
//! machine (a folder shared over the network) or of an older version without the name.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The start of every temporary file name of ours.
pub(crate) const PREFIX: &str = ".tmp-";

/// How old a temporary file whose writer cannot be asked after must be to count as left
/// behind: no write of ours takes that long.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The prefix and suffix of this process's temporary files, for `tempfile::Builder`.
pub(crate) fn name_parts() -> (String, &'static str) {
    (format!("{PREFIX}{}-", std::process::id()), host_suffix())
}

/// `@<host>`, the host name reduced to characters safe in a file name.
fn host_suffix() -> &'static str {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    SUFFIX.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host: String = host
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(64)
            .collect();
        format!("@{host}")
    })
}

/// Whether `name` is one of our temporary files.
pub(crate) fn is_ours(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// Whether our temporary file `name`, last modified at `modified`, was left behind: its
/// writer on this machine is no longer running, or it is older than [`STALE_AFTER`].
pub(crate) fn is_left_behind(name: &str, modified: SystemTime, now: SystemTime) -> bool {
    let old = now.duration_since(modified).is_ok_and(|age| age > STALE_AFTER);
    old || writer(name).is_some_and(|pid| !is_running(pid))
}

/// The process of this machine that wrote temporary file `name`, if the name says.
fn writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let (_, host) = rest.split_once('@')?;
    (format!("@{host}") == host_suffix() && host_suffix().len() > 1)
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether process `pid` of this machine is running (asked of `/proc`; where there is no
/// `/proc`, every process is taken to be running, and only age counts).
fn is_running(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_a_running_writer_stays_and_one_of_a_gone_or_old_writer_is_left_behind() {
        let now = SystemTime::now();
        let (prefix, suffix) = name_parts();
        let mine = format!("{prefix}Ab12Cd{suffix}");
        assert!(is_ours(&mine));
        assert!(!is_left_behind(&mine, now, now), "this process is running");
        assert!(is_left_behind(&mine, now - STALE_AFTER * 2, now), "too old");

        // A process that has ended: a child, waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let theirs = format!("{PREFIX}{gone}-Xy34Zw{suffix}");
        assert!(is_left_behind(&theirs, now, now), "{theirs}");

        // Another machine's, or a name without a writer: only age counts.
        let elsewhere = format!("{PREFIX}{gone}-Xy34Zw@another-host");
        assert!(!is_left_behind(&elsewhere, now, now));
        assert!(!is_left_behind(".tmp-Xy34Zw", now, now));
        assert!(is_left_behind(".tmp-Xy34Zw", now - STALE_AFTER * 2, now));
        assert!(!is_ours("shot.png"));
    }
}
