//! Compliance export bundles: a window of signals as files a regulator can check with standard
//! tools (docs/BUNDLES.md).
//!
//! [`export_bundle`] writes, from one snapshot (the catalog's), a directory holding
//!
//! - `signals.csv` and `signals.ndjson`: the signals meeting the filter, in seq order, all 22
//!   columns, from one decoding pass ([`Catalog::export_each`]);
//! - `outcomes.ndjson`: every outcome entry of those signals, as stored, in seq order;
//! - `SHA256SUMS`: the three data files' SHA-256 in `sha256sum -c` form;
//! - `manifest.json`: the window, filters, counts, first and last seq, the prev_hash the window
//!   starts from, the ledger's head digest, each data file's length and SHA-256, the tool.
//!
//! Every file is hashed as it is written. The bundle is written into a temporary sibling
//! directory, fsynced, and renamed into place only when whole; on any failure nothing is left.

mod hashing;
mod manifest;
mod outcomes;
mod staging;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use signal_ledger_engine::{Digest, Hash, Snapshot};
use signal_ledger_query::{Catalog, ExportFormat, ExportOutput, ExportSummary, Filter};

pub use hashing::{FileDigest, HashingWriter};
pub use manifest::BUNDLE_FORMAT;

use crate::error::{ReplayError, Result};
use manifest::{LedgerFacts, Manifest};
use staging::{StagedFile, Staging};

/// Name of the CSV of the exported signals.
pub const SIGNALS_CSV: &str = "signals.csv";
/// Name of the NDJSON of the exported signals.
pub const SIGNALS_NDJSON: &str = "signals.ndjson";
/// Name of the NDJSON of their outcome entries.
pub const OUTCOMES_NDJSON: &str = "outcomes.ndjson";
/// Name of the checksum file (`sha256sum -c` form) of the three data files.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// Name of the manifest.
pub const MANIFEST: &str = "manifest.json";

/// One data file of a bundle, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Its name in the bundle directory.
    pub name: &'static str,
    /// Its length in bytes.
    pub bytes: u64,
    /// Its SHA-256, 64 lower-case hex characters.
    pub sha256: String,
    /// Records it holds (CSV: rows after the header).
    pub records: u64,
}

impl BundleFile {
    fn new(name: &'static str, digest: FileDigest, records: u64) -> BundleFile {
        BundleFile {
            name,
            bytes: digest.bytes,
            sha256: digest.sha256_hex(),
            records,
        }
    }
}

/// What [`export_bundle`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSummary {
    /// The bundle directory.
    pub out: PathBuf,
    /// Signals exported.
    pub signals: u64,
    /// Outcome entries exported.
    pub outcomes: u64,
    /// Seq of the first signal exported.
    pub first_seq: Option<u64>,
    /// Seq of the last signal exported.
    pub last_seq: Option<u64>,
    /// The row hash the window starts from (that of the entry at `first_seq - 1`).
    pub prev_hash: Option<Hash>,
    /// The row hash of the last signal exported.
    pub last_row_hash: Option<Hash>,
    /// The data files, as the manifest lists them.
    pub files: Vec<BundleFile>,
    /// SHA-256 of `manifest.json`, hex: what to keep apart from the bundle to check it later.
    pub manifest_sha256: String,
}

/// `{"out","signals","outcomes","first_seq","last_seq","manifest_sha256"}`: what
/// `export-bundle` prints (the files and hashes are in the manifest itself).
impl serde::Serialize for BundleSummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("BundleSummary", 6)?;
        o.serialize_field("out", &self.out.display().to_string())?;
        o.serialize_field("signals", &self.signals)?;
        o.serialize_field("outcomes", &self.outcomes)?;
        o.serialize_field("first_seq", &self.first_seq)?;
        o.serialize_field("last_seq", &self.last_seq)?;
        o.serialize_field("manifest_sha256", &self.manifest_sha256)?;
        o.end()
    }
}

