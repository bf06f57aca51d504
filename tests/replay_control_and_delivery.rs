//! Replay control and delivery: pause, step, resume, stop and a new speed take effect exactly
//! where they are asked for (paced against a fake clock), a consumer ends a replay by breaking,
//! the callback, the iterator and the channel deliver the same events, a dropped receiver ends
//! the replay's thread, and a record damaged on disk is never delivered as if it were sound.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod replay_support;
mod support;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use replay_support::*;
use signal_ledger::engine::index::sidecar_path;
use signal_ledger::engine::{verify, LedgerError, Snapshot, VerifyOptions};
use signal_ledger::query::{Catalog, QueryError};
use signal_ledger_replay::{
    Clock, FakeClock, Replay, ReplayControl, ReplayError, ReplayOptions, ReplayOrder,
    ReplaySummary, Speed, Start,
};

const ORDERS: [ReplayOrder; 2] = [ReplayOrder::Seq, ReplayOrder::Timestamp];
/// How long a test waits to be sure that nothing more arrives.
const QUIET: Duration = Duration::from_millis(100);
/// How long a test waits for something that must arrive.
const SOON: Duration = Duration::from_secs(10);

fn paced(speed: f64) -> ReplayOptions {
    ReplayOptions {
        speed: Speed::Times(speed),
        max_gap: Duration::from_secs(60),
        ..ReplayOptions::default()
    }
}

/// A replay run on a thread of the test's own, recording the clock's time at each event and
/// sending each event's seq as it is delivered.
struct Recording {
    seqs: mpsc::Receiver<u64>,
    thread: JoinHandle<(Vec<(u64, Duration)>, ReplaySummary)>,
}

fn record(mut replay: Replay, clock: Arc<dyn Clock>) -> Recording {
    let (tx, seqs) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let summary = replay
            .run(|e| {
                seen.push((e.seq(), clock.now()));
                let _ = tx.send(e.seq());
                ControlFlow::Continue(())
            })
            .unwrap();
        (seen, summary)
    });
    Recording { seqs, thread }
}

impl Recording {
    fn next(&self) -> u64 {
        self.seqs.recv_timeout(SOON).expect("an event")
    }

    fn nothing_more_yet(&self) {
        assert_eq!(
            self.seqs.recv_timeout(QUIET),
            Err(RecvTimeoutError::Timeout),
            "an event arrived while paused"
        );
    }

    fn finish(self) -> (Vec<(u64, Duration)>, ReplaySummary) {
        let (tx, rx) = mpsc::channel();
        let thread = self.thread;
        std::thread::spawn(move || {
            let _ = tx.send(thread.join());
        });
        rx.recv_timeout(SOON)
            .expect("the replay ends")
            .expect("no panic")
    }
}

// ---------------------------------------------------------------------------------------------
// Control

#[test]
fn paused_before_start_each_step_delivers_exactly_one_event_and_resume_the_rest() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let want = keys(&expected(&all, order, &Select::all()));
        let replay = Replay::open(&path, options(order, &Select::all())).unwrap();
        let control = replay.control();
        control.pause();
        assert!(control.is_paused());
        let channel = replay.spawn(64).unwrap();
        let recv_quiet = || channel.events.recv_timeout(QUIET);
        assert_eq!(recv_quiet().unwrap_err(), RecvTimeoutError::Timeout);
        let mut got = Vec::new();
        for _ in 0..3 {
            channel.control.step();
            got.push(delivered_owned(&channel.events.recv_timeout(SOON).unwrap()));
            assert_eq!(
                recv_quiet().unwrap_err(),
                RecvTimeoutError::Timeout,
                "a step delivered more than one event"
            );
        }
        // Two steps in a row are two events.
        channel.control.step();
        channel.control.step();
        for _ in 0..2 {
            got.push(delivered_owned(&channel.events.recv_timeout(SOON).unwrap()));
        }
        assert_eq!(recv_quiet().unwrap_err(), RecvTimeoutError::Timeout);
        channel.control.resume();
        assert!(!channel.control.is_paused());
        got.extend(channel.events.iter().map(|e| delivered_owned(&e)));
        let summary = join_within(channel, SOON);
        assert_eq!(got, want, "{order:?}");
        assert!(!summary.stopped);
        assert_eq!(summary.signals + summary.outcomes, want.len() as u64);
    }
}

