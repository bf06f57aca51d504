//! `verify`: the engine's verify operation ([`verify_ledger`]) with a progress bar, its verdict
//! printed as a line of text or its JSON form. Exit 0 intact, 1 tampered or broken.

use signal_ledger_engine::files::CHECK_LOG_FILE;
use signal_ledger_engine::{
    verify_ledger, Digest, Snapshot, Verdict, VerifyOptions, VerifyRequest,
};

use crate::args::{GlobalArgs, VerifyArgs};
use crate::error::{CliError, CliResult, EXIT_OK, EXIT_TAMPERED};
use crate::{output, progress, wiring};

/// The exit code of `verdict`: 0 intact, 1 otherwise.
pub fn exit_code(verdict: &Verdict) -> u8 {
    if verdict.is_intact() {
        EXIT_OK
    } else {
        EXIT_TAMPERED
    }
}

/// Reads `--against`: the digest line itself (it starts with `{`) or a file holding it.
pub fn parse_against(arg: &str) -> CliResult<Digest> {
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg)
            .map_err(|e| CliError::new(format!("--against: read {arg}: {e}")))?
    };
    Digest::parse(&text).map_err(|e| CliError::new(format!("--against: {e}")))
}

/// Runs the verify operation on `snapshot` with a progress bar; notes about torn tails (not
/// failures) go to standard error.
pub fn check(
    snapshot: &Snapshot,
    request: &VerifyRequest,
) -> Result<Verdict, signal_ledger_engine::NotRecorded> {
    let range = request.options.seq_range(snapshot);
    let bar = progress::records(range.end.saturating_sub(range.start), "verify");
    let verdict = verify_ledger(snapshot, request, &|n| bar.inc(n));
    bar.finish_and_clear();
    let shown = verdict.as_ref().unwrap_or_else(|e| &e.verdict);
    if let Some(t) = &shown.report.torn_tail {
        output::eprintln(&format!(
            "note: {} ends in a torn tail of {} bytes at byte {} (not part of the ledger; the next writer removes it)",
            t.path.display(),
            t.bytes,
            t.offset
        ));
    }
    if shown.check_log_torn_bytes > 0 {
        output::eprintln(&format!(
            "note: {} ends in {} bytes that are not a valid entry (an append cut short, or its last entry damaged); the next append removes them",
            snapshot.dir().join(CHECK_LOG_FILE).display(),
            shown.check_log_torn_bytes
        ));
    }
    verdict
}

/// Opens `dir` and verifies all of it, recording nothing.
pub fn verify_dir(dir: &std::path::Path) -> CliResult<Verdict> {
    let snapshot = wiring::open_snapshot(dir)?;
    check(&snapshot, &VerifyRequest::default()).map_err(|e| CliError::new(e.to_string()))
}

/// Runs `verify` and returns the exit code.
pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> CliResult<u8> {
    let dir = wiring::ledger_dir(global)?;
    let request = VerifyRequest {
        options: VerifyOptions {
            from_seq: args.from_seq,
            to_seq: args.to_seq,
            sequential: args.sequential,
        },
        against: args.against.as_deref().map(parse_against).transpose()?,
        record: args.record,
    };
    let snapshot = wiring::open_snapshot(dir)?;
    let print = |verdict: &Verdict| -> CliResult<()> {
        if args.json {
            output::println(&output::json(verdict)?)
        } else {
            output::println(&verdict.to_string())
        }
    };
    match check(&snapshot, &request) {
        Ok(verdict) => {
            print(&verdict)?;
            Ok(exit_code(&verdict))
        }
        // The verdict stands; say it was not recorded, and why.
        Err(not_recorded) => {
            print(&not_recorded.verdict)?;
            Err(CliError::new(not_recorded.to_string()))
        }
    }
}
