//! A torn tail — the last segment cut at any byte of its last records, or followed by garbage — is
//! truncated on open to exactly the last whole valid record, reported, and appends continue.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use signal_ledger::engine::{verify, Ledger, PersistenceConfig, Snapshot, VerifyOptions};
use support::*;

#[test]
fn truncation_at_every_byte_of_the_last_three_records_recovers_the_valid_prefix() {
    let (tmp, path, receipts) = build_ledger(40, 10, PersistenceConfig::default());
    let seg = segments(&path).pop().unwrap();
    let offsets = frame_offsets(&seg);
    let full_len = std::fs::metadata(&seg).unwrap().len();
    let hashes: Vec<_> = receipts.iter().flat_map(|r| r.row_hashes.clone()).collect();
    let first_cut = offsets[offsets.len() - 3];
    let work = tmp.path().join("work");
    for cut in first_cut..full_len {
        let _ = std::fs::remove_dir_all(&work);
        copy_ledger(&path, &work);
        let work_seg = segments(&work).pop().unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&work_seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        // Whole records before the cut survive; the cut one is dropped.
        let whole = offsets.iter().filter(|&&o| o < cut).count() as u64;
        let boundary = offsets.iter().copied().filter(|&o| o <= cut).max().unwrap();
        let (expected_count, expected_end) = if offsets.contains(&cut) {
            (whole, cut)
        } else {
            (whole - 1, boundary)
        };
        let mut ledger = Ledger::open(&work).unwrap();
        match ledger.recovery() {
            Some(r) => {
                assert_eq!(r.offset, expected_end, "cut {cut}");
                assert_eq!(r.dropped_bytes, cut - expected_end, "cut {cut}");
            }
            None => assert_eq!(cut, expected_end, "cut {cut}: no recovery reported"),
        }
        assert_eq!(ledger.next_seq(), expected_count, "cut {cut}");
        assert_eq!(std::fs::metadata(&work_seg).unwrap().len(), expected_end);
        let head = ledger.head().unwrap();
        assert_eq!(head.row_hash, hashes[expected_count as usize - 1]);
        // Appends continue from the recovered head and the chain verifies.
        ledger.append(&demo_signals(2, 99)).unwrap();
        drop(ledger);
        let snap = Snapshot::open(&work).unwrap();
        assert_eq!(snap.record_count(), expected_count + 2);
        assert!(
            verify(&snap, VerifyOptions::default()).is_intact(),
            "cut {cut}"
        );
    }
}

#[test]
fn garbage_tails_are_truncated() {
    let (tmp, path, receipts) = build_ledger(30, 30, PersistenceConfig::default());
    let head = receipts[0].head_hash;
    let garbage: [&[u8]; 5] = [
        &[0],
        &[0xFF; 3],
        &[0u8; 4096],
        b"\x10\x01\x00\x00garbage that looks like a frame header",
        &[0xAB; 100_000],
    ];
    for (i, tail) in garbage.iter().enumerate() {
        let work = tmp.path().join(format!("g{i}"));
        copy_ledger(&path, &work);
        let seg = segments(&work).pop().unwrap();
        let len = std::fs::metadata(&seg).unwrap().len();
        let f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        std::io::Write::write_all(&mut &f, tail).unwrap();
        // A reader sees the valid prefix and does not change the file.
        let snap = Snapshot::open(&work).unwrap();
        assert_eq!(snap.record_count(), 30);
        assert!(snap.torn_tail().is_some());
        drop(snap);
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len(),
            len + tail.len() as u64
        );
        let ledger = Ledger::open(&work).unwrap();
        let r = ledger.recovery().unwrap();
        assert_eq!(
            (r.offset, r.dropped_bytes),
            (len, tail.len() as u64),
            "garbage {i}"
        );
        assert_eq!(ledger.head().unwrap().row_hash, head);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), len);
    }
}

#[test]
fn a_crc_mismatch_in_the_final_frame_is_a_torn_tail() {
    let (_tmp, path, receipts) = build_ledger(20, 20, PersistenceConfig::default());
    let seg = segments(&path).pop().unwrap();
    let last = *frame_offsets(&seg).last().unwrap();
    flip_byte(&seg, last + 40, 0x01);
    let ledger = Ledger::open(&path).unwrap();
    let r = ledger.recovery().unwrap();
    assert_eq!(r.offset, last);
    assert!(r.reason.contains("crc mismatch"), "{}", r.reason);
    assert_eq!(ledger.next_seq(), 19);
    assert_eq!(ledger.head().unwrap().row_hash, receipts[0].row_hashes[18]);
}

