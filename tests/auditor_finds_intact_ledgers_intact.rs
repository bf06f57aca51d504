//! Promise: docs/audit/verify_ledger.py — an auditor's verifier written only from docs/FORMAT.md —
//! finds every intact ledger of format versions 1 and 2 intact with the engine's head hash: the
//! committed test ledgers (the version-1 ones and the version-2 one with outcomes), the fixture
//! ledgers of both versions, an upgraded ledger (version-1 segments, then version-2 ones, whose
//! versions may never go back), and multi-segment ledgers written by the engine with outcomes
//! and a segment of outcomes only; it holds the engine's head digests (seq, row_hash and
//! timestamp) and computes latencies of extreme timestamps as the engine does.
//!
//! Skipped, with a notice, when `python3` is not on PATH; a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (tests/support/python.rs), as in CI.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod auditor_support;

use std::path::PathBuf;

use auditor_support::python;
use auditor_support::*;
use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::input::parse_signal_line;
use signal_ledger_engine::record::{Decision, Outcome};
use signal_ledger_engine::{
    verify, CorruptKind, Digest, Durability, Ledger, PersistenceConfig, Snapshot, VerifyOptions,
};

#[test]
fn committed_test_vector_ledgers_are_intact() {
    if !python::python_or_skip() {
        return;
    }
    let head = "05b0bd5fb5c1daf7c2c514cae282048b148db95d837665c4ce7f61ade2a3fa4c";
    for name in ["ledger-3-entries", "ledger-3-entries-sealed"] {
        let dir = root().join("docs/test-vectors").join(name);
        assert_eq!(audit(&dir, &[]), (0, intact_line(3, head)), "{name}");
        assert_eq!(engine_head(&dir), head);
    }
    // The version-2 ledger: the head its vectors name, for the engine and the auditor alike,
    // and its head digest is held.
    let meta = &outcome_vectors()["ledgers"][V2_LEDGER];
    let head = meta["head_row_hash"].as_str().unwrap();
    let dir = root().join("docs/test-vectors").join(V2_LEDGER);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(5, head)));
    let tmp = tempfile::tempdir().unwrap();
    let digest = tmp.path().join("digest.json");
    std::fs::write(&digest, meta["head_digest"].as_str().unwrap()).unwrap();
    let (code, out) = audit(&dir, &["--against", digest.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with(&format!("seq 4 row_hash {head} is held\n")),
        "{out}"
    );
}

#[test]
fn fixture_ledgers_of_both_versions_are_intact_with_their_digests() {
    // tests/fixtures: a ledger written by the version-1 engine and one by the version-2 engine.
    if !python::python_or_skip() {
        return;
    }
    for name in ["ledger-v1", "ledger-v2"] {
        let dir = root().join("tests/fixtures").join(name);
        let digest_path = root().join(format!("tests/fixtures/{name}.digest.json"));
        let digest = Digest::parse(&std::fs::read_to_string(&digest_path).unwrap()).unwrap();
        let head = engine_head(&dir);
        assert_eq!(head, digest.row_hash.to_hex(), "{name}");
        let (code, out) = audit(&dir, &["--against", digest_path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(
            out.starts_with(&intact_line(digest.seq + 1, &head)),
            "{name}: {out}"
        );
        assert!(out.contains("is held"), "{name}: {out}");
    }
}

#[test]
fn an_upgraded_ledger_is_intact_and_segment_versions_never_decrease() {
    // FORMAT.md, "Segment header": versions 1..=2, never lower than the previous segment's. The
    // version-1 fixture ledger, upgraded and given outcomes of its old signals, holds version-1
    // segments then version-2 ones, and is intact for both; a version-2 segment followed by a
    // version-1 one is refused at the later segment's header.
    if !python::python_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    copy_dir(&root().join("tests/fixtures/ledger-v1"), &dir);
    Ledger::upgrade(&dir).unwrap();
    let snapshot = Snapshot::open(&dir).unwrap();
    let ids: Vec<String> = [0u64, 13, 59]
        .iter()
        .map(|&seq| snapshot.get(seq).unwrap().unwrap().signal.signal_id)
        .collect();
    drop(snapshot);
    let mut ledger = Ledger::open(&dir).unwrap();
    let outcomes: Vec<Outcome> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Outcome {
            signal_id: id.clone(),
            decision: Decision::from_acted(i % 2 == 0),
            execution_id: (i % 2 == 0).then(|| format!("ex-{i}")),
            reason: Some("après l'audit".into()),
            decided_at_ns: 1_767_623_400_000_000_000 + i as i64,
        })
        .collect();
    let head = ledger
        .append_outcomes(&outcomes)
        .unwrap()
        .head_hash
        .to_hex();
    drop(ledger);
    let segments: Vec<PathBuf> = Snapshot::open(&dir)
        .unwrap()
        .segments()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    let versions: Vec<u16> = segments
        .iter()
        .map(|p| u16::from_le_bytes(std::fs::read(p).unwrap()[8..10].try_into().unwrap()))
        .collect();
    assert_eq!(versions, [1, 1, 1, 1, 1, 2]);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(63, &head)));

    // The first segment made version 2 (CRC fixed): the second, of version 1, goes back.
    let mut first = std::fs::read(&segments[0]).unwrap();
    set_header_version(&mut first, 2, true);
    std::fs::write(&segments[0], &first).unwrap();
    let second = segments[1]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let failure = both_refuse_in(&dir, &second, 0, 12, "versions never decrease");
    assert!(
        matches!(failure.kind, CorruptKind::HeaderMismatch(_)),
        "{failure}"
    );
    writer_refuses_at(&dir, 0, 12);
}

