//! A query returns exactly what a brute-force scan of the decoded records finds: the same page,
//! the same count, every page to the end with no repeat and no gap, and the same aggregates,
//! for any filter, order and page size.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, TestRunner};
use query_support::*;
use signal_ledger::engine::{Direction, Ledger, SignalRecord, SignalType};
use signal_ledger::query::{Catalog, Filter, Order, OrderBy, Query};
use support::*;

const DAY: i64 = 86_400_000_000_000;
/// Pages followed per case at most: small limits over large results use a larger page size.
const MAX_PAGES: usize = 30;

/// The ledger, its catalog and what the strategies draw from.
struct Fixture {
    _tmp: tempfile::TempDir,
    catalog: Catalog,
    records: Vec<SignalRecord>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, small_segments(400 * 1024)).unwrap();
    for chunk in scrambled_signals(5_000, 11).chunks(125) {
        ledger.append(chunk).unwrap();
    }
    drop(ledger);
    let catalog = Catalog::open(&path).unwrap();
    let segs = catalog.snapshot().segments();
    let sealed = segs.iter().filter(|s| s.trailer.is_some()).count();
    assert!(sealed >= 3, "{sealed} sealed segments");
    let active = segs.last().unwrap();
    assert!(active.trailer.is_none() && active.record_count > 0);
    assert!(
        catalog
            .indexes()
            .unwrap()
            .iter()
            .any(|ix| ix.time_blocks.len() > 1),
        "some segment spans several time blocks"
    );
    let records = all_records(catalog.snapshot());
    assert_eq!(records.len(), 5_000);
    let out_of_order = records
        .windows(2)
        .filter(|w| w[0].signal.timestamp_ns > w[1].signal.timestamp_ns)
        .count();
    assert!(out_of_order > 100, "timestamp order differs from seq order");
    Fixture {
        _tmp: tmp,
        catalog,
        records,
    }
}

fn distinct(values: impl Iterator<Item = String>) -> Vec<String> {
    values.collect::<BTreeSet<_>>().into_iter().collect()
}

/// No condition (`1 - 1/odds` of the time), or 1–3 values drawn from `present` (and, one time
/// in ten, a value no record has).
fn some_of(
    odds: u32,
    present: Vec<String>,
    absent: &'static str,
) -> impl Strategy<Value = Vec<String>> {
    let one = prop_oneof![9 => select(present), 1 => Just(absent.to_owned())];
    prop_oneof![odds - 1 => Just(Vec::new()), 1 => prop::collection::vec(one, 1..=3)]
}

fn filters(records: &[SignalRecord]) -> impl Strategy<Value = Filter> {
    let signals = || records.iter().map(|r| &r.signal);
    let sources = distinct(signals().map(|s| s.source_module.clone()));
    // Tickers: distinct (rare ones as likely as popular ones) or by frequency (Zipf).
    let tickers = distinct(signals().map(|s| s.ticker.clone()));
    let weighted_tickers: Vec<String> = signals().map(|s| s.ticker.clone()).collect();
    let timeframes = distinct(signals().filter_map(|s| s.timeframe.clone()));
    let strategies = distinct(signals().filter_map(|s| s.strategy_id.clone()));
    let correlations = distinct(signals().filter_map(|s| s.correlation_id.clone()));
    let timestamps: Vec<i64> = signals().map(|s| s.timestamp_ns).collect();
    let convictions: Vec<f64> = signals().map(|s| s.conviction).collect();
    let lo = *timestamps.iter().min().unwrap();
    let hi = *timestamps.iter().max().unwrap();

    let ticker_one = prop_oneof![
        4 => select(tickers),
        4 => select(weighted_tickers),
        1 => Just("NOPE".to_owned()),
    ];
    let tickers = prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec(ticker_one, 1..=3)
    ];
    let instant = prop_oneof![
        3 => select(timestamps),
        3 => lo - DAY..hi + DAY,
        1 => prop_oneof![Just(lo), Just(hi), Just(hi + 1), Just(lo - 1)],
    ];
    let bound = prop::option::weighted(0.3, instant);
    let conviction = prop::option::weighted(
        0.2,
        prop_oneof![
            8 => select(convictions),
            8 => -0.1f64..1.1,
            1 => prop_oneof![Just(0.0), Just(1.0), Just(f64::NAN)],
        ],
    );
    let directions = prop_oneof![
        3 => Just(Vec::new()),
        1 => subsequence(vec![Direction::Long, Direction::Short, Direction::Neutral], 1..=2),
    ];
    let types = vec![
        SignalType::Entry,
        SignalType::Exit,
        SignalType::ScaleIn,
        SignalType::ScaleOut,
        SignalType::Alert,
    ];
    let signal_types = prop_oneof![3 => Just(Vec::new()), 1 => subsequence(types, 1..=3)];
    let flag = prop::option::weighted(0.2, any::<bool>());
    (
        (
            some_of(4, sources, "no_such_module"),
            tickers,
            bound.clone(),
            bound,
            conviction.clone(),
            conviction,
        ),
        (
            directions,
            signal_types,
            some_of(5, timeframes, "7w"),
            some_of(5, strategies, "no_such_strategy"),
            some_of(6, correlations, "corr-000000000000"),
            flag.clone(),
            flag,
        ),
    )
        .prop_map(
            |(
                (sources, tickers, from_ns, to_ns, min_conviction, max_conviction),
                (
                    directions,
                    signal_types,
                    timeframes,
                    strategy_ids,
                    correlation_ids,
                    acted_upon,
                    has_execution_id,
                ),
            )| Filter {
                sources,
                tickers,
                from_ns,
                to_ns,
                min_conviction,
                max_conviction,
                directions,
                signal_types,
                timeframes,
                strategy_ids,
                correlation_ids,
                acted_upon,
                has_execution_id,
            },
        )
}

