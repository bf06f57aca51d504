//! `ingest --follow`: a long-running producer. Reads NDJSON from a file as it grows (or from
//! standard input until it ends) and records each line through the [`SignalSink`], so every
//! signal is durable within milliseconds of its line arriving. Bad lines are reported and
//! skipped, not fatal: a stream has no "whole input" to refuse.
//!
//! Stops at the end of standard input, or on SIGINT or SIGTERM; either way the sink is drained
//! before the summary line is printed, so every line recorded is durable (or reported failed).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};

use signal_ledger_engine::input::LINE_LEN_MAX;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use signal_ledger_engine::input::{parse_ndjson_line, InputError};
use signal_ledger_engine::sink::{DurableHandle, NotQueued, PersistError, SignalSink, SinkConfig};
use signal_ledger_engine::{Snapshot, ValidSignal};

use crate::args::{GlobalArgs, IngestArgs};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// How often a file at its end is checked for growth, and the stop flag for being set.
const POLL: Duration = Duration::from_millis(50);

/// How long a stop waits for the reader to finish the line it is on.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What the reader thread counts.
#[derive(Default)]
struct ReadCounts {
    lines: AtomicU64,
    rejected: AtomicU64,
}

/// Where the lines come from.
enum Source {
    Stdin,
    File(PathBuf),
}

/// The line `ingest --follow` prints when it stops.
#[derive(serde::Serialize)]
struct FollowSummary {
    lines: u64,
    recorded: u64,
    durable: u64,
    failed: u64,
    rejected: u64,
    head_seq: Option<u64>,
    head_hash: Option<String>,
    queue_to_durable_p99_ms: f64,
}

