//! Query results do not depend on the index sidecars: with none, with sound ones, after they
//! are deleted, damaged or swapped between segments, every query, count and aggregate comes out
//! the same; and a forged sidecar that reads back as sound can make a query miss records but
//! never return one that does not match the filter.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;

use std::path::{Path, PathBuf};

use query_support::*;
use signal_ledger::engine::index::{
    sidecar_path, write_sidecar, DictColumn, DictKey, SegmentIndex, DICT_COLUMNS,
};
use signal_ledger::engine::{Direction, SignalRecord, SignalType, Snapshot};
use signal_ledger::query::{AggregateRow, Catalog, Filter, GroupBy, Order, OrderBy};
use support::*;

const DAY: i64 = 86_400_000_000_000;

/// A ledger of 5,000 signals in 512 KiB segments: 3 sealed and an active one, no sidecar yet.
fn ledger() -> (tempfile::TempDir, PathBuf) {
    let (tmp, path, _) = build_ledger(5_000, 250, small_segments(512 * 1024));
    (tmp, path)
}

/// Sealed segment files, oldest first, and the active one.
fn sealed_and_active(path: &Path) -> (Vec<PathBuf>, PathBuf) {
    let snap = Snapshot::open(path).unwrap();
    let sealed: Vec<PathBuf> = snap
        .segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| s.path.clone())
        .collect();
    let active = snap.segments().last().unwrap();
    assert!(active.trailer.is_none() && active.record_count > 0);
    assert!(sealed.len() >= 3, "{} sealed segments", sealed.len());
    (sealed, active.path.clone())
}

/// ~20 queries over the data: single conditions, combinations, windows, every order.
fn queries(records: &[SignalRecord]) -> Vec<(Filter, Order)> {
    let s = |i: usize| &records[i].signal;
    let mid = s(records.len() / 2).timestamp_ns;
    let asc = Order::default();
    let desc = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
    let seq_asc = Order {
        by: OrderBy::Seq,
        descending: false,
    };
    let seq_desc = Order {
        by: OrderBy::Seq,
        descending: true,
    };
    let f = Filter::default;
    vec![
        (f(), asc),
        (f(), seq_desc),
        (
            Filter {
                tickers: vec!["AAPL".into()],
                ..f()
            },
            desc,
        ),
        (
            Filter {
                tickers: vec![s(10).ticker.clone(), s(4_000).ticker.clone(), "NOPE".into()],
                ..f()
            },
            seq_asc,
        ),
        (
            Filter {
                sources: vec!["news_nlp".into()],
                ..f()
            },
            asc,
        ),
        (
            Filter {
                sources: vec!["ema_crossover".into(), "options_flow".into()],
                directions: vec![Direction::Long],
                ..f()
            },
            desc,
        ),
        (
            Filter {
                from_ns: Some(mid - DAY),
                to_ns: Some(mid + DAY),
                ..f()
            },
            asc,
        ),
        (
            Filter {
                from_ns: Some(mid),
                ..f()
            },
            seq_desc,
        ),
        (
            Filter {
                to_ns: Some(s(100).timestamp_ns),
                ..f()
            },
            desc,
        ),
        (
            Filter {
                min_conviction: Some(0.8),
                ..f()
            },
            asc,
        ),
        (
            Filter {
                min_conviction: Some(0.25),
                max_conviction: Some(0.5),
                signal_types: vec![SignalType::Entry, SignalType::Exit],
                ..f()
            },
            seq_asc,
        ),
        (
            Filter {
                acted_upon: Some(true),
                ..f()
            },
            desc,
        ),
        (
            Filter {
                acted_upon: Some(false),
                has_execution_id: Some(false),
                ..f()
            },
            asc,
        ),
        (
            Filter {
                has_execution_id: Some(true),
                tickers: vec!["NVDA".into(), "TSLA".into()],
                ..f()
            },
            seq_desc,
        ),
        (
            Filter {
                timeframes: vec!["1h".into(), "1d".into()],
                ..f()
            },
            asc,
        ),
        (
            Filter {
                strategy_ids: vec![s(0).strategy_id.clone().unwrap_or_default()],
                ..f()
            },
            desc,
        ),
        (
            Filter {
                correlation_ids: records
                    .iter()
                    .filter_map(|r| r.signal.correlation_id.clone())
                    .take(3)
                    .collect(),
                ..f()
            },
            asc,
        ),
        (
            Filter {
                directions: vec![Direction::Short, Direction::Neutral],
                signal_types: vec![SignalType::Alert],
                from_ns: Some(mid - 5 * DAY),
                ..f()
            },
            desc,
        ),
        (
            Filter {
                tickers: vec!["NOPE".into()],
                ..f()
            },
            asc,
        ),
        (
            Filter {
                sources: vec![s(7).source_module.clone()],
                tickers: vec![s(7).ticker.clone()],
                from_ns: Some(s(7).timestamp_ns),
                to_ns: Some(s(7).timestamp_ns + 10 * DAY),
                ..f()
            },
            seq_asc,
        ),
    ]
}

