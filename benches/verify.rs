//! Verification throughput of a 1M-record ledger: parallel (rayon, every core) and sequential.
//!
//! The ledger is built once in setup (default settings: 128 MiB segments, fdatasync) in a
//! temporary directory and a snapshot of it opened once; each iteration verifies every entry
//! (CRC, layout, seq, links, row-hash recomputation, trailers). The segment files are in the page
//! cache, so this measures the CPU work, not the disk.
//!
//! Target (docs/BENCHMARKS.md): at least 75% of two cores' SHA-256 rate for the same record
//! sizes (about 2.5M records/s on the reference machine).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use signal_ledger::engine::{verify, PersistenceConfig, Snapshot, VerifyOptions};

mod common;

fn bench_verify(c: &mut Criterion) {
    let n = common::records(common::BENCH_RECORDS);
    let built = {
        let signals = common::demo_signals(n);
        common::build_ledger(&signals, PersistenceConfig::default(), 10_000)
    };
    let snapshot = Snapshot::open(&built.path).expect("open a snapshot");
    let mut group = c.benchmark_group("verify");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(built.records));
    let variants = [
        ("parallel", VerifyOptions::default()),
        (
            "sequential",
            VerifyOptions {
                sequential: true,
                ..VerifyOptions::default()
            },
        ),
    ];
    for (name, options) in variants {
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = verify(&snapshot, options);
                assert!(report.is_intact(), "{:?}", report.first_failure);
                assert_eq!(report.records_checked, built.records);
                black_box(report)
            });
        });
    }
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_verify(&mut criterion);
    criterion.final_summary();
}
