//! `query` returns exactly the signals that match its flags, in order, a page at a time until
//! the cursor runs out; `aggregate` counts the same signals; bad flag values are one error line.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::Value;

fn ledger_of(count: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(count, 4).as_bytes()).ok();
    (tmp, dir)
}

/// Every record, by `tail`.
fn all_records(dir: &std::path::Path, count: usize) -> Vec<Value> {
    json_lines(on(dir, &["tail", "-n", &count.to_string()]).ok())
}

/// A record's timestamp as (whole seconds text, nanoseconds): RFC 3339 text with its fraction
/// trimmed of trailing zeros does not sort by time as a string.
fn time_key(r: &Value) -> (String, u32) {
    let t = r["timestamp"].as_str().unwrap().trim_end_matches('Z');
    let (secs, frac) = t.split_once('.').unwrap_or((t, ""));
    (secs.to_owned(), format!("{frac:0<9}").parse().unwrap())
}

#[test]
fn pages_follow_the_cursor_to_exactly_the_matching_records() {
    let (_tmp, dir) = ledger_of(2_000);
    let all = all_records(&dir, 2_000);
    let ticker = all[0]["ticker"].as_str().unwrap().to_owned();
    let mut expected: Vec<&Value> = all
        .iter()
        .filter(|r| r["ticker"] == ticker.as_str() && r["conviction"].as_f64().unwrap() >= 0.3)
        .collect();
    // Newest timestamp first, then seq descending.
    expected.sort_by_key(|r| std::cmp::Reverse((time_key(r), r["seq"].as_u64().unwrap())));
    assert!(
        expected.len() > 10,
        "enough matches to page: {}",
        expected.len()
    );
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut args = vec![
            "query",
            "--ticker",
            &ticker,
            "--min-conviction",
            "0.3",
            "--limit",
            "7",
            "--format",
            "json",
        ];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c]);
        }
        let page = on(&dir, &args).json();
        got.extend(page["records"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let seqs = |v: &[Value]| {
        v.iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let expected: Vec<Value> = expected.into_iter().cloned().collect();
    assert_eq!(seqs(&got), seqs(&expected));
    assert_eq!(got, expected, "records carry every column as stored");

    // ndjson: the same first page, the cursor on stderr.
    let out = on(
        &dir,
        &[
            "query",
            "--ticker",
            &ticker,
            "--min-conviction",
            "0.3",
            "--limit",
            "7",
        ],
    );
    assert_eq!(json_lines(out.ok()), got[..7].to_vec());
    assert!(out.stderr.starts_with("next_cursor: c1"), "{}", out.stderr);

    // csv: a header and the same seven rows, in order; the cursor on stderr too.
    let out = on(
        &dir,
        &[
            "query",
            "--ticker",
            &ticker,
            "--min-conviction",
            "0.3",
            "--limit",
            "7",
            "--format",
            "csv",
        ],
    );
    let lines: Vec<&str> = out.ok().lines().collect();
    assert!(
        lines[0].starts_with("seq,signal_id,source_module,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 8);
    for (line, record) in lines[1..].iter().zip(&got) {
        let seq = record["seq"].to_string();
        assert!(line.starts_with(&format!("{seq},")), "{line}");
        assert!(
            line.ends_with(record["row_hash"].as_str().unwrap()),
            "{line}"
        );
    }
    assert!(out.stderr.starts_with("next_cursor: c1"), "{}", out.stderr);
}

#[test]
fn aggregate_counts_what_query_finds() {
    let (_tmp, dir) = ledger_of(1_500);
    let all = all_records(&dir, 1_500);
    let lines = json_lines(
        on(
            &dir,
            &["aggregate", "--group-by", "source", "--direction", "long"],
        )
        .ok(),
    );
    let total: u64 = lines.iter().map(|l| l["count"].as_u64().unwrap()).sum();
    let longs = all.iter().filter(|r| r["direction"] == "long").count() as u64;
    assert_eq!(total, longs);
    for l in &lines {
        let source = l["key"].as_str().unwrap();
        let n = all
            .iter()
            .filter(|r| r["direction"] == "long" && r["source_module"] == source)
            .count() as u64;
        assert_eq!(l["count"].as_u64().unwrap(), n, "{source}");
    }
    let one = json_lines(on(&dir, &["aggregate"]).ok());
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["key"], "all");
    assert_eq!(one[0]["count"].as_u64().unwrap(), 1_500);
}

#[test]
fn bad_filter_values_are_one_error_line() {
    let (_tmp, dir) = ledger_of(10);
    on(&dir, &["query", "--direction", "up"]).fails_with(
        2,
        "error: invalid value 'up' for '--direction <DIR>' [possible values: long, short, neutral] (see signal-ledger --help)",
    );
    let out = on(&dir, &["query", "--from", "yesterday"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: invalid value 'yesterday' for '--from <TIME>': \"yesterday\":"),
        "{}",
        out.stderr
    );
    on(&dir, &["query", "--min-conviction", "1.5"]).fails_with(
        2,
        "error: invalid value '1.5' for '--min-conviction <X>': 1.5 is outside 0..=1 (see signal-ledger --help)",
    );
    on(&dir, &["query", "--cursor", "nope"]).fails_with(
        2,
        "error: invalid value 'nope' for '--cursor <CURSOR>': not a valid cursor: nope (see signal-ledger --help)",
    );
}

/// The CLI and the HTTP API share one page-size bound (the query crate's): a page is held in
/// memory whole, and `export` is how to read everything.
#[test]
fn a_limit_beyond_the_page_bound_is_refused_like_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(300, 9).as_bytes()).ok();
    for limit in ["18446744073709551615", "1000000000000", "10001", "0"] {
        let out = on(&dir, &["query", "--limit", limit, "--format", "json"]);
        assert_eq!(out.code, 2, "--limit {limit}");
        assert!(
            out.stderr.starts_with(&format!(
                "error: invalid value '{limit}' for '--limit <N>': "
            )),
            "{}",
            out.stderr
        );
    }
    let out = on(&dir, &["query", "--limit", "10000", "--format", "json"]).json();
    assert_eq!(out["records"].as_array().unwrap().len(), 300);
    assert!(out["next_cursor"].is_null());
}
