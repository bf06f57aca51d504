//! The planner: which rows of one segment's index meet a filter, read through the most
//! selective structure the index has (a posting list, a union of them, or the time blocks of
//! the window). Indexes are derived data: callers decode and re-check every row they return.

use signal_ledger_engine::index::{DictKey, SegmentIndex, DICT_COLUMNS, TIME_BLOCK_LEN};

use crate::filter::{Filter, RowFilter};

/// The rows of `index` that meet `filter`, ascending, read through the most selective
/// structure: the smallest union of posting lists among the filtered text columns, or the time
/// blocks that meet the window, or every row.
pub(crate) fn matching_rows(filter: &Filter, index: &SegmentIndex) -> Vec<u32> {
    let rows = RowFilter::new(filter, index);
    if rows.impossible {
        return Vec::new();
    }
    let mut best: Option<Vec<u32>> = None;
    for key in DICT_COLUMNS {
        let wanted = filter.dict_values(key);
        if wanted.is_empty() {
            continue;
        }
        let size: usize = wanted
            .iter()
            .map(|v| index.dict(key).rows_with(v).len())
            .sum();
        if best.as_ref().is_none_or(|b| size < b.len()) {
            best = Some(union_of(index, key, wanted));
        }
    }
    let window = filter.from_ns.is_some() || filter.to_ns.is_some();
    if window {
        let from = filter.from_ns.unwrap_or(i64::MIN);
        let to = filter.to_ns.unwrap_or(i64::MAX);
        let in_blocks: usize = index.blocks_meeting(from, to).map(|r| r.len()).sum();
        if best.as_ref().is_none_or(|b| in_blocks < b.len()) {
            best = Some(
                index
                    .blocks_meeting(from, to)
                    .flatten()
                    .map(|r| r as u32)
                    .collect(),
            );
        }
    }
    let candidates = best.unwrap_or_else(|| (0..index.len() as u32).collect());
    candidates
        .into_iter()
        .filter(|&r| rows.matches(r as usize))
        .collect()
}

/// Calls `each` with every row of `index` that meets `filter`, ascending. A filter on the time
/// window alone (or nothing) walks the time blocks, taking a block that lies inside the window
/// whole without looking at its rows: the path of counts and aggregates over long windows.
pub(crate) fn for_each_matching_row(
    filter: &Filter,
    index: &SegmentIndex,
    mut each: impl FnMut(usize),
) {
    let window_only = Filter {
        from_ns: filter.from_ns,
        to_ns: filter.to_ns,
        ..Filter::default()
    } == *filter;
    if !window_only {
        for row in matching_rows(filter, index) {
            each(row as usize);
        }
        return;
    }
    let from = filter.from_ns.unwrap_or(i64::MIN);
    let to = filter.to_ns.unwrap_or(i64::MAX);
    for (block, &(min, max)) in index.time_blocks.iter().enumerate() {
        if max < from || min >= to {
            continue;
        }
        let start = block * TIME_BLOCK_LEN;
        let end = (start + TIME_BLOCK_LEN).min(index.len());
        let inside = min >= from && max < to;
        let timestamps = index.timestamps.get(start..end).unwrap_or_default();
        for (row, &ts) in (start..end).zip(timestamps) {
            if (inside || (from..to).contains(&ts)) && index.is_signal(row) {
                each(row);
            }
        }
    }
}

/// The rows having any of `values` in column `key`, ascending.
pub(crate) fn union_of(index: &SegmentIndex, key: DictKey, values: &[String]) -> Vec<u32> {
    let dict = index.dict(key);
    let mut rows: Vec<u32> = values
        .iter()
        .flat_map(|v| dict.rows_with(v).iter().copied())
        .collect();
    if values.len() > 1 {
        rows.sort_unstable();
        rows.dedup();
    }
    rows
}
