//! Filtered retrieval ([`Catalog::query`]): a page of records in an order, with limits and
//! keyset pagination, from the rows the top-k walk ([`crate::topk`]) or the planner
//! ([`crate::planner`]) finds; also counts and the signal locations replay walks. Every record
//! returned is decoded and checked against the filter and its place in the order, so an index
//! can only make a query miss rows, never return a wrong one or one out of order.

use signal_ledger_engine::SignalRecord;

use crate::catalog::Catalog;
use crate::cursor::Cursor;
use crate::error::{QueryError, Result};
use crate::filter::Filter;
use crate::order::{Order, OrderBy};
use crate::planner::{for_each_matching_row, matching_rows};
use crate::topk::{Bounds, Hit};

/// A query: a filter, an order, a page size and where the page starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Which records.
    pub filter: Filter,
    /// In what order.
    pub order: Order,
    /// Most records in the page.
    pub limit: usize,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<Cursor>,
}

/// One page of results. Its JSON form is `{"records":[…],"next_cursor":"…"|null}`
/// (`query --format json`, GET /v1/signals).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page {
    /// The records, in the query's order.
    pub records: Vec<SignalRecord>,
    /// Where the next page starts; None when this page is the last.
    pub next_cursor: Option<Cursor>,
}

/// A signal as an index places it: where its frame is and its sort keys (the timestamp as the
/// index records it: compare the decoded one before relying on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignalLoc {
    /// Its timestamp, ns, by the index.
    pub timestamp_ns: i64,
    /// Its seq.
    pub seq: u64,
    /// Its segment (index in the snapshot).
    pub segment: usize,
    /// Frame offset in the segment file.
    pub offset: u32,
}

impl Catalog {
    /// Runs `query`: the page of matching records in its order, and a cursor if more follow.
    pub fn query(&self, query: &Query) -> Result<Page> {
        crate::params::PageSize::new(query.limit)
            .map_err(|why| QueryError::Invalid(format!("limit {why}")))?;
        if let Some(c) = &query.cursor {
            if c.order != query.order {
                return Err(QueryError::CursorOrder {
                    cursor: c.order.to_string(),
                    query: query.order.to_string(),
                });
            }
        }
        // A page after the first sees the outcomes the first one saw: those recorded before its
        // horizon. A catalog that holds later ones answers from one bounded at the horizon.
        if let Some(c) = &query.cursor {
            let later = self.outcomes()?.max_seq().is_some_and(|s| s >= c.horizon);
            if later && self.outcome_horizon() > c.horizon {
                let snapshot = signal_ledger_engine::Snapshot::open(self.snapshot().dir())?;
                return Catalog::with_outcome_horizon(snapshot, c.horizon).query(query);
            }
        }
        let bounds = Bounds {
            horizon: query
                .cursor
                .map_or(self.snapshot().next_seq(), |c| c.horizon),
            after: query
                .cursor
                .map(|c| query.order.key(c.last_timestamp_ns, c.last_seq)),
        };
        // A margin over the page for rows the re-check drops (only a lying index makes any).
        // (No more than the snapshot holds, whatever limit was asked for.)
        let held = usize::try_from(self.snapshot().record_count()).unwrap_or(usize::MAX);
        let want = query
            .limit
            .saturating_add(query.limit / 4)
            .saturating_add(1)
            .min(held.saturating_add(1));
        let top = self.top_hits(&query.filter, query.order, &bounds, want)?;
        let page = self.page_of(query, bounds.horizon, &top.hits, top.cut)?;
        if page.records.len() < query.limit && top.cut {
            // The re-check dropped more rows than the margin: take every matching row.
            let all = self.all_hits(query, &bounds)?;
            return self.page_of(query, bounds.horizon, &all, false);
        }
        Ok(page)
    }

    /// Every row meeting the query's filter (by the index) within `bounds`, in its order.
    fn all_hits(&self, query: &Query, bounds: &Bounds) -> Result<Vec<Hit>> {
        let key = |h: &Hit| query.order.key(h.timestamp_ns, h.seq);
        let mut hits = Vec::new();
        for (segment, index) in self.indexes()?.into_iter().enumerate() {
            for row in matching_rows(&query.filter, index) {
                let row = row as usize;
                let hit = Hit {
                    timestamp_ns: index.timestamps.get(row).copied().unwrap_or_default(),
                    seq: index.first_seq + row as u64,
                    segment,
                    offset: index.offsets.get(row).copied().unwrap_or_default(),
                };
                let beyond = bounds.after.is_none_or(|a| {
                    if query.order.descending {
                        key(&hit) < a
                    } else {
                        key(&hit) > a
                    }
                });
                if hit.seq < bounds.horizon && beyond {
                    hits.push(hit);
                }
            }
        }
        hits.sort_unstable_by(|a, b| {
            if query.order.descending {
                key(b).cmp(&key(a))
            } else {
                key(a).cmp(&key(b))
            }
        });
        Ok(hits)
    }

    /// The page made of `hits` (in the query's order): each decoded and re-checked, up to the
    /// limit; `cut` says rows beyond `hits` may match too.
    fn page_of(&self, query: &Query, horizon: u64, hits: &[Hit], cut: bool) -> Result<Page> {
        let mut records = Vec::with_capacity(query.limit.min(hits.len()));
        let mut last = None;
        let mut at = 0;
        while records.len() < query.limit {
            let Some(&hit) = hits.get(at) else {
                break;
            };
            at += 1;
            let Some(mut record) =
                self.snapshot()
                    .record_at(hit.segment, hit.offset as usize, hit.seq)?
            else {
                continue; // the index placed it wrongly: skipped, never returned wrong
            };
            self.apply_outcome(&mut record)?;
            // The page is in the order of the index's timestamps: a record whose stored
            // timestamp differs (a lying index) would break the order, so it is skipped too.
            let in_place =
                query.order.by == OrderBy::Seq || record.signal.timestamp_ns == hit.timestamp_ns;
            if in_place && query.filter.matches(&record.signal) {
                last = Some(hit);
                records.push(record);
            }
        }
        let more = records.len() == query.limit && (at < hits.len() || cut);
        let next_cursor = last.filter(|_| more).map(|h| Cursor {
            order: query.order,
            horizon,
            last_timestamp_ns: query.order.key(h.timestamp_ns, h.seq).0,
            last_seq: h.seq,
        });
        Ok(Page {
            records,
            next_cursor,
        })
    }

    /// The signals of segment `segment` that meet `filter` by its index (outcomes applied), in
    /// seq order: candidates to decode and re-check, for a consumer that walks the segments
    /// itself (replay).
    pub fn locate_signals(&self, segment: usize, filter: &Filter) -> Result<Vec<SignalLoc>> {
        let index = self.index(segment)?;
        Ok(matching_rows(filter, index)
            .into_iter()
            .map(|row| {
                let row = row as usize;
                SignalLoc {
                    timestamp_ns: index.timestamps.get(row).copied().unwrap_or_default(),
                    seq: index.first_seq + row as u64,
                    segment,
                    offset: index.offsets.get(row).copied().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// How many records meet `filter` (from the indexes alone).
    pub fn count(&self, filter: &Filter) -> Result<u64> {
        let mut n = 0u64;
        for (_, index) in self.indexes_meeting(filter)? {
            for_each_matching_row(filter, index, |_| n += 1);
        }
        Ok(n)
    }
}
