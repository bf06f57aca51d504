//! `ingest --skip-invalid --rejects FILE` appends every good line, in order, and writes each bad
//! line to FILE as NDJSON with its line number, field, problem and raw text.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::json;

#[test]
fn good_lines_are_appended_and_bad_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let good = generate(6, 5);
    let good: Vec<&str> = good.lines().collect();
    let lowercase = good[3].replacen("\"ticker\":\"", "\"ticker\":\"x", 1);
    let input = format!(
        "{}\n{}\nnot json\n\n{}\r\n{lowercase}\n{}\n{{\"seq\":1}}\n{}",
        good[0], good[1], good[2], good[4], good[5]
    );
    let rejects = tmp.path().join("rejects.ndjson");
    let out = on_with_input(
        &dir,
        &[
            "ingest",
            "--skip-invalid",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        input.as_bytes(),
    );
    let r = out.json();
    assert_eq!(r["count"], 5);
    assert_eq!(r["first_seq"], 0);
    assert_eq!(r["last_seq"], 4);
    assert_eq!(r["rejected"], 3);
    assert_eq!(
        out.stderr,
        format!(
            "warning: skipped 3 invalid lines; written to {}\n",
            rejects.display()
        )
    );

    let rejected = json_lines(&std::fs::read_to_string(&rejects).unwrap());
    assert_eq!(
        rejected,
        vec![
            json!({"line":3,"field":null,"problem":"invalid JSON: expected ident at column 2","input":"not json"}),
            json!({"line":6,"field":"ticker","problem":"character 'x' is not one of A-Z 0-9 . - /","input":lowercase}),
            json!({"line":8,"field":"seq","problem":"is set by the ledger and must not be supplied","input":"{\"seq\":1}"}),
        ]
    );

    // The good lines, in input order.
    let want: Vec<&str> = vec![good[0], good[1], good[2], good[4], good[5]];
    for (seq, line) in want.iter().enumerate() {
        let stored = on(&dir, &["get", &seq.to_string()]).json();
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(stored["signal_id"], line["signal_id"]);
    }
    on(&dir, &["verify"]).ok();
}

#[test]
fn without_a_rejects_file_the_count_is_still_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let input = format!("{}oops\n", generate(2, 1));
    let out = on_with_input(&dir, &["ingest", "--skip-invalid"], input.as_bytes());
    let r = out.json();
    assert_eq!(
        (r["count"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        out.stderr,
        "warning: skipped 1 invalid line (pass --rejects FILE to keep them)\n"
    );
    // Nothing bad: rejected is 0, no warning, and a rejects file asked for is empty.
    let rejects = tmp.path().join("none.ndjson");
    let out = on_with_input(
        &dir,
        &[
            "ingest",
            "--skip-invalid",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        generate(1, 2).as_bytes(),
    );
    assert_eq!(out.json()["rejected"], 0);
    assert_eq!(out.stderr, "");
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), "");
    // A rejects file that cannot be written stops the ingest before the append.
    let unwritable = tmp.path().join("no/such/dir");
    let out = on_with_input(
        &dir,
        &[
            "ingest",
            "--skip-invalid",
            "--rejects",
            unwritable.to_str().unwrap(),
        ],
        generate(1, 3).as_bytes(),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: create "), "{}", out.stderr);
    assert_eq!(records(&dir), 3);
    // Only bad lines: nothing appended, still exit 0.
    let out = on_with_input(&dir, &["ingest", "--skip-invalid"], b"x\ny\n");
    assert_eq!(out.json()["count"], 0);
    assert_eq!(out.json()["first_seq"], serde_json::Value::Null);
    assert_eq!(records(&dir), 3);
}

#[test]
fn rejects_requires_skip_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    on(tmp.path(), &["init"]).ok();
    on(tmp.path(), &["ingest", "--rejects", "r.ndjson"]).fails_with(
        2,
        "error: --rejects needs --skip-invalid or --follow (otherwise a bad line refuses the whole input)",
    );
}
