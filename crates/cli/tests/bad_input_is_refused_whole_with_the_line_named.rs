//! Without `--skip-invalid`, one bad line refuses the whole input: exit 2, nothing appended,
//! and ONE stderr line naming the first bad line, its field and the problem, with the number of
//! further bad lines.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

const GOOD: &str = r#"{"signal_id":"sig-good","source_module":"momentum","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-05T14:30:00Z"}"#;

/// A valid line with `from` replaced by `to`.
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
        .replacen("sig-good", "sig-other", 1)
}

#[test]
fn each_kind_of_bad_line_is_refused_with_its_exact_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    on_with_input(&dir, &["ingest"], format!("{GOOD}\n").as_bytes()).ok();
    let head = stats(&dir)["head_hash"].clone();

    let cases: Vec<(String, &str)> = vec![
        (
            r#"{"signal_id":"#.to_owned(),
            "field signal_id: invalid JSON: EOF while parsing a value at column 13",
        ),
        (
            "not json".to_owned(),
            "invalid JSON: expected ident at column 2",
        ),
        (
            good_with(r#","signal_type":"entry""#, ""),
            "field signal_type: is required",
        ),
        (
            good_with(r#""ticker":"AAPL""#, r#""ticker":"AAPL","colour":"red""#),
            "field colour: unknown field",
        ),
        (
            good_with("{", r#"{"seq":5,"#),
            "field seq: is set by the ledger and must not be supplied",
        ),
        (
            good_with("0.5", "1.5"),
            "field conviction: 1.5 is not a finite number in 0..=1",
        ),
        (
            good_with("AAPL", "aapl"),
            "field ticker: character 'a' is not one of A-Z 0-9 . - /",
        ),
        (
            good_with("14:30:00Z", "14:30:00"),
            "field timestamp: \"2026-01-05T14:30:00\" is not an RFC 3339 timestamp with a zone",
        ),
    ];
    for (bad, problem) in &cases {
        // Alone, on line 2 after a good line.
        let input = format!("{}\n{bad}\n", good_with("sig-good", "sig-first"));
        on_with_input(&dir, &["ingest"], input.as_bytes())
            .fails_with(2, &format!("error: line 2: {problem}"));
        // With more bad lines (and a blank one, which counts for numbering) after it.
        let input = format!("\n{bad}\n{GOOD}\n{bad}\n{bad}\n");
        let out = on_with_input(&dir, &["ingest"], input.as_bytes());
        out.fails_with(
            2,
            &format!("error: line 2: {problem} (and 2 more invalid lines)"),
        );
        assert_eq!(out.stdout, "", "nothing is reported appended");
        let input = format!("{bad}\n{bad}");
        on_with_input(&dir, &["ingest"], input.as_bytes()).fails_with(
            2,
            &format!("error: line 1: {problem} (and 1 more invalid line)"),
        );
    }
    // Nothing was appended by any of them.
    let s = stats(&dir);
    assert_eq!(s["records"], 1);
    assert_eq!(s["head_hash"], head);
    on(&dir, &["verify"]).ok();
}

#[test]
fn a_file_with_a_bad_line_is_refused_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let mut input = generate(500, 3);
    input.push_str("{}\n");
    let path = tmp.path().join("in.ndjson");
    std::fs::write(&path, &input).unwrap();
    on(&dir, &["ingest", path.to_str().unwrap()])
        .fails_with(2, "error: line 501: field source_module: is required");
    assert_eq!(records(&dir), 0);
    on(
        &dir,
        &["ingest", tmp.path().join("missing").to_str().unwrap()],
    )
    .fails_with(
        2,
        &format!(
            "error: open {}: No such file or directory (os error 2)",
            tmp.path().join("missing").display()
        ),
    );
}