#[test]
fn steps_asked_while_running_are_not_kept_for_a_later_pause() {
    let (_tmp, path) = timed(&[0, 100, 200]);
    let clock = FakeClock::new();
    let replay = Replay::open(&path, paced(1.0))
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let control = replay.control();
    control.step();
    control.step();
    control.pause();
    let rec = record(replay, Arc::new(clock));
    rec.nothing_more_yet();
    control.step();
    assert_eq!(rec.next(), 0);
    rec.nothing_more_yet();
    control.resume();
    let (seen, summary) = rec.finish();
    assert_eq!(seen, vec![(0, ms(0)), (1, ms(100)), (2, ms(200))]);
    assert_eq!(summary.pacing.paced, 2);
}

#[test]
fn stop_ends_the_replay_and_join_says_stopped() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let total = truth(&path).len();
    let channel = Replay::open(&path, ReplayOptions::default())
        .unwrap()
        .spawn(1)
        .unwrap();
    let mut got = 0;
    for _ in 0..3 {
        channel.events.recv_timeout(SOON).unwrap();
        got += 1;
    }
    channel.control.stop();
    // At most the event in the channel and the one being sent still arrive.
    let rest = channel.events.iter().count();
    assert!(rest <= 2, "{rest} events after the stop");
    got += rest;
    let summary = join_within(channel, SOON);
    assert!(summary.stopped);
    assert_eq!(summary.signals + summary.outcomes, got as u64);
    assert!(got < total);
}

#[test]
fn a_paused_replay_can_be_stopped() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let replay = Replay::open(&path, ReplayOptions::default()).unwrap();
    replay.control().pause();
    let channel = replay.spawn(8).unwrap();
    assert_eq!(
        channel.events.recv_timeout(QUIET).unwrap_err(),
        RecvTimeoutError::Timeout
    );
    channel.control.stop();
    // A resume after a stop does not bring it back.
    channel.control.resume();
    assert_eq!(channel.events.iter().count(), 0);
    let summary = join_within(channel, SOON);
    assert!(summary.stopped);
    assert_eq!(
        (summary.signals, summary.outcomes, summary.last),
        (0, 0, None)
    );
}

#[test]
fn a_stop_during_a_long_gap_is_seen_within_a_slice() {
    // Real clock: a 60 s gap, stopped 50 ms into it.
    let (_tmp, path) = timed(&[0, 60_000]);
    let replay = Replay::open(&path, paced(1.0)).unwrap();
    let channel = replay.spawn(4).unwrap();
    channel.events.recv_timeout(SOON).unwrap();
    std::thread::sleep(ms(50));
    let asked = std::time::Instant::now();
    channel.control.stop();
    let summary = join_within(channel, SOON);
    assert!(asked.elapsed() < ms(1000), "{:?}", asked.elapsed());
    assert!(summary.stopped);
    assert_eq!(summary.signals, 1);
}

