//! One module per command (or group of small read-only commands). Each parses nothing and
//! stores nothing itself: it wires the engine and formats what it returns.

pub mod bench_sink;
pub mod bundle;
pub mod checks;
pub mod demo;
pub mod follow;
pub mod generate;
pub mod ingest;
pub mod init;
pub mod inspect;
pub mod lineage;
pub mod outcome;
pub mod query;
pub mod replay;
pub mod serve;
pub mod verify;
