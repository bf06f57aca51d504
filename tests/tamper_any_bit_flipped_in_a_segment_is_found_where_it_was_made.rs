//! Promise (the tamper matrix, part 1): one bit flipped at any of ≥ 10,000 random positions
//! across the sealed segments (one flip at a time) is reported by verify, and its first failure
//! is exactly where that byte is — the frame (file, offset, seq) holding it, or for a header or
//! trailer byte the segment file, the header's or trailer's offset and the segment's first seq.
//! 100% of flips, no exception.
//!
//! Long form: `SIGNAL_LEDGER_TAMPER_FLIPS=N` (default 10,000) sets the number of bit flips in
//! segments; sidecar flips scale with it (N / 10 single flips, N / 500 rounds of one flip in
//! every sealed sidecar with every query answered); `SIGNAL_LEDGER_TAMPER_SEED` picks other
//! random positions (the default ones are fixed, so every run is reproducible):
//! `SIGNAL_LEDGER_TAMPER_FLIPS=40000 cargo test --test 'tamper_*'`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;
mod tamper_support;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use query_support::Mix;
use signal_ledger::engine::{verify, Snapshot, VerifyOptions};
use support::*;
use tamper_support::*;

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
