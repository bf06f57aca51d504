//! The best rows of a query in its order, without looking at every matching row.
//!
//! Rows are grouped in blocks of [`TIME_BLOCK_LEN`]. Each block has a bound on its sort key: its
//! timestamp range from the index (producers' clocks arrive out of order, so a block's range,
//! not its position, bounds it), or its seq range; each segment has one too (its timestamp
//! range from the snapshot: a sealed segment's trailer, which is ledger data that `verify`
//! checks, not an index). Segments and blocks are visited best bound first — a segment's
//! turn queues its blocks — their candidate rows (a posting list sliced to the block, or every
//! row) checked against the filter's index columns, and the walk stops once `want` rows are
//! held and nothing unvisited can hold a better one. A page deep in a long result (a cursor)
//! skips whole blocks and segments that lie before the cursor. The cost follows the segments
//! and blocks near the page, not the size of the ledger.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use signal_ledger_engine::index::{SegmentIndex, DICT_COLUMNS, TIME_BLOCK_LEN};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::filter::{Filter, RowFilter};
use crate::order::{Order, OrderBy};
use crate::planner::union_of;

/// A position in a query's order: smaller is earlier (better).
type Rank = (i128, i128);

/// A matching row: its sort key and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    /// Its timestamp, ns, by the index.
    pub timestamp_ns: i64,
    /// Its seq.
    pub seq: u64,
    /// Its segment (index in the snapshot).
    pub segment: usize,
    /// Frame offset in the segment file.
    pub offset: u32,
}

/// Where the walk starts and what it keeps.
pub(crate) struct Bounds {
    /// Only rows strictly after this key (timestamp or 0, seq) in the order.
    pub after: Option<(i64, u64)>,
    /// Only rows with a seq below this.
    pub horizon: u64,
}

/// The best rows found, in the query's order.
pub(crate) struct TopHits {
    /// At most `want` hits, best first.
    pub hits: Vec<Hit>,
    /// Whether blocks were left unvisited (so rows beyond `hits` may match).
    pub cut: bool,
}

/// The rows of one segment a query looks at: a posting list (or a union of them) or all.
enum Candidates<'a> {
    All(usize),
    Rows(Cow<'a, [u32]>),
}

impl Candidates<'_> {
    /// The candidate rows in `start..end`.
    fn within(&self, start: usize, end: usize) -> CandidateRange<'_> {
        match self {
            Candidates::All(len) => CandidateRange::Range(start..end.min(*len)),
            Candidates::Rows(rows) => {
                let from = rows.partition_point(|&r| (r as usize) < start);
                let to = rows.partition_point(|&r| (r as usize) < end);
                CandidateRange::Rows(rows.get(from..to).unwrap_or_default())
            }
        }
    }
}

enum CandidateRange<'a> {
    Range(std::ops::Range<usize>),
    Rows(&'a [u32]),
}

impl CandidateRange<'_> {
    fn is_empty(&self) -> bool {
        match self {
            CandidateRange::Range(r) => r.is_empty(),
            CandidateRange::Rows(rows) => rows.is_empty(),
        }
    }

    fn for_each(&self, mut each: impl FnMut(usize)) {
        match self {
            CandidateRange::Range(r) => r.clone().for_each(each),
            CandidateRange::Rows(rows) => rows.iter().for_each(|&r| each(r as usize)),
        }
    }
}

/// The smallest posting list (or union) among the filter's text columns, or every row.
fn candidates<'a>(filter: &Filter, index: &'a SegmentIndex) -> Candidates<'a> {
    let mut best: Option<Cow<'a, [u32]>> = None;
    for key in DICT_COLUMNS {
        let wanted = filter.dict_values(key);
        let dict = index.dict(key);
        let rows: Cow<'a, [u32]> = match wanted {
            [] => continue,
            [one] => Cow::Borrowed(dict.rows_with(one)),
            many => Cow::Owned(union_of(index, key, many)),
        };
        if best.as_ref().is_none_or(|b| rows.len() < b.len()) {
            best = Some(rows);
        }
    }
    best.map_or(Candidates::All(index.len()), Candidates::Rows)
}

/// Something to visit, best bound first: a whole segment (expanded into its blocks when its
/// turn comes, so segments that cannot hold a row of the page are never looked into) or one
/// block of a segment.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Visit {
    /// The best rank any row inside can have.
    best: Rank,
    segment: usize,
    /// None: the whole segment.
    block: Option<usize>,
}

impl Order {
    /// The rank of a row with this timestamp and seq.
    fn rank(self, timestamp_ns: i64, seq: u64) -> Rank {
        let (first, second) = self.key(timestamp_ns, seq);
        let key = (i128::from(first), i128::from(second));
        if self.descending {
            (-key.0, -key.1)
        } else {
            key
        }
    }

