//! `bench-sink` offers load through the sink and prints one JSON line whose counts add up and
//! match the ledger it wrote (created if missing, or temporary and removed without `--ledger`);
//! a bad `--rate` is a usage error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use serde_json::Value;

/// The one JSON line on stdout, after asserting exit 0 and a quiet stderr.
fn one_line(out: &Out) -> Value {
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    serde_json::from_str(out.stdout.trim_end()).unwrap()
}

fn number(line: &Value, key: &str) -> f64 {
    line[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {line}"))
}

fn count(line: &Value, key: &str) -> u64 {
    line[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count in {line}"))
}

/// The counts add up and the latencies are ordered.
fn check_counts(line: &Value, producers: u64) {
    for key in [
        "throughput_per_s",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "elapsed_s",
    ] {
        assert!(number(line, key) >= 0.0, "{key} in {line}");
    }
    assert_eq!(count(line, "producers"), producers);
    let durable = count(line, "durable_count");
    assert!(durable > 0, "{line}");
    assert_eq!(
        durable + count(line, "refused") + count(line, "failed"),
        count(line, "offered"),
        "{line}"
    );
    assert!(number(line, "throughput_per_s") > 0.0, "{line}");
    let (p50, p99, max) = (
        number(line, "p50_ms"),
        number(line, "p99_ms"),
        number(line, "max_ms"),
    );
    assert!(p50 <= p99 && p99 <= max, "{line}");
}

#[test]
fn creates_the_ledger_and_its_counts_match_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    let out = run_guarded(
        binary_on(
            &dir,
            &[
                "bench-sink",
                "--producers",
                "2",
                "--rate",
                "2000",
                "--duration",
                "0.5",
            ],
        ),
        b"",
    );
    let line = one_line(&out);
    check_counts(&line, 2);
    assert_eq!(number(&line, "rate"), 2000.0);
    let durable = count(&line, "durable_count");

    let stats = stats(&dir);
    assert_eq!(stats["records"], durable, "{stats}");
    let sink = &stats["sink"];
    assert!(sink.is_object(), "{stats}");
    assert_eq!(sink["durable"], durable, "{sink}");
    assert_eq!(sink["persist_latency_ms"]["count"], durable, "{sink}");
    assert_eq!(sink["failed"], line["failed"], "{sink}");
    on(&dir, &["verify"]).ok();
}

#[test]
fn without_a_ledger_it_leaves_nothing_behind() {
    let cwd = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut command = binary(&[
        "bench-sink",
        "--rate",
        "max",
        "--duration",
        "0.3",
        "--producers",
        "3",
    ]);
    command
        .current_dir(cwd.path())
        .env("TMPDIR", scratch.path());
    let out = run_guarded(command, b"");
    let line = one_line(&out);
    assert!(out.stdout.contains(r#""rate":"max""#), "{}", out.stdout);
    check_counts(&line, 3);
    for dir in [cwd.path(), scratch.path()] {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[test]
fn a_rate_that_is_not_positive_or_max_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    for rate in ["0", "abc"] {
        let out = run_guarded(
            binary_on(&dir, &["bench-sink", "--rate", rate, "--duration", "0.1"]),
            b"",
        );
        assert_eq!(out.code, 2, "{out:?}");
        assert_eq!(out.stdout, "", "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        assert!(out.stderr.contains("--rate"), "{}", out.stderr);
        assert!(!dir.exists(), "a refused bench-sink created {dir:?}");
    }
}
