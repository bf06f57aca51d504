//! A sink whose append fails — disk full part-way through, a failed sync, even a rollback that
//! fails and poisons the writer — fails exactly the handles of that append with an error naming
//! the segment file, keeps no part of it, and goes on persisting later signals once the fault
//! is gone, without being restarted.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_ledger::engine::sink::{Durable, DurableHandle, PersistError};
use signal_ledger::engine::{
    verify, LedgerError, Signal, SignalRecord, SignalSink, SinkConfig, Snapshot, VerifyOptions,
};
use support::faults::faulty_ledger;
use support::*;

/// How long the sink waits to fill a group: far longer than any of these tests runs.
const LINGER: Duration = Duration::from_secs(60);

/// Groups form only when the test flushes: nothing is committed for size, nor on a timer within
/// the test's run time.
fn flush_only() -> SinkConfig {
    SinkConfig {
        batch_size: 100_000,
        flush_interval: LINGER,
        ..SinkConfig::default()
    }
}

/// Records `signals`, the first half one by one and the rest as one batch, and flushes them as
/// one append; returns the flush's outcome and every signal's.
fn commit_one_group(
    sink: &SignalSink,
    signals: &[Signal],
) -> (Result<(), PersistError>, Vec<Result<Durable, PersistError>>) {
    let half = signals.len() / 2;
    let singles: Vec<DurableHandle> = signals[..half]
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    let batch = sink.record_batch(signals[half..].to_vec()).unwrap();
    assert!(
        singles.iter().all(|h| h.try_result().is_none()),
        "nothing commits before the flush"
    );
    let started = Instant::now();
    let flushed = sink.flush();
    assert!(
        started.elapsed() < LINGER / 2,
        "flush waited for the interval instead of committing at once"
    );
    let mut outcomes: Vec<_> = singles
        .iter()
        .map(|h| h.try_result().expect("complete once flush returns"))
        .collect();
    match batch.wait() {
        Ok(durables) => outcomes.extend(durables.into_iter().map(Ok)),
        Err(e) => outcomes.extend(std::iter::repeat_n(Err(e), signals.len() - half)),
    }
    (flushed, outcomes)
}

/// The append error behind every outcome; all must have failed with the same one.
fn the_append_error(outcomes: &[Result<Durable, PersistError>]) -> Arc<LedgerError> {
    let errors: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Err(PersistError::Append(e)) => e.clone(),
            other => panic!("expected an append error, got {other:?}"),
        })
        .collect();
    let first = errors[0].clone();
    assert!(errors
        .iter()
        .all(|e| Arc::ptr_eq(e, &first) || e.to_string() == first.to_string()));
    first
}

/// The one failure every outcome reports: the append failed and removing what it wrote failed
/// too. Returns both errors.
fn the_append_not_undone(
    outcomes: &[Result<Durable, PersistError>],
) -> (Arc<LedgerError>, Arc<LedgerError>) {
    let errors: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Err(PersistError::AppendNotUndone { error, cleanup }) => {
                (error.clone(), cleanup.clone())
            }
            other => panic!("expected an append that could not be undone, got {other:?}"),
        })
        .collect();
    let first = errors[0].clone();
    assert!(
        errors
            .iter()
            .all(|(e, c)| e.to_string() == first.0.to_string()
                && c.to_string() == first.1.to_string())
    );
    first
}

fn all_durable(outcomes: Vec<Result<Durable, PersistError>>) -> Vec<Durable> {
    outcomes.into_iter().map(Result::unwrap).collect()
}

/// Segment files and their bytes.
fn segment_image(dir: &Path) -> Vec<(String, Vec<u8>)> {
    dir_image(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".seg"))
        .collect()
}

/// Every record by signal_id, after checking the ledger verifies and holds `count` records.
fn read_back(dir: &Path, count: u64) -> HashMap<String, SignalRecord> {
    let snap = Snapshot::open(dir).unwrap();
    assert!(snap.damage().is_none() && snap.torn_tail().is_none());
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    assert_eq!(snap.record_count(), count);
    let by_id: HashMap<String, SignalRecord> = snap
        .entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .map(|r| (r.signal.signal_id.clone(), r))
        .collect();
    assert_eq!(by_id.len() as u64, count, "a signal_id stored twice");
    by_id
}