/// Runs `ingest --follow`.
pub fn run(global: &GlobalArgs, args: &IngestArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    let ledger = wiring::open_writer(dir, global)?;
    let source = if args.input == Path::new("-") {
        Source::Stdin
    } else {
        Source::File(args.input.clone())
    };
    let mut rejects = match &args.rejects {
        Some(path) => {
            Some(File::create(path).map_err(|e| CliError::io("create", path.display(), &e))?)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| CliError::io("install a handler for", "SIGINT/SIGTERM", &e))?;
    }
    let persistence = wiring::load_config(dir, global)?.persistence;
    let sink = Arc::new(SignalSink::start(
        ledger,
        SinkConfig::from_persistence(&persistence),
    )?);
    let _checks = wiring::start_scheduled_checks(dir, &persistence)?;
    let counts = Arc::new(ReadCounts::default());
    let reader = {
        let (sink, counts, stop) = (Arc::clone(&sink), Arc::clone(&counts), Arc::clone(&stop));
        std::thread::spawn(move || -> CliResult<()> {
            let mut on_reject = |e: &InputError| {
                output::eprintln(&format!("warning: skipped {e}"));
                if let Some(file) = rejects.as_mut() {
                    let line = e.to_json() + "\n";
                    // A rejects file that cannot be written is reported once per line, not fatal.
                    if let Err(err) = file.write_all(line.as_bytes()) {
                        output::eprintln(&format!("warning: cannot write a rejected line: {err}"));
                    }
                }
            };
            match source {
                Source::Stdin => feed(
                    std::io::stdin().lock(),
                    &sink,
                    &counts,
                    &stop,
                    None,
                    &mut on_reject,
                ),
                Source::File(path) => {
                    let file =
                        File::open(&path).map_err(|e| CliError::io("open", path.display(), &e))?;
                    feed(
                        BufReader::new(file),
                        &sink,
                        &counts,
                        &stop,
                        Some(&path),
                        &mut on_reject,
                    )
                }
            }
        })
    };
    // The reader may be blocked reading standard input: wait for it or for a stop signal.
    while !reader.is_finished() && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
    }
    stop.store(true, Ordering::Relaxed);
    // The reader sees the flag within a line or a poll and stops; only a read of standard
    // input that blocks keeps it longer, and then nothing of that read was recorded.
    let stopping = std::time::Instant::now();
    while !reader.is_finished() && stopping.elapsed() < STOP_GRACE {
        std::thread::sleep(Duration::from_millis(5));
    }
    let metrics = sink.shutdown();
    let read_result = if reader.is_finished() {
        reader
            .join()
            .unwrap_or_else(|_| Err(CliError::new("the input reader stopped unexpectedly")))
    } else {
        Ok(())
    };
    let head = Snapshot::open(dir).ok().and_then(|s| s.head());
    let summary = FollowSummary {
        lines: counts.lines.load(Ordering::Relaxed),
        recorded: metrics.recorded,
        durable: metrics.durable,
        failed: metrics.failed,
        rejected: counts.rejected.load(Ordering::Relaxed),
        head_seq: head.map(|h| h.seq),
        head_hash: head.map(|h| h.row_hash.to_hex()),
        queue_to_durable_p99_ms: metrics.queue_to_durable_ms.p99,
    };
    output::println(&output::json(&summary)?)?;
    read_result?;
    if metrics.failed > 0 {
        return Err(CliError::new(format!(
            "{} signals were not persisted: {}",
            metrics.failed,
            metrics.last_error.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Reads lines until the end of `input` (standard input) or until `stop` (a followed file,
/// which at its end is polled for growth), recording each valid one.
fn feed<R: BufRead>(
    mut input: R,
    sink: &SignalSink,
    counts: &ReadCounts,
    stop: &AtomicBool,
    followed: Option<&Path>,
    on_reject: &mut dyn FnMut(&InputError),
) -> CliResult<()> {
    let name = followed.map_or_else(|| "standard input".to_owned(), |p| p.display().to_string());
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut offset = 0u64;
    // Recorded lines not yet durable: line number, text (to report a refusal) and handle.
    let mut pending: VecDeque<(u64, String, DurableHandle)> = VecDeque::new();
    let mut reported_failure = false;
    // Inside a line longer than LINE_LEN_MAX: rejected already, its rest is discarded.
    let mut discarding = false;
    while !stop.load(Ordering::Relaxed) {
        let n = input
            .by_ref()
            .take(LINE_LEN_MAX as u64 + 2)
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::io("read", &name, &e))?;
        offset += n as u64;
        if n == 0 && line.is_empty() {
            match followed {
                None => break,
                Some(path) => {
                    check_not_truncated(path, offset)?;
                    std::thread::sleep(POLL);
                    continue;
                }
            }
        }
        let complete = line.last() == Some(&b'\n');
        if discarding {
            discarding = !complete;
            line.clear();
            continue;
        }
        if !complete && line.len() > LINE_LEN_MAX {
            discarding = true;
        } else if let (false, Some(path)) = (complete, followed) {
            // The end of a followed file for now: keep the partial line, wait for more. (At
            // the end of standard input, a last line without a newline still counts.)
            check_not_truncated(path, offset)?;
            std::thread::sleep(POLL);
            continue;
        }
        line_no += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match parse_ndjson_line(line_no, text) {
            None => {}
            Some(Ok(signal)) => match record_waiting(sink, signal, stop, line_no)? {
                Some(handle) => {
                    let text = String::from_utf8_lossy(text).into_owned();
                    pending.push_back((line_no, text, handle));
                }
                // Stopped while the queue was full: this line was not recorded.
                None => break,
            },
            Some(Err(e)) => {
                counts.rejected.fetch_add(1, Ordering::Relaxed);
                on_reject(&e);
            }
        }
        counts.lines.fetch_add(1, Ordering::Relaxed);
        line.clear();
        report_outcomes(&mut pending, &mut reported_failure, counts, on_reject);
    }
    // Every recorded line's outcome is known once the sink has flushed: report the last ones.
    let _ = sink.flush();
    report_outcomes(&mut pending, &mut reported_failure, counts, on_reject);
    Ok(())
}

/// Takes the outcomes known so far off the front of `pending`, in line order: reports the first
/// failure of a run of failed groups (the disk filled, say), and every line refused for a
/// signal_id taken by a different signal, as a rejected line.
fn report_outcomes(
    pending: &mut VecDeque<(u64, String, DurableHandle)>,
    reported_failure: &mut bool,
    counts: &ReadCounts,
    on_reject: &mut dyn FnMut(&InputError),
) {
    while let Some(outcome) = pending.front().and_then(|(_, _, h)| h.try_result()) {
        let Some((line, input, _)) = pending.pop_front() else {
            break;
        };
        match outcome {
            Ok(_) => *reported_failure = false,
            Err(e @ PersistError::SignalIdTaken { .. }) => {
                counts.rejected.fetch_add(1, Ordering::Relaxed);
                on_reject(&InputError {
                    line,
                    field: Some("signal_id".to_owned()),
                    problem: e.to_string(),
                    input,
                });
            }
            Err(e) if !*reported_failure => {
                output::eprintln(&format!("error: {e}"));
                *reported_failure = true;
            }
            Err(_) => {}
        }
    }
}

/// Records `signal`, waiting out backpressure for as long as it lasts (a stream has nowhere
/// else to keep the line); None if asked to stop meanwhile.
fn record_waiting(
    sink: &SignalSink,
    signal: ValidSignal,
    stop: &AtomicBool,
    line_no: u64,
) -> CliResult<Option<DurableHandle>> {
    let mut refused = match sink.record_valid(signal) {
        Ok(handle) => return Ok(Some(handle)),
        Err(e) => e,
    };
    loop {
        match refused {
            NotQueued::Backpressure { .. } if stop.load(Ordering::Relaxed) => return Ok(None),
            NotQueued::Backpressure { mut signals, .. } => {
                // Backpressure gives back exactly the one signal offered, still validated.
                let Some(signal) = signals.pop() else {
                    return Err(CliError::new(format!("line {line_no}: not recorded")));
                };
                match sink.record_valid(signal) {
                    Ok(handle) => return Ok(Some(handle)),
                    Err(e) => refused = e,
                }
            }
            other => return Err(CliError::new(format!("line {line_no}: {other}"))),
        }
    }
}

/// A followed file that got shorter than what was read was truncated or replaced: stop rather
/// than read on from the wrong place.
fn check_not_truncated(path: &Path, offset: u64) -> CliResult<()> {
    let len = std::fs::metadata(path)
        .map_err(|e| CliError::io("stat", path.display(), &e))?
        .len();
    if len < offset {
        return Err(CliError::new(format!(
            "{} shrank to {len} bytes while being followed (read up to byte {offset}); was it truncated or rotated?",
            path.display()
        )));
    }
    Ok(())
}
