//! Creating a ledger, opening one (recovering a torn tail in its last segment), and opening it
//! again after a failed append, removing what that append left.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ids::IdTable;
use super::lock::{remove_temporaries, WriterLock};
use super::{Ledger, OpenOptions, RecoveryReport};
use crate::atomic::{sync_dir, write_atomic};
use crate::clock::now_ns;
use crate::config::{LedgerToml, PersistenceConfig};
use crate::error::{CorruptKind, LedgerError, Result};
use crate::files::{is_own_temporary, segment_file_name, CONFIG_FILE, LOCK_FILE};
use crate::hash::GENESIS_PREV_HASH;
use crate::layout::{read_layout, TailAccess};
use crate::record::codec::{entry_kind, signal_recorded_at, EntryKind};
use crate::record::frame::{frame_at, FrameAt, FRAME_HEADER_LEN};
use crate::segment::file::{RealFiles, SegmentFileFactory};
use crate::segment::header::{SegmentHeader, FORMAT_VERSION, HEADER_LEN};
use crate::segment::scan::TailState;
use crate::segment::writer::ActiveSegment;
use crate::segment::SegmentBytes;

impl Ledger {
    /// Creates a new ledger in `dir` (created if missing; refused if it holds anything else).
    pub fn create(dir: &Path, config: PersistenceConfig) -> Result<Ledger> {
        config.validate().map_err(|message| LedgerError::Config {
            path: dir.join(CONFIG_FILE),
            message,
        })?;
        std::fs::create_dir_all(dir).map_err(|e| LedgerError::io("create directory", dir, e))?;
        // Checked before taking the lock (so a foreign directory gets no LOCK file), and again
        // once it is held (another create may have finished in between).
        create_leftovers(dir)?;
        let lock = WriterLock::acquire(dir)?;
        for path in create_leftovers(dir)? {
            std::fs::remove_file(&path).map_err(|e| LedgerError::io("remove", &path, e))?;
        }
        let factory: Arc<dyn SegmentFileFactory> = Arc::new(RealFiles);
        let header = SegmentHeader {
            format_version: FORMAT_VERSION,
            first_seq: 0,
            created_at_ns: now_ns(),
            prev_hash: GENESIS_PREV_HASH,
        };
        let active = ActiveSegment::create(dir, factory.as_ref(), header)?;
        // ledger.toml last: a directory without it is not a ledger, so a crash during create
        // leaves something `open` refuses rather than half a ledger.
        let toml = LedgerToml {
            format_version: FORMAT_VERSION,
            persistence: config.clone(),
        };
        write_atomic(&dir.join(CONFIG_FILE), toml.to_toml_text().as_bytes())?;
        Ok(Ledger {
            dir: dir.to_path_buf(),
            config,
            _lock: lock,
            factory,
            sealed: Vec::new(),
            active,
            last_recorded_at_ns: i64::MIN,
            recovery: None,
            poisoned: None,
            frame_buf: Vec::new(),
            batch_recorded_at_ns: i64::MIN,
            ids: IdTable::empty(),
        })
    }

    /// Opens the ledger in `dir` for writing with its `ledger.toml` settings.
    pub fn open(dir: &Path) -> Result<Ledger> {
        Self::open_with(dir, OpenOptions::default())
    }