#[test]
fn a_new_speed_from_the_consumer_applies_to_the_next_gap() {
    // Gaps of 400 ms throughout.
    let (_tmp, path) = timed(&[0, 400, 800, 1200, 1600, 2000]);
    for order in ORDERS {
        let clock = FakeClock::new();
        let mut replay = Replay::open(
            &path,
            ReplayOptions {
                order,
                ..paced(1.0)
            },
        )
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
        let control = replay.control();
        let mut seen = Vec::new();
        let summary = replay
            .run(|e| {
                seen.push(clock.now());
                match e.seq() {
                    1 => control.set_speed(Speed::Times(4.0)),
                    3 => control.set_speed(Speed::Times(0.5)),
                    _ => {}
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        // 400 at 1x, then 100, 100 at 4x, then 800, 800 at 0.5x.
        assert_eq!(
            seen,
            [0, 400, 500, 600, 1400, 2200].map(ms).to_vec(),
            "{order:?}"
        );
        let slept: Duration = clock.sleeps().iter().sum();
        assert_eq!(slept, ms(2200));
        assert_eq!(summary.pacing.paced, 6);
        assert_eq!(summary.pacing.max, Duration::ZERO);
    }
}

#[test]
fn switching_to_max_and_back_paces_from_the_latest_event() {
    // Gaps of 100 ms; at max speed from event 1 to event 4, then real time again.
    let (_tmp, path) = timed(&[0, 100, 200, 300, 400, 500, 600]);
    let clock = FakeClock::new();
    let mut replay = Replay::open(&path, paced(1.0))
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let control = replay.control();
    let mut seen = Vec::new();
    replay
        .run(|e| {
            seen.push(clock.now());
            match e.seq() {
                1 => control.set_speed(Speed::Max),
                4 => control.set_speed(Speed::REAL_TIME),
                _ => {}
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    // Events 2..=4 come at once (clock at 100); event 5 is 100 ms after event 4 (the latest
    // event delivered), not 400 ms after event 1 (the latest one paced).
    assert_eq!(seen, [0, 100, 100, 100, 100, 200, 300].map(ms).to_vec());

    // Started at max speed, real time from event 2 on: event 3 is 100 ms after event 2.
    let clock = FakeClock::new();
    let mut replay = Replay::open(&path, ReplayOptions::default())
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let control = replay.control();
    let mut seen = Vec::new();
    let summary = replay
        .run(|e| {
            seen.push(clock.now());
            if e.seq() == 2 {
                control.set_speed(Speed::REAL_TIME);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, [0, 0, 0, 100, 200, 300, 400].map(ms).to_vec());
    assert_eq!(summary.pacing.paced, 4);
}

#[test]
fn a_consumer_that_breaks_stops_the_replay_and_can_resume_after_it() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let want = keys(&expected(&all, order, &Select::all()));
        let mut replay = Replay::open(&path, options(order, &Select::all())).unwrap();
        let mut got = Vec::new();
        let summary = replay
            .run(|e| {
                got.push(delivered(e));
                if got.len() == 5 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert!(summary.stopped);
        assert_eq!(got, want[..5]);
        assert_eq!(summary.signals + summary.outcomes, 5);
        // The event it broke on was delivered: the position is after it.
        let last = summary.last.unwrap();
        assert_eq!(last.seq, want[4].0);
        let (rest, _) = run(
            &path,
            ReplayOptions {
                start: Start::After(last),
                ..options(order, &Select::all())
            },
        );
        assert_eq!(rest, want[5..]);
    }
}

#[test]
fn steps_deliver_at_once_and_pacing_goes_on_from_the_stepped_event() {
    let (_tmp, path) = timed(&[0, 1000, 3000, 3500]);
    let clock = FakeClock::new();
    let replay = Replay::open(&path, paced(1.0))
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let control = replay.control();
    control.pause();
    let rec = record(replay, Arc::new(clock.clone()));
    rec.nothing_more_yet();
    control.step();
    assert_eq!(rec.next(), 0);
    rec.nothing_more_yet();
    control.step();
    assert_eq!(rec.next(), 1);
    rec.nothing_more_yet();
    control.resume();
    let (seen, summary) = rec.finish();
    // Event 1 was stepped at clock 0: event 2 is due 2 s after that, event 3 0.5 s later.
    assert_eq!(
        seen,
        vec![(0, ms(0)), (1, ms(0)), (2, ms(2000)), (3, ms(2500))]
    );
    assert_eq!(summary.pacing.paced, 2, "stepped events are not paced");
}

/// A fake clock that pauses the replay once its time reaches `pause_at` (from inside a sleep:
/// in the middle of a gap), and then — once the replay has looked at the clock again, on its
/// way to block — lets `paused_for` pass on the clock and resumes it from another thread.
struct PausingClock {
    inner: FakeClock,
    control: ReplayControl,
    pause_at: Duration,
    paused_for: Duration,
    fired: AtomicBool,
    looked: parking_lot::Mutex<Option<mpsc::Sender<()>>>,
}

impl Clock for PausingClock {
    fn now(&self) -> Duration {
        let now = self.inner.now();
        if let Some(tx) = self.looked.lock().take() {
            let _ = tx.send(());
        }
        now
    }

    fn sleep_until(&self, deadline: Duration) {
        self.inner.sleep_until(deadline);
        if self.inner.now() >= self.pause_at && !self.fired.swap(true, Ordering::SeqCst) {
            self.control.pause();
            let (tx, rx) = mpsc::channel();
            *self.looked.lock() = Some(tx);
            let (inner, control, by) = (self.inner.clone(), self.control.clone(), self.paused_for);
            std::thread::spawn(move || {
                rx.recv().unwrap();
                // Time for the replay to go from reading the clock to blocking.
                std::thread::sleep(ms(100));
                inner.advance(by);
                control.resume();
            });
        }
    }
}

#[test]
fn a_pause_during_a_long_gap_holds_the_event_back_by_the_time_paused() {
    let (_tmp, path) = timed(&[0, 10_000, 10_500]);
    let fake = FakeClock::new();
    let control = ReplayControl::new();
    let clock = Arc::new(PausingClock {
        inner: fake.clone(),
        control: control.clone(),
        pause_at: ms(2000),
        paused_for: ms(3000),
        fired: AtomicBool::new(false),
        looked: parking_lot::Mutex::new(None),
    });
    let mut replay = Replay::open(&path, paced(1.0))
        .unwrap()
        .with_clock(clock.clone())
        .with_control(control);
    let mut seen = Vec::new();
    let summary = replay
        .run(|_| {
            seen.push(fake.now());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(clock.fired.load(Ordering::SeqCst));
    // Due at 10 s, paused 3 s on the way: delivered at 13 s; the next 0.5 s after that.
    assert_eq!(seen, [0, 13_000, 13_500].map(ms).to_vec());
    assert_eq!(summary.pacing.paced, 3);
    assert_eq!(summary.pacing.max, Duration::ZERO);
    // Waiting was done in slices (so a pause or stop is seen during a gap).
    assert!(
        fake.sleeps().iter().all(|s| *s <= ms(20)),
        "{:?}",
        fake.sleeps()
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery

#[test]
fn callback_iterator_and_channel_deliver_the_same_events() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let select = a_window_on_two_tickers(&all);
        for select in [Select::all(), select] {
            let opts = options(order, &select);
            let mut by_callback = Vec::new();
            let summary = Replay::open(&path, opts.clone())
                .unwrap()
                .run(|e| {
                    by_callback.push(e.to_record());
                    ControlFlow::Continue(())
                })
                .unwrap();
            let mut events = Replay::open(&path, opts.clone()).unwrap().into_events();
            let by_iterator: Vec<_> = events.by_ref().map(Result::unwrap).collect();
            assert_eq!(events.summary(), summary);
            assert!(events.next().is_none(), "an ended iterator stays ended");
            let channel = Replay::open(&path, opts).unwrap().spawn(3).unwrap();
            let by_channel: Vec<_> = channel.events.iter().collect();
            assert_eq!(join_within(channel, SOON), summary);
            let want = keys(&expected(&all, order, &select));
            let seqs: Vec<_> = by_callback.iter().map(delivered_owned).collect();
            assert_eq!(seqs, want, "{order:?} {select:?}");
            assert_eq!(by_iterator, by_callback);
            assert_eq!(by_channel, by_callback);
        }
    }
}

fn a_window_on_two_tickers(all: &[Truth]) -> Select {
    let mut times: Vec<i64> = all.iter().map(|t| t.time_ns).collect();
    times.sort_unstable();
    Select {
        tickers: vec!["BBB".to_owned(), "CCC".to_owned()],
        from_ns: Some(times[times.len() / 4]),
        to_ns: Some(times[times.len() * 3 / 4]),
        outcomes: true,
    }
}

#[test]
fn the_iterator_is_steered_by_its_control() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let mut events = Replay::open(&path, ReplayOptions::default())
        .unwrap()
        .into_events();
    assert!(events.next().is_some());
    events.control().stop();
    assert!(events.next().is_none());
    let summary = events.summary();
    assert!(summary.stopped);
    assert_eq!(summary.signals + summary.outcomes, 1);
}

#[test]
fn a_dropped_receiver_ends_the_replay_thread() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let total = truth(&path).len() as u64;
    let channel = Replay::open(&path, ReplayOptions::default())
        .unwrap()
        .spawn(1)
        .unwrap();
    for _ in 0..2 {
        channel.events.recv_timeout(SOON).unwrap();
    }
    // join drops the receiver first: the thread's next send fails and it ends.
    let summary = join_within(channel, SOON);
    assert!(summary.stopped);
    assert!(summary.signals + summary.outcomes < total);
}

#[test]
fn a_dropped_receiver_ends_a_paused_replay_thread() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let channel = Replay::open(&path, ReplayOptions::default())
        .unwrap()
        .spawn(1)
        .unwrap();
    channel.events.recv_timeout(SOON).unwrap();
    channel.control.pause();
    // Whatever was in flight arrives; then nothing while paused.
    while channel.events.recv_timeout(QUIET).is_ok() {}
    let summary = join_within(channel, Duration::from_secs(3));
    assert!(summary.stopped);
}

// ---------------------------------------------------------------------------------------------
// Damage

/// The producers ledger with every sealed segment's sidecar index written (a catalog loaded
/// them), and an entry of `kind` in a middle sealed segment: its seq, the segment file and
/// the segment's first seq.
fn ledger_with_sidecars(kind: Kind) -> (tempfile::TempDir, PathBuf, u64, PathBuf, u64) {
    let (tmp, path) = build(&producers_steps(), tiny_segments());
    let catalog = Catalog::open(&path).unwrap();
    catalog.indexes().unwrap();
    let snap = catalog.snapshot();
    let sealed: Vec<_> = snap
        .segments()
        .iter()
        .filter(|s| s.trailer.is_some())
        .collect();
    assert!(sealed.len() >= 5);
    for s in &sealed {
        assert!(
            sidecar_path(&s.path).exists(),
            "no sidecar for {}",
            s.path.display()
        );
    }
    let all = truth(&path);
    // The first sealed segment from the middle on holding such an entry (not its first).
    let (seg, seq) = sealed[sealed.len() / 2..]
        .iter()
        .find_map(|seg| {
            (seg.first_seq() + 1..seg.first_seq() + seg.record_count)
                .find(|s| all[*s as usize].kind == kind)
                .map(|s| (seg, s))
        })
        .unwrap();
    (tmp, path.clone(), seq, seg.path.clone(), seg.first_seq())
}

/// Flips a bit in the body of the frame of `seq` (well inside it): its CRC no longer holds.
fn tamper(segment: &Path, first_seq: u64, seq: u64) {
    let offsets = support::frame_offsets(segment);
    let at = offsets[(seq - first_seq) as usize];
    support::flip_byte(segment, at + 8 + 40, 0x04);
}

fn remove_sidecars(path: &Path) {
    for segment in support::segments(path) {
        let sidecar = sidecar_path(&segment);
        if sidecar.exists() {
            std::fs::remove_file(sidecar).unwrap();
        }
    }
}

fn is_corrupt_at(err: &ReplayError, seq: u64) -> bool {
    match err {
        ReplayError::Query(QueryError::Ledger(LedgerError::Corrupt(c))) => c.seq == Some(seq),
        _ => false,
    }
}

#[test]
fn a_damaged_entry_ends_the_replay_with_an_error_naming_it_sidecars_or_not() {
    let mut streamed = 0;
    for kind in [Kind::Signal, Kind::Outcome] {
        for sidecars in [true, false] {
            for order in ORDERS {
                let case = format!("{kind:?} {order:?} sidecars: {sidecars}");
                let (_tmp, path, seq, segment, first) = ledger_with_sidecars(kind);
                let before = truth(&path);
                tamper(&segment, first, seq);
                if !sidecars {
                    remove_sidecars(&path);
                }
                let report = verify(&Snapshot::open(&path).unwrap(), VerifyOptions::default());
                assert_eq!(report.first_failure.unwrap().seq, Some(seq), "{case}");
                // Iterate: every event before the error is an entry exactly as it was stored,
                // in order; then the error names the damaged entry; then nothing.
                let want: Vec<_> = expected(&before, order, &Select::all())
                    .into_iter()
                    .map(|t| t.record)
                    .collect();
                let mut events = match Replay::open(&path, options(order, &Select::all())) {
                    Ok(replay) => replay.into_events(),
                    Err(e) => {
                        // Refused at the start: outcomes are gathered when a replay opens, from
                        // each sealed segment's sidecar, or else by reading the segment.
                        assert!(is_corrupt_at(&e, seq), "{case}: {e}");
                        assert!(kind == Kind::Outcome || !sidecars, "{case}");
                        continue;
                    }
                };
                let mut got = Vec::new();
                let err = loop {
                    match events.next() {
                        Some(Ok(e)) => got.push(e),
                        Some(Err(e)) => break e,
                        None => panic!("{case}: the replay ended well past damage"),
                    }
                };
                assert!(is_corrupt_at(&err, seq), "{case}: {err}");
                assert!(events.next().is_none(), "{case}");
                assert_eq!(got[..], want[..got.len()], "{case}");
                assert!(!got.iter().any(|e| e.seq() == seq), "{case}");
                streamed += 1;
                if sidecars && order == ReplayOrder::Seq {
                    // Read from the sidecar's places: every entry before it.
                    assert_eq!(got.len() as u64, seq, "{case}");
                }
            }
        }
    }
    assert_eq!(
        streamed, 2,
        "a damaged signal behind a sidecar is met mid-replay"
    );
}