#[test]
fn a_garbled_trailer_of_the_last_segment_is_dropped_and_the_segment_reopened() {
    // A crash while sealing can leave the trailer's bytes garbled (the frames were synced
    // before it): the trailer is dropped, no entry is lost, and appends continue.
    let (tmp, path, sealed) = ledger_ending_in_a_sealed_segment();
    let len = std::fs::metadata(&sealed).unwrap().len();
    let count_before = Snapshot::open(&path).unwrap().record_count();
    for offset in [len - 96, len - 50, len - 1] {
        let work = tmp.path().join(format!("w{offset}"));
        copy_ledger(&path, &work);
        let seg = segments(&work).pop().unwrap();
        flip_byte(&seg, offset, 0x10);
        let mut ledger = Ledger::open(&work).unwrap();
        let r = ledger.recovery().unwrap();
        assert_eq!(
            (r.offset, r.dropped_bytes),
            (len - 96, 96),
            "flip at {offset}"
        );
        assert_eq!(ledger.next_seq(), count_before);
        ledger.append(&demo_signals(5, 3)).unwrap();
        drop(ledger);
        let snap = Snapshot::open(&work).unwrap();
        assert!(verify(&snap, VerifyOptions::default()).is_intact());
    }
}

/// A small seeded generator (xorshift64*): the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_cuts_with_garbage_or_lost_writes_recover_exactly_the_valid_prefix() {
    // A crash can leave a cut-short write followed by whatever the file system had there
    // (zeros, old bytes, noise), or the last record's pages only partly written. Every case
    // recovers exactly the whole records before the damage, and appends continue.
    let cases: u64 = std::env::var("SIGNAL_LEDGER_TORN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let (tmp, path, receipts) = build_ledger(40, 10, PersistenceConfig::default());
    let seg = segments(&path).pop().unwrap();
    let original = std::fs::read(&seg).unwrap();
    let offsets = frame_offsets(&seg);
    let full_len = original.len() as u64;
    let hashes: Vec<_> = receipts.iter().flat_map(|r| r.row_hashes.clone()).collect();
    let last = *offsets.last().unwrap();
    let first_cut = offsets[offsets.len() - 3];
    let mut rng = Rng(0x5EED_7041);
    let work = tmp.path().join("work");
    for case in 0..cases {
        let mut bytes = original.clone();
        // Where the damage starts: every whole record before it survives.
        let damage_at = if rng.below(2) == 0 {
            // Cut anywhere in the last three records, then a tail of garbage.
            let cut = first_cut + rng.below(full_len - first_cut + 1);
            bytes.truncate(cut as usize);
            let tail_len = 1 + rng.below(8192) as usize;
            match rng.below(3) {
                0 => bytes.resize(bytes.len() + tail_len, 0),
                1 => bytes.extend((0..tail_len).map(|_| rng.next() as u8)),
                _ => {
                    // Noise that starts like a frame: a length that fits, then random bytes.
                    // (A whole earlier frame, CRC and all, after the damage is not a torn
                    // tail but a bad record followed by a valid one: refused, see
                    // damage_is_refused_never_repaired.rs.)
                    let body = tail_len.saturating_sub(8) as u32;
                    bytes.extend_from_slice(&body.to_le_bytes());
                    bytes.extend((4..tail_len).map(|_| rng.next() as u8));
                }
            }
            cut
        } else {
            // The last record's pages partly lost: a run of zeros inside it.
            let start = last + rng.below(full_len - last);
            let end = (start + 1 + rng.below(600)).min(full_len);
            if original[start as usize..end as usize]
                .iter()
                .all(|&b| b == 0)
            {
                continue; // nothing would change
            }
            bytes[start as usize..end as usize].fill(0);
            start
        };
        let expected_count = offsets
            .iter()
            .zip(offsets.iter().skip(1).chain([&full_len]))
            .filter(|&(_, &end)| end <= damage_at)
            .count() as u64;
        let expected_end = offsets
            .get(expected_count as usize)
            .copied()
            .unwrap_or(full_len);
        let _ = std::fs::remove_dir_all(&work);
        copy_ledger(&path, &work);
        let work_seg = segments(&work).pop().unwrap();
        std::fs::write(&work_seg, &bytes).unwrap();

        let mut ledger = Ledger::open(&work).unwrap_or_else(|e| panic!("case {case}: {e}"));
        assert_eq!(ledger.next_seq(), expected_count, "case {case}");
        assert_eq!(
            std::fs::metadata(&work_seg).unwrap().len(),
            expected_end,
            "case {case}"
        );
        assert_eq!(
            ledger.head().unwrap().row_hash,
            hashes[expected_count as usize - 1],
            "case {case}"
        );
        ledger.append(&demo_signals(2, 99)).unwrap();
        drop(ledger);
        let snap = Snapshot::open(&work).unwrap();
        assert_eq!(snap.record_count(), expected_count + 2, "case {case}");
        assert!(
            verify(&snap, VerifyOptions::default()).is_intact(),
            "case {case}"
        );
    }
}
