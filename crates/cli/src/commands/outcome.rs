//! `outcome`: record whether signals were acted upon; `upgrade`: move an older ledger on.

use std::io::Read;

use signal_ledger_engine::input::{parse_outcomes_ndjson, InputRefusal};
use signal_ledger_engine::record::{Decision, Outcome};
use signal_ledger_engine::timefmt::parse_rfc3339_ns;
use signal_ledger_engine::{now_ns, OutcomesRecorded};
use signal_ledger_engine::{Ledger, LedgerError};

use crate::args::{GlobalArgs, OutcomeArgs};
use crate::error::{CliError, CliResult};
use crate::output::{self, path_text};
use crate::wiring;

/// Runs `outcome`: one outcome from the flags, or every line of `--file`, in one append.
pub fn run(global: &GlobalArgs, args: &OutcomeArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    let (lines, outcomes): (Vec<Option<u64>>, Vec<Outcome>) = match &args.file {
        Some(path) => read_outcomes(path)?
            .into_iter()
            .map(|(line, o)| (Some(line), o))
            .unzip(),
        None => (vec![None], vec![outcome_from_flags(args)?]),
    };
    let mut ledger = wiring::open_writer(dir, global)?;
    let receipt = ledger
        .append_outcomes(&outcomes)
        .map_err(|e| refusal(e, &lines, args.file.as_deref()))?;
    output::println(&output::json(&OutcomesRecorded {
        outcomes: &outcomes,
        receipt: &receipt,
    })?)
}

/// An append's refusal, naming the input line of the outcome at fault (for `--file`).
fn refusal(e: LedgerError, lines: &[Option<u64>], file: Option<&std::path::Path>) -> CliError {
    let at = |index: usize| lines.get(index).copied().flatten();
    let (line, message) = match &e {
        LedgerError::UnknownSignal { index, signal_id } => (
            at(*index),
            format!("field signal_id: no signal with signal_id {signal_id:?} is recorded in this ledger"),
        ),
        LedgerError::InvalidOutcome { index, error } => (at(*index), error.to_string()),
        _ => return e.into(),
    };
    match (file, line) {
        (Some(path), Some(line)) => CliError::new(format!(
            "{}: line {line}: {message}; nothing was appended",
            input_name(path)
        )),
        _ => CliError::new(message),
    }
}

/// How an input file is named in messages.
fn input_name(path: &std::path::Path) -> String {
    if path == std::path::Path::new("-") {
        "standard input".to_owned()
    } else {
        path_text(path)
    }
}

/// The outcome the flags describe.
fn outcome_from_flags(args: &OutcomeArgs) -> CliResult<Outcome> {
    let signal_id = args
        .signal_id
        .clone()
        .ok_or_else(|| CliError::new("give a SIGNAL_ID (or --file)"))?;
    if !args.acted && !args.dismissed {
        return Err(CliError::new("give --acted or --dismissed"));
    }
    let decided_at_ns = match &args.at {
        Some(text) => parse_rfc3339_ns(text)
            .map_err(|problem| CliError::new(format!("--at {text:?}: {problem}")))?,
        None => now_ns(),
    };
    Ok(Outcome {
        signal_id,
        decision: Decision::from_acted(args.acted && !args.dismissed),
        execution_id: args.execution_id.clone(),
        reason: args.reason.clone(),
        decided_at_ns,
    })
}

/// Every outcome of an NDJSON file ("-": standard input); any bad line refuses the whole input,
/// naming the first.
fn read_outcomes(path: &std::path::Path) -> CliResult<Vec<(u64, Outcome)>> {
    let mut bytes = Vec::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::new(format!("read {}: {e}", path_text(path))))?;
    parse_outcomes_ndjson(&bytes, now_ns()).map_err(|errors| {
        let refusal = InputRefusal::of(&errors).map_or_else(String::new, |r| r.to_string());
        CliError::new(format!(
            "{}: {refusal}; nothing was appended",
            input_name(path)
        ))
    })
}

/// Runs `upgrade`.
pub fn upgrade(global: &GlobalArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    let report = Ledger::upgrade(dir)?;
    output::println(&output::json(&report)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use signal_ledger_engine::input::parse_outcome_line;

    #[test]
    fn a_line_from_the_flags_parses_like_ndjson() {
        let from_ndjson = parse_outcome_line(
            r#"{"signal_id":"s","acted_upon":true,"at":"2026-01-05T00:00:00Z"}"#,
            0,
        )
        .unwrap();
        let args = OutcomeArgs {
            signal_id: Some("s".into()),
            acted: true,
            dismissed: false,
            execution_id: None,
            reason: None,
            at: Some("2026-01-05T00:00:00Z".into()),
            file: None,
        };
        assert_eq!(outcome_from_flags(&args).unwrap(), from_ndjson);
    }
}