/// Page size of every walk.
const PAGE: usize = 200;

/// Everything the queries give: every page to the end, counts, and aggregates without grouping
/// and by source, ticker, direction and day.
#[derive(Debug, PartialEq)]
struct Results {
    pages: Vec<Vec<Vec<SignalRecord>>>,
    counts: Vec<u64>,
    aggregates: Vec<Vec<AggregateRow>>,
}

/// The groupings `run_all` aggregates by.
const GROUPS: [Option<GroupBy>; 5] = [
    None,
    Some(GroupBy::Source),
    Some(GroupBy::Ticker),
    Some(GroupBy::Direction),
    Some(GroupBy::Day),
];

fn run_all(catalog: &Catalog, queries: &[(Filter, Order)]) -> Results {
    let mut results = Results {
        pages: Vec::new(),
        counts: Vec::new(),
        aggregates: Vec::new(),
    };
    for (filter, order) in queries {
        results
            .pages
            .push(walk_pages(|_| catalog, filter, *order, PAGE, 100));
        results.counts.push(catalog.count(filter).unwrap());
        for group in GROUPS {
            results
                .aggregates
                .push(catalog.aggregate(filter, group).unwrap());
        }
    }
    results
}

/// The index of each sealed segment, built from its bytes (no sidecar involved).
fn built_indexes(path: &Path) -> Vec<SegmentIndex> {
    let snap = Snapshot::open(path).unwrap();
    snap.segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .map(|s| {
            SegmentIndex::build(
                &s.path,
                &s.bytes,
                s.first_seq(),
                s.records_end,
                s.header.prev_hash,
            )
            .unwrap()
        })
        .collect()
}

/// Opens a catalog and checks it holds the true indexes, and that every sealed segment now has
/// a sound sidecar (written or rewritten by the open when it had none or a bad one).
fn open_checked(path: &Path, sealed: &[PathBuf], truth: &[SegmentIndex], stage: &str) -> Catalog {
    let catalog = Catalog::open(path).unwrap();
    for (i, index) in truth.iter().enumerate() {
        assert!(
            *catalog.indexes().unwrap()[i] == *index,
            "{stage}: index {i} is not the segment's"
        );
        let bytes = std::fs::read(sidecar_path(&sealed[i])).unwrap();
        let read = SegmentIndex::from_sidecar(&bytes).unwrap();
        assert!(
            read == *index,
            "{stage}: sidecar {i} is not sound after the open"
        );
    }
    catalog
}

