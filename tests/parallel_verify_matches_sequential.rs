//! Parallel verification reports exactly what a sequential pass reports: the same count and the
//! same first failure, for intact ledgers and for damage anywhere.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use signal_ledger::engine::{verify, Snapshot, VerifyOptions};
use support::*;

#[test]
fn parallel_equals_sequential_for_random_damage() {
    let (tmp, path, _) = build_ledger(20_000, 1000, small_segments(1 << 20));
    let segs = segments(&path);
    assert!(segs.len() >= 4);
    let check = |dir: &std::path::Path| {
        let snap = Snapshot::open(dir).unwrap();
        let par = verify(&snap, VerifyOptions::default());
        let seq = verify(
            &snap,
            VerifyOptions {
                sequential: true,
                ..Default::default()
            },
        );
        assert_eq!(par.first_failure, seq.first_failure);
        assert_eq!(par.records_checked, seq.records_checked);
        assert_eq!(par.head_hash, seq.head_hash);
        par
    };
    assert!(check(&path).is_intact());
    // Deterministic pseudo-random positions across all segments.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let work = tmp.path().join(format!("r{round}"));
        copy_ledger(&path, &work);
        let seg = &segments(&work)[(x % segs.len() as u64) as usize];
        let len = std::fs::metadata(seg).unwrap().len();
        let offset = 80 + (x >> 8) % (len - 80 - 96);
        flip_byte(seg, offset, 1 << (x % 8));
        let report = check(&work);
        // A flip in the active segment's last entry reads as a torn tail (reported, not a
        // failure: a writer cut short looks the same).
        assert!(
            !report.is_intact() || report.torn_tail.is_some(),
            "round {round}: flip at {offset} not detected"
        );
    }
}

#[test]
fn a_sub_range_verifies_only_its_entries() {
    let (_tmp, path, receipts) = build_ledger(5000, 500, small_segments(256 * 1024));
    let snap = Snapshot::open(&path).unwrap();
    let report = verify(
        &snap,
        VerifyOptions {
            from_seq: Some(1234),
            to_seq: Some(3999),
            sequential: false,
        },
    );
    assert!(report.is_intact());
    assert_eq!(report.records_checked, 3999 - 1234 + 1);
    assert_eq!(report.head_hash, Some(receipts.last().unwrap().head_hash));
    // Damage outside the range is not reported; inside it is.
    let segs = segments(&path);
    let last = segs.last().unwrap();
    let offs = frame_offsets(last);
    flip_byte(last, offs[offs.len() - 3] + 20, 0x02);
    let snap = Snapshot::open(&path).unwrap();
    let inside = verify(
        &snap,
        VerifyOptions {
            from_seq: Some(4990),
            ..Default::default()
        },
    );
    assert_eq!(inside.first_failure.unwrap().seq, Some(4997));
    let outside = verify(
        &snap,
        VerifyOptions {
            to_seq: Some(4900),
            ..Default::default()
        },
    );
    assert!(outside.is_intact());
}
