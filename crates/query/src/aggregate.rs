//! Aggregation: count, conviction min/max/avg and acted-upon rate, grouped by a column or a
//! time bucket, under any filter — computed from the indexes, without decoding records.

use std::collections::BTreeMap;

use signal_ledger_engine::index::{DictKey, SegmentIndex, NO_VALUE};
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::{Direction, SignalType};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::filter::Filter;
use crate::planner::for_each_matching_row;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// source_module.
    Source,
    /// ticker.
    Ticker,
    /// direction.
    Direction,
    /// signal_type.
    SignalType,
    /// The timestamp, floored to a minute.
    Minute,
    /// The timestamp, floored to an hour.
    Hour,
    /// The timestamp, floored to a day (UTC).
    Day,
}

/// One group's figures. Its JSON form has these keys in this order; a non-finite number is
/// null.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AggregateRow {
    /// The group: the column's value, or the bucket's start (RFC 3339); `all` without grouping.
    pub key: String,
    /// Records.
    pub count: u64,
    /// Smallest conviction.
    pub min_conviction: f64,
    /// Largest conviction.
    pub max_conviction: f64,
    /// Mean conviction.
    pub avg_conviction: f64,
    /// Share of records with acted_upon = true.
    pub acted_upon_rate: f64,
}

#[derive(Default)]
struct Acc {
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    acted: u64,
}

impl Acc {
    fn merge(&mut self, other: &Acc) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.acted += other.acted;
    }

    fn add(&mut self, conviction: f64, acted: bool) {
        if self.count == 0 {
            self.min = conviction;
            self.max = conviction;
        }
        self.count += 1;
        self.min = self.min.min(conviction);
        self.max = self.max.max(conviction);
        self.sum += conviction;
        self.acted += u64::from(acted);
    }
}

fn bucket_ns(group: GroupBy) -> Option<i64> {
    match group {
        GroupBy::Minute => Some(60_000_000_000),
        GroupBy::Hour => Some(3_600_000_000_000),
        GroupBy::Day => Some(86_400_000_000_000),
        _ => None,
    }
}

/// One segment's accumulators, by a cheap per-row key; named (and merged) at the end.
enum SegmentGroups {
    /// By dictionary id of a text column.
    Dict(DictKey, Vec<Acc>),
    /// By direction or signal_type code.
    Code(GroupBy, Vec<Acc>),
    /// By bucket start, ns.
    Bucket(BTreeMap<i64, Acc>),
    /// Everything together.
    All(Acc),
}

impl SegmentGroups {
    fn new(index: &SegmentIndex, group: Option<GroupBy>) -> SegmentGroups {
        let dict = |key: DictKey| {
            let n = index.dict(key).values.len();
            SegmentGroups::Dict(key, (0..n).map(|_| Acc::default()).collect())
        };
        match group {
            None => SegmentGroups::All(Acc::default()),
            Some(GroupBy::Source) => dict(DictKey::SourceModule),
            Some(GroupBy::Ticker) => dict(DictKey::Ticker),
            Some(g @ (GroupBy::Direction | GroupBy::SignalType)) => {
                SegmentGroups::Code(g, (0..256).map(|_| Acc::default()).collect())
            }
            Some(_) => SegmentGroups::Bucket(BTreeMap::new()),
        }
    }

    fn add(&mut self, index: &SegmentIndex, row: usize, width: i64, conviction: f64, acted: bool) {
        let acc = match self {
            SegmentGroups::All(acc) => Some(acc),
            SegmentGroups::Dict(key, accs) => {
                let id = index.dict(*key).rows.get(row).copied().unwrap_or(NO_VALUE);
                accs.get_mut(id as usize)
            }
            SegmentGroups::Code(g, accs) => {
                let col = match g {
                    GroupBy::Direction => &index.directions,
                    _ => &index.signal_types,
                };
                let code = col.get(row).copied().unwrap_or(u8::MAX);
                accs.get_mut(usize::from(code))
            }
            SegmentGroups::Bucket(map) => {
                let ts = index.timestamps.get(row).copied().unwrap_or_default();
                Some(map.entry(ts.div_euclid(width) * width).or_default())
            }
        };
        if let Some(acc) = acc {
            acc.add(conviction, acted);
        }
    }