fn assert_stored_as_acknowledged(
    stored: &HashMap<String, SignalRecord>,
    signals: &[Signal],
    durables: &[Durable],
) {
    for (s, d) in signals.iter().zip(durables) {
        let r = &stored[&s.signal_id];
        assert_eq!((r.seq, r.row_hash), (d.seq, d.row_hash), "{}", s.signal_id);
        assert_eq!(&r.signal, s);
    }
}

fn assert_absent(stored: &HashMap<String, SignalRecord>, signals: &[Signal]) {
    for s in signals {
        assert!(
            !stored.contains_key(&s.signal_id),
            "{} was refused by a failed append but is in the ledger",
            s.signal_id
        );
    }
}

fn seqs(durables: &[Durable]) -> Vec<u64> {
    durables.iter().map(|d| d.seq).collect()
}

#[test]
fn disk_full_and_failed_sync_fail_only_their_append_and_the_sink_carries_on() {
    let (_tmp, path, ledger, faults) = faulty_ledger(32 * 1024);
    let sink = SignalSink::start(ledger, flush_only()).unwrap();
    let before = tagged(40, 1, "before");
    let full = tagged(200, 2, "full");
    let after = tagged(40, 3, "after");
    let unsynced = tagged(10, 4, "unsynced");
    let resynced = tagged(10, 5, "resynced");

    let (flushed, outcomes) = commit_one_group(&sink, &before);
    flushed.unwrap();
    let before_d = all_durable(outcomes);
    assert_eq!(seqs(&before_d), (100..140).collect::<Vec<_>>());
    let image = segment_image(&path);

    // The disk fills part-way through an append that rolls a segment.
    faults.budget.store(40_000, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &full);
    let error = the_append_error(&outcomes);
    assert!(
        matches!(flushed, Err(PersistError::Append(_))),
        "{flushed:?}"
    );
    assert!(
        matches!(*error, LedgerError::Io { .. }),
        "disk full is an I/O error: {error}"
    );
    let text = PersistError::Append(error.clone()).to_string();
    assert!(text.contains(".seg"), "the error names the file: {text}");
    assert!(text.contains(path.to_str().unwrap()), "{text}");
    assert_same_entries(&image, &segment_image(&path), "the failed append");

    // Space again: the same sink appends, from the seq after the last durable one.
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &after);
    flushed.unwrap();
    let after_d = all_durable(outcomes);
    assert_eq!(seqs(&after_d), (140..180).collect::<Vec<_>>());

    // A sync that fails: not acknowledged (and, as the rollback's own sync fails too, the
    // writer is poisoned)…
    let image = segment_image(&path);
    faults.fail_sync.store(true, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &unsynced);
    assert!(flushed.is_err());
    let error = the_append_error(&outcomes);
    assert!(error.to_string().contains("fdatasync"), "{error}");
    assert!(error.to_string().contains(".seg"), "{error}");
    assert_eq!(
        segment_image(&path),
        image,
        "the unsynced append left bytes"
    );
    // …and once syncs work again the sink reopens the writer and carries on.
    faults.fail_sync.store(false, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &resynced);
    flushed.unwrap();
    let resynced_d = all_durable(outcomes);
    assert_eq!(seqs(&resynced_d), (180..190).collect::<Vec<_>>());

    let m = sink.shutdown();
    assert_eq!(m.durable, 90);
    assert_eq!(m.failed, 210);
    assert_eq!(m.failed_batches, 2);
    assert_eq!(m.batches, 3);
    assert_eq!(m.recorded, 300);
    assert!(
        m.last_error
            .as_deref()
            .is_some_and(|e| e.contains("fdatasync")),
        "{:?}",
        m.last_error
    );

    let stored = read_back(&path, 190);
    assert_stored_as_acknowledged(&stored, &before, &before_d);
    assert_stored_as_acknowledged(&stored, &after, &after_d);
    assert_stored_as_acknowledged(&stored, &resynced, &resynced_d);
    assert_absent(&stored, &full);
    assert_absent(&stored, &unsynced);
}

