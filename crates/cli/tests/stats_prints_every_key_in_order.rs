//! `stats` prints one JSON object, the engine's `LedgerStats`, with every key in a fixed order
//! (the order GET /v1/stats answers them in too, before the server's counters) and the
//! settings, check log and sink metrics nested under their own keys.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

const KEYS: [&str; 17] = [
    "ledger",
    "format_version",
    "records",
    "segments",
    "sealed_segments",
    "bytes",
    "first_seq",
    "next_seq",
    "first_timestamp",
    "last_timestamp",
    "head_seq",
    "head_hash",
    "torn_tail",
    "damage",
    "config",
    "check_log",
    "sink",
];

const CONFIG_KEYS: [&str; 8] = [
    "durability",
    "segment_size_bytes",
    "batch_size",
    "flush_interval_ms",
    "retention_days",
    "legal_hold",
    "check_interval_secs",
    "full_check_every",
];

/// Asserts that `keys` appear in `text` in this order, each once as a key.
fn in_order(text: &str, keys: &[&str]) {
    let mut at = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        at += text[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} after byte {at} in {text}"))
            + needle.len();
    }
}

#[test]
fn stats_is_one_object_with_every_key_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(10, 2).as_bytes()).ok();
    on(&dir, &["verify", "--record"]).ok();
    let out = on(&dir, &["--retention-days", "9", "stats"]);
    let text = out.ok().trim_end().to_owned();
    assert!(!text.contains('\n'), "{text}");
    in_order(&text, &KEYS);
    let config_at = text.find("\"config\":").unwrap();
    in_order(&text[config_at..], &CONFIG_KEYS);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_object().unwrap().len(), KEYS.len());
    assert_eq!(v["records"], 10);
    assert_eq!(v["head_seq"], 9);
    assert!(v["torn_tail"].is_null() && v["damage"].is_null());
    // The settings in force: ledger.toml with the command line's overrides.
    assert_eq!(v["config"]["retention_days"], 9);
    assert_eq!(v["check_log"]["checks"], 1);
    assert_eq!(v["check_log"]["last_passed"], true);
}
