//! Helpers shared by the `query_*` end-to-end tests: ledgers whose timestamps are out of seq
//! order and tied, a brute-force reading of every record, and brute-force answers to queries,
//! pages and aggregates to hold the query crate against.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use signal_ledger::engine::timefmt::format_rfc3339_ns;
use signal_ledger::engine::{Signal, SignalRecord, Snapshot};
use signal_ledger::query::{AggregateRow, Catalog, Cursor, Filter, GroupBy, Order, OrderBy, Query};

use crate::support::demo_signals;

/// A small deterministic PRNG (splitmix64), so the fixtures do not depend on proptest's.
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Sets a signal's timestamp, keeping `expires_at` not before it.
pub fn set_timestamp(s: &mut Signal, ts: i64) {
    s.timestamp_ns = ts;
    if let Some(e) = s.expires_at_ns.as_mut() {
        *e = (*e).max(ts);
    }
}

/// `count` demo signals from `seed` whose timestamps do not follow seq order: a few percent
/// copy an earlier or later signal's timestamp exactly (ties, broken by seq), a few more move
/// by up to ±3 days (so timestamp order and seq order differ, within and across segments).
/// Demo signals alone are in timestamp order, which would hide an order mix-up.
pub fn scrambled_signals(count: usize, seed: u64) -> Vec<Signal> {
    let mut signals = demo_signals(count, seed);
    let originals: Vec<i64> = signals.iter().map(|s| s.timestamp_ns).collect();
    let mut rng = Mix(seed ^ 0x5eed);
    for s in &mut signals {
        if rng.percent(8) {
            let other = originals[rng.below(count as u64) as usize];
            set_timestamp(s, other);
        } else if rng.percent(12) {
            let shift = rng.below(6 * 86_400_000_000_000) as i64 - 3 * 86_400_000_000_000;
            set_timestamp(s, s.timestamp_ns + shift);
        }
    }
    signals
}

/// Every record of a snapshot, in seq order, decoded the slow way (no index).
pub fn all_records(snap: &Snapshot) -> Vec<SignalRecord> {
    snap.entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect()
}

/// Every record of the ledger at `dir`.
pub fn records_in(dir: &Path) -> Vec<SignalRecord> {
    all_records(&Snapshot::open(dir).unwrap())
}

/// The filter's meaning written out again, independently of `Filter::matches`.
pub fn reference_matches(f: &Filter, s: &Signal) -> bool {
    fn any_of(wanted: &[String], value: Option<&String>) -> bool {
        if wanted.is_empty() {
            return true;
        }
        match value {
            None => false,
            Some(v) => wanted.contains(v),
        }
    }
    let mut ok = any_of(&f.sources, Some(&s.source_module));
    ok &= any_of(&f.tickers, Some(&s.ticker));
    if let Some(from) = f.from_ns {
        ok &= from <= s.timestamp_ns;
    }
    if let Some(to) = f.to_ns {
        ok &= s.timestamp_ns < to;
    }
    if let Some(min) = f.min_conviction {
        ok &= min <= s.conviction;
    }
    if let Some(max) = f.max_conviction {
        ok &= s.conviction <= max;
    }
    ok &= f.directions.is_empty() || f.directions.contains(&s.direction);
    ok &= f.signal_types.is_empty() || f.signal_types.contains(&s.signal_type);
    ok &= any_of(&f.timeframes, s.timeframe.as_ref());
    ok &= any_of(&f.strategy_ids, s.strategy_id.as_ref());
    ok &= any_of(&f.correlation_ids, s.correlation_id.as_ref());
    if let Some(acted) = f.acted_upon {
        // An absent acted_upon counts as false.
        if acted {
            ok &= s.acted_upon == Some(true);
        } else {
            ok &= s.acted_upon != Some(true);
        }
    }
    if let Some(has) = f.has_execution_id {
        ok &= s.execution_id.is_some() == has;
    }
    ok
}

/// Every record meeting `filter`, in `order` (timestamp then seq, or seq; reversed when
/// descending): what paging to the end must yield.
pub fn brute_force(records: &[SignalRecord], filter: &Filter, order: Order) -> Vec<SignalRecord> {
    let mut hits: Vec<SignalRecord> = records
        .iter()
        .filter(|r| filter.matches(&r.signal))
        .cloned()
        .collect();
    match order.by {
        OrderBy::Timestamp => hits.sort_by_key(|r| (r.signal.timestamp_ns, r.seq)),
        OrderBy::Seq => hits.sort_by_key(|r| r.seq),
    }
    if order.descending {
        hits.reverse();
    }
    hits
}

