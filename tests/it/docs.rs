//! The documentation's links stay inside the repository and resolve: every relative link of
//! README.md, docs/*.md, deploy/README.md and fuzz/README.md names a file or folder that
//! exists, and every `#anchor` names a heading of its page (GitHub's slugs). All broken links
//! are reported at once, with their page.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages whose links are checked.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    docs.retain(|p| p.extension().is_some_and(|e| e == "md"));
    docs.sort();
    let extra = ["deploy/README.md", "fuzz/README.md"].map(|p| root.join(p));
    let mut pages = vec![root.join("README.md")];
    pages.extend(
        docs.into_iter()
            .chain(extra.into_iter().filter(|p| p.exists())),
    );
    pages
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            let fence = line.trim_start().starts_with("```");
            fenced ^= fence;
            !fence && !fenced
        })
        .collect()
}

/// GitHub's anchors for a page's headings: lowercase, letters, digits, `-` and `_` kept,
/// spaces become `-`, everything else dropped; a repeated heading gets `-1`, `-2`, ….
fn anchors(text: &str) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    for line in prose(text) {
        let level = line.bytes().take_while(|&b| b == b'#').count();
        if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
            continue;
        }
        let slug: String = line[level..]
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = counts.entry(slug.clone()).or_default();
        anchors.push(if *n == 0 { slug } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

/// Every `[text](target)` target of a page, outside code blocks and inline code spans.
fn links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose(text) {
        let line: String = line.split('`').step_by(2).collect();
        for (at, _) in line.match_indices("](") {
            let target = line[at + 2..].split([')', ' ']).next().unwrap_or("");
            targets.push(target.trim_matches(['<', '>']).to_string());
        }
    }
    targets
}

#[test]
fn every_relative_link_resolves() {
    let root = root();
    let mut broken = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(&page).expect("a page is readable");
        let shown = page.strip_prefix(&root).unwrap_or(&page).display();
        for target in links(&text) {
            let external = ["http://", "https://", "mailto:"];
            if external.iter().any(|p| target.starts_with(p)) {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = match file {
                "" => page.clone(),
                _ => page.parent().unwrap_or(Path::new(".")).join(file),
            };
            if target.is_empty() || !dest.exists() {
                broken.push(format!("{shown}: ({target}) names no file"));
            } else if !anchor.is_empty() {
                let text = fs::read_to_string(&dest).unwrap_or_default();
                if !anchors(&text).iter().any(|a| a == anchor) {
                    broken.push(format!("{shown}: ({target}) names no heading there"));
                }
            }
        }
    }
    let report = broken.join("\n");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{report}",
        broken.len()
    );
}

#[test]
fn readme_opens_with_the_two_commands() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(readme.starts_with("# doorman\n"), "the title first");
    let first_block = readme.split("```").nth(1).unwrap_or("").lines().skip(1);
    let commands: Vec<&str> = first_block
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .collect();
    assert_eq!(commands, ["cargo run --release -- demo", "cargo test"]);
}

/// The reason ids in the first column of `docs/decisions.md`'s tables under `## Reasons`.
fn documented_reasons() -> std::collections::BTreeSet<String> {
    let text = fs::read_to_string(root().join("docs/decisions.md")).unwrap_or_default();
    let section = text.split("\n## Reasons").nth(1).unwrap_or_default();
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_reason_tables_name_exactly_the_reasons_doorman_gives() {
    let code: std::collections::BTreeSet<String> = doorman::reason::Reason::ALL
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let docs = documented_reasons();
    let undocumented: Vec<_> = code.difference(&docs).collect();
    let unknown: Vec<_> = docs.difference(&code).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/decisions.md is missing {undocumented:?} and lists unknown {unknown:?}"
    );
}

#[test]
fn the_metrics_table_names_every_decision_label() {
    let text = fs::read_to_string(root().join("docs/operations.md")).unwrap_or_default();
    let missing: Vec<_> = doorman::decision::Decision::LABELS
        .iter()
        .filter(|label| !text.contains(&format!("`{label}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operations.md does not name the decision labels {missing:?}"
    );
}
