//! A sink whose writer cannot keep up refuses producers once its bounded queue is full —
//! `try_record` at once, `record` after waiting its timeout — and gives every refused signal
//! back: each offered signal is either durable or returned to its producer, never dropped.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_ledger::engine::sink::RecordError;
use signal_ledger::engine::{
    Durability, Ledger, PersistenceConfig, Signal, SignalSink, SinkConfig,
};
use support::faults::{Faults, OpenOnDrop};
use support::*;

/// A fresh, empty ledger opened over faulty files.
fn empty_faulty_ledger(
    durability: Durability,
) -> (tempfile::TempDir, std::path::PathBuf, Ledger, Arc<Faults>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let config = PersistenceConfig {
        durability,
        ..PersistenceConfig::default()
    };
    drop(Ledger::create(&path, config).unwrap());
    let faults = Faults::none();
    let ledger = Ledger::open_with(&path, faults.open_options()).unwrap();
    (tmp, path, ledger, faults)
}

fn ids(signals: &[Signal]) -> Vec<&str> {
    signals.iter().map(|s| s.signal_id.as_str()).collect()
}

#[test]
fn a_full_queue_refuses_with_the_signals_given_back_and_keeps_what_it_accepted() {
    let (_tmp, path, ledger, faults) = empty_faulty_ledger(Durability::Fdatasync);
    let timeout = Duration::from_millis(300);
    let config = SinkConfig {
        batch_size: 2,
        flush_interval: Duration::ZERO,
        max_queued_signals: 4,
        backpressure_timeout: timeout,
        ..SinkConfig::default()
    };
    let sink = SignalSink::start(ledger, config).unwrap();
    let _open_on_drop = OpenOnDrop(Arc::clone(&faults));
    let signals = demo_signals(12, 31);

    // The writer takes the first signal and stalls in its sync.
    faults.stall_syncs.close();
    let mut accepted = vec![sink.record(signals[0].clone()).unwrap()];
    faults.stall_syncs.await_waiting(1);
    // Four more fill the queue (which does not count the group being committed).
    for s in &signals[1..5] {
        accepted.push(sink.record(s.clone()).unwrap());
    }
    assert_eq!(sink.metrics().queue_depth, 4);

    // try_record: refused at once, the signal given back.
    match sink.try_record(signals[5].clone()) {
        Err(RecordError::Full {
            queued,
            signals: back,
        }) => {
            assert_eq!(queued, 4);
            assert_eq!(back, vec![signals[5].clone()]);
        }
        other => panic!("expected Full, got {other:?}"),
    }
    // record: waits the timeout for room, then refuses, the signal given back.
    let started = Instant::now();
    match sink.record(signals[6].clone()) {
        Err(RecordError::Backpressure {
            waited,
            queued,
            signals: back,
        }) => {
            assert!(waited >= timeout, "gave up after {waited:?}");
            assert!(started.elapsed() >= timeout);
            assert!(waited < Duration::from_secs(30), "hang guard: {waited:?}");
            assert_eq!(queued, 4);
            assert_eq!(back, vec![signals[6].clone()]);
        }
        other => panic!("expected Backpressure, got {other:?}"),
    }
    // record_batch: the same, the whole batch given back in order.
    let err = sink.record_batch(signals[7..10].to_vec()).unwrap_err();
    assert!(
        matches!(err, RecordError::Backpressure { .. }),
        "expected Backpressure, got {err:?}"
    );
    assert!(err.to_string().contains("queue stayed full"), "{err}");
    assert_eq!(err.into_signals(), signals[7..10].to_vec());

    // Nothing accepted is durable while the writer is stalled.
    assert!(accepted.iter().all(|h| h.try_result().is_none()));
    let m = sink.metrics();
    assert_eq!((m.recorded, m.refused_full, m.durable), (5, 5, 0));

    // Unstalled, every accepted signal becomes durable, in the order it was queued.
    faults.stall_syncs.open();
    let seqs: Vec<u64> = accepted.iter().map(|h| h.wait().unwrap().seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
    // And there is room again.
    let late = sink.try_record(signals[10].clone()).unwrap();
    assert_eq!(late.wait().unwrap().seq, 5);

    let m = sink.shutdown();
    assert_eq!(m.recorded, 6);
    assert_eq!(m.durable, 6);
    assert_eq!(m.refused_full, 5, "1 try_record + 1 record + a batch of 3");
    assert_eq!(m.queue_depth_max, 4);
    assert_eq!(m.failed, 0);
    let stored = stored_ids(&path);
    let mut expected = ids(&signals[..5]);
    expected.push(&signals[10].signal_id);
    assert_eq!(
        stored, expected,
        "accepted ones durable, refused ones absent"
    );
}

#[test]
fn a_waiting_record_goes_through_when_the_writer_makes_room() {
    let (_tmp, path, ledger, faults) = empty_faulty_ledger(Durability::Fdatasync);
    let config = SinkConfig {
        batch_size: 1,
        flush_interval: Duration::ZERO,
        max_queued_signals: 2,
        backpressure_timeout: Duration::from_secs(60),
        ..SinkConfig::default()
    };
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    let _open_on_drop = OpenOnDrop(Arc::clone(&faults));
    let signals = demo_signals(4, 32);

    faults.stall_syncs.close();
    let first = sink.record(signals[0].clone()).unwrap();
    faults.stall_syncs.await_waiting(1);
    let queued: Vec<_> = signals[1..3]
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    let waiter = {
        let sink = Arc::clone(&sink);
        let s = signals[3].clone();
        std::thread::spawn(move || sink.record(s).map(|h| h.wait()))
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!waiter.is_finished(), "record returned with the queue full");
    assert_eq!(sink.metrics().recorded, 3);

    faults.stall_syncs.open();
    let last = waiter.join().unwrap().unwrap().unwrap();
    assert_eq!(last.seq, 3);
    assert_eq!(first.wait().unwrap().seq, 0);
    for (i, h) in queued.iter().enumerate() {
        assert_eq!(h.wait().unwrap().seq, i as u64 + 1);
    }
    let m = sink.shutdown();
    assert_eq!((m.recorded, m.durable, m.refused_full), (4, 4, 0));
    assert_eq!(stored_ids(&path), ids(&signals));
}

/// What one producer offered: the ids accepted and the ids given back.
#[derive(Default)]
struct Tally {
    offered: usize,
    accepted: Vec<String>,
    refused: Vec<String>,
}

#[test]
fn producers_racing_a_slow_writer_get_every_signal_durable_or_back() {
    const PRODUCERS: usize = 4;
    const PER: usize = 250;
    let (_tmp, path, ledger, faults) = empty_faulty_ledger(Durability::None);
    faults.write_delay_us.store(3_000, Ordering::SeqCst);
    let config = SinkConfig {
        batch_size: 4,
        flush_interval: Duration::ZERO,
        max_queued_signals: 8,
        backpressure_timeout: Duration::from_millis(2),
        ..SinkConfig::default()
    };
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    let all = demo_signals(PRODUCERS * PER, 33);

    let producers: Vec<_> = all
        .chunks(PER)
        .map(|mine| {
            let sink = Arc::clone(&sink);
            let mine = mine.to_vec();
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                let mut singles = Vec::new();
                let mut batches = Vec::new();
                let mut rest = mine.into_iter().peekable();
                let mut round = 0usize;
                while rest.peek().is_some() {
                    let offered: Vec<Signal> = match round % 3 {
                        2 => rest.by_ref().take(3).collect(),
                        _ => rest.next().into_iter().collect(),
                    };
                    tally.offered += offered.len();
                    let offered_ids: Vec<String> =
                        offered.iter().map(|s| s.signal_id.clone()).collect();
                    let outcome = match round % 3 {
                        0 => sink.try_record(offered[0].clone()).map(|h| singles.push(h)),
                        1 => sink.record(offered[0].clone()).map(|h| singles.push(h)),
                        _ => sink.record_batch(offered.clone()).map(|h| batches.push(h)),
                    };
                    match outcome {
                        Ok(()) => tally.accepted.extend(offered_ids),
                        Err(e) => {
                            assert!(
                                matches!(
                                    e,
                                    RecordError::Full { .. } | RecordError::Backpressure { .. }
                                ),
                                "{e:?}"
                            );
                            assert_eq!(e.into_signals(), offered, "given back as offered");
                            tally.refused.extend(offered_ids);
                        }
                    }
                    round += 1;
                }
                let durable: Vec<String> = singles
                    .iter()
                    .map(|h| h.wait().unwrap().signal_id)
                    .chain(
                        batches
                            .iter()
                            .flat_map(|h| h.wait().unwrap().into_iter().map(|d| d.signal_id)),
                    )
                    .collect();
                assert_eq!(durable.len(), tally.accepted.len());
                tally
            })
        })
        .collect();
    let tallies: Vec<Tally> = producers.into_iter().map(|t| t.join().unwrap()).collect();
    let m = sink.shutdown();

    let offered: usize = tallies.iter().map(|t| t.offered).sum();
    let accepted: HashSet<&str> = tallies
        .iter()
        .flat_map(|t| t.accepted.iter().map(String::as_str))
        .collect();
    let refused: HashSet<&str> = tallies
        .iter()
        .flat_map(|t| t.refused.iter().map(String::as_str))
        .collect();
    assert_eq!(offered, PRODUCERS * PER);
    assert_eq!(
        accepted.len() + refused.len(),
        offered,
        "no signal unaccounted"
    );
    assert!(accepted.is_disjoint(&refused));
    assert!(!refused.is_empty(), "the writer never fell behind");
    assert!(!accepted.is_empty());

    let stored = stored_ids(&path);
    let stored_set: HashSet<&str> = stored.iter().map(String::as_str).collect();
    assert_eq!(stored.len(), stored_set.len(), "a signal stored twice");
    assert_eq!(
        stored_set, accepted,
        "durable == accepted; refused ones absent"
    );

    assert_eq!(m.refused_full, refused.len() as u64);
    assert_eq!(m.recorded, accepted.len() as u64);
    assert_eq!(m.durable, accepted.len() as u64);
    assert!(m.queue_depth_max <= 8);
    assert_eq!(m.queue_depth, 0);
}
