//! Durable append throughput: 1M realistic demo signals appended in batches into a fresh ledger.
//!
//! Target (docs/BENCHMARKS.md): at least 500,000 records/s with the default durability
//! (fdatasync after every append) in batches of 1,000. For comparison: the same without any sync,
//! and with batches of 10,000. The signals are generated once, outside the timing; each
//! iteration creates a new ledger in a new temporary directory (untimed) and times only the
//! `append` calls. `append` validates every signal on the writer's thread; the `prevalidated`
//! variants call `append_valid` with signals validated beforehand, as the NDJSON parser (and
//! producers calling the sink) do on their own threads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use signal_ledger::engine::{Durability, Ledger, PersistenceConfig, Signal, ValidSignal};

mod common;

/// Time to append all of `signals` in batches of `batch` into a fresh ledger, `iters` times,
/// with `append` (validating) or, given `valid`, `append_valid`.
fn append_all(
    signals: &[Signal],
    valid: Option<&[ValidSignal]>,
    durability: Durability,
    batch: usize,
    iters: u64,
) -> Duration {
    let config = PersistenceConfig {
        durability,
        ..PersistenceConfig::default()
    };
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tmp, path) = common::fresh_dir();
        let mut ledger = Ledger::create(&path, config.clone()).expect("create the ledger");
        let started = Instant::now();
        match valid {
            Some(valid) => {
                for chunk in valid.chunks(batch) {
                    black_box(ledger.append_valid(chunk).expect("append"));
                }
            }
            None => {
                for chunk in signals.chunks(batch) {
                    black_box(ledger.append(chunk).expect("append"));
                }
            }
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
    let valid: Vec<ValidSignal> = signals
        .iter()
        .map(|s| ValidSignal::new(s.clone()).expect("demo signals are valid"))
        .collect();
    let variants = [
        ("fdatasync/batch_1000", Durability::Fdatasync, 1_000, false),
        (
            "fdatasync/batch_1000_prevalidated",
            Durability::Fdatasync,
            1_000,
            true,
        ),
        (
            "fdatasync/batch_10000",
            Durability::Fdatasync,
            10_000,
            false,
        ),
        ("none/batch_1000", Durability::None, 1_000, false),
    ];
    for (name, durability, batch, prevalidated) in variants {
        let valid = prevalidated.then_some(valid.as_slice());
        group.bench_function(name, |b| {
            b.iter_custom(|iters| append_all(&signals, valid, durability, batch, iters));
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
