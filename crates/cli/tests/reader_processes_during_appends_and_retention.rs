//! Reader processes (`export`, `query`, `verify` of the real binary) running in a loop while a
//! writer process ingests at full speed into small segments (so segments roll) and retention
//! removes the oldest segments under them, always get a consistent prefix or a clear one-line
//! error: dense seqs, every record the signal ingested at its seq, hashes chained, first and
//! last seq never going back, verify intact; never a crash, and never death by a signal
//! (SIGBUS in particular). Two `init` processes racing on one empty directory leave exactly one
//! winner, the other told clearly why, and an intact ledger.
//!
//! Long form: `SIGNAL_LEDGER_READER_ROUNDS=N` (default 12) rounds of retention and ingest.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use signal_ledger_engine::{Ledger, OpenOptions, PersistenceConfig};

/// Segments of 16 KiB: about 49 generated signals each.
const SEGMENT_SIZE: &str = "16384";
/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Runs `command` to the end (killed after a generous hang guard); its status and output.
fn run_to_end(mut command: Command) -> (ExitStatus, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        })
    };
    let out = pipe(Box::new(child.stdout.take().unwrap()));
    let err = pipe(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} still running after 120 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// What one reader saw over its runs.
#[derive(Default, Debug)]
struct Seen {
    runs: u64,
    /// Runs that ended in a clear one-line error (allowed, counted).
    errors: u64,
    /// Largest first seq and last seq seen so far (neither may go back).
    first: u64,
    last: Option<u64>,
    /// Distinct heads seen.
    heads: std::collections::BTreeSet<u64>,
    /// Runs whose first seq was above 0 (after retention).
    pruned: u64,
}

impl Seen {
    /// Records a run that saw seqs `first..=last` (None: an empty ledger).
    fn saw(&mut self, what: &str, first: u64, last: Option<u64>) {
        assert!(
            first >= self.first,
            "{what}: first seq went back from {} to {first}",
            self.first
        );
        assert!(
            last >= self.last,
            "{what}: the head went back from {:?} to {last:?}",
            self.last
        );
        self.first = first;
        self.last = last;
        if let Some(l) = last {
            self.heads.insert(l);
        }
        if first > 0 {
            self.pruned += 1;
        }
    }
}

/// Checks records printed by export or query (seq order): dense seqs, each the signal ingested
/// at its seq, each chained to the one before. Returns the first and last seq.
fn check_records(what: &str, stdout: &str, ids: &[String]) -> Option<(u64, u64)> {
    let records = json_lines(stdout);
    let first = records.first()?["seq"].as_u64().unwrap();
    let mut prev_row: Option<&Value> = None;
    for (i, r) in records.iter().enumerate() {
        let seq = r["seq"].as_u64().unwrap();
        assert_eq!(seq, first + i as u64, "{what}: seqs not dense");
        assert_eq!(
            r["signal_id"].as_str().unwrap(),
            ids[seq as usize],
            "{what}: seq {seq} is not the signal ingested there"
        );
        if let Some(p) = prev_row {
            assert_eq!(&r["prev_hash"], p, "{what}: seq {seq} is not chained");
        }
        prev_row = Some(&r["row_hash"]);
    }
    Some((first, first + records.len() as u64 - 1))
}

