//! The layout rules, checked on the source: no two top-level modules of `src/` import each
//! other (the dependency graph between them has no two-way edge), the queue knows no job
//! payloads, and neither sync direction reaches into the other's submodules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests`.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::<name>` paths in `code`, including those inside `use crate::{a, b::c}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let path: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if !path.is_empty() {
                    found.insert(path);
                }
            }
        } else {
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            found.insert(path.trim_end_matches(':').to_owned());
        }
    }
    found
}

/// For each top-level module, the `crate::` paths its files use.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut by_module: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        by_module
            .entry(module)
            .or_default()
            .extend(crate_paths(&code(&file)));
    }
    by_module
}

fn top(path: &str) -> &str {
    path.split("::").next().unwrap_or(path)
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let imports = imports();
    let edges: BTreeSet<(&str, &str)> = imports
        .iter()
        .flat_map(|(m, paths)| paths.iter().map(move |p| (m.as_str(), top(p))))
        .filter(|(m, t)| m != t)
        .collect();
    let two_way: Vec<_> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(*b, *a)))
        .collect();
    assert!(
        two_way.is_empty(),
        "modules importing each other: {two_way:?}"
    );
    assert!(
        edges.len() > 20,
        "the scan found too few imports to mean anything: {edges:?}"
    );
}

#[test]
fn the_queue_knows_no_job_payloads_and_the_directions_keep_to_public_paths() {
    let imports = imports();
    let queue = &imports["queue"];
    assert!(
        queue.iter().all(|p| top(p) != "jobs"),
        "queue imports jobs: {queue:?}"
    );
    for (module, other) in [("inbound", "outbound"), ("outbound", "inbound")] {
        let reaching: Vec<_> = imports[module]
            .iter()
            .filter(|p| top(p) == other && p.matches("::").count() > 1)
            .collect();
        assert!(
            reaching.is_empty(),
            "{module} reaches into {other}'s submodules: {reaching:?}"
        );
    }
    assert!(
        imports["inbound"].iter().all(|p| top(p) != "outbound"),
        "the inbound sync depends on the outbound push"
    );
}
