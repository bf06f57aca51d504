//! Durable append throughput: 1M realistic demo signals appended in batches into a fresh ledger.
//!
//! Target (docs/BENCHMARKS.md): at least 500,000 records/s with the default durability
//! (fdatasync after every append) in batches of 1,000. For comparison: the same without any sync,
//! and with batches of 10,000. The signals are generated once, outside the timing; each
//! iteration creates a new ledger in a new temporary directory (untimed) and times only the
//! `append` calls.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use signal_ledger::engine::{Durability, Ledger, PersistenceConfig, Signal};

mod common;

/// Time to append all of `signals` in batches of `batch` into a fresh ledger, `iters` times.
fn append_all(signals: &[Signal], durability: Durability, batch: usize, iters: u64) -> Duration {
    let config = PersistenceConfig {
        durability,
        ..PersistenceConfig::default()
    };
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tmp, path) = common::fresh_dir();
        let mut ledger = Ledger::create(&path, config.clone()).expect("create the ledger");
        let started = Instant::now();
        for chunk in signals.chunks(batch) {
            black_box(ledger.append(chunk).expect("append"));
        }
        total += started.elapsed();
        drop(ledger);
        drop(tmp);
    }
    total
}

fn bench_append(c: &mut Criterion) {
    let n = common::records(common::BENCH_RECORDS);
    let signals = common::demo_signals(n);
    let mut group = c.benchmark_group("append");
    common::configure_slow(&mut group, Duration::from_secs(25));
    group.throughput(Throughput::Elements(n as u64));
    let variants = [
        ("fdatasync/batch_1000", Durability::Fdatasync, 1_000),
        ("fdatasync/batch_10000", Durability::Fdatasync, 10_000),
        ("none/batch_1000", Durability::None, 1_000),
    ];
    for (name, durability, batch) in variants {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| append_all(&signals, durability, batch, iters));
        });
    }
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_append(&mut criterion);
    criterion.final_summary();
}