fn orders() -> impl Strategy<Value = Order> {
    (any::<bool>(), any::<bool>()).prop_map(|(by_seq, descending)| Order {
        by: if by_seq {
            OrderBy::Seq
        } else {
            OrderBy::Timestamp
        },
        descending,
    })
}

/// Everything one case checks.
fn check(f: &Fixture, filter: &Filter, order: Order, limit: usize) -> Result<(), TestCaseError> {
    // The reference predicate itself means what the Filter's fields say.
    for r in &f.records {
        prop_assert_eq!(
            filter.matches(&r.signal),
            reference_matches(filter, &r.signal),
            "Filter::matches on seq {}",
            r.seq
        );
    }
    let expected = brute_force(&f.records, filter, order);

    // The first page.
    let page = f
        .catalog
        .query(&Query {
            filter: filter.clone(),
            order,
            limit,
            cursor: None,
        })
        .unwrap();
    let want = &expected[..expected.len().min(limit)];
    prop_assert_eq!(seqs(&page.records), seqs(want), "first page");
    prop_assert!(page.records == want, "first page: same seqs, other records");
    prop_assert_eq!(
        page.next_cursor.is_some(),
        expected.len() > limit,
        "next_cursor"
    );

    // The count.
    prop_assert_eq!(
        f.catalog.count(filter).unwrap(),
        expected.len() as u64,
        "count"
    );

    // Every page to the end.
    let walk_limit = limit.max(expected.len().div_ceil(MAX_PAGES));
    let pages = walk_pages(|_| &f.catalog, filter, order, walk_limit, MAX_PAGES + 1);
    let (last, full) = pages.split_last().unwrap();
    prop_assert!(
        full.iter().all(|p| p.len() == walk_limit),
        "a page before the last is short: {:?}",
        pages.iter().map(Vec::len).collect::<Vec<_>>()
    );
    prop_assert!(!last.is_empty() || expected.is_empty(), "empty last page");
    let all: Vec<SignalRecord> = pages.into_iter().flatten().collect();
    prop_assert_eq!(seqs(&all), seqs(&expected), "pages (limit {})", walk_limit);
    prop_assert!(all == expected, "pages: same seqs, other records");

    // Aggregates, by every grouping.
    for group in GROUPINGS {
        let got = f.catalog.aggregate(filter, group).unwrap();
        let want = brute_aggregate(&f.records, filter, group);
        if let Some(why) = aggregate_mismatch(&got, &want) {
            return Err(TestCaseError::fail(format!("aggregate {group:?}: {why}")));
        }
    }
    Ok(())
}

