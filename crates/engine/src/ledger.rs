//! `Ledger`: the one writer of a ledger directory. Creates, opens (recovering a torn tail),
//! appends batches atomically and durably, and rolls segments.
//!
//! Invariants kept here:
//! - at most one `Ledger` per directory across processes (the `LOCK` file);
//! - an append that returns an error leaves nothing behind: every byte it wrote is removed again
//!   (segments it created are deleted, the segment it began in is cut back) before the error is
//!   returned, and if that cleanup itself fails the writer is poisoned and refuses further
//!   appends until [`Ledger::reopen`] removes what the append left. A crash mid-append is
//!   different: it may leave a prefix of the unacknowledged batch (whole entries, plus a torn
//!   tail that the next open truncates);
//! - an append is acknowledged only after the configured sync;
//! - recorded_at never decreases, across sessions too, so ledger order is also recorded_at
//!   order (as long as the clock of the first session was not ahead of later ones' by more
//!   than they run: a clock that went back is clamped, never followed).

use std::borrow::Borrow;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{LedgerToml, PersistenceConfig};
use crate::dir::{self, WriterLock, CONFIG_FILE};
use crate::error::{LedgerError, Result};
use crate::hash::{Hash, GENESIS_PREV_HASH};
use crate::ids::{same_columns, same_signal, IdMap, IdTable};
use crate::index::id_hash;
use crate::layout::{read_layout, Head, TailAccess};
use crate::record::codec::{
    encode_signal_body, entry_kind, signal_body_len, signal_recorded_at, EntryKind, Stamp,
};
use crate::record::frame::{begin_frame, finish_frame, frame_at, FrameAt, FRAME_HEADER_LEN};
use crate::record::{Signal, ValidSignal};
use crate::segment::file::{RealFiles, SegmentFileFactory};
use crate::segment::header::{SegmentHeader, FORMAT_VERSION, HEADER_LEN};
use crate::segment::name::segment_file_name;
use crate::segment::scan::TailState;
use crate::segment::writer::{ActiveSegment, PreparedSegment, SealedSegment};
use crate::segment::SegmentBytes;

mod outcomes;
mod retention;
mod upgrade;

pub use outcomes::{OutcomeReceipt, RecordedOutcome};
pub use retention::{ExpiredSegment, RetentionPlan};
pub use upgrade::UpgradeReport;

/// Where one signal of an append is in the ledger, once durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durable {
    /// Its seq.
    pub seq: u64,
    /// Its row hash.
    pub row_hash: Hash,
    /// Its signal_id (the assigned UUIDv7 if it came without one).
    pub signal_id: String,
    /// Its recorded_at, ns since the Unix epoch.
    pub recorded_at_ns: i64,
    /// True when the signal was not appended because the ledger holds it already (same
    /// signal_id, same columns): seq, row hash and recorded_at are the original entry's.
    pub already_recorded: bool,
}

/// A signal of an append that was recorded already, by an earlier append or earlier in the
/// same batch, and so was not appended again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Its index in the batch.
    pub index: usize,
    /// The entry that holds it.
    pub entry: Durable,
}

/// What an append made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Entries appended (the batch's signals less its duplicates).
    pub count: u64,
    /// Seq of the first appended entry (the next seq when `count` is 0).
    pub first_seq: u64,
    /// Seq of the last appended entry (None when `count` is 0).
    pub last_seq: Option<u64>,
    /// Row hash of the ledger's last entry after the append.
    pub head_hash: Hash,
    /// Row hash of every appended entry, in seq order.
    pub row_hashes: Vec<Hash>,
    /// signal_id of every appended entry (assigned ones included), in seq order.
    pub signal_ids: Vec<String>,
    /// recorded_at given to every entry of the append, ns since the Unix epoch.
    pub recorded_at_ns: i64,
    /// Time spent in the configured sync (fdatasync or fsync) at the end of the append.
    pub sync_time: std::time::Duration,
    /// Signals of the batch recorded already (same signal_id, same columns), by index: not
    /// appended again, and not counted in `count`, `row_hashes` or `signal_ids`.
    pub duplicates: Vec<Duplicate>,
}

