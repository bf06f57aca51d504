//! Retention removes expired sealed segments whole, oldest first, each after a retention anchor
//! in the check log; what remains verifies from the anchors; a digest of a removed seq says it
//! was removed; a segment removed by hand (middle or first) and an edited anchor are detected; a
//! legal hold keeps everything; an interrupted run is finished without a second anchor.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use signal_ledger::engine::checklog::{read_check_log, CHECK_LOG_FILE};
use signal_ledger::engine::segment::SegmentHeader;
use signal_ledger::engine::{
    verify, CorruptKind, Digest, Ledger, PersistenceConfig, Snapshot, VerifyOptions,
};
use support::*;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// A ledger of 40 batches of 25 signals in 8 KiB segments, a millisecond apart (so segments
/// are created at distinct instants), keeping 1 day.
fn ledger() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let config = PersistenceConfig {
        retention_days: 1,
        ..small_segments(8 * 1024)
    };
    let mut ledger = Ledger::create(&path, config).unwrap();
    for batch in demo_signals(1000, 21).chunks(25) {
        ledger.append(batch).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    (tmp, path)
}

fn created_at(segment: &Path) -> i64 {
    SegmentHeader::decode(&std::fs::read(segment).unwrap())
        .unwrap()
        .created_at_ns
}

/// The `now` at which exactly the first `k` segments have expired (1 day of retention): just
/// over one day after the creation of segment `k` (a segment counts as recorded by the time
/// the next one was created).
fn now_expiring_first(path: &Path, k: usize) -> i64 {
    let segments = segments(path);
    assert!(created_at(&segments[k]) < created_at(&segments[k + 1]));
    created_at(&segments[k]) + DAY_NS + 1
}

/// A copy of the ledger at `path` without the file `removed` (one of its segments).
fn copy_without(path: &Path, removed: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("l");
    copy_ledger(path, &copy);
    std::fs::remove_file(copy.join(removed.file_name().unwrap())).unwrap();
    (tmp, copy)
}

fn intact(path: &Path) -> (u64, u64) {
    let snap = Snapshot::open(path).unwrap();
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    (snap.first_seq(), report.records_checked)
}

