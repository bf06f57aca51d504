//! A segment's index holds exactly what its entries say (every column, posting list, time block
//! and id), its sidecar reads back identical, and a sidecar that is missing, damaged, stale or
//! another segment's is never used: the index is rebuilt from the segment and comes out the same.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use signal_ledger::engine::index::{
    id_hash, load_or_rebuild, read_sidecar, sidecar_path, write_sidecar, DictKey, SegmentIndex,
    SegmentSource, DICT_COLUMNS, NO_VALUE, TIME_BLOCK_LEN,
};
use signal_ledger::engine::SnapshotSegment;
use signal_ledger::engine::{SignalRecord, Snapshot};
use support::*;

/// Every record of segment `i`, decoded the slow way.
fn records_of(snap: &Snapshot, i: usize) -> Vec<SignalRecord> {
    let seg = &snap.segments()[i];
    let (first, n) = (seg.first_seq(), seg.record_count);
    snap.entries_from(first)
        .take(n as usize)
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect()
}

fn dict_value(r: &SignalRecord, key: DictKey) -> Option<&str> {
    let s = &r.signal;
    match key {
        DictKey::SourceModule => Some(&s.source_module),
        DictKey::Ticker => Some(&s.ticker),
        DictKey::Timeframe => s.timeframe.as_deref(),
        DictKey::StrategyId => s.strategy_id.as_deref(),
        DictKey::CorrelationId => s.correlation_id.as_deref(),
    }
}

