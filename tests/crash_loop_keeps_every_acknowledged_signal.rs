//! A writer killed with SIGKILL at any moment loses no acknowledged signal: a child process
//! ingests through a `SignalSink` in a durable mode (fsync or fdatasync) from several producer
//! threads, in small segments that roll under it, and logs each signal only after its handle
//! reported it durable; the harness kills it at random moments, some right as it opens (and
//! recovers) the ledger, at least 200 times. After every kill the ledger opens as the writer
//! (truncating a torn tail), every acknowledged signal is there at its acknowledged seq with its
//! acknowledged row hash and exactly the columns sent, nothing else is there but signals the
//! harness handed out (each once), the whole chain verifies, and appends continue (the harness
//! appends a few itself, which later cycles must keep too).
//!
//! Long form: `SIGNAL_LEDGER_CRASH_CYCLES=1000 cargo test --test
//! crash_loop_keeps_every_acknowledged_signal -- --nocapture`; `SIGNAL_LEDGER_CRASH_SEED=<n>`
//! repeats a run's seed (signals and kill delays; where a kill lands is up to the scheduler).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_ledger::engine::sink::Durable;
use signal_ledger::engine::{
    verify, Durability, Hash, Ledger, PersistenceConfig, Signal, SignalSink, SinkConfig, Snapshot,
    VerifyOptions,
};
use support::demo_signals;

/// Cycles of the CI form; `SIGNAL_LEDGER_CRASH_CYCLES` overrides.
const DEFAULT_CYCLES: u64 = 200;
/// Producer threads in the child.
const PRODUCERS: usize = 4;
/// Signals each producer is handed per cycle (bounds the ledger's growth; a child that gets
/// through all of them idles until killed).
const PER_PRODUCER: usize = 250;
/// Cycles per ledger: the first creates a fresh ledger, the others continue it.
const CYCLES_PER_LEDGER: u64 = 20;
/// Every this many cycles, the kill lands 0–2 ms after the child starts opening the ledger.
const EARLY_KILL_EVERY: u64 = 10;
/// Signals the harness appends itself after each kill.
const HARNESS_APPENDS: usize = 3;

const CHILD_TEST: &str = "crash_child_ingests_and_logs_acknowledgements";
const ENV_LEDGER: &str = "SIGNAL_LEDGER_CRASH_CHILD_LEDGER";
const ENV_ACKS: &str = "SIGNAL_LEDGER_CRASH_CHILD_ACKS";
const ENV_SEED: &str = "SIGNAL_LEDGER_CRASH_CHILD_SEED";
const ENV_CYCLE: &str = "SIGNAL_LEDGER_CRASH_CHILD_CYCLE";
const OPENING: &str = "crash-child: opening";
const OPEN: &str = "crash-child: sink started";
const DONE: &str = "crash-child: all signals acknowledged";

/// SplitMix64: seeds and kill delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn cycle_seed(seed: u64, cycle: u64) -> u64 {
    Rng(seed ^ cycle.wrapping_mul(0xD1B5_4A32_D192_ED03)).next()
}

/// The signals the child's producers record in `cycle`, one list per producer, with ids
/// `c<cycle>-p<producer>-<index>`. The harness regenerates them to know what was sent.
fn child_signals(seed: u64, cycle: u64) -> Vec<Vec<Signal>> {
    let all = demo_signals(PRODUCERS * PER_PRODUCER, cycle_seed(seed, cycle));
    all.chunks(PER_PRODUCER)
        .enumerate()
        .map(|(p, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, s)| Signal {
                    signal_id: format!("c{cycle}-p{p}-{i}"),
                    ..s.clone()
                })
                .collect()
        })
        .collect()
}

/// The signals the harness appends itself after the kill of `cycle`.
fn harness_signals(seed: u64, cycle: u64) -> Vec<Signal> {
    demo_signals(HARNESS_APPENDS, cycle_seed(seed, cycle) ^ 0x5555)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Signal {
            signal_id: format!("c{cycle}-harness-{i}"),
            ..s
        })
        .collect()
}

/// One line of the acknowledgement log: what the sink reported durable.
fn ack_line(d: &Durable) -> String {
    format!(
        "{} {} {} {}\n",
        d.signal_id,
        d.seq,
        d.row_hash.to_hex(),
        d.recorded_at_ns
    )
}

