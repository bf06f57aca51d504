//! Head digests: the ledger's last entry as one JSON line, kept outside the ledger, and the check
//! that a ledger still holds that exact entry.
//!
//! `{"seq":1234,"row_hash":"<64 hex>","timestamp":"<RFC 3339 recorded_at of that entry>"}`.
//! Because every row hash covers all before it, a ledger that still holds the digest's row hash
//! at the digest's seq (and verifies) has not had any entry up to that seq rewritten.

use serde::{Deserialize, Serialize};

use crate::checklog::{anchor_holding, read_check_log};
use crate::error::{CorruptKind, Corruption, LedgerError, Result};
use crate::files::CHECK_LOG_FILE;
use crate::hash::Hash;
use crate::record::codec::{signal_recorded_at, split_hashes};
use crate::record::entry::EntryView;
use crate::snapshot::Snapshot;
use crate::timefmt::{format_rfc3339_ns, parse_rfc3339_ns};

/// A head digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Seq of the entry.
    pub seq: u64,
    /// Its row hash.
    pub row_hash: Hash,
    /// Its recorded_at, ns since the epoch.
    pub recorded_at_ns: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestJson {
    seq: u64,
    row_hash: String,
    timestamp: String,
}

/// `{"seq","row_hash","timestamp"}`: the digest line.
impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        DigestJson {
            seq: self.seq,
            row_hash: self.row_hash.to_hex(),
            timestamp: format_rfc3339_ns(self.recorded_at_ns),
        }
        .serialize(s)
    }
}

/// Why a ledger gives no head digest.
#[derive(Debug, thiserror::Error)]
pub enum NoHead {
    /// It holds no entry.
    #[error("the ledger is empty: no head to digest")]
    Empty,
    /// Its head entry is damaged.
    #[error("the head entry cannot be read: {0}")]
    Damaged(Corruption),
    /// Its head entry cannot be read for another reason.
    #[error("the head entry cannot be read; run verify")]
    Unreadable,
    /// Reading failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl Digest {
    /// The digest of the last entry of `snapshot`: `digest` and GET /v1/digest.
    pub fn of_head_required(snapshot: &Snapshot) -> std::result::Result<Digest, NoHead> {
        match Self::of_head(snapshot)? {
            Some(d) => Ok(d),
            None if snapshot.record_count() == 0 => Err(NoHead::Empty),
            None => Err(match snapshot.damage() {
                Some(c) => NoHead::Damaged(c.clone()),
                None => NoHead::Unreadable,
            }),
        }
    }

    /// The digest of the last entry of `snapshot`, or None when it is empty.
    pub fn of_head(snapshot: &Snapshot) -> Result<Option<Digest>> {
        let Some(head) = snapshot.head() else {
            return Ok(None);
        };
        Self::at(snapshot, head.seq)
    }

    /// The digest of the entry at `seq`, if held.
    pub fn at(snapshot: &Snapshot, seq: u64) -> Result<Option<Digest>> {
        let Some(entry) = snapshot.entries_from(seq).next() else {
            return Ok(None);
        };
        let entry = entry?;
        let view = snapshot.decode_entry(&entry)?;
        let recorded_at_ns = match &view {
            EntryView::Signal(s) => s.recorded_at_ns,
            EntryView::Outcome(o) => o.recorded_at_ns,
        };
        let row_hash = match &view {
            EntryView::Signal(s) => s.row_hash,
            EntryView::Outcome(o) => o.row_hash,
        };
        Ok(Some(Digest {
            seq,
            row_hash,
            recorded_at_ns,
        }))
    }

    /// The one-line JSON form (its `Serialize` form).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON form (surrounding whitespace allowed).
    pub fn parse(text: &str) -> std::result::Result<Digest, String> {
        let json: DigestJson =
            serde_json::from_str(text.trim()).map_err(|e| format!("not a digest line ({e})"))?;
        let row_hash = Hash::from_hex(&json.row_hash)
            .ok_or_else(|| "row_hash is not 64 hex characters".to_owned())?;
        let recorded_at_ns =
            parse_rfc3339_ns(&json.timestamp).map_err(|e| format!("timestamp {e}"))?;
        Ok(Digest {
            seq: json.seq,
            row_hash,
            recorded_at_ns,
        })
    }

