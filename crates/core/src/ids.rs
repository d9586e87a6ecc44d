//! Identifiers that come from outside: audit ids and project names as their own checked
//! types ([`AuditId`], [`ProjectName`]), made where untrusted text enters (CLI arguments,
//! IPC, ingest, rows of other programs) and trusted everywhere after; and the file names of
//! recorded paths. They end up in SQL parameters and in file-system paths.

use crate::error::{Error, Result};

/// The longest identifier accepted. Backend ids are `vrts_` + 8 hex; producers may differ.
const MAX_ID_LEN: usize = 64;

/// The most characters of a producer's value quoted back in a message: enough to
/// recognise it, never the whole of a hostile one.
const QUOTE_CHARS: usize = 64;

/// `s`, or its first 64 characters and an ellipsis: how messages quote untrusted text.
pub fn quote_prefix(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => std::borrow::Cow::Borrowed(s),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..end])),
    }
}

/// True if `s` is a plain identifier: 1-64 ASCII letters, digits, `_` or `-`.
/// Such a string is safe as one path component and cannot name `.` or `..`.
pub fn is_plain_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `s` is a plain file name: a plain identifier's characters and dots, not
/// starting with a dot and without `..` (so never a path, a hidden file or a parent).
pub fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && !s.starts_with('.')
        && !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Declares a checked identifier type: a plain identifier (see [`is_plain_identifier`])
/// behind its own name, so that a value of it is known to be checked and is never checked
/// again. Both kinds follow the same rule; the macro keeps the two types' code from being
/// two copies of one.
macro_rules! checked_identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Check `s`; the error names it (quoted to 64 characters at most).
            pub fn parse(s: &str) -> Result<$name> {
                if is_plain_identifier(s) {
                    Ok($name(s.to_string()))
                } else {
                    Err(Error::invalid(
                        format!(concat!($what, " {:?}"), quote_prefix(s)),
                        "not a plain identifier (1-64 letters, digits, '_' or '-')",
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<$name> {
                $name::parse(s)
            }
        }
    };
}

checked_identifier!(
    /// An audit id, checked: safe as one path component and as a key.
    AuditId,
    "audit id"
);

checked_identifier!(
    /// A project name, checked: every audit belongs to one, every query is scoped to one.
    ProjectName,
    "project name"
);

impl Default for ProjectName {
    /// The project of audits nobody put anywhere else: `default`.
    fn default() -> ProjectName {
        ProjectName("default".to_string())
    }
}

/// The last component of a recorded path, whichever machine wrote it: Windows paths
/// (`C:\data\screenshots\vrts_1\a.png`) and POSIX paths both end in the file name. Returns
/// `None` when the name could climb or hide (`..`, `.`, empty, NUL, a drive prefix).
pub fn file_name_of_recorded_path(recorded: &str) -> Option<&str> {
    let name = recorded.rsplit(['/', '\\']).next()?;
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['\0', ':']);
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_take_an_extension_but_never_a_path_or_a_hidden_name() {
        for good in ["20260223_103640_3_a1b2.png", "shot.jpeg", "t0"] {
            assert!(is_plain_file_name(good), "{good}");
        }
        for bad in [
            "", ".hidden", "..", "a..b", "../x.png", "a/b.png", "a\\b.png", "a b.png", "x.png\0",
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_accept_backend_ids_and_refuse_path_tricks() {
        assert!(is_plain_identifier("vrts_1a2b3c4d"));
        for bad in [
            "",
            "../x",
            "a/b",
            "a\\b",
            ".",
            "..",
            "a b",
            "a\0b",
            &"x".repeat(65),
        ] {
            assert!(!is_plain_identifier(bad), "{bad:?} must be refused");
        }
    }

    #[test]
    fn recorded_paths_from_any_machine_yield_their_file_name() {
        assert_eq!(
            file_name_of_recorded_path(r"C:\Users\hp\veritas\data\screenshots\vrts_1\1_0_ab.png"),
            Some("1_0_ab.png")
        );
        assert_eq!(
            file_name_of_recorded_path("/srv/data/s/vrts_1/x.jpg"),
            Some("x.jpg")
        );
        assert_eq!(file_name_of_recorded_path("x.jpg"), Some("x.jpg"));
        for bad in ["", "/a/..", "/a/.", "C:", "dir/", "a/.hidden"] {
            assert_eq!(file_name_of_recorded_path(bad), None, "{bad:?}");
        }
    }
}
