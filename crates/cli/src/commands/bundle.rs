//! `export-bundle`: a compliance bundle of a window (docs/BUNDLES.md), written by the replay
//! crate's [`export_bundle`]; prints one JSON line.

use signal_ledger_query::Catalog;
use signal_ledger_replay::bundle::export_bundle;

use crate::args::{ExportBundleArgs, GlobalArgs};
use crate::error::CliResult;
use crate::output;
use crate::wiring;

/// Runs `export-bundle`.
pub fn run(global: &GlobalArgs, args: &ExportBundleArgs) -> CliResult<()> {
    let filter = args.filter.filter();
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let bar = crate::progress::records(catalog.snapshot().record_count(), "bundle");
    let tool = concat!("signal-ledger ", env!("CARGO_PKG_VERSION"));
    let written = export_bundle(&catalog, &filter, &args.out, tool, &|done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    output::println(&output::json(&written?)?)
}
