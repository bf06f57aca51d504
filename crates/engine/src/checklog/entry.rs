//! The entries of the check log: recorded integrity checks (kind `0x03`) and retention anchors
//! (kind `0x04`). Both use the common entry outline (kind at 0, seq at 8, `prev_hash ‖
//! row_hash` at the end) and the ledger's row hash; layouts in FORMAT.md, "Check log".

use crate::error::CorruptKind;
use crate::hash::{row_hash, Hash};
use crate::record::codec::{malformed, split_hashes, utf8, Cursor, EntryKind};

/// Largest `errors_json` of a recorded check, in bytes.
pub const ERRORS_JSON_LEN_MAX: usize = 64 * 1024;

/// How much of the ledger a check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMode {
    /// Every entry held.
    Full,
    /// The entries after the last passed check, joined to it by its recorded row hash.
    Incremental,
    /// A seq range asked for.
    Range,
}

impl CheckMode {
    /// The stored code.
    pub fn code(self) -> u8 {
        match self {
            CheckMode::Full => 0,
            CheckMode::Incremental => 1,
            CheckMode::Range => 2,
        }
    }

    /// The mode stored as `code`.
    pub fn from_code(code: u8) -> Option<CheckMode> {
        match code {
            0 => Some(CheckMode::Full),
            1 => Some(CheckMode::Incremental),
            2 => Some(CheckMode::Range),
            _ => None,
        }
    }

    /// Its name in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMode::Full => "full",
            CheckMode::Incremental => "incremental",
            CheckMode::Range => "range",
        }
    }
}

/// A recorded integrity check: the PRD's SignalIntegrityCheck, plus the row hash it found at
/// `range_end` (which makes every passed check a digest kept beside the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    /// Its seq in the check log: the check_id.
    pub check_id: u64,
    /// Full, incremental or a range.
    pub mode: CheckMode,
    /// Whether every CRC, row hash and link checked was right (and nothing else failed).
    pub chain_valid: bool,
    /// When the check finished, ns since the epoch.
    pub checked_at_ns: i64,
    /// First seq checked.
    pub range_start: u64,
    /// Last seq checked (inclusive); `range_start - 1` wraps to mean "nothing" only when
    /// `expected_count` is 0.
    pub range_end: u64,
    /// Entries the range should hold.
    pub expected_count: u64,
    /// Entries found intact.
    pub actual_count: u64,
    /// Row hash of the entry at `range_end` as stored (zero when nothing was checked).
    pub head_row_hash: Hash,
    /// Wall time of the check, ns.
    pub duration_ns: u64,
    /// What failed, as a JSON array of strings (`[]` when it passed).
    pub errors_json: String,
}

/// A retention anchor: what one removed segment held, recorded before it was removed, so that
/// verifying what remains can start from it and prove nothing else went missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRecord {
    /// Its seq in the check log.
    pub seq: u64,
    /// When the segment was removed (the anchor recorded), ns.
    pub removed_at_ns: i64,
    /// First seq of the removed segment.
    pub first_seq: u64,
    /// Last seq of the removed segment.
    pub last_seq: u64,
    /// Entries it held.
    pub record_count: u64,
    /// Smallest and largest signal timestamp it held (its trailer's).
    pub min_timestamp_ns: i64,
    /// Largest signal timestamp.
    pub max_timestamp_ns: i64,
    /// Its header's prev_hash: the row hash its first entry chained to.
    pub prev_hash: Hash,
    /// Row hash of its last entry: what the first remaining entry chains to.
    pub last_row_hash: Hash,
    /// SHA-256 of the whole removed file.
    pub file_sha256: Hash,
    /// Its length in bytes.
    pub file_len: u64,
}

/// An entry of the check log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckLogEntry {
    /// A recorded check.
    Check(CheckRecord),
    /// A retention anchor.
    Anchor(AnchorRecord),
}

impl CheckLogEntry {
    /// Its seq in the check log.
    pub fn seq(&self) -> u64 {
        match self {
            CheckLogEntry::Check(c) => c.check_id,
            CheckLogEntry::Anchor(a) => a.seq,
        }
    }
}

const CHECK_FIXED_LEN: usize = 96;
const ANCHOR_CONTENT_LEN: usize = 168;

