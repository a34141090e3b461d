//! Every environment variable the configuration code reads is documented in the README's
//! configuration table and listed in `.env.sample`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Names passed to the env helpers (`var`, `required_var`, `var_parsed`) in `dir`.
fn variables_read(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            names.extend(variables_read(&path));
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for helper in ["required_var(", "var_parsed(", "var("] {
            for (i, _) in text.match_indices(helper) {
                let rest = text[i + helper.len()..].trim_start();
                if let Some(quoted) = rest.strip_prefix('"') {
                    let name: String = quoted.chars().take_while(|c| *c != '"').collect();
                    if name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    {
                        names.insert(name);
                    }
                }
            }
        }
    }
    names
}

#[test]
fn every_variable_read_is_in_the_readme_table_and_the_env_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut read = variables_read(&root.join("src/config"));
    read.extend(variables_read(&root.join("src/roles")));
    read.remove("HOSTNAME"); // the system's, the fallback for WORKER_NAME
    assert!(read.len() > 30, "found only {read:?}");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let sample = fs::read_to_string(root.join(".env.sample")).unwrap();
    for name in &read {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} is missing from the README's configuration table"
        );
        assert!(
            sample.lines().any(|l| l
                .trim_start_matches(['#', ' '])
                .starts_with(&format!("{name}="))),
            "{name} is missing from .env.sample"
        );
    }
}
