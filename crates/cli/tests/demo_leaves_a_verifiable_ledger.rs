//! `demo --dir D --count N` exits 0, prints each step, and leaves in D a ledger of N records that
//! `verify` accepts; its records are those `generate` writes for the same count and seed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn demo_builds_a_verifiable_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = run(&["demo", "--dir", dir.to_str().unwrap(), "--count", "2000"]);
    let text = out.ok();
    assert_eq!(out.stderr, "");
    for step in [
        "1. init",
        "2. generate",
        "3. ingest",
        "4. verify    intact: 2000 records",
        "5. stats",
        "6. digest",
        "7. the last 3 records",
        "8. query     --ticker ",
        "9. lineage   ",
    ] {
        assert!(text.contains(step), "{step} in\n{text}");
    }
    assert!(text.trim_end().ends_with("tail -n 5"), "{text}");

    let s = stats(&dir);
    assert_eq!(s["records"], 2000);
    let v = on(&dir, &["verify"]);
    assert!(v.ok().starts_with("intact: 2000 records checked"));
    // The printed digest verifies.
    let digest = text
        .lines()
        .find_map(|l| l.strip_prefix("6. digest    "))
        .unwrap();
    on(&dir, &["verify", "--against", digest]).ok();
    // The last 3 records printed are the tail.
    assert!(text.contains(on(&dir, &["tail", "-n", "3"]).ok()));
    // The lineage shown is the one `lineage` prints, and its parents are in the ledger.
    let shown = text
        .lines()
        .find_map(|l| l.strip_prefix("9. lineage   "))
        .unwrap();
    let (id, counts) = shown.split_once(": ").unwrap();
    let lineage = on(&dir, &["lineage", id, "--format", "json"]).json();
    assert!(counts.starts_with(&format!(
        "{} ancestors, {} derived signals",
        lineage["ancestors"]["node_count"], lineage["descendants"]["node_count"]
    )));
    assert!(!lineage["signal"]["parent_signal_ids"]
        .as_array()
        .unwrap()
        .is_empty());
    // Same signals as generate --count 2000 --seed 42.
    let generated = generate(2000, 42);
    let first: serde_json::Value = serde_json::from_str(generated.lines().next().unwrap()).unwrap();
    assert_eq!(
        on(&dir, &["get", "0"]).json()["signal_id"],
        first["signal_id"]
    );

    // A second demo into the same directory is refused: it is a ledger already.
    let again = run(&["demo", "--dir", dir.to_str().unwrap(), "--count", "10"]);
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        format!("error: {} is already a ledger\n", dir.display())
    );
}