impl AppendReceipt {
    /// Where each signal of the batch is, in batch order: the appended entries and the
    /// duplicates merged back into their places.
    pub fn into_durable(self) -> Vec<Durable> {
        let total = self.row_hashes.len() + self.duplicates.len();
        let mut out = Vec::with_capacity(total);
        let mut duplicates = self.duplicates.into_iter().peekable();
        let mut appended = self.row_hashes.into_iter().zip(self.signal_ids);
        let mut seq = self.first_seq;
        for index in 0..total {
            if duplicates.peek().is_some_and(|d| d.index == index) {
                if let Some(d) = duplicates.next() {
                    out.push(d.entry);
                }
            } else if let Some((row_hash, signal_id)) = appended.next() {
                out.push(Durable {
                    seq,
                    row_hash,
                    signal_id,
                    recorded_at_ns: self.recorded_at_ns,
                    already_recorded: false,
                });
                seq += 1;
            }
        }
        debug_assert_eq!(out.len(), total);
        out
    }
}

/// What [`Ledger::append_valid_units`] did: the append of the units it kept, and the units it
/// refused.
#[derive(Debug)]
pub struct UnitsAppended {
    /// The append of the kept units' signals, concatenated in order.
    pub receipt: AppendReceipt,
    /// Each refused unit's position in the input, and why (nothing of it was written).
    pub refused: Vec<(usize, LedgerError)>,
}

/// The id check of a batch: the signals kept (refused units left out), which of them are
/// recorded already (ascending positions in `accepted`), and the refused units.
struct IdCheck<'s> {
    accepted: Vec<&'s Signal>,
    /// `id_hash` of each accepted signal's producer id (unused for an empty id); empty when no
    /// signal of the batch carries one.
    hashes: Vec<u64>,
    recorded: Vec<(usize, Recorded)>,
    refused: Vec<(usize, LedgerError)>,
}

/// What the id check found for one signal of a batch that is recorded already.
enum Recorded {
    /// In the ledger, as this entry.
    Stored(Durable),
    /// Earlier in the same batch, at this index.
    Earlier(usize),
}

/// A torn tail found and removed when the ledger was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The segment that was truncated.
    pub segment: PathBuf,
    /// Offset the segment was truncated to (the end of its last whole valid entry).
    pub offset: u64,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// What was found there.
    pub reason: String,
}

/// Options for opening a ledger beyond its `ledger.toml`.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// Settings to use instead of those in `ledger.toml` (not written back).
    pub config_override: Option<PersistenceConfig>,
    /// Wraps segment files, to inject faults in tests; real files when None.
    pub file_factory: Option<Arc<dyn SegmentFileFactory>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("config_override", &self.config_override)
            .field("file_factory", &self.file_factory.is_some())
            .finish()
    }
}

/// The writer of one ledger directory.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    config: PersistenceConfig,
    _lock: WriterLock,
    factory: Arc<dyn SegmentFileFactory>,
    sealed: Vec<SealedSegment>,
    active: ActiveSegment,
    last_recorded_at_ns: i64,
    recovery: Option<RecoveryReport>,
    poisoned: Option<Poison>,
    frame_buf: Vec<u8>,
    /// recorded_at of the append in progress (a segment rolled mid-append starts after it).
    batch_recorded_at_ns: i64,
    /// Every signal_id in the ledger, loaded before the first append that carries one.
    ids: IdTable,
}

/// Why a writer refuses appends: an append failed and so did undoing it.
#[derive(Debug, Clone)]
struct Poison {
    /// The append's error and the rollback's.
    why: String,
    /// The failed append's first seq: nothing from here on was acknowledged.
    from_seq: u64,
}

impl std::fmt::Debug for dyn SegmentFileFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentFileFactory")
    }
}

