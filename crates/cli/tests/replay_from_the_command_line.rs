//! `replay` prints every matching signal and outcome in chronological order (timestamp or seq),
//! each with a position; `--limit` then `--resume`, or a `--checkpoint` file, continue exactly
//! where a run stopped — also after the process was killed — and paced replays really wait.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A ledger of 300 demo signals and two outcomes (the second decided before the first).
fn ledger(tmp: &Path) -> PathBuf {
    let dir = tmp.join("l");
    on(&dir, &["init"]).ok();
    let input = generate(300, 7);
    on_with_input(&dir, &["ingest"], input.as_bytes()).ok();
    let ids: Vec<String> = json_lines(&input)
        .iter()
        .map(|v| v["signal_id"].as_str().unwrap().to_owned())
        .collect();
    on(
        &dir,
        &[
            "outcome",
            &ids[10],
            "--acted",
            "--at",
            "2026-10-05T00:00:00Z",
        ],
    )
    .ok();
    on(
        &dir,
        &[
            "outcome",
            &ids[20],
            "--dismissed",
            "--at",
            "2026-10-03T00:00:00Z",
        ],
    )
    .ok();
    dir
}

/// The replay's events, by `replay ARGS --format ndjson`.
fn replay(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["replay", "--format", "ndjson"];
    all.extend_from_slice(args);
    json_lines(on(dir, &all).ok())
}

/// (kind, seq) of each event.
fn keys(events: &[Value]) -> Vec<(String, u64)> {
    events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["record"]["seq"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// An event's time: a signal's timestamp, an outcome's decision time.
fn time_of(e: &Value) -> String {
    let r = &e["record"];
    match e["event"].as_str().unwrap() {
        "signal" => r["timestamp"].as_str().unwrap().to_owned(),
        _ => r["at"].as_str().unwrap().to_owned(),
    }
}

#[test]
fn every_event_in_timestamp_or_seq_order_with_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let by_time = replay(&dir, &[]);
    assert_eq!(by_time.len(), 302);
    let times: Vec<String> = by_time.iter().map(time_of).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "timestamp order");
    let outcomes: Vec<&Value> = by_time.iter().filter(|e| e["event"] == "outcome").collect();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0]["record"]["acted_upon"], false, "decided first");
    assert!(by_time
        .iter()
        .all(|e| e["position"].as_str().unwrap().starts_with("p1")));

    let by_seq = replay(&dir, &["--order", "seq"]);
    let seqs: Vec<u64> = keys(&by_seq).into_iter().map(|(_, s)| s).collect();
    assert_eq!(seqs, (0..302).collect::<Vec<u64>>());
    let mut same = keys(&by_time);
    same.sort_by_key(|(_, s)| *s);
    assert_eq!(same, keys(&by_seq), "the same events either way");

    let signals_only = replay(&dir, &["--no-outcomes"]);
    assert_eq!(signals_only.len(), 300);
    assert!(signals_only.iter().all(|e| e["event"] == "signal"));

    let table = on(&dir, &["replay", "--format", "table", "--limit", "3"]);
    assert_eq!(table.ok().lines().count(), 3);
    assert!(
        table.stderr.contains("replayed 3 signals"),
        "{}",
        table.stderr
    );
}

#[test]
fn a_filter_and_window_select_signals_and_the_outcomes_decided_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let all = replay(&dir, &["--no-outcomes"]);
    let ticker = all[0]["record"]["ticker"].as_str().unwrap().to_owned();
    let (from, to) = ("2026-10-02T12:00:00Z", "2026-10-04T00:00:00Z");
    let got = replay(&dir, &["--ticker", &ticker, "--from", from, "--to", to]);
    let expected: Vec<&Value> = all
        .iter()
        .filter(|e| e["record"]["ticker"] == ticker.as_str())
        .filter(|e| {
            let t = time_of(e);
            t.as_str() >= from && t.as_str() < to
        })
        .collect();
    let got_signals: Vec<&Value> = got.iter().filter(|e| e["event"] == "signal").collect();
    assert_eq!(got_signals, expected);
    // The window holds only the dismissal (decided 10-03), and only if its signal is of the
    // ticker.
    let in_window: Vec<Value> = replay(&dir, &["--from", from, "--to", to])
        .into_iter()
        .filter(|e| e["event"] == "outcome")
        .collect();
    assert_eq!(in_window.len(), 1);
    assert_eq!(in_window[0]["record"]["acted_upon"], false);
}

