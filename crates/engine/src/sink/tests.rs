//! The sink over a real ledger in a temporary directory: outcomes queued with signals.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use super::*;
use crate::config::PersistenceConfig;
use crate::record::outcome::Decision;
use crate::record::signal::tests_support::valid_signal;
use crate::record::EntryRecord;
use crate::snapshot::Snapshot;

/// A sink over a new ledger in `tmp` that lingers long, so only a unit behind a group, a flush
/// or a close makes the writer commit the group (a test waits on a lone group only after a
/// flush).
fn lingering_sink(tmp: &Path) -> SignalSink {
    let dir = tmp.join("ledger");
    let ledger = Ledger::create(&dir, PersistenceConfig::default()).unwrap();
    let config = SinkConfig {
        batch_size: 1_000,
        flush_interval: Duration::from_secs(600),
        metrics_file: false,
        ..SinkConfig::default()
    };
    SignalSink::start(ledger, config).unwrap()
}

fn signal(id: &str) -> Signal {
    valid_signal(id).into_signal()
}

fn outcome(signal_id: &str, acted: bool) -> Outcome {
    Outcome {
        signal_id: signal_id.to_owned(),
        decision: Decision::from_acted(acted),
        execution_id: acted.then(|| format!("ex-{signal_id}")),
        reason: None,
        decided_at_ns: 1_767_225_700_000_000_000,
    }
}

/// The kind and signal_id (or the signal's, for an outcome) of every entry, in seq order.
fn entries(dir: &Path) -> Vec<(u64, &'static str, String)> {
    let snapshot = Snapshot::open(dir).unwrap();
    (snapshot.first_seq()..snapshot.next_seq())
        .map(|seq| match snapshot.entry_record(seq).unwrap().unwrap() {
            EntryRecord::Signal(s) => (seq, "signal", s.signal.signal_id),
            EntryRecord::Outcome(o) => (seq, "outcome", o.outcome.signal_id),
        })
        .collect()
}

#[test]
fn outcomes_are_appended_in_queue_order_with_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    // a is queued, not yet durable (the group lingers); its outcome queued behind it finds it.
    let a = sink.record(signal("a")).unwrap();
    let outcomes = sink.record_outcomes(vec![outcome("a", true)]).unwrap();
    let b = sink.record(signal("b")).unwrap();
    let receipt = outcomes.wait().unwrap();
    assert_eq!(a.wait().unwrap().seq, 0);
    assert_eq!(receipt.outcomes.len(), 1);
    assert_eq!(
        (receipt.outcomes[0].seq, receipt.outcomes[0].signal_seq),
        (1, 0)
    );
    assert_eq!(receipt.head_hash, receipt.outcomes[0].row_hash);
    sink.flush().unwrap();
    assert_eq!(
        b.wait().unwrap().seq,
        2,
        "a signal queued after the outcome comes after it"
    );

    // A batch of outcomes behind a batch of signals, then one more signal.
    let batch = sink.record_batch(vec![signal("c"), signal("d")]).unwrap();
    let both = sink
        .record_outcomes(vec![outcome("d", false), outcome("b", true)])
        .unwrap();
    let e = sink.record(signal("e")).unwrap();
    sink.flush().unwrap();
    let seqs: Vec<u64> = batch.wait().unwrap().iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [3, 4]);
    let receipt = both.wait().unwrap();
    let got: Vec<(u64, u64)> = receipt
        .outcomes
        .iter()
        .map(|o| (o.seq, o.signal_seq))
        .collect();
    assert_eq!(got, [(5, 4), (6, 2)]);
    assert_eq!(e.wait().unwrap().seq, 7);

    let metrics = sink.shutdown();
    assert_eq!(
        (metrics.outcomes_recorded, metrics.outcomes_durable),
        (3, 3)
    );
    assert_eq!(metrics.durable, 5);
    let kinds: Vec<(u64, &str, String)> = entries(&tmp.path().join("ledger"));
    let expected = [
        "signal a",
        "outcome a",
        "signal b",
        "signal c",
        "signal d",
        "outcome d",
        "outcome b",
        "signal e",
    ];
    let got: Vec<String> = kinds.iter().map(|(_, k, id)| format!("{k} {id}")).collect();
    assert_eq!(got, expected);
}