/// One reader process: `kind` 0 export, 1 query, 2 verify. Panics on anything but a
/// consistent prefix or a clear one-line error.
fn read_once(bin: &Path, dir: &Path, kind: u64, ids: &[String], seen: &mut Seen) {
    let args: &[&str] = match kind {
        0 => &["export", "--format", "ndjson", "--out", "-"],
        1 => &[
            "query", "--order", "seq-asc", "--limit", "10000", "--format", "ndjson",
        ],
        _ => &["verify", "--json"],
    };
    let mut command = Command::new(bin);
    command
        .arg("--ledger")
        .arg(dir)
        .args(args)
        .env_remove("SIGNAL_LEDGER_DIR");
    let (status, stdout, stderr) = run_to_end(command);
    let what = format!("{} (run {})", args[0], seen.runs);
    seen.runs += 1;
    assert_eq!(
        status.signal(),
        None,
        "{what}: killed by signal {:?} (7 = SIGBUS)\nstderr: {stderr}",
        status.signal()
    );
    match status.code() {
        Some(0) => {}
        Some(2) => {
            // A clear error: one line, saying what and where. Allowed, and counted.
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(stderr.starts_with("error: "), "{what}: {stderr}");
            println!("{what}: clear error: {}", stderr.trim_end());
            seen.errors += 1;
            return;
        }
        other => panic!("{what}: exit {other:?}\nstdout: {stdout}\nstderr: {stderr}"),
    }
    if kind == 2 {
        let j: Value = serde_json::from_str(stdout.trim_end()).unwrap();
        assert_eq!(j["intact"], true, "{what}: {j}");
        let from = j["from_seq"].as_u64().unwrap_or(0);
        let head = j["head_seq"].as_u64();
        let checked = j["records_checked"].as_u64().unwrap();
        assert_eq!(checked, head.map_or(0, |h| h + 1 - from), "{what}: {j}");
        seen.saw(&what, from, head);
    } else {
        match check_records(&what, &stdout, ids) {
            Some((first, last)) => seen.saw(&what, first, Some(last)),
            None => seen.saw(&what, seen.first, None),
        }
    }
}

/// Removes at least the `k` oldest sealed segments by retention (a day of it, and a "now" a
/// day after the creation of the segment following them), from this process's writer.
fn retire_oldest(dir: &Path, k: usize) -> usize {
    let persistence = signal_ledger_engine::config::LedgerToml::load(&dir.join("ledger.toml"))
        .unwrap()
        .persistence;
    let mut ledger = Ledger::open_with(
        dir,
        OpenOptions {
            config_override: Some(PersistenceConfig {
                retention_days: 1,
                ..persistence
            }),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let sealed = ledger.sealed_segments();
    assert!(sealed.len() > k, "only {} sealed segments", sealed.len());
    let now = sealed[k].header.created_at_ns + DAY_NS + 1;
    let plan = ledger.apply_retention(now).unwrap();
    assert!(plan.expired.len() >= k, "{plan:?}");
    plan.expired.len()
}

#[test]
fn readers_see_consistent_prefixes_while_a_writer_ingests_rolls_and_retention_prunes() {
    let rounds: usize = std::env::var("SIGNAL_LEDGER_READER_ROUNDS")
        .map(|v| v.parse().unwrap())
        .unwrap_or(12);
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    on(&dir, &["--segment-size-bytes", SEGMENT_SIZE, "init"]).ok();
    let follow_count = 3000;
    let per_round = 200;
    let total = follow_count + rounds * per_round;
    let generated = generate(total, 71);
    let lines: Vec<String> = generated.lines().map(str::to_owned).collect();
    let ids: Arc<Vec<String>> = Arc::new(
        lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["signal_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect(),
    );
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_signal-ledger"));

    let done = Arc::new(AtomicBool::new(false));
    let reads_during_retention = Arc::new(AtomicU64::new(0));
    let retention_running = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let (dir, ids, bin, done) = (dir.clone(), ids.clone(), bin.clone(), done.clone());
            let (during, running) = (reads_during_retention.clone(), retention_running.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                let mut kind = r;
                while !done.load(Ordering::SeqCst) || seen.runs < 6 {
                    let retention = running.load(Ordering::SeqCst);
                    read_once(&bin, &dir, kind % 3, &ids, &mut seen);
                    if retention || running.load(Ordering::SeqCst) {
                        during.fetch_add(1, Ordering::SeqCst);
                    }
                    kind += 1;
                }
                seen
            })
        })
        .collect();

    // The writer, first: `ingest --follow` of standard input, fed as fast as it takes it.
    let mut follow = Running::start(binary_on(
        &dir,
        &["--durability", "none", "ingest", "--follow", "-"],
    ));
    let mut stdin = follow.stdin();
    for chunk in lines[..follow_count].chunks(25) {
        stdin
            .write_all((chunk.join("\n") + "\n").as_bytes())
            .unwrap();
    }
    drop(stdin);
    let summary = follow.wait();
    summary.ok();
    assert_eq!(records(&dir), follow_count as u64);

    // Then rounds of retention (two more of the oldest segments gone, from a writer in this
    // process) and ingest (a writer process appending one batch, rolling segments).
    let mut removed = 0;
    let mut at = follow_count;
    for _ in 0..rounds {
        retention_running.store(true, Ordering::SeqCst);
        removed += retire_oldest(&dir, 2);
        retention_running.store(false, Ordering::SeqCst);
        let batch = lines[at..at + per_round].join("\n") + "\n";
        on_with_input(&dir, &["--durability", "none", "ingest"], batch.as_bytes()).ok();
        at += per_round;
    }
    done.store(true, Ordering::SeqCst);
    let seen: Vec<Seen> = readers.into_iter().map(|r| r.join().unwrap()).collect();

    // The end: what remains verifies, and holds the last records ingested.
    let out = on(&dir, &["verify", "--json"]);
    let j: Value = serde_json::from_str(out.ok().trim_end()).unwrap();
    assert_eq!(j["intact"], true, "{j}");
    assert_eq!(j["head_seq"], total as u64 - 1, "{j}");
    assert!(j["from_seq"].as_u64().unwrap() > 0, "{j}");
    let runs: u64 = seen.iter().map(|s| s.runs).sum();
    let heads: usize = seen.iter().map(|s| s.heads.len()).sum();
    let pruned: u64 = seen.iter().map(|s| s.pruned).sum();
    let errors: u64 = seen.iter().map(|s| s.errors).sum();
    println!(
        "{runs} reader runs ({errors} clear errors), {heads} distinct heads seen, {pruned} runs \
         of a pruned ledger, {} during retention; {removed} segments removed in {rounds} rounds; \
         {total} records; {:?}",
        reads_during_retention.load(Ordering::SeqCst),
        started.elapsed()
    );
    for s in &seen {
        assert!(s.runs >= 6, "{s:?}");
        assert!(s.heads.len() >= 2, "a reader saw only one head: {s:?}");
    }
    assert!(pruned > 0, "no reader ran against a pruned ledger");
    assert!(removed >= 2 * rounds);
}