/// The child: records its cycle's signals through a durable sink and logs each one the sink
/// acknowledged, then idles until killed. Run only by the crash loop, which sets its
/// environment.
#[test]
#[ignore = "child process of the crash loop; run by it"]
fn crash_child_ingests_and_logs_acknowledgements() {
    let env = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{CHILD_TEST} is the child process of the crash loop \
                 (crash_loop_keeps_every_acknowledged_signal) and runs only under it: {name} is not set"
            )
        })
    };
    let ledger_dir = PathBuf::from(env(ENV_LEDGER));
    let acks_path = PathBuf::from(env(ENV_ACKS));
    let seed: u64 = env(ENV_SEED).parse().unwrap();
    let cycle: u64 = env(ENV_CYCLE).parse().unwrap();
    let inputs = child_signals(seed, cycle);
    // O_APPEND: each line is one write() at the end of the file, so a kill leaves at most a
    // torn last line, and the producers' lines never interleave.
    let acks = Arc::new(
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&acks_path)
            .unwrap(),
    );

    println!("{OPENING}");
    let ledger = Ledger::open(&ledger_dir).unwrap();
    assert_ne!(ledger.config().durability, Durability::None);
    let config = SinkConfig::from_persistence(ledger.config());
    let sink = Arc::new(SignalSink::start(ledger, config).unwrap());
    println!("{OPEN}");

    let producers: Vec<_> = inputs
        .into_iter()
        .enumerate()
        .map(|(p, signals)| {
            let sink = Arc::clone(&sink);
            let acks = Arc::clone(&acks);
            std::thread::spawn(move || {
                let mut rest = signals.into_iter().peekable();
                let mut round = p;
                while rest.peek().is_some() {
                    // Bursts of 1..=7: single records and whole batches, alternately; every
                    // fifth burst of producer 0 a batch of 60 (a write of several pages).
                    let size = if p == 0 && round % 5 == 4 {
                        60
                    } else {
                        1 + round % 7
                    };
                    let chunk: Vec<Signal> = rest.by_ref().take(size).collect();
                    let durables: Vec<Durable> = if size < 60 && round.is_multiple_of(2) {
                        let handles: Vec<_> =
                            chunk.into_iter().map(|s| sink.record(s).unwrap()).collect();
                        handles.iter().map(|h| h.wait().unwrap()).collect()
                    } else {
                        sink.record_batch(chunk).unwrap().wait().unwrap()
                    };
                    // Logged only now: the sink has reported these durable.
                    for d in &durables {
                        assert!(!d.already_recorded, "{} recorded twice", d.signal_id);
                        let line = ack_line(d);
                        let written = (&*acks).write(line.as_bytes()).unwrap();
                        assert_eq!(written, line.len(), "one write per line");
                    }
                    round += 1;
                }
            })
        })
        .collect();
    for t in producers {
        t.join().unwrap();
    }
    println!("{DONE}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// One acknowledgement read back from the child's log.
#[derive(Debug, Clone)]
struct Ack {
    seq: u64,
    row_hash: Hash,
    recorded_at_ns: i64,
    signal: Signal,
}

/// The whole lines of an acknowledgement log (a torn last line, cut by the kill, is not one).
fn read_acks(path: &Path, ctx: &str) -> Vec<(String, u64, Hash, i64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{ctx}: read {}: {e}", path.display()),
    };
    let whole = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Vec::new(),
    };
    whole
        .split('\n')
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 4, "{ctx}: bad acknowledgement line {line:?}");
            (
                fields[0].to_owned(),
                fields[1].parse().unwrap(),
                Hash::from_hex(fields[2]).unwrap(),
                fields[3].parse().unwrap(),
            )
        })
        .collect()
}