#[test]
fn results_are_the_same_with_without_and_with_broken_sidecars() {
    let (_tmp, path) = ledger();
    let (sealed, active) = sealed_and_active(&path);
    let records = records_in(&path);
    let queries = queries(&records);
    let truth = built_indexes(&path);
    assert_eq!(truth.len(), sealed.len());
    for seg in sealed.iter().chain([&active]) {
        assert!(
            !sidecar_path(seg).exists(),
            "no sidecar before the first open"
        );
    }

    // (a) No sidecars: the first open writes one per sealed segment, none for the active one.
    let baseline = run_all(&open_checked(&path, &sealed, &truth, "none"), &queries);
    for seg in &sealed {
        assert!(
            sidecar_path(seg).exists(),
            "{} has a sidecar",
            seg.display()
        );
    }
    assert!(
        !sidecar_path(&active).exists(),
        "the active segment has no sidecar"
    );

    // The baseline itself is right: it is what a scan of the records gives.
    for ((filter, order), pages) in queries.iter().zip(&baseline.pages) {
        let got: Vec<SignalRecord> = pages.iter().flatten().cloned().collect();
        assert_eq!(
            seqs(&got),
            seqs(&brute_force(&records, filter, *order)),
            "{filter:?}"
        );
    }
    for ((filter, _), count) in queries.iter().zip(&baseline.counts) {
        let want = records.iter().filter(|r| filter.matches(&r.signal)).count();
        assert_eq!(*count, want as u64, "count {filter:?}");
    }
    for (i, got) in baseline.aggregates.iter().enumerate() {
        let (filter, _) = &queries[i / GROUPS.len()];
        let group = GROUPS[i % GROUPS.len()];
        let want = brute_aggregate(&records, filter, group);
        assert_eq!(aggregate_mismatch(got, &want), None, "{group:?} {filter:?}");
    }
    let originals: Vec<Vec<u8>> = sealed
        .iter()
        .map(|s| std::fs::read(sidecar_path(s)).unwrap())
        .collect();

    // (b) Sound sidecars, read back.
    let with = run_all(&open_checked(&path, &sealed, &truth, "sound"), &queries);
    assert!(with == baseline, "with sidecars");
    for (seg, bytes) in sealed.iter().zip(&originals) {
        assert_eq!(
            &std::fs::read(sidecar_path(seg)).unwrap(),
            bytes,
            "sound sidecar kept"
        );
    }

    // (c) Deleted.
    for seg in &sealed {
        std::fs::remove_file(sidecar_path(seg)).unwrap();
    }
    let deleted = run_all(&open_checked(&path, &sealed, &truth, "deleted"), &queries);
    assert!(deleted == baseline, "after deleting the sidecars");

    // (d) A byte flipped inside each: the magic, the header, the offsets section, the middle,
    // the last byte (in the last posting list).
    for round in 0..5 {
        for seg in &sealed {
            let side = sidecar_path(seg);
            let len = std::fs::metadata(&side).unwrap().len();
            let at = [0, 20, 1_000, len / 2, len - 1][round];
            flip_byte(&side, at, 0x08);
            let bytes = std::fs::read(&side).unwrap();
            assert!(
                SegmentIndex::from_sidecar(&bytes).is_err(),
                "flip at {at} refused"
            );
        }
        let stage = format!("flip {round}");
        let flipped = run_all(&open_checked(&path, &sealed, &truth, &stage), &queries);
        assert!(flipped == baseline, "{stage}");
    }

    // (e) Each replaced by another segment's.
    for (i, seg) in sealed.iter().enumerate() {
        let other = &originals[(i + 1) % originals.len()];
        std::fs::write(sidecar_path(seg), other).unwrap();
    }
    let swapped = run_all(&open_checked(&path, &sealed, &truth, "swapped"), &queries);
    assert!(swapped == baseline, "with swapped sidecars");

    // The sidecars are no part of the ledger: the writer opens beside them and leaves them, and
    // the ledger verifies.
    drop(signal_ledger::engine::Ledger::open(&path).unwrap());
    assert_eq!(stored_ids(&path).len(), records.len());
    for (seg, bytes) in sealed.iter().zip(&originals) {
        assert_eq!(&std::fs::read(sidecar_path(seg)).unwrap(), bytes);
    }
}

/// Dictionary column `key` of `index`, to edit.
fn dict_mut(index: &mut SegmentIndex, key: DictKey) -> &mut DictColumn {
    let at = DICT_COLUMNS.iter().position(|k| *k == key).unwrap();
    &mut index.dicts[at]
}

/// The id of `value` in column `key`, which the segment must hold.
fn id(index: &SegmentIndex, key: DictKey, value: &str) -> u32 {
    index.dict(key).id_of(value).unwrap()
}

