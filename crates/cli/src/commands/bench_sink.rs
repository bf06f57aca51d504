//! `bench-sink`: offers a load of demo signals from N producer threads through the
//! [`SignalSink`] and prints one JSON line of what became durable and how fast.

use std::path::Path;
use std::time::Duration;

use signal_ledger_demo::load::{run_load, LoadConfig};
use signal_ledger_engine::files::CONFIG_FILE;
use signal_ledger_engine::sink::{SignalSink, SinkConfig, SinkMetrics};

use crate::args::{BenchSinkArgs, GlobalArgs};
use crate::commands::init;
use crate::error::{CliError, CliResult};
use crate::output::{self, JsonObject};
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
    let line = summary_json(&load, &metrics)
        .u64("offered", report.offered)
        .u64("refused", report.refused)
        .u64("failed", report.failed)
        .u64("durable_count", report.durable)
        .f64("elapsed_s", round3(elapsed))
        .f64(
            "throughput_per_s",
            (report.durable as f64 / elapsed.max(1e-9)).round(),
        )
        .finish();
    output::println(&line)
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

/// The load and the sink's figures: creation-to-durable latency, group sizes, sync times.
fn summary_json(load: &LoadConfig, m: &SinkMetrics) -> JsonObject {
    let mut o = JsonObject::new();
    o.u64("producers", load.producers as u64);
    match load.rate {
        Some(rate) => o.f64("rate", rate),
        None => o.str("rate", "max"),
    };
    o.f64("duration_s", load.duration.as_secs_f64())
        .f64("p50_ms", m.persist_latency_ms.p50)
        .f64("p90_ms", m.persist_latency_ms.p90)
        .f64("p99_ms", m.persist_latency_ms.p99)
        .f64("p999_ms", m.persist_latency_ms.p999)
        .f64("max_ms", m.persist_latency_ms.max)
        .u64("batches", m.batches)
        .f64("batch_mean", round3(m.batch_size.mean))
        .f64("batch_max", m.batch_size.max)
        .f64("sync_p50_ms", m.sync_ms.p50)
        .f64("sync_p99_ms", m.sync_ms.p99)
        .u64("queue_depth_max", m.queue_depth_max);
    o
}
