//! `checks`: the integrity checks recorded in the check log; `retention`: expired segments out,
//! anchors in, and the legal hold.

use signal_ledger_engine::checklog::{read_check_log, CheckRecord};
use signal_ledger_engine::now_ns;
use signal_ledger_engine::timefmt::format_rfc3339_ns;

use crate::args::{
    ChecksArgs, ChecksFormat, GlobalArgs, HoldState, RetentionArgs, RetentionCommand,
};
use crate::error::{CliResult, EXIT_OK, EXIT_TAMPERED};
use crate::output;
use crate::wiring;

/// One check as a table line.
fn check_line(c: &CheckRecord) -> String {
    let range = if c.expected_count == 0 {
        "(nothing new)".to_owned()
    } else {
        format!("{}..={}", c.range_start, c.range_end)
    };
    let errors = if c.errors_json == "[]" {
        String::new()
    } else {
        format!("  {}", c.errors_json)
    };
    format!(
        "{:>6}  {}  {:<11}  {:<6}  {:<24}  {:>10}  {:>10}  {:>9.1}{errors}",
        c.check_id,
        format_rfc3339_ns(c.checked_at_ns),
        c.mode.as_str(),
        if c.chain_valid { "PASS" } else { "FAIL" },
        range,
        c.expected_count,
        c.actual_count,
        c.duration_ns as f64 / 1e6,
    )
}

/// Runs `checks`: lists the recorded checks (all, or the failed ones) after walking the check
/// log's chain. Exit 1 if the check log itself is damaged (the entries before the damage are
/// listed, then the damage).
pub fn list(global: &GlobalArgs, args: &ChecksArgs) -> CliResult<u8> {
    let dir = wiring::ledger_dir(global)?;
    wiring::open_snapshot(dir)?; // a ledger, or a clear error
    let log = read_check_log(dir)?;
    if log.torn_bytes > 0 {
        output::eprintln(&format!(
            "note: {} ends in {} bytes that are not a valid entry (an append cut short, or its last entry damaged)",
            log.path.display(),
            log.torn_bytes
        ));
    }
    let mut text = String::new();
    if args.format == ChecksFormat::Table {
        text.push_str(&format!(
            "{:>6}  {:<30}  {:<11}  {:<6}  {:<24}  {:>10}  {:>10}  {:>9}\n",
            "check", "checked_at", "mode", "result", "range", "expected", "actual", "ms"
        ));
    }
    for check in log.checks().filter(|c| !args.failed || !c.chain_valid) {
        text.push_str(&match args.format {
            ChecksFormat::Table => check_line(check),
            ChecksFormat::Json => check.to_json(),
        });
        text.push('\n');
    }
    output::print(&text)?;
    match &log.damage {
        Some(damage) => {
            match args.format {
                ChecksFormat::Table => {
                    output::println(&format!("TAMPERED: the check log is damaged: {damage}"))?
                }
                ChecksFormat::Json => output::println(&output::json(
                    &serde_json::json!({ "check_log_damage": damage }),
                )?)?,
            }
            Ok(EXIT_TAMPERED)
        }
        None => Ok(EXIT_OK),
    }
}

/// Runs `retention run [--apply]` and `retention hold on|off`.
pub fn retention(global: &GlobalArgs, args: &RetentionArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    let mut ledger = wiring::open_writer(dir, global)?;
    match &args.command {
        RetentionCommand::Run { apply: false } => {
            output::println(&output::json(&ledger.retention_plan(now_ns()))?)
        }
        RetentionCommand::Run { apply: true } => {
            let plan = ledger.apply_retention(now_ns())?;
            output::println(&output::json(&plan)?)
        }
        RetentionCommand::Hold { state } => {
            ledger.set_legal_hold(*state == HoldState::On)?;
            output::println(&output::json(&serde_json::json!({
                "legal_hold": *state == HoldState::On
            }))?)
        }
    }
}
