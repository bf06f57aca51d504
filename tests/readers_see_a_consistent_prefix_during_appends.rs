//! Readers opened while the writer appends and rolls segments always see a consistent prefix:
//! dense seqs from 0, every entry whole, the chain intact, never a partial record.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_ledger::engine::{
    verify, Durability, Ledger, PersistenceConfig, Snapshot, VerifyOptions,
};
use support::*;

#[test]
fn snapshots_during_appends_and_rolls_are_intact_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let config = PersistenceConfig {
        segment_size_bytes: 16 * 1024,
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let mut ledger = Ledger::create(&path, config).unwrap();
    let signals = demo_signals(6000, 3);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let mut snapshots = 0;
                while !done.load(Ordering::Relaxed) || snapshots < 5 {
                    let snap = Snapshot::open(&path).unwrap();
                    assert!(snap.damage().is_none(), "{:?}", snap.damage());
                    assert!(snap.record_count() >= seen, "a reader went back in time");
                    seen = snap.record_count();
                    let report = verify(&snap, VerifyOptions::default());
                    assert!(report.is_intact(), "{:?}", report.first_failure);
                    assert_eq!(report.records_checked, seen);
                    for (i, e) in snap.entries().enumerate() {
                        assert_eq!(e.unwrap().seq, i as u64);
                    }
                    snapshots += 1;
                }
                (seen, snapshots)
            })
        })
        .collect();
    for chunk in signals.chunks(37) {
        ledger.append(chunk).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        let (seen, snapshots) = r.join().unwrap();
        assert!(snapshots >= 5 && seen <= 6000);
    }
    assert!(ledger.sealed_segments().len() > 50);
    let snap = Snapshot::open(&path).unwrap();
    assert_eq!(snap.record_count(), 6000);
}
