//! One command is named in several places that Tauri cannot check against each other: the
//! manifest in `build.rs` (which makes its permission), `generate_handler!` in `lib.rs`,
//! its function in `commands.rs`, the capability that grants it, and the UI's `api.ts`
//! that calls it; and it delegates to the core method of the same name. A command missing
//! from any of them fails at run time in a way no other test names, so this one reads them
//! all and says which place disagrees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Commands that are the shell's own, with no core method of their name, and why.
const SHELL_ONLY: &[(&str, &str)] = &[
    (
        "app_info",
        "what the window shows about itself: version, data folder, timing switch",
    ),
    (
        "reveal_path",
        "opens the system file manager, which the core knows nothing of",
    ),
    (
        "open_technique",
        "opens a MITRE ATT&CK page in the system browser; the core checks the id (mitre_technique_url)",
    ),
    (
        "report_timing",
        "prints the benchmark's timing line from the webview",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `"..."` string between `start` and the next `end` in `text`.
fn quoted_between(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let from = text.find(start).unwrap_or_else(|| panic!("{start:?} not found")) + start.len();
    let to = from
        + text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("{end:?} not found"));
    text[from..to]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The identifiers that follow each `prefix` in `text`.
fn idents_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

fn manifest() -> BTreeSet<String> {
    quoted_between(
        &read(&root().join("build.rs")),
        "const COMMANDS: &[&str] = &[",
        "];",
    )
}

fn handler() -> BTreeSet<String> {
    let lib = read(&root().join("src/lib.rs"));
    let from = lib
        .find("generate_handler![")
        .expect("generate_handler! in lib.rs");
    let to = from + lib[from..].find(']').unwrap();
    idents_after(&lib[from..to], "commands::")
}

/// The `#[tauri::command]` functions of `commands.rs`, each with its body.
fn command_functions() -> Vec<(String, String)> {
    let text = read(&root().join("src/commands.rs"));
    let starts: Vec<usize> = text.match_indices("#[tauri::command").map(|(i, _)| i).collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &at)| {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            let chunk = &text[at..end];
            let name = idents_after(chunk, "pub async fn ")
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("a #[tauri::command] without `pub async fn` at byte {at}"));
            (name, chunk.to_string())
        })
        .collect()
}

fn granted() -> BTreeSet<String> {
    let dir = root().join("capabilities");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = read(&entry.unwrap().path());
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for p in json["permissions"].as_array().expect("permissions") {
            if let Some(cmd) = p.as_str().and_then(|p| p.strip_prefix("allow-")) {
                out.insert(cmd.replace('-', "_"));
            }
        }
    }
    out
}

/// The commands the UI invokes: `call<…>("name"` anywhere under `ui/src/lib`.
fn called_by_ui() -> BTreeSet<String> {
    let dir = root().join("../ui/src/lib");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ts") && !path.to_string_lossy().ends_with(".test.ts") {
            let text = read(&path);
            for (i, _) in text.match_indices("call<") {
                let rest = &text[i..];
                if let Some(q) = rest.find(">(\"") {
                    let name: String = rest[q + 3..].chars().take_while(|c| *c != '"').collect();
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn assert_same(what: &str, got: &BTreeSet<String>, want: &BTreeSet<String>) {
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} disagrees with commands.rs: missing {missing:?}, not a command {extra:?}"
    );
}

#[test]
fn every_command_is_declared_registered_granted_and_called_under_one_name() {
    let commands: BTreeSet<String> = command_functions().into_iter().map(|(n, _)| n).collect();
    assert!(commands.len() >= 10, "found only {commands:?} in commands.rs");
    assert_same(
        "build.rs's COMMANDS (the permission manifest)",
        &manifest(),
        &commands,
    );
    assert_same("lib.rs's generate_handler!", &handler(), &commands);
    assert_same(
        "the capability files' allow-<command> grants",
        &granted(),
        &commands,
    );
    assert_same("ui/src/lib's call<…>(\"<command>\")", &called_by_ui(), &commands);
}

#[test]
fn every_command_delegates_to_the_core_method_of_its_name() {
    for (name, body) in command_functions() {
        // rustfmt may break `store.name(` over lines: compare without whitespace.
        let body: String = body.split_whitespace().collect();
        if let Some((_, why)) = SHELL_ONLY.iter().find(|(n, _)| *n == name) {
            assert!(
                !body.contains(&format!("store.{name}(")),
                "{name} is listed as the shell's own ({why}) but calls store.{name}: take it off the list"
            );
            continue;
        }
        // Directly (what both engines do), or through the local store for what only it does
        // so far: `local(&store, "what")?.name(`.
        let through_local = body.contains("local(&store,")
            && (body.contains(&format!(")?.{name}(")) || body.contains(&format!(")?.{name}_")));
        let delegates = body.contains(&format!("store.{name}("))
            || body.contains(&format!("store.{name}_"))
            || through_local;
        assert!(
            delegates,
            "the command {name} does not call the core's Store::{name}: name the core method as the \
             command (or list the command in SHELL_ONLY with the reason it has no core method)"
        );
    }
}
