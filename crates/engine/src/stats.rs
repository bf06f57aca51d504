//! The `stats` operation: what a snapshot of a ledger holds, the settings in force, the check
//! log's summary and a sink's metrics, as one serializable [`LedgerStats`] (`signal-ledger stats`
//! and GET /v1/stats).

use std::path::Path;

use serde::Serialize;

use crate::checklog::{read_check_log, CheckLog};
use crate::config::{Durability, LedgerToml};
use crate::sink::SinkMetrics;
use crate::snapshot::{Snapshot, TornTail};
use crate::timefmt::format_rfc3339_ns;

/// A ledger's figures, keys in this order in its JSON form.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerStats {
    /// The ledger directory.
    pub ledger: String,
    /// The format version of `ledger.toml`.
    pub format_version: u16,
    /// Entries held (signals and outcomes).
    pub records: u64,
    /// Segment files.
    pub segments: u64,
    /// Of which sealed.
    pub sealed_segments: u64,
    /// Bytes of all segments.
    pub bytes: u64,
    /// First seq held.
    pub first_seq: u64,
    /// Seq the next entry gets.
    pub next_seq: u64,
    /// Earliest signal timestamp (RFC 3339).
    pub first_timestamp: Option<String>,
    /// Latest signal timestamp (RFC 3339).
    pub last_timestamp: Option<String>,
    /// Head seq.
    pub head_seq: Option<u64>,
    /// Head row hash (hex).
    pub head_hash: Option<String>,
    /// A torn tail the snapshot skipped (not part of the ledger).
    pub torn_tail: Option<TornTail>,
    /// Damage the snapshot met while opening, as a message.
    pub damage: Option<String>,
    /// The settings in force.
    pub config: ConfigStats,
    /// The check log's summary; None when it cannot be read.
    pub check_log: Option<CheckLogStats>,
    /// The sink's metrics: the running sink's, or those the last sink left; None when no sink
    /// has written to the ledger.
    pub sink: Option<SinkMetrics>,
}

/// The settings in force (`ledger.toml` with any overrides).
#[derive(Debug, Clone, Serialize)]
pub struct ConfigStats {
    /// Sync after each append.
    pub durability: Durability,
    /// Segment size at which a segment is sealed.
    pub segment_size_bytes: u64,
    /// Signals per group the sink commits without waiting.
    pub batch_size: u64,
    /// Longest the sink's idle writer waits for a group to fill.
    pub flush_interval_ms: u64,
    /// Days sealed segments are kept; 0 keeps everything.
    pub retention_days: u32,
    /// Whether a legal hold stops retention.
    pub legal_hold: bool,
    /// Seconds between scheduled checks; 0 runs none.
    pub check_interval_secs: u64,
    /// Every this many scheduled checks, one is full.
    pub full_check_every: u32,
}

/// The check log in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLogStats {
    /// Checks recorded.
    pub checks: u64,
    /// Of which failed.
    pub failed: u64,
    /// The last check's id.
    pub last_check_id: Option<u64>,
    /// When the last check ran (RFC 3339).
    pub last_checked_at: Option<String>,
    /// Whether the last check passed.
    pub last_passed: Option<bool>,
    /// Retention anchors recorded.
    pub anchors: u64,
    /// Damage in the log's own chain, as a message.
    pub damage: Option<String>,
}

impl CheckLogStats {
    fn of(log: &CheckLog) -> CheckLogStats {
        let last = log.checks().last();
        CheckLogStats {
            checks: log.checks().count() as u64,
            failed: log.checks().filter(|c| !c.chain_valid).count() as u64,
            last_check_id: last.map(|c| c.check_id),
            last_checked_at: last.map(|c| format_rfc3339_ns(c.checked_at_ns)),
            last_passed: last.map(|c| c.chain_valid),
            anchors: log.anchors().count() as u64,
            damage: log.damage.as_ref().map(ToString::to_string),
        }
    }
}

impl LedgerStats {
    /// The figures of `snapshot` under the settings `toml`, with `sink`'s metrics.
    pub fn of(snapshot: &Snapshot, toml: &LedgerToml, sink: Option<SinkMetrics>) -> LedgerStats {
        let head = snapshot.head();
        let range = snapshot.timestamp_range();
        let p = &toml.persistence;
        LedgerStats {
            ledger: path_text(snapshot.dir()),
            format_version: toml.format_version,
            records: snapshot.record_count(),
            segments: snapshot.segments().len() as u64,
            sealed_segments: snapshot
                .segments()
                .iter()
                .filter(|s| s.trailer.is_some())
                .count() as u64,
            bytes: snapshot.bytes_total(),
            first_seq: snapshot.first_seq(),
            next_seq: snapshot.next_seq(),
            first_timestamp: range.map(|(min, _)| format_rfc3339_ns(min)),
            last_timestamp: range.map(|(_, max)| format_rfc3339_ns(max)),
            head_seq: head.map(|h| h.seq),
            head_hash: head.map(|h| h.row_hash.to_hex()),
            torn_tail: snapshot.torn_tail().cloned(),
            damage: snapshot.damage().map(ToString::to_string),
            config: ConfigStats {
                durability: p.durability,
                segment_size_bytes: p.segment_size_bytes,
                batch_size: p.batch_size as u64,
                flush_interval_ms: p.flush_interval_ms,
                retention_days: p.retention_days,
                legal_hold: p.legal_hold,
                check_interval_secs: p.check_interval_secs,
                full_check_every: p.full_check_every,
            },
            check_log: read_check_log(snapshot.dir())
                .ok()
                .map(|log| CheckLogStats::of(&log)),
            sink,
        }
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}
