//! `ingest --follow` records each line of a growing file (or of standard input) as it arrives,
//! skips and reports bad lines, and on SIGTERM/SIGINT or the end of standard input stops with
//! everything read durable and one JSON summary line; a followed file that shrinks is an error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::io::Write;
use std::path::Path;

use serde_json::Value;

/// The `signal_id` of each NDJSON line.
fn signal_ids<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
    lines
        .into_iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["signal_id"].clone())
        .collect()
}

/// The `signal_id` of every record, in seq order.
fn stored_ids(dir: &Path, n: usize) -> Vec<Value> {
    let tail = on(dir, &["tail", "-n", &n.to_string()]).ok().to_owned();
    json_lines(&tail)
        .into_iter()
        .map(|r| r["signal_id"].clone())
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The one JSON line a follow prints on stdout.
fn summary(out: &Out) -> Value {
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    serde_json::from_str(out.stdout.trim_end()).unwrap()
}

#[test]
fn a_growing_file_is_recorded_line_by_line_until_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let generated = generate(501, 11);
    let lines: Vec<&str> = generated.lines().collect();
    assert_eq!(lines.len(), 501);
    let input = tmp.path().join("in.ndjson");
    let rejects = tmp.path().join("rejects.ndjson");
    std::fs::write(&input, lines[..200].join("\n") + "\n").unwrap();

    let mut follow = Running::start(binary_on(
        &dir,
        &[
            "ingest",
            "--follow",
            input.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
        ],
    ));
    follow.wait_until("200 records", || records(&dir) == 200);

    // More lines, one of them invalid (line 501), while it follows.
    let bad = r#"{"ticker":"bad"}"#;
    append(&input, &(lines[200..500].join("\n") + "\n" + bad + "\n"));
    let rejected_lines = || {
        std::fs::read_to_string(&rejects)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    follow.wait_until("500 records and 1 rejected line", || {
        records(&dir) == 500 && rejected_lines() == 1
    });

    // A last line written in two pieces: the first half alone is not a line yet.
    let last = lines[500];
    let (head, rest) = last.split_at(last.len() / 2);
    append(&input, head);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(records(&dir), 500, "half a line was recorded");
    assert_eq!(rejected_lines(), 1, "half a line was rejected");
    append(&input, &format!("{rest}\n"));
    follow.wait_until("501 records", || records(&dir) == 501);

    follow.signal("TERM");
    let out = follow.wait();
    assert_eq!(out.code, 0, "{out:?}");
    let s = summary(&out);
    assert_eq!(s["lines"], 502, "{s}");
    assert_eq!(s["recorded"], 501, "{s}");
    assert_eq!(s["durable"], 501, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    assert_eq!(s["head_seq"], 500, "{s}");

    // The bad line is in the rejects file and named, with its field, on stderr.
    let rejected = json_lines(&std::fs::read_to_string(&rejects).unwrap());
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let r = &rejected[0];
    assert_eq!(r["line"], 501);
    assert_eq!(r["input"], bad);
    let field = r["field"]
        .as_str()
        .expect("the rejected line names a field");
    let problem = r["problem"].as_str().unwrap();
    assert_eq!(
        out.stderr,
        format!("warning: skipped line 501: field {field}: {problem}\n")
    );

    on(&dir, &["verify"]).ok();
    let stats = stats(&dir);
    assert_eq!(stats["head_seq"], 500);
    assert_eq!(stats["sink"]["durable"], 501, "{stats}");
    // Every good line, in file order; the last one is the line written in two pieces.
    let newest = json_lines(on(&dir, &["tail", "-n", "1"]).ok());
    assert_eq!(signal_ids([last]), vec![newest[0]["signal_id"].clone()]);
    assert_eq!(stored_ids(&dir, 501), signal_ids(lines.iter().copied()));
}

#[test]
fn standard_input_is_recorded_until_it_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let generated = generate(1_000, 12);
    // The last line has no newline: the end of the input ends it.
    let input = generated.trim_end_matches('\n');
    let out = run_guarded(
        binary_on(&dir, &["ingest", "--follow", "-"]),
        input.as_bytes(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    let s = summary(&out);
    assert_eq!(
        (&s["lines"], &s["durable"], &s["failed"], &s["rejected"]),
        (&1_000.into(), &1_000.into(), &0.into(), &0.into()),
        "{s}"
    );
    assert_eq!(s["head_seq"], 999);
    assert_eq!(records(&dir), 1_000);
    on(&dir, &["verify"]).ok();
    assert_eq!(stored_ids(&dir, 1_000), signal_ids(generated.lines()));
}

#[test]
fn sigint_stops_a_follow_waiting_on_open_standard_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let mut follow = Running::start(binary_on(&dir, &["ingest", "--follow"]));
    // Kept open: the reader blocks on it after these lines.
    let mut stdin = follow.stdin();
    stdin.write_all(generate(50, 13).as_bytes()).unwrap();
    stdin.flush().unwrap();
    follow.wait_until("50 records", || records(&dir) == 50);
    follow.signal("INT");
    let out = follow.wait();
    drop(stdin);
    assert_eq!(out.code, 0, "{out:?}");
    let s = summary(&out);
    assert_eq!(
        (&s["lines"], &s["durable"]),
        (&50.into(), &50.into()),
        "{s}"
    );
    on(&dir, &["verify"]).ok();
}

#[test]
fn rejects_needs_skip_invalid_or_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let rejects = tmp.path().join("r.ndjson");
    let out = on_with_input(
        &dir,
        &["ingest", "--rejects", rejects.to_str().unwrap()],
        generate(2, 14).as_bytes(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    for name in ["--rejects", "--skip-invalid", "--follow"] {
        assert!(out.stderr.contains(name), "{}", out.stderr);
    }
    assert!(!rejects.exists());
    assert_eq!(records(&dir), 0);
}

#[test]
fn a_followed_file_that_shrinks_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let input = tmp.path().join("in.ndjson");
    let generated = generate(100, 15);
    std::fs::write(&input, &generated).unwrap();
    let mut follow = Running::start(binary_on(
        &dir,
        &["ingest", "--follow", input.to_str().unwrap()],
    ));
    follow.wait_until("100 records", || records(&dir) == 100);

    // Truncated to its first half, as a log rotation with copytruncate would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&input)
        .unwrap()
        .set_len(generated.len() as u64 / 2)
        .unwrap();
    let out = follow.wait();
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("shrank"), "{}", out.stderr);
    assert!(
        out.stderr.contains(input.to_str().unwrap()),
        "{}",
        out.stderr
    );
    // What was read before is durable and reported.
    let s = summary(&out);
    assert_eq!(
        (&s["lines"], &s["durable"]),
        (&100.into(), &100.into()),
        "{s}"
    );
    assert_eq!(records(&dir), 100);
    on(&dir, &["verify"]).ok();
}
