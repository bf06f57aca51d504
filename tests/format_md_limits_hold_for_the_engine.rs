//! Promise: the limits docs/FORMAT.md states (largest signal and outcome body, frame length,
//! supported versions, header decode order) and its rule that NDJSON numbers convert to the
//! nearest f64 hold for the engine.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use signal_ledger_engine::input::parse_signal_line;
use signal_ledger_engine::record::outcome::{encode_outcome_body, Decision, Outcome, OutcomeStamp};
use signal_ledger_engine::segment::FORMAT_VERSION;
use signal_ledger_engine::GENESIS_PREV_HASH;
use vector_support::*;

#[test]
fn format_md_states_the_engine_limits() {
    use signal_ledger_engine::record::codec::SIGNAL_BODY_LEN_MAX;
    use signal_ledger_engine::record::frame::FRAME_BODY_LEN_MAX;
    use signal_ledger_engine::record::outcome::{
        OUTCOME_BODY_LEN_MAX, OUTCOME_FIXED_LEN, REASON_LEN_MAX,
    };
    use signal_ledger_engine::segment::FORMAT_VERSION_MIN;
    let text = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // "Canonical encoding": the largest signal body, exactly.
    assert_eq!(SIGNAL_BODY_LEN_MAX, 67_101);
    assert!(compact.contains("=67,101bytes,exactly"));
    // "Record frame": the frame length bound.
    assert_eq!(FRAME_BODY_LEN_MAX, 1_048_576);
    assert!(compact.contains("80..=1,048,576(1MiB)"));
    // "Segment header": this engine reads versions 1..=2 and writes 2; the version is checked
    // before the CRC.
    assert_eq!((FORMAT_VERSION_MIN, FORMAT_VERSION), (1, 2));
    assert!(
        compact.contains("whichforthisengineis`1..=2`**(R)**"),
        "FORMAT.md states the supported range"
    );
    assert!(
        compact.contains("length,magic,`format_version`,`header_crc`,reservedbytes"),
        "FORMAT.md states the header decode order"
    );
    // "Outcome entry": the reason bound, and the smallest and largest outcome bodies, exactly.
    assert_eq!(REASON_LEN_MAX, 1024);
    assert!(compact.contains("|2|u16|`reason`length,0..=1,024|"));
    assert!(compact.contains("atmost1,024**(R)**"));
    assert_eq!(OUTCOME_FIXED_LEN, 40);
    assert_eq!(OUTCOME_BODY_LEN_MAX, 1260);
    assert!(compact.contains("thelargest40+65+65+2+1,024+64=1,260bytes"));
    let smallest = Outcome {
        signal_id: "s".into(),
        decision: Decision::Dismissed,
        execution_id: None,
        reason: None,
        decided_at_ns: 0,
    };
    let stamp = OutcomeStamp {
        seq: 1,
        recorded_at_ns: 0,
        prev_hash: GENESIS_PREV_HASH,
        signal_seq: 0,
    };
    let mut body = Vec::new();
    encode_outcome_body(&mut body, &stamp, &smallest);
    assert_eq!(body.len(), 109);
    assert!(compact.contains("Thesmallestoutcomebodyis40+2+1+2+64=109bytes"));
    let largest = Outcome {
        signal_id: "i".repeat(64),
        decision: Decision::Acted,
        execution_id: Some("e".repeat(64)),
        reason: Some("r".repeat(REASON_LEN_MAX)),
        decided_at_ns: 0,
    };
    largest.validate().unwrap();
    body.clear();
    encode_outcome_body(&mut body, &stamp, &largest);
    assert_eq!(body.len(), OUTCOME_BODY_LEN_MAX);
}

#[test]
fn ndjson_numbers_convert_to_the_nearest_f64() {
    // PROCEDURES.md, "Input rules that determine stored bytes": numbers are correctly rounded to f64, whatever their length, so
    // any correctly rounding parser (Rust's `str::parse::<f64>` here) reproduces the stored bytes.
    let line = |price: &str| {
        parse_signal_line(&format!(
            r#"{{"signal_id":"s","source_module":"m","ticker":"X","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-05T14:30:00Z","price":{price}}}"#
        ))
    };
    let mut spellings: Vec<String> = [
        "985.6906946328695",
        "0.1",
        "-37.63",
        "43210.5",
        "2.2250738585072011e-308",
        "9007199254740993",
        "123456789012345678901234567890",
        "0.30000000000000004441",
        "1.00000000000000011102230246251565404236316680908203125",
        "1e308",
        "-0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Shortest round-trip spellings of many prices, and the same with extra digits.
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
        spellings.push(format!("{v}"));
        spellings.push(format!("{v:.25}"));
    }
    for s in &spellings {
        let want: f64 = s.parse().unwrap();
        let got = line(s).unwrap().price.unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{s}");
    }
    // Beyond the f64 range: refused.
    assert!(line("1e400").is_err());
    assert!(line("-1e400").is_err());
}