    /// Merges into `out` by group name.
    fn merge_into(self, index: &SegmentIndex, out: &mut BTreeMap<String, Acc>) {
        let mut put = |name: String, acc: Acc| {
            if acc.count > 0 {
                out.entry(name).or_default().merge(&acc);
            }
        };
        match self {
            SegmentGroups::All(acc) => put("all".to_owned(), acc),
            SegmentGroups::Dict(key, accs) => {
                for (name, acc) in index.dict(key).values.iter().zip(accs) {
                    put(name.clone(), acc);
                }
            }
            SegmentGroups::Code(g, accs) => {
                for (code, acc) in accs.into_iter().enumerate() {
                    let code = code as u8;
                    let name = match g {
                        GroupBy::Direction => Direction::from_code(code).map(Direction::as_str),
                        _ => SignalType::from_code(code).map(SignalType::as_str),
                    };
                    if let Some(name) = name {
                        put(name.to_owned(), acc);
                    }
                }
            }
            SegmentGroups::Bucket(map) => {
                for (start, acc) in map {
                    put(format_rfc3339_ns(start), acc);
                }
            }
        }
    }
}

impl Catalog {
    /// The figures of the records meeting `filter`, one row per group (sorted by key), or one
    /// row keyed `all` without grouping. Computed from the indexes.
    pub fn aggregate(&self, filter: &Filter, group: Option<GroupBy>) -> Result<Vec<AggregateRow>> {
        let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
        let width = group.and_then(bucket_ns).unwrap_or(1);
        for (_, index) in self.indexes_meeting(filter)? {
            let mut segment = SegmentGroups::new(index, group);
            for_each_matching_row(filter, index, |row| {
                let conviction = index.convictions.get(row).copied().unwrap_or_default();
                let acted = index.acted_upon.get(row) == Some(&2);
                segment.add(index, row, width, conviction, acted);
            });
            segment.merge_into(index, &mut groups);
        }
        Ok(groups
            .into_iter()
            .map(|(key, a)| AggregateRow {
                key,
                count: a.count,
                min_conviction: a.min,
                max_conviction: a.max,
                avg_conviction: a.sum / a.count.max(1) as f64,
                acted_upon_rate: a.acted as f64 / a.count.max(1) as f64,
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn row() -> AggregateRow {
        AggregateRow {
            key: "momentum \"v2\"".to_owned(),
            count: 3,
            min_conviction: 0.1,
            max_conviction: 1.0,
            avg_conviction: (0.1 + 0.2 + 1.0) / 3.0,
            acted_upon_rate: 2.0 / 3.0,
        }
    }

    fn parse(text: &str) -> Value {
        assert!(!text.contains('\n'), "{text}");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn json_has_every_figure_under_its_key_in_order() {
        let r = row();
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.starts_with("{\"key\":") && text.contains(",\"max_conviction\":1.0,"),
            "{text}"
        );
        assert_eq!(
            parse(&text),
            json!({
                "key": "momentum \"v2\"",
                "count": 3,
                "min_conviction": 0.1,
                "max_conviction": 1.0,
                "avg_conviction": r.avg_conviction,
                "acted_upon_rate": r.acted_upon_rate,
            })
        );
        let keys = [
            "key",
            "count",
            "min_conviction",
            "max_conviction",
            "avg_conviction",
            "acted_upon_rate",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn non_finite_figures_are_null() {
        let r = AggregateRow {
            min_conviction: f64::NAN,
            max_conviction: f64::INFINITY,
            avg_conviction: f64::NEG_INFINITY,
            ..row()
        };
        let v = parse(&serde_json::to_string(&r).unwrap());
        for key in ["min_conviction", "max_conviction", "avg_conviction"] {
            assert_eq!(v[key], Value::Null, "{key}");
        }
        assert_eq!(v["acted_upon_rate"].as_f64(), Some(2.0 / 3.0));
        assert_eq!(v.as_object().unwrap().len(), 6);
    }
}
