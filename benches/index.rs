//! Per-segment indexes over a 1M-record ledger (groundwork of the query targets, issue 4):
//! building every segment's index from its bytes (what a reader does without sidecars, and the
//! writer will do once per sealed segment), encoding the sidecars, and reading them back
//! (decode with every CRC and invariant checked).

use std::time::Duration;

use criterion::{Criterion, Throughput};
use signal_ledger::engine::index::SegmentIndex;
use signal_ledger::engine::{PersistenceConfig, Snapshot};

mod common;

fn bench_index(c: &mut Criterion) {
    let n = common::records(common::BENCH_RECORDS);
    let signals = common::demo_signals(n);
    let built = common::build_ledger(&signals, PersistenceConfig::default(), 1_000);
    drop(signals);
    let snap = Snapshot::open(&built.path).expect("open a snapshot");
    let segments = snap.segments().len();
    let indexes: Vec<SegmentIndex> = (0..segments)
        .map(|i| snap.segment_index(i).expect("index"))
        .collect();
    let sidecars: Vec<Vec<u8>> = indexes.iter().map(SegmentIndex::to_sidecar).collect();
    eprintln!(
        "sidecars: {} bytes for {} records ({:.1} bytes/record)",
        sidecars.iter().map(Vec::len).sum::<usize>(),
        built.records,
        sidecars.iter().map(Vec::len).sum::<usize>() as f64 / built.records.max(1) as f64
    );
    let mut group = c.benchmark_group("index");
    common::configure_slow(&mut group, Duration::from_secs(10));
    group.throughput(Throughput::Elements(built.records));
    group.bench_function("build_from_segments", |b| {
        b.iter(|| {
            (0..segments)
                .map(|i| snap.segment_index(i).expect("index").len())
                .sum::<usize>()
        });
    });
    group.bench_function("encode_sidecars", |b| {
        b.iter(|| {
            indexes
                .iter()
                .map(|ix| ix.to_sidecar().len())
                .sum::<usize>()
        });
    });
    group.bench_function("decode_sidecars", |b| {
        b.iter(|| {
            sidecars
                .iter()
                .map(|s| SegmentIndex::from_sidecar(s).expect("decode").len())
                .sum::<usize>()
        });
    });
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_index(&mut criterion);
    criterion.final_summary();
}