/// Rows of value `from` relabelled as value `to` (ids and posting lists kept consistent, so the
/// sidecar reads back as sound).
fn move_rows(dict: &mut DictColumn, from: u32, to: u32) {
    let moved = std::mem::take(&mut dict.postings[from as usize]);
    for &row in &moved {
        dict.rows[row as usize] = to;
    }
    let list = &mut dict.postings[to as usize];
    list.extend(moved);
    list.sort_unstable();
}

/// Values `a` and `b` trade rows.
fn swap_values(dict: &mut DictColumn, a: u32, b: u32) {
    for id in &mut dict.rows {
        if *id == a {
            *id = b;
        } else if *id == b {
            *id = a;
        }
    }
    dict.postings.swap(a as usize, b as usize);
}

/// A way of making an index lie while its sidecar stays sound.
type Forgery = fn(&mut SegmentIndex);

/// NVDA's rows are labelled AAPL (the dictionary row ids and the posting lists).
fn nvda_rows_say_aapl(ix: &mut SegmentIndex) {
    let (nvda, aapl) = (
        id(ix, DictKey::Ticker, "NVDA"),
        id(ix, DictKey::Ticker, "AAPL"),
    );
    move_rows(dict_mut(ix, DictKey::Ticker), nvda, aapl);
}

/// news_nlp and ema_crossover trade rows.
fn sources_swapped(ix: &mut SegmentIndex) {
    let a = id(ix, DictKey::SourceModule, "news_nlp");
    let b = id(ix, DictKey::SourceModule, "ema_crossover");
    swap_values(dict_mut(ix, DictKey::SourceModule), a, b);
}

/// Every other row 5 days later (time blocks recomputed to agree).
fn timestamps_moved(ix: &mut SegmentIndex) {
    for (row, ts) in ix.timestamps.iter_mut().enumerate() {
        if row % 2 == 0 {
            *ts += 5 * DAY;
        }
    }
    ix.time_blocks = ix
        .timestamps
        .chunks(signal_ledger::engine::index::TIME_BLOCK_LEN)
        .map(|b| (*b.iter().min().unwrap(), *b.iter().max().unwrap()))
        .collect();
}

/// Time blocks that no window meets, or that every window meets.
fn time_blocks_wrong(ix: &mut SegmentIndex) {
    for (i, block) in ix.time_blocks.iter_mut().enumerate() {
        *block = if i % 2 == 0 {
            (i64::MAX, i64::MIN)
        } else {
            (i64::MIN, i64::MAX)
        };
    }
}

/// Conviction mirrored, acted_upon and has_execution inverted, direction and signal type
/// rotated.
fn columns_inverted(ix: &mut SegmentIndex) {
    let directions = [Direction::Long, Direction::Short, Direction::Neutral].map(|d| d.code());
    let types = [
        SignalType::Entry,
        SignalType::Exit,
        SignalType::ScaleIn,
        SignalType::ScaleOut,
        SignalType::Alert,
    ]
    .map(|t| t.code());
    let rotate = |codes: &[u8], c: &mut u8| {
        let at = codes.iter().position(|x| x == c).unwrap();
        *c = codes[(at + 1) % codes.len()];
    };
    for c in &mut ix.convictions {
        *c = 1.0 - *c;
    }
    for a in &mut ix.acted_upon {
        *a = match *a {
            2 => 1,
            _ => 2,
        };
    }
    for h in &mut ix.has_execution {
        *h ^= 1;
    }
    for d in &mut ix.directions {
        rotate(&directions, d);
    }
    for t in &mut ix.signal_types {
        rotate(&types, t);
    }
}

/// From the middle row on, each row points at the next row's frame (the last one just past
/// its own): still ascending, but the frames hold other seqs.
fn offsets_shifted(ix: &mut SegmentIndex) {
    let n = ix.offsets.len();
    for row in n / 2..n - 1 {
        ix.offsets[row] = ix.offsets[row + 1];
    }
    ix.offsets[n - 1] += 1;
}

fn everything(ix: &mut SegmentIndex) {
    nvda_rows_say_aapl(ix);
    sources_swapped(ix);
    timestamps_moved(ix);
    columns_inverted(ix);
    offsets_shifted(ix);
}

