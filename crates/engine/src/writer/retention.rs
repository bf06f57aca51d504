//! Retention: removing expired sealed segments whole, oldest first, each after recording a
//! retention anchor in the check log, so that what remains still verifies from a known start
//! and nothing else can go missing unnoticed (FORMAT.md, "Retention").

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::ids::IdTable;
use super::Ledger;
use crate::atomic::{sync_dir, write_atomic};
use crate::checklog::{append_entry, encode_anchor, read_check_log, AnchorRecord};
use crate::config::LedgerToml;
use crate::error::{LedgerError, Result};
use crate::files::{sidecar_path, CONFIG_FILE};
use crate::hash::Hash;
use crate::snapshot::Snapshot;
use crate::verify::{verify, VerifyOptions};

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// A sealed segment retention removes (or would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredSegment {
    /// The segment file.
    pub path: PathBuf,
    /// Its first and last seq.
    pub first_seq: u64,
    /// Its last seq.
    pub last_seq: u64,
    /// Entries it holds.
    pub record_count: u64,
    /// Its trailer's signal timestamp range.
    pub min_timestamp_ns: i64,
    /// Largest signal timestamp.
    pub max_timestamp_ns: i64,
    /// File size in bytes.
    pub bytes: u64,
    /// The check-log seq of its anchor, once recorded (None in a dry run).
    pub anchor_seq: Option<u64>,
}

/// What retention did, or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    /// Days kept (0: forever).
    pub retention_days: u32,
    /// Entries recorded before this instant are expired (None when nothing expires).
    pub cutoff_ns: Option<i64>,
    /// Whether a legal hold kept everything.
    pub legal_hold: bool,
    /// The segments removed (or to remove), oldest first.
    pub expired: Vec<ExpiredSegment>,
    /// Whether they were removed (false: a dry run).
    pub applied: bool,
}

impl Ledger {
    /// What retention would remove now: the oldest sealed segments all of whose entries were
    /// recorded more than `retention_days` before `now_ns` (a segment counts as recorded by the
    /// time the next one was created, which is never before its last entry's recorded_at),
    /// stopping at the first that is not. Nothing while a legal hold is in force, when
    /// `retention_days` is 0, or for the active segment.
    pub fn retention_plan(&self, now_ns: i64) -> RetentionPlan {
        let days = self.config.retention_days;
        let mut plan = RetentionPlan {
            retention_days: days,
            cutoff_ns: None,
            legal_hold: self.config.legal_hold,
            expired: Vec::new(),
            applied: false,
        };
        if days == 0 || self.config.legal_hold {
            return plan;
        }
        let cutoff = now_ns.saturating_sub(i64::from(days).saturating_mul(DAY_NS));
        plan.cutoff_ns = Some(cutoff);
        for (i, segment) in self.sealed.iter().enumerate() {
            let next_created = self
                .sealed
                .get(i + 1)
                .map_or(self.active.header.created_at_ns, |s| s.header.created_at_ns);
            if next_created >= cutoff {
                break;
            }
            let t = &segment.trailer;
            plan.expired.push(ExpiredSegment {
                path: segment.path.clone(),
                first_seq: t.first_seq,
                last_seq: t.last_seq,
                record_count: t.record_count,
                min_timestamp_ns: t.min_timestamp_ns,
                max_timestamp_ns: t.max_timestamp_ns,
                bytes: segment.records_end + crate::segment::trailer::TRAILER_LEN as u64,
                anchor_seq: None,
            });
        }
        plan
    }

