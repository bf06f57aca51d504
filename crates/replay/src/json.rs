//! The JSON forms of a replay, written once for every front end: an event as one line
//! (`replay --format ndjson`), and what a replay delivered ([`ReplaySummary`]'s `Serialize`,
//! the `end` event of GET /v1/replay).

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use signal_ledger_engine::record::json::{push_json_str, write_entry_json};
use signal_ledger_engine::record::EntryView;

use crate::event::Event;
use crate::position::Position;
use crate::summary::{PacingSummary, ReplaySummary};

/// The kind of `event`: `signal` or `outcome` (the SSE event name, the line's `event`).
pub fn event_name(event: &Event<'_>) -> &'static str {
    match event {
        EntryView::Signal(_) => "signal",
        EntryView::Outcome(_) => "outcome",
    }
}

/// Appends `{"event":"signal"|"outcome","position":"p1…","record":{…}}` and a newline: the
/// record as the engine writes it, the position to resume after.
pub fn write_event_line(event: &Event<'_>, position: &Position, out: &mut String) {
    out.push_str("{\"event\":");
    push_json_str(out, event_name(event));
    out.push_str(",\"position\":");
    push_json_str(out, &position.encode());
    out.push_str(",\"record\":");
    write_entry_json(event, out);
    out.push_str("}\n");
}

/// `{"paced","p50_us","p99_us","max_us"}`.
impl Serialize for PacingSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("PacingSummary", 4)?;
        o.serialize_field("paced", &self.paced)?;
        o.serialize_field("p50_us", &(self.p50.as_micros() as u64))?;
        o.serialize_field("p99_us", &(self.p99.as_micros() as u64))?;
        o.serialize_field("max_us", &(self.max.as_micros() as u64))?;
        o.end()
    }
}

/// `{"signals","outcomes","last","stopped","pacing"}`, `last` the position to resume after
/// (null when nothing was delivered).
impl Serialize for ReplaySummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("ReplaySummary", 5)?;
        o.serialize_field("signals", &self.signals)?;
        o.serialize_field("outcomes", &self.outcomes)?;
        o.serialize_field("last", &self.last.map(|p| p.encode()))?;
        o.serialize_field("stopped", &self.stopped)?;
        o.serialize_field("pacing", &self.pacing)?;
        o.end()
    }
}
