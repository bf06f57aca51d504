//! Through the sink, a signal_id is recorded once too: recording a signal the ledger holds
//! already gives its handle the original entry, marked `already_recorded`, and appends nothing;
//! a different signal with a taken id fails its own push only (the `record` or `record_batch`
//! call), with `PersistError::SignalIdTaken`, while the signals grouped or committed with it
//! are appended; the metrics count what was refused.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use signal_ledger::engine::sink::{Durable, PersistError};
use signal_ledger::engine::{
    verify, Ledger, PersistenceConfig, Signal, SignalRecord, SignalSink, SinkConfig, Snapshot,
    VerifyOptions,
};
use support::faults::{faulty_ledger, OpenOnDrop};
use support::*;

/// How long the sink waits to fill a group: far longer than any of these tests runs.
const LINGER: Duration = Duration::from_secs(60);

/// Groups form only when the test flushes, and hold everything recorded until then.
fn flush_only() -> SinkConfig {
    SinkConfig {
        batch_size: 100_000,
        flush_interval: LINGER,
        metrics_file: false,
        ..SinkConfig::default()
    }
}

/// Every `record` is a group of its own, and so is every `record_batch`; a writer that is
/// behind commits the groups waiting (up to 16 signals' worth here) in one append.
fn group_per_call() -> SinkConfig {
    SinkConfig {
        batch_size: 1,
        flush_interval: LINGER,
        metrics_file: false,
        ..SinkConfig::default()
    }
}

/// Every record, in seq order, after checking the ledger verifies.
fn records(dir: &Path) -> Vec<SignalRecord> {
    let snap = Snapshot::open(dir).unwrap();
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    snap.entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect()
}

/// Asserts `d` is where `signal` was appended by this handle (not recorded before).
fn assert_new_entry(stored: &[SignalRecord], d: &Durable, signal: &Signal) {
    let r = &stored[d.seq as usize];
    assert!(!d.already_recorded, "{d:?}");
    assert_eq!(
        (r.row_hash, r.recorded_at_ns),
        (d.row_hash, d.recorded_at_ns)
    );
    assert_eq!(&r.signal, signal);
}

/// The refusal of a signal whose id is taken; returns the seq it names.
fn id_taken(outcome: Result<impl std::fmt::Debug, PersistError>, id: &str) -> Option<u64> {
    match outcome {
        Err(PersistError::SignalIdTaken { signal_id, seq }) => {
            assert_eq!(signal_id, id);
            seq
        }
        other => panic!("expected SignalIdTaken for {id}, got {other:?}"),
    }
}

#[test]
fn an_identical_signal_recorded_again_gets_the_original_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, PersistenceConfig::default()).unwrap();
    let sink = SignalSink::start(ledger, flush_only()).unwrap();
    let s = tagged(4, 20, "again");

    // Recorded, durable, then recorded again: the second handle names the first entry.
    let first = sink.record(s[0].clone()).unwrap();
    sink.flush().unwrap();
    let first = first.wait().unwrap();
    assert_eq!((first.seq, first.already_recorded), (0, false));
    let appends = sink.metrics().batches;
    let second = sink.record(s[0].clone()).unwrap();
    sink.flush().unwrap();
    let second = second.wait().unwrap();
    assert_eq!(
        second,
        Durable {
            already_recorded: true,
            ..first.clone()
        }
    );
    assert_eq!(
        sink.metrics().batches,
        appends,
        "a resend alone writes nothing: no append counted"
    );

    // Twice in one group: appended once, the second handle marked.
    let a = sink.record(s[1].clone()).unwrap();
    let b = sink.record(s[1].clone()).unwrap();
    sink.flush().unwrap();
    let (a, b) = (a.wait().unwrap(), b.wait().unwrap());
    assert_eq!((a.seq, a.already_recorded), (1, false));
    assert_eq!(
        b,
        Durable {
            already_recorded: true,
            ..a.clone()
        }
    );

    // A recorded signal twice in one group, among new ones, and in a batch: every handle of
    // it names the original entry.
    let c = sink.record(s[0].clone()).unwrap();
    let d = sink.record(s[2].clone()).unwrap();
    let e = sink.record(s[0].clone()).unwrap();
    let batch = sink
        .record_batch(vec![s[1].clone(), s[3].clone(), s[2].clone()])
        .unwrap();
    sink.flush().unwrap();
    let recorded = Durable {
        already_recorded: true,
        ..first.clone()
    };
    assert_eq!(c.wait().unwrap(), recorded);
    assert_eq!(e.wait().unwrap(), recorded);
    let d = d.wait().unwrap();
    assert_eq!((d.seq, d.already_recorded), (2, false));
    let batch = batch.wait().unwrap();
    assert_eq!(
        batch.iter().map(|x| x.seq).collect::<Vec<_>>(),
        vec![1, 3, 2]
    );
    assert_eq!(
        batch.iter().map(|x| x.already_recorded).collect::<Vec<_>>(),
        vec![true, false, true]
    );
    assert_eq!(batch[0].row_hash, a.row_hash);
    assert_eq!(batch[2].row_hash, d.row_hash);

    let m = sink.shutdown();
    assert_eq!((m.recorded, m.failed, m.refused_id_taken), (10, 0, 0));
    let stored = records(&path);
    assert_eq!(stored.len(), 4);
    assert_new_entry(&stored, &first, &s[0]);
    assert_new_entry(&stored, &a, &s[1]);
    assert_new_entry(&stored, &d, &s[2]);
    assert_new_entry(&stored, &batch[1], &s[3]);
}

