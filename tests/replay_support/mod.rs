//! Helpers shared by the `replay_*` end-to-end tests: ledgers whose producers' clocks arrive out
//! of order (across many small segments, with outcomes in between), a brute-force reading of
//! every entry, and the brute-force order a replay must deliver them in.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use signal_ledger::engine::record::{Decision, EntryRecord, Outcome};
use signal_ledger::engine::{Durability, Ledger, PersistenceConfig, Signal, Snapshot};
use signal_ledger::query::Filter;
use signal_ledger_replay::{
    Event, Replay, ReplayChannel, ReplayOptions, ReplayOrder, ReplaySummary,
};

use crate::support::demo_signals;

/// 2026-01-01T00:00:00Z, ns.
pub const T0: i64 = 1_767_225_600_000_000_000;
/// One millisecond, ns.
pub const MS: i64 = 1_000_000;

/// 4 KiB segments (the minimum), no syncs: many segments, fast.
pub fn tiny_segments() -> PersistenceConfig {
    PersistenceConfig {
        segment_size_bytes: 4096,
        durability: Durability::None,
        ..PersistenceConfig::default()
    }
}

/// A small deterministic PRNG (splitmix64).
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A signal shaped like a demo one, with these columns (and no lineage or expiry, so any
/// timestamp is valid).
pub fn signal(id: &str, source: &str, ticker: &str, timestamp_ns: i64) -> Signal {
    let template = demo_signals(1, 3).pop().unwrap();
    Signal {
        signal_id: id.to_owned(),
        source_module: source.to_owned(),
        ticker: ticker.to_owned(),
        timestamp_ns,
        expires_at_ns: None,
        parent_signal_ids: Vec::new(),
        acted_upon: None,
        execution_id: None,
        ..template
    }
}

/// An outcome of `signal_id` decided at `decided_at_ns`.
pub fn outcome(signal_id: &str, acted: bool, decided_at_ns: i64) -> Outcome {
    Outcome {
        signal_id: signal_id.to_owned(),
        decision: Decision::from_acted(acted),
        execution_id: acted.then(|| format!("ex-{signal_id}")),
        reason: None,
        decided_at_ns,
    }
}

/// What to append, in order.
#[derive(Debug, Clone)]
pub enum Step {
    Signals(Vec<Signal>),
    Outcomes(Vec<Outcome>),
}

/// A ledger at `<tmp>/ledger` made of `steps`.
pub fn build(steps: &[Step], config: PersistenceConfig) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, config).unwrap();
    append(&mut ledger, steps);
    (tmp, path)
}

pub fn append(ledger: &mut Ledger, steps: &[Step]) {
    for step in steps {
        match step {
            Step::Signals(s) => {
                ledger.append(s).unwrap();
            }
            Step::Outcomes(o) => {
                ledger.append_outcomes(o).unwrap();
            }
        }
    }
}

pub const TICKERS: [&str; 4] = ["AAA", "BBB", "CCC", "DDD"];

/// Three producers whose clocks disagree, 160 signals in batches of 9 across many 4 KiB
/// segments: `on_time` stamps its arrival, `lagging` stamps 1.7 s before it (its signals land
/// among earlier ones), `bursty` stamps runs of equal timestamps; outcomes in several batches
/// are decided between signal times (and some at exactly a signal's time); the very last
/// batch holds a signal stamped an hour before everything else.
pub fn producers_steps() -> Vec<Step> {
    let mut mix = Mix(0x5eed);
    let mut signals = Vec::new();
    for i in 0..160i64 {
        let arrival = T0 + i * 100 * MS;
        let (source, ts) = match i % 3 {
            0 => ("on_time", arrival),
            1 => ("lagging", arrival - 1700 * MS),
            // Runs of four equal timestamps.
            _ => ("bursty", T0 + (i / 12) * 1200 * MS + 50 * MS),
        };
        let ticker = TICKERS[mix.below(4) as usize];
        signals.push(signal(&format!("s-{i:04}"), source, ticker, ts));
    }
    let mut steps = Vec::new();
    for (b, chunk) in signals.chunks(9).enumerate() {
        steps.push(Step::Signals(chunk.to_vec()));
        if b % 2 == 1 {
            // Outcomes of signals of this and earlier batches, decided a little, not at all,
            // a while and long after them.
            let mut outs = Vec::new();
            for k in 0..4 {
                let s = &signals[mix.below((b * 9 + 9) as u64) as usize];
                let decided = match k {
                    0 => s.timestamp_ns + 250 * MS,
                    1 => s.timestamp_ns, // at exactly its signal's time
                    2 => s.timestamp_ns + 5_000 * MS,
                    _ => s.timestamp_ns + 12_000 * MS,
                };
                outs.push(outcome(&s.signal_id, k != 1, decided));
            }
            steps.push(Step::Outcomes(outs));
        }
    }
    // The very late signal, an hour before everything, and an outcome of it decided before the
    // first signal too.
    let late = signal("late-producer", "late_box", "BBB", T0 - 3_600_000 * MS);
    steps.push(Step::Signals(vec![
        late.clone(),
        signal("s-last", "on_time", "AAA", T0 + 160 * 100 * MS),
    ]));
    steps.push(Step::Outcomes(vec![outcome(
        "late-producer",
        true,
        T0 - 1_000 * MS,
    )]));
    steps
}

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Signal,
    Outcome,
}

/// (seq, kind): what a replay delivered, one event.
pub type Delivered = (u64, Kind);

