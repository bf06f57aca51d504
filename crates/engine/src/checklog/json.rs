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
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::checklog::CheckMode;
    use crate::hash::Hash;
    use serde_json::{json, Value};

    fn check() -> CheckRecord {
        CheckRecord {
            check_id: 7,
            mode: CheckMode::Incremental,
            chain_valid: false,
            checked_at_ns: 1_767_225_600_123_456_789,
            range_start: 100,
            range_end: 199,
            expected_count: 100,
            actual_count: 42,
            head_row_hash: Hash([0xA5; 32]),
            duration_ns: 1_234_567,
            errors_json: r#"["crc mismatch at seq 142","a \"quoted\"\nline"]"#.into(),
        }
    }

    fn parse(text: &str) -> serde_json::Map<String, Value> {
        assert!(!text.contains('\n'), "{text}");
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            other => panic!("not an object: {other:?} from {text}"),
        }
    }

    #[test]
    fn every_key_in_order_with_its_value() {
        let text = check().to_json();
        let m = parse(&text);
        assert_eq!(m.keys().count(), CHECK_JSON_KEYS.len(), "{text}");
        let mut at = 0;
        for key in CHECK_JSON_KEYS {
            let needle = format!("\"{key}\":");
            at += text[at..].find(&needle).unwrap() + needle.len();
        }
        assert_eq!(
            Value::Object(m),
            json!({
                "check_id": 7,
                "checked_at": "2026-01-01T00:00:00.123456789Z",
                "mode": "incremental",
                "chain_valid": false,
                "range_start": 100,
                "range_end": 199,
                "expected_count": 100,
                "actual_count": 42,
                "head_row_hash": "a5".repeat(32),
                "duration_ms": 1.234567,
                "errors": ["crc mismatch at seq 142", "a \"quoted\"\nline"],
            })
        );
    }

    #[test]
    fn a_passed_check_has_no_errors_and_an_exact_duration() {
        let c = CheckRecord {
            chain_valid: true,
            mode: CheckMode::Full,
            duration_ns: 0,
            errors_json: "[]".into(),
            ..check()
        };
        let m = parse(&c.to_json());
        assert_eq!(m["errors"], json!([]));
        assert_eq!(m["duration_ms"].as_f64(), Some(0.0));
        assert_eq!(m["mode"], "full");
        let slow = CheckRecord {
            duration_ns: 3_600_000_000_001,
            ..c
        };
        assert_eq!(
            parse(&slow.to_json())["duration_ms"].as_f64(),
            Some(3_600_000.000001)
        );
    }

    #[test]
    fn errors_on_several_lines_are_written_on_one() {
        let c = CheckRecord {
            errors_json: "[\n  \"first\",\n  \"second\"\n]".into(),
            ..check()
        };
        assert_eq!(parse(&c.to_json())["errors"], json!(["first", "second"]));
    }

    #[test]
    fn recorded_errors_that_are_not_a_list_of_strings_still_give_valid_json() {
        for stored in ["\"]}", "", "[1,2]", "{\"a\":1}", "[\"ok\""] {
            let c = CheckRecord {
                errors_json: stored.into(),
                ..check()
            };
            let m = parse(&c.to_json());
            assert_eq!(m.len(), CHECK_JSON_KEYS.len(), "{stored:?}");
            let errors = m["errors"].as_array().unwrap();
            assert_eq!(errors.len(), 1, "{stored:?}");
            let message = errors[0].as_str().unwrap();
            assert!(
                message.starts_with("the recorded errors are not a JSON array of strings")
                    && message.ends_with(stored),
                "{message}"
            );
        }
    }
}