#[test]
fn random_queries_match_a_brute_force_scan() {
    let f = fixture();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    // Page sizes over 1..300, small ones more often (more pages to follow).
    let limits = prop_oneof![1usize..300, 1usize..20];
    let strategy = (filters(&f.records), orders(), limits);
    runner
        .run(&strategy, |(filter, order, limit)| {
            check(&f, &filter, order, limit)
        })
        .unwrap();
}

#[test]
fn fixed_queries_match_a_brute_force_scan() {
    let f = fixture();
    let first = &f.records[0].signal;
    let mid = &f.records[2_500].signal;
    let filters = [
        Filter::default(),
        // No record can match: an absent ticker, an empty window, an inverted window.
        Filter {
            tickers: vec!["NOPE".into()],
            ..Filter::default()
        },
        Filter {
            from_ns: Some(mid.timestamp_ns),
            to_ns: Some(mid.timestamp_ns),
            ..Filter::default()
        },
        Filter {
            from_ns: Some(mid.timestamp_ns + DAY),
            to_ns: Some(mid.timestamp_ns),
            ..Filter::default()
        },
        // One instant (ties included), and the conviction bounds, inclusive.
        Filter {
            from_ns: Some(mid.timestamp_ns),
            to_ns: Some(mid.timestamp_ns + 1),
            ..Filter::default()
        },
        Filter {
            min_conviction: Some(mid.conviction),
            max_conviction: Some(mid.conviction),
            ..Filter::default()
        },
        // Present and absent values together; a value repeated.
        Filter {
            tickers: vec![first.ticker.clone(), "NOPE".into(), first.ticker.clone()],
            sources: vec![first.source_module.clone()],
            ..Filter::default()
        },
        Filter {
            acted_upon: Some(false),
            has_execution_id: Some(false),
            ..Filter::default()
        },
        Filter {
            acted_upon: Some(true),
            directions: vec![Direction::Short],
            ..Filter::default()
        },
    ];
    for filter in &filters {
        for order in [
            Order::default(),
            Order {
                by: OrderBy::Timestamp,
                descending: true,
            },
            Order {
                by: OrderBy::Seq,
                descending: false,
            },
            Order {
                by: OrderBy::Seq,
                descending: true,
            },
        ] {
            for limit in [1, 7, 100] {
                if let Err(e) = check(&f, filter, order, limit) {
                    panic!("{filter:?} {order} limit {limit}: {e}");
                }
            }
        }
    }
    // Windows starting or ending exactly on a time block's bounds, in every segment.
    for index in f.catalog.indexes().unwrap() {
        for &(min, max) in &index.time_blocks {
            for (from_ns, to_ns) in [
                (Some(max), None),
                (Some(max), Some(max + 1)),
                (None, Some(min)),
                (None, Some(min + 1)),
                (Some(min), Some(max)),
                (Some(min + 1), Some(max)),
            ] {
                let filter = Filter {
                    from_ns,
                    to_ns,
                    ..Filter::default()
                };
                let want = f
                    .records
                    .iter()
                    .filter(|r| filter.matches(&r.signal))
                    .count();
                assert_eq!(f.catalog.count(&filter).unwrap(), want as u64, "{filter:?}");
            }
        }
    }
}

/// Records sharing a timestamp are ordered by seq, and a page boundary between two of them
/// neither repeats nor skips one.
#[test]
fn ties_on_the_timestamp_are_broken_by_seq_across_pages() {
    let f = fixture();
    let mut by_ts = std::collections::BTreeMap::<i64, Vec<u64>>::new();
    for r in &f.records {
        by_ts.entry(r.signal.timestamp_ns).or_default().push(r.seq);
    }
    let (&ts, tied) = by_ts.iter().max_by_key(|(_, v)| v.len()).unwrap();
    assert!(
        tied.len() >= 3,
        "the fixture has a timestamp shared by 3+ records"
    );
    let filter = Filter {
        from_ns: Some(ts),
        to_ns: Some(ts + 1),
        ..Filter::default()
    };
    for descending in [false, true] {
        let order = Order {
            by: OrderBy::Timestamp,
            descending,
        };
        let pages = walk_pages(|_| &f.catalog, &filter, order, 1, tied.len() + 1);
        let got: Vec<u64> = pages.iter().flatten().map(|r| r.seq).collect();
        let mut want = tied.clone();
        if descending {
            want.reverse();
        }
        assert_eq!(got, want, "descending {descending}");
    }
}
