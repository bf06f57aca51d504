//! After `ingest` of generated NDJSON, `stats`, `get`, `get --signal-id`, `tail` and `digest`
//! agree with each other and with the input: same count, seqs, hashes and column values.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::Value;

const COUNT: u64 = 3000;

#[test]
fn inspect_commands_agree_after_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    let input_path = tmp.path().join("in.ndjson");
    run(&[
        "generate",
        "--count",
        &COUNT.to_string(),
        "--seed",
        "9",
        "--out",
        input_path.to_str().unwrap(),
    ])
    .ok();
    let input = std::fs::read_to_string(&input_path).unwrap();
    assert_eq!(
        input,
        generate(COUNT as usize, 9),
        "--out writes what stdout gets"
    );
    let input_lines = json_lines(&input);
    assert_eq!(input_lines.len() as u64, COUNT);

    // Half from a file, half from stdin.
    let (first, second) = input.split_at(input.match_indices('\n').nth(999).unwrap().0 + 1);
    let part1 = tmp.path().join("part1.ndjson");
    std::fs::write(&part1, first).unwrap();
    let r1 = on(&dir, &["ingest", part1.to_str().unwrap()]).json();
    assert_eq!(r1["count"], 1000);
    assert_eq!(
        (r1["first_seq"].as_u64(), r1["last_seq"].as_u64()),
        (Some(0), Some(999))
    );
    let r2 = on_with_input(&dir, &["ingest", "-"], second.as_bytes()).json();
    assert_eq!(r2["count"], COUNT - 1000);
    assert_eq!(r2["first_seq"], 1000);
    assert_eq!(r2["last_seq"], COUNT - 1);
    assert!(r2.get("rejected").is_none());
    let head_hash = r2["head_hash"].as_str().unwrap().to_owned();
    assert_eq!(head_hash.len(), 64);

    let s = stats(&dir);
    assert_eq!(s["records"], COUNT);
    assert_eq!(s["first_seq"], 0);
    assert_eq!(s["next_seq"], COUNT);
    assert_eq!(s["head_seq"], COUNT - 1);
    assert_eq!(s["head_hash"], head_hash.as_str());
    assert!(s["segments"].as_u64().unwrap() > 3, "{s}");
    assert_eq!(s["sealed_segments"], s["segments"].as_u64().unwrap() - 1);
    assert_eq!(s["torn_tail"], Value::Null);
    assert_eq!(s["damage"], Value::Null);
    let times: Vec<&str> = input_lines
        .iter()
        .map(|l| l["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(s["first_timestamp"], *times.iter().min().unwrap());
    assert_eq!(s["last_timestamp"], *times.iter().max().unwrap());

    let digest = on(&dir, &["digest"]).json();
    assert_eq!(digest["seq"], COUNT - 1);
    assert_eq!(digest["row_hash"], head_hash.as_str());

    // get SEQ and get --signal-id find the same record, holding the input's values.
    for seq in [0u64, 1, 999, 1000, 2222, COUNT - 1] {
        let by_seq = on(&dir, &["get", &seq.to_string()]).json();
        let input = &input_lines[seq as usize];
        assert_eq!(by_seq["seq"], seq);
        for key in [
            "signal_id",
            "source_module",
            "ticker",
            "direction",
            "conviction",
            "signal_type",
            "timestamp",
            "payload_json",
        ] {
            assert_eq!(by_seq[key], input[key], "seq {seq} column {key}");
        }
        for key in [
            "price",
            "timeframe",
            "expires_at",
            "acted_upon",
            "execution_id",
        ] {
            assert_eq!(
                by_seq[key],
                *input.get(key).unwrap_or(&Value::Null),
                "{key}"
            );
        }
        let id = by_seq["signal_id"].as_str().unwrap();
        let by_id = on(&dir, &["get", "--signal-id", id]).json();
        assert_eq!(by_id, by_seq);
        if seq > 0 {
            let before = on(&dir, &["get", &(seq - 1).to_string()]).json();
            assert_eq!(by_seq["prev_hash"], before["row_hash"], "the chain links");
        }
    }

    // tail: the last N, oldest first, the same lines get prints.
    let tail = on(&dir, &["tail", "-n", "5"]);
    let lines: Vec<&str> = tail.ok().lines().collect();
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate() {
        let seq = COUNT - 5 + i as u64;
        assert_eq!(*line, on(&dir, &["get", &seq.to_string()]).ok().trim_end());
    }
    let last: Value = serde_json::from_str(lines[4]).unwrap();
    assert_eq!(last["row_hash"], head_hash.as_str());
    assert_eq!(json_lines(on(&dir, &["tail"]).ok()).len(), 10);
    assert_eq!(
        json_lines(on(&dir, &["tail", "-n", "100000"]).ok()).len() as u64,
        COUNT
    );
    assert_eq!(on(&dir, &["tail", "-n", "0"]).ok(), "");
}

#[test]
fn empty_input_appends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["init"]).ok();
    let r = on_with_input(&dir, &["ingest"], b"").json();
    assert_eq!(
        r,
        serde_json::json!({"count":0,"already_recorded":0,"first_seq":null,"last_seq":null,"head_hash":null})
    );
    assert_eq!(
        on_with_input(&dir, &["ingest"], b"\n  \n").json()["count"],
        0
    );
    assert_eq!(records(&dir), 0);
    on(&dir, &["digest"]).fails_with(2, "error: the ledger is empty: no head to digest");
    assert_eq!(on(&dir, &["tail"]).ok(), "");
    let v = on(&dir, &["verify"]);
    assert!(
        v.ok().starts_with("intact: 0 records checked in "),
        "{}",
        v.stdout
    );
}
