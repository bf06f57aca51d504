//! Promise: the committed ledger directories of docs/test-vectors/ are those vectors — the
//! version-1 ledgers of the three signals (unsealed and sealed), and the version-2 ledger of
//! the three signals and two outcomes — and verify intact with the engine; every committed
//! file there is exactly what the generator (tests/vector_support/generator.rs) writes from the
//! engine's encoder today, and there is no other file.
//!
//! Regenerate the vectors only for a deliberate format change: `cargo run --example write_test_vectors`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod vector_support;

use std::path::PathBuf;

use serde_json::Value;
use signal_ledger_engine::record::entry::EntryRecord;
use signal_ledger_engine::{verify, Digest, Snapshot, VerifyOptions};
use vector_support::generator::*;
use vector_support::*;

/// Checks a segment header of format `version` from FORMAT.md's table alone.
fn check_header_bytes(h: &[u8], version: u16, prev_hash: &[u8]) {
    assert_eq!(h.len(), 80);
    assert_eq!(&h[0..8], b"\x89SLG\r\n\x1a\n");
    assert_eq!(u16::from_le_bytes([h[8], h[9]]), version);
    assert_eq!(&h[10..16], &[0; 6]);
    assert_eq!(u64_at(h, 16), 0);
    assert_eq!(i64_at(h, 24), segment_created_at_ns());
    assert_eq!(&h[32..64], prev_hash);
    assert_eq!(&h[64..76], &[0; 12]);
    assert_eq!(u32_at(h, 76), crc32fast::hash(&h[..76]));
}

/// Checks a segment trailer from FORMAT.md's table alone.
fn check_trailer_bytes(t: &[u8], doc: &Value) {
    let vectors = doc["vectors"].as_array().unwrap();
    let ts: Vec<i64> = vectors
        .iter()
        .map(|v| v["columns"]["timestamp"]["ns"].as_i64().unwrap())
        .collect();
    assert_eq!(t.len(), 96);
    assert_eq!(&t[0..4], &[0xff; 4]);
    assert_eq!(&t[4..8], &[0; 4]);
    assert_eq!(u64_at(t, 8), 3);
    assert_eq!(u64_at(t, 16), 0);
    assert_eq!(u64_at(t, 24), 2);
    assert_eq!(i64_at(t, 32), *ts.iter().min().unwrap());
    assert_eq!(i64_at(t, 40), *ts.iter().max().unwrap());
    assert_eq!(&t[48..80], &unhex(&vectors[2]["row_hash"])[..]);
    assert_eq!(u32_at(t, 80), crc32fast::hash(&t[..80]));
    assert_eq!(&t[84..88], &[0; 4]);
    assert_eq!(&t[88..96], b"SLGSEAL\n");
}

fn check_committed_ledger(dir_name: &str, doc: &Value) {
    let dir: PathBuf = vectors_dir().join(dir_name);
    let meta = &doc["ledgers"][dir_name];
    let vectors = doc["vectors"].as_array().unwrap();
    let frames: Vec<Vec<u8>> = vectors.iter().map(|v| unhex(&v["frame_hex"])).collect();
    let header = unhex(&meta["header"]["hex"]);
    check_header_bytes(&header, V1, &[0; 32]);
    let sealed = meta["sealed"].as_bool().unwrap();
    let trailer = sealed.then(|| unhex(&meta["trailer"]["hex"]));
    if let Some(t) = &trailer {
        check_trailer_bytes(t, doc);
    }
    let want = segment_bytes(&header, &frames, trailer.as_deref());
    let on_disk = std::fs::read(dir.join(SEGMENT_NAME)).unwrap();
    assert!(
        on_disk == want,
        "{dir_name}/{SEGMENT_NAME} is not header + vector frames"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("ledger.toml")).unwrap(),
        ledger_toml_text(V1)
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "{dir_name} holds only ledger.toml and one segment: {names:?}"
    );

    let snapshot = Snapshot::open(&dir).unwrap();
    assert!(snapshot.damage().is_none(), "{:?}", snapshot.damage());
    assert!(snapshot.torn_tail().is_none());
    assert_eq!(snapshot.segments()[0].trailer.is_some(), sealed);
    let report = verify(&snapshot, VerifyOptions::default());
    assert!(report.is_intact(), "{dir_name}: {report:?}");
    assert_eq!(report.records_checked, 3);
    assert_eq!(report.head_seq, Some(2));
    assert_eq!(report.head_hash, Some(hash_of(&meta["head_row_hash"])));
    assert_eq!(report.head_hash, Some(hash_of(&vectors[2]["row_hash"])));
    // FORMAT.md's example head digest is this ledger's, and it checks out.
    let digest = Digest::of_head(&snapshot).unwrap().unwrap();
    digest.check(&snapshot).unwrap();
    let format_md = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let line = digest.to_json();
    assert!(
        format_md.contains(&line),
        "FORMAT.md lacks the example head digest {line}"
    );
    for (seq, v) in vectors.iter().enumerate() {
        let record = snapshot.get(seq as u64).unwrap().unwrap();
        assert_eq!(
            record.signal,
            signal_from_columns(&v["columns"]),
            "{dir_name} seq {seq}"
        );
        assert_eq!(record.row_hash, hash_of(&v["row_hash"]));
    }
}

