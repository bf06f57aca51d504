//! Per-record costs of the codec, on 1,000 realistic demo signals per iteration (so the figures
//! are per 1,000 records; divide by 1,000 for ns per record):
//!
//! - `encode_hash`: encode one signal body and compute its row hash (SHA-256), as `append` does
//!   per record, into a reused buffer, frame (length + CRC) included;
//! - `sha256`: the row hash alone, over the same bodies;
//! - `crc_frame`: CRC32 of one frame body;
//! - `frame_at`: reading one frame (bounds + CRC check), as scans and verify do;
//! - `decode`: decoding one body with every layout check;
//! - `validate`: `Signal::validate`, which `append` runs on every signal first;
//! - `parse_line`: one NDJSON line into a `Signal` (the per-line work of `parse_ndjson`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use signal_ledger::engine::hash::row_hash;
use signal_ledger::engine::input::parse_signal_line;
use signal_ledger::engine::record::codec::{
    decode_signal, encode_signal_body, split_hashes, Stamp,
};
use signal_ledger::engine::record::frame::{begin_frame, finish_frame, frame_at, FrameAt};
use signal_ledger::engine::{Hash, GENESIS_PREV_HASH};

mod common;

/// Signals per iteration.
const N: usize = 1_000;
/// Plausible `recorded_at` for the demo window (2026-11-01T00:00:00Z).
const RECORDED_AT_NS: i64 = 1_793_491_200_000_000_000;

fn bench_codec(c: &mut Criterion) {
    let signals = common::demo_signals(N);
    let stamp = |seq: usize, prev_hash: Hash| Stamp {
        seq: seq as u64,
        recorded_at_ns: RECORDED_AT_NS,
        prev_hash,
    };
    // The frames as the ledger writes them, back to back, and where each starts.
    let mut frames = Vec::new();
    let mut starts = Vec::with_capacity(N);
    let mut prev = GENESIS_PREV_HASH;
    for (i, signal) in signals.iter().enumerate() {
        let start = begin_frame(&mut frames);
        prev = encode_signal_body(&mut frames, &stamp(i, prev), signal, &signal.signal_id);
        finish_frame(&mut frames, start);
        starts.push(start);
    }
    let bodies: Vec<&[u8]> = starts
        .iter()
        .map(|&at| match frame_at(&frames, at) {
            FrameAt::Valid { body, .. } => body,
            other => panic!("frame at {at}: {other:?}"),
        })
        .collect();
    eprintln!(
        "codec: {N} frames, {} bytes ({:.1} bytes/frame)",
        frames.len(),
        frames.len() as f64 / N as f64
    );
    let lines: Vec<String> = String::from_utf8(common::ndjson(&signals))
        .expect("NDJSON is UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();

    let mut group = c.benchmark_group("codec");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(N as u64));

    let mut out = Vec::with_capacity(frames.len());
    group.bench_function("encode_hash", |b| {
        b.iter(|| {
            out.clear();
            let mut prev = GENESIS_PREV_HASH;
            for (i, signal) in signals.iter().enumerate() {
                let start = begin_frame(&mut out);
                prev = encode_signal_body(&mut out, &stamp(i, prev), signal, &signal.signal_id);
                finish_frame(&mut out, start);
            }
            black_box(prev)
        });
    });
    group.bench_function("sha256", |b| {
        b.iter(|| {
            for body in &bodies {
                if let Some((content, prev, _)) = split_hashes(body) {
                    black_box(row_hash(&prev, content));
                }
            }
        });
    });
    group.bench_function("crc_frame", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(crc32fast::hash(body));
            }
        });
    });
    group.bench_function("frame_at", |b| {
        b.iter(|| {
            for &at in &starts {
                black_box(frame_at(&frames, at));
            }
        });
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(decode_signal(body).expect("decode"));
            }
        });
    });
    group.bench_function("validate", |b| {
        b.iter(|| {
            for signal in &signals {
                black_box(signal.validate().is_ok());
            }
        });
    });
    group.bench_function("parse_line", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(parse_signal_line(line).expect("parse"));
            }
        });
    });
    group.finish();
}

fn main() {
    // What criterion_group!/criterion_main! expand to, without their undocumented `pub fn`.
    let mut criterion = Criterion::default().configure_from_args();
    bench_codec(&mut criterion);
    criterion.final_summary();
}
