//! The tamper matrix: every edit of a ledger is found, where it was made.
//!
//! - One bit flipped at any of ≥ 10,000 random positions across the sealed segments (one flip at
//!   a time): verify reports a failure, and its first failure is exactly where that byte is — the
//!   frame (file, offset, seq) holding it, or for a header or trailer byte the segment file, the
//!   header's or trailer's offset and the segment's first seq. 100% of flips, no exception.
//! - Whole records deleted, duplicated, swapped or moved inside a sealed segment, and whole
//!   segments deleted, duplicated, swapped, renamed or truncated: each is detected, at the place
//!   asserted case by case; the writer's open refuses what it reads (headers, trailers, joins)
//!   and leaves the directory as it was, a reader's snapshot reports it, and what neither reads
//!   (frames inside sealed segments) verify reports. Removing the newest segments leaves a
//!   shorter, self-consistent chain: that is found against a head digest taken earlier.
//! - Index sidecars flipped at many random bits, truncated, swapped between segments or replaced
//!   by stale ones are detected or rebuilt, never trusted: every index and every query, count and
//!   aggregate is the same as with no sidecar at all, and the writer still finds every id.
//!
//! Long form: `SIGNAL_LEDGER_TAMPER_FLIPS=N` (default 10,000) sets the number of bit flips in
//! segments; sidecar flips scale with it (N / 10 single flips, N / 500 rounds of one flip in
//! every sealed sidecar with every query answered); `SIGNAL_LEDGER_TAMPER_SEED` picks other
//! random positions (the default ones are fixed, so every run is reproducible).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use query_support::{walk_pages, Mix};
use sha2::{Digest as _, Sha256};
use signal_ledger::engine::files::segment_path;
use signal_ledger::engine::hash::ROW_HASH_DOMAIN;
use signal_ledger::engine::index::{
    read_sidecar_outcome_rows, sidecar_path, write_sidecar, OutcomeRow, SegmentIndex,
};
use signal_ledger::engine::record::{Decision, Outcome};
use signal_ledger::engine::{
    verify, CorruptKind, Corruption, Digest, Ledger, LedgerError, Signal, Snapshot, VerifyOptions,
    VerifyReport,
};
use signal_ledger::query::{AggregateRow, Catalog, Filter, GroupBy, Order, OrderBy};
use support::*;

const HEADER_LEN: usize = 80;
const TRAILER_LEN: usize = 96;
const FRAME_HEADER_LEN: usize = 8;

// ---------------------------------------------------------------------------------------------
// The ledger and its byte map
// ---------------------------------------------------------------------------------------------

fn outcome(signal_id: &str, acted: bool, execution_id: Option<&str>) -> Outcome {
    Outcome {
        signal_id: signal_id.to_owned(),
        decision: Decision::from_acted(acted),
        execution_id: execution_id.map(str::to_owned),
        reason: Some(format!("tamper matrix {signal_id}")),
        decided_at_ns: 1_767_225_600_000_000_000,
    }
}

/// A ledger of `signals` demo signals in 8 KiB segments with outcomes between them (so sealed
/// segments hold both entry kinds), ending in an active segment that holds entries. Returns the
/// temp dir, the ledger path and the signals appended.
fn build_tamper_ledger(signals: usize, seed: u64) -> (tempfile::TempDir, PathBuf, Vec<Signal>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let all = demo_signals(signals, seed);
    let id = |i: usize| all[i].signal_id.as_str();
    let mut ledger = Ledger::create(&path, small_segments(8 * 1024)).unwrap();
    let third = signals / 3;
    ledger.append(&all[..third]).unwrap();
    ledger
        .append_outcomes(&[
            outcome(id(3), true, Some("ex-3")),
            outcome(id(third / 2), false, None),
        ])
        .unwrap();
    ledger.append(&all[third..2 * third]).unwrap();
    ledger
        .append_outcomes(&[
            outcome(id(3), false, None),
            outcome(id(third + 5), true, Some("ex-b")),
            outcome(id(2 * third - 1), true, None),
        ])
        .unwrap();
    ledger.append(&all[2 * third..]).unwrap();
    ledger
        .append_outcomes(&[outcome(id(signals - 2), true, Some("ex-z"))])
        .unwrap();
    drop(ledger);
    (tmp, path, all)
}