#[test]
fn init_processes_racing_on_one_empty_directory_leave_one_ledger() {
    for round in 0..10 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("l");
        std::fs::create_dir(&dir).unwrap();
        let racers: Vec<Running> = (0..4)
            .map(|_| {
                Running::start(binary_on(
                    &dir,
                    &["--segment-size-bytes", SEGMENT_SIZE, "init"],
                ))
            })
            .collect();
        let outs: Vec<Out> = racers.into_iter().map(Running::wait).collect();
        let winners = outs.iter().filter(|o| o.code == 0).count();
        assert_eq!(winners, 1, "round {round}: {outs:?}");
        for o in outs.iter().filter(|o| o.code != 0) {
            assert_eq!(o.code, 2, "round {round}: {o:?}");
            assert_eq!(o.stdout, "", "{o:?}");
            assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
            assert!(
                o.stderr.starts_with("error: ")
                    && (o.stderr.contains("locked") || o.stderr.contains("is already a ledger")),
                "round {round}: a losing init must say the ledger is locked or exists: {o:?}"
            );
        }
        // The winner's ledger is whole: it verifies, takes appends, and has the settings given.
        on(&dir, &["verify"]).ok();
        assert_eq!(stats(&dir)["config"]["segment_size_bytes"], 16384);
        on_with_input(&dir, &["ingest"], generate(60, round).as_bytes()).ok();
        assert_eq!(records(&dir), 60);
        on(&dir, &["verify"]).ok();
    }
}
