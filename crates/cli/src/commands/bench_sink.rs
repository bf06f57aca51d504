//! `bench-sink`: offers a load of demo signals from N producer threads through the
//! [`SignalSink`] and prints one JSON line of what became durable and how fast.

use std::path::Path;
use std::time::Duration;

use signal_ledger_demo::load::{run_load, LoadConfig};
use signal_ledger_engine::files::CONFIG_FILE;
use signal_ledger_engine::sink::{SignalSink, SinkConfig};

use crate::args::{BenchSinkArgs, GlobalArgs};
use crate::commands::init;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// Runs `bench-sink` against `--ledger` (created if it does not exist yet) or, without one, a
/// temporary ledger removed afterwards.
pub fn run(global: &GlobalArgs, args: &BenchSinkArgs) -> CliResult<()> {
    let temporary = match &global.ledger {
        Some(_) => None,
        None => Some(
            tempfile::tempdir().map_err(|e| CliError::io("create", "a temporary directory", &e))?,
        ),
    };
    let dir: &Path = match (&temporary, &global.ledger) {
        (Some(t), _) => t.path(),
        (None, Some(d)) => d,
        (None, None) => return Err(CliError::new("no ledger directory")),
    };
    let ledger = if dir.join(CONFIG_FILE).exists() {
        wiring::open_writer(dir, global)?
    } else {
        init::create(dir, global)?
    };
    let config = SinkConfig {
        // A temporary ledger is deleted at the end: its metrics file would be too.
        metrics_file: temporary.is_none(),
        ..SinkConfig::from_persistence(ledger.config())
    };
    let sink = SignalSink::start(ledger, config)?;
    let load = LoadConfig {
        producers: usize::from(args.producers),
        rate: args.rate.per_second(),
        duration: Duration::from_secs_f64(args.duration),
        seed: args.seed,
    };
    let report = run_load(&sink, &load);
    let metrics = sink.shutdown();
    let elapsed = report.elapsed.as_secs_f64();
    let m = &metrics.persist_latency_ms;
    let line = BenchSinkLine {
        producers: load.producers,
        rate: match load.rate {
            Some(rate) => Rate::PerSecond(rate),
            None => Rate::Max("max"),
        },
        duration_s: load.duration.as_secs_f64(),
        p50_ms: m.p50,
        p90_ms: m.p90,
        p99_ms: m.p99,
        p999_ms: m.p999,
        max_ms: m.max,
        batches: metrics.batches,
        batch_mean: round3(metrics.batch_size.mean),
        batch_max: metrics.batch_size.max,
        sync_p50_ms: metrics.sync_ms.p50,
        sync_p99_ms: metrics.sync_ms.p99,
        queue_depth_max: metrics.queue_depth_max,
        offered: report.offered,
        refused: report.refused,
        failed: report.failed,
        durable_count: report.durable,
        elapsed_s: round3(elapsed),
        throughput_per_s: (report.durable as f64 / elapsed.max(1e-9)).round(),
    };
    output::println(&output::json(&line)?)
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

/// The offered rate: signals per second, or `"max"`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Rate {
    PerSecond(f64),
    Max(&'static str),
}

/// The one line `bench-sink` prints: the load, the sink's figures (creation-to-durable
/// latency, group sizes, sync times) and what became of the signals offered.
#[derive(serde::Serialize)]
struct BenchSinkLine {
    producers: usize,
    rate: Rate,
    duration_s: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    batches: u64,
    batch_mean: f64,
    batch_max: f64,
    sync_p50_ms: f64,
    sync_p99_ms: f64,
    queue_depth_max: u64,
    offered: u64,
    refused: u64,
    failed: u64,
    durable_count: u64,
    elapsed_s: f64,
    throughput_per_s: f64,
}