/// One frame of a segment file.
#[derive(Debug, Clone, Copy)]
struct FrameLoc {
    offset: usize,
    /// Frame bytes: 8 + len.
    size: usize,
    seq: u64,
    kind: u8,
}

/// A sealed segment file and what each of its bytes belongs to.
#[derive(Debug, Clone)]
struct SealedMap {
    path: PathBuf,
    first_seq: u64,
    bytes: Vec<u8>,
    /// Where the trailer starts.
    records_end: usize,
    frames: Vec<FrameLoc>,
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Maps a sealed segment by walking its frames from the header (FORMAT.md, "Segment file"), and
/// checks the walk agrees with the format: frames tile the record area exactly, the trailer
/// counts them, each carries the seq that follows.
fn map_sealed(path: &Path) -> SealedMap {
    let bytes = std::fs::read(path).unwrap();
    let first_seq = u64_le(&bytes, 16);
    let records_end = bytes.len() - TRAILER_LEN;
    assert_eq!(
        &bytes[bytes.len() - 8..],
        b"SLGSEAL\n",
        "{}",
        path.display()
    );
    assert_eq!(u32_le(&bytes, records_end), u32::MAX, "trailer sentinel");
    let record_count = u64_le(&bytes, records_end + 8);
    let mut frames = Vec::new();
    let mut at = HEADER_LEN;
    while at < records_end {
        let len = u32_le(&bytes, at) as usize;
        let size = FRAME_HEADER_LEN + len;
        let seq = u64_le(&bytes, at + FRAME_HEADER_LEN + 8);
        assert_eq!(seq, first_seq + frames.len() as u64);
        frames.push(FrameLoc {
            offset: at,
            size,
            seq,
            kind: bytes[at + FRAME_HEADER_LEN],
        });
        at += size;
    }
    assert_eq!(at, records_end, "frames tile the record area");
    assert_eq!(frames.len() as u64, record_count);
    SealedMap {
        path: path.to_path_buf(),
        first_seq,
        bytes,
        records_end,
        frames,
    }
}

/// The sealed segments of the ledger at `dir`, mapped, oldest first.
fn sealed_maps(dir: &Path) -> Vec<SealedMap> {
    let snap = Snapshot::open(dir).unwrap();
    snap.segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| map_sealed(&s.path))
        .collect()
}

/// What a byte of a sealed segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Header,
    FrameLen,
    FrameCrc,
    SignalBody,
    OutcomeBody,
    Trailer,
}

/// Where verify must report damage to a byte: (file, offset, seq).
type Place = (PathBuf, u64, Option<u64>);

impl SealedMap {
    fn frame_containing(&self, at: usize) -> FrameLoc {
        let k = self.frames.partition_point(|f| f.offset <= at) - 1;
        let f = self.frames[k];
        assert!(f.offset <= at && at < f.offset + f.size);
        f
    }

    /// The part byte `at` belongs to, and where damage to it must be reported: a header byte
    /// at the header (offset 0) with the segment's first seq (PROCEDURES.md, "Verifying a ledger",
    /// 3.2; the open's walk stops there), a trailer byte at the trailer's start with the
    /// segment's first seq (3.3: a trailer that does not decode leaves a segment that is not
    /// the last unsealed), any frame byte — length, CRC or body — at the frame's start with its
    /// seq (3.4, 3.5).
    fn locate(&self, at: usize) -> (Part, Place) {
        let seg = |offset: usize, seq: u64| (self.path.clone(), offset as u64, Some(seq));
        if at < HEADER_LEN {
            return (Part::Header, seg(0, self.first_seq));
        }
        if at >= self.records_end {
            return (Part::Trailer, seg(self.records_end, self.first_seq));
        }
        let f = self.frame_containing(at);
        let part = match at - f.offset {
            0..=3 => Part::FrameLen,
            4..=7 => Part::FrameCrc,
            _ if f.kind == 2 => Part::OutcomeBody,
            _ => Part::SignalBody,
        };
        (part, seg(f.offset, f.seq))
    }
}

fn place_of(c: &Corruption) -> Place {
    (c.file.clone(), c.offset, c.seq)
}

fn verify_dir(dir: &Path) -> VerifyReport {
    verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default())
}

/// How many flips: `SIGNAL_LEDGER_TAMPER_FLIPS`, default 10,000.
fn flips_wanted() -> usize {
    std::env::var("SIGNAL_LEDGER_TAMPER_FLIPS")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .expect("SIGNAL_LEDGER_TAMPER_FLIPS is a number")
        })
        .unwrap_or(10_000)
}

