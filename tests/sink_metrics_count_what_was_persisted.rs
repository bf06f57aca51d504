//! A sink's metrics add up to what reached the ledger — signals durable, failed and refused,
//! appends and their distributions — and it leaves them in `sink-metrics.json` in the ledger
//! directory, readable by another process, without the ledger minding the extra file.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use signal_ledger::engine::sink::{SinkMetrics, METRICS_FILE};
use signal_ledger::engine::{
    verify, Durability, Ledger, PersistenceConfig, Signal, SignalSink, SinkConfig, Snapshot,
    VerifyOptions,
};
use support::faults::faulty_ledger;
use support::*;

#[test]
fn metrics_match_the_ledger_and_survive_in_the_metrics_file() {
    let (_tmp, path, ledger, faults) = faulty_ledger(64 * 1024);
    assert_eq!(SinkMetrics::read_from(&path).unwrap(), None, "no sink yet");
    let config = SinkConfig {
        batch_size: 50,
        flush_interval: Duration::from_millis(2),
        ..SinkConfig::default()
    };
    let sink = SignalSink::start(ledger, config).unwrap();
    let signals = demo_signals(700, 51);

    // 300 one by one and 200 in batches of 20, all durable.
    let singles: Vec<_> = signals[..300]
        .iter()
        .map(|s| sink.record(s.clone()).unwrap())
        .collect();
    let batches: Vec<_> = signals[300..500]
        .chunks(20)
        .map(|c| sink.record_batch(c.to_vec()).unwrap())
        .collect();
    sink.flush().unwrap();
    assert!(singles.iter().all(|h| h.wait().is_ok()));
    assert!(batches.iter().all(|h| h.wait().is_ok()));
    let live = sink.metrics();
    assert_eq!((live.recorded, live.durable, live.failed), (500, 500, 0));
    assert_eq!(live.queue_depth, 0);

    // 100 whose append fails (disk full), 3 invalid ones.
    faults.budget.store(0, Ordering::SeqCst);
    let failing = sink.record_batch(signals[500..600].to_vec()).unwrap();
    assert!(failing.wait().is_err());
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    for s in &signals[600..603] {
        let bad = Signal {
            conviction: -0.5,
            ..s.clone()
        };
        assert!(sink.record(bad).is_err());
    }
    // 97 more, durable.
    let last = sink.record_batch(signals[603..].to_vec()).unwrap();
    last.wait().unwrap();

    let m = sink.shutdown();
    let snap = Snapshot::open(&path).unwrap();
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    let persisted = snap.record_count() - 100; // the ledger held 100 before the sink
    assert_eq!(persisted, 597);

    assert_eq!(m.durable, persisted);
    assert_eq!(m.recorded, 697);
    assert_eq!(m.failed, 100);
    assert_eq!(m.failed_batches, 1);
    assert_eq!(m.refused_invalid, 3);
    assert_eq!(m.refused_full, 0);
    assert_eq!(m.queue_depth, 0);
    assert!(m.queue_depth_max >= 1 && m.queue_depth_max <= 697);
    assert!(m.batches >= 1 && m.batches <= persisted, "{}", m.batches);
    for (name, d) in [
        ("batch_size", m.batch_size),
        ("sync_ms", m.sync_ms),
        ("commit_ms", m.commit_ms),
    ] {
        assert_eq!(d.count, m.batches, "{name}: one value per append");
    }
    assert!(m.batch_size.max >= 20.0, "a batch of 20 went in one append");
    assert!(m.batch_size.max <= persisted as f64);
    // The mean group size times the appends is the signals appended (3 significant digits).
    let appended = m.batch_size.mean * m.batches as f64;
    assert!(
        (appended - persisted as f64).abs() <= persisted as f64 * 0.01,
        "{appended} vs {persisted}"
    );
    assert_eq!(m.persist_latency_ms.count, m.durable);
    assert_eq!(m.queue_to_durable_ms.count, m.durable);
    let q = m.queue_to_durable_ms;
    assert!(q.p50 <= q.p90 && q.p90 <= q.p99 && q.p99 <= q.p999 && q.p999 <= q.max);
    assert!(
        m.last_error.as_deref().is_some_and(|e| e.contains(".seg")),
        "{:?}",
        m.last_error
    );
    assert_eq!(m.durability, Durability::Fdatasync);
    assert_eq!(m.pid, std::process::id());

    // The file is there after shutdown, and says the same.
    assert!(path.join(METRICS_FILE).is_file());
    let file = SinkMetrics::read_from(&path)
        .unwrap()
        .expect("metrics file");
    assert_eq!(
        (
            file.recorded,
            file.durable,
            file.failed,
            file.refused_invalid,
            file.batches,
            file.failed_batches,
        ),
        (
            m.recorded,
            m.durable,
            m.failed,
            m.refused_invalid,
            m.batches,
            m.failed_batches,
        )
    );
    assert_eq!(file.batch_size, m.batch_size);
    assert_eq!(file.persist_latency_ms, m.persist_latency_ms);
    assert_eq!(file.last_error, m.last_error);
    assert_eq!(file.queue_depth, 0);

    // The ledger does not mind the file beside its segments.
    drop(snap);
    let mut ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.next_seq(), 697);
    ledger.append(&demo_signals(1, 52)).unwrap();
}

#[test]
fn no_metrics_file_when_asked_for_none() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, PersistenceConfig::default()).unwrap();
    let config = SinkConfig {
        metrics_file: false,
        ..SinkConfig::from_persistence(ledger.config())
    };
    let sink = SignalSink::start(ledger, config).unwrap();
    sink.record(demo_signals(1, 53).remove(0))
        .unwrap()
        .wait()
        .unwrap();
    let m = sink.shutdown();
    assert_eq!((m.durable, m.batches), (1, 1));
    assert!(!path.join(METRICS_FILE).exists());
    assert_eq!(SinkMetrics::read_from(&path).unwrap(), None);
}

#[test]
fn a_sink_opened_on_a_directory_takes_the_ledgers_settings_and_writes_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let config = PersistenceConfig {
        batch_size: 7,
        flush_interval_ms: 3,
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    drop(Ledger::create(&path, config).unwrap());
    let sink = SignalSink::open(&path).unwrap();
    assert_eq!(sink.config().batch_size, 7);
    assert_eq!(sink.config().flush_interval, Duration::from_millis(3));
    let handle = sink.record_batch(demo_signals(30, 54)).unwrap();
    assert_eq!(handle.wait().unwrap().len(), 30);
    let m = sink.shutdown();
    assert_eq!(m.durability, Durability::None);
    assert_eq!(m.durable, 30);
    let file = SinkMetrics::read_from(&path).unwrap().unwrap();
    assert_eq!(file.durable, 30);
    assert_eq!(file.durability, Durability::None);
}
