//! signal-ledger engine: every byte on disk, every fsync and every mmap of the ledger.
//!
//! A ledger is a directory of append-only segment files. Each entry is framed with its length and
//! a CRC32, and chained to the entry before it by a SHA-256 row hash (docs/FORMAT.md). The engine
//! knows nothing of queries, replay or the CLI above it.
//!
//! The tree, from the bytes up:
//! - [`record`], [`segment`], [`hash`]: the columns, the entry frames, the segment files;
//! - [`files`]: every file name of a ledger directory; [`atomic`]: replacing a file whole;
//! - `writer`: [`Ledger`], the one writer of a directory: create, open (recovering a torn
//!   tail), append, roll, roll back, the signal_id check, outcomes, retention, upgrade;
//! - [`sink`]: [`SignalSink`], the group-committing write interface for many producers;
//! - `snapshot`: [`Snapshot`], a reader's consistent view, in this process or another;
//! - [`index`]: per-segment indexes and their sidecar files (derived data, never trusted);
//! - `verify`: [`verify()`], parallel integrity verification; [`verify_ledger`], the verify
//!   operation every front end runs (digest, check log, recording) and its [`Verdict`];
//!   [`Digest`]: head digests kept elsewhere; [`checklog`]: the chained log of checks;
//! - [`stats`]: [`LedgerStats`], the `stats` operation;
//! - [`input`]: NDJSON input of signals and outcomes, and the refusal of bad input;
//!   [`timefmt`]: RFC 3339.

pub mod atomic;
pub mod checklog;
mod clock;
pub mod config;
mod digest;
mod error;
pub mod files;
pub mod hash;
pub mod index;
pub mod input;
mod layout;
mod le;
pub mod record;
pub mod segment;
pub mod sink;
mod snapshot;
pub mod stats;
pub mod timefmt;
mod verify;
mod writer;

pub use clock::now_ns;
pub use config::{Durability, PersistenceConfig};
pub use digest::{Digest, NoHead};
pub use error::{CorruptKind, Corruption, LedgerError, Result};
pub use hash::{Hash, GENESIS_PREV_HASH};
pub use layout::Head;
pub use record::{Direction, FieldError, Signal, SignalRecord, SignalType, ValidSignal};
pub use sink::{SignalSink, SinkConfig, SinkMetrics};
pub use snapshot::{Entries, EntryRef, Snapshot, SnapshotSegment, TornTail};
pub use stats::LedgerStats;
pub use verify::{
    verify, verify_ledger, verify_with_progress, NotRecorded, Verdict, VerifyOptions, VerifyReport,
    VerifyRequest,
};
pub use writer::{
    AppendReceipt, Duplicate, Durable, ExpiredSegment, Ledger, OpenOptions, OutcomeReceipt,
    OutcomesRecorded, RecordedOutcome, RecoveryReport, RetentionPlan, SignalsRecorded,
    UnitsAppended, UpgradeReport,
};