/// Checks `index` against a brute-force reading of the records.
fn agrees_with_records(index: &SegmentIndex, records: &[SignalRecord]) {
    assert_eq!(index.len(), records.len());
    for (row, r) in records.iter().enumerate() {
        assert_eq!(index.first_seq + row as u64, r.seq);
        assert_eq!(index.timestamps[row], r.signal.timestamp_ns);
        assert_eq!(
            index.convictions[row].to_bits(),
            r.signal.conviction.to_bits()
        );
        assert_eq!(index.directions[row], r.signal.direction.code());
        assert_eq!(index.signal_types[row], r.signal.signal_type.code());
        let acted = match r.signal.acted_upon {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        assert_eq!(index.acted_upon[row], acted);
        assert_eq!(
            index.has_execution[row],
            u8::from(r.signal.execution_id.is_some())
        );
        for key in DICT_COLUMNS {
            let dict = index.dict(key);
            match dict_value(r, key) {
                Some(v) => assert_eq!(dict.values[dict.rows[row] as usize], v),
                None => assert_eq!(dict.rows[row], NO_VALUE),
            }
        }
        let id = &r.signal.signal_id;
        assert!(
            index.rows_with_id_hash(id).any(|x| x as usize == row),
            "id {id}"
        );
    }
    if let Some(last) = records.last() {
        assert_eq!(index.last_row_hash, last.row_hash);
    }
    // Posting lists: exactly the rows with each value, ascending.
    for key in DICT_COLUMNS {
        let mut expected: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (row, r) in records.iter().enumerate() {
            if let Some(v) = dict_value(r, key) {
                expected.entry(v).or_default().push(row as u32);
            }
        }
        let dict = index.dict(key);
        assert_eq!(dict.values.len(), expected.len(), "{}", key.name());
        for (v, rows) in &expected {
            assert_eq!(dict.rows_with(v), rows.as_slice(), "{} = {v}", key.name());
        }
        assert!(dict.rows_with("no such value").is_empty());
    }
    // Time blocks bound every timestamp of their rows.
    for (b, (min, max)) in index.time_blocks.iter().enumerate() {
        let rows =
            &index.timestamps[b * TIME_BLOCK_LEN..((b + 1) * TIME_BLOCK_LEN).min(index.len())];
        assert_eq!(*min, *rows.iter().min().unwrap());
        assert_eq!(*max, *rows.iter().max().unwrap());
    }
}

#[test]
fn every_segment_index_agrees_with_its_records_and_its_sidecar() {
    let (_tmp, path, _) = build_ledger(6_000, 500, small_segments(512 * 1024));
    let snap = Snapshot::open(&path).unwrap();
    assert!(
        snap.segments().len() >= 3,
        "sealed segments and an active one"
    );
    for i in 0..snap.segments().len() {
        let index = snap.segment_index(i).unwrap();
        agrees_with_records(&index, &records_of(&snap, i));
        assert_eq!(
            SegmentIndex::from_sidecar(&index.to_sidecar()).unwrap(),
            index
        );
    }
    // A 1-day window of one ticker, found through the index, matches a scan.
    let index = snap.segment_index(0).unwrap();
    let records = records_of(&snap, 0);
    let ticker = &records[0].signal.ticker;
    let from = records[0].signal.timestamp_ns;
    let to = from + 86_400_000_000_000;
    let in_blocks: Vec<usize> = index.blocks_meeting(from, to).flatten().collect();
    let found: Vec<u64> = index
        .dict(DictKey::Ticker)
        .rows_with(ticker)
        .iter()
        .map(|&r| r as usize)
        .filter(|r| in_blocks.contains(r) && (from..to).contains(&index.timestamps[*r]))
        .map(|r| index.first_seq + r as u64)
        .collect();
    let scanned: Vec<u64> = records
        .iter()
        .filter(|r| &r.signal.ticker == ticker && (from..to).contains(&r.signal.timestamp_ns))
        .map(|r| r.seq)
        .collect();
    assert_eq!(found, scanned);
    assert!(!found.is_empty());
}

#[test]
fn sidecars_are_used_when_sound_and_rebuilt_otherwise() {
    let (_tmp, path, _) = build_ledger(3_000, 500, small_segments(256 * 1024));
    let snap = Snapshot::open(&path).unwrap();
    let sealed: Vec<usize> = (0..snap.segments().len())
        .filter(|&i| snap.segments()[i].trailer.is_some())
        .collect();
    assert!(sealed.len() >= 2);
    let built: Vec<SegmentIndex> = sealed
        .iter()
        .map(|&i| snap.segment_index(i).unwrap())
        .collect();
    for (&i, index) in sealed.iter().zip(&built) {
        write_sidecar(&snap.segments()[i].path, index).unwrap();
    }
    // Sound sidecars are read back as they are.
    for (&i, index) in sealed.iter().zip(&built) {
        let seg = &snap.segments()[i];
        let t = seg.trailer.as_ref().unwrap();
        let read = read_sidecar(
            &seg.path,
            seg.first_seq(),
            seg.records_end as u64,
            t.last_row_hash,
        );
        assert_eq!(read.as_ref(), Some(index));
        assert_eq!(&snap.segment_index(i).unwrap(), index);
    }
    let (a, b) = (&snap.segments()[sealed[0]], &snap.segments()[sealed[1]]);
    // Another segment's sidecar in its place: refused by the binding, rebuilt identical.
    std::fs::copy(sidecar_path(&b.path), sidecar_path(&a.path)).unwrap();
    let t = a.trailer.as_ref().unwrap();
    assert!(read_sidecar(
        &a.path,
        a.first_seq(),
        a.records_end as u64,
        t.last_row_hash
    )
    .is_none());
    assert_eq!(snap.segment_index(sealed[0]).unwrap(), built[0]);
    // Damaged bytes: refused, rebuilt identical. Deleted: rebuilt identical.
    write_sidecar(&a.path, &built[0]).unwrap();
    let side = sidecar_path(&a.path);
    let len = std::fs::metadata(&side).unwrap().len();
    for at in [0, 9, 40, 80, len / 2, len - 1] {
        write_sidecar(&a.path, &built[0]).unwrap();
        flip_byte(&side, at, 0x10);
        assert_eq!(
            snap.segment_index(sealed[0]).unwrap(),
            built[0],
            "flip at {at}"
        );
    }
    std::fs::remove_file(&side).unwrap();
    assert_eq!(snap.segment_index(sealed[0]).unwrap(), built[0]);
}

/// What `load_or_rebuild` is told of a snapshot's segment.
fn source(seg: &SnapshotSegment) -> SegmentSource<'_> {
    SegmentSource {
        path: &seg.path,
        bytes: &seg.bytes,
        first_seq: seg.first_seq(),
        records_end: seg.records_end,
        prev_hash: seg.header.prev_hash,
        entry_count: seg.record_count,
        sealed_last_row_hash: seg.trailer.as_ref().map(|t| t.last_row_hash),
    }
}

