//! `replay`: matching signals and their outcomes in chronological order, paced, to standard
//! output — with a position per event, and an optional checkpoint file to resume from.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_ledger_engine::atomic::AtomicFile;
use signal_ledger_engine::record::EntryView;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_replay::{
    write_event_line, Event, Position, Replay, ReplayOptions, Speed, Start,
};

use crate::args::{GlobalArgs, ReplayArgs, ReplayFormat};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// How often the checkpoint file is rewritten at most (and once at the end): a replay killed
/// outright resumes at most this far back, so a consumer sees an event at least once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Runs `replay`.
pub fn run(global: &GlobalArgs, args: &ReplayArgs) -> CliResult<()> {
    let options = options_from(args)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        ReplayFormat::Table
    } else {
        ReplayFormat::Ndjson
    });
    let paced = options.speed != Speed::Max;
    let mut replay = Replay::open(wiring::ledger_dir(global)?, options)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| CliError::io("install a handler for", "SIGINT/SIGTERM", &e))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = String::with_capacity(1024);
    let mut written: Option<Position> = None;
    let mut saved_at = Instant::now();
    let mut failure: Option<CliError> = None;
    let order = replay.order();
    let summary = replay.run(|event| {
        if stop.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        let position = Position::of(order, event);
        line.clear();
        match format {
            ReplayFormat::Ndjson => write_event_line(event, &position, &mut line),
            ReplayFormat::Table => table_line(event, &mut line),
        }
        let mut wrote = out.write_all(line.as_bytes());
        if paced {
            wrote = wrote.and_then(|()| out.flush());
        }
        if let Err(e) = wrote {
            failure = Some(output::stdout_error(&e));
            return ControlFlow::Break(());
        }
        written = Some(position);
        if let Some(path) = &args.checkpoint {
            if saved_at.elapsed() >= CHECKPOINT_EVERY {
                saved_at = Instant::now();
                if let Err(e) = out
                    .flush()
                    .map_err(|e| output::stdout_error(&e))
                    .and_then(|()| save_checkpoint(path, &position))
                {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    let flushed = out.flush().map_err(|e| output::stdout_error(&e));
    // What reached standard output is kept, whatever ended the replay.
    if let (Some(path), Some(position), Ok(())) = (&args.checkpoint, written, &flushed) {
        save_checkpoint(path, &position)?;
    }
    let summary = summary?;
    if let Some(e) = failure {
        return Err(e);
    }
    flushed?;
    let mut note = format!(
        "note: replayed {} signals and {} outcomes",
        summary.signals, summary.outcomes
    );
    if let Some(last) = summary.last {
        note.push_str(&format!("; last position {}", last.encode()));
    }
    if summary.pacing.paced > 0 {
        note.push_str(&format!(
            "; pacing lateness p50 {} µs, p99 {} µs",
            summary.pacing.p50.as_micros(),
            summary.pacing.p99.as_micros()
        ));
    }
    output::eprintln(&note);
    Ok(())
}

/// The replay's options from the flags.
fn options_from(args: &ReplayArgs) -> CliResult<ReplayOptions> {
    let resume = match (&args.resume, &args.checkpoint) {
        (Some(position), _) => Some(*position),
        (None, Some(path)) => load_checkpoint(path)?,
        (None, None) => None,
    };
    // clap lets at most one of them through (the "start" group).
    let start = Start::one_of(
        args.start_seq,
        args.start_time.map(|t| t.ns()),
        resume,
        ["--start-seq", "--start-time", "--resume/--checkpoint"],
    )
    .map_err(CliError::new)?;
    Ok(ReplayOptions {
        filter: args.filter.filter(),
        order: args.order,
        speed: args.speed,
        max_gap: args.max_gap.0,
        outcomes: !args.no_outcomes,
        start,
        limit: args.limit,
    })
}

/// The position kept in a checkpoint file, if the file exists.
fn load_checkpoint(path: &Path) -> CliResult<Option<Position>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Position::decode(&text)
            .map(Some)
            .map_err(|e| CliError::new(format!("checkpoint {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io("read", path.display(), &e)),
    }
}

/// Replaces the checkpoint file with `position` (written beside it, then renamed: a crash
/// leaves the old position or the new one, never a torn one).
fn save_checkpoint(path: &Path, position: &Position) -> CliResult<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".partial");
    let mut file = AtomicFile::create_as(path, std::path::PathBuf::from(tmp_name))?;
    file.write_all(format!("{}\n", position.encode()).as_bytes())
        .map_err(|e| CliError::io("write", file.temporary().display(), &e))?;
    Ok(file.commit()?)
}

/// One readable line: time, seq, and what happened.
fn table_line(event: &Event<'_>, line: &mut String) {
    match event {
        EntryView::Signal(s) => line.push_str(&format!(
            "{:<30}  {:>9}  signal   {:<18}  {:<9}  {:<7}  {:>6.4}  {}\n",
            format_rfc3339_ns(s.timestamp_ns),
            s.seq,
            s.source_module,
            s.ticker,
            s.direction.as_str(),
            s.conviction,
            s.signal_type.as_str(),
        )),
        EntryView::Outcome(o) => line.push_str(&format!(
            "{:<30}  {:>9}  outcome  {} seq {} ({}){}\n",
            format_rfc3339_ns(o.decided_at_ns),
            o.seq,
            if o.decision.acted_upon() {
                "acted upon"
            } else {
                "dismissed"
            },
            o.signal_seq,
            o.signal_id,
            o.execution_id
                .map(|x| format!(", execution {x}"))
                .unwrap_or_default(),
        )),
    }
}
