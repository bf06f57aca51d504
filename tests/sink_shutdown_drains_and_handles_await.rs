//! A sink commits what it queued when asked — `flush` at once, `shutdown` and drop before they
//! return — refuses (giving back) what comes after shutdown, resolves handles awaited from async
//! tasks, and refuses invalid signals on the producer's thread without touching anyone else's.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_ledger::engine::sink::RecordError;
use signal_ledger::engine::{Ledger, PersistenceConfig, Signal, SignalSink, SinkConfig, Snapshot};
use support::*;

fn new_ledger() -> (tempfile::TempDir, PathBuf, Ledger) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, PersistenceConfig::default()).unwrap();
    (tmp, path, ledger)
}

/// Commits only on flush, shutdown or drop (within the test's run time).
fn lingering() -> SinkConfig {
    SinkConfig {
        batch_size: 100_000,
        flush_interval: Duration::from_secs(60),
        ..SinkConfig::default()
    }
}

fn ids(signals: &[Signal]) -> Vec<String> {
    signals.iter().map(|s| s.signal_id.clone()).collect()
}

#[test]
fn queued_signals_wait_for_the_interval_unless_flushed() {
    let (_tmp, path, ledger) = new_ledger();
    let sink = SignalSink::start(ledger, lingering()).unwrap();
    let signals = demo_signals(300, 41);
    let handles: Vec<_> = signals
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    // Queued, not committed: nothing is durable yet, nothing in the ledger.
    assert!(handles[299]
        .wait_timeout(Duration::from_millis(200))
        .is_none());
    assert!(handles.iter().all(|h| h.try_result().is_none()));
    assert_eq!(Snapshot::open(&path).unwrap().record_count(), 0);
    assert_eq!(sink.metrics().queue_depth, 300);

    let started = Instant::now();
    sink.flush().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "flush waited for the 60 s interval: {:?}",
        started.elapsed()
    );
    // Every handle is complete when flush returns, in queue order.
    let seqs: Vec<u64> = handles
        .iter()
        .map(|h| h.try_result().expect("complete after flush").unwrap().seq)
        .collect();
    assert_eq!(seqs, (0..300).collect::<Vec<_>>());
    assert_eq!(stored_ids(&path), ids(&signals));
    // A flush with nothing queued returns at once.
    sink.flush().unwrap();
    assert_eq!(sink.metrics().durable, 300);
}

#[test]
fn shutdown_drains_the_queue_then_refuses_with_the_signals_given_back() {
    let (_tmp, path, ledger) = new_ledger();
    let sink = SignalSink::start(ledger, lingering()).unwrap();
    let signals = demo_signals(503, 42);
    let singles: Vec<_> = signals[..250]
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    let batch = sink.record_batch(signals[250..500].to_vec()).unwrap();
    assert!(singles[0].try_result().is_none());

    let m = sink.shutdown();
    assert_eq!(m.durable, 500, "shutdown returned before draining: {m:?}");
    assert_eq!(m.queue_depth, 0);
    for (i, h) in singles.iter().enumerate() {
        assert_eq!(h.try_result().unwrap().unwrap().seq, i as u64);
    }
    let batch_seqs: Vec<u64> = batch.wait().unwrap().iter().map(|d| d.seq).collect();
    assert_eq!(batch_seqs, (250..500).collect::<Vec<_>>());

    // Closed: every way in refuses and gives the signals back.
    match sink.record(signals[500].clone()) {
        Err(RecordError::Closed { signals: back }) => assert_eq!(back, vec![signals[500].clone()]),
        other => panic!("expected Closed, got {other:?}"),
    }
    let err = sink.try_record(signals[501].clone()).unwrap_err();
    assert!(matches!(err, RecordError::Closed { .. }), "{err:?}");
    assert_eq!(err.into_signals(), vec![signals[501].clone()]);
    let err = sink.record_batch(signals[500..].to_vec()).unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    assert_eq!(err.into_signals(), signals[500..].to_vec());
    // A second shutdown is harmless; flush has nothing to do. The refusals after shutdown are
    // counted apart from those for a full queue.
    let again = sink.shutdown();
    assert_eq!((again.durable, again.recorded), (500, 500));
    assert_eq!(
        (again.refused_closed, again.refused_full),
        (5, 0),
        "1 record + 1 try_record + a batch of 3"
    );
    sink.flush().unwrap();
    drop(sink);

    assert_eq!(stored_ids(&path), ids(&signals[..500]));
}

