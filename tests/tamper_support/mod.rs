//! What the tamper-matrix tests (`tests/tamper_*.rs`) share: the ledger they tamper with (sealed
//! segments of signals and outcomes), its byte map (every header, frame and trailer with its
//! file, offset and seq), the places a failure is expected at, fresh copies, frame rewrites
//! and re-chaining, the checks that an edit is refused everywhere or found by verify only, and
//! the number of flips and the seed of the long form.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use crate::support::*;
use sha2::{Digest as _, Sha256};
use signal_ledger::engine::hash::ROW_HASH_DOMAIN;
use signal_ledger::engine::record::{Decision, Outcome};
use signal_ledger::engine::{
    verify, Corruption, Ledger, Signal, Snapshot, VerifyOptions, VerifyReport,
};

pub const HEADER_LEN: usize = 80;

pub const TRAILER_LEN: usize = 96;

pub const FRAME_HEADER_LEN: usize = 8;

pub fn outcome(signal_id: &str, acted: bool, execution_id: Option<&str>) -> Outcome {
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
pub fn build_tamper_ledger(signals: usize, seed: u64) -> (tempfile::TempDir, PathBuf, Vec<Signal>) {
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
pub struct FrameLoc {
    pub offset: usize,
    /// Frame bytes: 8 + len.
    pub size: usize,
    pub seq: u64,
    pub kind: u8,
}

/// A sealed segment file and what each of its bytes belongs to.
#[derive(Debug, Clone)]
pub struct SealedMap {
    pub path: PathBuf,
    pub first_seq: u64,
    pub bytes: Vec<u8>,
    /// Where the trailer starts.
    pub records_end: usize,
    pub frames: Vec<FrameLoc>,
}

impl SealedMap {
    pub fn frame_containing(&self, at: usize) -> FrameLoc {
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
    pub fn locate(&self, at: usize) -> (Part, Place) {
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

pub fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Maps a sealed segment by walking its frames from the header (FORMAT.md, "Segment file"), and
/// checks the walk agrees with the format: frames tile the record area exactly, the trailer
/// counts them, each carries the seq that follows.
pub fn map_sealed(path: &Path) -> SealedMap {
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
pub fn sealed_maps(dir: &Path) -> Vec<SealedMap> {
    let snap = Snapshot::open(dir).unwrap();
    snap.segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| map_sealed(&s.path))
        .collect()
}

/// What a byte of a sealed segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Header,
    FrameLen,
    FrameCrc,
    SignalBody,
    OutcomeBody,
    Trailer,
}

/// Where verify must report damage to a byte: (file, offset, seq).
pub type Place = (PathBuf, u64, Option<u64>);

pub fn place_of(c: &Corruption) -> Place {
    (c.file.clone(), c.offset, c.seq)
}

pub fn verify_dir(dir: &Path) -> VerifyReport {
    verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default())
}

/// How many flips: `SIGNAL_LEDGER_TAMPER_FLIPS`, default 10,000.
pub fn flips_wanted() -> usize {
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
pub fn seed(default: u64) -> u64 {
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

/// A fresh copy of the pristine ledger `from`.
pub fn fresh_copy(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    copy_ledger(from, &path);
    (tmp, path)
}

/// Rewrites a sealed segment with its frames in the order `order` (indexes into `map.frames`;
/// left out = deleted, repeated = duplicated), keeping its header and its trailer.
pub fn rewrite_frames(map: &SealedMap, order: &[usize]) -> Vec<u8> {
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
pub fn rechain(frames: &[Vec<u8>], first_seq: u64, mut prev: [u8; 32]) -> (Vec<u8>, [u8; 32]) {
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
pub fn failure_of(dir: &Path, case: &str) -> Corruption {
    verify_dir(dir)
        .first_failure
        .unwrap_or_else(|| panic!("{case}: not detected"))
}

/// An edit inside a sealed segment's record area (header and trailer kept): verify reports it at
/// `expected`; opening does not read sealed frames (FORMAT.md, "Recovery table", last row), so
/// the snapshot reports no damage and the writer opens — and neither changes a byte of the
/// sealed segments, so verify still reports the same failure afterwards.
pub fn assert_found_by_verify_only(dir: &Path, case: &str, expected: &Place) -> Corruption {
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
pub fn sealed_maps_unchecked(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
pub fn assert_refused_everywhere(dir: &Path, case: &str, expected: &Place) -> Corruption {
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

pub fn seg_place(path: &Path, offset: usize, seq: u64) -> Place {
    (path.to_path_buf(), offset as u64, Some(seq))
}
