//! What the test-vector tests share: where docs/test-vectors/ is, its file and directory
//! names, readers of its JSON (columns, stamps, little-endian fields), and the generator
//! ([`generator`]) that writes it, which `examples/write_test_vectors.rs` runs.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

pub mod generator;

use std::path::PathBuf;

use serde_json::Value;
use signal_ledger_engine::record::codec::Stamp;
use signal_ledger_engine::record::outcome::{Decision, Outcome, OutcomeStamp};
use signal_ledger_engine::timefmt::parse_rfc3339_ns;
use signal_ledger_engine::{Direction, Hash, Signal, SignalType};

/// The row-hash domain tag as FORMAT.md spells it, written out here rather than imported.
pub const DOMAIN_TAG: &[u8] = b"signal-ledger/row/v1\0";
/// The single segment of the committed ledgers.
pub const SEGMENT_NAME: &str = "00000000000000000000.seg";
pub const UNSEALED_DIR: &str = "ledger-3-entries";
pub const SEALED_DIR: &str = "ledger-3-entries-sealed";
/// The version-2 ledger: the three signal vectors, then the two outcome vectors, sealed.
pub const OUTCOMES_DIR: &str = "ledger-v2-outcomes";
/// The format version of the signal vectors' ledgers: they stay version-1 ledgers (a version-2
/// reader reads them as they are), whatever version the engine writes.
pub const V1: u16 = 1;
/// The format version of the outcome vectors' ledger: the first with outcome entries.
pub const V2: u16 = 2;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hand-written walkthrough beside the vectors: the one file there the generator does not
/// write.
pub const WALKTHROUGH_FILE: &str = "README.md";

/// docs/test-vectors/.
pub fn vectors_dir() -> PathBuf {
    root().join("docs/test-vectors")
}

pub const SIGNAL_VECTORS_FILE: &str = "signal-entries.json";
pub const OUTCOME_VECTORS_FILE: &str = "outcome-entries.json";

pub fn load_json(file: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn load_vectors() -> Value {
    load_json(SIGNAL_VECTORS_FILE)
}

pub fn load_outcome_vectors() -> Value {
    load_json(OUTCOME_VECTORS_FILE)
}

pub fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

pub fn hash_of(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}
pub fn time_ns(v: &Value) -> Option<i64> {
    let ns = v.get("ns")?.as_i64()?;
    assert_eq!(
        parse_rfc3339_ns(v["rfc3339"].as_str().unwrap()).unwrap(),
        ns,
        "ns and rfc3339 disagree in {v}"
    );
    Some(ns)
}
/// The vector's columns as a `Signal`, read from the JSON without the NDJSON parser.
pub fn signal_from_columns(c: &Value) -> Signal {
    Signal {
        signal_id: c["signal_id"].as_str().unwrap().to_owned(),
        source_module: c["source_module"].as_str().unwrap().to_owned(),
        source_version: opt_str(&c["source_version"]),
        ticker: c["ticker"].as_str().unwrap().to_owned(),
        direction: Direction::parse(c["direction"].as_str().unwrap()).unwrap(),
        conviction: c["conviction"].as_f64().unwrap(),
        signal_type: SignalType::parse(c["signal_type"].as_str().unwrap()).unwrap(),
        timeframe: opt_str(&c["timeframe"]),
        price: c["price"].as_f64(),
        timestamp_ns: time_ns(&c["timestamp"]).unwrap(),
        expires_at_ns: time_ns(&c["expires_at"]),
        strategy_id: opt_str(&c["strategy_id"]),
        correlation_id: opt_str(&c["correlation_id"]),
        parent_signal_ids: c["parent_signal_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect(),
        acted_upon: c["acted_upon"].as_bool(),
        execution_id: opt_str(&c["execution_id"]),
        payload_json: c["payload_json"].as_str().unwrap().to_owned(),
    }
}
pub fn stamp_of(v: &Value) -> Stamp {
    let s = &v["stamp"];
    Stamp {
        seq: s["seq"].as_u64().unwrap(),
        recorded_at_ns: time_ns(&s["recorded_at"]).unwrap(),
        prev_hash: hash_of(&s["prev_hash"]),
    }
}
/// The vector's columns as an `Outcome`, read from the JSON without the NDJSON parser.
pub fn outcome_from_columns(c: &Value) -> Outcome {
    Outcome {
        signal_id: c["signal_id"].as_str().unwrap().to_owned(),
        decision: Decision::from_acted(c["acted_upon"].as_bool().unwrap()),
        execution_id: opt_str(&c["execution_id"]),
        reason: opt_str(&c["reason"]),
        decided_at_ns: time_ns(&c["decided_at"]).unwrap(),
    }
}
pub fn outcome_stamp_of(v: &Value) -> OutcomeStamp {
    let s = &v["stamp"];
    OutcomeStamp {
        seq: s["seq"].as_u64().unwrap(),
        recorded_at_ns: time_ns(&s["recorded_at"]).unwrap(),
        prev_hash: hash_of(&s["prev_hash"]),
        signal_seq: s["signal_seq"].as_u64().unwrap(),
    }
}