/// Appends the body of `check` (its `check_id` is its seq) chained to `prev`; returns its row
/// hash.
pub fn encode_check(out: &mut Vec<u8>, check: &CheckRecord, prev: &Hash) -> Hash {
    let start = out.len();
    out.push(EntryKind::IntegrityCheck as u8);
    out.push(check.mode.code());
    out.push(u8::from(check.chain_valid));
    out.extend_from_slice(&[0u8; 5]);
    out.extend_from_slice(&check.check_id.to_le_bytes());
    out.extend_from_slice(&check.checked_at_ns.to_le_bytes());
    out.extend_from_slice(&check.range_start.to_le_bytes());
    out.extend_from_slice(&check.range_end.to_le_bytes());
    out.extend_from_slice(&check.expected_count.to_le_bytes());
    out.extend_from_slice(&check.actual_count.to_le_bytes());
    out.extend_from_slice(&check.head_row_hash.0);
    out.extend_from_slice(&check.duration_ns.to_le_bytes());
    debug_assert_eq!(out.len() - start, CHECK_FIXED_LEN);
    debug_assert!(check.errors_json.len() <= ERRORS_JSON_LEN_MAX);
    out.extend_from_slice(&(check.errors_json.len() as u32).to_le_bytes());
    out.extend_from_slice(check.errors_json.as_bytes());
    finish(out, start, prev)
}

/// Appends the body of `anchor` chained to `prev`; returns its row hash.
pub fn encode_anchor(out: &mut Vec<u8>, anchor: &AnchorRecord, prev: &Hash) -> Hash {
    let start = out.len();
    out.push(EntryKind::RetentionAnchor as u8);
    out.extend_from_slice(&[0u8; 7]);
    out.extend_from_slice(&anchor.seq.to_le_bytes());
    out.extend_from_slice(&anchor.removed_at_ns.to_le_bytes());
    out.extend_from_slice(&anchor.first_seq.to_le_bytes());
    out.extend_from_slice(&anchor.last_seq.to_le_bytes());
    out.extend_from_slice(&anchor.record_count.to_le_bytes());
    out.extend_from_slice(&anchor.min_timestamp_ns.to_le_bytes());
    out.extend_from_slice(&anchor.max_timestamp_ns.to_le_bytes());
    out.extend_from_slice(&anchor.prev_hash.0);
    out.extend_from_slice(&anchor.last_row_hash.0);
    out.extend_from_slice(&anchor.file_sha256.0);
    out.extend_from_slice(&anchor.file_len.to_le_bytes());
    debug_assert_eq!(out.len() - start, ANCHOR_CONTENT_LEN);
    finish(out, start, prev)
}

fn finish(out: &mut Vec<u8>, start: usize, prev: &Hash) -> Hash {
    let hash = row_hash(prev, out.get(start..).unwrap_or_default());
    out.extend_from_slice(&prev.0);
    out.extend_from_slice(&hash.0);
    hash
}

fn hash(c: &mut Cursor<'_>, what: &str) -> Result<Hash, CorruptKind> {
    Ok(Hash(c.array::<32>(what)?))
}

