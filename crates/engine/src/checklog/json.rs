//! A recorded check as one JSON object: the form `signal-ledger checks --format json` prints and
//! GET /v1/checks answers, written here once so the two cannot differ.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::checklog::entry::CheckRecord;
use crate::timefmt::format_rfc3339_ns;

/// The keys of [`CheckRecord::to_json`], in the order they are written.
pub const CHECK_JSON_KEYS: [&str; 11] = [
    "check_id",
    "checked_at",
    "mode",
    "chain_valid",
    "range_start",
    "range_end",
    "expected_count",
    "actual_count",
    "head_row_hash",
    "duration_ms",
    "errors",
];

impl CheckRecord {
    /// The check as one JSON object on one line: [`CHECK_JSON_KEYS`] in order (its `Serialize`
    /// form).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The recorded `errors_json` as strings. A check log written by something else may hold
    /// any UTF-8 there: what is not a JSON array of strings becomes one string saying so and
    /// quoting it.
    pub fn errors(&self) -> Vec<String> {
        serde_json::from_str::<Vec<String>>(&self.errors_json).unwrap_or_else(|e| {
            vec![format!(
                "the recorded errors are not a JSON array of strings ({e}): {}",
                self.errors_json
            )]
        })
    }
}

/// The check as one JSON object (`checks --format json`, GET /v1/checks): [`CHECK_JSON_KEYS`]
/// in order.
///
/// - `checked_at` is an RFC 3339 UTC string, `mode` its name (`full`, `incremental`, `range`),
///   `head_row_hash` 64 lower-case hex characters.
/// - `duration_ms` is the recorded duration in milliseconds, exactly (`duration_ns / 1e6` in
///   shortest round-trip form, e.g. `1.234567`).
/// - `errors` is [`CheckRecord::errors`]: always an array of strings.
impl Serialize for CheckRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [check_id, checked_at, mode, chain_valid, range_start, range_end, expected_count, actual_count, head_row_hash, duration_ms, errors] =
            CHECK_JSON_KEYS;
        let mut o = s.serialize_struct("CheckRecord", CHECK_JSON_KEYS.len())?;
        o.serialize_field(check_id, &self.check_id)?;
        o.serialize_field(checked_at, &format_rfc3339_ns(self.checked_at_ns))?;
        o.serialize_field(mode, self.mode.as_str())?;
        o.serialize_field(chain_valid, &self.chain_valid)?;
        o.serialize_field(range_start, &self.range_start)?;
        o.serialize_field(range_end, &self.range_end)?;
        o.serialize_field(expected_count, &self.expected_count)?;
        o.serialize_field(actual_count, &self.actual_count)?;
        o.serialize_field(head_row_hash, &self.head_row_hash.to_hex())?;
        o.serialize_field(duration_ms, &(self.duration_ns as f64 / 1e6))?;
        o.serialize_field(errors, &self.errors())?;
        o.end()
    }
}
