//! Replay: every signal and outcome of a ledger in chronological order — by seq, or by event
//! time with producers whose clocks arrive out of order merged into place, whichever segment
//! stored them — exactly as a brute-force walk of the entries orders them, over any filter;
//! paced against a fake clock to the nanosecond (speed, max_gap, time going backwards); and
//! resumable from a printed position, a seq or a time, with nothing delivered twice or missed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod replay_support;
mod support;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use replay_support::*;
use signal_ledger::engine::Ledger;
use signal_ledger_replay::{
    Clock, FakeClock, Position, Replay, ReplayError, ReplayOptions, ReplayOrder, Speed, Start,
};

const ORDERS: [ReplayOrder; 2] = [ReplayOrder::Seq, ReplayOrder::Timestamp];

// ---------------------------------------------------------------------------------------------
// Order

#[test]
fn the_fixture_really_is_out_of_order_across_many_segments() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let snap = signal_ledger::engine::Snapshot::open(&path).unwrap();
    assert!(
        snap.segments().len() >= 10,
        "{} segments",
        snap.segments().len()
    );
    let all = truth(&path);
    let outcomes = all.iter().filter(|t| t.kind == Kind::Outcome).count();
    assert!(outcomes >= 20, "{outcomes} outcomes");
    let by_time = keys(&expected(&all, ReplayOrder::Timestamp, &Select::all()));
    let by_seq = keys(&expected(&all, ReplayOrder::Seq, &Select::all()));
    assert_ne!(by_time, by_seq);
    // The late signal is stored in the last segment, stamped before everything in the first.
    let late = all.iter().find(|t| t.source == "late_box").unwrap();
    let last = snap.segments().last().unwrap();
    assert!(late.seq >= last.first_seq());
    assert!(late.time_ns < snap.segments()[0].min_timestamp_ns);
    assert_eq!(by_time[0], (late.seq, Kind::Signal));
}

#[test]
fn both_orders_deliver_every_entry_as_a_brute_force_walk_orders_them() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let want = expected(&all, order, &Select::all());
        let (got, summary) = run(&path, options(order, &Select::all()));
        assert_eq!(got, keys(&want), "{order:?}");
        let signals = want.iter().filter(|t| t.kind == Kind::Signal).count() as u64;
        assert_eq!(summary.signals, signals);
        assert_eq!(summary.outcomes, want.len() as u64 - signals);
        assert!(!summary.stopped);
        let last = want.last().unwrap();
        assert_eq!(
            summary.last,
            Some(Position {
                order,
                time_ns: last.time_ns,
                seq: last.seq
            })
        );
        assert_eq!(summary.pacing.paced, 0, "nothing is paced at max speed");
    }
}

#[test]
fn delivered_events_are_the_stored_entries_unchanged() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let replay = Replay::open(&path, options(order, &Select::all())).unwrap();
        let mut n = 0;
        for event in replay.into_events() {
            let event = event.unwrap();
            let t = all.iter().find(|t| t.seq == event.seq()).unwrap();
            assert_eq!(event, t.record, "seq {}", t.seq);
            n += 1;
        }
        assert_eq!(n, all.len());
    }
}