/// The seed of the random positions: `SIGNAL_LEDGER_TAMPER_SEED` (decimal or 0x-hex) mixed
/// into `default`, or `default` alone, so a run is reproducible and a long run can try others.
fn seed(default: u64) -> u64 {
    match std::env::var("SIGNAL_LEDGER_TAMPER_SEED") {
        Ok(v) => {
            let v = v.trim();
            let n = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            }
            .expect("SIGNAL_LEDGER_TAMPER_SEED is a number");
            default ^ n
        }
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. One bit at a time
// ---------------------------------------------------------------------------------------------

#[test]
fn every_single_bit_flip_in_a_sealed_segment_is_reported_at_its_seq() {
    let (_tmp, path, _) = build_tamper_ledger(130, 41);
    let maps = sealed_maps(&path);
    assert!(maps.len() >= 5, "{} sealed segments", maps.len());
    assert!(
        maps.iter().any(|m| m.frames.iter().any(|f| f.kind == 2)),
        "outcome entries in sealed segments"
    );
    assert!(verify_dir(&path).is_intact());
    let total: usize = maps.iter().map(|m| m.bytes.len()).sum();
    let files: Vec<File> = maps
        .iter()
        .map(|m| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&m.path)
                .unwrap()
        })
        .collect();
    let flip = |seg: usize, at: usize, mask: u8| {
        let mut b = [0u8; 1];
        files[seg].read_exact_at(&mut b, at as u64).unwrap();
        b[0] ^= mask;
        files[seg].write_all_at(&b, at as u64).unwrap();
    };

    let flips = flips_wanted();
    let seed = seed(0x7a3b_e2f1_0d15_ea5e);
    let mut rng = Mix(seed);
    let mut tried: BTreeMap<Part, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    let mut writer_refusals = 0usize;
    let mut hits = 0usize;
    let started = Instant::now();
    for _ in 0..flips {
        // A byte uniformly over all sealed bytes, and one of its bits.
        let mut pos = rng.below(total as u64) as usize;
        let seg = maps
            .iter()
            .position(|m| {
                let inside = pos < m.bytes.len();
                if !inside {
                    pos -= m.bytes.len();
                }
                inside
            })
            .unwrap();
        let map = &maps[seg];
        let mask = 1u8 << rng.below(8);
        let (part, expected) = map.locate(pos);
        *tried.entry(part).or_default() += 1;

        flip(seg, pos, mask);
        let snap = Snapshot::open(&path).unwrap();
        let report = verify(&snap, VerifyOptions::default());
        // Headers and trailers are read when a ledger is opened: the snapshot reports the
        // damage itself, and the writer refuses to open (changing nothing).
        let open_damage = snap.damage().cloned();
        drop(snap);
        if matches!(part, Part::Header | Part::Trailer) {
            let reported = open_damage.as_ref().map(place_of);
            if reported.as_ref() != Some(&expected) {
                misses.push(format!(
                    "{part:?} byte {pos} of {} mask {mask:#04x}: snapshot reported {open_damage:?}",
                    map.path.display()
                ));
            }
            let refused = open_refused(&path);
            if place_of(&refused) != expected {
                misses.push(format!(
                    "{part:?} byte {pos} of {} mask {mask:#04x}: writer refused with {refused}",
                    map.path.display()
                ));
            }
            writer_refusals += 1;
        }
        flip(seg, pos, mask);

        match &report.first_failure {
            Some(f) if place_of(f) == expected => {
                hits += 1;
                let kind = format!("{:?}", f.kind);
                let name = kind.split(['(', ' ', '{']).next().unwrap().to_owned();
                *kinds.entry(name).or_default() += 1;
            }
            other => misses.push(format!(
                "{part:?} byte {pos} of {} mask {mask:#04x}: expected {expected:?}, verify gave {}",
                map.path.display(),
                other.as_ref().map_or("intact".into(), |f| f.to_string())
            )),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "tamper matrix: {flips} flips over {} sealed segments ({total} bytes), {} detected at \
         the right place, {writer_refusals} header/trailer flips refused by the writer too, in \
         {elapsed:.2?} (seed {seed:#x}); by part {tried:?}; first failure kinds {kinds:?}",
        maps.len(),
        hits,
    );
    assert!(
        misses.is_empty(),
        "seed {seed:#x}: {} misses in {flips} flips; first ones:\n{}",
        misses.len(),
        misses
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        hits, flips,
        "verify reported {hits} of {flips} flips at their place"
    );
    // Every kind of byte was hit (the matrix covers the layout, not just record bodies).
    for part in [
        Part::Header,
        Part::FrameLen,
        Part::FrameCrc,
        Part::SignalBody,
        Part::OutcomeBody,
        Part::Trailer,
    ] {
        assert!(
            tried.get(&part).copied().unwrap_or(0) > 0 || flips < 5_000,
            "no flip in {part:?}: {tried:?}"
        );
    }
    // Every flip was undone: the segments are as they were, and intact.
    for m in &maps {
        assert_eq!(std::fs::read(&m.path).unwrap(), m.bytes);
    }
    assert!(verify_dir(&path).is_intact());
}