/// One entry of a ledger as a brute-force reading sees it.
#[derive(Debug, Clone)]
pub struct Truth {
    pub seq: u64,
    pub kind: Kind,
    /// Event time: a signal's timestamp, an outcome's decision time.
    pub time_ns: i64,
    /// The signal it is (or is the outcome of).
    pub signal_seq: u64,
    pub ticker: String,
    pub source: String,
    /// Only for signals: their own timestamp.
    pub signal_time_ns: i64,
    pub record: EntryRecord,
}

/// Every entry of the ledger at `dir`, walking the entries one by one (CRC-checked).
pub fn truth(dir: &Path) -> Vec<Truth> {
    let snap = Snapshot::open(dir).unwrap();
    assert!(snap.damage().is_none());
    let mut out: Vec<Truth> = Vec::new();
    for entry in snap.entries() {
        let entry = entry.unwrap();
        let seq = entry.seq;
        let record = snap.entry_record(seq).unwrap().unwrap();
        let t = match &record {
            EntryRecord::Signal(s) => Truth {
                seq,
                kind: Kind::Signal,
                time_ns: s.signal.timestamp_ns,
                signal_seq: seq,
                ticker: s.signal.ticker.clone(),
                source: s.signal.source_module.clone(),
                signal_time_ns: s.signal.timestamp_ns,
                record: record.clone(),
            },
            EntryRecord::Outcome(o) => {
                let sig = out.iter().find(|t| t.seq == o.signal_seq).unwrap();
                Truth {
                    seq,
                    kind: Kind::Outcome,
                    time_ns: o.outcome.decided_at_ns,
                    signal_seq: o.signal_seq,
                    ticker: sig.ticker.clone(),
                    source: sig.source.clone(),
                    signal_time_ns: sig.signal_time_ns,
                    record: record.clone(),
                }
            }
        };
        out.push(t);
    }
    assert_eq!(out.len() as u64, snap.record_count());
    out
}

/// A replay's selection, judged by hand: tickers (empty: any) and a [from, to) window.
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub tickers: Vec<String>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    pub outcomes: bool,
}

impl Select {
    pub fn all() -> Select {
        Select {
            outcomes: true,
            ..Select::default()
        }
    }

    pub fn filter(&self) -> Filter {
        Filter {
            tickers: self.tickers.clone(),
            from_ns: self.from_ns,
            to_ns: self.to_ns,
            ..Filter::default()
        }
    }

    fn in_window(&self, t: i64) -> bool {
        self.from_ns.is_none_or(|f| t >= f) && self.to_ns.is_none_or(|to| t < to)
    }

    fn admits(&self, t: &Truth) -> bool {
        let ticker = self.tickers.is_empty() || self.tickers.contains(&t.ticker);
        match t.kind {
            // A signal: every condition, its timestamp in the window.
            Kind::Signal => ticker && self.in_window(t.time_ns),
            // An outcome: decided in the window, its signal meeting the other conditions
            // (whatever that signal's own time).
            Kind::Outcome => self.outcomes && ticker && self.in_window(t.time_ns),
        }
    }
}

/// The events a replay in `order` must deliver, brute force.
pub fn expected(all: &[Truth], order: ReplayOrder, select: &Select) -> Vec<Truth> {
    let mut out: Vec<Truth> = all.iter().filter(|t| select.admits(t)).cloned().collect();
    match order {
        ReplayOrder::Seq => out.sort_by_key(|t| t.seq),
        ReplayOrder::Timestamp => out.sort_by_key(|t| (t.time_ns, t.seq)),
    }
    out
}

pub fn keys(truths: &[Truth]) -> Vec<Delivered> {
    truths.iter().map(|t| (t.seq, t.kind)).collect()
}

pub fn delivered(event: &Event<'_>) -> Delivered {
    match event {
        signal_ledger::engine::record::EntryView::Signal(s) => (s.seq, Kind::Signal),
        signal_ledger::engine::record::EntryView::Outcome(o) => (o.seq, Kind::Outcome),
    }
}

pub fn delivered_owned(event: &EntryRecord) -> Delivered {
    match event {
        EntryRecord::Signal(s) => (s.seq, Kind::Signal),
        EntryRecord::Outcome(o) => (o.seq, Kind::Outcome),
    }
}

pub fn options(order: ReplayOrder, select: &Select) -> ReplayOptions {
    ReplayOptions {
        filter: select.filter(),
        order,
        outcomes: select.outcomes,
        ..ReplayOptions::default()
    }
}

/// Runs a replay of `dir` with `options` to the end (through the callback), checking each
/// event's time; returns what it delivered and its summary.
pub fn run(dir: &Path, options: ReplayOptions) -> (Vec<Delivered>, ReplaySummary) {
    let mut replay = Replay::open(dir, options).unwrap();
    let mut got = Vec::new();
    let summary = replay
        .run(|e| {
            got.push(delivered(e));
            ControlFlow::Continue(())
        })
        .unwrap();
    (got, summary)
}

/// Joins a replay's thread, failing the test (rather than hanging it) after `within`.
pub fn join_within(channel: ReplayChannel, within: Duration) -> ReplaySummary {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(channel.join());
    });
    match rx.recv_timeout(within) {
        Ok(result) => result.unwrap(),
        Err(_) => panic!("the replay thread did not end within {within:?}"),
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A ledger of signals stamped `ms` milliseconds after T0, appended in this order.
pub fn timed(ms: &[i64]) -> (tempfile::TempDir, PathBuf) {
    let signals = ms
        .iter()
        .enumerate()
        .map(|(i, &t)| signal(&format!("t-{i}"), "timed", "AAA", T0 + t * MS))
        .collect();
    build(&[Step::Signals(signals)], tiny_segments())
}
