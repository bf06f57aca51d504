//! [`ReplayError`]: what a replay or an export bundle can fail with.

use std::path::PathBuf;

use signal_ledger_engine::LedgerError;
use signal_ledger_query::QueryError;

/// Every error the replay crate returns.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Reading or querying the ledger failed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A replay position that this crate did not print, or that was damaged.
    #[error("not a valid replay position: {0}")]
    BadPosition(String),
    /// A position from a replay in another order.
    #[error("the position continues a replay in {position} order, not in {replay} order")]
    PositionOrder {
        /// The position's order.
        position: &'static str,
        /// The replay's order.
        replay: &'static str,
    },
    /// A speed that is not `max` or a positive factor such as `1x` or `2.5x`.
    #[error("not a replay speed: {0:?} (use max, 1x, 10x, 0.5x …)")]
    BadSpeed(String),
    /// Writing an output file failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A bundle's output path that exists and is not an empty directory.
    #[error(
        "{} exists and is not an empty directory: a bundle is written only into a new or empty directory",
        path.display()
    )]
    BundleOutExists {
        /// The output path.
        path: PathBuf,
    },
    /// A bundle's output path without a final name of its own (`/`, `.`, `..`).
    #[error("{} cannot be a bundle directory: name a new directory", path.display())]
    BundleOutUnnamed {
        /// The output path.
        path: PathBuf,
    },
    /// Where a bundle's window starts, the ledger does not chain: the first exported signal's
    /// prev_hash is not the row hash the entry before it holds (damage that verification
    /// reports).
    #[error(
        "seq {seq} does not chain to the entry before it (its prev_hash is {found}, the ledger holds {expected} before it): verify the ledger"
    )]
    BrokenChain {
        /// The first exported signal's seq.
        seq: u64,
        /// The row hash before it, as the ledger holds it (hex).
        expected: String,
        /// The signal's prev_hash (hex).
        found: String,
    },
}

impl From<LedgerError> for ReplayError {
    fn from(e: LedgerError) -> ReplayError {
        ReplayError::Query(QueryError::Ledger(e))
    }
}

impl ReplayError {
    /// An [`ReplayError::Io`] of `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> ReplayError {
        ReplayError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result with [`ReplayError`].
pub type Result<T> = std::result::Result<T, ReplayError>;
