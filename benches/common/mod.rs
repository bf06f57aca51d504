//! Setup shared by the benches: realistic demo signals, their NDJSON text, and ledgers built on
//! disk in temporary directories. Everything here runs outside the timed sections.
//!
//! `cargo bench` passes `--bench` to the bench binaries; without it (`cargo test --benches`,
//! `cargo test --all-targets`) criterion runs each routine once as a smoke test, and the setups
//! here shrink a hundredfold (at most [`TEST_RECORDS`]) so that stays quick. `SIGNAL_LEDGER_BENCH_RECORDS` overrides
//! the count of a real run (for a quicker look; the documented figures use the default).

// Each bench binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use signal_ledger::demo::{write_ndjson_line, DemoConfig, DemoGenerator};
use signal_ledger::engine::files::SEGMENT_EXTENSION;
use signal_ledger::engine::{Ledger, PersistenceConfig, Signal, Snapshot};
use tempfile::TempDir;

/// Records in a real bench run: the targets are stated for 1M realistic records.
pub const BENCH_RECORDS: usize = 1_000_000;
/// Most records when the bench binary runs as a test (no `--bench` argument).
pub const TEST_RECORDS: usize = 10_000;

/// Whether criterion measures (`cargo bench`) rather than smoke-tests the routines.
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `full` records for a real run (or `SIGNAL_LEDGER_BENCH_RECORDS` scaled the same way), a
/// hundredth of it (at most [`TEST_RECORDS`]) when the binary runs as a test.
pub fn records(full: usize) -> usize {
    if !measuring() {
        return (full / 100).clamp(1, TEST_RECORDS);
    }
    match std::env::var("SIGNAL_LEDGER_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if n > 0 => (full as u128 * n as u128 / BENCH_RECORDS as u128).max(1) as usize,
        _ => full,
    }
}

/// `count` demo signals (seed 42, 500 tickers, 30 days): the same on every run.
pub fn demo_signals(count: usize) -> Vec<Signal> {
    DemoGenerator::new(&DemoConfig {
        count,
        ..DemoConfig::default()
    })
    .collect()
}

/// The NDJSON input text of `signals`, one line each.
pub fn ndjson(signals: &[Signal]) -> Vec<u8> {
    let mut text = String::with_capacity(signals.len() * 640);
    for signal in signals {
        write_ndjson_line(signal, &mut text);
    }
    text.into_bytes()
}

/// A new, empty temporary directory and the (not yet existing) ledger path inside it.
pub fn fresh_dir() -> (TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("signal-ledger-bench-")
        .tempdir()
        .expect("create a temporary directory");
    let path = tmp.path().join("ledger");
    (tmp, path)
}

/// A ledger on disk, removed when dropped.
pub struct BuiltLedger {
    /// Keeps the directory alive.
    pub tmp: TempDir,
    /// The ledger directory.
    pub path: PathBuf,
    /// Entries held.
    pub records: u64,
    /// Bytes of all segment files.
    pub bytes: u64,
    /// Segment files (sealed and active).
    pub segments: usize,
    /// Bytes of the active (last, unsealed) segment.
    pub active_bytes: u64,
}

impl BuiltLedger {
    /// Path of the active segment file.
    pub fn active_segment(&self) -> PathBuf {
        let snapshot = Snapshot::open(&self.path).expect("open a snapshot");
        snapshot
            .segments()
            .last()
            .map(|s| s.path.clone())
            .expect("a ledger has an active segment")
    }
}

/// Appends `signals` in batches of `batch` to a new ledger with `config` and reports its size.
pub fn build_ledger(signals: &[Signal], config: PersistenceConfig, batch: usize) -> BuiltLedger {
    let (tmp, path) = fresh_dir();
    let mut ledger = Ledger::create(&path, config).expect("create the ledger");
    for chunk in signals.chunks(batch.max(1)) {
        ledger.append(chunk).expect("append");
    }
    drop(ledger);
    let snapshot = Snapshot::open(&path).expect("open a snapshot");
    let built = BuiltLedger {
        records: snapshot.record_count(),
        bytes: snapshot.bytes_total(),
        segments: snapshot.segments().len(),
        active_bytes: snapshot
            .segments()
            .last()
            .map_or(0, |s| s.bytes.len() as u64),
        tmp,
        path,
    };
    drop(snapshot);
    eprintln!(
        "built ledger: {} records, {} bytes in {} segments ({:.1} bytes/record), active segment {} bytes",
        built.records,
        built.bytes,
        built.segments,
        built.bytes as f64 / built.records.max(1) as f64,
        built.active_bytes
    );
    built
}

/// A single-segment ledger whose active segment is as full as batches of 1,000 of `signals`
/// can make it without sealing (about `segment_size_bytes`): the most a writer or a reader
/// must copy and walk when opening, whatever the size of the ledger.
pub fn build_full_active_ledger(signals: &[Signal]) -> BuiltLedger {
    let config = PersistenceConfig::default();
    let limit = config.segment_size_bytes;
    let (tmp, path) = fresh_dir();
    let mut ledger = Ledger::create(&path, config).expect("create the ledger");
    let segment = std::fs::read_dir(&path)
        .expect("list the ledger directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == SEGMENT_EXTENSION))
        .expect("a new ledger has one segment file");
    let mut largest_batch = 0u64;
    for chunk in signals.chunks(1_000) {
        let before = std::fs::metadata(&segment).map_or(0, |m| m.len());
        // Stop while twice the largest batch so far still fits: the next one never seals.
        if before + 2 * largest_batch > limit {
            break;
        }
        ledger.append(chunk).expect("append");
        let after = std::fs::metadata(&segment).map_or(0, |m| m.len());
        largest_batch = largest_batch.max(after.saturating_sub(before));
    }
    assert!(
        ledger.sealed_segments().is_empty(),
        "the segment was sealed"
    );
    drop(ledger);
    let snapshot = Snapshot::open(&path).expect("open a snapshot");
    let built = BuiltLedger {
        records: snapshot.record_count(),
        bytes: snapshot.bytes_total(),
        segments: snapshot.segments().len(),
        active_bytes: snapshot.bytes_total(),
        tmp,
        path,
    };
    drop(snapshot);
    eprintln!(
        "built ledger with a full active segment: {} records, {} bytes ({:.1}% of {limit})",
        built.records,
        built.bytes,
        100.0 * built.bytes as f64 / limit as f64
    );
    built
}

/// Settings for the groups whose single iteration takes a long time (1M-record appends and
/// ingests): 10 samples of one iteration each (flat sampling), a short warm-up, and
/// `measurement` as the time budget criterion plans with.
pub fn configure_slow(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measurement);
}
