//! Opening a 1M-record ledger: a reader's `Snapshot::open` and the writer's `Ledger::open`
//! (which walks the active segment; it is dropped inside the iteration so the lock is released).
//!
//! Target (docs/BENCHMARKS.md): at most 50 ms. Also `Ledger::open` after a torn tail (a partial
//! frame appended to the active segment before each iteration, untimed), for a 100k-record and a
//! 1M-record ledger with the same damage: recovery must not cost more for the bigger ledger,
//! because sealed segments are checked by header and trailer only.
//!
//! The cost of an open grows with the active segment only (it is copied and walked frame by
//! frame; sealed segments are checked by header and trailer), so `full_active_segment` opens a
//! ledger whose active segment is nearly 128 MiB: the worst case for any ledger size.
//!
//! The ledgers are built once in setup with default settings (128 MiB segments); their files are
//! in the page cache (warm open).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use signal_ledger::engine::{Ledger, PersistenceConfig, Snapshot};

mod common;

/// The tail damage of the torn-tail benches: the start of a frame that declares a 600-byte body
/// of which only 300 bytes were written (a write cut short by a crash), 308 bytes in all.
fn torn_frame() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(308);
    bytes.extend_from_slice(&600u32.to_le_bytes());
    bytes.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    bytes.push(0x01); // a signal entry's kind byte
    bytes.resize(308, 0x5a);
    bytes
}

fn tear(active_segment: &Path, damage: &[u8]) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(active_segment)
        .expect("open the active segment");
    file.write_all(damage).expect("append the torn frame");
}

fn bench_open(c: &mut Criterion) {
    let full = common::records(common::BENCH_RECORDS);
    let small = common::records(100_000);
    let (large, small, full_active) = {
        let signals = common::demo_signals(full);
        let large = common::build_ledger(&signals, PersistenceConfig::default(), 10_000);
        let small = common::build_ledger(
            signals.get(..small).unwrap_or_default(),
            PersistenceConfig::default(),
            10_000,
        );
        let full_active = common::build_full_active_ledger(&signals);
        (large, small, full_active)
    };
    let mut group = c.benchmark_group("open");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let clean = [
        ("1M_records", &large),
        ("100k_records", &small),
        ("full_active_segment", &full_active),
    ];
    for (label, built) in clean {
        group.bench_function(BenchmarkId::new("snapshot", label), |b| {
            b.iter(|| black_box(Snapshot::open(&built.path).expect("open a snapshot")));
        });
        group.bench_function(BenchmarkId::new("ledger", label), |b| {
            b.iter(|| {
                let ledger = Ledger::open(&built.path).expect("open the ledger");
                assert!(ledger.recovery().is_none());
                drop(black_box(ledger));
            });
        });
    }

    let damage = torn_frame();
    for (label, built) in [("100k_records", &small), ("1M_records", &large)] {
        let active = built.active_segment();
        group.bench_function(BenchmarkId::new("ledger_torn_tail", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    tear(&active, &damage);
                    let started = Instant::now();
                    let ledger = Ledger::open(&built.path).expect("open the ledger");
                    let dropped = ledger.recovery().map(|r| r.dropped_bytes);
                    drop(ledger);
                    total += started.elapsed();
                    assert_eq!(
                        dropped,
                        Some(damage.len() as u64),
                        "the torn tail is recovered"
                    );
                }
                total
            });
        });
    }
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_open(&mut criterion);
    criterion.final_summary();
}