/// Selections over the producers ledger: tickers and windows cutting through ties, the late
/// signal and outcomes whose signal lies outside the window.
fn selections(all: &[Truth]) -> Vec<Select> {
    let mut times: Vec<i64> = all.iter().map(|t| t.time_ns).collect();
    times.sort_unstable();
    let at = |q: usize| times[times.len() * q / 100];
    let two = vec!["AAA".to_owned(), "CCC".to_owned()];
    // Outcomes of AAA/CCC signals decided at exactly their signal's time: windows bounded by
    // them have a signal and an outcome on each bound (`from` admits them, `to` does not).
    let on_bounds: Vec<i64> = all
        .iter()
        .filter(|t| {
            t.kind == Kind::Outcome && t.time_ns == t.signal_time_ns && two.contains(&t.ticker)
        })
        .map(|t| t.time_ns)
        .collect();
    assert!(on_bounds.len() >= 2, "{on_bounds:?}");
    vec![
        Select {
            tickers: two.clone(),
            from_ns: Some(on_bounds[0]),
            to_ns: Some(*on_bounds.last().unwrap()),
            outcomes: true,
        },
        Select {
            tickers: two.clone(),
            from_ns: Some(at(20)),
            to_ns: Some(at(70)),
            outcomes: true,
        },
        Select {
            tickers: two.clone(),
            from_ns: Some(at(20)),
            to_ns: Some(at(70)),
            outcomes: false,
        },
        Select {
            tickers: vec!["BBB".to_owned()],
            from_ns: None,
            to_ns: Some(T0),
            outcomes: true,
        },
        Select {
            tickers: Vec::new(),
            from_ns: Some(at(50)),
            to_ns: None,
            outcomes: true,
        },
        Select {
            tickers: vec!["DDD".to_owned()],
            ..Select::all()
        },
        Select {
            outcomes: false,
            ..Select::all()
        },
    ]
}

#[test]
fn a_filter_selects_signals_and_the_outcomes_decided_in_its_window() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    let sels = selections(&all);
    // The first selection must cut interestingly: outcomes in its window whose signal is not,
    // and outcomes of matching signals decided outside it.
    let (s0, win) = (&sels[1], |t: i64| {
        t >= sels[1].from_ns.unwrap() && t < sels[1].to_ns.unwrap()
    });
    let outcome_in_signal_out = all.iter().any(|t| {
        t.kind == Kind::Outcome
            && s0.tickers.contains(&t.ticker)
            && win(t.time_ns)
            && !win(t.signal_time_ns)
    });
    let outcome_out_signal_in = all.iter().any(|t| {
        t.kind == Kind::Outcome
            && s0.tickers.contains(&t.ticker)
            && !win(t.time_ns)
            && win(t.signal_time_ns)
    });
    assert!(
        outcome_in_signal_out && outcome_out_signal_in,
        "{outcome_in_signal_out} {outcome_out_signal_in}"
    );
    for select in &sels {
        for order in ORDERS {
            let want = expected(&all, order, select);
            assert!(!want.is_empty());
            let (got, _) = run(&path, options(order, select));
            assert_eq!(got, keys(&want), "{order:?} {select:?}");
        }
    }
}

