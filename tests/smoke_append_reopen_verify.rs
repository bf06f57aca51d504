//! Appends, reopens and verifies: the basic promise of the engine.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger::engine::{verify, Ledger, PersistenceConfig, Snapshot, VerifyOptions};

#[test]
fn append_reopen_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l");
    let config = PersistenceConfig {
        segment_size_bytes: 64 * 1024,
        ..PersistenceConfig::default()
    };
    let signals: Vec<_> = DemoGenerator::new(&DemoConfig {
        count: 3000,
        ..DemoConfig::default()
    })
    .collect();
    let mut ledger = Ledger::create(&path, config).unwrap();
    let r1 = ledger.append(&signals[..1000]).unwrap();
    assert_eq!((r1.first_seq, r1.last_seq), (0, Some(999)));
    drop(ledger);
    let mut ledger = Ledger::open(&path).unwrap();
    assert!(ledger.recovery().is_none());
    let r2 = ledger.append(&signals[1000..]).unwrap();
    assert_eq!((r2.first_seq, r2.last_seq), (1000, Some(2999)));
    assert!(ledger.sealed_segments().len() > 5);
    let snap = Snapshot::open(&path).unwrap();
    assert_eq!(snap.record_count(), 3000);
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records_checked, 3000);
    assert_eq!(report.head_hash, Some(r2.head_hash));
    let seq = verify(
        &snap,
        VerifyOptions {
            sequential: true,
            ..Default::default()
        },
    );
    assert_eq!(seq.first_failure, report.first_failure);
    let rec = snap.get(1234).unwrap().unwrap();
    assert_eq!(rec.seq, 1234);
    assert_eq!(rec.signal.ticker, signals[1234].ticker);
    assert_eq!(rec.row_hash, r2.row_hashes[234]);
    let found = snap
        .find_signal_id(&signals[2500].signal_id)
        .unwrap()
        .unwrap();
    assert_eq!(found.seq, 2500);
    assert_eq!(snap.tail(3).unwrap().len(), 3);
}