    /// Opens the ledger in `dir` for writing. A torn tail in the last segment is truncated to
    /// the last whole valid entry, synced and reported ([`Ledger::recovery`]); any other damage
    /// is refused with [`LedgerError::Corrupt`] and nothing is changed.
    ///
    /// A ledger of an older format version is refused with [`LedgerError::UpgradeNeeded`]
    /// ([`Ledger::upgrade`] moves it on); a newer one with [`LedgerError::Config`], naming both.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Ledger> {
        let mut ledger = Self::open_any_version(dir, options, false)?;
        ledger.start_current_version_segment()?;
        Ok(ledger)
    }

    /// [`Ledger::open_with`], which also opens a ledger of an older format version when
    /// `allow_older` is set (for the upgrade), and leaves its segments as they are.
    pub(super) fn open_any_version(
        dir: &Path,
        options: OpenOptions,
        allow_older: bool,
    ) -> Result<Ledger> {
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            return Err(LedgerError::NotALedger {
                path: dir.to_path_buf(),
            });
        }
        let toml = LedgerToml::load(&config_path)?;
        if toml.format_version < FORMAT_VERSION && !allow_older {
            return Err(LedgerError::UpgradeNeeded {
                path: dir.to_path_buf(),
                found: toml.format_version,
                current: FORMAT_VERSION,
            });
        }
        let config = match options.config_override {
            Some(c) => {
                c.validate().map_err(|message| LedgerError::Config {
                    path: config_path.clone(),
                    message,
                })?;
                c
            }
            None => toml.persistence,
        };
        let lock = WriterLock::acquire(dir)?;
        remove_temporaries(dir)?;
        let factory = options.file_factory.unwrap_or_else(|| Arc::new(RealFiles));
        let layout = read_layout(dir, TailAccess::MapAsWriter)?;
        if let Some(damage) = layout.damage {
            return Err(LedgerError::Corrupt(Box::new(damage)));
        }
        let mut recovery = None;
        let mut last_recorded_at_ns = i64::MIN;
        let active = match layout.tail {
            Some(tail) => {
                let scan = tail.scan;
                // recorded_at must not go back across sessions: start from the last entry's, or
                // from the segment's creation time, which is never before any earlier entry's.
                last_recorded_at_ns = scan
                    .frame_offsets
                    .last()
                    .and_then(|&at| recorded_at_of_frame(&tail.bytes, at as usize))
                    .unwrap_or(i64::MIN)
                    .max(tail.header.created_at_ns);
                match scan.tail {
                    TailState::Damaged(c) => return Err(LedgerError::Corrupt(Box::new(c))),
                    TailState::Torn {
                        offset,
                        dropped_bytes,
                        reason,
                    } => {
                        recovery = Some(RecoveryReport {
                            segment: tail.path.clone(),
                            offset,
                            dropped_bytes,
                            reason,
                        })
                    }
                    TailState::Clean => {}
                }
                drop(tail.bytes);
                let mut active = ActiveSegment::resume(
                    tail.path,
                    factory.as_ref(),
                    tail.header,
                    scan.records_end as u64,
                    scan.stats,
                    scan.position,
                )?;
                if recovery.is_some() {
                    active.truncate(scan.records_end as u64)?;
                }
                active
            }
            None => {
                // The last segment is sealed (a crash between sealing and starting the next):
                // find its last entry's recorded_at by walking it (rare, one segment).
                if let Some(last) = layout.sealed.last() {
                    let bytes = SegmentBytes::map_sealed(&last.path)?;
                    let area = bytes.get(..last.records_end as usize).unwrap_or_default();
                    let mut at = HEADER_LEN;
                    let mut last_frame = None;
                    while let FrameAt::Valid { next, .. } = frame_at(area, at) {
                        last_frame = Some(at);
                        at = next;
                    }
                    last_recorded_at_ns = last_frame
                        .and_then(|at| recorded_at_of_frame(&bytes, at))
                        .unwrap_or(i64::MIN);
                }
                let header = SegmentHeader {
                    format_version: FORMAT_VERSION,
                    first_seq: layout.sealed_end.next_seq,
                    created_at_ns: now_ns().max(last_recorded_at_ns),
                    prev_hash: layout.sealed_end.last_hash,
                };
                ActiveSegment::create(dir, factory.as_ref(), header)?
            }
        };
        Ok(Ledger {
            dir: dir.to_path_buf(),
            config,
            _lock: lock,
            factory,
            sealed: layout.sealed,
            active,
            last_recorded_at_ns,
            recovery,
            poisoned: None,
            frame_buf: Vec::new(),
            batch_recorded_at_ns: i64::MIN,
            ids: IdTable::unloaded(),
        })
    }

    /// Closes this writer and opens the directory again with the same settings and file
    /// factory: the way back from a poisoned writer. The open recovers a torn tail and refuses
    /// anything worse; for a poisoned writer it then also removes whatever its failed append
    /// left (every entry from that append's first seq on, none of them acknowledged), so the
    /// failed append leaves nothing behind, as its error promised. The lock is released in
    /// between, so another process may take it.
    pub fn reopen(self) -> Result<Ledger> {
        let dir = self.dir.clone();
        let options = self.open_options();
        let discard_from = self.poisoned_from_seq();
        drop(self);
        match discard_from {
            Some(seq) => Ledger::open_discarding_from(&dir, options, seq),
            None => Ledger::open_with(&dir, options),
        }
    }

    /// Opens `dir` and removes every entry from `seq` on: what a failed append whose rollback
    /// failed too left behind. Only for recovering a poisoned writer (the sink keeps `seq` when
    /// a reopen fails, to try again).
    pub(crate) fn open_discarding_from(
        dir: &Path,
        options: OpenOptions,
        seq: u64,
    ) -> Result<Ledger> {
        let ledger = Ledger::open_with(dir, options.clone())?;
        if ledger.next_seq() <= seq {
            return Ok(ledger);
        }
        ledger.cut_from(seq)?;
        drop(ledger);
        Ledger::open_with(dir, options)
    }

    /// Removes the entries from `seq` on, on disk only (the caller reopens): deletes the
    /// segments that start after `seq` (newest first, so a crash leaves a shorter valid
    /// ledger), then truncates the segment holding `seq` just before its frame. If the failed
    /// append sealed that segment, it was empty before (see [`Ledger::roll_ahead_of`]): it is
    /// replaced by a new empty file, never shrunk under readers that map it.
    fn cut_from(&self, seq: u64) -> Result<()> {
        let segments: Vec<(u64, &Path)> = self
            .sealed
            .iter()
            .map(|s| (s.header.first_seq, s.path.as_path()))
            .chain(std::iter::once((
                self.active.header.first_seq,
                self.active.path.as_path(),
            )))
            .collect();
        let Some(holding) = segments.iter().rposition(|(first, _)| *first <= seq) else {
            return Err(LedgerError::NotFound(format!(
                "seq {seq} to remove a failed append from"
            )));
        };
        let later = segments.get(holding + 1..).unwrap_or_default();
        for (_, path) in later.iter().rev() {
            std::fs::remove_file(path).map_err(|e| LedgerError::io("remove", *path, e))?;
        }
        if !later.is_empty() {
            sync_dir(&self.dir)?;
        }
        let Some(&(first_seq, path)) = segments.get(holding) else {
            return Ok(());
        };
        if let Some(sealed) = self.sealed.iter().find(|s| s.path == path) {
            if seq != first_seq {
                return Err(LedgerError::corrupt(
                    path,
                    0,
                    Some(seq),
                    CorruptKind::Malformed(
                        "a failed append's entries start inside a sealed segment: not cut".into(),
                    ),
                ));
            }
            ActiveSegment::create(&self.dir, self.factory.as_ref(), sealed.header)?;
            return Ok(());
        }
        let bytes = std::fs::read(path).map_err(|e| LedgerError::io("read", path, e))?;
        let mut at = HEADER_LEN;
        for s in first_seq..seq {
            match frame_at(&bytes, at) {
                FrameAt::Valid { next, .. } => at = next,
                _ => {
                    return Err(LedgerError::corrupt(
                        path,
                        at as u64,
                        Some(s),
                        CorruptKind::Malformed("not a whole, valid frame".into()),
                    ))
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| LedgerError::io("open", path, e))?;
        let mut file = self.factory.wrap(file);
        file.set_len(at as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| LedgerError::io("truncate", path, e))
    }
}

/// What a create that crashed before writing ledger.toml leaves in `dir` (a header-only first
/// segment, temporaries; the lock file is kept), to be removed before creating again. Anything
/// else, or a ledger.toml, makes the directory not ours to create in.
fn create_leftovers(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(LedgerError::AlreadyALedger {
            path: dir.to_path_buf(),
        });
    }
    let mut leftovers = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| LedgerError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| LedgerError::io("read directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let metadata = match entry.metadata() {
            Ok(m) => Some(m),
            // Gone since the listing (another create's temporary, renamed or removed).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => None,
        };
        let header_only = name == segment_file_name(0)
            && metadata
                .as_ref()
                .is_some_and(|m| m.is_file() && m.len() <= HEADER_LEN as u64);
        if name == LOCK_FILE {
            continue;
        }
        // Another create finished since the check above: its ledger.toml was renamed into
        // place while the directory was being listed.
        if name == CONFIG_FILE {
            return Err(LedgerError::AlreadyALedger {
                path: dir.to_path_buf(),
            });
        }
        if is_own_temporary(&name) || header_only {
            leftovers.push(entry.path());
        } else {
            return Err(LedgerError::DirectoryNotEmpty {
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(leftovers)
}

/// recorded_at of the entry whose frame starts at `at`, if it is a signal or an outcome (both
/// keep it at body offset 24).
fn recorded_at_of_frame(bytes: &[u8], at: usize) -> Option<i64> {
    let body = bytes.get(at + FRAME_HEADER_LEN..)?;
    match entry_kind(body) {
        Ok(EntryKind::Signal | EntryKind::Outcome) => signal_recorded_at(body),
        _ => None,
    }
}