/// Checks the ledger in `dir` against everything acknowledged so far and everything handed
/// out; returns its record count and how many stored signals whose ids start with
/// `unacked_prefix` were never acknowledged.
fn check_ledger(
    dir: &Path,
    acked: &HashMap<String, Ack>,
    handed_out: &HashMap<String, Signal>,
    unacked_prefix: &str,
    ctx: &str,
) -> (u64, u64) {
    let snap = Snapshot::open(dir).unwrap_or_else(|e| panic!("{ctx}: snapshot: {e}"));
    assert!(snap.damage().is_none(), "{ctx}: {:?}", snap.damage());
    assert!(
        snap.torn_tail().is_none(),
        "{ctx}: torn tail left after the writer opened: {:?}",
        snap.torn_tail()
    );
    let report = verify(&snap, VerifyOptions::default());
    assert!(
        report.is_intact(),
        "{ctx}: chain does not verify: {:?}",
        report.first_failure
    );
    assert_eq!(report.records_checked, snap.record_count(), "{ctx}");

    let mut stored = HashMap::new();
    for entry in snap.entries() {
        let entry = entry.unwrap_or_else(|e| panic!("{ctx}: entry: {e}"));
        let record = snap
            .decode_record(&entry)
            .unwrap_or_else(|e| panic!("{ctx}: decode seq {}: {e}", entry.seq));
        let id = record.signal.signal_id.clone();
        let sent = handed_out
            .get(&id)
            .unwrap_or_else(|| panic!("{ctx}: seq {} holds {id}, never handed out", record.seq));
        assert_eq!(
            &record.signal, sent,
            "{ctx}: {id} stored unlike it was sent"
        );
        let seq = record.seq;
        if let Some(earlier) = stored.insert(id.clone(), record) {
            panic!("{ctx}: {id} stored twice, seqs {} and {seq}", earlier.seq);
        }
    }
    assert_eq!(stored.len() as u64, snap.record_count(), "{ctx}");

    for (id, ack) in acked {
        let record = stored
            .get(id)
            .unwrap_or_else(|| panic!("{ctx}: acknowledged {id} (seq {}) is gone", ack.seq));
        assert_eq!(record.seq, ack.seq, "{ctx}: {id} moved");
        assert_eq!(record.row_hash, ack.row_hash, "{ctx}: {id} row hash");
        assert_eq!(
            record.recorded_at_ns, ack.recorded_at_ns,
            "{ctx}: {id} recorded_at"
        );
        assert_eq!(record.signal, ack.signal, "{ctx}: {id} columns");
    }
    let unacked = stored
        .keys()
        .filter(|id| id.starts_with(unacked_prefix) && !acked.contains_key(*id))
        .count();
    (snap.record_count(), unacked as u64)
}

/// How one kill went.
struct Kill {
    /// The child got as far as starting its sink.
    opened: bool,
    /// The child had every signal acknowledged before the kill.
    finished: bool,
}

