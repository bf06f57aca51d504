//! `ingest`: NDJSON in, one atomic append out.
//!
//! The whole input is parsed first (by the engine's `parse_ndjson`, in pieces so a progress bar
//! can move), then every valid signal is appended in ONE `Ledger::append`: either all of them are
//! in the ledger afterwards or none is. Without `--skip-invalid` a single bad line refuses the
//! whole input.

use std::io::{Read, Write};
use std::path::Path;

use signal_ledger_engine::input::{
    parse_ndjson_stream, parse_ndjson_with_progress, InputError, InputRefusal, ParsedInput,
};
use signal_ledger_engine::record::json::push_json_str;
use signal_ledger_engine::{AppendReceipt, Ledger, LedgerError, ValidSignal};

use crate::args::{GlobalArgs, IngestArgs};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::{progress, wiring};

/// How to treat invalid lines.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Append the valid lines and skip the invalid ones.
    pub skip_invalid: bool,
    /// Where to write the skipped lines, as NDJSON.
    pub rejects: Option<std::path::PathBuf>,
}

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The append's receipt.
    pub receipt: AppendReceipt,
    /// Whether the ledger holds anything after the append.
    pub ledger_empty: bool,
    /// Lines skipped as invalid (only with `--skip-invalid`).
    pub rejected: Option<usize>,
}

impl IngestOutcome {
    /// The line `ingest` prints.
    pub fn to_json(&self) -> CliResult<String> {
        output::json(self)
    }
}

/// `{"count":N,"already_recorded":D,"first_seq":A,"last_seq":B,"head_hash":"<hex>"}`, plus
/// `"rejected":K` with `--skip-invalid`; `already_recorded` counts the lines whose signal the
/// ledger held already (same signal_id and columns: not appended again); first and last seq
/// are null when nothing was appended, the head hash when the ledger is empty.
impl serde::Serialize for IngestOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = &self.receipt;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("count", &r.count)?;
        m.serialize_entry("already_recorded", &r.duplicates.len())?;
        m.serialize_entry("first_seq", &(r.count > 0).then_some(r.first_seq))?;
        m.serialize_entry("last_seq", &r.last_seq)?;
        m.serialize_entry(
            "head_hash",
            &(!self.ledger_empty).then(|| r.head_hash.to_hex()),
        )?;
        if let Some(k) = self.rejected {
            m.serialize_entry("rejected", &k)?;
        }
        m.end()
    }
}

/// `parse_ndjson` over the whole input, with a progress bar on a terminal.
pub fn parse_input(input: &[u8]) -> ParsedInput {
    let bar = progress::bytes(input.len() as u64, "parse");
    let out = parse_ndjson_with_progress(input, &|done| bar.set_position(done));
    bar.finish_and_clear();
    out
}

