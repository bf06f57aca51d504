//! The bodies of the cargo-fuzz targets, shared with the stable-toolchain corpus replay
//! (`tests/fuzz_corpus_replays_clean.rs` includes `targets.rs` by path).

pub mod targets;