#[test]
fn dropping_the_sink_drains_it_too() {
    let (_tmp, path, ledger) = new_ledger();
    let sink = SignalSink::start(ledger, lingering()).unwrap();
    let signals = demo_signals(400, 43);
    let handles: Vec<_> = signals
        .chunks(10)
        .map(|c| sink.record_batch(c.to_vec()).unwrap())
        .collect();
    assert!(handles[0].wait_timeout(Duration::ZERO).is_none());
    drop(sink);
    for (i, h) in handles.iter().enumerate() {
        let seqs: Vec<u64> = h
            .wait_timeout(Duration::ZERO)
            .expect("complete once the sink is dropped")
            .unwrap()
            .iter()
            .map(|d| d.seq)
            .collect();
        assert_eq!(
            seqs,
            (i as u64 * 10..i as u64 * 10 + 10).collect::<Vec<_>>()
        );
    }
    // The writer is gone and the lock with it: the ledger opens for writing again.
    let ledger = Ledger::open(&path).unwrap();
    assert!(ledger.recovery().is_none());
    assert_eq!(ledger.next_seq(), 400);
    drop(ledger);
    assert_eq!(stored_ids(&path), ids(&signals));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_await_their_handles() {
    let (_tmp, path, ledger) = new_ledger();
    let config = SinkConfig::from_persistence(ledger.config());
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    let signals = demo_signals(1_000, 44);
    let tasks: Vec<_> = signals
        .iter()
        .cloned()
        .map(|s| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                let id = s.signal_id.clone();
                let durable = sink.record(s).unwrap().await.unwrap();
                assert_eq!(durable.signal_id, id);
                durable
            })
        })
        .collect();
    let mut durables = Vec::new();
    for task in tasks {
        let durable = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("hang guard: a handle never resolved")
            .unwrap();
        durables.push(durable);
    }
    let seqs: HashSet<u64> = durables.iter().map(|d| d.seq).collect();
    assert_eq!(seqs.len(), 1_000, "distinct seqs");
    assert_eq!(seqs, (0..1_000).collect::<HashSet<_>>());

    let m = tokio::task::spawn_blocking(move || sink.shutdown())
        .await
        .unwrap();
    assert_eq!(m.durable, 1_000);
    let snap = Snapshot::open(&path).unwrap();
    assert_eq!(snap.record_count(), 1_000);
    for d in &durables {
        let r = snap.get(d.seq).unwrap().unwrap();
        assert_eq!(
            (&r.signal.signal_id, r.row_hash),
            (&d.signal_id, d.row_hash)
        );
    }
}

#[test]
fn invalid_signals_are_refused_on_the_callers_thread_and_queue_nothing() {
    let (_tmp, path, ledger) = new_ledger();
    let sink = Arc::new(SignalSink::start(ledger, SinkConfig::default()).unwrap());
    let signals = demo_signals(210, 45);

    // A valid batch recorded concurrently with the invalid ones.
    let valid_batch = signals[..100].to_vec();
    let other = {
        let sink = Arc::clone(&sink);
        let batch = valid_batch.clone();
        std::thread::spawn(move || sink.record_batch(batch).unwrap().wait().unwrap())
    };
    let mut refused = 0;
    for (i, s) in signals[100..200].iter().enumerate() {
        let bad = if i.is_multiple_of(2) {
            Signal {
                conviction: 1.5,
                ..s.clone()
            }
        } else {
            Signal {
                ticker: String::new(),
                ..s.clone()
            }
        };
        match sink.record(bad) {
            Err(RecordError::Invalid { index, error }) => {
                assert_eq!(index, None);
                let field = if i.is_multiple_of(2) {
                    "conviction"
                } else {
                    "ticker"
                };
                assert_eq!(error.field, field);
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        refused += 1;
    }
    let durables = other.join().unwrap();
    assert_eq!(durables.len(), 100);

    // One bad signal refuses its whole batch, by index, and queues none of it.
    let mut batch = signals[200..210].to_vec();
    batch[3].conviction = f64::NAN;
    let err = sink.record_batch(batch).unwrap_err();
    match &err {
        RecordError::Invalid { index, error } => {
            assert_eq!(*index, Some(3));
            assert_eq!(error.field, "conviction");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(err.to_string().contains("3 of the batch"), "{err}");
    assert!(err.into_signals().is_empty());
    refused += 1;

    sink.flush().unwrap();
    let m = sink.shutdown();
    assert_eq!(m.refused_invalid, refused);
    assert_eq!(m.recorded, 100);
    assert_eq!(m.durable, 100);
    assert_eq!(m.refused_full, 0);
    assert_eq!(stored_ids(&path), ids(&valid_batch));
    let seqs: Vec<u64> = durables.iter().map(|d| d.seq).collect();
    assert_eq!(seqs, (0..100).collect::<Vec<_>>());
}