#[test]
fn a_forged_sidecar_can_hide_records_but_never_return_a_wrong_one() {
    let (_tmp, path) = ledger();
    let (sealed, _) = sealed_and_active(&path);
    let records = records_in(&path);
    let truth = built_indexes(&path);
    let mid = records[records.len() / 2].signal.timestamp_ns;
    let mut queries = queries(&records);
    // Aimed at the forgeries.
    let f = Filter::default;
    let asc = Order::default();
    let seq_asc = Order {
        by: OrderBy::Seq,
        descending: false,
    };
    for filter in [
        Filter {
            tickers: vec!["NVDA".into()],
            ..f()
        },
        Filter {
            sources: vec!["ema_crossover".into()],
            ..f()
        },
        Filter {
            from_ns: Some(mid),
            to_ns: Some(mid + 3 * DAY),
            ..f()
        },
        Filter {
            max_conviction: Some(0.3),
            acted_upon: Some(false),
            ..f()
        },
        Filter {
            directions: vec![Direction::Long],
            signal_types: vec![SignalType::Entry],
            ..f()
        },
    ] {
        queries.push((filter.clone(), asc));
        queries.push((filter, seq_asc));
    }

    // Each forgery, and whether it makes the index claim rows that do not match (which the
    // query must then drop) or only hide rows.
    let forgeries: [(&str, Forgery, bool); 7] = [
        ("ticker ids", nvda_rows_say_aapl, true),
        ("source ids", sources_swapped, true),
        ("timestamps", timestamps_moved, true),
        ("time blocks", time_blocks_wrong, false),
        ("columns", columns_inverted, true),
        ("offsets", offsets_shifted, false),
        ("everything", everything, true),
    ];
    for (name, forge, overclaims) in forgeries {
        let forged: Vec<SegmentIndex> = truth
            .iter()
            .map(|ix| {
                let mut ix = ix.clone();
                forge(&mut ix);
                // Sound as a sidecar: it reads back as written.
                assert_eq!(SegmentIndex::from_sidecar(&ix.to_sidecar()).unwrap(), ix);
                ix
            })
            .collect();
        for (seg, ix) in sealed.iter().zip(&forged) {
            write_sidecar(seg, ix).unwrap();
        }
        let catalog = Catalog::open(&path).unwrap();
        for (i, ix) in forged.iter().enumerate() {
            assert!(
                *catalog.indexes().unwrap()[i] == *ix,
                "{name}: the forged index {i} is used"
            );
            assert!(*ix != truth[i], "{name}: index {i} is forged");
        }

        let (mut claimed_more, mut returned_fewer) = (0, 0);
        for (filter, order) in &queries {
            let pages = walk_pages(|_| &catalog, filter, *order, PAGE, 1_000);
            let got: Vec<&SignalRecord> = pages.iter().flatten().collect();
            let mut seen = std::collections::BTreeSet::new();
            for r in &got {
                assert!(
                    filter.matches(&r.signal),
                    "{name}: seq {} returned for {filter:?}, which it does not match",
                    r.seq
                );
                assert!(
                    **r == records[r.seq as usize],
                    "{name}: seq {} is not the stored record",
                    r.seq
                );
                assert!(seen.insert(r.seq), "{name}: seq {} returned twice", r.seq);
            }
            let key = |r: &SignalRecord| match order.by {
                OrderBy::Timestamp => (r.signal.timestamp_ns, r.seq),
                OrderBy::Seq => (0, r.seq),
            };
            assert!(
                got.windows(2)
                    .all(|w| (key(w[0]) < key(w[1])) != order.descending),
                "{name}: {order} pages out of order for {filter:?}"
            );
            let want = records.iter().filter(|r| filter.matches(&r.signal)).count();
            // Counts come from the index as it is: they show what it claims.
            claimed_more += usize::from(catalog.count(filter).unwrap() > want as u64);
            returned_fewer += usize::from(got.len() < want);
        }
        assert!(returned_fewer > 0, "{name}: the forgery hid no record");
        assert_eq!(
            claimed_more > 0,
            overclaims,
            "{name}: the index claimed rows it lacks"
        );
    }
}