#[test]
fn disk_full_at_many_points_of_an_append_never_leaves_part_of_it() {
    for budget in [0i64, 1, 700, 20_000, 33_000, 60_000] {
        let (_tmp, path, ledger, faults) = faulty_ledger(32 * 1024);
        let sink = SignalSink::start(ledger, flush_only()).unwrap();
        let failing = tagged(200, 6, "failing");
        let image = segment_image(&path);
        faults.budget.store(budget, Ordering::SeqCst);
        let (flushed, outcomes) = commit_one_group(&sink, &failing);
        assert!(flushed.is_err(), "budget {budget}");
        the_append_error(&outcomes);
        assert_same_entries(&image, &segment_image(&path), &format!("budget {budget}"));
        faults.budget.store(i64::MAX, Ordering::SeqCst);
        let later = tagged(20, 7, "later");
        let (flushed, outcomes) = commit_one_group(&sink, &later);
        flushed.unwrap();
        let later_d = all_durable(outcomes);
        assert_eq!(seqs(&later_d), (100..120).collect::<Vec<_>>());
        drop(sink);
        let stored = read_back(&path, 120);
        assert_stored_as_acknowledged(&stored, &later, &later_d);
        assert_absent(&stored, &failing);
    }
}

#[test]
fn a_rollback_that_fails_poisons_the_writer_and_the_sink_reopens_it() {
    let (_tmp, path, ledger, faults) = faulty_ledger(1 << 20);
    let sink = SignalSink::start(ledger, flush_only()).unwrap();
    let first = tagged(10, 8, "first");
    let torn = tagged(10, 9, "torn");
    let still = tagged(10, 10, "still");
    let healed = tagged(10, 11, "healed");

    let (flushed, outcomes) = commit_one_group(&sink, &first);
    flushed.unwrap();
    let first_d = all_durable(outcomes);

    // The disk fills inside the first frame, and cutting the file back fails too: the writer
    // is poisoned, a torn frame left past the last whole entry. The sink's attempt to remove it
    // at once (a reopen) fails the same way, and the handles are told so.
    faults.budget.store(20, Ordering::SeqCst);
    faults.fail_set_len.store(true, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &torn);
    assert!(flushed.is_err());
    let (error, cleanup) = the_append_not_undone(&outcomes);
    assert!(error.to_string().contains(".seg"), "{error}");
    assert!(cleanup.to_string().contains("truncate"), "{cleanup}");

    // Space is back but truncation still fails: reopening (which must cut the torn tail) fails,
    // so the next append fails too, and says why.
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &still);
    assert!(flushed.is_err());
    let error = the_append_error(&outcomes);
    assert!(error.to_string().contains("truncate"), "{error}");
    assert!(error.to_string().contains(".seg"), "{error}");

    // Fault gone: the sink opens the ledger again (cutting the torn tail) and carries on, from
    // the seq after the last durable signal.
    faults.fail_set_len.store(false, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &healed);
    flushed.unwrap();
    let healed_d = all_durable(outcomes);
    assert_eq!(seqs(&healed_d), (110..120).collect::<Vec<_>>());

    let m = sink.shutdown();
    assert_eq!((m.durable, m.failed, m.failed_batches), (20, 20, 2));
    let stored = read_back(&path, 120);
    assert_stored_as_acknowledged(&stored, &first, &first_d);
    assert_stored_as_acknowledged(&stored, &healed, &healed_d);
    assert_absent(&stored, &torn);
    assert_absent(&stored, &still);
}

/// The same with whole frames of the failed append on disk when the rollback fails: the
/// reopened writer must not take them as entries, since their handles reported failure.
#[test]
fn a_failed_rollback_never_turns_a_failed_append_into_entries() {
    let (_tmp, path, ledger, faults) = faulty_ledger(1 << 20);
    let sink = SignalSink::start(ledger, flush_only()).unwrap();
    let failed = tagged(40, 12, "failed");
    let healed = tagged(10, 13, "healed");

    // About half of the append's frames fit before the disk is full; the rollback fails.
    faults.budget.store(10_000, Ordering::SeqCst);
    faults.fail_set_len.store(true, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &failed);
    assert!(flushed.is_err());
    the_append_not_undone(&outcomes);

    faults.budget.store(i64::MAX, Ordering::SeqCst);
    faults.fail_set_len.store(false, Ordering::SeqCst);
    let (flushed, outcomes) = commit_one_group(&sink, &healed);
    flushed.unwrap();
    let healed_d = all_durable(outcomes);
    drop(sink);

    let snap = Snapshot::open(&path).unwrap();
    let stored: HashMap<String, SignalRecord> = snap
        .entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .map(|r| (r.signal.signal_id.clone(), r))
        .collect();
    assert_absent(&stored, &failed);
    assert_eq!(seqs(&healed_d), (100..110).collect::<Vec<_>>());
    assert_eq!(snap.record_count(), 110);
}