#[test]
fn a_taken_id_fails_its_own_group_and_the_groups_beside_it_are_appended() {
    // 100 signals (demo seed 7) at seqs 0..100.
    let (_tmp, path, ledger, faults) = faulty_ledger(1 << 20);
    let original = demo_signals(100, 7)[42].clone();
    let sink = SignalSink::start(ledger, group_per_call()).unwrap();
    let _open_on_drop = OpenOnDrop(Arc::clone(&faults));
    let blocker = tagged(1, 21, "blocker");
    let singles = tagged(3, 22, "single");
    let batched = tagged(3, 23, "batched");

    // The writer takes one group and stalls in its sync; the groups recorded meanwhile, by
    // three producers, wait to be committed together in the next append.
    faults.stall_syncs.close();
    let blocking = sink.record(blocker[0].clone()).unwrap();
    faults.stall_syncs.await_waiting(1);
    let (single_handles, conflicting, batch) = std::thread::scope(|scope| {
        let singles = scope.spawn(|| {
            singles
                .iter()
                .map(|s| sink.record(s.clone()).unwrap())
                .collect::<Vec<_>>()
        });
        let conflicting = scope.spawn(|| sink.record(changed(&original)).unwrap());
        let batch = scope.spawn(|| sink.record_batch(batched.clone()).unwrap());
        (
            singles.join().unwrap(),
            conflicting.join().unwrap(),
            batch.join().unwrap(),
        )
    });
    assert_eq!(
        sink.metrics().queue_depth,
        7,
        "all queued behind the blocker"
    );
    faults.stall_syncs.open();

    // The conflicting signal's handle fails, naming the entry that holds its id…
    let seq = id_taken(conflicting.wait(), &original.signal_id);
    assert_eq!(seq, Some(42));
    // …and every other signal is durable, appended once, right after the blocker.
    assert_eq!(blocking.wait().unwrap().seq, 100);
    let singles_d: Vec<Durable> = single_handles.iter().map(|h| h.wait().unwrap()).collect();
    let batch_d = batch.wait().unwrap();
    let mut seqs: Vec<u64> = singles_d.iter().chain(&batch_d).map(|d| d.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (101..107).collect::<Vec<_>>());
    // The batch's signals are consecutive, in order.
    assert_eq!(batch_d[1].seq, batch_d[0].seq + 1);
    assert_eq!(batch_d[2].seq, batch_d[1].seq + 1);

    let m = sink.shutdown();
    assert_eq!(m.recorded, 8);
    assert_eq!(m.refused_id_taken, 1);
    assert_eq!((m.failed, m.failed_batches), (0, 0));
    assert_eq!(m.batches, 2, "the blocker's append, then one for the rest");
    assert!(m.last_error.is_none(), "{:?}", m.last_error);

    let stored = records(&path);
    assert_eq!(stored.len(), 107);
    assert_eq!(stored[42].signal, original);
    for (d, s) in singles_d.iter().zip(&singles) {
        assert_new_entry(&stored, d, s);
    }
    for (d, s) in batch_d.iter().zip(&batched) {
        assert_new_entry(&stored, d, s);
    }
}