// ---------------------------------------------------------------------------------------------
// 2. Whole records and whole segments
// ---------------------------------------------------------------------------------------------

/// A fresh copy of the pristine ledger `from`.
fn fresh_copy(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    copy_ledger(from, &path);
    (tmp, path)
}

/// Rewrites a sealed segment with its frames in the order `order` (indexes into `map.frames`;
/// left out = deleted, repeated = duplicated), keeping its header and its trailer.
fn rewrite_frames(map: &SealedMap, order: &[usize]) -> Vec<u8> {
    let mut out = map.bytes[..HEADER_LEN].to_vec();
    for &k in order {
        let f = map.frames[k];
        out.extend_from_slice(&map.bytes[f.offset..f.offset + f.size]);
    }
    out.extend_from_slice(&map.bytes[map.records_end..]);
    out
}

/// Rechains frames (raw frame bytes) as a forger would: seqs renumbered from `first_seq`, each
/// prev_hash set to the row hash before it, row hashes and CRCs recomputed. Returns the frames
/// and the last row hash.
fn rechain(frames: &[Vec<u8>], first_seq: u64, mut prev: [u8; 32]) -> (Vec<u8>, [u8; 32]) {
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let mut body = frame[FRAME_HEADER_LEN..].to_vec();
        let n = body.len();
        body[8..16].copy_from_slice(&(first_seq + i as u64).to_le_bytes());
        body[n - 64..n - 32].copy_from_slice(&prev);
        let mut h = Sha256::new();
        h.update(ROW_HASH_DOMAIN);
        h.update(prev);
        h.update(&body[..n - 64]);
        prev = h.finalize().into();
        body[n - 32..].copy_from_slice(&prev);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
    }
    (out, prev)
}

/// The first failure of verify, which must exist.
fn failure_of(dir: &Path, case: &str) -> Corruption {
    verify_dir(dir)
        .first_failure
        .unwrap_or_else(|| panic!("{case}: not detected"))
}

/// An edit inside a sealed segment's record area (header and trailer kept): verify reports it at
/// `expected`; opening does not read sealed frames (FORMAT.md, "Recovery table", last row), so
/// the snapshot reports no damage and the writer opens — and neither changes a byte of the
/// sealed segments, so verify still reports the same failure afterwards.
fn assert_found_by_verify_only(dir: &Path, case: &str, expected: &Place) -> Corruption {
    let failure = failure_of(dir, case);
    assert_eq!(&place_of(&failure), expected, "{case}: {failure}");
    assert_eq!(Snapshot::open(dir).unwrap().damage(), None, "{case}");
    let sealed_before: Vec<(PathBuf, Vec<u8>)> = sealed_maps_unchecked(dir);
    drop(Ledger::open(dir).unwrap());
    assert_eq!(
        sealed_maps_unchecked(dir),
        sealed_before,
        "{case}: the writer's open changed a sealed segment"
    );
    assert_eq!(
        failure_of(dir, case),
        failure,
        "{case}: after the writer's open"
    );
    failure
}

/// Sealed segment files and their bytes, without mapping their frames.
fn sealed_maps_unchecked(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let snap = Snapshot::open(dir).unwrap();
    snap.segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| (s.path.clone(), std::fs::read(&s.path).unwrap()))
        .collect()
}