/// Writes the rejected lines to `path` as NDJSON ([`InputError::to_json`]).
fn write_rejects(path: &Path, errors: &[InputError]) -> CliResult<()> {
    let mut text = String::new();
    for e in errors {
        text.push_str(&e.to_json());
        text.push('\n');
    }
    let mut file =
        std::fs::File::create(path).map_err(|e| CliError::io("create", path.display(), &e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::io("write", path.display(), &e))
}

/// Parses `input` and appends its signals to `ledger` as one batch.
pub fn ingest_bytes(
    ledger: &mut Ledger,
    input: &[u8],
    options: &IngestOptions,
) -> CliResult<IngestOutcome> {
    ingest_parsed(ledger, parse_input(input), options)
}

/// Parses NDJSON from a file or standard input (`-`), a block at a time, with a progress bar.
pub fn parse_path(input: &Path) -> CliResult<ParsedInput> {
    let stdin = input == Path::new("-");
    let (mut reader, total): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file =
            std::fs::File::open(input).map_err(|e| CliError::io("open", input.display(), &e))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let bar = match total {
        Some(len) => progress::bytes(len, "parse"),
        None => progress::spinner("parsing standard input".to_owned()),
    };
    let name = if stdin {
        "standard input".to_owned()
    } else {
        input.display().to_string()
    };
    let parsed = parse_ndjson_stream(&mut reader, &|done| bar.set_position(done))
        .map_err(|e| CliError::io("read", name, &e))?;
    bar.finish_and_clear();
    Ok(parsed)
}

/// Appends the signals of a parsed input to `ledger` as one batch, unless it has invalid lines
/// and `options` does not skip them.
pub fn ingest_parsed(
    ledger: &mut Ledger,
    parsed: ParsedInput,
    options: &IngestOptions,
) -> CliResult<IngestOutcome> {
    if !options.skip_invalid && !parsed.errors.is_empty() {
        if let Some(refusal) = InputRefusal::of(&parsed.errors) {
            return Err(CliError::new(refusal.to_string()));
        }
    }
    // Written (even when empty) before the append, so a rejects file that cannot be written
    // stops the ingest before anything is appended.
    if let (true, Some(path)) = (options.skip_invalid, &options.rejects) {
        write_rejects(path, &parsed.errors)?;
    }
    let ParsedInput {
        signals,
        lines,
        mut errors,
    } = parsed;
    let invalid = errors.len();
    let spinner = progress::spinner(format!("appending {} signals", signals.len()));
    let line_of = |index: usize| lines.get(index).copied().unwrap_or_default();
    let result = if options.skip_invalid {
        // Each line a unit of its own: a line whose signal_id is taken by a different signal
        // is rejected like an invalid one, and the rest appended, in one pass.
        let units: Vec<&[ValidSignal]> = signals.iter().map(std::slice::from_ref).collect();
        ledger.append_units(&units).map(|appended| {
            for (_, error) in &appended.refused {
                if let Some(rejection) = taken_rejection(error, &line_of, &signals) {
                    errors.push(rejection);
                }
            }
            appended.receipt
        })
    } else {
        ledger.append_valid(&signals)
    };
    spinner.finish_and_clear();
    let taken = errors.len() > invalid;
    if let (true, Some(path)) = (taken, &options.rejects) {
        // The append is done: a rejects file that cannot be rewritten now is a warning (it
        // was writable a moment ago and holds the invalid lines).
        errors.sort_by_key(|e| e.line);
        if let Err(e) = write_rejects(path, &errors) {
            output::eprintln(&format!("warning: the lines refused for a taken signal_id were not added to the rejects file: {e}"));
        }
    }
    let rejected = options.skip_invalid.then_some(errors.len());
    let receipt = result.map_err(|e| match e {
        // The parser validates every line, so this is a safety net; it still names the line.
        LedgerError::InvalidSignal { index, error } => {
            CliError::new(format!("line {}: {error}", line_of(index)))
        }
        LedgerError::SignalIdTaken {
            index,
            signal_id,
            seq,
        } => CliError::new(format!(
            "line {}: field signal_id: {signal_id:?} is already recorded at seq {seq} with different columns; nothing was appended",
            line_of(index)
        )),
        LedgerError::SignalIdRepeated {
            index,
            signal_id,
            earlier,
        } => CliError::new(format!(
            "line {}: field signal_id: {signal_id:?} is also on line {} with different columns; nothing was appended",
            line_of(index),
            line_of(earlier)
        )),
        other => other.into(),
    })?;
    // Freeing a million signals takes a noticeable fraction of a second; let it overlap with
    // the output (or, at exit, not happen at all).
    std::thread::spawn(move || drop(signals));
    Ok(IngestOutcome {
        // Not `ledger.head()`: it computes `next_seq - 1` eagerly and overflows on an empty
        // ledger (reported to the engine's owner).
        ledger_empty: ledger.next_seq() == 0,
        receipt,
        rejected,
    })
}

/// The rejects-file entry of a line refused for a signal_id taken by a different signal
/// (`line_of` maps a signal's index to its line).
fn taken_rejection(
    error: &LedgerError,
    line_of: &dyn Fn(usize) -> u64,
    signals: &[ValidSignal],
) -> Option<InputError> {
    let (index, problem) = match error {
        LedgerError::SignalIdTaken {
            index,
            signal_id,
            seq,
        } => (
            *index,
            format!("{signal_id:?} is already recorded at seq {seq} with different columns"),
        ),
        LedgerError::SignalIdRepeated {
            index,
            signal_id,
            earlier,
        } => (
            *index,
            format!(
                "{signal_id:?} is also on line {} with different columns",
                line_of(*earlier)
            ),
        ),
        _ => return None,
    };
    let mut input = String::from("{\"signal_id\":");
    push_json_str(
        &mut input,
        signals.get(index).map_or("", |s| s.signal_id.as_str()),
    );
    input.push('}');
    Some(InputError {
        line: line_of(index),
        field: Some("signal_id".to_owned()),
        problem,
        input,
    })
}

/// Runs `ingest`.
pub fn run(global: &GlobalArgs, args: &IngestArgs) -> CliResult<()> {
    if args.rejects.is_some() && !(args.skip_invalid || args.follow) {
        return Err(CliError::new(
            "--rejects needs --skip-invalid or --follow (otherwise a bad line refuses the whole input)",
        ));
    }
    if args.follow {
        return crate::commands::follow::run(global, args);
    }
    let dir = wiring::ledger_dir(global)?;
    // Open first: a locked or damaged ledger fails before a large input is read.
    let mut ledger = wiring::open_writer(dir, global)?;
    let parsed = parse_path(&args.input)?;
    let options = IngestOptions {
        skip_invalid: args.skip_invalid,
        rejects: args.rejects.clone(),
    };
    let outcome = ingest_parsed(&mut ledger, parsed, &options)?;
    drop(ledger);
    if let Some(k) = outcome.rejected.filter(|k| *k > 0) {
        let whereto = match &args.rejects {
            Some(path) => format!("; written to {}", path.display()),
            None => String::from(" (pass --rejects FILE to keep them)"),
        };
        output::eprintln(&format!(
            "warning: skipped {k} invalid line{}{whereto}",
            if k == 1 { "" } else { "s" }
        ));
    }
    output::println(&outcome.to_json()?)
}
