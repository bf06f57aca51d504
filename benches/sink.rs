//! The SignalSink under many producers, durable mode (fdatasync), on a fresh ledger.
//!
//! Targets (docs/BENCHMARKS.md, issue 3): saturated throughput ≥ 400,000 signals/s durable with
//! 8 producer threads; p99 ≤ 5 ms and max ≤ 50 ms creation-to-durable at 50,000 signals/s
//! offered by 8 producers. Criterion times:
//! - `saturated/8_producers`: 8 threads each record their share of N demo signals (cloning each,
//!   as a producer makes it, and validating it in `record`) as fast as the sink takes them, and
//!   wait for every handle. Elements/s is durable signals per second.
//! - `latency_under_load/record_to_durable`: one signal recorded and awaited while 7 other
//!   producers offer 50,000 signals/s in the background: the median is the typical
//!   creation-to-durable latency at that load. The percentiles come from `signal-ledger
//!   bench-sink` (the sink's HDR histogram), which this cannot give.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use signal_ledger::demo::load::{run_load_until, LoadConfig};
use signal_ledger::engine::now_ns;
use signal_ledger::engine::sink::{SignalSink, SinkConfig};
use signal_ledger::engine::{Ledger, PersistenceConfig, Signal};

mod common;

const PRODUCERS: usize = 8;

/// Time for `PRODUCERS` threads to record all of `signals` through a sink over a fresh ledger
/// and see every one durable, `iters` times.
fn saturated(signals: &[Signal], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let share = signals.len().div_ceil(PRODUCERS);
    for _ in 0..iters {
        let (tmp, path) = common::fresh_dir();
        let ledger = Ledger::create(&path, PersistenceConfig::default()).expect("create");
        let sink = SignalSink::start(ledger, SinkConfig::default()).expect("start the sink");
        let started = Instant::now();
        std::thread::scope(|scope| {
            for part in signals.chunks(share) {
                let sink = &sink;
                scope.spawn(move || {
                    let handles: Vec<_> = part
                        .iter()
                        .map(|s| sink.record(s.clone()).expect("record"))
                        .collect();
                    for h in handles {
                        h.wait().expect("durable");
                    }
                });
            }
        });
        total += started.elapsed();
        drop(sink);
        drop(tmp);
    }
    total
}

fn bench_saturated(c: &mut Criterion) {
    let n = common::records(400_000);
    let signals = common::demo_signals(n);
    let mut group = c.benchmark_group("sink/saturated");
    common::configure_slow(&mut group, Duration::from_secs(20));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("8_producers", |b| {
        b.iter_custom(|iters| saturated(&signals, iters));
    });
    group.finish();
}

fn bench_latency_under_load(c: &mut Criterion) {
    let (tmp, path) = common::fresh_dir();
    let ledger = Ledger::create(&path, PersistenceConfig::default()).expect("create");
    let sink = SignalSink::start(ledger, SinkConfig::default()).expect("start the sink");
    let probe_template = common::demo_signals(1).pop().expect("one signal");
    let stop = AtomicBool::new(false);
    let background = LoadConfig {
        producers: PRODUCERS - 1,
        rate: Some(if common::measuring() {
            50_000.0
        } else {
            5_000.0
        }),
        duration: Duration::from_secs(3_600),
        seed: 7,
    };
    std::thread::scope(|scope| {
        scope.spawn(|| run_load_until(&sink, &background, &stop));
        let mut group = c.benchmark_group("sink/latency_under_load");
        common::configure_slow(&mut group, Duration::from_secs(10));
        group.sample_size(50);
        let mut probe_id = 0u64;
        group.bench_function("record_to_durable", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut signal = probe_template.clone();
                    probe_id += 1;
                    signal.signal_id = format!("probe-{probe_id}");
                    signal.parent_signal_ids.clear();
                    signal.expires_at_ns = None;
                    let started = Instant::now();
                    signal.timestamp_ns = now_ns();
                    sink.record(signal)
                        .expect("record")
                        .wait()
                        .expect("durable");
                    total += started.elapsed();
                }
                total
            });
        });
        group.finish();
        stop.store(true, Ordering::Relaxed);
    });
    drop(sink);
    drop(tmp);
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_saturated(&mut criterion);
    bench_latency_under_load(&mut criterion);
    criterion.final_summary();
}