#[test]
fn a_batch_holding_a_taken_id_fails_whole_and_alone() {
    let (_tmp, path, ledger, faults) = faulty_ledger(1 << 20);
    let recorded = demo_signals(100, 7);
    let sink = SignalSink::start(ledger, group_per_call()).unwrap();
    let _open_on_drop = OpenOnDrop(Arc::clone(&faults));
    let blocker = tagged(1, 24, "blocker");
    let good = tagged(4, 25, "good");
    let refused = tagged(2, 26, "refused");
    let queued = tagged(1, 27, "queued");

    faults.stall_syncs.close();
    let blocking = sink.record(blocker[0].clone()).unwrap();
    faults.stall_syncs.await_waiting(1);
    let before = sink.record(good[0].clone()).unwrap();
    // A batch of two new signals around one whose id seq 17 holds with other columns.
    let conflicting_batch = sink
        .record_batch(vec![
            refused[0].clone(),
            changed(&recorded[17]),
            refused[1].clone(),
        ])
        .unwrap();
    let batch_after = sink
        .record_batch(vec![good[1].clone(), good[2].clone()])
        .unwrap();
    // A new signal, and after it a different one with its id, in the same append: the later
    // one fails, naming no seq (the id was not in the ledger yet).
    let first_of_id = sink.record(queued[0].clone()).unwrap();
    let second_of_id = sink.record(changed(&queued[0])).unwrap();
    let after = sink.record(good[3].clone()).unwrap();
    faults.stall_syncs.open();

    assert_eq!(
        id_taken(conflicting_batch.wait(), &recorded[17].signal_id),
        Some(17)
    );
    assert_eq!(id_taken(second_of_id.wait(), &queued[0].signal_id), None);
    assert_eq!(blocking.wait().unwrap().seq, 100);
    let good_d: Vec<Durable> = vec![
        before.wait().unwrap(),
        batch_after.wait().unwrap()[0].clone(),
        batch_after.wait().unwrap()[1].clone(),
        after.wait().unwrap(),
    ];
    let queued_d = first_of_id.wait().unwrap();
    assert_eq!(
        good_d.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![101, 102, 103, 105]
    );
    assert_eq!(queued_d.seq, 104);

    let m = sink.shutdown();
    assert_eq!(m.recorded, 10);
    assert_eq!(m.refused_id_taken, 4, "the batch of three and the single");
    assert_eq!((m.failed, m.failed_batches), (0, 0));
    assert_eq!(m.durable, 6);

    let stored = records(&path);
    assert_eq!(stored.len(), 106);
    assert_eq!(stored[17].signal, recorded[17]);
    for (d, s) in good_d.iter().zip(&good) {
        assert_new_entry(&stored, d, s);
    }
    assert_new_entry(&stored, &queued_d, &queued[0]);
    let ids: Vec<&str> = stored.iter().map(|r| r.signal.signal_id.as_str()).collect();
    for s in &refused {
        assert!(!ids.contains(&s.signal_id.as_str()), "{}", s.signal_id);
    }
}

/// Signals recorded one by one by several producers share a group when they arrive together.
/// A taken id among them fails that signal only: the others' producers did nothing wrong, and
/// their signals are appended.
#[test]
fn a_taken_id_fails_only_its_own_signal_in_a_group_shared_with_other_producers() {
    let (_tmp, path, ledger, _faults) = faulty_ledger(1 << 20);
    let original = demo_signals(100, 7)[42].clone();
    let sink = SignalSink::start(ledger, flush_only()).unwrap();
    let others = tagged(3, 28, "other");
    let handles: Vec<_> = others
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    let conflicting = sink.record(changed(&original)).unwrap();
    let _ = sink.flush();

    assert_eq!(id_taken(conflicting.wait(), &original.signal_id), Some(42));
    for (h, s) in handles.iter().zip(&others) {
        let outcome = h.wait();
        assert!(
            outcome.is_ok(),
            "{} was refused for another signal's id: {outcome:?}",
            s.signal_id
        );
    }
    drop(sink);
    assert_eq!(records(&path).len(), 103);
}
