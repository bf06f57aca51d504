//! [`WithOutcomes`]: a signal and its whole outcome history as one JSON object, the form
//! `get --outcomes` prints.

use serde::{Serialize, Serializer};
use signal_ledger_engine::record::json::{write_outcome_json, write_record_json};
use signal_ledger_engine::record::OutcomeRecord;
use signal_ledger_engine::SignalRecord;

/// A signal (its latest outcome applied) and every outcome recorded for it, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct WithOutcomes<'a> {
    /// The signal.
    pub record: &'a SignalRecord,
    /// Its outcomes, oldest first.
    pub outcomes: &'a [OutcomeRecord],
}

/// The record's JSON object with one more key, `"outcomes"`: an array of the outcomes' JSON
/// objects.
impl Serialize for WithOutcomes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        write_record_json(self.record, &mut text);
        debug_assert!(text.ends_with('}'), "a record is written as one object");
        text.pop();
        text.push_str(",\"outcomes\":[");
        for (i, o) in self.outcomes.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            write_outcome_json(&o.as_view(), &mut text);
        }
        text.push_str("]}");
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}
