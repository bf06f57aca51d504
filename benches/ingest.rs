//! The ingest pipeline in-process: 1M NDJSON lines (generated into memory once, from the demo
//! generator) -> `parse_ndjson` -> one `Ledger::append_valid` of every signal (the parser has
//! validated them, as in the CLI), into a fresh ledger (default settings: fdatasync) each
//! iteration.
//!
//! Target (docs/BENCHMARKS.md): the whole `signal-ledger ingest` process in at most 4 s; the CLI
//! adds only reading the file and printing the outcome on top of what `ingest/total` times.
//! `ingest/total` includes freeing the parsed signals and the receipt; `ingest/parse` and
//! `ingest/append` time the two phases on their own (without freeing).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use signal_ledger::engine::input::parse_ndjson;
use signal_ledger::engine::{Durability, Ledger, PersistenceConfig, ValidSignal};

mod common;

/// Parses `text`, which must hold only valid lines, into signals in line order.
fn parse(text: &[u8]) -> Vec<ValidSignal> {
    let parsed = parse_ndjson(text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
    parsed.signals
}

/// Runs `body` on a fresh ledger `iters` times and sums the time `body` reports.
fn with_fresh_ledgers(iters: u64, mut body: impl FnMut(&mut Ledger) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tmp, path) = common::fresh_dir();
        let mut ledger =
            Ledger::create(&path, PersistenceConfig::default()).expect("create the ledger");
        total += body(&mut ledger);
        drop(ledger);
        drop(tmp);
    }
    total
}

/// Times the phases of one ingest separately and prints them (stderr), to show where the time
/// of `ingest/total` goes: parsing (both cores), collecting the signals, the append with and
/// without its fdatasync, and freeing.
fn phase_breakdown(text: &[u8]) {
    let started = Instant::now();
    let parsed = parse_ndjson(text);
    let t_parse = started.elapsed();
    let started = Instant::now();
    let signals: Vec<ValidSignal> = parsed.signals;
    let t_collect = started.elapsed();
    let mut t_append = [Duration::ZERO; 2];
    let mut t_drop_receipt = Duration::ZERO;
    for (slot, durability) in [Durability::Fdatasync, Durability::None]
        .into_iter()
        .enumerate()
    {
        let (tmp, path) = common::fresh_dir();
        let config = PersistenceConfig {
            durability,
            ..PersistenceConfig::default()
        };
        let mut ledger = Ledger::create(&path, config).expect("create the ledger");
        let started = Instant::now();
        let receipt = ledger.append_valid(&signals).expect("append");
        if let Some(t) = t_append.get_mut(slot) {
            *t = started.elapsed();
        }
        let started = Instant::now();
        drop(black_box(receipt));
        t_drop_receipt = started.elapsed();
        drop(ledger);
        drop(tmp);
    }
    let started = Instant::now();
    drop(black_box(signals));
    let t_drop_signals = started.elapsed();
    let [sync, nosync] = t_append;
    eprintln!(
        "ingest phases (one run): parse_ndjson {t_parse:.2?}, collect {t_collect:.2?}, \
         append {sync:.2?} (without fdatasync {nosync:.2?}, so the sync ~{:.2?}), \
         free receipt {t_drop_receipt:.2?}, free signals {t_drop_signals:.2?}",
        sync.saturating_sub(nosync)
    );
}

fn bench_ingest(c: &mut Criterion) {
    let n = common::records(common::BENCH_RECORDS);
    let text = common::ndjson(&common::demo_signals(n));
    eprintln!(
        "NDJSON input: {n} lines, {} bytes ({:.1} bytes/line)",
        text.len(),
        text.len() as f64 / n.max(1) as f64
    );
    if common::measuring() {
        phase_breakdown(&text);
    }
    let parsed = parse(&text);
    assert_eq!(parsed.len(), n);

    let mut group = c.benchmark_group("ingest");
    common::configure_slow(&mut group, Duration::from_secs(30));
    group.throughput(Throughput::Elements(n as u64));

    group.bench_function("total", |b| {
        b.iter_custom(|iters| {
            with_fresh_ledgers(iters, |ledger| {
                let started = Instant::now();
                let signals = parse(&text);
                let receipt = ledger.append_valid(&signals).expect("append");
                let count = receipt.count;
                // The process frees these too (unless it exits without dropping them).
                drop(black_box((signals, receipt)));
                let elapsed = started.elapsed();
                assert_eq!(count, n as u64);
                elapsed
            })
        });
    });
    group.bench_function("parse", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let signals = parse(&text);
                total += started.elapsed();
                drop(black_box(signals));
            }
            total
        });
    });
    group.bench_function("append", |b| {
        b.iter_custom(|iters| {
            with_fresh_ledgers(iters, |ledger| {
                let started = Instant::now();
                let receipt = ledger.append_valid(&parsed).expect("append");
                let elapsed = started.elapsed();
                drop(black_box(receipt));
                elapsed
            })
        });
    });
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_ingest(&mut criterion);
    criterion.final_summary();
}
