//! An append that fails part-way (disk full while writing, a failed sync, a failure while rolling
//! to a new segment) leaves nothing behind: the files are exactly as before, the error names the
//! file, and the same writer appends again once the fault is gone.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::sync::atomic::Ordering;

use signal_ledger::engine::{verify, Ledger, LedgerError, Snapshot, VerifyOptions};
use support::faults::faulty_ledger;
use support::*;

#[test]
fn disk_full_at_every_point_of_a_batch_that_rolls_segments_leaves_no_trace() {
    let batch = demo_signals(400, 11);
    // Budgets from "nothing fits" to "all but the last bytes fit", crossing segment rolls.
    for budget in [0i64, 1, 500, 20_000, 40_000, 70_000, 100_000, 130_000] {
        let (_tmp, path, mut ledger, faults) = faulty_ledger(32 * 1024);
        let before = dir_image(&path);
        let head = ledger.head();
        faults.budget.store(budget, Ordering::SeqCst);
        let err = ledger.append(&batch).unwrap_err();
        assert!(
            matches!(err, LedgerError::Io { .. }),
            "budget {budget}: {err}"
        );
        assert!(
            err.to_string().contains(".seg"),
            "the error names the file: {err}"
        );
        assert_same_entries(&before, &dir_image(&path), &format!("budget {budget}"));
        assert_eq!(ledger.head(), head);
        // Space returns: the same writer appends, and the result verifies.
        faults.budget.store(i64::MAX, Ordering::SeqCst);
        let r = ledger.append(&batch).unwrap();
        assert_eq!(r.first_seq, 100);
        drop(ledger);
        let snap = Snapshot::open(&path).unwrap();
        assert_eq!(snap.record_count(), 500);
        assert!(verify(&snap, VerifyOptions::default()).is_intact());
    }
}

#[test]
fn a_failed_sync_is_not_acknowledged_and_leaves_no_trace() {
    let (_tmp, path, mut ledger, faults) = faulty_ledger(1 << 20);
    let before = dir_image(&path);
    faults.fail_sync.store(true, Ordering::SeqCst);
    let err = ledger.append(&demo_signals(10, 5)).unwrap_err();
    assert!(err.to_string().contains("fdatasync"), "{err}");
    // The rollback's own sync fails too, so the writer refuses until reopened…
    let again = ledger.append(&demo_signals(1, 6)).unwrap_err();
    assert!(matches!(again, LedgerError::Poisoned(_)), "{again}");
    faults.fail_sync.store(false, Ordering::SeqCst);
    drop(ledger);
    // …and reopening finds exactly the state before the failed append.
    let mut ledger = Ledger::open(&path).unwrap();
    assert_eq!(dir_image(&path), before);
    assert_eq!(ledger.next_seq(), 100);
    ledger.append(&demo_signals(10, 5)).unwrap();
}

#[test]
fn reopening_a_poisoned_writer_removes_what_its_failed_append_left() {
    // Small segments, so the append (too large for the active segment) starts a new one and
    // writes part of itself there before the disk fills; then undoing it (a truncate) fails:
    // whole frames of it stay on disk.
    let (_tmp, path, mut ledger, faults) = faulty_ledger(32 * 1024);
    let before = dir_image(&path);
    faults.budget.store(10_000, Ordering::SeqCst);
    faults.fail_set_len.store(true, Ordering::SeqCst);
    ledger.append(&demo_signals(400, 12)).unwrap_err();
    assert!(ledger.poisoned().is_some());
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    faults.fail_set_len.store(false, Ordering::SeqCst);
    assert_ne!(
        dir_image(&path),
        before,
        "the failed append left bytes behind"
    );
    // `reopen` removes them (a plain open would keep the whole frames as entries).
    let mut ledger = ledger.reopen().unwrap();
    assert_eq!(ledger.next_seq(), 100);
    assert!(ledger.poisoned().is_none());
    assert_eq!(ledger.append(&demo_signals(10, 13)).unwrap().first_seq, 100);
    drop(ledger);
    let snap = Snapshot::open(&path).unwrap();
    assert_eq!(snap.record_count(), 110);
    assert!(verify(&snap, VerifyOptions::default()).is_intact());
}

#[test]
fn an_append_too_large_for_a_segment_holding_entries_seals_it_first() {
    // Readers map sealed segments, so undoing a failed append must never shrink one: an append
    // that would not fit in what is left of a segment holding entries seals that segment
    // first, with only its earlier (acknowledged) entries, and starts in a new one.
    let (_tmp, path, _) = build_ledger(3, 3, small_segments(32 * 1024));
    let before = std::fs::read(&segments(&path)[0]).unwrap();
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.append(&demo_signals(400, 11)).unwrap();
    let sealed = ledger.sealed_segments().to_vec();
    assert!(sealed.len() >= 3, "{} sealed", sealed.len());
    assert_eq!(sealed[0].trailer.record_count, 3);
    assert_eq!(sealed[0].records_end, before.len() as u64);
    let first = std::fs::read(&segments(&path)[0]).unwrap();
    assert_eq!(
        &first[..before.len()],
        &before[..],
        "earlier entries untouched"
    );
    assert_eq!(
        first.len(),
        before.len() + signal_ledger::engine::segment::TRAILER_LEN
    );
    // A batch that fits stays in the active segment.
    let active = segments(&path).pop().unwrap();
    let active_len = std::fs::metadata(&active).unwrap().len();
    ledger.append(&demo_signals(2, 12)).unwrap();
    assert_eq!(ledger.sealed_segments().len(), sealed.len());
    assert!(std::fs::metadata(&active).unwrap().len() > active_len);
    drop(ledger);
    assert!(verify(&Snapshot::open(&path).unwrap(), VerifyOptions::default()).is_intact());
}
