//! `export-bundle`: a compliance bundle of a window (docs/BUNDLES.md), written by the replay
//! crate's [`export_bundle`]; prints one JSON line.

use signal_ledger_query::Catalog;
use signal_ledger_replay::bundle::{export_bundle, BundleSummary};

use crate::args::{ExportBundleArgs, GlobalArgs};
use crate::commands::query::filter_from;
use crate::error::CliResult;
use crate::output::{self, JsonObject};
use crate::wiring;

/// `{"out","signals","outcomes","first_seq","last_seq","manifest_sha256"}`.
fn summary_json(s: &BundleSummary) -> String {
    JsonObject::new()
        .str("out", &output::path_text(&s.out))
        .u64("signals", s.signals)
        .u64("outcomes", s.outcomes)
        .opt_u64("first_seq", s.first_seq)
        .opt_u64("last_seq", s.last_seq)
        .str("manifest_sha256", &s.manifest_sha256)
        .finish()
}

/// Runs `export-bundle`.
pub fn run(global: &GlobalArgs, args: &ExportBundleArgs) -> CliResult<()> {
    let filter = filter_from(&args.filter)?;
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let bar = crate::progress::records(catalog.snapshot().record_count(), "bundle");
    let tool = concat!("signal-ledger ", env!("CARGO_PKG_VERSION"));
    let written = export_bundle(&catalog, &filter, &args.out, tool, &|done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    output::println(&summary_json(&written?))
}