    /// Removes what [`Ledger::retention_plan`] names. Each segment, oldest first, is verified
    /// entry by entry (a damaged segment stops retention with the damage: it is evidence, not
    /// to be deleted), its anchor is recorded and synced in the check log (the segment's seq
    /// range, count, timestamp range, the hash it chained from, its last row hash and the
    /// SHA-256 of its file), and only then is it deleted, with its index sidecar. A crash in
    /// between leaves either the segment (readers still start from seq 0 and see it) or its
    /// anchor and no segment (readers start from the anchor): a valid ledger either way, and
    /// the next run finishes without recording the anchor twice.
    pub fn apply_retention(&mut self, now_ns: i64) -> Result<RetentionPlan> {
        self.refuse_if_poisoned()?;
        let mut plan = self.retention_plan(now_ns);
        if plan.expired.is_empty() {
            plan.applied = true;
            return Ok(plan);
        }
        let snapshot = Snapshot::open(&self.dir)?;
        let log = read_check_log(&self.dir)?;
        if let Some(damage) = log.damage {
            return Err(LedgerError::Corrupt(Box::new(damage)));
        }
        // The id table keeps files open and locations in them: it is reloaded when next needed.
        self.ids.forget_open_files();
        self.ids = IdTable::unloaded();
        for expired in &mut plan.expired {
            let Some(segment) = self.sealed.first().cloned() else {
                break;
            };
            debug_assert_eq!(segment.header.first_seq, expired.first_seq);
            let report = verify(
                &snapshot,
                VerifyOptions {
                    from_seq: Some(expired.first_seq),
                    to_seq: Some(expired.last_seq),
                    sequential: false,
                },
            );
            if let Some(damage) = report.first_failure {
                return Err(LedgerError::Corrupt(Box::new(damage)));
            }
            // The anchor records the trailer's last row hash: it must be the last entry's.
            let last = snapshot.row_hash_at(expired.last_seq)?;
            if last != Some(segment.trailer.last_row_hash) {
                return Err(LedgerError::corrupt(
                    &segment.path,
                    segment.records_end,
                    Some(segment.trailer.first_seq),
                    crate::error::CorruptKind::TrailerMismatch(
                        "trailer's last row_hash is not the last entry's".into(),
                    ),
                ));
            }
            let recorded = log.anchors().find(|a| {
                a.first_seq == expired.first_seq
                    && a.last_seq == expired.last_seq
                    && a.last_row_hash == segment.trailer.last_row_hash
            });
            let anchor_seq = match recorded {
                Some(a) => a.seq,
                None => {
                    let (file_sha256, file_len) = file_sha256(&segment.path)?;
                    let anchor = AnchorRecord {
                        seq: 0,
                        removed_at_ns: now_ns,
                        first_seq: expired.first_seq,
                        last_seq: expired.last_seq,
                        record_count: expired.record_count,
                        min_timestamp_ns: expired.min_timestamp_ns,
                        max_timestamp_ns: expired.max_timestamp_ns,
                        prev_hash: segment.header.prev_hash,
                        last_row_hash: segment.trailer.last_row_hash,
                        file_sha256,
                        file_len,
                    };
                    append_entry(&self.dir, |seq, prev, out| {
                        encode_anchor(out, &AnchorRecord { seq, ..anchor }, prev)
                    })?
                    .0
                }
            };
            expired.anchor_seq = Some(anchor_seq);
            remove_if_present(&sidecar_path(&segment.path))?;
            remove_if_present(&segment.path)?;
            sync_dir(&self.dir)?;
            self.sealed.remove(0);
        }
        plan.applied = true;
        Ok(plan)
    }

    /// Places or lifts a legal hold: rewrites `ledger.toml` (atomically, under the writer lock)
    /// with `legal_hold` set, and applies it to this writer. While it is in force, retention
    /// removes nothing.
    pub fn set_legal_hold(&mut self, on: bool) -> Result<()> {
        let path = self.dir.join(CONFIG_FILE);
        let mut toml = LedgerToml::load(&path)?;
        toml.persistence.legal_hold = on;
        write_atomic(&path, toml.to_toml_text().as_bytes())?;
        self.config.legal_hold = on;
        Ok(())
    }
}

/// SHA-256 and length of the file at `path`, read in 1 MiB pieces.
fn file_sha256(path: &Path) -> Result<(Hash, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| LedgerError::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| LedgerError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        len += n as u64;
    }
    Ok((Hash(hasher.finalize().into()), len))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LedgerError::io("remove", path, e)),
    }
}
