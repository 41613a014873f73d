//! The library's modules form layers, and a module imports only from the layers below it.
//! ARCHITECTURE.md states the layering; this test reads every `crate::` and top-level `super::`
//! path in `src/` (test modules aside) and fails on any edge that goes sideways or up, so the
//! statement stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import from any earlier layer and from no later one, nor from
/// another module of its own layer.
const LAYERS: &[&[&str]] = &[
    // Leaves: the shared vocabulary and utilities that import nothing from the crate.
    &[
        "types", "secret", "clock", "suggest", "metrics", "calendar", "backoff", "shutdown",
    ],
    &["schedule", "store", "people", "ratelimit"],
    &["shared", "config"],
    &["tasks"],
    // The platform drivers know the wire; render asks them for dialects and limits.
    &["platforms"],
    &["render"],
    &["commands", "export"],
    &["inbound", "state"],
    &["plan"],
    // The command path, then the two ways the daemon is reached.
    &["chat", "init"],
    &["server"],
    &["daemon"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules named after each occurrence of `prefix` (`crate::a::…`,
/// `crate::{a, b::c}`).
fn modules_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Only the top level of the group names modules: `{a, b::{c, d}}` → a, b.
            let mut depth = 0;
            let mut at_item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_item_start = true,
                    c if c.is_whitespace() => {}
                    _ if at_item_start && depth == 0 => {
                        found.insert(ident_at(&group[j..]).to_string());
                        at_item_start = false;
                    }
                    _ => at_item_start = false,
                }
            }
        } else {
            found.insert(ident_at(rest).to_string());
        }
    }
    found
}

/// Every edge between top-level modules: importer → imported.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top_level: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&src).ok())
        .filter_map(|rel| rel.components().next())
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Ok(rel) = file.strip_prefix(&src) else {
            continue;
        };
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let module = parts[0].trim_end_matches(".rs").to_string();
        if module == "main"
            || module == "lib"
            || module == "cli"
            || parts.last().is_some_and(|p| p == "tests.rs")
        {
            continue;
        }
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let code = code(&text);
        // How many `super::` reach the crate root from this file.
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod.rs"));
        let to_root = "super::".repeat(depth);
        let mut named = modules_after(&code, "crate::");
        if depth > 0 {
            named.extend(modules_after(&code, &to_root));
        }
        let entry = edges.entry(module.clone()).or_default();
        entry.extend(
            named
                .into_iter()
                .filter(|m| *m != module && top_level.contains(m)),
        );
    }
    edges
}

#[test]
fn every_library_module_has_a_layer() {
    let missing: Vec<String> = edges()
        .keys()
        .filter(|m| layer_of(m).is_none())
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "add these modules to LAYERS (and to ARCHITECTURE.md's layering): {missing:?}"
    );
}

#[test]
fn no_module_imports_from_its_own_layer_or_one_above_it() {
    let mut wrong = Vec::new();
    for (from, tos) in edges() {
        let Some(from_layer) = layer_of(&from) else {
            continue;
        };
        for to in tos {
            if layer_of(&to).is_none_or(|l| l >= from_layer) {
                wrong.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering (ARCHITECTURE.md, \"Layers\"): {wrong:?}"
    );
}

#[test]
fn the_reader_finds_grouped_and_relative_imports() {
    let code = "use crate::{config::ChannelConfig, types::{Platform, Dialect}};\n\
                fn f() { crate::store::Store::open(); }\nuse super::super::render::x;";
    let named = modules_after(code, "crate::");
    assert_eq!(
        named,
        BTreeSet::from(["config".into(), "store".into(), "types".into()])
    );
    assert_eq!(
        modules_after(code, "super::super::"),
        BTreeSet::from(["render".to_string()])
    );
}

/// Every library file (path relative to `src/`) that `looked_at` takes and whose code
/// (comments and unit tests aside) contains one of `needles`, with the needle found.
fn files_containing(looked_at: impl Fn(&str) -> bool, needles: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !looked_at(&rel) || rel.ends_with("tests.rs") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let code = code(&text);
        for needle in needles {
            if code.contains(needle) {
                found.push(format!("{rel}: {needle}"));
            }
        }
    }
    found
}

#[test]
fn only_the_store_speaks_sql() {
    let found = files_containing(|f| !f.starts_with("store/"), &["sqlx::"]);
    assert!(found.is_empty(), "SQL outside src/store/: {found:?}");
}

#[test]
fn render_never_builds_a_request_body() {
    let found = files_containing(|f| f.starts_with("render/"), &["request_body", "reqwest::"]);
    assert!(found.is_empty(), "render knows request bodies: {found:?}");
}

#[test]
fn the_wall_clock_is_read_only_through_clock() {
    // `Instant::now()` (monotonic, for timeouts and pacing) is not the wall clock and may be
    // read anywhere; the date and time a slot, a command or a lease is judged by may not.
    let found = files_containing(
        |f| f != "clock.rs",
        &["Utc::now()", "Local::now()", "SystemTime::now()"],
    );
    assert!(
        found.is_empty(),
        "wall clock read around clock::Clock: {found:?}"
    );
}

#[test]
fn the_scheduler_never_calls_the_network() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/daemon/scheduler.rs");
    let text = fs::read_to_string(src).unwrap_or_default();
    let code = code(&text);
    for needle in ["reqwest", "deliver(", "platforms::"] {
        assert!(!code.contains(needle), "the scheduler uses {needle}");
    }
}

/// Adding a platform is its line in `for_each_platform!` and its own files (ARCHITECTURE.md,
/// "Adding a platform"): the code that holds something per platform is built from that list.
/// A file naming every variant of `Platform` or `PlatformSettings` is a list written by hand
/// again, which a new platform would have to be added to.
#[test]
fn the_platforms_are_listed_once() {
    let variants: Vec<String> = weekbell::types::Platform::ALL
        .iter()
        .map(|p| format!("{p:?}"))
        .collect();
    let mut found = Vec::new();
    for enum_name in ["Platform::", "PlatformSettings::"] {
        let needles: Vec<String> = variants.iter().map(|v| format!("{enum_name}{v}")).collect();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let mut named: BTreeMap<String, usize> = BTreeMap::new();
        for hit in files_containing(|_| true, &needles) {
            let file = hit.split(": ").next().unwrap_or_default().to_string();
            *named.entry(file).or_default() += 1;
        }
        found.extend(
            named
                .into_iter()
                .filter(|(_, n)| *n == variants.len())
                .map(|(file, _)| format!("{file} ({enum_name}…)")),
        );
    }
    assert!(
        found.is_empty(),
        "platforms listed by hand outside types::for_each_platform: {found:?}"
    );
}
