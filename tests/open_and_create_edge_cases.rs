//! The writer's open and create handle the edges of a crash or a foreign file without losing or
//! inventing data: an interrupted create is finished, foreign files are left alone, reserved entry
//! kinds are refused, recorded_at never goes back across sessions, and bytes smuggled in front of
//! the last trailer are found by verify.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use signal_ledger::engine::record::frame::{begin_frame, finish_frame};
use signal_ledger::engine::{
    verify, CorruptKind, Ledger, LedgerError, PersistenceConfig, Snapshot, VerifyOptions,
};
use support::*;

#[test]
fn an_interrupted_create_is_finished_by_the_next_create() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    std::fs::create_dir(&path).unwrap();
    // What a create that crashed before writing ledger.toml leaves behind.
    std::fs::write(path.join("LOCK"), "pid 1").unwrap();
    std::fs::write(path.join("00000000000000000000.seg"), [0u8; 40]).unwrap();
    std::fs::write(path.join("ledger.toml.tmp"), "format_vers").unwrap();
    let mut ledger = Ledger::create(&path, PersistenceConfig::default()).unwrap();
    ledger.append(&demo_signals(3, 1)).unwrap();
    assert!(!path.join("ledger.toml.tmp").exists());
    // A foreign file still makes the directory someone else's.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let err = Ledger::create(&other, PersistenceConfig::default()).unwrap_err();
    assert!(
        matches!(err, LedgerError::DirectoryNotEmpty { .. }),
        "{err}"
    );
}

#[test]
fn open_removes_only_its_own_temporaries() {
    let (_tmp, path, _) = build_ledger(5, 5, PersistenceConfig::default());
    let ours = [
        "00000000000000000005.seg.tmp",
        "sink-metrics.json.tmp",
        "00000000000000000000.idx.4242000007.tmp",
    ];
    let theirs = [
        "backup.tmp",
        "00000000000000000000.idx.tmp",
        "00000000000000000000.idx.42x.tmp",
        "0000.idx.42.tmp",
        "notes.idx.42.tmp",
    ];
    for name in ours.iter().chain(&theirs) {
        std::fs::write(path.join(name), b"partial").unwrap();
    }
    drop(Ledger::open(&path).unwrap());
    for name in ours {
        assert!(!path.join(name).exists(), "{name} is the ledger's own");
    }
    for name in theirs {
        assert!(path.join(name).exists(), "{name} is left alone");
    }
}

#[test]
fn a_reserved_entry_kind_in_the_active_segment_is_refused() {
    let (_tmp, path, receipts) = build_ledger(5, 5, PersistenceConfig::default());
    let seg = segments(&path).pop().unwrap();
    // A well-formed frame of kind 0x03 (integrity check: reserved, never in a segment),
    // correctly linked.
    let mut body = vec![0u8; 16];
    body[0] = 0x03;
    body[8..16].copy_from_slice(&5u64.to_le_bytes());
    body.extend_from_slice(&receipts[0].head_hash.0);
    body.extend_from_slice(&[7u8; 32]);
    let mut frame = Vec::new();
    let start = begin_frame(&mut frame);
    frame.extend_from_slice(&body);
    finish_frame(&mut frame, start);
    let mut bytes = std::fs::read(&seg).unwrap();
    let offset = bytes.len() as u64;
    bytes.extend_from_slice(&frame);
    std::fs::write(&seg, bytes).unwrap();
    let err = Ledger::open(&path).unwrap_err();
    let c = err.corruption().unwrap();
    assert_eq!((c.seq, c.offset), (Some(5), offset));
    assert!(
        matches!(&c.kind, CorruptKind::Malformed(m) if m.contains("not allowed in a segment of format version 2")),
        "{c}"
    );
}

#[test]
fn recorded_at_never_goes_back_across_sessions_and_segment_rolls() {
    let (_tmp, path, _) = build_ledger(300, 100, small_segments(16 * 1024));
    for _ in 0..3 {
        let mut ledger = Ledger::open(&path).unwrap();
        ledger.append(&demo_signals(40, 5)).unwrap();
    }
    let snap = Snapshot::open(&path).unwrap();
    let mut last = i64::MIN;
    for e in snap.entries() {
        let rec = snap.decode_record(&e.unwrap()).unwrap();
        assert!(rec.recorded_at_ns >= last, "seq {} went back", rec.seq);
        last = rec.recorded_at_ns;
    }
    // Every segment is created no earlier than any entry before it.
    for s in snap.segments().iter().skip(1) {
        let before = snap.get(s.first_seq() - 1).unwrap().unwrap();
        assert!(s.header.created_at_ns >= before.recorded_at_ns);
    }
}

#[test]
fn bytes_inserted_before_the_last_trailer_are_found() {
    let (_tmp, path, sealed) = ledger_ending_in_a_sealed_segment();
    let snap = Snapshot::open(&path).unwrap();
    assert!(verify(&snap, VerifyOptions::default()).is_intact());
    drop(snap);
    let mut bytes = std::fs::read(&sealed).unwrap();
    let trailer_at = bytes.len() - 96;
    bytes.splice(trailer_at..trailer_at, [0xEEu8; 10]);
    std::fs::write(&sealed, bytes).unwrap();
    let snap = Snapshot::open(&path).unwrap();
    let failure = verify(&snap, VerifyOptions::default())
        .first_failure
        .unwrap();
    assert_eq!(failure.file, sealed);
    assert!(
        matches!(failure.kind, CorruptKind::TrailerMismatch(_)),
        "{failure}"
    );
}
