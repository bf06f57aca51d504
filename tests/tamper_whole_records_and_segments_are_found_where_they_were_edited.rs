//! Promise (the tamper matrix, part 2): whole records deleted, duplicated, swapped or moved
//! inside a sealed segment, and whole segments deleted, duplicated, swapped, renamed or
//! truncated, are each detected, at the place asserted case by case; the writer's open refuses
//! what it reads (headers, trailers, joins) and leaves the directory as it was, a reader's
//! snapshot reports it, and what neither reads (frames inside sealed segments) verify reports.
//! Removing the newest segments leaves a shorter, self-consistent chain: that is found against a
//! head digest taken earlier.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;
mod tamper_support;

use std::path::Path;

use signal_ledger::engine::files::segment_path;
use signal_ledger::engine::{
    verify, CorruptKind, Corruption, Digest, Ledger, Snapshot, VerifyOptions,
};
use tamper_support::*;

#[test]
fn whole_records_deleted_duplicated_swapped_or_moved_are_each_detected() {
    let (_tmp, pristine, _) = build_tamper_ledger(180, 43);
    let maps = sealed_maps(&pristine);
    // A sealed segment after the first, holding signals only (so that renumbering its entries
    // breaks no outcome's link before the place asserted), and a record in its middle.
    let map = maps[1..]
        .iter()
        .find(|m| m.frames.iter().all(|f| f.kind == 1))
        .unwrap();
    let n = map.frames.len();
    assert!(n >= 8, "{n} frames");
    let k = n / 2;
    let f = map.frames[k];
    let next = map.frames[k + 1];
    let file = |dir: &Path| dir.join(map.path.file_name().unwrap());
    let mut found = Vec::new();

    // Deleted: the frame after it now stands where seq s must be.
    let (_t, dir) = fresh_copy(&pristine);
    let order: Vec<usize> = (0..n).filter(|&i| i != k).collect();
    std::fs::write(file(&dir), rewrite_frames(map, &order)).unwrap();
    let c = assert_found_by_verify_only(&dir, "delete", &seg_place(&file(&dir), f.offset, f.seq));
    assert_eq!(
        c.kind,
        CorruptKind::SeqGap {
            expected: f.seq,
            found: f.seq + 1
        }
    );
    found.push(("delete a record", c));

    // Duplicated: the copy stands where seq s + 1 must be.
    let (_t, dir) = fresh_copy(&pristine);
    let mut order: Vec<usize> = (0..n).collect();
    order.insert(k + 1, k);
    std::fs::write(file(&dir), rewrite_frames(map, &order)).unwrap();
    let c = assert_found_by_verify_only(
        &dir,
        "duplicate",
        &seg_place(&file(&dir), f.offset + f.size, f.seq + 1),
    );
    assert_eq!(
        c.kind,
        CorruptKind::SeqGap {
            expected: f.seq + 1,
            found: f.seq
        }
    );
    found.push(("duplicate a record", c));

    // Two adjacent records swapped.
    let (_t, dir) = fresh_copy(&pristine);
    let mut order: Vec<usize> = (0..n).collect();
    order.swap(k, k + 1);
    std::fs::write(file(&dir), rewrite_frames(map, &order)).unwrap();
    let c = assert_found_by_verify_only(&dir, "swap", &seg_place(&file(&dir), f.offset, f.seq));
    assert_eq!(
        c.kind,
        CorruptKind::SeqGap {
            expected: f.seq,
            found: next.seq
        }
    );
    found.push(("swap two adjacent records", c));

    // Moved three places later.
    let (_t, dir) = fresh_copy(&pristine);
    let mut order: Vec<usize> = (0..n).collect();
    let moved = order.remove(k);
    order.insert(k + 3, moved);
    std::fs::write(file(&dir), rewrite_frames(map, &order)).unwrap();
    let c = assert_found_by_verify_only(&dir, "move", &seg_place(&file(&dir), f.offset, f.seq));
    assert!(matches!(c.kind, CorruptKind::SeqGap { .. }), "{c}");
    found.push(("move a record 3 places later", c));

    // Deleted by a forger who renumbers and rechains the rest of the segment (seqs, prev
    // hashes, row hashes, CRCs) but leaves the trailer: the trailer still counts n frames and
    // the record area ends one frame early.
    let (_t, dir) = fresh_copy(&pristine);
    let rest: Vec<Vec<u8>> = map.frames[k + 1..]
        .iter()
        .map(|g| map.bytes[g.offset..g.offset + g.size].to_vec())
        .collect();
    let prev: [u8; 32] = map.bytes[f.offset + f.size - 64..f.offset + f.size - 32]
        .try_into()
        .unwrap();
    let (rechained, _) = rechain(&rest, f.seq, prev);
    let mut bytes = map.bytes[..f.offset].to_vec();
    bytes.extend_from_slice(&rechained);
    let area_end = bytes.len();
    bytes.extend_from_slice(&map.bytes[map.records_end..]);
    std::fs::write(file(&dir), &bytes).unwrap();
    let last = map.frames[n - 1].seq;
    let c = assert_found_by_verify_only(
        &dir,
        "delete and rechain",
        &seg_place(&file(&dir), area_end, last),
    );
    assert!(
        matches!(c.kind, CorruptKind::LengthOutOfRange { .. }),
        "{c}"
    );
    found.push(("delete a record, rechain the rest, keep the trailer", c));

    // The same, with the trailer rewritten to agree (count, last seq, last row hash, CRC): the
    // segment is consistent, but the next one no longer joins — it is named for the seq after
    // the old last one, so a segment is missing between them.
    let (_t, dir) = fresh_copy(&pristine);
    let (rechained, last_hash) = rechain(&rest, f.seq, prev);
    let mut bytes = map.bytes[..f.offset].to_vec();
    bytes.extend_from_slice(&rechained);
    let mut trailer = map.bytes[map.records_end..].to_vec();
    trailer[8..16].copy_from_slice(&(n as u64 - 1).to_le_bytes());
    trailer[24..32].copy_from_slice(&(last - 1).to_le_bytes());
    trailer[48..80].copy_from_slice(&last_hash);
    let timestamps: Vec<i64> = (0..n)
        .filter(|&i| i != k)
        .map(|i| map.frames[i].offset + FRAME_HEADER_LEN + 16)
        .map(|at| i64::from_le_bytes(map.bytes[at..at + 8].try_into().unwrap()))
        .collect();
    let min_ts = timestamps.iter().min().unwrap();
    let max_ts = timestamps.iter().max().unwrap();
    trailer[32..40].copy_from_slice(&min_ts.to_le_bytes());
    trailer[40..48].copy_from_slice(&max_ts.to_le_bytes());
    let crc = crc32fast::hash(&trailer[..80]);
    trailer[80..84].copy_from_slice(&crc.to_le_bytes());
    bytes.extend_from_slice(&trailer);
    std::fs::write(file(&dir), &bytes).unwrap();
    let missing = segment_path(&dir, last);
    let c = assert_refused_everywhere(
        &dir,
        "delete, rechain, new trailer",
        &(missing, 0, Some(last)),
    );
    assert_eq!(c.kind, CorruptKind::MissingSegment { first_seq: last });
    found.push(("delete a record, rechain the rest and the trailer", c));

    for (case, c) in &found {
        println!("{case}: {c}");
    }
}