/// Damage to headers, trailers or joins: the snapshot reports it (keeping the segments before
/// it), verify reports it as its first failure, and the writer refuses to open with the same
/// damage, changing nothing. Returns the damage.
fn assert_refused_everywhere(dir: &Path, case: &str, expected: &Place) -> Corruption {
    let snap = Snapshot::open(dir).unwrap();
    let damage = snap
        .damage()
        .cloned()
        .unwrap_or_else(|| panic!("{case}: the snapshot reports no damage"));
    assert_eq!(&place_of(&damage), expected, "{case}: {damage}");
    assert_eq!(
        Some(snap.next_seq()),
        expected.2,
        "{case}: the snapshot keeps exactly the segments before the damage"
    );
    let failure = verify(&snap, VerifyOptions::default())
        .first_failure
        .unwrap_or_else(|| panic!("{case}: verify passed"));
    assert_eq!(failure, damage, "{case}");
    drop(snap);
    let refused = open_refused(dir);
    assert_eq!(
        refused, damage,
        "{case}: the writer refuses with the same damage"
    );
    damage
}

fn seg_place(path: &Path, offset: usize, seq: u64) -> Place {
    (path.to_path_buf(), offset as u64, Some(seq))
}

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

// ---------------------------------------------------------------------------------------------
// 3. Sidecars
// ---------------------------------------------------------------------------------------------

const DAY: i64 = 86_400_000_000_000;

/// Queries over the data, outcome-dependent filters included.
fn sidecar_queries(signals: &[Signal]) -> Vec<(Filter, Order)> {
    let mid = signals[signals.len() / 2].timestamp_ns;
    let f = Filter::default;
    let asc = Order::default();
    let desc = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
    let seq_desc = Order {
        by: OrderBy::Seq,
        descending: true,
    };
    vec![
        (f(), asc),
        (f(), seq_desc),
        (
            Filter {
                tickers: vec![signals[5].ticker.clone(), signals[100].ticker.clone()],
                ..f()
            },
            desc,
        ),
        (
            Filter {
                sources: vec![signals[7].source_module.clone()],
                ..f()
            },
            asc,
        ),
        (
            Filter {
                from_ns: Some(mid - DAY),
                to_ns: Some(mid + DAY),
                ..f()
            },
            seq_desc,
        ),
        (
            Filter {
                acted_upon: Some(true),
                ..f()
            },
            asc,
        ),
        (
            Filter {
                has_execution_id: Some(true),
                ..f()
            },
            desc,
        ),
        (
            Filter {
                min_conviction: Some(0.3),
                max_conviction: Some(0.7),
                ..f()
            },
            asc,
        ),
    ]
}

#[derive(Debug, PartialEq)]
struct Answers {
    pages: Vec<Vec<u64>>,
    records: Vec<Vec<signal_ledger::engine::SignalRecord>>,
    counts: Vec<u64>,
    aggregates: Vec<Vec<AggregateRow>>,
    indexes: Vec<SegmentIndex>,
}

/// Every answer a fresh catalog gives, and its indexes (outcomes applied).
fn answers(dir: &Path, queries: &[(Filter, Order)]) -> Answers {
    let catalog = Catalog::open(dir).unwrap();
    let mut a = Answers {
        pages: Vec::new(),
        records: Vec::new(),
        counts: Vec::new(),
        aggregates: Vec::new(),
        indexes: catalog.indexes().unwrap().into_iter().cloned().collect(),
    };
    for (filter, order) in queries {
        let pages = walk_pages(|_| &catalog, filter, *order, 64, 100);
        let records: Vec<_> = pages.into_iter().flatten().collect();
        a.pages.push(records.iter().map(|r| r.seq).collect());
        a.records.push(records);
        a.counts.push(catalog.count(filter).unwrap());
        for group in [None, Some(GroupBy::Source), Some(GroupBy::Day)] {
            a.aggregates.push(catalog.aggregate(filter, group).unwrap());
        }
    }
    a
}

/// The index of each sealed segment built from its bytes, and the sealed segment paths.
fn truth(dir: &Path) -> (Vec<PathBuf>, Vec<SegmentIndex>) {
    let snap = Snapshot::open(dir).unwrap();
    snap.segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| {
            let built = SegmentIndex::build(
                &s.path,
                &s.bytes,
                s.first_seq(),
                s.records_end,
                s.header.prev_hash,
            )
            .unwrap();
            (s.path.clone(), built)
        })
        .unzip()
}