#[test]
fn load_or_rebuild_keeps_a_sealed_segments_built_index_as_its_sidecar() {
    let (_tmp, path, _) = build_ledger(3_000, 500, small_segments(256 * 1024));
    let snap = Snapshot::open(&path).unwrap();
    let (active, sealed) = snap.segments().split_last().unwrap();
    assert!(!sealed.is_empty());
    let seg = &sealed[0];
    let side = sidecar_path(&seg.path);
    let truth = snap.segment_index(0).unwrap();
    let t = seg.trailer.as_ref().unwrap();
    let stored = || {
        read_sidecar(
            &seg.path,
            seg.first_seq(),
            seg.records_end as u64,
            t.last_row_hash,
        )
    };
    // Missing: built, and written as the sidecar, which reads back sound.
    assert!(!side.exists());
    assert_eq!(load_or_rebuild(&source(seg)).unwrap(), truth);
    assert_eq!(stored().as_ref(), Some(&truth));
    // Sound: read as it is, not written again (a write renames a new file into place).
    let inode = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).unwrap().ino()
    };
    let written = inode(&side);
    assert_eq!(load_or_rebuild(&source(seg)).unwrap(), truth);
    assert_eq!(inode(&side), written, "a sound sidecar is not rewritten");
    // Damaged: refused, rebuilt identical, and the sidecar written again, sound.
    flip_byte(&side, 40, 0x10);
    assert!(stored().is_none());
    assert_eq!(load_or_rebuild(&source(seg)).unwrap(), truth);
    assert_ne!(inode(&side), written, "a damaged sidecar is replaced");
    assert_eq!(stored().as_ref(), Some(&truth));
    // The active segment's index is built in memory, never written.
    let last = snap.segments().len() - 1;
    assert_eq!(
        load_or_rebuild(&source(active)).unwrap(),
        snap.segment_index(last).unwrap()
    );
    assert!(!sidecar_path(&active.path).exists());
}

#[test]
fn a_flipped_bit_anywhere_in_a_sidecar_is_refused_or_harmless() {
    let (_tmp, path, _) = build_ledger(150, 150, small_segments(1 << 20));
    let snap = Snapshot::open(&path).unwrap();
    let index = snap.segment_index(0).unwrap();
    let bytes = index.to_sidecar();
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 1 << (at % 8);
        // Alignment padding is not covered by a CRC: a flip there changes nothing.
        if let Ok(read) = SegmentIndex::from_sidecar(&damaged) {
            assert_eq!(read, index, "flip at {at} read back as a different index");
        }
    }
}

#[test]
fn id_hash_is_fnv1a_64() {
    // The FNV-1a test vectors (FORMAT.md gives the constants).
    assert_eq!(id_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(id_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(id_hash("foobar"), 0x8594_4171_f739_67e8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reading_arbitrary_bytes_as_a_sidecar_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SegmentIndex::from_sidecar(&bytes);
    }
}

#[test]
fn a_sidecar_cut_anywhere_is_refused() {
    let (_tmp, path, _) = build_ledger(40, 40, small_segments(1 << 20));
    let snap = Snapshot::open(&path).unwrap();
    let bytes = snap.segment_index(0).unwrap().to_sidecar();
    for cut in 0..bytes.len() {
        assert!(
            SegmentIndex::from_sidecar(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}
