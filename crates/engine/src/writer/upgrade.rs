//! Moving a ledger of an older format version on to this build's, without touching an entry.
//!
//! Segment bytes are never rewritten: a reader of version N reads every version up to N, so an
//! upgrade only makes sure new entries go into a segment of the current version and then
//! records the version in `ledger.toml` (PROCEDURES.md, "Upgrading a ledger").

use std::path::{Path, PathBuf};

use super::{Ledger, OpenOptions};
use crate::atomic::write_atomic;
use crate::config::LedgerToml;
use crate::error::{LedgerError, Result};
use crate::files::CONFIG_FILE;
use crate::segment::header::{SegmentHeader, FORMAT_VERSION};
use crate::segment::writer::ActiveSegment;
use crate::snapshot::Snapshot;
use crate::verify::{verify, VerifyOptions};

/// What [`Ledger::upgrade`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The format version found in `ledger.toml`.
    pub from_version: u16,
    /// The version now recorded (this build's).
    pub to_version: u16,
    /// Entries verified before anything was changed.
    pub verified_entries: u64,
    /// The older-version segment that was sealed so that new entries start a segment of the
    /// current version (None if none had to be).
    pub sealed: Option<PathBuf>,
    /// The segment new entries go to.
    pub active: PathBuf,
}

impl Ledger {
    /// Upgrades the ledger in `dir` to this build's format version. Verifies every entry (a
    /// damaged ledger is refused, unchanged), takes the writer lock, seals the active segment
    /// if it is of an older version and holds entries (or replaces it by an empty segment of
    /// the current version if it holds none), and finally rewrites `ledger.toml` with the new
    /// version. Every step is atomic and the last one decides, so an interrupted upgrade can
    /// simply be run again; upgrading a current ledger changes nothing.
    pub fn upgrade(dir: &Path) -> Result<UpgradeReport> {
        // Verified before the writer opens, which may start a segment (after a crash between
        // sealing one and creating the next): a damaged ledger is left exactly as it is.
        let config_path = dir.join(CONFIG_FILE);
        let mut toml = LedgerToml::load(&config_path)?;
        let report = verify(&Snapshot::open(dir)?, VerifyOptions::default());
        if let Some(damage) = report.first_failure {
            return Err(LedgerError::Corrupt(Box::new(damage)));
        }
        let mut ledger = Ledger::open_any_version(dir, OpenOptions::default(), true)?;
        let sealed = ledger.start_current_version_segment()?;
        let from_version = toml.format_version;
        if toml.format_version != FORMAT_VERSION {
            toml.format_version = FORMAT_VERSION;
            write_atomic(&config_path, toml.to_toml_text().as_bytes())?;
        }
        Ok(UpgradeReport {
            from_version,
            to_version: FORMAT_VERSION,
            verified_entries: report.records_checked,
            sealed,
            active: ledger.active.path.clone(),
        })
    }

    /// Makes the active segment one of the current format version: an older one holding
    /// entries is sealed and the next one started; an empty one is replaced (atomically, by
    /// rename) with the same first seq, prev_hash and creation time. Returns the segment
    /// sealed, if any.
    pub(crate) fn start_current_version_segment(&mut self) -> Result<Option<PathBuf>> {
        if self.active.header.format_version >= FORMAT_VERSION {
            return Ok(None);
        }
        self.refuse_if_poisoned()?;
        if self.active.stats.record_count > 0 {
            let path = self.active.path.clone();
            self.batch_recorded_at_ns = self.last_recorded_at_ns;
            self.roll_segment()?;
            return Ok(Some(path));
        }
        let header = SegmentHeader {
            format_version: FORMAT_VERSION,
            ..self.active.header
        };
        self.active = ActiveSegment::create(&self.dir, self.factory.as_ref(), header)?;
        Ok(None)
    }
}