#[test]
fn an_unknown_signal_refuses_the_batch_with_its_index_and_nothing_is_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    sink.record_batch(vec![signal("a"), signal("b")]).unwrap();
    sink.flush().unwrap();
    let handle = sink
        .record_outcomes(vec![
            outcome("a", true),
            outcome("nowhere", true),
            outcome("b", false),
        ])
        .unwrap();
    match handle.wait() {
        Err(e @ OutcomePersistError::UnknownSignal { .. }) => {
            assert_eq!(e.index(), Some(1));
            assert!(e.to_string().contains("\"nowhere\""), "{e}");
        }
        other => panic!("expected an unknown signal, got {other:?}"),
    }
    // Nothing of the batch was appended: the next entry takes seq 2, and the sink goes on.
    let c = sink.record(signal("c")).unwrap();
    sink.flush().unwrap();
    assert_eq!(c.wait().unwrap().seq, 2);
    let again = sink.record_outcomes(vec![outcome("c", true)]).unwrap();
    assert_eq!(again.wait().unwrap().outcomes[0].seq, 3);
    let metrics = sink.shutdown();
    assert_eq!(
        (
            metrics.outcomes_recorded,
            metrics.outcomes_refused,
            metrics.outcomes_durable,
            metrics.outcomes_failed
        ),
        (4, 3, 1, 0)
    );
    assert_eq!(
        metrics.last_error, None,
        "a refusal is not an append failure"
    );
    assert_eq!(entries(&tmp.path().join("ledger")).len(), 4);
}

#[test]
fn an_outcome_naming_a_signal_refused_before_it_is_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    sink.record(signal("a")).unwrap();
    sink.flush().unwrap();
    let mut taken = signal("a");
    taken.ticker = "MSFT".to_owned();
    // x is refused with its push (a's id is taken by a different signal), so x never lands.
    let refused = sink.record_batch(vec![signal("x"), taken]).unwrap();
    let handle = sink.record_outcomes(vec![outcome("x", true)]).unwrap();
    assert!(matches!(
        refused.wait(),
        Err(PersistError::SignalIdTaken { .. })
    ));
    assert!(matches!(
        handle.wait(),
        Err(OutcomePersistError::UnknownSignal { index: 0, .. })
    ));
}

#[test]
fn a_waited_outcome_is_durable_in_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let sink = lingering_sink(tmp.path());
    sink.record(signal("a")).unwrap();
    let receipt = sink
        .record_outcomes(vec![outcome("a", true)])
        .unwrap()
        .wait()
        .unwrap();
    // Read back by another reader while the sink still runs: no shutdown was needed.
    let snapshot = Snapshot::open(&dir).unwrap();
    assert_eq!(snapshot.next_seq(), 2);
    assert_eq!(snapshot.head().unwrap().row_hash, receipt.head_hash);
    match snapshot.entry_record(1).unwrap().unwrap() {
        EntryRecord::Outcome(o) => {
            assert_eq!(o.outcome, outcome("a", true));
            assert_eq!(o.signal_seq, 0);
            assert_eq!(o.recorded_at_ns, receipt.recorded_at_ns);
            assert_eq!(o.row_hash, receipt.outcomes[0].row_hash);
        }
        other => panic!("expected an outcome at seq 1, got {other:?}"),
    }
}

#[test]
fn an_outcomes_handle_is_a_future() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    sink.record(signal("a")).unwrap();
    let handle = sink.record_outcomes(vec![outcome("a", false)]).unwrap();
    assert_eq!(handle.len(), 1);
    let receipt = block_on(handle).unwrap();
    assert_eq!(receipt.outcomes[0].seq, 1);
}

/// Polls `future` to completion on this thread, parking between polls.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => return out,
            std::task::Poll::Pending => std::thread::park(),
        }
    }
}

#[test]
fn an_invalid_outcome_is_refused_at_once_with_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    let mut bad = outcome("a", true);
    bad.reason = Some("two\nlines".to_owned());
    match sink.record_outcomes(vec![outcome("a", true), bad]) {
        Err(OutcomeRecordError::Invalid { index, error }) => {
            assert_eq!((index, error.field), (1, "reason"));
        }
        other => panic!("expected an invalid outcome, got {other:?}"),
    }
    assert_eq!(sink.metrics().outcomes_recorded, 0);
}

#[test]
fn a_closed_sink_refuses_outcomes_giving_them_back() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = lingering_sink(tmp.path());
    sink.record(signal("a")).unwrap();
    let queued = sink.record_outcomes(vec![outcome("a", true)]).unwrap();
    sink.shutdown();
    assert_eq!(
        queued.try_result().unwrap().unwrap().outcomes[0].seq,
        1,
        "drained at close"
    );
    match sink.record_outcomes(vec![outcome("a", false)]) {
        Err(e @ OutcomeRecordError::Closed { .. }) => {
            assert!(e.to_string().contains("shut down"), "{e}");
            assert_eq!(e.into_outcomes(), [outcome("a", false)]);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
