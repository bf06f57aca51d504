//! signal-ledger engine: every byte on disk, every fsync and every mmap of the ledger.
//!
//! A ledger is a directory of append-only segment files. Each entry is framed with its length and
//! a CRC32, and chained to the entry before it by a SHA-256 row hash (docs/FORMAT.md). The engine
//! knows nothing of queries, replay or the CLI above it.
//!
//! - [`Ledger`]: the one writer of a directory: create, open (recovering a torn tail), append.
//! - [`SignalSink`]: the group-committing write interface for many concurrent producers.
//! - [`Snapshot`]: a reader's consistent view, in this process or another.
//! - [`index`]: per-segment indexes and their sidecar files (derived data, never trusted).
//! - [`verify()`]: parallel integrity verification; [`verify_ledger`]: the verify operation
//!   (digest, check log, recording) with its [`Verdict`]; [`Digest`]: head digests kept elsewhere.
//! - [`LedgerStats`]: the `stats` operation.
//! - [`input`]: NDJSON input of signals; [`record`]: the columns and their byte layout.

pub mod checklog;
pub mod config;
pub mod digest;
pub mod dir;
pub mod error;
pub mod hash;
mod ids;
pub mod index;
pub mod input;
pub mod layout;
pub mod le;
pub mod ledger;
pub mod record;
pub mod segment;
pub mod sink;
pub mod snapshot;
pub mod stats;
pub mod timefmt;
pub mod verify;

pub use config::{Durability, PersistenceConfig};
pub use digest::{Digest, NoHead};
pub use error::{CorruptKind, Corruption, LedgerError, Result};
pub use hash::{Hash, GENESIS_PREV_HASH};
pub use layout::Head;
pub use ledger::{
    AppendReceipt, Duplicate, Durable, Ledger, OpenOptions, RecoveryReport, UnitsAppended,
};
pub use record::{Direction, FieldError, Signal, SignalRecord, SignalType, ValidSignal};
pub use sink::{SignalSink, SinkConfig, SinkMetrics};
pub use snapshot::Snapshot;
pub use stats::LedgerStats;
pub use verify::{
    verify, verify_ledger, verify_with_progress, Verdict, VerifyOptions, VerifyReport,
    VerifyRequest,
};