#[test]
fn limit_then_resume_and_a_checkpoint_file_continue_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    for order in ["timestamp", "seq"] {
        let full = replay(&dir, &["--order", order]);
        let first = replay(&dir, &["--order", order, "--limit", "120"]);
        let position = first.last().unwrap()["position"]
            .as_str()
            .unwrap()
            .to_owned();
        let rest = replay(&dir, &["--order", order, "--resume", &position]);
        assert_eq!([first, rest].concat(), full, "{order}");

        let checkpoint = tmp.path().join(format!("ck-{order}"));
        let ck = checkpoint.to_str().unwrap();
        let mut parts = Vec::new();
        for _ in 0..3 {
            parts.extend(replay(
                &dir,
                &["--order", order, "--checkpoint", ck, "--limit", "100"],
            ));
        }
        parts.extend(replay(&dir, &["--order", order, "--checkpoint", ck]));
        assert_eq!(parts, full, "{order} by checkpoint");
    }
}

#[test]
fn a_paced_replay_killed_mid_way_resumes_from_its_checkpoint_without_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    let full = replay(&dir, &["--order", "seq"]);
    let checkpoint = tmp.path().join("ck");
    let ck = checkpoint.to_str().unwrap();
    // Every gap is cut to 10 ms: about 3 s in all; killed after about a second.
    let run = Running::start(binary(&[
        "--ledger",
        dir.to_str().unwrap(),
        "replay",
        "--format",
        "ndjson",
        "--order",
        "seq",
        "--speed",
        "1x",
        "--max-gap",
        "0.01",
        "--checkpoint",
        ck,
    ]));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    run.signal("KILL");
    let killed = run.wait();
    let printed = json_lines(&killed.stdout);
    assert!(
        !printed.is_empty() && printed.len() < full.len(),
        "{}",
        printed.len()
    );
    assert_eq!(printed[..], full[..printed.len()]);
    let rest = replay(&dir, &["--order", "seq", "--checkpoint", ck]);
    // At least once: the rest starts at or before the first event not printed, and nothing
    // after it is missing.
    let first_seq = rest[0]["record"]["seq"].as_u64().unwrap() as usize;
    assert!(
        first_seq <= printed.len(),
        "{first_seq} > {}",
        printed.len()
    );
    assert_eq!(rest[..], full[first_seq..]);
}

#[test]
fn paced_output_waits_between_events() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    // Demo signals are minutes apart: at 1x every gap is cut to --max-gap.
    let started = std::time::Instant::now();
    let events = replay(
        &dir,
        &["--speed", "1x", "--max-gap", "0.05", "--limit", "21"],
    );
    assert_eq!(events.len(), 21);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1000));
}

/// Asserts exit 2 and one `error:` line that contains `text`.
fn refused(out: Out, text: &str) {
    assert_eq!(
        out.code, 2,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains(text),
        "{:?} lacks {text:?}",
        out.stderr
    );
}

#[test]
fn bad_flags_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger(tmp.path());
    refused(
        on(&dir, &["replay", "--speed", "fast"]),
        "not a replay speed",
    );
    refused(on(&dir, &["replay", "--speed", "0x"]), "not a replay speed");
    refused(
        on(&dir, &["replay", "--resume", "p1zz"]),
        "not a valid replay position",
    );
    refused(on(&dir, &["replay", "--max-gap=-1"]), "--max-gap");
    refused(
        on(&dir, &["replay", "--start-time", "yesterday"]),
        "--start-time",
    );
    let seq_position = replay(&dir, &["--order", "seq", "--limit", "1"])[0]["position"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        on(&dir, &["replay", "--resume", &seq_position]),
        "continues a replay in seq order, not in timestamp order",
    );
    refused(
        on(
            &dir,
            &["replay", "--start-seq", "1", "--resume", &seq_position],
        ),
        "cannot be used with",
    );
}