/// With the sidecars as they are now, the reader's index of every sealed segment is the true
/// one (taken from a sidecar only if that sidecar decodes to exactly it), and a catalog's
/// indexes — outcomes applied, which a catalog reads from the sidecars' outcome sections — are
/// the baseline's. Returns how many sidecars the reader used as they were.
fn indexes_are_true(
    dir: &Path,
    sealed: &[PathBuf],
    built: &[SegmentIndex],
    baseline: &Answers,
    stage: &str,
) -> usize {
    let mut used = 0;
    let snap = Snapshot::open(dir).unwrap();
    for (i, truth) in built.iter().enumerate() {
        let before = std::fs::read(sidecar_path(&sealed[i])).ok();
        let (index, from_sidecar) = snap.segment_index_from(i).unwrap();
        assert!(
            index == *truth,
            "{stage}: segment {i}'s index is not the segment's"
        );
        if from_sidecar {
            let bytes = before.unwrap();
            assert!(
                SegmentIndex::from_sidecar(&bytes).unwrap() == *truth,
                "{stage}: sidecar {i} used though it does not hold the segment's index"
            );
            used += 1;
        }
    }
    let catalog = Catalog::from_snapshot(snap);
    let indexes: Vec<SegmentIndex> = catalog.indexes().unwrap().into_iter().cloned().collect();
    assert!(
        indexes == baseline.indexes,
        "{stage}: the catalog's indexes differ from the baseline's"
    );
    used
}

/// The outcome rows a reader takes from each sealed segment's sidecar (a catalog gathers
/// outcomes from these sections alone), or None where it would not use the sidecar.
fn sidecar_outcome_rows(snap: &Snapshot, i: usize) -> Option<Vec<(OutcomeRow, u32)>> {
    let seg = &snap.segments()[i];
    read_sidecar_outcome_rows(
        &seg.path,
        seg.first_seq(),
        seg.records_end as u64,
        seg.trailer.as_ref().unwrap().last_row_hash,
        seg.record_count,
    )
}

/// After a flip in sidecar `i` alone: the reader's index of segment `i` is the true one (from
/// the sidecar only if it decodes to exactly it), and the outcome rows read from the sidecar
/// are refused or the true ones. Returns whether the sidecar was used for the index.
fn one_sidecar_not_trusted(
    dir: &Path,
    i: usize,
    built: &[SegmentIndex],
    outcome_truth: &[Vec<(OutcomeRow, u32)>],
    stage: &str,
) -> bool {
    let snap = Snapshot::open(dir).unwrap();
    let bytes = std::fs::read(sidecar_path(&snap.segments()[i].path)).unwrap();
    let (index, from_sidecar) = snap.segment_index_from(i).unwrap();
    assert!(
        index == built[i],
        "{stage}: segment {i}'s index is not the segment's"
    );
    if from_sidecar {
        assert!(
            SegmentIndex::from_sidecar(&bytes).unwrap() == built[i],
            "{stage}: sidecar {i} used though it does not hold the segment's index"
        );
    }
    if let Some(rows) = sidecar_outcome_rows(&snap, i) {
        assert_eq!(rows, outcome_truth[i], "{stage}: outcome rows");
    }
    from_sidecar
}

/// [`indexes_are_true`], and every answer of a fresh catalog is the baseline's, and afterwards
/// every sidecar is sound (rebuilt where it was not): nothing in a damaged sidecar was believed.
fn sidecars_not_trusted(
    dir: &Path,
    sealed: &[PathBuf],
    built: &[SegmentIndex],
    queries: &[(Filter, Order)],
    baseline: &Answers,
    stage: &str,
) -> usize {
    let used = indexes_are_true(dir, sealed, built, baseline, stage);
    let got = answers(dir, queries);
    assert!(
        got == *baseline,
        "{stage}: answers differ from the baseline"
    );
    for (i, truth) in built.iter().enumerate() {
        let bytes = std::fs::read(sidecar_path(&sealed[i])).unwrap();
        assert!(
            SegmentIndex::from_sidecar(&bytes).ok().as_ref() == Some(truth),
            "{stage}: sidecar {i} not rebuilt"
        );
    }
    used
}

