//! Typed errors. Every error says what went wrong and where: the file, the byte offset and the
//! seq when one is known.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::hash::Hash;

/// What is wrong with bytes on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptKind {
    /// The file does not start with the segment magic.
    BadMagic,
    /// The segment's format version is outside the supported range.
    UnsupportedVersion {
        /// Version found in the file.
        found: u16,
        /// Oldest version this build reads.
        min: u16,
        /// Newest version this build reads.
        max: u16,
    },
    /// The segment header's own CRC does not match.
    HeaderCrcMismatch,
    /// The header says something different from the file name or the previous segment.
    HeaderMismatch(String),
    /// The sealed-segment trailer is damaged or disagrees with the records.
    TrailerMismatch(String),
    /// A frame's length is impossible or runs past the end of the file.
    LengthOutOfRange {
        /// The length read.
        len: u64,
    },
    /// The CRC32 stored in a frame does not match its body.
    CrcMismatch {
        /// Stored CRC.
        expected: u32,
        /// CRC of the bytes found.
        actual: u32,
    },
    /// The entry kind byte is not one this version knows.
    UnknownKind(u8),
    /// The entry body breaks a rule of its layout.
    Malformed(String),
    /// The entry's seq is not the one that must come next.
    SeqGap {
        /// Seq that must come next.
        expected: u64,
        /// Seq found.
        found: u64,
    },
    /// The entry's prev_hash is not the previous entry's row_hash.
    ChainBreak {
        /// Row hash of the previous entry (or the segment's declared prev_hash).
        expected: Hash,
        /// prev_hash stored in this entry.
        found: Hash,
    },
    /// The stored row_hash is not the SHA-256 of the entry.
    RowHashMismatch {
        /// Hash stored in the entry.
        stored: Hash,
        /// Hash recomputed from the entry's bytes.
        computed: Hash,
    },
    /// A segment expected between two others is missing.
    MissingSegment {
        /// First seq the missing segment should hold.
        first_seq: u64,
    },
    /// Bytes follow a damaged frame, so the damage is not a torn tail.
    DamageBeforeValidData {
        /// Offset of a valid frame found after the damage.
        valid_frame_at: u64,
    },
    /// The ledger does not hold the digest it is checked against.
    DigestMismatch(String),
    /// The digest's entry was removed by retention: it can no longer be checked against an
    /// entry (the message says what the retention anchor records of it).
    DigestPruned(String),
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptKind::BadMagic => f.write_str("bad magic"),
            CorruptKind::UnsupportedVersion { found, min, max } => write!(
                f,
                "format version {found} is not supported (this build reads {min}..={max})"
            ),
            CorruptKind::HeaderCrcMismatch => f.write_str("segment header crc mismatch"),
            CorruptKind::HeaderMismatch(m) => write!(f, "segment header mismatch: {m}"),
            CorruptKind::TrailerMismatch(m) => write!(f, "segment trailer mismatch: {m}"),
            CorruptKind::LengthOutOfRange { len } => write!(f, "frame length {len} out of range"),
            CorruptKind::CrcMismatch { expected, actual } => write!(
                f,
                "crc mismatch (stored {expected:#010x}, computed {actual:#010x})"
            ),
            CorruptKind::UnknownKind(k) => write!(f, "unknown entry kind {k:#04x}"),
            CorruptKind::Malformed(m) => write!(f, "malformed entry: {m}"),
            CorruptKind::SeqGap { expected, found } => {
                write!(f, "seq gap: expected seq {expected}, found {found}")
            }
            CorruptKind::ChainBreak { expected, found } => write!(
                f,
                "chain break: prev_hash {found} is not the previous row_hash {expected}"
            ),
            CorruptKind::RowHashMismatch { stored, computed } => write!(
                f,
                "row hash mismatch: stored {stored}, computed {computed}"
            ),
            CorruptKind::MissingSegment { first_seq } => {
                write!(f, "missing segment starting at seq {first_seq}")
            }
            CorruptKind::DamageBeforeValidData { valid_frame_at } => write!(
                f,
                "damaged frame followed by a valid frame at byte {valid_frame_at}: not a torn tail, refusing to truncate"
            ),
            CorruptKind::DigestMismatch(m) => write!(f, "digest mismatch: {m}"),
            CorruptKind::DigestPruned(m) => write!(f, "digest not checkable: {m}"),
        }
    }
}