#[test]
fn whole_segments_deleted_duplicated_swapped_renamed_or_truncated_are_each_detected() {
    let (_tmp, pristine, _) = build_tamper_ledger(180, 47);
    let maps = sealed_maps(&pristine);
    assert!(maps.len() >= 5, "{} sealed segments", maps.len());
    let name = |i: usize| maps[i].path.file_name().unwrap().to_owned();
    let first = |i: usize| maps[i].first_seq;
    let mut found: Vec<(String, Corruption)> = Vec::new();
    let mut case = |label: &str, edit: &dyn Fn(&Path), expected: &dyn Fn(&Path) -> Place| {
        let (_t, dir) = fresh_copy(&pristine);
        edit(&dir);
        let want = expected(&dir);
        let c = assert_refused_everywhere(&dir, label, &want);
        found.push((label.to_owned(), c));
    };

    // A middle segment deleted: a gap in the seqs.
    case(
        "delete a middle segment",
        &|d| std::fs::remove_file(d.join(name(2))).unwrap(),
        &|d| (segment_path(d, first(2)), 0, Some(first(2))),
    );
    // The first segment deleted (no retention anchor accounts for it).
    case(
        "delete the first segment",
        &|d| std::fs::remove_file(d.join(name(0))).unwrap(),
        &|d| (segment_path(d, 0), 0, Some(0)),
    );
    // A copy of segment 1 under the next segment's name (replacing it): its header names
    // another first seq.
    case(
        "duplicate a segment under the next name",
        &|d| {
            std::fs::copy(d.join(name(1)), d.join(name(2)))
                .map(drop)
                .unwrap()
        },
        &|d| (d.join(name(2)), 0, Some(first(2))),
    );
    // A copy of segment 1 added under a name inside its range: an overlap.
    case(
        "duplicate a segment under an overlapping name",
        &|d| {
            std::fs::copy(d.join(name(1)), segment_path(d, first(1) + 1))
                .map(drop)
                .unwrap()
        },
        &|d| (segment_path(d, first(1) + 1), 0, Some(first(2))),
    );
    // The same, with the copy's header renumbered to its new name and its CRC fixed.
    case(
        "duplicate a segment, renumbered, under an overlapping name",
        &|d| {
            let mut bytes = std::fs::read(d.join(name(1))).unwrap();
            bytes[16..24].copy_from_slice(&(first(1) + 1).to_le_bytes());
            let crc = crc32fast::hash(&bytes[..76]);
            bytes[76..80].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(segment_path(d, first(1) + 1), bytes).unwrap();
        },
        &|d| (segment_path(d, first(1) + 1), 0, Some(first(2))),
    );
    // Two segments' contents swapped.
    case(
        "swap two segment files' contents",
        &|d| {
            let (a, b) = (d.join(name(1)), d.join(name(2)));
            let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            std::fs::write(&a, bb).unwrap();
            std::fs::write(&b, ba).unwrap();
        },
        &|d| (d.join(name(1)), 0, Some(first(1))),
    );
    // Renamed to a higher number: the segment its old name promised is missing.
    case(
        "rename a segment to a higher number",
        &|d| std::fs::rename(d.join(name(2)), segment_path(d, first(2) + 1)).unwrap(),
        &|d| (segment_path(d, first(2)), 0, Some(first(2))),
    );
    // Renumbered to a higher number, header rewritten to match (CRC fixed): still missing.
    case(
        "renumber a segment (name and header) to a higher number",
        &|d| {
            let mut bytes = std::fs::read(d.join(name(2))).unwrap();
            bytes[16..24].copy_from_slice(&(first(2) + 1).to_le_bytes());
            let crc = crc32fast::hash(&bytes[..76]);
            bytes[76..80].copy_from_slice(&crc.to_le_bytes());
            std::fs::remove_file(d.join(name(2))).unwrap();
            std::fs::write(segment_path(d, first(2) + 1), bytes).unwrap();
        },
        &|d| (segment_path(d, first(2)), 0, Some(first(2))),
    );
    // Renamed to a lower number (inside the previous segment's range).
    case(
        "rename a segment to a lower number",
        &|d| std::fs::rename(d.join(name(2)), segment_path(d, first(2) - 1)).unwrap(),
        &|d| (segment_path(d, first(2) - 1), 0, Some(first(2))),
    );
    // Truncated: the trailer cut off, leaving a segment followed by others unsealed.
    let truncate = |d: &Path, i: usize, len: usize| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join(name(i)))
            .unwrap();
        f.set_len(len as u64).unwrap();
    };
    let m1 = maps[1].clone();
    case(
        "truncate a sealed segment before its trailer",
        &|d| truncate(d, 1, m1.records_end),
        &|d| {
            (
                d.join(name(1)),
                (m1.records_end - TRAILER_LEN) as u64,
                Some(first(1)),
            )
        },
    );
    let mid = m1.frames[m1.frames.len() / 2];
    let cut = mid.offset + mid.size / 2;
    case(
        "truncate a sealed segment in the middle of a frame",
        &|d| truncate(d, 1, cut),
        &|d| (d.join(name(1)), (cut - TRAILER_LEN) as u64, Some(first(1))),
    );
    let whole = m1.bytes.len();
    case(
        "truncate a sealed segment by its last byte",
        &|d| truncate(d, 1, whole - 1),
        &|d| {
            (
                d.join(name(1)),
                (whole - 1 - TRAILER_LEN) as u64,
                Some(first(1)),
            )
        },
    );
    case(
        "truncate a sealed segment inside its header",
        &|d| truncate(d, 1, 40),
        &|d| (d.join(name(1)), 0, Some(first(1))),
    );
    for (label, c) in &found {
        println!("{label}: {c}");
    }
}

