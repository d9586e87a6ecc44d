//! The Veritas backend's vocabulary as its users know it: risk levels with the labels and
//! colours of the backend's own web UI, finding severities, audit phases. One table each,
//! here; the UI gets them through the generated bindings (`ui/src/bindings/vocabulary.ts`,
//! written by the app's tests), never from a copy.

use serde::Serialize;

/// A risk level, as stored, and as the backend's UI shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RiskLevel {
    pub value: &'static str,
    pub label: &'static str,
    pub colour: &'static str,
}

/// The backend's risk levels, from most to least trustworthy.
pub const RISK_LEVELS: [RiskLevel; 5] = [
    RiskLevel {
        value: "trusted",
        label: "Trusted",
        colour: "#10B981",
    },
    RiskLevel {
        value: "probably_safe",
        label: "Probably Safe",
        colour: "#06B6D4",
    },
    RiskLevel {
        value: "suspicious",
        label: "Suspicious",
        colour: "#F59E0B",
    },
    RiskLevel {
        value: "high_risk",
        label: "High Risk",
        colour: "#F97316",
    },
    RiskLevel {
        value: "likely_fraudulent",
        label: "Likely Fraudulent",
        colour: "#EF4444",
    },
];

/// Finding severities, least to most severe.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// An audit phase and its label in the backend's UI.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PhaseName {
    pub value: &'static str,
    pub label: &'static str,
}

/// The backend's phases, in the order an audit runs them.
pub const PHASES: [PhaseName; 6] = [
    PhaseName {
        value: "init",
        label: "Initialization",
    },
    PhaseName {
        value: "scout",
        label: "Browser Reconnaissance",
    },
    PhaseName {
        value: "security",
        label: "Security Audit",
    },
    PhaseName {
        value: "vision",
        label: "Visual Intelligence",
    },
    PhaseName {
        value: "graph",
        label: "Intelligence Network",
    },
    PhaseName {
        value: "judge",
        label: "Forensic Judge",
    },
];

/// A weakness id in the one form stored and compared, `CWE-<n>`, from `79`, `"79"`,
/// `"CWE-79"` or `"cwe-79"`; `None` for anything else.
pub fn cwe_id(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let digits = raw
        .strip_prefix("CWE-")
        .or_else(|| raw.strip_prefix("cwe-"))
        .unwrap_or(raw);
    (!digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("CWE-{digits}"))
}

#[cfg(test)]
mod cwe_tests {
    use super::cwe_id;

    #[test]
    fn cwe_ids_have_one_form() {
        for (raw, want) in [
            ("79", Some("CWE-79")),
            (" CWE-1021 ", Some("CWE-1021")),
            ("cwe-7", Some("CWE-7")),
        ] {
            assert_eq!(cwe_id(raw).as_deref(), want, "{raw:?}");
        }
        for bad in ["", "CWE-", "CWE-79x", "1234567", "79; DROP", "T1566"] {
            assert_eq!(cwe_id(bad), None, "{bad:?}");
        }
    }
}
