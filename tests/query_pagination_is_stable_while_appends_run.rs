//! Paging through a query while a writer keeps appending yields exactly the records that were
//! there when the first page was taken — none appended since, none repeated, none skipped —
//! even when each page is read by a new process (a new Catalog); and a cursor is only accepted
//! by the query order it came from, and only as the text it was printed as.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;

use std::path::{Path, PathBuf};

use query_support::*;
use signal_ledger::engine::{Ledger, Signal, SignalRecord};
use signal_ledger::query::{Catalog, Cursor, Filter, Order, OrderBy, Query, QueryError};
use support::*;

const BEFORE: usize = 2_000;
const APPENDED: usize = 500;
const LIMIT: usize = 100;

/// A ledger of 2,000 signals (timestamps out of seq order, some tied) in small segments, with
/// its writer still open.
fn ledger() -> (tempfile::TempDir, PathBuf, Ledger) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, small_segments(256 * 1024)).unwrap();
    for chunk in scrambled_signals(BEFORE, 21).chunks(250) {
        ledger.append(chunk).unwrap();
    }
    (tmp, path, ledger)
}

/// 500 more signals: most timestamped inside the range already stored (a quarter exactly on a
/// stored timestamp), the rest after it.
fn later_signals(stored: &[SignalRecord]) -> Vec<Signal> {
    let lo = stored.iter().map(|r| r.signal.timestamp_ns).min().unwrap();
    let hi = stored.iter().map(|r| r.signal.timestamp_ns).max().unwrap();
    let mut rng = Mix(99);
    let mut signals = demo_signals(APPENDED, 99);
    for s in &mut signals {
        let ts = match rng.below(4) {
            0 => {
                stored[rng.below(stored.len() as u64) as usize]
                    .signal
                    .timestamp_ns
            }
            1 => hi + 1 + rng.below(86_400_000_000_000) as i64,
            _ => lo + rng.below((hi - lo) as u64) as i64,
        };
        set_timestamp(s, ts);
    }
    signals
}

fn query(filter: &Filter, order: Order, cursor: Option<&str>) -> Query {
    Query {
        filter: filter.clone(),
        order,
        limit: LIMIT,
        cursor: cursor.map(|text| Cursor::decode(text).unwrap()),
    }
}

/// Pages `filter` in `order` from the first page to the last, each page with a new Catalog,
/// calling `between(page)` before every page after the first; the records in page order.
fn page_through(
    path: &Path,
    filter: &Filter,
    order: Order,
    mut between: impl FnMut(usize),
) -> Vec<Vec<SignalRecord>> {
    let first = Catalog::open(path)
        .unwrap()
        .query(&query(filter, order, None))
        .unwrap();
    let mut text = first.next_cursor.map(|c| c.encode());
    let mut pages = vec![first.records];
    while let Some(cursor) = text {
        assert!(pages.len() <= BEFORE / LIMIT, "more pages than records");
        between(pages.len());
        // A new process: a new snapshot and catalog, the cursor as text.
        let page = Catalog::open(path)
            .unwrap()
            .query(&query(filter, order, Some(&cursor)))
            .unwrap();
        text = page.next_cursor.map(|c| c.encode());
        pages.push(page.records);
    }
    pages
}

