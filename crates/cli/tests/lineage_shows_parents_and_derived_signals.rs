//! `lineage ID` shows a signal's parents, their parents (ancestors), and the signals naming it
//! as a parent, transitively (descendants): as JSON with every record's columns, or as two
//! indented trees; a parent id missing from the ledger is shown as such, a signal reached twice
//! is expanded once, and an unknown id is one error line.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use serde_json::Value;

fn line(id: &str, parents: &[&str], minute: u32) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        r#"{{"signal_id":"{id}","source_module":"fusion","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-03-02T10:{minute:02}:00Z","parent_signal_ids":[{}]}}"#,
        parents.join(",")
    )
}

/// root → a, b; a, b → both (a diamond); a names "missing" too.
fn ledger(tmp: &std::path::Path) -> std::path::PathBuf {
    let dir = tmp.join("l");
    init_small(&dir);
    let input = [
        line("root", &[], 0),
        line("a", &["root", "missing"], 1),
        line("b", &["root"], 2),
        line("both", &["a", "b"], 3),
    ]
    .join("\n");
    on_with_input(&dir, &["ingest"], input.as_bytes()).ok();
    dir
}

fn ids(nodes: &Value) -> Vec<&str> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["signal_id"].as_str().unwrap())
        .collect()
}

#[test]
fn json_holds_both_trees_with_full_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let out = on(&dir, &["lineage", "both", "--format", "json"]).json();
    assert_eq!(out["signal"]["signal_id"], "both");
    assert_eq!(out["signal"]["seq"], 3);
    let parents = &out["ancestors"]["nodes"];
    assert_eq!(ids(parents), ["a", "b"]);
    assert_eq!(
        parents[0]["record"]["seq"], 1,
        "records carry the column names"
    );
    assert_eq!(ids(&parents[0]["links"]), ["root", "missing"]);
    assert_eq!(parents[0]["links"][1]["found"], false);
    assert!(parents[0]["links"][1]["record"].is_null());
    // b's parent root was expanded under a already.
    assert_eq!(parents[1]["links"][0]["expanded_above"], true);
    assert_eq!(out["ancestors"]["node_count"], 5);
    assert_eq!(out["descendants"]["node_count"], 0);

    let out = on(&dir, &["lineage", "root", "--format", "json"]).json();
    let children = &out["descendants"]["nodes"];
    assert_eq!(ids(children), ["a", "b"]);
    assert_eq!(ids(&children[0]["links"]), ["both"]);
    assert_eq!(children[1]["links"][0]["expanded_above"], true);
    assert_eq!(out["ancestors"]["nodes"], serde_json::json!([]));
}

#[test]
fn the_tree_format_indents_each_level_and_depth_cuts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let out = on(&dir, &["lineage", "both", "--format", "tree"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("both  seq 3  fusion AAPL long 0.50"),
        "{text}"
    );
    assert_eq!(lines[1], "parents (ancestors): 5");
    assert!(lines[2].starts_with("├── a  seq 1"), "{text}");
    assert!(lines[3].starts_with("│   ├── root  seq 0"), "{text}");
    assert_eq!(lines[4], "│   └── missing  (not in the ledger)");
    assert!(lines[5].starts_with("└── b  seq 2"), "{text}");
    assert!(lines[6].ends_with("(links shown above)"), "{text}");
    assert_eq!(lines[7], "derived signals (descendants): 0");

    let shallow = on(
        &dir,
        &["lineage", "both", "--depth", "1", "--format", "json"],
    )
    .json();
    assert_eq!(shallow["ancestors"]["node_count"], 2);
    assert_eq!(shallow["ancestors"]["truncated"], true);
}

#[test]
fn an_unknown_id_is_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let out = on(&dir, &["lineage", "nope"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim(),
        "error: signal_id \"nope\" is not in the ledger"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_depth_beyond_the_cap_is_refused_as_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let out = on(&dir, &["lineage", "both", "--depth", "1000000"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--depth"), "{}", out.stderr);
    on(&dir, &["lineage", "both", "--depth", "1000"]).ok();
}