    /// The best and the worst rank a row of a block can have, from the block's timestamp range
    /// and seq range (both inclusive).
    fn block_ranks(self, (min_ts, max_ts): (i64, i64), (first, last): (u64, u64)) -> (Rank, Rank) {
        let (lo, hi) = match self.by {
            OrderBy::Timestamp => (
                (i128::from(min_ts), i128::from(first)),
                (i128::from(max_ts), i128::from(last)),
            ),
            OrderBy::Seq => ((0, i128::from(first)), (0, i128::from(last))),
        };
        if self.descending {
            ((-hi.0, -hi.1), (-lo.0, -lo.1))
        } else {
            (lo, hi)
        }
    }
}

/// A segment being walked: its index, the filter compiled against it, its candidate rows.
struct Walked<'a> {
    index: &'a SegmentIndex,
    rows: RowFilter<'a>,
    candidates: Candidates<'a>,
}

impl Catalog {
    /// The best `want` rows meeting `filter` (by the index) in `order` within `bounds`. A
    /// segment's index is loaded only when the segment's turn comes.
    pub(crate) fn top_hits(
        &self,
        filter: &Filter,
        order: Order,
        bounds: &Bounds,
        want: usize,
    ) -> Result<TopHits> {
        let after = bounds.after.map(|(ts, seq)| order.rank(ts, seq));
        let from = filter.from_ns.unwrap_or(i64::MIN);
        let to = filter.to_ns.unwrap_or(i64::MAX);
        // Whether rows with this timestamp range and seq range can be in the page at all.
        let may_hold = |(min, max): (i64, i64), seqs: (u64, u64), worst: Rank| {
            !(max < from
                || min >= to
                || seqs.0 >= bounds.horizon
                || after.is_some_and(|a| worst <= a))
        };
        let mut visits = BinaryHeap::new();
        for (segment, s) in self.snapshot().segments().iter().enumerate() {
            let range = (s.min_timestamp_ns, s.max_timestamp_ns);
            let seqs = (
                s.first_seq(),
                s.first_seq() + s.record_count.saturating_sub(1),
            );
            let (best, worst) = order.block_ranks(range, seqs);
            if s.record_count > 0 && may_hold(range, seqs, worst) {
                visits.push(Reverse(Visit {
                    best,
                    segment,
                    block: None,
                }));
            }
        }
        let mut walked: Vec<Option<Walked<'_>>> = Vec::new();
        walked.resize_with(self.snapshot().segments().len(), || None);
        // The best `want` so far, the worst on top.
        let mut kept: BinaryHeap<(Rank, Hit)> =
            BinaryHeap::with_capacity(want.saturating_add(1).min(1 << 16));
        let mut cut = false;
        while let Some(Reverse(visit)) = visits.pop() {
            if kept.len() == want && kept.peek().is_some_and(|(worst, _)| visit.best > *worst) {
                cut = true;
                break;
            }
            let Some(block) = visit.block else {
                // A segment's turn: load its index, queue those of its blocks that may hold a
                // row of the page.
                let index = self.index(visit.segment)?;
                let segment = Walked {
                    index,
                    rows: RowFilter::new(filter, index),
                    candidates: candidates(filter, index),
                };
                if segment.rows.impossible {
                    continue;
                }
                for (b, &(min, max)) in index.time_blocks.iter().enumerate() {
                    let start = b * TIME_BLOCK_LEN;
                    let end = (start + TIME_BLOCK_LEN).min(index.len());
                    let seqs = (
                        index.first_seq + start as u64,
                        index.first_seq + end.saturating_sub(1) as u64,
                    );
                    let (best, worst) = order.block_ranks((min, max), seqs);
                    if may_hold((min, max), seqs, worst)
                        && !segment.candidates.within(start, end).is_empty()
                    {
                        visits.push(Reverse(Visit {
                            best,
                            segment: visit.segment,
                            block: Some(b),
                        }));
                    }
                }
                if let Some(slot) = walked.get_mut(visit.segment) {
                    *slot = Some(segment);
                }
                continue;
            };
            let Some(Some(segment)) = walked.get(visit.segment) else {
                continue;
            };
            let index = segment.index;
            let start = block * TIME_BLOCK_LEN;
            let mut previous = None;
            segment
                .candidates
                .within(start, start + TIME_BLOCK_LEN)
                .for_each(|row| {
                    // Rows ascend in a sound index; a repeat is skipped, never kept twice.
                    if previous.replace(row).is_some_and(|p| p >= row) {
                        return;
                    }
                    let seq = index.first_seq + row as u64;
                    let timestamp_ns = index.timestamps.get(row).copied().unwrap_or_default();
                    let rank = order.rank(timestamp_ns, seq);
                    if seq >= bounds.horizon
                        || after.is_some_and(|a| rank <= a)
                        || kept.len() == want && kept.peek().is_some_and(|(w, _)| rank >= *w)
                        || !segment.rows.matches(row)
                    {
                        return;
                    }
                    kept.push((
                        rank,
                        Hit {
                            timestamp_ns,
                            seq,
                            segment: visit.segment,
                            offset: index.offsets.get(row).copied().unwrap_or_default(),
                        },
                    ));
                    if kept.len() > want {
                        kept.pop();
                    }
                });
        }
        Ok(TopHits {
            hits: kept.into_sorted_vec().into_iter().map(|(_, h)| h).collect(),
            cut: cut || !visits.is_empty(),
        })
    }
}
