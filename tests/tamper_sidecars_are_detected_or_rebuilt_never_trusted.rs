//! Promise (the tamper matrix, part 3): index sidecars flipped at many random bits, truncated,
//! swapped between segments or replaced by stale ones are detected or rebuilt, never trusted:
//! every index and every query, count and aggregate is the same as with no sidecar at all, and
//! the writer still finds every id.
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

use std::path::{Path, PathBuf};
use std::time::Instant;

use query_support::{walk_pages, Mix};
use signal_ledger::engine::index::{
    read_sidecar_outcome_rows, sidecar_path, write_sidecar, OutcomeRow, SegmentIndex,
};
use signal_ledger::engine::{Ledger, LedgerError, Signal, Snapshot};
use signal_ledger::query::{AggregateRow, Catalog, Filter, GroupBy, Order, OrderBy};
use support::*;
use tamper_support::*;

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