/// Seqs of records, for readable failure messages.
pub fn seqs(records: &[SignalRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// Follows `next_cursor` from the first page to the last, passing each cursor as text (as a
/// CLI user would), with `catalog(page_number)` giving the catalog to run page n on. Panics if
/// a page is longer than the limit or if more than `max_pages` pages come back.
pub fn walk_pages<'a>(
    mut catalog: impl FnMut(usize) -> &'a Catalog,
    filter: &Filter,
    order: Order,
    limit: usize,
    max_pages: usize,
) -> Vec<Vec<SignalRecord>> {
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        assert!(pages.len() < max_pages, "more than {max_pages} pages");
        let page = catalog(pages.len())
            .query(&Query {
                filter: filter.clone(),
                order,
                limit,
                cursor,
            })
            .unwrap();
        assert!(page.records.len() <= limit, "page longer than the limit");
        pages.push(page.records);
        match page.next_cursor {
            None => return pages,
            Some(c) => {
                let text = c.encode();
                let back = Cursor::decode(&text).unwrap();
                assert_eq!(back, c, "cursor {text} does not read back");
                cursor = Some(back);
            }
        }
    }
}

/// Every grouping, and none.
pub const GROUPINGS: [Option<GroupBy>; 8] = [
    None,
    Some(GroupBy::Source),
    Some(GroupBy::Ticker),
    Some(GroupBy::Direction),
    Some(GroupBy::SignalType),
    Some(GroupBy::Minute),
    Some(GroupBy::Hour),
    Some(GroupBy::Day),
];

fn group_key(s: &Signal, group: Option<GroupBy>) -> String {
    const MINUTE: i64 = 60_000_000_000;
    let floor = |width: i64| format_rfc3339_ns(s.timestamp_ns - s.timestamp_ns.rem_euclid(width));
    match group {
        None => "all".to_owned(),
        Some(GroupBy::Source) => s.source_module.clone(),
        Some(GroupBy::Ticker) => s.ticker.clone(),
        Some(GroupBy::Direction) => s.direction.as_str().to_owned(),
        Some(GroupBy::SignalType) => s.signal_type.as_str().to_owned(),
        Some(GroupBy::Minute) => floor(MINUTE),
        Some(GroupBy::Hour) => floor(60 * MINUTE),
        Some(GroupBy::Day) => floor(24 * 60 * MINUTE),
    }
}

/// The aggregate of the records meeting `filter`, computed from the decoded records: one row
/// per group present, sorted by key.
pub fn brute_aggregate(
    records: &[SignalRecord],
    filter: &Filter,
    group: Option<GroupBy>,
) -> Vec<AggregateRow> {
    let mut groups: BTreeMap<String, Vec<&Signal>> = BTreeMap::new();
    for r in records.iter().filter(|r| filter.matches(&r.signal)) {
        groups
            .entry(group_key(&r.signal, group))
            .or_default()
            .push(&r.signal);
    }
    groups
        .into_iter()
        .map(|(key, members)| {
            let n = members.len() as f64;
            let convictions = members.iter().map(|s| s.conviction);
            AggregateRow {
                key,
                count: members.len() as u64,
                min_conviction: convictions.clone().fold(f64::INFINITY, f64::min),
                max_conviction: convictions.clone().fold(f64::NEG_INFINITY, f64::max),
                avg_conviction: convictions.sum::<f64>() / n,
                acted_upon_rate: members
                    .iter()
                    .filter(|s| s.acted_upon == Some(true))
                    .count() as f64
                    / n,
            }
        })
        .collect()
}

/// Whether `a` and `b` agree within `1e-9` relative (or absolute, near zero).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Why `got` is not the brute-force aggregate `want`, if it is not.
pub fn aggregate_mismatch(got: &[AggregateRow], want: &[AggregateRow]) -> Option<String> {
    let got_keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
    let want_keys: Vec<&str> = want.iter().map(|r| r.key.as_str()).collect();
    if got_keys != want_keys {
        return Some(format!("keys {got_keys:?}, expected {want_keys:?}"));
    }
    for (g, w) in got.iter().zip(want) {
        let ok = g.count == w.count
            && g.min_conviction == w.min_conviction
            && g.max_conviction == w.max_conviction
            && close(g.avg_conviction, w.avg_conviction)
            && close(g.acted_upon_rate, w.acted_upon_rate);
        if !ok {
            return Some(format!("group {}: {g:?}, expected {w:?}", g.key));
        }
    }
    None
}
