//! Request values from text, parsed the same way by every front end: the CLI's flags (these are
//! its clap value parsers) and the HTTP query string. Every bound a request has (page size,
//! conviction range, lineage depth and size) and every name it accepts lives here; an error is
//! a short phrase about the value, which the front end prefixes with the flag or parameter.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use signal_ledger_engine::timefmt::{format_rfc3339_ns, parse_rfc3339_ns};

use crate::aggregate::GroupBy;
use crate::cursor::Cursor;
use crate::export::ExportFormat;
use crate::lineage::LINEAGE_DEPTH_MAX;
use crate::{Order, OrderBy};

/// Default number of records in a page of `query`.
pub const PAGE_SIZE_DEFAULT: usize = 100;
/// Largest page of `query`: a page is held in memory whole.
pub const PAGE_SIZE_MAX: usize = 10_000;
/// Default depth of a lineage tree.
pub const LINEAGE_DEPTH_DEFAULT: usize = 64;
/// Default node limit of a lineage tree.
pub const LINEAGE_NODES_DEFAULT: usize = 10_000;
/// Largest node limit of a lineage tree.
pub const LINEAGE_NODES_MAX: usize = 100_000;

/// An integer of `range`, from decimal text.
fn bounded(text: &str, range: RangeInclusive<usize>) -> Result<usize, String> {
    let n = text
        .parse::<usize>()
        .map_err(|e| format!("{text:?}: {e}"))?;
    within(n, range)
}

/// `n` if it is in `range`, else why not.
fn within(n: usize, range: RangeInclusive<usize>) -> Result<usize, String> {
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{n} is outside {}..={}",
            range.start(),
            range.end()
        ))
    }
}

/// A point in time, from RFC 3339 text (`2026-11-02T14:30:00Z`, any offset, up to nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Nanoseconds since the Unix epoch.
    pub fn ns(self) -> i64 {
        self.0
    }
}

impl FromStr for Timestamp {
    type Err = String;

    fn from_str(text: &str) -> Result<Timestamp, String> {
        parse_rfc3339_ns(text)
            .map(Timestamp)
            .map_err(|e| format!("{text:?}: {e}"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_rfc3339_ns(self.0))
    }
}

/// A conviction bound: a number in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Conviction(pub f64);

impl FromStr for Conviction {
    type Err = String;

    fn from_str(text: &str) -> Result<Conviction, String> {
        match text.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Conviction(x)),
            Ok(x) => Err(format!("{x} is outside 0..=1")),
            Err(e) => Err(format!("{text:?}: {e}")),
        }
    }
}

/// The number of records in a page: `1..=`[`PAGE_SIZE_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    /// The size, if it is within bounds.
    pub fn new(n: usize) -> Result<PageSize, String> {
        within(n, 1..=PAGE_SIZE_MAX).map(PageSize)
    }

    /// The number of records.
    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize(PAGE_SIZE_DEFAULT)
    }
}

impl FromStr for PageSize {
    type Err = String;

    fn from_str(text: &str) -> Result<PageSize, String> {
        bounded(text, 1..=PAGE_SIZE_MAX).map(PageSize)
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How many levels of a lineage to follow each way: `1..=`[`LINEAGE_DEPTH_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageDepth(pub usize);

impl Default for LineageDepth {
    fn default() -> Self {
        LineageDepth(LINEAGE_DEPTH_DEFAULT)
    }
}

impl FromStr for LineageDepth {
    type Err = String;

    fn from_str(text: &str) -> Result<LineageDepth, String> {
        bounded(text, 1..=LINEAGE_DEPTH_MAX).map(LineageDepth)
    }
}

impl fmt::Display for LineageDepth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The most signals a lineage tree shows: `1..=`[`LINEAGE_NODES_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageNodes(pub usize);

impl Default for LineageNodes {
    fn default() -> Self {
        LineageNodes(LINEAGE_NODES_DEFAULT)
    }
}

impl FromStr for LineageNodes {
    type Err = String;

    fn from_str(text: &str) -> Result<LineageNodes, String> {
        bounded(text, 1..=LINEAGE_NODES_MAX).map(LineageNodes)
    }
}

impl fmt::Display for LineageNodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The names of [`Order`]s, each with its order.
const ORDER_NAMES: [(&str, Order); 4] = [
    (
        "timestamp-desc",
        Order {
            by: OrderBy::Timestamp,
            descending: true,
        },
    ),
    (
        "timestamp-asc",
        Order {
            by: OrderBy::Timestamp,
            descending: false,
        },
    ),
    (
        "seq-asc",
        Order {
            by: OrderBy::Seq,
            descending: false,
        },
    ),
    (
        "seq-desc",
        Order {
            by: OrderBy::Seq,
            descending: true,
        },
    ),
];

impl Order {
    /// Every order's name: `timestamp-desc` (the default), `timestamp-asc`, `seq-asc`,
    /// `seq-desc`.
    pub const NAMES: [&'static str; 4] = [
        ORDER_NAMES[0].0,
        ORDER_NAMES[1].0,
        ORDER_NAMES[2].0,
        ORDER_NAMES[3].0,
    ];

    /// The order's name (`timestamp-desc`, …).
    pub fn name(self) -> &'static str {
        ORDER_NAMES
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("timestamp-desc", |(n, _)| n)
    }

    /// Newest signal timestamp first: the default order of a query.
    pub const NEWEST_FIRST: Order = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
}

impl FromStr for Order {
    type Err = String;

    fn from_str(text: &str) -> Result<Order, String> {
        ORDER_NAMES
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, o)| *o)
            .ok_or_else(|| not_one_of(text, &Order::NAMES))
    }
}

