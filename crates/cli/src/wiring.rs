//! From the global options to engine objects: the ledger directory, the settings in force (its
//! `ledger.toml` with the command-line overrides on top), a writer or a snapshot.

use std::path::{Path, PathBuf};

use signal_ledger_engine::checklog::{CheckSchedule, CheckScheduler};
use signal_ledger_engine::config::LedgerToml;
use signal_ledger_engine::files::CONFIG_FILE;
use signal_ledger_engine::{Ledger, LedgerError, OpenOptions, PersistenceConfig, Snapshot};

use crate::args::GlobalArgs;
use crate::error::{CliError, CliResult};
use crate::output;

/// The `--ledger` directory, or an error saying how to give one.
pub fn ledger_dir(global: &GlobalArgs) -> CliResult<&Path> {
    global.ledger.as_deref().ok_or_else(|| {
        CliError::new("no ledger directory: pass --ledger DIR or set SIGNAL_LEDGER_DIR")
    })
}

/// Whether any setting is overridden on the command line.
pub fn has_overrides(global: &GlobalArgs) -> bool {
    global.durability.is_some()
        || global.segment_size_bytes.is_some()
        || global.batch_size.is_some()
        || global.flush_interval_ms.is_some()
        || global.retention_days.is_some()
}

/// `base` with the command-line overrides applied.
pub fn apply_overrides(base: PersistenceConfig, global: &GlobalArgs) -> PersistenceConfig {
    PersistenceConfig {
        durability: global.durability.unwrap_or(base.durability),
        segment_size_bytes: global.segment_size_bytes.unwrap_or(base.segment_size_bytes),
        batch_size: global.batch_size.unwrap_or(base.batch_size),
        flush_interval_ms: global.flush_interval_ms.unwrap_or(base.flush_interval_ms),
        retention_days: global.retention_days.unwrap_or(base.retention_days),
        ..base
    }
}

/// The ledger's `ledger.toml` with the overrides applied (an error if `dir` is not a ledger).
pub fn load_config(dir: &Path, global: &GlobalArgs) -> CliResult<LedgerToml> {
    let path = dir.join(CONFIG_FILE);
    if !path.exists() {
        return Err(LedgerError::NotALedger {
            path: dir.to_path_buf(),
        }
        .into());
    }
    let mut toml = LedgerToml::load(&path)?;
    toml.persistence = apply_overrides(toml.persistence, global);
    Ok(toml)
}

/// Opens the writer of `dir`, with the overrides, and reports a torn tail it removed.
pub fn open_writer(dir: &Path, global: &GlobalArgs) -> CliResult<Ledger> {
    let ledger = if has_overrides(global) {
        let toml = load_config(dir, global)?;
        Ledger::open_with(
            dir,
            OpenOptions {
                config_override: Some(toml.persistence),
                ..OpenOptions::default()
            },
        )?
    } else {
        Ledger::open(dir)?
    };
    if let Some(r) = ledger.recovery() {
        output::eprintln(&format!(
            "note: recovered a torn tail: truncated {} to {} bytes, dropping {} bytes ({})",
            r.segment.display(),
            r.offset,
            r.dropped_bytes,
            r.reason
        ));
    }
    Ok(ledger)
}

/// A read-only snapshot of `dir`.
pub fn open_snapshot(dir: &Path) -> CliResult<Snapshot> {
    Ok(Snapshot::open(dir)?)
}

/// The directory a relative `dir` names, for messages that must be usable from elsewhere.
pub fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Starts the ledger's scheduled integrity checks (recorded in the check log) when its settings
/// ask for them; a failed or unrecorded check is an error line on stderr. Runs until dropped.
pub fn start_scheduled_checks(
    dir: &Path,
    persistence: &PersistenceConfig,
) -> CliResult<Option<CheckScheduler>> {
    if persistence.check_interval_secs == 0 {
        return Ok(None);
    }
    let schedule = CheckSchedule {
        interval: std::time::Duration::from_secs(persistence.check_interval_secs),
        full_every: persistence.full_check_every,
    };
    let scheduler = CheckScheduler::start(dir.to_path_buf(), schedule, |outcome| match outcome {
        Ok(check) if check.chain_valid => {}
        Ok(check) => output::eprintln(&format!(
            "error: integrity check {} FAILED ({} seqs {}..={}): {}",
            check.check_id,
            check.mode.as_str(),
            check.range_start,
            check.range_end,
            check.errors_json
        )),
        Err(e) => output::eprintln(&format!("error: integrity check not recorded: {e}")),
    })?;
    Ok(Some(scheduler))
}
