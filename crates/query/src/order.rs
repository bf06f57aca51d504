//! [`Order`] and [`OrderBy`]: the sort orders of a query's results, shared by the planner's
//! top-k walk, the page it returns and the cursor that continues it.

/// What records are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// The signal's own timestamp (then seq).
    #[default]
    Timestamp,
    /// Ledger order.
    Seq,
}

/// A sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    /// The key.
    pub by: OrderBy,
    /// Largest first.
    pub descending: bool,
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let by = match self.by {
            OrderBy::Timestamp => "timestamp",
            OrderBy::Seq => "seq",
        };
        write!(f, "{by} {}", if self.descending { "desc" } else { "asc" })
    }
}

impl Order {
    /// The sort key of a row with this timestamp and seq: (timestamp, seq) by timestamp,
    /// (0, seq) by seq; larger keys come later in an ascending order.
    pub(crate) fn key(self, timestamp_ns: i64, seq: u64) -> (i64, u64) {
        match self.by {
            OrderBy::Timestamp => (timestamp_ns, seq),
            OrderBy::Seq => (0, seq),
        }
    }
}
