//! The JSON forms of what the writer reports, shown by every front end alike: signals made
//! durable (POST /v1/signals), outcomes recorded (`outcome`, POST /v1/outcomes), a retention plan
//! (`retention`) and an upgrade report (`upgrade`).

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::outcomes::{OutcomeReceipt, RecordedOutcome};
use super::receipt::Durable;
use super::retention::{ExpiredSegment, RetentionPlan};
use super::upgrade::UpgradeReport;
use crate::record::Outcome;
use crate::timefmt::format_rfc3339_ns;

/// Signals as made durable, in the order they were given: `{"count","seqs","signal_ids",
/// "already_recorded","last_row_hash"}` (the seq and row hash of one recorded already are the
/// original entry's).
#[derive(Debug, Clone, Copy)]
pub struct SignalsRecorded<'a>(pub &'a [Durable]);

impl Serialize for SignalsRecorded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let durable = self.0;
        let seqs: Vec<u64> = durable.iter().map(|d| d.seq).collect();
        let ids: Vec<&str> = durable.iter().map(|d| d.signal_id.as_str()).collect();
        let mut m = s.serialize_struct("SignalsRecorded", 5)?;
        m.serialize_field("count", &durable.len())?;
        m.serialize_field("seqs", &seqs)?;
        m.serialize_field("signal_ids", &ids)?;
        m.serialize_field(
            "already_recorded",
            &durable.iter().filter(|d| d.already_recorded).count(),
        )?;
        m.serialize_field(
            "last_row_hash",
            &durable.last().map(|d| d.row_hash.to_hex()),
        )?;
        m.end()
    }
}

/// Outcomes as recorded: `{"count":N,"outcomes":[{"seq","signal_seq","signal_id",
/// "acted_upon","row_hash"}…],"head_hash":"<hex>"}`, each outcome beside its receipt.
#[derive(Debug, Clone, Copy)]
pub struct OutcomesRecorded<'a> {
    /// The outcomes appended, in batch order.
    pub outcomes: &'a [Outcome],
    /// Their receipt.
    pub receipt: &'a OutcomeReceipt,
}

struct OutcomeEntry<'a>(&'a Outcome, &'a RecordedOutcome);

impl Serialize for OutcomeEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let OutcomeEntry(o, r) = self;
        let mut m = s.serialize_struct("Outcome", 5)?;
        m.serialize_field("seq", &r.seq)?;
        m.serialize_field("signal_seq", &r.signal_seq)?;
        m.serialize_field("signal_id", &o.signal_id)?;
        m.serialize_field("acted_upon", &o.decision.acted_upon())?;
        m.serialize_field("row_hash", &r.row_hash.to_hex())?;
        m.end()
    }
}

impl Serialize for OutcomesRecorded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<OutcomeEntry<'_>> = self
            .outcomes
            .iter()
            .zip(&self.receipt.outcomes)
            .map(|(o, r)| OutcomeEntry(o, r))
            .collect();
        let mut m = s.serialize_struct("OutcomesRecorded", 3)?;
        m.serialize_field("count", &self.receipt.outcomes.len())?;
        m.serialize_field("outcomes", &entries)?;
        m.serialize_field("head_hash", &self.receipt.head_hash.to_hex())?;
        m.end()
    }
}

/// `{"segment","first_seq","last_seq","records","min_timestamp","max_timestamp","bytes",
/// "anchor_seq"}`.
impl Serialize for ExpiredSegment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ExpiredSegment", 8)?;
        m.serialize_field("segment", &self.path.display().to_string())?;
        m.serialize_field("first_seq", &self.first_seq)?;
        m.serialize_field("last_seq", &self.last_seq)?;
        m.serialize_field("records", &self.record_count)?;
        m.serialize_field("min_timestamp", &format_rfc3339_ns(self.min_timestamp_ns))?;
        m.serialize_field("max_timestamp", &format_rfc3339_ns(self.max_timestamp_ns))?;
        m.serialize_field("bytes", &self.bytes)?;
        m.serialize_field("anchor_seq", &self.anchor_seq)?;
        m.end()
    }
}

/// `{"retention_days","cutoff","legal_hold","applied","segments","records","expired"}`.
impl Serialize for RetentionPlan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("RetentionPlan", 7)?;
        m.serialize_field("retention_days", &self.retention_days)?;
        m.serialize_field("cutoff", &self.cutoff_ns.map(format_rfc3339_ns))?;
        m.serialize_field("legal_hold", &self.legal_hold)?;
        m.serialize_field("applied", &self.applied)?;
        m.serialize_field("segments", &self.expired.len())?;
        m.serialize_field(
            "records",
            &self.expired.iter().map(|e| e.record_count).sum::<u64>(),
        )?;
        m.serialize_field("expired", &self.expired)?;
        m.end()
    }
}

/// `{"from_version","to_version","verified_entries","sealed","active"}`.
impl Serialize for UpgradeReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("UpgradeReport", 5)?;
        m.serialize_field("from_version", &self.from_version)?;
        m.serialize_field("to_version", &self.to_version)?;
        m.serialize_field("verified_entries", &self.verified_entries)?;
        m.serialize_field(
            "sealed",
            &self.sealed.as_ref().map(|p| p.display().to_string()),
        )?;
        m.serialize_field("active", &self.active.display().to_string())?;
        m.end()
    }
}
