//! `export` writes exactly the matching records, in ledger order, as CSV (a header of the 22
//! column names) or NDJSON (the records as `tail` prints them), with seq, prev_hash and row_hash,
//! and leaves no partial file when it fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::Value;

#[test]
fn ndjson_and_csv_exports_hold_the_matching_records_in_ledger_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(1_200, 6).as_bytes()).ok();
    let all = json_lines(on(&dir, &["tail", "-n", "1200"]).ok());
    let expected: Vec<&Value> = all.iter().filter(|r| r["direction"] == "short").collect();
    assert!(!expected.is_empty());

    let nd = tmp.path().join("out.ndjson");
    let summary = on(
        &dir,
        &[
            "export",
            "--format",
            "ndjson",
            "--direction",
            "short",
            "--out",
            nd.to_str().unwrap(),
        ],
    )
    .json();
    assert_eq!(summary["records"].as_u64().unwrap(), expected.len() as u64);
    assert_eq!(summary["first_seq"], expected[0]["seq"]);
    let got = json_lines(&std::fs::read_to_string(&nd).unwrap());
    assert_eq!(
        got.iter().collect::<Vec<_>>(),
        expected,
        "same records, same order, every column"
    );

    let csv_path = tmp.path().join("out.csv");
    on(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--direction",
            "short",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    )
    .ok();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut reader = csv_lines(&text);
    let header = reader.remove(0);
    assert_eq!(header[0], "seq");
    assert_eq!(header.len(), 22);
    assert_eq!(header[21], "row_hash");
    assert_eq!(reader.len(), expected.len());
    for (row, record) in reader.iter().zip(&expected) {
        let field = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(field("seq"), &record["seq"].to_string());
        assert_eq!(field("signal_id"), record["signal_id"].as_str().unwrap());
        assert_eq!(field("prev_hash"), record["prev_hash"].as_str().unwrap());
        assert_eq!(field("row_hash"), record["row_hash"].as_str().unwrap());
        assert_eq!(field("timestamp"), record["timestamp"].as_str().unwrap());
        let payload: Value = serde_json::from_str(field("payload_json")).unwrap();
        assert_eq!(payload, record["payload_json"]);
        let parents: Value = serde_json::from_str(field("parent_signal_ids")).unwrap();
        assert_eq!(parents, record["parent_signal_ids"]);
    }
    // To standard output: the same bytes as the file.
    let out = on(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--direction",
            "short",
            "--out",
            "-",
        ],
    );
    assert_eq!(out.ok(), text);
}

/// A minimal RFC 4180 reader for the test (quoted fields with doubled quotes, no embedded
/// newlines in this data).
fn csv_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        field.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(std::mem::take(&mut field)),
                    (c, _) => field.push(c),
                }
            }
            fields.push(field);
            fields
        })
        .collect()
}

#[test]
fn a_failed_export_leaves_no_file_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(50, 6).as_bytes()).ok();
    let missing = tmp.path().join("no-such-dir").join("out.csv");
    let out = on(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: create "), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1);
    // A directory in the way of the rename: the partial file is removed again.
    let blocked = tmp.path().join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), "x").unwrap();
    let out = on(
        &dir,
        &[
            "export",
            "--format",
            "ndjson",
            "--out",
            blocked.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
}
