//! Any entry of a segment, decoded by its kind, and which kinds each format version allows.

use crate::error::CorruptKind;
use crate::record::codec::{decode_signal, entry_kind, EntryKind, SignalView};
use crate::record::outcome::{decode_outcome, OutcomeRecord, OutcomeView};
use crate::record::SignalRecord;

/// An entry body decoded in place.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryView<'a> {
    /// A signal (kind `0x01`).
    Signal(SignalView<'a>),
    /// An outcome of an earlier signal (kind `0x02`, format version 2).
    Outcome(OutcomeView<'a>),
}

/// An entry, owned.
// Signals are the common case and are read one at a time (get, tail): boxing them to shrink
// the rare outcome variant would cost an allocation per signal for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EntryRecord {
    /// A signal.
    Signal(SignalRecord),
    /// An outcome of an earlier signal.
    Outcome(OutcomeRecord),
}

impl EntryRecord {
    /// The entry's seq.
    pub fn seq(&self) -> u64 {
        match self {
            EntryRecord::Signal(s) => s.seq,
            EntryRecord::Outcome(o) => o.seq,
        }
    }
}

impl EntryView<'_> {
    /// Copies the view into an owned record.
    pub fn to_record(&self) -> EntryRecord {
        match self {
            EntryView::Signal(s) => EntryRecord::Signal(s.to_record()),
            EntryView::Outcome(o) => EntryRecord::Outcome(o.to_record()),
        }
    }

    /// The entry's seq.
    pub fn seq(&self) -> u64 {
        match self {
            EntryView::Signal(s) => s.seq,
            EntryView::Outcome(o) => o.seq,
        }
    }
}

/// Checks that a segment of `format_version` may hold an entry of `kind`: version 1 holds
/// signals only, version 2 signals and outcomes (FORMAT.md, "Entry body").
pub fn check_kind_allowed(kind: EntryKind, format_version: u16) -> Result<(), CorruptKind> {
    let allowed = match kind {
        EntryKind::Signal => true,
        EntryKind::Outcome => format_version >= 2,
        EntryKind::IntegrityCheck | EntryKind::RetentionAnchor | EntryKind::RecoveryEvent => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(CorruptKind::Malformed(format!(
            "entry kind {kind:?} is not allowed in a segment of format version {format_version}"
        )))
    }
}

/// Decodes an entry of a segment of `format_version`, checking every layout rule of its kind
/// and that the version allows the kind. Does not check the row hash.
pub fn decode_entry(body: &[u8], format_version: u16) -> Result<EntryView<'_>, CorruptKind> {
    let kind = entry_kind(body)?;
    check_kind_allowed(kind, format_version)?;
    match kind {
        EntryKind::Outcome => decode_outcome(body).map(EntryView::Outcome),
        _ => decode_signal(body).map(EntryView::Signal),
    }
}