/// `"x" is not one of a, b, c`.
fn not_one_of(text: &str, names: &[&str]) -> String {
    format!("{text:?} is not one of {}", names.join(", "))
}

/// The names of the [`GroupBy`]s.
const GROUP_NAMES: [(&str, GroupBy); 7] = [
    ("source", GroupBy::Source),
    ("ticker", GroupBy::Ticker),
    ("direction", GroupBy::Direction),
    ("type", GroupBy::SignalType),
    ("minute", GroupBy::Minute),
    ("hour", GroupBy::Hour),
    ("day", GroupBy::Day),
];

impl GroupBy {
    /// Every grouping's name: source, ticker, direction, type, minute, hour, day.
    pub const NAMES: [&'static str; 7] = [
        GROUP_NAMES[0].0,
        GROUP_NAMES[1].0,
        GROUP_NAMES[2].0,
        GROUP_NAMES[3].0,
        GROUP_NAMES[4].0,
        GROUP_NAMES[5].0,
        GROUP_NAMES[6].0,
    ];
}

impl FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<GroupBy, String> {
        GROUP_NAMES
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, g)| *g)
            .ok_or_else(|| not_one_of(text, &GroupBy::NAMES))
    }
}

impl ExportFormat {
    /// Every format's name: csv, ndjson.
    pub const NAMES: [&'static str; 2] = ["csv", "ndjson"];
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<ExportFormat, String> {
        match text {
            "csv" => Ok(ExportFormat::Csv),
            "ndjson" => Ok(ExportFormat::Ndjson),
            _ => Err(not_one_of(text, &ExportFormat::NAMES)),
        }
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(text: &str) -> Result<Cursor, String> {
        Cursor::decode(text).map_err(|e| e.to_string())
    }
}

/// A cursor's JSON form is its printed text.
impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_to_what_it_names() {
        for name in Order::NAMES {
            assert_eq!(name.parse::<Order>().unwrap().name(), name);
        }
        assert_eq!("seq-asc".parse::<Order>().unwrap().by, OrderBy::Seq);
        for name in GroupBy::NAMES {
            assert!(name.parse::<GroupBy>().is_ok(), "{name}");
        }
        assert_eq!("type".parse::<GroupBy>().unwrap(), GroupBy::SignalType);
        assert_eq!("csv".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
        assert_eq!(
            "oldest".parse::<Order>().unwrap_err(),
            "\"oldest\" is not one of timestamp-desc, timestamp-asc, seq-asc, seq-desc"
        );
    }

    #[test]
    fn bounds_are_inclusive_and_named() {
        assert_eq!("1".parse::<PageSize>().unwrap().get(), 1);
        assert_eq!("10000".parse::<PageSize>().unwrap().get(), PAGE_SIZE_MAX);
        assert_eq!(
            "10001".parse::<PageSize>().unwrap_err(),
            "10001 is outside 1..=10000"
        );
        assert!("0".parse::<PageSize>().is_err());
        assert!("-1".parse::<PageSize>().is_err());
        assert!(PageSize::new(0).is_err());
        assert_eq!("1000".parse::<LineageDepth>().unwrap().0, 1000);
        assert!("1001".parse::<LineageDepth>().is_err());
        assert!("100001".parse::<LineageNodes>().is_err());
        assert_eq!("1".parse::<Conviction>().unwrap().0, 1.0);
        assert_eq!(
            "1.5".parse::<Conviction>().unwrap_err(),
            "1.5 is outside 0..=1"
        );
        assert!("NaN".parse::<Conviction>().is_err());
    }

    /// The bound holds for library callers too, not only for text from a front end.
    #[test]
    fn a_query_outside_the_page_bound_is_refused_by_the_catalog() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("l");
        drop(
            signal_ledger_engine::Ledger::create(
                &dir,
                signal_ledger_engine::PersistenceConfig::default(),
            )
            .unwrap(),
        );
        let catalog = crate::Catalog::open(&dir).unwrap();
        for limit in [0, PAGE_SIZE_MAX + 1] {
            let query = crate::Query {
                limit,
                ..crate::Query::default()
            };
            let err = catalog.query(&query).unwrap_err();
            assert!(
                matches!(err, crate::QueryError::Invalid(_)),
                "limit {limit}: {err}"
            );
            assert_eq!(
                err.to_string(),
                format!("limit {limit} is outside 1..={PAGE_SIZE_MAX}")
            );
        }
        let query = crate::Query {
            limit: PAGE_SIZE_MAX,
            ..crate::Query::default()
        };
        assert!(catalog.query(&query).unwrap().records.is_empty());
    }

    #[test]
    fn times_are_rfc_3339() {
        let t: Timestamp = "2026-11-02T14:30:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-02T14:30:00Z");
        assert!("yesterday"
            .parse::<Timestamp>()
            .unwrap_err()
            .starts_with("\"yesterday\": "));
    }
}
