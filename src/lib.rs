//! signal-ledger: a tamper-evident, append-only audit ledger of trading signals.
//!
//! This facade re-exports the crates of the workspace; its `tests/` hold the end-to-end
//! promises and its `benches/` the criterion benches.

#![forbid(unsafe_code)]

pub use signal_ledger_demo as demo;
pub use signal_ledger_engine as engine;
pub use signal_ledger_query as query;
