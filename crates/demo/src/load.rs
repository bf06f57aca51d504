//! A load generator for the [`SignalSink`]: N producer threads offering demo signals at a
//! total rate (or as fast as the sink takes them) for a duration, each signal stamped with its
//! creation time, so the sink's persist latency is creation-to-durable.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use signal_ledger_engine::now_ns;
use signal_ledger_engine::sink::{DurableHandle, RecordError, SignalSink};
use signal_ledger_engine::Signal;

use crate::{DemoConfig, DemoGenerator};

/// Distinct demo signals each producer cycles through (given fresh ids and timestamps).
const POOL_PER_PRODUCER: usize = 2_048;

/// What load to offer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Producer threads.
    pub producers: usize,
    /// Signals per second offered by all producers together; None offers as fast as the sink
    /// takes them (each producer blocks on backpressure).
    pub rate: Option<f64>,
    /// How long to offer.
    pub duration: Duration,
    /// Seed of the demo signals.
    pub seed: u64,
}

/// What one load run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Signals the producers tried to record.
    pub offered: u64,
    /// Signals refused at `record` (backpressure timeout or shutdown), given back to the producer.
    pub refused: u64,
    /// Signals whose handle reported durable.
    pub durable: u64,
    /// Signals whose handle reported a failure.
    pub failed: u64,
    /// From the first offer to the last handle completing.
    pub elapsed: Duration,
}

/// When a producer stops offering.
struct Until<'a> {
    started: Instant,
    duration: Duration,
    stop: &'a AtomicBool,
}

/// One producer's running count.
#[derive(Default)]
struct Tally {
    offered: u64,
    refused: u64,
    durable: u64,
    failed: u64,
}

impl Tally {
    fn settle(&mut self, handle: &DurableHandle) {
        match handle.wait() {
            Ok(_) => self.durable += 1,
            Err(_) => self.failed += 1,
        }
    }

    /// Counts the handles at the front that have completed (they complete in order).
    fn settle_completed(&mut self, pending: &mut VecDeque<DurableHandle>) {
        while let Some(front) = pending.front() {
            match front.try_result() {
                Some(Ok(_)) => self.durable += 1,
                Some(Err(_)) => self.failed += 1,
                None => break,
            }
            pending.pop_front();
        }
    }
}

/// Offers `config`'s load to `sink` and waits for every accepted signal's outcome.
pub fn run_load(sink: &SignalSink, config: &LoadConfig) -> LoadReport {
    run_load_until(sink, config, &AtomicBool::new(false))
}

/// [`run_load`] that also stops offering as soon as `stop` is set (a background load).
pub fn run_load_until(sink: &SignalSink, config: &LoadConfig, stop: &AtomicBool) -> LoadReport {
    let producers = config.producers.max(1);
    let pools: Vec<Vec<Signal>> = (0..producers)
        .map(|p| {
            DemoGenerator::new(&DemoConfig {
                seed: config.seed.wrapping_add(p as u64),
                count: POOL_PER_PRODUCER,
                ..DemoConfig::default()
            })
            .collect()
        })
        .collect();
    let run_tag = format!("load-{:x}", now_ns());
    let per_producer_rate = config.rate.map(|r| r / producers as f64);
    let started = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = pools
            .into_iter()
            .enumerate()
            .map(|(p, pool)| {
                let tag = format!("{run_tag}-{p:03}-");
                scope.spawn(move || {
                    let until = Until {
                        started,
                        duration: config.duration,
                        stop,
                    };
                    produce(sink, &pool, &tag, per_producer_rate, &until)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    let mut report = LoadReport {
        elapsed,
        ..LoadReport::default()
    };
    for t in tallies {
        report.offered += t.offered;
        report.refused += t.refused;
        report.durable += t.durable;
        report.failed += t.failed;
    }
    report
}

/// One producer: offers signals on schedule (or flat out) until `duration` is up, then waits for
/// the outcome of every one it got a handle for.
fn produce(
    sink: &SignalSink,
    pool: &[Signal],
    id_prefix: &str,
    rate: Option<f64>,
    until: &Until<'_>,
) -> Tally {
    let started = until.started;
    let mut tally = Tally::default();
    let mut pending = VecDeque::new();
    let mut id = String::with_capacity(id_prefix.len() + 12);
    loop {
        let now = started.elapsed();
        if now >= until.duration || until.stop.load(Ordering::Relaxed) {
            break;
        }
        let due = match rate {
            Some(rate) => (now.as_secs_f64() * rate) as u64,
            None => tally.offered + 64,
        };
        while tally.offered < due {
            let Some(template) = pool.get(tally.offered as usize % pool.len().max(1)) else {
                break;
            };
            let mut signal = template.clone();
            id.clear();
            id.push_str(id_prefix);
            id.push_str(&tally.offered.to_string());
            signal.signal_id.clone_from(&id);
            signal.parent_signal_ids.clear();
            signal.timestamp_ns = now_ns();
            signal.expires_at_ns = None;
            tally.offered += 1;
            match sink.record(signal) {
                Ok(handle) => pending.push_back(handle),
                Err(RecordError::Invalid { .. }) => tally.failed += 1,
                Err(_) => tally.refused += 1,
            }
        }
        tally.settle_completed(&mut pending);
        if let Some(rate) = rate {
            // Sleep until the next signal is due (at least a little, so the producer is not a
            // busy loop; the next round catches up on whatever fell due meanwhile).
            let next_due = (tally.offered + 1) as f64 / rate;
            let wait = next_due - started.elapsed().as_secs_f64();
            std::thread::sleep(Duration::from_secs_f64(wait.clamp(50e-6, 0.01)));
        }
    }
    for handle in &pending {
        tally.settle(handle);
    }
    tally
}
