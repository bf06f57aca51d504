//! The replay and compliance-export targets of issue 6 on a 1M-record ledger (demo signals,
//! 500 tickers, 30 days):
//!
//! - `replay/max_*`: every signal at max speed into a counting consumer, in seq and in
//!   timestamp order, with the catalog's indexes loaded (target ≥ 2M signals/s), and
//!   `replay/open_and_max_seq` paying the catalog's open and index load too;
//! - `pacing`: 2,000 signals 1 ms apart replayed in real time on the system clock; the bench
//!   prints the median over runs of each run's p99 lateness (target p99 ≤ 1 ms).
//!
//! The 30-day, 10M-signal bundle export target is measured with the CLI (docs/BENCHMARKS.md).

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use signal_ledger::engine::PersistenceConfig;
use signal_ledger::query::Catalog;
use signal_ledger_replay::{Replay, ReplayOptions, ReplayOrder, ReplaySummary, Speed};

mod common;

/// Replays everything in `catalog` at max speed in `order`, counting events; the catalog comes
/// back for the next run.
fn count_all(catalog: Catalog, order: ReplayOrder) -> (Catalog, u64) {
    let options = ReplayOptions {
        order,
        ..ReplayOptions::default()
    };
    let mut replay = Replay::new(catalog, options).expect("a replay");
    let mut count = 0u64;
    replay
        .run(|_| {
            count += 1;
            ControlFlow::Continue(())
        })
        .expect("replay");
    (replay.into_catalog(), count)
}

fn bench_max_speed(c: &mut Criterion) {
    let n = common::records(common::BENCH_RECORDS);
    let signals = common::demo_signals(n);
    let built = common::build_ledger(&signals, PersistenceConfig::default(), 1_000);
    drop(signals);
    let mut catalog = Some(Catalog::open(&built.path).expect("open the catalog"));
    let records = catalog.as_ref().map_or(0, |c| c.snapshot().record_count());
    let mut group = c.benchmark_group("replay");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(records));
    for (name, order) in [
        ("max_seq", ReplayOrder::Seq),
        ("max_timestamp", ReplayOrder::Timestamp),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let (back, count) = count_all(catalog.take().expect("the catalog"), order);
                catalog = Some(back);
                assert_eq!(count, records);
                black_box(count)
            });
        });
    }
    group.bench_function("open_and_max_seq", |b| {
        b.iter(|| {
            let fresh = Catalog::open(&built.path).expect("open the catalog");
            black_box(count_all(fresh, ReplayOrder::Seq).1)
        });
    });
    group.finish();
}

/// 2,000 signals 1 ms apart, replayed in real time.
fn bench_pacing(c: &mut Criterion) {
    let n = if common::measuring() { 2_000 } else { 50 };
    let mut signals = common::demo_signals(n);
    let start = signals.first().map_or(0, |s| s.timestamp_ns);
    for (i, s) in signals.iter_mut().enumerate() {
        s.timestamp_ns = start + i as i64 * 1_000_000;
    }
    let built = common::build_ledger(&signals, PersistenceConfig::default(), 1_000);
    let mut runs: Vec<ReplaySummary> = Vec::new();
    let mut group = c.benchmark_group("pacing");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(25));
    group.bench_function("real_time_1ms_gaps", |b| {
        b.iter(|| {
            let options = ReplayOptions {
                speed: Speed::REAL_TIME,
                ..ReplayOptions::default()
            };
            let mut replay = Replay::open(&built.path, options).expect("a replay");
            runs.push(
                replay
                    .run(|e| {
                        black_box(e.seq());
                        ControlFlow::Continue(())
                    })
                    .expect("replay"),
            );
        });
    });
    group.finish();
    // Each run's p99, sorted: the figure quoted is their median (and the worst run beside it).
    let mut p99s: Vec<Duration> = runs.iter().map(|r| r.pacing.p99).collect();
    p99s.sort_unstable();
    let worst = runs.iter().map(|r| r.pacing.max).max().unwrap_or_default();
    eprintln!(
        "pacing over {} runs of {} events: p99 lateness median {} µs (runs {}–{} µs), worst single event {} µs",
        runs.len(),
        runs.first().map_or(0, |r| r.pacing.paced),
        p99s.get(p99s.len() / 2).copied().unwrap_or_default().as_micros(),
        p99s.first().copied().unwrap_or_default().as_micros(),
        p99s.last().copied().unwrap_or_default().as_micros(),
        worst.as_micros()
    );
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_max_speed(&mut criterion);
    bench_pacing(&mut criterion);
    criterion.final_summary();
}