/// Runs the child on `ledger` for `cycle` and kills it `delay` after it starts opening.
fn run_and_kill(
    tmp: &Path,
    ledger: &Path,
    acks: &Path,
    seed: u64,
    cycle: u64,
    delay: Duration,
    ctx: &str,
) -> Kill {
    let stderr_path = tmp.join("child-stderr.txt");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            CHILD_TEST,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_LEDGER, ledger)
        .env(ENV_ACKS, acks)
        .env(ENV_SEED, seed.to_string())
        .env(ENV_CYCLE, cycle.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{ctx}: spawn the child: {e}"));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!(
                "{ctx}: the child exited ({status}) before opening the ledger\nstdout:\n{seen}\nstderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        seen.push_str(&line);
        if line.contains(OPENING) {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap_or_else(|e| panic!("{ctx}: kill: {e}"));
    let status = child.wait().unwrap();
    out.read_to_string(&mut seen).unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "{ctx}: the child was to die by SIGKILL, it exited {status}\nstdout:\n{seen}\nstderr:\n{}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    Kill {
        opened: seen.contains(OPEN),
        finished: seen.contains(DONE),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_signal() {
    let cycles = env_u64("SIGNAL_LEDGER_CRASH_CYCLES").unwrap_or(DEFAULT_CYCLES);
    let seed = env_u64("SIGNAL_LEDGER_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    println!("crash loop: {cycles} cycles, SIGNAL_LEDGER_CRASH_SEED={seed}");
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);

    let mut ledger_dir = PathBuf::new();
    let mut acked: HashMap<String, Ack> = HashMap::new();
    let mut handed_out: HashMap<String, Signal> = HashMap::new();
    let mut ledgers = 0u64;
    let mut total_acked = 0u64;
    let mut harness_appended = 0u64;
    let mut torn_tails = 0u64;
    let mut torn_bytes = 0u64;
    let mut early_kills = 0u64;
    let mut killed_while_opening = 0u64;
    let mut killed_idle = 0u64;
    let mut stored_unacked = 0u64;
    let mut max_records = 0u64;

    for cycle in 0..cycles {
        let ctx = format!("cycle {cycle} (SIGNAL_LEDGER_CRASH_SEED={seed})");
        if cycle % CYCLES_PER_LEDGER == 0 {
            if ledgers > 0 {
                std::fs::remove_dir_all(&ledger_dir).unwrap();
            }
            ledger_dir = tmp.path().join(format!("ledger-{ledgers}"));
            let durability = if ledgers.is_multiple_of(2) {
                Durability::Fsync
            } else {
                Durability::Fdatasync
            };
            Ledger::create(
                &ledger_dir,
                PersistenceConfig {
                    segment_size_bytes: 64 * 1024,
                    batch_size: 32,
                    durability,
                    ..PersistenceConfig::default()
                },
            )
            .unwrap();
            ledgers += 1;
            acked.clear();
            handed_out.clear();
        }
        let sent = child_signals(seed, cycle);
        handed_out.extend(sent.into_iter().flatten().map(|s| (s.signal_id.clone(), s)));

        let early = cycle % EARLY_KILL_EVERY == EARLY_KILL_EVERY - 1;
        let delay = if early {
            early_kills += 1;
            Duration::from_micros(rng.range(0, 2_000))
        } else {
            Duration::from_micros(rng.range(5_000, 80_000))
        };
        let acks_path = tmp.path().join(format!("acks-{cycle}.log"));
        let kill = run_and_kill(
            tmp.path(),
            &ledger_dir,
            &acks_path,
            seed,
            cycle,
            delay,
            &ctx,
        );
        killed_while_opening += u64::from(!kill.opened);
        killed_idle += u64::from(kill.finished);

        let lines = read_acks(&acks_path, &ctx);
        std::fs::remove_file(&acks_path).ok();
        total_acked += lines.len() as u64;
        for (id, seq, row_hash, recorded_at_ns) in lines {
            let signal = handed_out
                .get(&id)
                .unwrap_or_else(|| panic!("{ctx}: acknowledged {id} was never handed out"))
                .clone();
            let ack = Ack {
                seq,
                row_hash,
                recorded_at_ns,
                signal,
            };
            assert!(
                acked.insert(id.clone(), ack).is_none(),
                "{ctx}: {id} acknowledged twice"
            );
        }

        // The ledger opens as the writer: a torn tail is truncated, anything else refused.
        let mut ledger =
            Ledger::open(&ledger_dir).unwrap_or_else(|e| panic!("{ctx}: open after kill: {e}"));
        if let Some(recovery) = ledger.recovery() {
            torn_tails += 1;
            torn_bytes += recovery.dropped_bytes;
        }
        let (records, unacked) = check_ledger(
            &ledger_dir,
            &acked,
            &handed_out,
            &format!("c{cycle}-p"),
            &ctx,
        );
        assert_eq!(ledger.next_seq(), records, "{ctx}: writer and reader agree");
        stored_unacked += unacked;

        // Appends continue, and what they acknowledge is kept from now on too.
        let mine = harness_signals(seed, cycle);
        handed_out.extend(mine.iter().map(|s| (s.signal_id.clone(), s.clone())));
        let durables = ledger
            .append(&mine)
            .unwrap_or_else(|e| panic!("{ctx}: append after recovery: {e}"))
            .into_durable();
        assert_eq!(durables.len(), mine.len(), "{ctx}");
        for (i, (d, s)) in durables.into_iter().zip(mine).enumerate() {
            assert_eq!(
                d.seq,
                records + i as u64,
                "{ctx}: append continues the chain"
            );
            assert!(!d.already_recorded, "{ctx}");
            acked.insert(
                d.signal_id,
                Ack {
                    seq: d.seq,
                    row_hash: d.row_hash,
                    recorded_at_ns: d.recorded_at_ns,
                    signal: s,
                },
            );
            harness_appended += 1;
        }
        drop(ledger);
        max_records = max_records.max(records + HARNESS_APPENDS as u64);
    }
    // The last cycle's own appends, read back once more.
    let ctx = format!("after the last cycle (SIGNAL_LEDGER_CRASH_SEED={seed})");
    check_ledger(&ledger_dir, &acked, &handed_out, "", &ctx);

    assert!(
        total_acked > 0,
        "no child got any signal acknowledged: the loop proves nothing"
    );
    let killed_ingesting = cycles - killed_while_opening - killed_idle;
    assert!(
        killed_ingesting * 4 >= cycles,
        "at least a quarter of the kills must land while the child ingests: {killed_ingesting} of {cycles}"
    );
    println!(
        "crash loop: {cycles} SIGKILLs ({killed_ingesting} while ingesting, {killed_while_opening} \
         before the sink started, {killed_idle} after all signals were acknowledged; \
         {early_kills} aimed at open), {total_acked} acknowledged by the sink + {harness_appended} \
         appended after recovery, all kept; {stored_unacked} stored but not yet acknowledged at \
         the kill; {torn_tails} torn tails truncated ({torn_bytes} bytes); {ledgers} ledgers of \
         up to {max_records} records; {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