/// Damage found on disk, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The segment file (or other file) holding the damage.
    pub file: PathBuf,
    /// Byte offset in `file` where the damaged object starts.
    pub offset: u64,
    /// Seq of the damaged entry, when known.
    pub seq: Option<u64>,
    /// What is wrong.
    pub kind: CorruptKind,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.file.display().to_string());
        match &self.kind {
            CorruptKind::MissingSegment { .. } => return write!(f, "{name}: {}", self.kind),
            // A digest checked against a ledger that does not reach its seq has no entry to
            // point at.
            CorruptKind::DigestMismatch(_) if self.file.extension().is_none_or(|e| e != "seg") => {
                return write!(f, "{}", self.kind)
            }
            CorruptKind::DigestPruned(_) => return write!(f, "{}", self.kind),
            _ => {}
        }
        write!(f, "corrupt entry in {name} at byte {}", self.offset)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// `{"file","offset","seq","problem","message"}`: the JSON form of damage, as `verify --json`,
/// `checks` and the HTTP API show it (`problem` is the kind, `message` the whole line).
impl serde::Serialize for Corruption {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Corruption", 5)?;
        o.serialize_field("file", &self.file.display().to_string())?;
        o.serialize_field("offset", &self.offset)?;
        o.serialize_field("seq", &self.seq)?;
        o.serialize_field("problem", &self.kind.to_string())?;
        o.serialize_field("message", &self.to_string())?;
        o.end()
    }
}

/// Serializes a path as text, lossily where it is not UTF-8 (as it is shown in messages).
pub(crate) fn serialize_path<S: serde::Serializer>(
    path: &std::path::Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

/// Every error the engine returns.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// An I/O call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fdatasync", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Bytes on disk are damaged.
    #[error("{0}")]
    Corrupt(Box<Corruption>),
    /// Another process holds the writer lock.
    #[error("ledger {} is locked by another writer{}", path.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the lock file says about its holder, if readable.
        holder: Option<String>,
    },
    /// The directory is not a ledger.
    #[error("{} is not a signal-ledger directory (no ledger.toml)", path.display())]
    NotALedger {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a directory that already holds other files.
    #[error("{} is not empty and is not a ledger; refusing to initialise it", path.display())]
    DirectoryNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a directory that already is a ledger.
    #[error("{} is already a ledger", path.display())]
    AlreadyALedger {
        /// The directory.
        path: PathBuf,
    },
    /// ledger.toml could not be read or holds a bad value.
    #[error("config {}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A signal passed to append breaks a rule.
    #[error("signal {index}: {error}")]
    InvalidSignal {
        /// Index of the signal in the batch.
        index: usize,
        /// The rule broken.
        error: crate::record::FieldError,
    },
    /// A signal of the batch carries a signal_id the ledger holds for a signal with other
    /// columns (an identical signal would have been skipped as recorded already).
    #[error("signal {index}: signal_id {signal_id:?} is already recorded at seq {seq} with different columns")]
    SignalIdTaken {
        /// Index of the signal in the batch.
        index: usize,
        /// The id.
        signal_id: String,
        /// Seq of the entry that holds it.
        seq: u64,
    },
    /// Two different signals of one batch carry the same signal_id.
    #[error("signal {index}: signal_id {signal_id:?} is also carried by signal {earlier} of the batch, with different columns")]
    SignalIdRepeated {
        /// Index of the later signal in the batch.
        index: usize,
        /// The id.
        signal_id: String,
        /// Index of the earlier signal.
        earlier: usize,
    },
    /// An outcome passed to append breaks a rule.
    #[error("outcome {index}: {error}")]
    InvalidOutcome {
        /// Index of the outcome in the batch.
        index: usize,
        /// The rule broken.
        error: crate::record::FieldError,
    },
    /// An outcome names a signal_id the ledger does not hold.
    #[error("outcome {index}: no signal with signal_id {signal_id:?} is recorded in this ledger")]
    UnknownSignal {
        /// Index of the outcome in the batch.
        index: usize,
        /// The id.
        signal_id: String,
    },
    /// The ledger was written in an older format version: `signal-ledger upgrade` moves it on.
    #[error("ledger {} is in format version {found}, older than this build's {current}: run `signal-ledger upgrade` first (it keeps every entry as it is)", path.display())]
    UpgradeNeeded {
        /// The ledger directory.
        path: PathBuf,
        /// The version in its ledger.toml.
        found: u16,
        /// The version this build writes.
        current: u16,
    },
    /// A seq or signal id asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A file beside the segments (not part of the chain) holds something unexpected.
    #[error("cannot read {}: {message}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A write failed earlier and could not be rolled back; the ledger must be reopened.
    #[error("the ledger writer is unusable after an earlier failure ({0}); reopen the ledger")]
    Poisoned(String),
}

impl LedgerError {
    /// Wraps an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        LedgerError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A corruption error.
    pub fn corrupt(
        file: impl Into<PathBuf>,
        offset: u64,
        seq: Option<u64>,
        kind: CorruptKind,
    ) -> Self {
        LedgerError::Corrupt(Box::new(Corruption {
            file: file.into(),
            offset,
            seq,
            kind,
        }))
    }

    /// The corruption, if this is one.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            LedgerError::Corrupt(c) => Some(c),
            _ => None,
        }
    }
}

/// Result with [`LedgerError`].
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