    /// Why a digest whose seq lies before the first held entry cannot be checked: the
    /// retention anchor of the removed segment that held it, and what the anchor records.
    fn pruned(&self, snapshot: &Snapshot) -> Corruption {
        let first = snapshot.first_seq();
        let log = read_check_log(snapshot.dir()).unwrap_or_default();
        let message = match anchor_holding(&log, self.seq) {
            Some(a) => {
                let same = if a.last_seq == self.seq {
                    if a.last_row_hash == self.row_hash {
                        "; the anchor records this same row_hash for it, and what remains chains on from it"
                    } else {
                        "; the anchor records a DIFFERENT row_hash for it"
                    }
                } else {
                    ""
                };
                format!(
                    "seq {} was removed by retention at {} with segment {}..={} (retention anchor {} in {}); the ledger now starts at seq {first}, so the digest cannot be checked against its entry{same}",
                    self.seq,
                    format_rfc3339_ns(a.removed_at_ns),
                    a.first_seq,
                    a.last_seq,
                    a.seq,
                    CHECK_LOG_FILE
                )
            }
            None => format!(
                "the ledger no longer holds seq {} (it starts at seq {first}) and no retention anchor covers it",
                self.seq
            ),
        };
        Corruption {
            file: snapshot.dir().to_path_buf(),
            offset: 0,
            seq: Some(self.seq),
            kind: CorruptKind::DigestPruned(message),
        }
    }

    /// Checks that `snapshot` holds this exact entry. Whether the rest of the chain is intact is
    /// `verify`'s job; together they prove nothing up to `seq` was rewritten.
    pub fn check(&self, snapshot: &Snapshot) -> std::result::Result<(), Corruption> {
        let mismatch = |file, offset, message: String| Corruption {
            file,
            offset,
            seq: Some(self.seq),
            kind: CorruptKind::DigestMismatch(message),
        };
        if self.seq < snapshot.first_seq() {
            return Err(self.pruned(snapshot));
        }
        if self.seq >= snapshot.next_seq() {
            return Err(mismatch(
                snapshot.dir().to_path_buf(),
                0,
                match snapshot.next_seq() {
                    0 => format!(
                        "the ledger is empty: it holds no seq {}, so entries were removed",
                        self.seq
                    ),
                    next => format!(
                        "the ledger ends before seq {} (its last seq is {}): entries were removed",
                        self.seq,
                        next - 1
                    ),
                },
            ));
        }
        let entry = match snapshot.entries_from(self.seq).next() {
            Some(Ok(e)) => e,
            Some(Err(LedgerError::Corrupt(c))) => return Err(*c),
            _ => {
                return Err(mismatch(
                    snapshot.dir().to_path_buf(),
                    0,
                    format!("seq {} cannot be read", self.seq),
                ))
            }
        };
        let file = snapshot
            .segments()
            .get(entry.segment)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        let stored = split_hashes(entry.body).map(|(_, _, h)| h);
        let recorded_at = signal_recorded_at(entry.body);
        if stored == Some(self.row_hash) && recorded_at != Some(self.recorded_at_ns) {
            return Err(mismatch(
                file,
                entry.offset as u64,
                format!(
                    "seq {} has the digest's row_hash but recorded_at {}, the digest says {}",
                    self.seq,
                    recorded_at.map(format_rfc3339_ns).unwrap_or_default(),
                    format_rfc3339_ns(self.recorded_at_ns)
                ),
            ));
        }
        if stored != Some(self.row_hash) {
            return Err(mismatch(
                file,
                entry.offset as u64,
                format!(
                    "seq {} has row_hash {}, the digest says {}",
                    self.seq,
                    stored.map(|h| h.to_hex()).unwrap_or_default(),
                    self.row_hash
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let d = Digest {
            seq: 42,
            row_hash: Hash([0xCD; 32]),
            recorded_at_ns: 1_790_000_000_123_456_789,
        };
        assert_eq!(Digest::parse(&d.to_json()).unwrap(), d);
        assert!(Digest::parse("{\"seq\":1}").is_err());
    }
}