#[test]
fn removing_the_newest_segments_is_found_against_an_earlier_digest() {
    let (_tmp, pristine, _) = build_tamper_ledger(180, 53);
    let snap = Snapshot::open(&pristine).unwrap();
    let head = Digest::of_head(&snap).unwrap().unwrap();
    let active = snap.segments().last().unwrap();
    assert!(active.trailer.is_none() && active.record_count > 0);
    let active_name = active.path.file_name().unwrap().to_owned();
    let sealed = snap.segments()[snap.segments().len() - 2].path.clone();
    let sealed_name = sealed.file_name().unwrap().to_owned();
    // A digest of an entry that survives the cut (the first sealed segment's last entry).
    let early_seq = snap.segments()[0].first_seq() + snap.segments()[0].record_count - 1;
    let early = Digest::at(&snap, early_seq).unwrap().unwrap();
    drop(snap);

    for (label, remove) in [
        ("delete the last segment", vec![active_name.clone()]),
        (
            "delete the last two segments",
            vec![active_name.clone(), sealed_name.clone()],
        ),
    ] {
        let (_t, dir) = fresh_copy(&pristine);
        for n in &remove {
            std::fs::remove_file(dir.join(n)).unwrap();
        }
        // What is left is a shorter chain, consistent in itself: verify alone cannot tell (its
        // report says what it proves: the chain from genesis to its head). Only a digest kept
        // elsewhere can — PROCEDURES.md, "Head digests and verify --against".
        let snap = Snapshot::open(&dir).unwrap();
        let report = verify(&snap, VerifyOptions::default());
        assert!(report.is_intact(), "{label}: {:?}", report.first_failure);
        assert!(report.head_seq.unwrap() < head.seq, "{label}");
        let c = head.check(&snap).unwrap_err();
        assert_eq!(c.seq, Some(head.seq), "{label}: {c}");
        assert!(
            matches!(c.kind, CorruptKind::DigestMismatch(_)),
            "{label}: {c}"
        );
        assert!(
            c.to_string().contains("entries were removed"),
            "{label}: {c}"
        );
        // A digest of an entry still held passes: a digest pins exactly the chain up to it.
        early.check(&snap).unwrap();
        drop(snap);
        // The writer cannot know either: it opens and continues the shorter chain (creating a
        // new active segment when the last one left is sealed), and the old digest still fails.
        drop(Ledger::open(&dir).unwrap());
        let snap = Snapshot::open(&dir).unwrap();
        assert!(verify(&snap, VerifyOptions::default()).is_intact());
        let c = head.check(&snap).unwrap_err();
        assert_eq!(c.seq, Some(head.seq), "{label}: {c}");
        println!("{label}: verify intact (a shorter chain); against the earlier digest: {c}");
    }
}
