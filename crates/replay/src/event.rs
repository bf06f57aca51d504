//! The events a replay delivers: entries of the ledger, decoded in place ([`Event`]) or owned
//! ([`OwnedEvent`]).

use signal_ledger_engine::record::{EntryRecord, EntryView};

/// An event, borrowed from the replay's snapshot: a signal as it was recorded, or an outcome
/// of one. (A signal is delivered as stored, its `acted_upon` as the producer gave it: its
/// outcomes follow as events of their own, at their own time.)
pub type Event<'a> = EntryView<'a>;

/// An event, owned: what the iterator and the channel deliver.
pub type OwnedEvent = EntryRecord;

/// The time an event is replayed at: a signal's timestamp, an outcome's decision time (ns).
pub fn event_time_ns(event: &Event<'_>) -> i64 {
    match event {
        EntryView::Signal(s) => s.timestamp_ns,
        EntryView::Outcome(o) => o.decided_at_ns,
    }
}
