//! Promise: every signal and outcome vector of docs/test-vectors/ checks out from the
//! definitions in docs/FORMAT.md alone — its fixed fields, variable part, CRC32 and row hash
//! recomputed by hand here, with no engine decoder involved.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use vector_support::*;

/// A minimal reader of FORMAT.md's "Signal entry" variable part: the eight strings, the parents
/// and the payload, each checked against its column.
fn check_variable_part(name: &str, body: &[u8], c: &Value) {
    let mut at = 64;
    let string = |at: &mut usize| -> String {
        let len = usize::from(body[*at]);
        let s = std::str::from_utf8(&body[*at + 1..*at + 1 + len])
            .unwrap()
            .to_owned();
        *at += 1 + len;
        s
    };
    for column in [
        "signal_id",
        "source_module",
        "source_version",
        "ticker",
        "timeframe",
        "strategy_id",
        "correlation_id",
        "execution_id",
    ] {
        let stored = string(&mut at);
        let want = c[column].as_str().unwrap_or("");
        assert_eq!(stored, want, "{name}: {column}");
    }
    let parents = usize::from(body[at]);
    at += 1;
    let want: Vec<&str> = c["parent_signal_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(parents, want.len(), "{name}: parent count");
    for p in want {
        assert_eq!(string(&mut at), p, "{name}: parent");
    }
    let payload_len = u32_at(body, at) as usize;
    at += 4;
    assert_eq!(
        &body[at..at + payload_len],
        c["payload_json"].as_str().unwrap().as_bytes(),
        "{name}: payload_json bytes"
    );
    at += payload_len;
    assert_eq!(
        at,
        body.len() - 64,
        "{name}: the hashes follow the payload directly"
    );
}

#[test]
fn vectors_check_out_from_format_md_alone() {
    let doc = load_vectors();
    // CRC-32/ISO-HDLC (zlib's crc32): the standard check value.
    assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    assert_eq!(doc["crc32_check"]["crc32"], "cbf43926");
    assert_eq!(unhex(&doc["row_hash_domain_tag_hex"]), DOMAIN_TAG);
    assert_eq!(DOMAIN_TAG.len(), 21);
    let genesis = unhex(&doc["genesis_prev_hash"]);
    assert_eq!(genesis, [0u8; 32]);

    let mut expected_prev = genesis;
    for (i, v) in doc["vectors"].as_array().unwrap().iter().enumerate() {
        let name = v["name"].as_str().unwrap();
        let body = unhex(&v["body_hex"]);
        let frame = unhex(&v["frame_hex"]);
        let n = body.len();
        assert_eq!(n as u64, v["body_len"].as_u64().unwrap());

        // Frame: len u32 LE, crc32 u32 LE, body.
        assert_eq!(u32_at(&frame, 0) as usize, n, "{name}: frame len");
        let crc = crc32fast::hash(&body);
        assert_eq!(u32_at(&frame, 4), crc, "{name}: frame crc");
        assert_eq!(format!("{crc:08x}"), v["crc32"].as_str().unwrap());
        assert_eq!(&frame[8..], &body[..], "{name}: frame body");
        assert!((80..=1 << 20).contains(&n), "{name}: body length in range");

        // Common layout: kind at 0, seq at 8..16, prev_hash and row_hash the last 64 bytes.
        let stamp = &v["stamp"];
        assert_eq!(body[0], 0x01, "{name}: kind");
        assert_eq!(
            u64_at(&body, 8),
            stamp["seq"].as_u64().unwrap(),
            "{name}: seq"
        );
        assert_eq!(u64_at(&body, 8), i as u64, "{name}: seqs are dense from 0");
        let prev = &body[n - 64..n - 32];
        assert_eq!(
            prev,
            &unhex(&stamp["prev_hash"])[..],
            "{name}: stored prev_hash"
        );
        assert_eq!(
            prev,
            &expected_prev[..],
            "{name}: chained to the vector before"
        );

        // Row hash: SHA-256(domain tag ‖ prev_hash ‖ body[..len-64]).
        let mut input = DOMAIN_TAG.to_vec();
        input.extend_from_slice(prev);
        input.extend_from_slice(&body[..n - 64]);
        assert_eq!(
            hex::encode(&input),
            v["row_hash_input_hex"].as_str().unwrap()
        );
        let computed: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(&body[n - 32..], &computed[..], "{name}: stored row_hash");
        assert_eq!(
            hex::encode(computed),
            v["row_hash"].as_str().unwrap(),
            "{name}: row_hash"
        );

        // Signal fixed part.
        let c = &v["columns"];
        let directions = ["long", "short", "neutral"];
        let types = ["entry", "exit", "scale_in", "scale_out", "alert"];
        assert_eq!(
            directions[usize::from(body[1])],
            c["direction"],
            "{name}: direction"
        );
        assert_eq!(
            types[usize::from(body[2])],
            c["signal_type"],
            "{name}: signal_type"
        );
        let flags = body[3];
        assert_eq!(flags & !0x0f, 0, "{name}: unknown flag bits");
        assert_eq!(flags & 1 != 0, !c["price"].is_null(), "{name}: price flag");
        assert_eq!(
            flags & 2 != 0,
            !c["expires_at"].is_null(),
            "{name}: expires_at flag"
        );
        assert_eq!(
            flags & 4 != 0,
            !c["acted_upon"].is_null(),
            "{name}: acted_upon flag"
        );
        assert_eq!(
            flags & 8 != 0,
            c["acted_upon"] == true,
            "{name}: acted_upon value"
        );
        assert_eq!(&body[4..8], &[0; 4], "{name}: reserved");
        let ts = c["timestamp"]["ns"].as_i64().unwrap();
        let recorded = stamp["recorded_at"]["ns"].as_i64().unwrap();
        assert_eq!(i64_at(&body, 16), ts, "{name}: timestamp");
        assert_eq!(i64_at(&body, 24), recorded, "{name}: recorded_at");
        assert_eq!(
            i64_at(&body, 32),
            c["expires_at"]["ns"].as_i64().unwrap_or(0)
        );
        assert_eq!(
            f64_at(&body, 40),
            c["conviction"].as_f64().unwrap(),
            "{name}: conviction"
        );
        assert_eq!(
            f64_at(&body, 48).to_bits(),
            c["price"].as_f64().unwrap_or(0.0).to_bits()
        );
        let latency = (i128::from(recorded) - i128::from(ts)) as f64 / 1e6;
        assert_eq!(
            f64_at(&body, 56).to_bits(),
            latency.to_bits(),
            "{name}: latency_ms"
        );
        assert_eq!(
            v["latency_ms"].as_f64().unwrap().to_bits(),
            latency.to_bits()
        );
        check_variable_part(name, &body, c);

        expected_prev = computed.to_vec();
    }
}

/// A minimal reader of FORMAT.md's "Outcome entry" variable part, each field checked against
/// its column: the two strings, the reason, and the hashes right after the reason.
fn check_outcome_variable_part(name: &str, body: &[u8], c: &Value) {
    let mut at = 40;
    let string = |at: &mut usize, lo: usize, hi: usize| -> String {
        let len = usize::from(body[*at]);
        assert!((lo..=hi).contains(&len), "{name}: string length {len}");
        let s = std::str::from_utf8(&body[*at + 1..*at + 1 + len])
            .unwrap()
            .to_owned();
        *at += 1 + len;
        s
    };
    assert_eq!(string(&mut at, 1, 64), c["signal_id"].as_str().unwrap());
    assert_eq!(
        string(&mut at, 0, 64),
        c["execution_id"].as_str().unwrap_or(""),
        "{name}: execution_id"
    );
    let reason_len = usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
    at += 2;
    assert!(reason_len <= 1024, "{name}: reason length");
    assert_eq!(
        std::str::from_utf8(&body[at..at + reason_len]).unwrap(),
        c["reason"].as_str().unwrap_or(""),
        "{name}: reason"
    );
    at += reason_len;
    assert_eq!(
        at,
        body.len() - 64,
        "{name}: the hashes follow the reason directly"
    );
}

#[test]
fn outcome_vectors_check_out_from_format_md_alone() {
    let signals = load_vectors();
    let signal_vectors = signals["vectors"].as_array().unwrap();
    let doc = load_outcome_vectors();
    assert_eq!(doc["format_version"], 2);
    assert_eq!(unhex(&doc["row_hash_domain_tag_hex"]), DOMAIN_TAG);
    // The outcomes continue the chain of the signal vectors.
    let last_signal = signal_vectors.last().unwrap();
    assert_eq!(doc["chained_after"]["row_hash"], last_signal["row_hash"]);
    assert_eq!(doc["chained_after"]["seq"], last_signal["stamp"]["seq"]);
    let mut expected_prev = unhex(&last_signal["row_hash"]);
    let mut decisions = Vec::new();
    let outcome_vectors = doc["vectors"].as_array().unwrap();
    for (expected_seq, v) in (signal_vectors.len() as u64..).zip(outcome_vectors) {
        let name = v["name"].as_str().unwrap();
        let body = unhex(&v["body_hex"]);
        let frame = unhex(&v["frame_hex"]);
        let n = body.len();
        assert_eq!(n as u64, v["body_len"].as_u64().unwrap());
        assert!((109..=1260).contains(&n), "{name}: outcome body length");

        // Frame: len u32 LE, crc32 u32 LE, body.
        assert_eq!(u32_at(&frame, 0) as usize, n, "{name}: frame len");
        let crc = crc32fast::hash(&body);
        assert_eq!(u32_at(&frame, 4), crc, "{name}: frame crc");
        assert_eq!(format!("{crc:08x}"), v["crc32"].as_str().unwrap());
        assert_eq!(&frame[8..], &body[..], "{name}: frame body");

        // Common layout and chain.
        let stamp = &v["stamp"];
        assert_eq!(body[0], 0x02, "{name}: kind");
        let seq = u64_at(&body, 8);
        assert_eq!(seq, stamp["seq"].as_u64().unwrap(), "{name}: seq");
        assert_eq!(
            seq, expected_seq,
            "{name}: seqs are dense after the signals"
        );
        let prev = &body[n - 64..n - 32];
        assert_eq!(prev, &unhex(&stamp["prev_hash"])[..], "{name}: prev_hash");
        assert_eq!(
            prev,
            &expected_prev[..],
            "{name}: chained to the entry before"
        );
        let mut input = DOMAIN_TAG.to_vec();
        input.extend_from_slice(prev);
        input.extend_from_slice(&body[..n - 64]);
        assert_eq!(
            hex::encode(&input),
            v["row_hash_input_hex"].as_str().unwrap()
        );
        let computed: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(&body[n - 32..], &computed[..], "{name}: stored row_hash");
        assert_eq!(hex::encode(computed), v["row_hash"].as_str().unwrap());

        // Outcome fixed part.
        let c = &v["columns"];
        assert!(body[1] <= 1, "{name}: decision code");
        assert_eq!(body[1] == 1, c["acted_upon"] == true, "{name}: decision");
        decisions.push(body[1]);
        assert_eq!(&body[2..8], &[0; 6], "{name}: reserved");
        assert_eq!(
            i64_at(&body, 16),
            c["decided_at"]["ns"].as_i64().unwrap(),
            "{name}: decided_at"
        );
        assert_eq!(
            i64_at(&body, 24),
            stamp["recorded_at"]["ns"].as_i64().unwrap(),
            "{name}: recorded_at"
        );
        let signal_seq = u64_at(&body, 32);
        assert_eq!(signal_seq, stamp["signal_seq"].as_u64().unwrap());
        assert!(signal_seq < seq, "{name}: an outcome follows its signal");
        // The link: the entry at signal_seq is a signal with the outcome's signal_id.
        let signal = &signal_vectors[signal_seq as usize];
        assert_eq!(
            unhex(&signal["body_hex"])[0],
            0x01,
            "{name}: links a signal"
        );
        assert_eq!(
            signal["columns"]["signal_id"], c["signal_id"],
            "{name}: signal_id of the signal at signal_seq"
        );
        check_outcome_variable_part(name, &body, c);

        expected_prev = computed.to_vec();
    }
    // Both decisions, and both an outcome with every optional field and one with none.
    assert_eq!(decisions, [1, 0]);
    let vectors = outcome_vectors;
    assert!(vectors.iter().any(|v| {
        let c = &v["columns"];
        c["execution_id"].is_string() && c["reason"].as_str().is_some_and(|r| !r.is_ascii())
    }));
    assert!(vectors.iter().any(|v| {
        let c = &v["columns"];
        c["execution_id"].is_null() && c["reason"].is_null() && v["parse_clock"].is_object()
    }));
}