#[test]
fn committed_ledgers_are_the_vectors_and_verify_intact() {
    let doc = load_vectors();
    check_committed_ledger(UNSEALED_DIR, &doc);
    check_committed_ledger(SEALED_DIR, &doc);
}

#[test]
fn generator_reproduces_the_committed_vectors() {
    // Every committed file under docs/test-vectors/ is, byte for byte, what the generator makes
    // from the engine's encoder today (so the NDJSON inputs in the JSON are the ones the bytes
    // came from, and no file can drift from the engine), and there is no other file but the
    // hand-written walkthrough.
    let files = committed_files();
    for (path, bytes) in &files {
        let on_disk = std::fs::read(vectors_dir().join(path))
            .unwrap_or_else(|e| panic!("docs/test-vectors/{path}: {e}"));
        assert!(
            on_disk == *bytes,
            "docs/test-vectors/{path} is not what the engine's encoder produces; regenerate it \
             (`cargo run --example write_test_vectors`) only for a deliberate format change"
        );
    }
    let mut want: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    want.sort_unstable();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap().file_name().to_string_lossy().into_owned();
                found.push(format!("{name}/{inner}"));
            }
        } else if name != WALKTHROUGH_FILE {
            found.push(name);
        }
    }
    found.sort_unstable();
    assert_eq!(
        found, want,
        "docs/test-vectors/ holds exactly the generated files"
    );
    // The generator's parts agree with the committed JSON too.
    let doc = load_vectors();
    for (g, v) in generate().iter().zip(doc["vectors"].as_array().unwrap()) {
        assert_eq!(hex::encode(&g.frame), v["frame_hex"].as_str().unwrap());
    }
    assert_eq!(
        hex::encode(header(V1).encode()),
        doc["ledgers"][UNSEALED_DIR]["header"]["hex"]
    );
    assert_eq!(
        hex::encode(header(V2).encode()),
        load_outcome_vectors()["ledgers"][OUTCOMES_DIR]["header"]["hex"]
    );
}

/// Checks the trailer of the version-2 ledger from FORMAT.md's table alone: five entries, and
/// the timestamp range of the three signals only (the outcomes' decided_at do not count).
fn check_v2_trailer_bytes(t: &[u8], signals: &[Value], last_row_hash: &[u8]) {
    let ts: Vec<i64> = signals
        .iter()
        .map(|v| v["columns"]["timestamp"]["ns"].as_i64().unwrap())
        .collect();
    assert_eq!(t.len(), 96);
    assert_eq!(&t[0..4], &[0xff; 4]);
    assert_eq!(&t[4..8], &[0; 4]);
    assert_eq!(u64_at(t, 8), 5);
    assert_eq!(u64_at(t, 16), 0);
    assert_eq!(u64_at(t, 24), 4);
    assert_eq!(i64_at(t, 32), *ts.iter().min().unwrap());
    assert_eq!(i64_at(t, 40), *ts.iter().max().unwrap());
    assert_eq!(&t[48..80], last_row_hash);
    assert_eq!(u32_at(t, 80), crc32fast::hash(&t[..80]));
    assert_eq!(&t[84..88], &[0; 4]);
    assert_eq!(&t[88..96], b"SLGSEAL\n");
}

