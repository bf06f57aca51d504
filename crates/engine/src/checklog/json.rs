//! A recorded check as one JSON object: the form `signal-ledger checks --format json` prints and
//! GET /v1/checks answers, written here once so the two cannot differ.

use std::fmt::Write as _;

use crate::checklog::entry::CheckRecord;
use crate::record::json::{push_f64, push_json_str};
use crate::timefmt::push_rfc3339_ns;

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
    /// The check as one JSON object on one line: [`CHECK_JSON_KEYS`] in order.
    ///
    /// - `checked_at` is an RFC 3339 UTC string, `mode` its name (`full`, `incremental`,
    ///   `range`), `head_row_hash` 64 lower-case hex characters.
    /// - `duration_ms` is the recorded duration in milliseconds, exactly (`duration_ns / 1e6` in
    ///   shortest round-trip form, e.g. `1.234567`).
    /// - `errors` is the recorded array of strings, rewritten on one line. A check log written
    ///   by something else may hold any UTF-8 there: what is not a JSON array of strings is
    ///   shown as a one-string array saying so and quoting it, so the object is always valid.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(320 + self.errors_json.len());
        let _ = write!(out, "{{\"check_id\":{}", self.check_id);
        out.push_str(",\"checked_at\":\"");
        push_rfc3339_ns(&mut out, self.checked_at_ns);
        out.push_str("\",\"mode\":");
        push_json_str(&mut out, self.mode.as_str());
        let _ = write!(
            out,
            ",\"chain_valid\":{},\"range_start\":{},\"range_end\":{},\"expected_count\":{},\"actual_count\":{}",
            self.chain_valid, self.range_start, self.range_end, self.expected_count, self.actual_count
        );
        out.push_str(",\"head_row_hash\":");
        push_json_str(&mut out, &self.head_row_hash.to_hex());
        out.push_str(",\"duration_ms\":");
        push_f64(&mut out, self.duration_ns as f64 / 1e6);
        out.push_str(",\"errors\":");
        push_errors(&mut out, &self.errors_json);
        out.push('}');
        out
    }
}

/// The recorded `errors_json` as a one-line JSON array of strings.
fn push_errors(out: &mut String, errors_json: &str) {
    match serde_json::from_str::<Vec<String>>(errors_json) {
        Ok(errors) => push_strings(out, &errors),
        Err(e) => push_strings(
            out,
            &[format!(
                "the recorded errors are not a JSON array of strings ({e}): {errors_json}"
            )],
        ),
    }
}

fn push_strings(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, item);
    }
    out.push(']');
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
