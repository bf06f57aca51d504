//! [`QueryError`]: what a query can fail with.

use signal_ledger_engine::LedgerError;

/// Every error the query crate returns.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Reading the ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A cursor that this crate did not print, or that was damaged.
    #[error("not a valid cursor: {0}")]
    BadCursor(String),
    /// A request value out of its bounds (crate::params).
    #[error("{0}")]
    Invalid(String),
    /// A cursor from a query with another order.
    #[error("the cursor continues a query ordered by {cursor}, not by {query}")]
    CursorOrder {
        /// The cursor's order.
        cursor: String,
        /// The query's order.
        query: String,
    },
}

/// Result with [`QueryError`].
pub type Result<T> = std::result::Result<T, QueryError>;