#[test]
fn engine_ledger_with_outcomes_is_intact_for_both() {
    // Outcomes appended by the engine across small segments, one of them holding outcomes only
    // (its trailer's timestamp range is i64::MAX, i64::MIN); digests of a signal and of an
    // outcome are held.
    if !python::python_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let config = PersistenceConfig {
        segment_size_bytes: 4096,
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let signals: Vec<_> = DemoGenerator::new(&DemoConfig {
        count: 40,
        ..DemoConfig::default()
    })
    .collect();
    let mut ledger = Ledger::create(&dir, config).unwrap();
    let ids = ledger.append(&signals).unwrap().signal_ids;
    let mut head = None;
    for batch in 0..6u64 {
        let outcomes: Vec<Outcome> = (0..20u64)
            .map(|i| {
                let n = batch * 20 + i;
                Outcome {
                    signal_id: ids[(n * 7 % ids.len() as u64) as usize].clone(),
                    decision: Decision::from_acted(n % 3 != 0),
                    execution_id: (n % 2 == 0).then(|| format!("ex-{n:04}")),
                    reason: (n % 5 != 0).then(|| format!("décision n° {n}")),
                    decided_at_ns: 1_767_623_400_000_000_000 + n as i64 * 1_000_000,
                }
            })
            .collect();
        head = Some(
            ledger
                .append_outcomes(&outcomes)
                .unwrap()
                .head_hash
                .to_hex(),
        );
    }
    let head = head.unwrap();
    drop(ledger);

    let snapshot = Snapshot::open(&dir).unwrap();
    let outcomes_only = snapshot
        .segments()
        .iter()
        .filter_map(|s| s.trailer.as_ref())
        .filter(|t| (t.min_timestamp_ns, t.max_timestamp_ns) == (i64::MAX, i64::MIN))
        .count();
    assert!(outcomes_only >= 1, "a sealed segment of outcomes only");
    let count = snapshot.next_seq();
    assert_eq!(count, 40 + 120);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(count, &head)));
    let digests = tmp.path().join("digests");
    std::fs::create_dir_all(&digests).unwrap();
    for (name, digest) in [
        ("head.json", Digest::of_head(&snapshot).unwrap().unwrap()),
        ("signal.json", Digest::at(&snapshot, 10).unwrap().unwrap()),
        ("outcome.json", Digest::at(&snapshot, 100).unwrap().unwrap()),
    ] {
        let path = digests.join(name);
        std::fs::write(&path, digest.to_json() + "\n").unwrap();
        let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(
            out.contains(&format!("seq {} row_hash", digest.seq)),
            "{out}"
        );
    }
}

#[test]
fn a_digest_must_match_the_timestamp_too() {
    // FORMAT.md, "Head digests": seq, row_hash and recorded_at are compared.
    if !python::python_or_skip() {
        return;
    }
    let dir = root().join("docs/test-vectors/ledger-3-entries");
    let snapshot = Snapshot::open(&dir).unwrap();
    let mut digest = Digest::of_head(&snapshot).unwrap().unwrap();
    digest.recorded_at_ns += 1;
    let err = digest.check(&snapshot).unwrap_err();
    assert!(matches!(err.kind, CorruptKind::DigestMismatch(_)), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("digest.json");
    std::fs::write(&path, digest.to_json()).unwrap();
    let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "TAMPERED: {SEG0} byte {} seq 2: digest mismatch",
            err.offset
        )),
        "{out}"
    );
    assert!(out.contains("recorded_at"), "{out}");
}

#[test]
fn latency_of_extreme_timestamps_agrees() {
    // FORMAT.md, "Signal entry", latency_ms: the exact ns difference (beyond i64, and beyond 2^53) rounded once.
    if !python::python_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let config = PersistenceConfig {
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let mut ledger = Ledger::create(&dir, config).unwrap();
    let line = |ts: &str| {
        parse_signal_line(&format!(
            r#"{{"source_module":"m","ticker":"X","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"{ts}"}}"#
        ))
        .unwrap()
    };
    let signals = [
        line("1677-09-21T00:12:43.145224192Z"),
        line("2262-04-11T23:47:16.854775807Z"),
        line("1970-01-01T00:00:00.000000001Z"),
        line("2001-02-03T04:05:06.789012345+09:30"),
    ];
    let head = ledger.append_valid(&signals).unwrap().head_hash;
    drop(ledger);
    assert!(verify(&Snapshot::open(&dir).unwrap(), VerifyOptions::default()).is_intact());
    assert_eq!(audit(&dir, &[]), (0, intact_line(4, &head.to_hex())));
}