#[test]
fn retention_removes_a_prefix_and_what_remains_verifies_from_the_anchors() {
    let (_tmp, path) = ledger();
    let before = segments(&path);
    assert!(before.len() > 8, "{} segments", before.len());
    let head = Digest::of_head(&Snapshot::open(&path).unwrap())
        .unwrap()
        .unwrap();
    let early = Digest::at(&Snapshot::open(&path).unwrap(), 5)
        .unwrap()
        .unwrap();
    let first_last_seq = {
        let snap = Snapshot::open(&path).unwrap();
        snap.segments()[0].trailer.unwrap().last_seq
    };
    let boundary = Digest::at(&Snapshot::open(&path).unwrap(), first_last_seq)
        .unwrap()
        .unwrap();
    let mut ledger = Ledger::open(&path).unwrap();
    let now = now_expiring_first(&path, 3);
    let plan = ledger.retention_plan(now);
    assert_eq!(plan.expired.len(), 3, "{plan:?}");
    assert!(!plan.applied);
    assert_eq!(segments(&path), before, "a dry run changes nothing");
    let done = ledger.apply_retention(now).unwrap();
    assert!(done.applied);
    assert_eq!(
        done.expired
            .iter()
            .map(|e| e.anchor_seq)
            .collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    assert_eq!(segments(&path), before[3..]);
    for removed in &before[..3] {
        assert!(!removed.with_extension("idx").exists());
    }
    // Appends go on; what remains verifies, from where the anchors say.
    ledger.append(&demo_signals(10, 3)).unwrap();
    drop(ledger);
    let first_held = done.expired[2].last_seq + 1;
    let (first, checked) = intact(&path);
    assert_eq!(first, first_held);
    assert_eq!(checked, 1010 - first_held);
    let anchors: Vec<_> = read_check_log(&path).unwrap().anchors().cloned().collect();
    assert_eq!(anchors.len(), 3);
    assert_eq!(
        (anchors[0].first_seq, anchors[2].last_seq + 1),
        (0, first_held)
    );
    // The head digest taken before still checks; one of a removed seq says what happened.
    let snap = Snapshot::open(&path).unwrap();
    head.check(&snap).unwrap();
    let pruned = early.check(&snap).unwrap_err();
    assert!(
        matches!(pruned.kind, CorruptKind::DigestPruned(_)),
        "{pruned}"
    );
    let message = pruned.to_string();
    assert!(
        message.contains("seq 5 was removed by retention"),
        "{message}"
    );
    assert!(
        message.contains(&format!("the ledger now starts at seq {first_held}")),
        "{message}"
    );
    let at_boundary = boundary.check(&snap).unwrap_err().to_string();
    assert!(
        at_boundary.contains("the anchor records this same row_hash"),
        "{at_boundary}"
    );
    // The writer opens a pruned ledger and nothing is left to remove at the same instant.
    let mut ledger = Ledger::open(&path).unwrap();
    assert!(ledger.apply_retention(now).unwrap().expired.is_empty());
}

#[test]
fn segments_removed_by_hand_are_detected() {
    let (_tmp, path) = ledger();
    let mut ledger = Ledger::open(&path).unwrap();
    ledger
        .apply_retention(now_expiring_first(&path, 2))
        .unwrap();
    drop(ledger);
    let held = segments(&path);
    // A middle segment.
    let (_t1, middle) = copy_without(&path, &held[3]);
    let report = verify(&Snapshot::open(&middle).unwrap(), VerifyOptions::default());
    let failure = report.first_failure.unwrap();
    assert!(
        matches!(failure.kind, CorruptKind::MissingSegment { .. }),
        "{failure}"
    );
    // The first held segment: no anchor accounts for it.
    let (_t2, first) = copy_without(&path, &held[0]);
    let snap = Snapshot::open(&first).unwrap();
    let damage = snap.damage().unwrap().clone();
    assert!(
        matches!(damage.kind, CorruptKind::MissingSegment { .. }),
        "{damage}"
    );
    let first_held = SegmentHeader::decode(&std::fs::read(&held[0]).unwrap())
        .unwrap()
        .first_seq;
    assert_eq!(damage.seq, Some(first_held));
    assert!(!verify(&snap, VerifyOptions::default()).is_intact());
    assert!(Ledger::open(&first).is_err());
}

#[test]
fn an_edited_anchor_is_detected() {
    let (_tmp, path) = ledger();
    let mut ledger = Ledger::open(&path).unwrap();
    ledger
        .apply_retention(now_expiring_first(&path, 2))
        .unwrap();
    drop(ledger);
    let log = path.join(CHECK_LOG_FILE);
    // The second anchor's last_row_hash (the link to what remains) starts at body byte 96.
    let second = 80 + (8 + 232) + 8;
    // As the last entry of the log, an edit cannot be told from an append cut short: it is
    // reported as a torn tail, and the ledger no longer shows where it starts.
    flip_byte(&log, (second + 100) as u64, 0x10);
    let read = read_check_log(&path).unwrap();
    assert_eq!((read.damage.is_none(), read.torn_bytes), (true, 240));
    let snap = Snapshot::open(&path).unwrap();
    assert!(matches!(
        snap.damage().unwrap().kind,
        CorruptKind::MissingSegment { .. }
    ));
    flip_byte(&log, (second + 100) as u64, 0x10);
    // With an entry after it, the same edit is damage at its seq.
    signal_ledger::engine::checklog::run_check(
        &path,
        signal_ledger::engine::checklog::CheckRequest::Full,
    )
    .unwrap();
    flip_byte(&log, (second + 100) as u64, 0x10);
    let read = read_check_log(&path).unwrap();
    assert_eq!(read.damage.as_ref().unwrap().seq, Some(1));
    assert!(Snapshot::open(&path).unwrap().damage().is_some());
}

#[test]
fn a_legal_hold_keeps_everything() {
    let (_tmp, path) = ledger();
    let before = segments(&path);
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.set_legal_hold(true).unwrap();
    let plan = ledger.apply_retention(i64::MAX / 2).unwrap();
    assert!(plan.legal_hold && plan.expired.is_empty(), "{plan:?}");
    assert_eq!(segments(&path), before);
    drop(ledger);
    // The hold is kept in ledger.toml, for every later writer.
    let mut ledger = Ledger::open(&path).unwrap();
    assert!(ledger.config().legal_hold);
    assert!(ledger
        .apply_retention(i64::MAX / 2)
        .unwrap()
        .expired
        .is_empty());
    ledger.set_legal_hold(false).unwrap();
    let plan = ledger.apply_retention(i64::MAX / 2).unwrap();
    assert_eq!(
        plan.expired.len(),
        before.len() - 1,
        "all but the active segment"
    );
    drop(ledger);
    intact(&path);
}

#[test]
fn an_interrupted_run_is_finished_without_a_second_anchor() {
    let (_tmp, path) = ledger();
    let first = segments(&path)[0].clone();
    let saved = std::fs::read(&first).unwrap();
    let mut ledger = Ledger::open(&path).unwrap();
    let now = now_expiring_first(&path, 1);
    ledger.apply_retention(now).unwrap();
    drop(ledger);
    // As if the run crashed after the anchor, before the delete: the segment is back.
    std::fs::write(&first, &saved).unwrap();
    let (start, _) = intact(&path);
    assert_eq!(start, 0, "a present segment is read, its anchor ignored");
    let mut ledger = Ledger::open(&path).unwrap();
    let again = ledger.apply_retention(now).unwrap();
    assert_eq!(again.expired[0].anchor_seq, Some(0));
    drop(ledger);
    assert_eq!(read_check_log(&path).unwrap().anchors().count(), 1);
    assert!(!first.exists());
    intact(&path);
}

#[test]
fn a_damaged_segment_is_not_removed() {
    let (_tmp, path) = ledger();
    let first = segments(&path)[0].clone();
    flip_byte(&first, frame_offsets(&first)[2] + 50, 0x01);
    let mut ledger = Ledger::open(&path).unwrap();
    let err = ledger
        .apply_retention(now_expiring_first(&path, 2))
        .unwrap_err();
    assert_eq!(err.corruption().unwrap().seq, Some(2), "{err}");
    assert!(first.exists());
    assert_eq!(read_check_log(&path).unwrap().anchors().count(), 0);
}