/// The writer, opened beside the sidecars as they are, still finds signals of every sealed
/// segment by id.
fn writer_finds_every_id(dir: &Path, signals: &[Signal], probes: &[usize], stage: &str) {
    let mut ledger = Ledger::open(dir).unwrap();
    let head = ledger.head();
    for &i in probes {
        let receipt = ledger.append(&signals[i..=i]).unwrap();
        assert_eq!(receipt.count, 0, "{stage}: signal {i} appended twice");
        assert_eq!(receipt.duplicates.len(), 1, "{stage}: signal {i}");
        let err = ledger.append(&[changed(&signals[i])]).unwrap_err();
        assert!(
            matches!(err, LedgerError::SignalIdTaken { .. }),
            "{stage}: signal {i}: {err}"
        );
    }
    assert_eq!(ledger.head(), head, "{stage}: nothing written");
}

#[test]
fn tampered_sidecars_are_detected_or_rebuilt_never_trusted() {
    let (_tmp, path, signals) = build_tamper_ledger(240, 59);
    let queries = sidecar_queries(&signals);
    let (sealed, built) = truth(&path);
    assert!(sealed.len() >= 5, "{} sealed segments", sealed.len());
    for s in &sealed {
        assert!(!sidecar_path(s).exists());
    }
    // The baseline: no sidecar at all (the catalog builds each index from its segment, and
    // writes the sidecars).
    let baseline = answers(&path, &queries);
    let originals: Vec<Vec<u8>> = sealed
        .iter()
        .map(|s| std::fs::read(sidecar_path(s)).unwrap())
        .collect();
    for (bytes, truth) in originals.iter().zip(&built) {
        assert!(SegmentIndex::from_sidecar(bytes).unwrap() == *truth);
    }
    // The baseline's own sanity: the catalog's queries are not vacuous.
    assert!(
        baseline.pages.iter().all(|p| !p.is_empty()),
        "{:?}",
        baseline.counts
    );
    // Probes: the first and the last signal of every sealed segment.
    let snap = Snapshot::open(&path).unwrap();
    let index_of = |seq: u64| {
        snap.get(seq).unwrap().map(|r| {
            signals
                .iter()
                .position(|x| x.signal_id == r.signal.signal_id)
                .unwrap()
        })
    };
    let probes: Vec<usize> = snap
        .segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .flat_map(|s| {
            let seqs = s.first_seq()..s.first_seq() + s.record_count;
            let first = seqs.clone().find_map(index_of).unwrap();
            let last = seqs.rev().find_map(index_of).unwrap();
            [first, last]
        })
        .collect();
    drop(snap);
    let restore = || {
        for (s, bytes) in sealed.iter().zip(&originals) {
            std::fs::write(sidecar_path(s), bytes).unwrap();
        }
    };
    let started = Instant::now();

    // Sound sidecars: used as they are.
    restore();
    let used = sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, "sound");
    assert_eq!(used, sealed.len(), "sound sidecars are used");

    // Random single-bit flips, one sidecar at a time (round robin over the sealed segments):
    // the index a reader takes, and the outcome rows a catalog takes, are the true ones.
    let outcome_truth: Vec<Vec<(OutcomeRow, u32)>> = {
        let snap = Snapshot::open(&path).unwrap();
        (0..sealed.len())
            .map(|i| sidecar_outcome_rows(&snap, i).unwrap())
            .collect()
    };
    assert!(
        outcome_truth.iter().any(|rows| !rows.is_empty()),
        "outcomes in sealed segments"
    );
    let mut rng = Mix(seed(0x51de_ca75_0bad_f00d));
    let singles = flips_wanted() / 10;
    let mut harmless = 0usize;
    for n in 0..singles {
        let i = n % sealed.len();
        let side = sidecar_path(&sealed[i]);
        std::fs::write(&side, &originals[i]).unwrap();
        let at = rng.below(originals[i].len() as u64);
        let mask = 1u8 << rng.below(8);
        flip_byte(&side, at, mask);
        let stage = format!("flip {n}: sidecar {i} byte {at} mask {mask:#04x}");
        harmless += usize::from(one_sidecar_not_trusted(
            &path,
            i,
            &built,
            &outcome_truth,
            &stage,
        ));
    }
    // Rounds of one random flip in every sealed sidecar at once: every answer is the
    // baseline's, and the writer still finds every id.
    let rounds = (flips_wanted() / 500).max(1);
    for round in 0..rounds {
        restore();
        for (s, bytes) in sealed.iter().zip(&originals) {
            let at = rng.below(bytes.len() as u64);
            flip_byte(&sidecar_path(s), at, 1 << rng.below(8));
        }
        let stage = format!("flip round {round}");
        if round % 5 == 0 {
            writer_finds_every_id(&path, &signals, &probes, &stage);
        }
        sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, &stage);
    }
    let flips = singles + rounds * sealed.len();

    // Truncated at random lengths (and to nothing).
    for round in 0..20 {
        restore();
        for (s, bytes) in sealed.iter().zip(&originals) {
            let len = if round == 0 {
                0
            } else {
                rng.below(bytes.len() as u64)
            };
            std::fs::write(sidecar_path(s), &bytes[..len as usize]).unwrap();
        }
        let stage = format!("truncated round {round}");
        assert_eq!(
            sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, &stage),
            0,
            "{stage}: a truncated sidecar was used"
        );
    }
    restore();
    for (s, bytes) in sealed.iter().zip(&originals) {
        std::fs::write(sidecar_path(s), &bytes[..bytes.len() / 2]).unwrap();
    }
    writer_finds_every_id(&path, &signals, &probes, "truncated");

    // Swapped between segments (each gets the next one's; and pairwise the other way).
    for shift in 1..sealed.len() {
        for (i, s) in sealed.iter().enumerate() {
            std::fs::write(sidecar_path(s), &originals[(i + shift) % originals.len()]).unwrap();
        }
        let stage = format!("rotated by {shift}");
        assert_eq!(
            sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, &stage),
            0,
            "{stage}: another segment's sidecar was used"
        );
        if shift == 1 {
            for (i, s) in sealed.iter().enumerate() {
                std::fs::write(sidecar_path(s), &originals[(i + 1) % originals.len()]).unwrap();
            }
            writer_finds_every_id(&path, &signals, &probes, &stage);
        }
    }

    // Stale: the index of an earlier state of each segment (its first entries only, as when
    // it was still active), written as a sound sidecar; and the sidecars of another ledger whose
    // segments have the same names.
    let (_other_tmp, other, _) = build_tamper_ledger(240, 61);
    let (other_sealed, _) = truth(&other);
    drop(answers(&other, &queries));
    for stale in ["prefix", "other ledger"] {
        let snap = Snapshot::open(&path).unwrap();
        for (i, s) in sealed.iter().enumerate() {
            match stale {
                "prefix" => {
                    let seg = &snap.segments()[i];
                    let map = map_sealed(&seg.path);
                    let cut = map.frames[map.frames.len() / 2].offset;
                    let prefix = SegmentIndex::build(
                        &seg.path,
                        &seg.bytes,
                        seg.first_seq(),
                        cut,
                        seg.header.prev_hash,
                    )
                    .unwrap();
                    assert!(prefix.len() < built[i].len());
                    write_sidecar(s, &prefix).unwrap();
                }
                _ => {
                    let theirs = other_sealed
                        .iter()
                        .find(|o| o.file_name() == s.file_name())
                        .map(|o| std::fs::read(sidecar_path(o)).unwrap())
                        .unwrap_or_else(|| originals[(i + 1) % originals.len()].clone());
                    assert_ne!(theirs, originals[i]);
                    std::fs::write(sidecar_path(s), theirs).unwrap();
                }
            }
        }
        drop(snap);
        let stage = format!("stale ({stale})");
        writer_finds_every_id(&path, &signals, &probes, &stage);
        assert_eq!(
            sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, &stage),
            0,
            "{stage}: a stale sidecar was used"
        );
    }

    // Deleted: rebuilt.
    for s in &sealed {
        std::fs::remove_file(sidecar_path(s)).unwrap();
    }
    assert_eq!(
        sidecars_not_trusted(&path, &sealed, &built, &queries, &baseline, "deleted"),
        0
    );
    // None of this touched the ledger.
    assert!(verify_dir(&path).is_intact());
    println!(
        "sidecars: {flips} random bit flips over {} sealed sidecars ({singles} one at a time, \
         {harmless} of them in uncovered padding and read back identical; {rounds} rounds of \
         one in each), 20 truncation rounds, {} rotations, 2 stale kinds, deletion: every \
         index and answer equal to the no-sidecar baseline, in {:.2?}",
        sealed.len(),
        sealed.len() - 1,
        started.elapsed()
    );
}