/// A ledger from random timestamps: `ts[i]` (ms after T0, few distinct values: many ties) for
/// signal i, appended in batches of `batch`; an outcome after each batch for one of its
/// signals, decided `decide[b]` ms after T0.
fn random_steps(ts: &[i64], tick: &[usize], batch: usize, decide: &[i64]) -> Vec<Step> {
    let signals: Vec<_> = ts
        .iter()
        .zip(tick)
        .enumerate()
        .map(|(i, (&t, &k))| signal(&format!("p-{i:03}"), "prop", TICKERS[k], T0 + t * MS))
        .collect();
    let mut steps = Vec::new();
    for (b, chunk) in signals.chunks(batch).enumerate() {
        steps.push(Step::Signals(chunk.to_vec()));
        let d = decide[b % decide.len()];
        steps.push(Step::Outcomes(vec![outcome(
            &chunk[(d as usize) % chunk.len()].signal_id,
            d % 2 == 0,
            T0 + d * MS,
        )]));
    }
    steps
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_shuffle_of_timestamps_replays_in_order(
        ts in proptest::collection::vec(0i64..40, 20..70),
        tick in proptest::collection::vec(0usize..4, 70),
        batch in 1usize..12,
        decide in proptest::collection::vec(-5i64..45, 1..8),
        cut in (0i64..40, 0i64..40),
    ) {
        let (_tmp, path) = build(&random_steps(&ts, &tick, batch, &decide), tiny_segments());
        let all = truth(&path);
        let (from, to) = (cut.0.min(cut.1), cut.0.max(cut.1) + 1);
        let selects = [
            Select::all(),
            Select {
                tickers: vec!["AAA".to_owned(), "DDD".to_owned()],
                from_ns: Some(T0 + from * MS),
                to_ns: Some(T0 + to * MS),
                outcomes: true,
            },
        ];
        for select in &selects {
            for order in ORDERS {
                let (got, _) = run(&path, options(order, select));
                prop_assert_eq!(got, keys(&expected(&all, order, select)), "{:?} {:?}", order, select);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pacing

/// Replays `dir` against a fake clock that starts at `start`; the clock's time at each event.
fn clock_times(
    dir: &std::path::Path,
    options: ReplayOptions,
    start: Duration,
) -> (
    Vec<Duration>,
    signal_ledger_replay::ReplaySummary,
    FakeClock,
) {
    let clock = FakeClock::new();
    clock.advance(start);
    let mut replay = Replay::open(dir, options)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let mut seen = Vec::new();
    let summary = replay
        .run(|_| {
            seen.push(clock.now());
            ControlFlow::Continue(())
        })
        .unwrap();
    (seen, summary, clock)
}

#[test]
fn gaps_are_divided_by_the_speed_and_cut_to_max_gap_on_a_fake_clock() {
    // Gaps 100, 200, 0 (a tie), 9 700 (long), 50 ms.
    let (_tmp, path) = timed(&[0, 100, 300, 300, 10_000, 10_050]);
    for order in ORDERS {
        let opts = ReplayOptions {
            order,
            speed: Speed::Times(2.0),
            max_gap: ms(1000),
            ..ReplayOptions::default()
        };
        let start = ms(7_000);
        let (seen, summary, clock) = clock_times(&path, opts, start);
        let want: Vec<Duration> = [0, 50, 150, 150, 1150, 1175]
            .iter()
            .map(|&d| start + ms(d))
            .collect();
        assert_eq!(seen, want, "{order:?}");
        assert_eq!(summary.pacing.paced, 6);
        assert_eq!(summary.pacing.max, Duration::ZERO);
        assert_eq!(summary.pacing.p99, Duration::ZERO);
        // The clock moved only by sleeping, and exactly to the last event.
        let slept: Duration = clock.sleeps().iter().sum();
        assert_eq!(start + slept, *want.last().unwrap());
    }
}

#[test]
fn fractional_speeds_stretch_gaps_exactly() {
    let (_tmp, path) = timed(&[0, 3, 10]);
    let opts = ReplayOptions {
        speed: Speed::Times(0.25),
        ..ReplayOptions::default()
    };
    let (seen, _, _) = clock_times(&path, opts, Duration::ZERO);
    assert_eq!(seen, vec![ms(0), ms(12), ms(40)]);
}

#[test]
fn at_max_speed_the_clock_never_moves() {
    let (_tmp, path) = timed(&[0, 100, 300, 10_000]);
    let (seen, summary, clock) = clock_times(&path, ReplayOptions::default(), ms(5));
    assert_eq!(seen, vec![ms(5); 4]);
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(summary.pacing.paced, 0);
}

#[test]
fn in_seq_order_a_time_going_backwards_is_due_at_once_and_gaps_count_from_the_latest() {
    // Stored in this order: 150 goes back behind 200; 260 is 60 ms after the latest (200), not
    // 110 after 150; 100 and 240 go back again.
    let (_tmp, path) = timed(&[0, 200, 150, 260, 100, 240, 300]);
    let opts = ReplayOptions {
        order: ReplayOrder::Seq,
        speed: Speed::REAL_TIME,
        ..ReplayOptions::default()
    };
    let (seen, summary, _) = clock_times(&path, opts, Duration::ZERO);
    assert_eq!(seen, [0, 200, 200, 260, 260, 260, 300].map(ms).to_vec());
    assert_eq!(summary.pacing.paced, 7);
    assert_eq!(summary.pacing.max, Duration::ZERO);
    // The same ledger by timestamp: 0 100 150 200 240 260 300.
    let (seen, _, _) = clock_times(
        &path,
        ReplayOptions {
            speed: Speed::REAL_TIME,
            ..ReplayOptions::default()
        },
        Duration::ZERO,
    );
    assert_eq!(seen, [0, 100, 150, 200, 240, 260, 300].map(ms).to_vec());
}

#[test]
fn a_slow_consumer_makes_events_late_and_the_schedule_does_not_drift() {
    let (_tmp, path) = timed(&[0, 100, 200, 300, 400]);
    let clock = FakeClock::new();
    let mut replay = Replay::open(
        &path,
        ReplayOptions {
            speed: Speed::REAL_TIME,
            ..ReplayOptions::default()
        },
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()));
    let mut seen = Vec::new();
    let summary = replay
        .run(|e| {
            seen.push(clock.now());
            // The consumer takes 250 ms over the second event.
            if e.seq() == 1 {
                clock.advance(ms(250));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    // Event 2 was due at 200 and 3 at 300, both late; 4 is back on schedule at 400.
    assert_eq!(seen, [0, 100, 350, 350, 400].map(ms).to_vec());
    assert_eq!(summary.pacing.paced, 5);
    assert_eq!(summary.pacing.max, ms(150));
    assert_eq!(summary.pacing.p50, ms(0));
}

#[test]
fn outcomes_are_paced_at_their_decision_time() {
    let (_tmp, path) = build(
        &[
            Step::Signals(vec![
                signal("a", "x", "AAA", T0),
                signal("b", "x", "AAA", T0 + 400 * MS),
            ]),
            Step::Outcomes(vec![outcome("a", true, T0 + 100 * MS)]),
        ],
        tiny_segments(),
    );
    let opts = ReplayOptions {
        speed: Speed::REAL_TIME,
        ..ReplayOptions::default()
    };
    let (seen, _, _) = clock_times(&path, opts.clone(), Duration::ZERO);
    assert_eq!(seen, [0, 100, 400].map(ms).to_vec());
    // In seq order the outcome (seq 2) comes last, its time behind the latest: at once.
    let (seen, _, _) = clock_times(
        &path,
        ReplayOptions {
            order: ReplayOrder::Seq,
            ..opts
        },
        Duration::ZERO,
    );
    assert_eq!(seen, [0, 400, 400].map(ms).to_vec());
}

// ---------------------------------------------------------------------------------------------
// Resume

/// Runs `options` delivering at most `limit`, returning what came and the position it printed.
fn run_limited(
    path: &std::path::Path,
    options: ReplayOptions,
    limit: u64,
) -> (Vec<Delivered>, Option<String>) {
    let (got, summary) = run(
        path,
        ReplayOptions {
            limit: Some(limit),
            ..options
        },
    );
    assert!(got.len() as u64 <= limit);
    assert!(!summary.stopped, "a limit is not a stop");
    (got, summary.last.map(|p| p.encode()))
}

#[test]
fn a_replay_resumed_after_its_printed_position_goes_on_with_no_gap_and_no_duplicate() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    let mut tie_cuts = 0;
    for select in [
        Select::all(),
        selections(&all)[0].clone(),
        selections(&all)[1].clone(),
    ] {
        for order in ORDERS {
            let want = keys(&expected(&all, order, &select));
            // Cuts everywhere near the ends, plus every cut among the bursty producer's ties.
            let mut cuts: Vec<usize> = vec![1, 2, want.len() / 2, want.len() - 1, want.len()];
            cuts.extend((3..want.len()).step_by(17));
            let ordered = expected(&all, order, &select);
            let ties: Vec<usize> = ordered
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w[0].time_ns == w[1].time_ns)
                .map(|(i, _)| i + 1)
                .collect();
            if order == ReplayOrder::Timestamp {
                tie_cuts += ties.len();
            }
            cuts.extend(ties);
            for k in cuts {
                let (first, printed) = run_limited(&path, options(order, &select), k as u64);
                assert_eq!(first, want[..k], "{order:?} limit {k}");
                let position = Position::decode(&printed.unwrap()).unwrap();
                let (rest, _) = run(
                    &path,
                    ReplayOptions {
                        start: Start::After(position),
                        ..options(order, &select)
                    },
                );
                assert_eq!(rest, want[k..], "{order:?} resumed after {k}");
            }
        }
    }
    assert!(
        tie_cuts >= 10,
        "the fixture has ties to cut between: {tie_cuts}"
    );
}

#[test]
fn a_chain_of_small_resumes_delivers_the_whole_replay() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    for order in ORDERS {
        let want = keys(&expected(&all, order, &Select::all()));
        let mut got = Vec::new();
        let mut start = Start::Beginning;
        loop {
            let (part, summary) = run(
                &path,
                ReplayOptions {
                    start,
                    limit: Some(7),
                    ..options(order, &Select::all())
                },
            );
            got.extend(part);
            match summary.last {
                Some(p) if got.len() < want.len() => {
                    start = Start::After(Position::decode(&p.encode()).unwrap());
                }
                _ => break,
            }
        }
        assert_eq!(got, want, "{order:?}");
    }
}

#[test]
fn start_at_a_seq_is_that_entry_or_its_place_in_time() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    let late = all.iter().find(|t| t.source == "late_box").unwrap().seq;
    let an_outcome = all.iter().find(|t| t.kind == Kind::Outcome).unwrap().seq;
    let head = all.len() as u64;
    for order in ORDERS {
        let want = expected(&all, order, &Select::all());
        for s in [0, 1, 17, an_outcome, late, head - 1, head, head + 5] {
            let (got, _) = run(
                &path,
                ReplayOptions {
                    start: Start::Seq(s),
                    ..options(order, &Select::all())
                },
            );
            let suffix: Vec<Delivered> = match (order, all.iter().find(|t| t.seq == s)) {
                (_, None) => Vec::new(),
                (ReplayOrder::Seq, Some(_)) => keys(
                    &want
                        .iter()
                        .filter(|t| t.seq >= s)
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                (ReplayOrder::Timestamp, Some(at)) => {
                    let from = want.iter().position(|t| t.seq == at.seq).unwrap();
                    keys(&want[from..])
                }
            };
            assert_eq!(got, suffix, "{order:?} from seq {s}");
        }
    }
    // By time, the late signal (last seq) starts at the very beginning of the replay.
    let (got, _) = run(
        &path,
        ReplayOptions {
            start: Start::Seq(late),
            ..options(ReplayOrder::Timestamp, &Select::all())
        },
    );
    assert_eq!(got.len(), all.len());
}

#[test]
fn start_at_a_time_by_timestamp_and_by_seq() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let all = truth(&path);
    let by_time = expected(&all, ReplayOrder::Timestamp, &Select::all());
    let by_seq = expected(&all, ReplayOrder::Seq, &Select::all());
    let mut probes: Vec<i64> = vec![T0 - 7_200_000 * MS, T0, T0 + 1, T0 + 8_000 * MS];
    probes.extend(all.iter().step_by(13).map(|t| t.time_ns));
    probes.push(i64::MAX);
    for t in probes {
        // Timestamp order: every event at or after t.
        let (got, _) = run(
            &path,
            ReplayOptions {
                start: Start::Time(t),
                ..options(ReplayOrder::Timestamp, &Select::all())
            },
        );
        let want: Vec<Truth> = by_time.iter().filter(|e| e.time_ns >= t).cloned().collect();
        assert_eq!(got, keys(&want), "timestamp order from {t}");
        // Seq order: from the first event at or after t, everything recorded after it (the
        // late signal, stamped an hour early, included).
        let (got, _) = run(
            &path,
            ReplayOptions {
                start: Start::Time(t),
                ..options(ReplayOrder::Seq, &Select::all())
            },
        );
        let want = match by_seq.iter().position(|e| e.time_ns >= t) {
            Some(i) => keys(&by_seq[i..]),
            None => Vec::new(),
        };
        assert_eq!(got, want, "seq order from {t}");
    }
}

#[test]
fn a_position_from_the_other_order_is_refused() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    for order in ORDERS {
        let (_, printed) = run_limited(&path, options(order, &Select::all()), 5);
        let position = Position::decode(&printed.unwrap()).unwrap();
        assert_eq!(position.order, order);
        let other = match order {
            ReplayOrder::Seq => ReplayOrder::Timestamp,
            ReplayOrder::Timestamp => ReplayOrder::Seq,
        };
        let err = Replay::open(
            &path,
            ReplayOptions {
                start: Start::After(position),
                ..options(other, &Select::all())
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, ReplayError::PositionOrder { position, replay }
                if position == order.name() && replay == other.name()),
            "{err}"
        );
    }
    assert!(matches!(
        Position::decode("p1nothex"),
        Err(ReplayError::BadPosition(_))
    ));
}

#[test]
fn resuming_on_a_grown_ledger_delivers_what_was_appended_since() {
    let (_tmp, path) = build(&producers_steps(), tiny_segments());
    let before = truth(&path);
    let mut positions = Vec::new();
    for order in ORDERS {
        let (got, summary) = run(&path, options(order, &Select::all()));
        assert_eq!(got.len(), before.len());
        positions.push(summary.last.unwrap().encode());
    }
    // New signals (some stamped before everything, some after), and outcomes of old and new.
    let mut ledger = Ledger::open(&path).unwrap();
    let mut grown = Vec::new();
    for i in 0..40i64 {
        let ts = if i % 4 == 0 {
            T0 - 10_000 * MS - i * MS
        } else {
            T0 + 3_600_000 * MS + i * 100 * MS
        };
        grown.push(signal(
            &format!("g-{i:03}"),
            "grown",
            TICKERS[i as usize % 4],
            ts,
        ));
    }
    append(
        &mut ledger,
        &[
            Step::Signals(grown[..25].to_vec()),
            Step::Outcomes(vec![
                outcome("s-0003", true, T0 + 3_600_000 * MS + 5),
                outcome("g-004", false, T0 + 3_600_000 * MS + 7),
            ]),
            Step::Signals(grown[25..].to_vec()),
        ],
    );
    drop(ledger);
    let after = truth(&path);
    let new: Vec<Truth> = after[before.len()..].to_vec();
    assert_eq!(new.len(), 42);
    // Seq order: exactly the new entries, in seq order.
    let p = Position::decode(&positions[0]).unwrap();
    let (got, _) = run(
        &path,
        ReplayOptions {
            start: Start::After(p),
            ..options(ReplayOrder::Seq, &Select::all())
        },
    );
    assert_eq!(got, keys(&new));
    // Timestamp order: the new entries whose time comes after the position, in time order
    // (those stamped before it are behind the replay for good).
    let p = Position::decode(&positions[1]).unwrap();
    let (got, _) = run(
        &path,
        ReplayOptions {
            start: Start::After(p),
            ..options(ReplayOrder::Timestamp, &Select::all())
        },
    );
    let mut want: Vec<Truth> = new
        .iter()
        .filter(|t| (t.time_ns, t.seq) > (p.time_ns, p.seq))
        .cloned()
        .collect();
    want.sort_by_key(|t| (t.time_ns, t.seq));
    assert!(want.len() >= 30);
    assert_eq!(got, keys(&want));
}
