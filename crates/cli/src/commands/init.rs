//! `init`: create an empty ledger with the settings given on the command line.

use std::path::Path;

use signal_ledger_engine::segment::header::FORMAT_VERSION;
use signal_ledger_engine::{Ledger, PersistenceConfig};

use crate::args::GlobalArgs;
use crate::error::CliResult;
use crate::output;
use crate::wiring;

/// Creates the ledger in `dir` (the engine refuses an existing ledger or a non-empty directory).
pub fn create(dir: &Path, global: &GlobalArgs) -> CliResult<Ledger> {
    let config = wiring::apply_overrides(PersistenceConfig::default(), global);
    Ok(Ledger::create(dir, config)?)
}

/// What `init` prints: `{"ledger":"<dir>","format_version":N}`.
#[derive(serde::Serialize)]
struct Created {
    ledger: String,
    format_version: u16,
}

/// The line `init` prints for the ledger created in `dir`.
pub fn created_json(dir: &Path) -> CliResult<String> {
    output::json(&Created {
        ledger: output::path_text(dir),
        format_version: FORMAT_VERSION,
    })
}

/// Runs `init`.
pub fn run(global: &GlobalArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    drop(create(dir, global)?);
    output::println(&created_json(dir)?)
}