fn check_case(filter: &Filter, order: Order) {
    let (_tmp, path, mut writer) = ledger();
    let stored = records_in(&path);
    assert_eq!(stored.len(), BEFORE);
    let expected = brute_force(&stored, filter, order);
    assert!(
        expected.len() > 5 * LIMIT,
        "the filter spans many pages ({} records)",
        expected.len()
    );
    let mut later = later_signals(&stored).into_iter();
    let segments_before = segments(&path).len();

    // 200 signals right after page 1, the other 300 spread over the pages that follow.
    let spread = 300usize.div_ceil(expected.len().div_ceil(LIMIT) - 2);
    let pages = page_through(&path, filter, order, |page| {
        let batch: Vec<Signal> = later
            .by_ref()
            .take(if page == 1 { 200 } else { spread })
            .collect();
        if !batch.is_empty() {
            writer.append(&batch).unwrap();
        }
    });

    assert!(
        later.next().is_none(),
        "all 500 were appended during the walk"
    );
    assert!(
        segments(&path).len() > segments_before,
        "the appends sealed the segment that was active at page 1"
    );
    assert_eq!(pages[0].len(), LIMIT);
    let got: Vec<SignalRecord> = pages.iter().flatten().cloned().collect();
    assert_eq!(
        seqs(&got),
        seqs(&expected),
        "{order}: pages {:?}",
        pages.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(got == expected, "{order}: same seqs, other records");

    // Starting over finds the appended records too.
    let now = records_in(&path);
    assert_eq!(now.len(), BEFORE + APPENDED);
    let catalog = Catalog::open(&path).unwrap();
    let fresh = catalog.query(&query(filter, order, None)).unwrap();
    let all = brute_force(&now, filter, order);
    assert_eq!(seqs(&fresh.records), seqs(&all[..LIMIT]));
    assert_eq!(catalog.count(filter).unwrap(), all.len() as u64);
    assert!(all.len() > expected.len());
}

#[test]
fn timestamp_descending_pages_ignore_appends_after_page_one() {
    let order = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
    check_case(&Filter::default(), order);
}

#[test]
fn seq_ascending_pages_ignore_appends_after_page_one() {
    let order = Order {
        by: OrderBy::Seq,
        descending: false,
    };
    check_case(&Filter::default(), order);
}

#[test]
fn filtered_timestamp_ascending_pages_ignore_appends_after_page_one() {
    let order = Order {
        by: OrderBy::Timestamp,
        descending: false,
    };
    let filter = Filter {
        sources: vec![
            "ema_crossover".into(),
            "social_sentiment".into(),
            "news_nlp".into(),
        ],
        ..Filter::default()
    };
    check_case(&filter, order);
}

/// The same walk while another thread appends (in small batches, as fast as it can): whatever
/// interleaving happens, the pages hold exactly the records there at page 1.
#[test]
fn pages_ignore_appends_from_another_thread() {
    let (_tmp, path, mut writer) = ledger();
    let stored = records_in(&path);
    let later = later_signals(&stored);
    let order = Order {
        by: OrderBy::Timestamp,
        descending: false,
    };
    let expected = brute_force(&stored, &Filter::default(), order);
    let first = Catalog::open(&path)
        .unwrap()
        .query(&query(&Filter::default(), order, None))
        .unwrap();
    let text = first.next_cursor.unwrap().encode();
    let appender = std::thread::spawn(move || {
        for chunk in later.chunks(10) {
            writer.append(chunk).unwrap();
        }
    });
    let mut got = first.records;
    let mut cursor = Some(text);
    while let Some(text) = cursor {
        let page = Catalog::open(&path)
            .unwrap()
            .query(&query(&Filter::default(), order, Some(&text)))
            .unwrap();
        got.extend(page.records);
        cursor = page.next_cursor.map(|c| c.encode());
    }
    appender.join().unwrap();
    assert_eq!(seqs(&got), seqs(&expected));
    assert_eq!(records_in(&path).len(), BEFORE + APPENDED);
}

#[test]
fn a_cursor_is_refused_by_a_query_in_another_order() {
    let (_tmp, path, _writer) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let orders = [
        Order {
            by: OrderBy::Seq,
            descending: false,
        },
        Order {
            by: OrderBy::Seq,
            descending: true,
        },
        Order {
            by: OrderBy::Timestamp,
            descending: false,
        },
        Order {
            by: OrderBy::Timestamp,
            descending: true,
        },
    ];
    for from in orders {
        let page = catalog
            .query(&query(&Filter::default(), from, None))
            .unwrap();
        let cursor = page.next_cursor.unwrap();
        assert_eq!(cursor.order, from);
        for to in orders {
            let result = catalog.query(&Query {
                cursor: Some(cursor),
                ..query(&Filter::default(), to, None)
            });
            if to == from {
                assert_eq!(result.unwrap().records.len(), LIMIT);
            } else {
                assert!(
                    matches!(result, Err(QueryError::CursorOrder { .. })),
                    "a {from} cursor in a {to} query: {result:?}"
                );
            }
        }
    }
}

#[test]
fn a_garbled_cursor_is_refused() {
    let (_tmp, path, _writer) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let order = Order {
        by: OrderBy::Seq,
        descending: false,
    };
    let page = catalog
        .query(&query(&Filter::default(), order, None))
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    let text = cursor.encode();
    assert_eq!(Cursor::decode(&text).unwrap(), cursor);
    let mut garbled = vec![
        String::new(),
        "c1".to_owned(),
        text[..text.len() - 1].to_owned(),
        text[..text.len() - 2].to_owned(),
        format!("{text}0"),
        format!("{text}00"),
        format!("{text} "),
        format!(" {text}"),
        text.replacen("c1", "c2", 1),
        text.replacen("c1", "", 1),
        // The flags byte (the first after `c1`) has two bits; 0x04 and up mean nothing.
        format!("c104{}", &text[4..]),
        format!("c1ff{}", &text[4..]),
    ];
    for at in [2, 10, text.len() - 1] {
        let mut chars: Vec<char> = text.chars().collect();
        chars[at] = 'g';
        garbled.push(chars.into_iter().collect());
    }
    for bad in &garbled {
        assert!(
            matches!(Cursor::decode(bad), Err(QueryError::BadCursor(_))),
            "{bad:?} was accepted"
        );
    }
}