#[test]
fn committed_v2_ledger_is_the_vectors_and_verifies_intact() {
    let signals = load_vectors();
    let signal_vectors = signals["vectors"].as_array().unwrap();
    let doc = load_outcome_vectors();
    let outcome_vectors = doc["vectors"].as_array().unwrap();
    let meta = &doc["ledgers"][OUTCOMES_DIR];
    let dir = vectors_dir().join(OUTCOMES_DIR);

    // The segment is a version-2 header, the signal frames, the outcome frames and a trailer.
    let header = unhex(&meta["header"]["hex"]);
    check_header_bytes(&header, V2, &[0; 32]);
    assert_eq!(meta["sealed"], true);
    let last = outcome_vectors.last().unwrap();
    let trailer = unhex(&meta["trailer"]["hex"]);
    check_v2_trailer_bytes(&trailer, signal_vectors, &unhex(&last["row_hash"]));
    // The outcomes' decided_at lie outside the signals' range, so counting them would show.
    let max_signal_ts = i64_at(&trailer, 40);
    assert!(outcome_vectors
        .iter()
        .all(|v| v["columns"]["decided_at"]["ns"].as_i64().unwrap() > max_signal_ts));
    let frames: Vec<Vec<u8>> = signal_vectors
        .iter()
        .chain(outcome_vectors)
        .map(|v| unhex(&v["frame_hex"]))
        .collect();
    let want = segment_bytes(&header, &frames, Some(&trailer));
    let on_disk = std::fs::read(dir.join(SEGMENT_NAME)).unwrap();
    assert!(
        on_disk == want,
        "{OUTCOMES_DIR}/{SEGMENT_NAME} is not header + signal and outcome frames + trailer"
    );
    let toml = std::fs::read_to_string(dir.join("ledger.toml")).unwrap();
    assert_eq!(toml, ledger_toml_text(V2));
    assert!(toml.contains("\nformat_version = 2\n"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["00000000000000000000.seg", "ledger.toml"]);

    // The engine reads and verifies it intact, with the last outcome as its head.
    let snapshot = Snapshot::open(&dir).unwrap();
    assert!(snapshot.damage().is_none(), "{:?}", snapshot.damage());
    assert!(snapshot.torn_tail().is_none());
    assert!(snapshot.segments()[0].trailer.is_some());
    assert_eq!(snapshot.segments()[0].header.format_version, V2);
    let report = verify(&snapshot, VerifyOptions::default());
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records_checked, 5);
    assert_eq!(report.head_seq, Some(4));
    assert_eq!(report.head_hash, Some(hash_of(&meta["head_row_hash"])));
    assert_eq!(report.head_hash, Some(hash_of(&last["row_hash"])));
    let digest = Digest::of_head(&snapshot).unwrap().unwrap();
    assert_eq!(digest.to_json(), meta["head_digest"].as_str().unwrap());
    digest.check(&snapshot).unwrap();
    for (seq, v) in signal_vectors.iter().enumerate() {
        match snapshot.entry_record(seq as u64).unwrap().unwrap() {
            EntryRecord::Signal(s) => {
                assert_eq!(s.signal, signal_from_columns(&v["columns"]));
                assert_eq!(s.row_hash, hash_of(&v["row_hash"]));
            }
            other => panic!("seq {seq}: {other:?}"),
        }
    }
    for v in outcome_vectors {
        let seq = v["stamp"]["seq"].as_u64().unwrap();
        match snapshot.entry_record(seq).unwrap().unwrap() {
            EntryRecord::Outcome(o) => {
                assert_eq!(o.outcome, outcome_from_columns(&v["columns"]));
                assert_eq!(o.signal_seq, v["stamp"]["signal_seq"].as_u64().unwrap());
                assert_eq!(o.row_hash, hash_of(&v["row_hash"]));
            }
            other => panic!("seq {seq}: {other:?}"),
        }
    }
}
