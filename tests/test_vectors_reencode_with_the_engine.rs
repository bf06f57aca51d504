//! Promise: every signal and outcome vector in docs/test-vectors/ re-encodes with the engine's
//! encoder, from its columns and stamp, to its recorded body, frame, CRC32 and row hash, and its
//! NDJSON source parses to those columns.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use signal_ledger_engine::input::{parse_outcome_line, parse_signal_line};
use signal_ledger_engine::record::codec::{decode_signal, encode_signal_body};
use signal_ledger_engine::record::entry::{decode_entry, EntryView};
use signal_ledger_engine::record::outcome::{decode_outcome, encode_outcome_body};
use vector_support::generator::*;
use vector_support::*;

#[test]
fn vectors_reencode_with_the_engine() {
    let doc = load_vectors();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let signal = signal_from_columns(&v["columns"]);
        signal.validate().unwrap();
        assert_eq!(
            parse_signal_line(v["input_ndjson"].as_str().unwrap()).unwrap(),
            signal,
            "{name}: the NDJSON input does not parse to the columns"
        );
        let stamp = stamp_of(v);
        let (frame, row_hash) = engine_frame(&signal, &stamp);
        assert_eq!(
            hex::encode(&frame),
            v["frame_hex"].as_str().unwrap(),
            "{name}: frame"
        );
        assert_eq!(
            hex::encode(&frame[8..]),
            v["body_hex"].as_str().unwrap(),
            "{name}: body"
        );
        assert_eq!(row_hash, hash_of(&v["row_hash"]), "{name}: row hash");
        let mut body_only = Vec::new();
        assert_eq!(
            encode_signal_body(&mut body_only, &stamp, &signal, &signal.signal_id),
            row_hash
        );
        assert_eq!(body_only, frame[8..], "{name}: body without a frame");
        assert_eq!(
            stamp.latency_ms(signal.timestamp_ns).to_bits(),
            v["latency_ms"].as_f64().unwrap().to_bits(),
            "{name}: latency_ms"
        );
        // And the engine's decoder reads the columns back.
        let record = decode_signal(&frame[8..]).unwrap().to_record();
        assert_eq!(record.signal, signal, "{name}: decoded columns");
        assert_eq!(
            (record.seq, record.recorded_at_ns),
            (stamp.seq, stamp.recorded_at_ns)
        );
    }
}

#[test]
fn outcome_vectors_reencode_with_the_engine() {
    let doc = load_outcome_vectors();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 2);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let outcome = outcome_from_columns(&v["columns"]);
        outcome.validate().unwrap();
        let clock = time_ns(&v["parse_clock"]).unwrap_or(i64::MIN);
        assert_eq!(
            parse_outcome_line(v["input_ndjson"].as_str().unwrap(), clock).unwrap(),
            outcome,
            "{name}: the NDJSON input does not parse to the columns"
        );
        let stamp = outcome_stamp_of(v);
        let (frame, row_hash) = engine_outcome_frame(&outcome, &stamp);
        assert_eq!(
            hex::encode(&frame),
            v["frame_hex"].as_str().unwrap(),
            "{name}: frame"
        );
        assert_eq!(
            hex::encode(&frame[8..]),
            v["body_hex"].as_str().unwrap(),
            "{name}: body"
        );
        assert_eq!(row_hash, hash_of(&v["row_hash"]), "{name}: row hash");
        let mut body_only = Vec::new();
        assert_eq!(
            encode_outcome_body(&mut body_only, &stamp, &outcome),
            row_hash
        );
        assert_eq!(body_only, frame[8..], "{name}: body without a frame");
        // The engine's decoder reads the outcome back ...
        let record = decode_outcome(&frame[8..]).unwrap().to_record();
        assert_eq!(record.outcome, outcome, "{name}: decoded columns");
        assert_eq!(
            (
                record.seq,
                record.recorded_at_ns,
                record.signal_seq,
                record.prev_hash,
                record.row_hash
            ),
            (
                stamp.seq,
                stamp.recorded_at_ns,
                stamp.signal_seq,
                stamp.prev_hash,
                row_hash
            )
        );
        // ... in a version-2 segment, and refuses it in a version-1 one (FORMAT.md, "Entry body").
        assert!(matches!(
            decode_entry(&frame[8..], V2),
            Ok(EntryView::Outcome(_))
        ));
        let refused = decode_entry(&frame[8..], V1).unwrap_err();
        assert!(
            refused.to_string().contains("format version 1"),
            "{name}: {refused}"
        );
    }
}