/// Decodes a check-log entry body, checking its layout (not its row hash or links).
pub fn decode_check_log_entry(body: &[u8]) -> Result<CheckLogEntry, CorruptKind> {
    let (content, _, _) = split_hashes(body)
        .ok_or_else(|| malformed(format!("body of {} bytes is too short", body.len())))?;
    let mut c = Cursor {
        bytes: content,
        pos: 0,
    };
    let kind = c.u8("kind")?;
    let entry = match EntryKind::from_code(kind) {
        Some(EntryKind::IntegrityCheck) => {
            let code = c.u8("mode")?;
            let mode =
                CheckMode::from_code(code).ok_or_else(|| malformed(format!("mode code {code}")))?;
            let chain_valid = match c.u8("chain_valid")? {
                0 => false,
                1 => true,
                other => return Err(malformed(format!("chain_valid {other}"))),
            };
            if c.array::<5>("reserved")? != [0; 5] {
                return Err(malformed("reserved bytes are not zero"));
            }
            let check_id = c.u64("seq")?;
            let checked_at_ns = c.i64("checked_at")?;
            let range_start = c.u64("range_start")?;
            let range_end = c.u64("range_end")?;
            let expected_count = c.u64("expected_count")?;
            let actual_count = c.u64("actual_count")?;
            let head_row_hash = hash(&mut c, "head_row_hash")?;
            let duration_ns = c.u64("duration")?;
            let len = u32::from_le_bytes(c.array("errors_json length")?) as usize;
            if len > ERRORS_JSON_LEN_MAX {
                return Err(malformed(format!("errors_json of {len} bytes")));
            }
            let errors_json = utf8(c.take(len, "errors_json")?)
                .ok_or_else(|| malformed("errors_json is not UTF-8"))?
                .to_owned();
            CheckLogEntry::Check(CheckRecord {
                check_id,
                mode,
                chain_valid,
                checked_at_ns,
                range_start,
                range_end,
                expected_count,
                actual_count,
                head_row_hash,
                duration_ns,
                errors_json,
            })
        }
        Some(EntryKind::RetentionAnchor) => {
            if c.array::<7>("reserved")? != [0; 7] {
                return Err(malformed("reserved bytes are not zero"));
            }
            CheckLogEntry::Anchor(AnchorRecord {
                seq: c.u64("seq")?,
                removed_at_ns: c.i64("removed_at")?,
                first_seq: c.u64("first_seq")?,
                last_seq: c.u64("last_seq")?,
                record_count: c.u64("record_count")?,
                min_timestamp_ns: c.i64("min_timestamp")?,
                max_timestamp_ns: c.i64("max_timestamp")?,
                prev_hash: hash(&mut c, "prev_hash")?,
                last_row_hash: hash(&mut c, "last_row_hash")?,
                file_sha256: hash(&mut c, "file_sha256")?,
                file_len: c.u64("file_len")?,
            })
        }
        Some(other) => {
            return Err(malformed(format!(
                "entry kind {other:?} is not allowed in the check log"
            )))
        }
        None => return Err(CorruptKind::UnknownKind(kind)),
    };
    if c.pos != content.len() {
        return Err(malformed(format!(
            "{} unexpected bytes before the hashes",
            content.len() - c.pos
        )));
    }
    if let CheckLogEntry::Anchor(a) = &entry {
        if a.last_seq < a.first_seq || a.record_count != a.last_seq - a.first_seq + 1 {
            return Err(malformed(format!(
                "anchor of seqs {}..={} says {} entries",
                a.first_seq, a.last_seq, a.record_count
            )));
        }
    }
    Ok(entry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn check() -> CheckRecord {
        CheckRecord {
            check_id: 3,
            mode: CheckMode::Incremental,
            chain_valid: false,
            checked_at_ns: 1_767_225_600_000_000_000,
            range_start: 100,
            range_end: 199,
            expected_count: 100,
            actual_count: 42,
            head_row_hash: Hash([5; 32]),
            duration_ns: 1234,
            errors_json: r#"["crc mismatch at seq 142"]"#.into(),
        }
    }

    fn anchor() -> AnchorRecord {
        AnchorRecord {
            seq: 4,
            removed_at_ns: 9,
            first_seq: 0,
            last_seq: 999,
            record_count: 1000,
            min_timestamp_ns: -5,
            max_timestamp_ns: 77,
            prev_hash: Hash([0; 32]),
            last_row_hash: Hash([1; 32]),
            file_sha256: Hash([2; 32]),
            file_len: 4096,
        }
    }

    #[test]
    fn both_kinds_round_trip_and_every_bit_flip_changes_or_fails() {
        for entry in [
            CheckLogEntry::Check(check()),
            CheckLogEntry::Anchor(anchor()),
        ] {
            let mut body = Vec::new();
            let prev = Hash([9; 32]);
            let h = match &entry {
                CheckLogEntry::Check(c) => encode_check(&mut body, c, &prev),
                CheckLogEntry::Anchor(a) => encode_anchor(&mut body, a, &prev),
            };
            assert_eq!(decode_check_log_entry(&body).unwrap(), entry);
            let (content, p, r) = split_hashes(&body).unwrap();
            assert_eq!((p, r), (prev, h));
            assert_eq!(row_hash(&prev, content), h);
            let content_len = content.len();
            for i in 0..content_len {
                for bit in 0..8 {
                    let mut b = body.clone();
                    b[i] ^= 1 << bit;
                    if let Ok(e) = decode_check_log_entry(&b) {
                        assert_ne!(e, entry, "flip {i}:{bit}");
                    }
                }
            }
        }
    }
}