/// Nanoseconds since the Unix epoch now.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

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
        dir::write_atomic(dir, &dir.join(CONFIG_FILE), toml.to_toml_text().as_bytes())?;
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
    fn open_any_version(dir: &Path, options: OpenOptions, allow_older: bool) -> Result<Ledger> {
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
        dir::remove_temporaries(dir)?;
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

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings in force.
    pub fn config(&self) -> &PersistenceConfig {
        &self.config
    }

    /// The torn tail removed at open, if there was one.
    pub fn recovery(&self) -> Option<&RecoveryReport> {
        self.recovery.as_ref()
    }

    /// Seq the next entry will take (= number of entries, while nothing is pruned).
    pub fn next_seq(&self) -> u64 {
        self.active.position.next_seq
    }

    /// The last entry, or None for an empty ledger.
    pub fn head(&self) -> Option<Head> {
        let next = self.active.position.next_seq;
        (next > 0).then(|| Head {
            seq: next - 1,
            row_hash: self.active.position.last_hash,
        })
    }

    /// Why the writer refuses appends, if an earlier failure could not be rolled back
    /// ([`LedgerError::Poisoned`]); [`Ledger::reopen`] recovers it.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_ref().map(|p| p.why.as_str())
    }

    /// The first seq of the failed append that poisoned the writer: what
    /// [`Ledger::reopen`] removes from.
    pub(crate) fn poisoned_from_seq(&self) -> Option<u64> {
        self.poisoned.as_ref().map(|p| p.from_seq)
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
            dir::sync_dir(&self.dir)?;
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
                    crate::error::CorruptKind::Malformed(
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
                        crate::error::CorruptKind::Malformed("not a whole, valid frame".into()),
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

    /// Options that open this directory again as this writer is set up (its settings in force
    /// and its file factory).
    pub fn open_options(&self) -> OpenOptions {
        OpenOptions {
            config_override: Some(self.config.clone()),
            file_factory: Some(Arc::clone(&self.factory)),
        }
    }

    /// Damage in sealed segments met when the signal_id table was loaded (at the first append
    /// carrying ids): the ids of the entries past it are not checked for uniqueness. Empty
    /// normally; `verify` reports such damage in full.
    pub fn unchecked_ids(&self) -> &[String] {
        self.ids.unreadable()
    }

    /// Sealed segments, oldest first.
    pub fn sealed_segments(&self) -> &[SealedSegment] {
        &self.sealed
    }

    /// Appends `signals` as one atomic, durable batch and returns what was written.
    ///
    /// Every signal is validated first; an invalid one fails the whole batch with its index and
    /// nothing is written. Signals with an empty `signal_id` get a UUIDv7.
    ///
    /// A signal_id is recorded once. A signal whose id the ledger holds already with the same
    /// columns is not appended again: the receipt lists it among its `duplicates` with the
    /// original's seq (so a producer may safely send a batch again after a crash). A signal
    /// whose id the ledger holds with other columns, or that a different signal earlier in the
    /// batch carries, fails the whole batch ([`LedgerError::SignalIdTaken`]) and nothing is
    /// written.
    pub fn append(&mut self, signals: &[Signal]) -> Result<AppendReceipt> {
        self.refuse_if_poisoned()?;
        validate_all(signals)?;
        self.append_unchecked(signals)
    }

    /// [`Ledger::append`] for signals validated already (by the producer or the parser).
    pub fn append_valid(&mut self, signals: &[ValidSignal]) -> Result<AppendReceipt> {
        self.refuse_if_poisoned()?;
        self.append_unchecked(signals)
    }

    /// The error a poisoned writer answers every append with.
    fn refuse_if_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(poison) => Err(LedgerError::Poisoned(poison.why.clone())),
            None => Ok(()),
        }
    }

    /// Appends `units` (each one producer's push, say) in one atomic, durable append, leaving
    /// out every unit that holds a signal whose signal_id is taken by a different signal (in
    /// the ledger, or in an earlier unit that is appended). The receipt covers the other units'
    /// signals, concatenated in order (its `duplicates` index into that concatenation); each
    /// refused unit comes back with its position and why (the error's indexes are positions in
    /// the concatenation of all `units`). The id check is one pass, however many are refused.
    pub fn append_valid_units(&mut self, units: &[&[ValidSignal]]) -> Result<UnitsAppended> {
        self.refuse_if_poisoned()?;
        let checked = self.check_ids(units)?;
        let refused = checked.refused;
        let receipt = self.append_checked(&checked.accepted, &checked.hashes, checked.recorded)?;
        Ok(UnitsAppended { receipt, refused })
    }

    /// Appends signals that have passed validation (the invariant every caller keeps), less
    /// those recorded already; a taken signal_id fails the whole batch.
    fn append_unchecked<S: Borrow<Signal>>(&mut self, signals: &[S]) -> Result<AppendReceipt> {
        let mut checked = self.check_ids(&[signals])?;
        if let Some((_, error)) = checked.refused.pop() {
            return Err(error);
        }
        self.append_checked(&checked.accepted, &checked.hashes, checked.recorded)
    }

    /// Appends `accepted` (whose id hashes the check computed, `hashes`) less the signals
    /// `recorded` names (ascending positions in `accepted`), and lists those in the receipt
    /// with the entry that holds each.
    fn append_checked(
        &mut self,
        accepted: &[&Signal],
        hashes: &[u64],
        recorded: Vec<(usize, Recorded)>,
    ) -> Result<AppendReceipt> {
        if recorded.is_empty() {
            return self.append_new(accepted, hashes);
        }
        let signals = accepted;
        let mut skip = recorded.iter().map(|(index, _)| *index).peekable();
        let (fresh, fresh_hashes): (Vec<&Signal>, Vec<u64>) = signals
            .iter()
            .enumerate()
            .filter(|(i, _)| skip.next_if_eq(i).is_none())
            .map(|(i, s)| (*s, hashes.get(i).copied().unwrap_or_default()))
            .unzip();
        let mut receipt = self.append_new(&fresh, &fresh_hashes)?;
        // An earlier signal of the batch was appended at first_seq + its place among `fresh`.
        let mut skipped_before = Vec::with_capacity(signals.len());
        let mut left_out = recorded.iter().map(|(index, _)| *index).peekable();
        let mut skipped = 0usize;
        for i in 0..signals.len() {
            skipped_before.push(skipped);
            if left_out.next_if_eq(&i).is_some() {
                skipped += 1;
            }
        }
        for (index, found) in recorded {
            let entry = match found {
                Recorded::Stored(entry) => entry,
                Recorded::Earlier(earlier) => {
                    // The earlier signal may itself be recorded already (and so not appended):
                    // this one then names the same stored entry.
                    let earlier_entry = receipt
                        .duplicates
                        .binary_search_by_key(&earlier, |d| d.index)
                        .ok()
                        .and_then(|at| receipt.duplicates.get(at));
                    if let Some(d) = earlier_entry {
                        let entry = d.entry.clone();
                        receipt.duplicates.push(Duplicate { index, entry });
                        continue;
                    }
                    let place = earlier - skipped_before.get(earlier).copied().unwrap_or(0);
                    Durable {
                        seq: receipt.first_seq + place as u64,
                        row_hash: receipt.row_hashes.get(place).copied().unwrap_or_default(),
                        signal_id: receipt.signal_ids.get(place).cloned().unwrap_or_default(),
                        recorded_at_ns: receipt.recorded_at_ns,
                        already_recorded: true,
                    }
                }
            };
            receipt.duplicates.push(Duplicate { index, entry });
        }
        Ok(receipt)
    }

    /// Checks the signal_ids of `units`, in one pass: a unit holding a signal whose id is taken
    /// by a different signal (in the ledger, or earlier in a unit kept) is refused whole; of
    /// the others, the signals recorded already (in the ledger, or earlier in the kept units)
    /// are listed. Loads the id table first if any signal carries an id.
    fn check_ids<'s, S: Borrow<Signal>>(&mut self, units: &[&'s [S]]) -> Result<IdCheck<'s>> {
        let total: usize = units.iter().map(|u| u.len()).sum();
        let mut check = IdCheck {
            accepted: Vec::with_capacity(total),
            hashes: Vec::new(),
            recorded: Vec::new(),
            refused: Vec::new(),
        };
        let carries_ids = units
            .iter()
            .flat_map(|u| u.iter())
            .any(|s| !s.borrow().signal_id.is_empty());
        if !carries_ids {
            check
                .accepted
                .extend(units.iter().flat_map(|u| u.iter().map(Borrow::borrow)));
            return Ok(check);
        }
        if !self.ids.is_loaded() {
            self.ids
                .load(&self.sealed, &self.active.path, self.active.len)?;
        }
        // The first kept signal with each id hash, by position in `accepted` (another id with
        // the same hash is found by a scan: a 64-bit collision within one batch is rare); and
        // each kept position's index in the concatenation of all units.
        let mut in_batch: IdMap<u64, usize> = IdMap::default();
        in_batch.reserve(total);
        check.hashes.reserve(total);
        let mut input_index: Vec<usize> = Vec::with_capacity(total);
        let mut unit_start = 0usize;
        for (u, unit) in units.iter().enumerate() {
            let kept_from = (check.accepted.len(), check.recorded.len());
            let mut hashes_added = Vec::new();
            let mut refusal = None;
            for (k, signal) in unit.iter().enumerate() {
                let signal: &'s Signal = signal.borrow();
                let index = unit_start + k;
                let pos = check.accepted.len();
                check.accepted.push(signal);
                input_index.push(index);
                let id = signal.signal_id.as_str();
                let hash = if id.is_empty() { 0 } else { id_hash(id) };
                check.hashes.push(hash);
                if id.is_empty() {
                    continue;
                }
                let accepted = &check.accepted;
                let same_id = |i: &usize| accepted.get(*i).is_some_and(|s| s.signal_id == id);
                let earlier = match in_batch.get(&hash) {
                    None => None,
                    Some(first) => Some(*first)
                        .filter(same_id)
                        .or_else(|| (0..pos).find(same_id)),
                };
                if let Some(earlier) = earlier {
                    let first = check.accepted.get(earlier).copied();
                    if !first.is_some_and(|first| same_columns(first, signal)) {
                        refusal = Some(LedgerError::SignalIdRepeated {
                            index,
                            signal_id: id.to_owned(),
                            earlier: input_index.get(earlier).copied().unwrap_or_default(),
                        });
                        break;
                    }
                    check.recorded.push((pos, Recorded::Earlier(earlier)));
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = in_batch.entry(hash) {
                    e.insert(pos);
                    hashes_added.push(hash);
                }
                let found = self.ids.find_hashed(hash, id, |stored| {
                    let entry = Durable {
                        seq: stored.seq,
                        row_hash: stored.row_hash,
                        signal_id: id.to_owned(),
                        recorded_at_ns: stored.recorded_at_ns,
                        already_recorded: true,
                    };
                    (same_signal(stored, signal), entry)
                })?;
                match found {
                    Some((true, entry)) => check.recorded.push((pos, Recorded::Stored(entry))),
                    Some((false, entry)) => {
                        refusal = Some(LedgerError::SignalIdTaken {
                            index,
                            signal_id: id.to_owned(),
                            seq: entry.seq,
                        });
                        break;
                    }
                    None => {}
                }
            }
            if let Some(error) = refusal {
                // Nothing of a refused unit is kept, nor offered to later units as a carrier.
                check.accepted.truncate(kept_from.0);
                check.hashes.truncate(kept_from.0);
                input_index.truncate(kept_from.0);
                check.recorded.truncate(kept_from.1);
                for hash in hashes_added {
                    in_batch.remove(&hash);
                }
                check.refused.push((u, error));
            }
            unit_start += unit.len();
        }
        Ok(check)
    }

    /// Appends signals none of which is recorded already; `hashes` are the `id_hash`es of
    /// their producer ids where computed already (empty, or unused for an empty id, otherwise).
    fn append_new<S: Borrow<Signal>>(
        &mut self,
        signals: &[S],
        hashes: &[u64],
    ) -> Result<AppendReceipt> {
        let first_seq = self.active.position.next_seq;
        if signals.is_empty() {
            return Ok(AppendReceipt {
                count: 0,
                first_seq,
                last_seq: None,
                head_hash: self.active.position.last_hash,
                row_hashes: Vec::new(),
                signal_ids: Vec::new(),
                recorded_at_ns: self.last_recorded_at_ns,
                sync_time: std::time::Duration::ZERO,
                duplicates: Vec::new(),
            });
        }
        let recorded_at_ns = now_ns().max(self.last_recorded_at_ns);
        let mut row_hashes = Vec::with_capacity(signals.len());
        let mut signal_ids = Vec::with_capacity(signals.len());
        let frame_bytes: usize = signals
            .iter()
            .map(|s| {
                let s = s.borrow();
                let id_len = match s.signal_id.len() {
                    0 => GENERATED_ID_LEN,
                    n => n,
                };
                FRAME_HEADER_LEN + signal_body_len(s, id_len)
            })
            .sum();
        let sync_time = self.write_atomically(recorded_at_ns, frame_bytes as u64, |ledger| {
            ledger.encode_and_write(
                signals,
                hashes,
                recorded_at_ns,
                &mut row_hashes,
                &mut signal_ids,
            )
        })?;
        debug_assert_eq!(
            self.active.position.next_seq,
            first_seq + signals.len() as u64
        );
        Ok(AppendReceipt {
            count: signals.len() as u64,
            first_seq,
            last_seq: Some(first_seq + signals.len() as u64 - 1),
            head_hash: self.active.position.last_hash,
            row_hashes,
            signal_ids,
            recorded_at_ns,
            sync_time,
            duplicates: Vec::new(),
        })
    }

    /// Runs `write` (which writes frames at the head, rolling segments as needed, without
    /// syncing) as one append of at most `frame_bytes` stamped `recorded_at_ns`: syncs as
    /// `durability` says, and on any failure removes everything it wrote before returning the
    /// error (or poisons the writer if that fails too). Returns the time spent syncing.
    pub(crate) fn write_atomically(
        &mut self,
        recorded_at_ns: i64,
        frame_bytes: u64,
        write: impl FnOnce(&mut Ledger) -> Result<()>,
    ) -> Result<std::time::Duration> {
        debug_assert!(recorded_at_ns >= self.last_recorded_at_ns);
        self.roll_ahead_of(frame_bytes)?;
        // An append that may seal the segment it starts in (which is then empty: see
        // roll_ahead_of) first writes a spare empty copy of it. Undoing the append renames the
        // spare over the sealed file, which needs no space on a full disk.
        let spare = if self.active.len + frame_bytes > self.config.segment_size_bytes {
            debug_assert_eq!(self.active.len, HEADER_LEN as u64);
            Some(ActiveSegment::prepare(
                &self.dir,
                self.factory.as_ref(),
                self.active.header,
            )?)
        } else {
            None
        };
        let first_seq = self.active.position.next_seq;
        self.batch_recorded_at_ns = recorded_at_ns;
        let checkpoint = Checkpoint {
            sealed_len: self.sealed.len(),
            active_first_seq: self.active.header.first_seq,
            active_len: self.active.len,
            active_stats: self.active.stats,
            active_position: self.active.position,
        };
        let mut sync_time = std::time::Duration::ZERO;
        let written = write(self).and_then(|()| {
            let sync_started = std::time::Instant::now();
            let synced = self.active.sync(self.config.durability);
            sync_time = sync_started.elapsed();
            synced
        });
        if let Err(e) = written {
            if let Err(rollback) = self.roll_back(&checkpoint, spare) {
                self.poisoned = Some(Poison {
                    why: format!("{e}; then rolling back failed: {rollback}"),
                    from_seq: first_seq,
                });
            }
            return Err(e);
        }
        self.last_recorded_at_ns = recorded_at_ns;
        Ok(sync_time)
    }

    /// Encodes `signals` into frames chained from the current head and writes them, a buffer of
    /// about [`WRITE_CHUNK_BYTES`] at a time (so a large batch never needs its whole encoding in
    /// memory), rolling segments at the size limit. Does not sync. `hashes` as for
    /// [`Ledger::append_new`].
    fn encode_and_write<S: Borrow<Signal>>(
        &mut self,
        signals: &[S],
        hashes: &[u64],
        recorded_at_ns: i64,
        row_hashes: &mut Vec<Hash>,
        signal_ids: &mut Vec<String>,
    ) -> Result<()> {
        let mut frames = std::mem::take(&mut self.frame_buf);
        let mut frame_ends = Vec::new();
        // The id hash of each frame of the chunk, for the id table (while it is loaded).
        let mut frame_hashes = Vec::new();
        let mut prev_hash = self.active.position.last_hash;
        let first_seq = self.active.position.next_seq;
        let mut chunk_start = 0usize;
        let mut result = Ok(());
        for (i, signal) in signals.iter().enumerate() {
            let signal = signal.borrow();
            let seq = first_seq + i as u64;
            let id = if signal.signal_id.is_empty() {
                uuid::Uuid::now_v7().to_string()
            } else {
                signal.signal_id.clone()
            };
            debug_assert!(!signal.signal_id.is_empty() || id.len() == GENERATED_ID_LEN);
            let stamp = Stamp {
                seq,
                recorded_at_ns,
                prev_hash,
            };
            let start = begin_frame(&mut frames);
            prev_hash = encode_signal_body(&mut frames, &stamp, signal, &id);
            finish_frame(&mut frames, start);
            frame_ends.push(frames.len());
            row_hashes.push(prev_hash);
            if self.ids.is_loaded() {
                let given = hashes.get(i).filter(|_| !signal.signal_id.is_empty());
                frame_hashes.push(given.copied().unwrap_or_else(|| id_hash(&id)));
            }
            signal_ids.push(id);
            if frames.len() >= WRITE_CHUNK_BYTES || i + 1 == signals.len() {
                let timestamps: Vec<Option<i64>> = signals
                    .get(chunk_start..=i)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| Some(s.borrow().timestamp_ns))
                    .collect();
                result =
                    self.write_frames_rolling(&frames, &frame_ends, &timestamps, &frame_hashes);
                if result.is_err() {
                    break;
                }
                frames.clear();
                frame_ends.clear();
                frame_hashes.clear();
                chunk_start = i + 1;
            }
        }
        frames.clear();
        self.frame_buf = frames;
        result
    }

    /// Writes whole encoded frames (`frame_ends` are their end offsets in `frames`; per frame,
    /// `timestamps` holds the signal timestamp, None for other kinds, and `id_hashes` the
    /// signal_id hash while the id table is loaded, empty for frames that carry no id), sealing
    /// the active segment and starting a new one where the next frame would not fit.
    pub(crate) fn write_frames_rolling(
        &mut self,
        frames: &[u8],
        frame_ends: &[usize],
        timestamps: &[Option<i64>],
        id_hashes: &[u64],
    ) -> Result<()> {
        debug_assert_eq!(frame_ends.len(), timestamps.len());
        let limit = self.config.segment_size_bytes;
        let mut written = 0usize; // bytes of `frames` already written
        let mut next_frame = 0usize; // index of the first frame not yet written
        while next_frame < frame_ends.len() {
            // Take as many whole frames as fit; an empty segment takes at least one.
            let room = limit.saturating_sub(self.active.len) as usize;
            let mut end_frame = next_frame;
            while let Some(&end) = frame_ends.get(end_frame) {
                let fits = end - written <= room;
                if !(fits || end_frame == next_frame && self.active.stats.record_count == 0) {
                    break;
                }
                end_frame += 1;
                if !fits {
                    break;
                }
            }
            if end_frame == next_frame {
                self.roll_segment()?;
                continue;
            }
            let chunk_end = frame_ends.get(end_frame - 1).copied().unwrap_or(written);
            let chunk = frames.get(written..chunk_end).unwrap_or_default();
            let base = self.active.len;
            self.active.write_frames(chunk)?;
            if self.ids.is_loaded() {
                let slot = self.ids.slot(&self.active.path);
                let mut start = written;
                for k in next_frame..end_frame {
                    if let Some(&hash) = id_hashes.get(k) {
                        self.ids.insert(hash, slot, base + (start - written) as u64);
                    }
                    start = frame_ends.get(k).copied().unwrap_or(start);
                }
            }
            for &ts in timestamps.get(next_frame..end_frame).unwrap_or_default() {
                self.active.stats.add(ts);
            }
            let n = (end_frame - next_frame) as u64;
            self.active.position.next_seq += n;
            // The row hash of the last written frame is its last 32 bytes.
            let mut last = [0u8; 32];
            if let Some(tail) = chunk_end
                .checked_sub(32)
                .and_then(|s| frames.get(s..chunk_end))
            {
                last.copy_from_slice(tail);
            }
            self.active.position.last_hash = Hash(last);
            written = chunk_end;
            next_frame = end_frame;
        }
        Ok(())
    }

    /// Seals the active segment before an append of up to `frame_bytes` that would not fit in
    /// it, when it holds entries: no append writes frames into a segment holding earlier
    /// entries and then seals it. So a segment sealed during an append was created by that
    /// append or was empty when it began, and undoing the append never shrinks a sealed
    /// segment, which readers map (reading a mapping past the end of a shrunk file is SIGBUS).
    fn roll_ahead_of(&mut self, frame_bytes: u64) -> Result<()> {
        let holds_entries = self.active.len > HEADER_LEN as u64;
        if !holds_entries || self.active.len + frame_bytes <= self.config.segment_size_bytes {
            return Ok(());
        }
        self.refuse_if_poisoned()?;
        // A failure here (most often a full disk) has changed nothing.
        let next = self.prepare_next_segment()?;
        if let Err(e) = self.seal_and_start(next) {
            // Nothing of the append is written and every entry stays, but the files (a sealed
            // segment, perhaps with part of a trailer, perhaps no next one) no longer match
            // this writer: a reopen reads them again, and discards nothing. A seal is never
            // undone here: readers may already map the sealed file.
            self.poisoned = Some(Poison {
                why: format!("starting a new segment failed: {e}"),
                from_seq: self.active.position.next_seq,
            });
            return Err(e);
        }
        Ok(())
    }

    /// Seals the active segment and starts the next one.
    fn roll_segment(&mut self) -> Result<()> {
        let next = self.prepare_next_segment()?;
        self.seal_and_start(next)
    }

    /// The segment to follow the active one, written under its temporary name.
    fn prepare_next_segment(&self) -> Result<PreparedSegment> {
        let next_header = SegmentHeader {
            format_version: FORMAT_VERSION,
            first_seq: self.active.position.next_seq,
            // Never before any recorded_at so far (of this batch too): a reopened writer takes
            // it as the floor for recorded_at when the segment is still empty.
            created_at_ns: now_ns()
                .max(self.last_recorded_at_ns)
                .max(self.batch_recorded_at_ns),
            prev_hash: self.active.position.last_hash,
        };
        ActiveSegment::prepare(&self.dir, self.factory.as_ref(), next_header)
    }

    /// Seals the active segment and puts `next` in place as the new active one. If putting it
    /// in place fails, the sealed segment is listed as sealed, so [`Ledger::roll_back`] can
    /// replace it.
    fn seal_and_start(&mut self, next: PreparedSegment) -> Result<()> {
        let sealed = self.active.seal()?;
        debug_assert_eq!(sealed.trailer.last_seq + 1, self.active.position.next_seq);
        self.sealed.push(sealed);
        self.active = next.install()?;
        Ok(())
    }

    /// Undoes a failed append: removes segments it created, and cuts the segment that was
    /// active when it started back to its length then; if the append sealed that segment, it
    /// was empty (see [`Ledger::roll_ahead_of`]) and `spare`, an empty copy written before the
    /// append, is renamed over it instead, as readers may have mapped the sealed one.
    fn roll_back(&mut self, cp: &Checkpoint, spare: Option<PreparedSegment>) -> Result<()> {
        // Segments may be removed (and a file of the same name created later): the id table
        // must not read them through handles it kept open.
        self.ids.forget_open_files();
        let mut to_remove = Vec::new();
        if self.active.header.first_seq != cp.active_first_seq {
            to_remove.push(self.active.path.clone());
        }
        let resealed: Vec<SealedSegment> = self.sealed.drain(cp.sealed_len..).collect();
        let mut original = None;
        for s in resealed {
            if s.header.first_seq == cp.active_first_seq {
                original = Some(s);
            } else {
                to_remove.push(s.path);
            }
        }
        if let Some(s) = original {
            debug_assert_eq!(
                cp.active_len, HEADER_LEN as u64,
                "sealed only if it was empty"
            );
            // Renamed over the sealed file: a reader's mapping keeps the old file whole.
            self.active = match spare {
                Some(spare) => spare.install()?,
                None => ActiveSegment::create(&self.dir, self.factory.as_ref(), s.header)?,
            };
        } else {
            self.active.truncate(cp.active_len)?;
            self.active.stats = cp.active_stats;
            self.active.position = cp.active_position;
        }
        for path in &to_remove {
            if path != &self.active.path {
                std::fs::remove_file(path).map_err(|e| LedgerError::io("remove", path, e))?;
            }
        }
        if !to_remove.is_empty() {
            dir::sync_dir(&self.dir)?;
        }
        debug_assert!(self.active.len >= HEADER_LEN as u64);
        Ok(())
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
        let header_only = name == segment_file_name(0)
            && entry
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= HEADER_LEN as u64);
        if name == dir::LOCK_FILE {
            continue;
        }
        if dir::is_own_temporary(&name) || header_only {
            leftovers.push(entry.path());
        } else {
            return Err(LedgerError::DirectoryNotEmpty {
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(leftovers)
}

/// Encoded bytes buffered before they are written, during a large append. Small enough to stay
/// in L2 while the kernel copies it into the page cache: with 4 MiB chunks that copy was a fifth
/// of a saturated sink's writer time, and throughput rose from 368–392k to 426–431k signals/s
/// at 256 KiB (`bench-sink --rate max`, 2 runs each, docs/BENCHMARKS.md).
pub(crate) const WRITE_CHUNK_BYTES: usize = 256 * 1024;

/// Length of a signal_id the writer generates (a UUIDv7 in its hyphenated form).
const GENERATED_ID_LEN: usize = 36;

/// Validates every signal, in parallel for large batches; the error names the lowest index.
fn validate_all(signals: &[Signal]) -> Result<()> {
    const PARALLEL_FROM: usize = 4096;
    let check = |(index, signal): (usize, &Signal)| {
        signal
            .validate()
            .map_err(|error| LedgerError::InvalidSignal { index, error })
    };
    if signals.len() < PARALLEL_FROM {
        return signals.iter().enumerate().try_for_each(check);
    }
    let first_bad = signals
        .par_iter()
        .enumerate()
        .filter_map(|item| check(item).err())
        .min_by_key(|e| match e {
            LedgerError::InvalidSignal { index, .. } => *index,
            _ => usize::MAX,
        });
    first_bad.map_or(Ok(()), Err)
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

struct Checkpoint {
    sealed_len: usize,
    active_first_seq: u64,
    active_len: u64,
    active_stats: crate::segment::RecordStats,
    active_position: crate::segment::ChainPosition,
}