/// Writes a bundle of the signals of `catalog` meeting `filter` (its `from_ns`/`to_ns` are the
/// window) into the new directory `out_dir`, which must not exist or be empty. `tool` names
/// the writer in the manifest (e.g. `signal-ledger 0.1.0`); `progress` hears the entries
/// examined so far, of the snapshot's record count.
pub fn export_bundle(
    catalog: &Catalog,
    filter: &Filter,
    out_dir: &Path,
    tool: &str,
    progress: &dyn Fn(u64),
) -> Result<BundleSummary> {
    let staging = Staging::create(out_dir)?;
    let (summary, csv, ndjson) = write_signals(catalog, filter, &staging, progress)?;
    let mut outcome_file = staging.create_file(OUTCOMES_NDJSON)?;
    let outcomes = outcomes::write_outcomes(catalog, filter, &mut outcome_file)?;
    let files = vec![
        BundleFile::new(SIGNALS_CSV, csv, summary.records),
        BundleFile::new(SIGNALS_NDJSON, ndjson, summary.records),
        BundleFile::new(OUTCOMES_NDJSON, outcome_file.finish()?, outcomes),
    ];
    let snapshot = catalog.snapshot();
    let (prev_hash, last_row_hash) = window_ends(snapshot, &summary)?;
    write_small(&staging, SHA256SUMS, &sha256sums(&files))?;
    let manifest = Manifest {
        tool,
        created_at_ns: now_ns(),
        ledger: LedgerFacts {
            format_version: snapshot.segments().last().map(|s| s.header.format_version),
            first_seq: snapshot.first_seq(),
            next_seq: snapshot.next_seq(),
            head: Digest::of_head(snapshot)?,
        },
        filter,
        signals: summary.records,
        outcomes,
        first_seq: summary.first_seq,
        last_seq: summary.last_seq,
        prev_hash,
        last_row_hash,
        files: &files,
    };
    let manifest_digest = write_small(&staging, MANIFEST, &manifest.to_text())?;
    let out = staging.commit()?;
    Ok(BundleSummary {
        out,
        signals: summary.records,
        outcomes,
        first_seq: summary.first_seq,
        last_seq: summary.last_seq,
        prev_hash,
        last_row_hash,
        files,
        manifest_sha256: manifest_digest.sha256_hex(),
    })
}

/// `signals.csv` and `signals.ndjson`, from one pass over the matching signals.
fn write_signals(
    catalog: &Catalog,
    filter: &Filter,
    staging: &Staging,
    progress: &dyn Fn(u64),
) -> Result<(ExportSummary, FileDigest, FileDigest)> {
    let mut csv = staging.create_file(SIGNALS_CSV)?;
    let mut ndjson = staging.create_file(SIGNALS_NDJSON)?;
    let exported = catalog.export_each(
        filter,
        &mut [
            ExportOutput {
                format: ExportFormat::Csv,
                out: &mut csv.out,
            },
            ExportOutput {
                format: ExportFormat::Ndjson,
                out: &mut ndjson.out,
            },
        ],
        progress,
    );
    let summary = match exported {
        Ok(summary) => summary,
        // A write error comes back naming "the export output": say which file.
        Err(e) => {
            let named = csv.failure().or_else(|| ndjson.failure());
            return Err(named.unwrap_or_else(|| e.into()));
        }
    };
    Ok((summary, csv.finish()?, ndjson.finish()?))
}

/// Writes a small file whole; its digest.
fn write_small(staging: &Staging, name: &'static str, text: &str) -> Result<FileDigest> {
    let mut file: StagedFile = staging.create_file(name)?;
    file.out
        .write_all(text.as_bytes())
        .map_err(|e| ReplayError::io("write", &file.path, e))?;
    file.finish()
}

/// `SHA256SUMS`: `<hex>  <name>` per file, as `sha256sum` prints and `sha256sum -c` reads.
fn sha256sums(files: &[BundleFile]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.name))
        .collect()
}

/// The row hash the exported window starts from, and that of its last signal (None, None for
/// an empty window). The first is the row hash of the entry at `first_seq - 1`; when the ledger
/// no longer holds it (retention), the prev_hash of the first held segment's header, which the
/// retention anchors vouch for; for seq 0 the genesis hash. It must be the prev_hash the first
/// exported signal stores, or the ledger is damaged and no bundle is written.
fn window_ends(snapshot: &Snapshot, s: &ExportSummary) -> Result<(Option<Hash>, Option<Hash>)> {
    let (Some(first), Some(last)) = (s.first_seq, s.last_seq) else {
        return Ok((None, None));
    };
    let before = if first <= snapshot.first_seq() {
        snapshot.segments().first().map(|seg| seg.header.prev_hash)
    } else {
        snapshot.row_hash_at(first - 1)?
    };
    let stored = snapshot.get(first)?.map(|r| r.prev_hash);
    match (before, stored) {
        (Some(b), Some(st)) if b == st => {}
        _ => {
            let hex = |h: Option<Hash>| h.map_or_else(|| "none".to_owned(), |h| h.to_hex());
            return Err(ReplayError::BrokenChain {
                seq: first,
                expected: hex(before),
                found: hex(stored),
            });
        }
    }
    Ok((before, snapshot.row_hash_at(last)?))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
