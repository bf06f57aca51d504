//! The read-only commands: `digest`, `stats`, `get` and `tail`. Each opens a snapshot, so they
//! work while a writer appends.

use signal_ledger_engine::record::EntryRecord;
use signal_ledger_engine::{Digest, LedgerStats, SinkMetrics, Snapshot};
use signal_ledger_query::{Catalog, WithOutcomes};

use crate::args::{GetArgs, GlobalArgs, TailArgs};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// The head digest of `snapshot`, or an error when there is no head.
pub fn head_digest(snapshot: &Snapshot) -> CliResult<Digest> {
    Digest::of_head_required(snapshot).map_err(|e| CliError::new(e.to_string()))
}

/// Runs `digest`.
pub fn digest(global: &GlobalArgs) -> CliResult<()> {
    let snapshot = wiring::open_snapshot(wiring::ledger_dir(global)?)?;
    output::println(&output::json(&head_digest(&snapshot)?)?)
}

/// The `stats` of the ledger in `dir` as the CLI shows them: its `ledger.toml` with the
/// command-line overrides, and the metrics the last (or running) sink left.
pub fn stats_of(dir: &std::path::Path, global: &GlobalArgs) -> CliResult<LedgerStats> {
    let toml = wiring::load_config(dir, global)?;
    let snapshot = wiring::open_snapshot(dir)?;
    let sink = SinkMetrics::read_from(dir)?;
    Ok(LedgerStats::of(&snapshot, &toml, sink))
}

/// Runs `stats`.
pub fn stats(global: &GlobalArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    output::println(&output::json(&stats_of(dir, global)?)?)
}

/// Runs `get`: a signal with its latest outcome applied (and, with `--outcomes`, its whole
/// outcome history), or the outcome entry at SEQ as stored.
pub fn get(global: &GlobalArgs, args: &GetArgs) -> CliResult<()> {
    let catalog = Catalog::from_snapshot(wiring::open_snapshot(wiring::ledger_dir(global)?)?);
    let mut record = match (&args.signal_id, args.seq) {
        // Through the segments' id tables (the query crate), not a scan.
        (Some(id), _) => catalog
            .find_signal(id)?
            .ok_or_else(|| CliError::new(format!("signal_id {id} not found")))?,
        (None, Some(seq)) => match catalog.snapshot().entry_record(seq)? {
            Some(EntryRecord::Signal(record)) => record,
            Some(outcome) => return output::println(&output::json(&outcome)?),
            None => return Err(CliError::new(format!("seq {seq} not found"))),
        },
        (None, None) => return Err(CliError::new("give a SEQ or --signal-id ID")),
    };
    catalog.apply_outcome(&mut record)?;
    if args.outcomes {
        let outcomes = catalog.outcome_history(record.seq)?;
        output::println(&output::json(&WithOutcomes {
            record: &record,
            outcomes: &outcomes,
        })?)
    } else {
        output::println(&output::json(&record)?)
    }
}

/// The last `n` records of `snapshot`, one JSON line each, oldest first.
pub fn tail_lines(snapshot: &Snapshot, n: u64) -> CliResult<String> {
    let mut text = String::new();
    for entry in snapshot.tail(n)? {
        text.push_str(&output::json(&entry)?);
        text.push('\n');
    }
    Ok(text)
}

/// Runs `tail`.
pub fn tail(global: &GlobalArgs, args: &TailArgs) -> CliResult<()> {
    let snapshot = wiring::open_snapshot(wiring::ledger_dir(global)?)?;
    let text = tail_lines(&snapshot, args.count)?;
    if text.is_empty() {
        return Ok(());
    }
    output::println(text.trim_end_matches('\n'))
}
