//! Many producer threads recording through one `SignalSink` — single signals and batches mixed,
//! segments rolling underneath — get every signal into the ledger exactly once, at the seq and
//! row hash their handle reported, in each producer's own order; producers that drop their
//! handles lose nothing either.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use signal_ledger::engine::sink::{BatchHandle, Durable, DurableHandle};
use signal_ledger::engine::{
    verify, Ledger, Signal, SignalRecord, SignalSink, SinkConfig, Snapshot, VerifyOptions,
};
use support::*;

const PRODUCERS: usize = 8;
const PER_PRODUCER: usize = 5_000;

/// `per_producer` demo signals for each of `producers`, with ids `p<producer>-<index>`.
fn producer_signals(producers: usize, per_producer: usize, seed: u64) -> Vec<Vec<Signal>> {
    let all = demo_signals(producers * per_producer, seed);
    all.chunks(per_producer)
        .enumerate()
        .map(|(p, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, s)| Signal {
                    signal_id: format!("p{p}-{i:05}"),
                    ..s.clone()
                })
                .collect()
        })
        .collect()
}

/// Every record of the ledger in `dir`, by signal_id; fails on a duplicate id.
fn records_by_id(dir: &Path) -> HashMap<String, SignalRecord> {
    let snap = Snapshot::open(dir).unwrap();
    assert!(snap.damage().is_none(), "{:?}", snap.damage());
    let mut by_id = HashMap::new();
    for entry in snap.entries() {
        let record = snap.decode_record(&entry.unwrap()).unwrap();
        let id = record.signal.signal_id.clone();
        let seq = record.seq;
        if let Some(earlier) = by_id.insert(id.clone(), record) {
            panic!("{id} stored twice: seqs {} and {seq}", earlier.seq);
        }
    }
    assert_eq!(by_id.len() as u64, snap.record_count());
    by_id
}

fn assert_verifies(dir: &Path, records: u64) {
    let snap = Snapshot::open(dir).unwrap();
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    assert_eq!(report.records_checked, records);
}

enum Pending {
    One(DurableHandle, Box<Signal>),
    Batch(BatchHandle, Vec<Signal>),
}

/// Records `signals` in chunks of 1..=13, alternately one `record` per signal and one
/// `record_batch` per chunk; returns each signal with its handle's outcome, in recording order.
fn produce(sink: &SignalSink, signals: Vec<Signal>, producer: usize) -> Vec<(Signal, Durable)> {
    let mut pending = Vec::new();
    let mut rest = signals.into_iter().peekable();
    let mut chunk_no = producer; // producers start out of step
    while rest.peek().is_some() {
        let chunk: Vec<Signal> = rest.by_ref().take(1 + chunk_no % 13).collect();
        if chunk_no.is_multiple_of(2) {
            for s in chunk {
                pending.push(Pending::One(sink.record(s.clone()).unwrap(), Box::new(s)));
            }
        } else {
            pending.push(Pending::Batch(
                sink.record_batch(chunk.clone()).unwrap(),
                chunk,
            ));
        }
        chunk_no += 1;
    }
    let mut done = Vec::new();
    for p in pending {
        match p {
            Pending::One(handle, signal) => done.push((*signal, handle.wait().unwrap())),
            Pending::Batch(handle, signals) => {
                let durables = handle.wait().unwrap();
                assert_eq!(durables.len(), signals.len());
                done.extend(signals.into_iter().zip(durables));
            }
        }
    }
    done
}

#[test]
fn eight_producers_mixing_records_and_batches_store_each_signal_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, small_segments(512 * 1024)).unwrap();
    let config = SinkConfig::from_persistence(ledger.config());
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    let inputs = producer_signals(PRODUCERS, PER_PRODUCER, 21);

    let producers: Vec<_> = inputs
        .into_iter()
        .enumerate()
        .map(|(p, signals)| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || produce(&sink, signals, p))
        })
        .collect();
    let results: Vec<Vec<(Signal, Durable)>> =
        producers.into_iter().map(|t| t.join().unwrap()).collect();
    let metrics = sink.shutdown();

    let total = (PRODUCERS * PER_PRODUCER) as u64;
    let stored = records_by_id(&path);
    assert_eq!(stored.len() as u64, total);
    let mut seqs = HashSet::new();
    for (p, results) in results.iter().enumerate() {
        assert_eq!(results.len(), PER_PRODUCER);
        let mut last_seq = None;
        for (i, (signal, durable)) in results.iter().enumerate() {
            assert_eq!(signal.signal_id, format!("p{p}-{i:05}"), "recording order");
            assert_eq!(durable.signal_id, signal.signal_id);
            let record = &stored[&signal.signal_id];
            assert_eq!(record.seq, durable.seq, "{}", signal.signal_id);
            assert_eq!(record.row_hash, durable.row_hash, "{}", signal.signal_id);
            assert_eq!(record.recorded_at_ns, durable.recorded_at_ns);
            assert_eq!(&record.signal, signal, "stored as recorded");
            assert!(
                last_seq.is_none_or(|last| durable.seq > last),
                "producer {p}: {} got seq {} after {last_seq:?}",
                signal.signal_id,
                durable.seq
            );
            last_seq = Some(durable.seq);
            assert!(seqs.insert(durable.seq), "seq {} given twice", durable.seq);
        }
    }
    assert_eq!(seqs.len() as u64, total);
    assert!(
        segments(&path).len() > 5,
        "segments rolled: {}",
        segments(&path).len()
    );
    assert_verifies(&path, total);

    assert_eq!(metrics.recorded, total);
    assert_eq!(metrics.durable, total);
    assert_eq!(metrics.failed, 0);
    assert_eq!(metrics.queue_depth, 0);
    assert!(metrics.batches >= 1 && metrics.batches <= total);
    assert_eq!(metrics.batch_size.count, metrics.batches);
    assert_eq!(metrics.persist_latency_ms.count, total);
}

#[test]
fn producers_that_drop_their_handles_lose_nothing() {
    const PER: usize = 2_000;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, small_segments(256 * 1024)).unwrap();
    let config = SinkConfig::from_persistence(ledger.config());
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    let inputs = producer_signals(PRODUCERS, PER, 22);
    let expected: HashMap<String, Signal> = inputs
        .iter()
        .flatten()
        .map(|s| (s.signal_id.clone(), s.clone()))
        .collect();

    let producers: Vec<_> = inputs
        .into_iter()
        .enumerate()
        .map(|(p, signals)| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let mut signals = signals.into_iter();
                let mut round = p;
                loop {
                    let chunk: Vec<Signal> = signals.by_ref().take(1 + round % 7).collect();
                    if chunk.is_empty() {
                        break;
                    }
                    if round.is_multiple_of(2) {
                        for s in chunk {
                            drop(sink.record(s).unwrap());
                        }
                    } else {
                        drop(sink.record_batch(chunk).unwrap());
                    }
                    round += 1;
                }
            })
        })
        .collect();
    for t in producers {
        t.join().unwrap();
    }
    let metrics = sink.shutdown();

    let total = (PRODUCERS * PER) as u64;
    let stored = records_by_id(&path);
    assert_eq!(stored.len() as u64, total);
    for (id, signal) in &expected {
        assert_eq!(&stored[id].signal, signal, "{id}");
    }
    // Each producer's signals in its own order.
    for p in 0..PRODUCERS {
        let seqs: Vec<u64> = (0..PER)
            .map(|i| stored[&format!("p{p}-{i:05}")].seq)
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "producer {p} reordered"
        );
    }
    assert_verifies(&path, total);
    assert_eq!(metrics.durable, total);
    assert_eq!(metrics.recorded, total);
}
