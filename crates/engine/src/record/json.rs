//! A stored record as one JSON object: the export and CLI form of a row.
//!
//! Hand-written rather than serde-derived because exports write a million rows at a time: no
//! intermediate `Value`, no per-field allocation beyond the timestamps. The keys are the 22
//! column names in column order; the output is always one line of valid JSON, whatever the
//! record holds.

use std::fmt::Write as _;

use crate::hash::Hash;
use crate::record::codec::SignalView;
use crate::record::entry::{EntryRecord, EntryView};
use crate::record::outcome::{OutcomeRecord, OutcomeView};
use crate::record::signal::COLUMNS;
use crate::record::SignalRecord;
use crate::timefmt::push_rfc3339_ns;

/// The keys of [`write_record_json`], in the order they are written: the column names.
pub const RECORD_JSON_KEYS: [&str; 22] = COLUMNS;

/// Appends `record` to `out` as one JSON object on one line (no trailing newline).
///
/// - Keys are [`RECORD_JSON_KEYS`], every one present, in that order.
/// - Absent optionals are `null`; `parent_signal_ids` is always an array.
/// - `timestamp`, `recorded_at` and `expires_at` are RFC 3339 UTC strings
///   ([`format_rfc3339_ns`]).
/// - Numbers are written in Rust's shortest round-trip form, so they parse back to the same
///   `f64`; a whole number keeps a `.0`. A non-finite number, which validation keeps out of the
///   ledger, is written as `null`.
/// - `payload_json` is embedded as the stored JSON value, not as a string. Line breaks in it can
///   only be JSON whitespace (a JSON string cannot hold a raw one), so they become spaces and the
///   object stays on one line; an empty payload is written as `null`.
/// - `prev_hash` and `row_hash` are 64 lower-case hex characters.
pub fn write_record_json(record: &SignalRecord, out: &mut String) {
    write_view_json(&record.as_view(), out);
}

/// [`write_record_json`] of a record decoded in place.
pub fn write_view_json(record: &SignalView<'_>, out: &mut String) {
    let s = record;
    out.reserve(512 + s.payload_json.len());
    out.push_str("{\"seq\":");
    let _ = write!(out, "{}", record.seq);
    out.push_str(",\"signal_id\":");
    push_json_str(out, s.signal_id);
    out.push_str(",\"source_module\":");
    push_json_str(out, s.source_module);
    out.push_str(",\"source_version\":");
    push_opt_str(out, s.source_version);
    out.push_str(",\"ticker\":");
    push_json_str(out, s.ticker);
    out.push_str(",\"direction\":");
    push_json_str(out, s.direction.as_str());
    out.push_str(",\"conviction\":");
    push_f64(out, s.conviction);
    out.push_str(",\"signal_type\":");
    push_json_str(out, s.signal_type.as_str());
    out.push_str(",\"timeframe\":");
    push_opt_str(out, s.timeframe);
    out.push_str(",\"price\":");
    match s.price {
        Some(p) => push_f64(out, p),
        None => out.push_str("null"),
    }
    out.push_str(",\"timestamp\":");
    push_time(out, s.timestamp_ns);
    out.push_str(",\"recorded_at\":");
    push_time(out, record.recorded_at_ns);
    out.push_str(",\"expires_at\":");
    match s.expires_at_ns {
        Some(ns) => push_time(out, ns),
        None => out.push_str("null"),
    }
    out.push_str(",\"strategy_id\":");
    push_opt_str(out, s.strategy_id);
    out.push_str(",\"correlation_id\":");
    push_opt_str(out, s.correlation_id);
    out.push_str(",\"parent_signal_ids\":[");
    for (i, parent) in s.parent_signal_ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, parent);
    }
    out.push_str("],\"acted_upon\":");
    out.push_str(match s.acted_upon {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    });
    out.push_str(",\"execution_id\":");
    push_opt_str(out, s.execution_id);
    out.push_str(",\"latency_ms\":");
    push_f64(out, record.latency_ms);
    out.push_str(",\"payload_json\":");
    push_raw_json(out, s.payload_json);
    out.push_str(",\"prev_hash\":");
    push_hash(out, &record.prev_hash);
    out.push_str(",\"row_hash\":");
    push_hash(out, &record.row_hash);
    out.push('}');
}

/// The keys of [`write_outcome_json`], in the order they are written.
pub const OUTCOME_JSON_KEYS: [&str; 11] = [
    "seq",
    "kind",
    "signal_id",
    "signal_seq",
    "acted_upon",
    "execution_id",
    "reason",
    "at",
    "recorded_at",
    "prev_hash",
    "row_hash",
];

/// Appends an outcome entry to `out` as one JSON object on one line: [`OUTCOME_JSON_KEYS`]
/// in order, `kind` always `"outcome"`, `at` (when the executor decided) and `recorded_at` as
/// RFC 3339 UTC strings, absent optionals `null`.
pub fn write_outcome_json(outcome: &OutcomeView<'_>, out: &mut String) {
    out.push_str("{\"seq\":");
    let _ = write!(out, "{}", outcome.seq);
    out.push_str(",\"kind\":\"outcome\",\"signal_id\":");
    push_json_str(out, outcome.signal_id);
    let _ = write!(out, ",\"signal_seq\":{}", outcome.signal_seq);
    out.push_str(",\"acted_upon\":");
    out.push_str(if outcome.decision.acted_upon() {
        "true"
    } else {
        "false"
    });
    out.push_str(",\"execution_id\":");
    push_opt_str(out, outcome.execution_id);
    out.push_str(",\"reason\":");
    push_opt_str(out, outcome.reason);
    out.push_str(",\"at\":");
    push_time(out, outcome.decided_at_ns);
    out.push_str(",\"recorded_at\":");
    push_time(out, outcome.recorded_at_ns);
    out.push_str(",\"prev_hash\":");
    push_hash(out, &outcome.prev_hash);
    out.push_str(",\"row_hash\":");
    push_hash(out, &outcome.row_hash);
    out.push('}');
}

/// Appends an owned entry as [`write_entry_json`] does.
pub fn write_entry_record_json(entry: &EntryRecord, out: &mut String) {
    match entry {
        EntryRecord::Signal(s) => write_record_json(s, out),
        EntryRecord::Outcome(o) => write_outcome_json(&o.as_view(), out),
    }
}

/// Appends any entry as one JSON object on one line: a signal as [`write_view_json`], an
/// outcome as [`write_outcome_json`].
pub fn write_entry_json(entry: &EntryView<'_>, out: &mut String) {
    match entry {
        EntryView::Signal(s) => write_view_json(s, out),
        EntryView::Outcome(o) => write_outcome_json(o, out),
    }
}

/// Serializes JSON text this module wrote for the entry at `seq` as it is (with `serde_json`,
/// without re-escaping). The text is checked first: only a stored `payload_json` that is not
/// JSON (which validation keeps out, but a forged entry could hold) makes it invalid, and that
/// is an error naming the seq rather than a line of invalid JSON.
fn serialize_written<S: serde::Serializer>(
    seq: u64,
    text: String,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize as _;
    serde_json::value::RawValue::from_string(text)
        .map_err(|e| {
            serde::ser::Error::custom(format!(
                "seq {seq}: the stored entry does not make valid JSON (its payload_json: {e})"
            ))
        })?
        .serialize(s)
}

/// A record's JSON form is [`write_record_json`]'s, so a page or an event that holds records
/// serializes them exactly as exports write them.
impl serde::Serialize for SignalRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        write_record_json(self, &mut text);
        serialize_written(self.seq, text, s)
    }
}

/// An entry's JSON form is [`write_entry_record_json`]'s.
impl serde::Serialize for EntryRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        write_entry_record_json(self, &mut text);
        serialize_written(self.seq(), text, s)
    }
}

/// An outcome's JSON form is [`write_outcome_json`]'s.
impl serde::Serialize for OutcomeRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        write_outcome_json(&self.as_view(), &mut text);
        serialize_written(self.seq, text, s)
    }
}

/// `value` as a JSON string: quotes and backslashes escaped, control characters as `\u00XX`.
pub fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (i, b) in value.bytes().enumerate() {
        // Multi-byte UTF-8 sequences never contain bytes below 0x80, so testing single bytes
        // never splits a character.
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(value.get(plain_from..i).unwrap_or_default());
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            _ => {
                out.push_str("\\u00");
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0x0f));
            }
        }
        plain_from = i + 1;
    }
    out.push_str(value.get(plain_from..).unwrap_or_default());
    out.push('"');
}

fn push_opt_str(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => push_json_str(out, v),
        None => out.push_str("null"),
    }
}

/// Debug form: shortest round-trip digits, `1.0` for whole numbers (so the value reads back as a
/// float), an exponent for very large or small magnitudes; every such form is a JSON number.
/// A non-finite number (which JSON cannot hold) is written as `null`.
pub fn push_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v:?}");
    } else {
        out.push_str("null");
    }
}

fn push_time(out: &mut String, ns: i64) {
    out.push('"');
    push_rfc3339_ns(out, ns);
    out.push('"');
}

fn push_raw_json(out: &mut String, payload: &str) {
    let payload = payload.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if payload.is_empty() {
        out.push_str("null");
    } else if payload.contains(['\n', '\r']) {
        out.extend(payload.chars().map(|c| match c {
            '\n' | '\r' => ' ',
            c => c,
        }));
    } else {
        out.push_str(payload);
    }
}

fn push_hash(out: &mut String, hash: &Hash) {
    let mut text = [b'"'; 66];
    for (pair, b) in text
        .get_mut(1..65)
        .unwrap_or_default()
        .chunks_mut(2)
        .zip(hash.0)
    {
        let digit = |nibble: u8| HEX_DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
        for (slot, d) in pair.iter_mut().zip([digit(b >> 4), digit(b & 0x0f)]) {
            *slot = d;
        }
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// The lowercase hex digits, by value.
const HEX_DIGITS: [u8; 16] = *b"0123456789abcdef";

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::record::{Direction, Signal, SignalType};
    use serde_json::Value;

    fn full() -> SignalRecord {
        SignalRecord {
            seq: 17,
            signal: Signal {
                signal_id: "sig-1".into(),
                source_module: "momentum".into(),
                source_version: Some("2.4.1".into()),
                ticker: "BRK.B".into(),
                direction: Direction::Short,
                conviction: 0.1 + 0.2,
                signal_type: SignalType::ScaleOut,
                timeframe: Some("5m".into()),
                price: Some(187.25),
                timestamp_ns: 1_767_623_400_123_456_789,
                expires_at_ns: Some(1_767_623_460_000_000_000),
                strategy_id: Some("strat-a".into()),
                correlation_id: Some("corr-9".into()),
                parent_signal_ids: vec!["p-1".into(), "p-2".into()],
                acted_upon: Some(true),
                execution_id: Some("exec-000001".into()),
                payload_json: r#"{"rsi":61.2,"tags":["a","b"],"n":null}"#.into(),
            },
            recorded_at_ns: 1_767_623_400_500_000_000,
            latency_ms: 376.543211,
            prev_hash: Hash([0xAB; 32]),
            row_hash: Hash([0x0F; 32]),
        }
    }

    fn sparse() -> SignalRecord {
        SignalRecord {
            seq: 0,
            signal: Signal {
                signal_id: "x".into(),
                source_module: "m".into(),
                source_version: None,
                ticker: "A".into(),
                direction: Direction::Neutral,
                conviction: 1.0,
                signal_type: SignalType::Alert,
                timeframe: None,
                price: None,
                timestamp_ns: 0,
                expires_at_ns: None,
                strategy_id: None,
                correlation_id: None,
                parent_signal_ids: Vec::new(),
                acted_upon: None,
                execution_id: None,
                payload_json: "null".into(),
            },
            recorded_at_ns: -1,
            latency_ms: 0.0,
            prev_hash: Hash([0; 32]),
            row_hash: Hash([0xFF; 32]),
        }
    }

    fn json(r: &SignalRecord) -> String {
        let mut out = String::new();
        write_record_json(r, &mut out);
        out
    }

    fn parse(r: &SignalRecord) -> serde_json::Map<String, Value> {
        let text = json(r);
        assert!(!text.contains('\n'), "{text}");
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            other => panic!("not an object: {other:?} from {text}"),
        }
    }

    #[test]
    fn keys_are_the_columns_in_order() {
        let text = json(&full());
        let mut at = 0;
        for key in RECORD_JSON_KEYS {
            let needle = format!("\"{key}\":");
            let found = text[at..]
                .find(&needle)
                .unwrap_or_else(|| panic!("{key} in {text}"));
            at += found + needle.len();
        }
        assert_eq!(parse(&full()).len(), 22);
        assert_eq!(parse(&sparse()).len(), 22);
    }

    #[test]
    fn full_record_parses_back_to_the_same_values() {
        let r = full();
        let m = parse(&r);
        assert_eq!(m["seq"], 17);
        assert_eq!(m["signal_id"], "sig-1");
        assert_eq!(m["source_module"], "momentum");
        assert_eq!(m["source_version"], "2.4.1");
        assert_eq!(m["ticker"], "BRK.B");
        assert_eq!(m["direction"], "short");
        assert_eq!(m["conviction"].as_f64(), Some(0.1 + 0.2));
        assert_eq!(m["signal_type"], "scale_out");
        assert_eq!(m["timeframe"], "5m");
        assert_eq!(m["price"].as_f64(), Some(187.25));
        assert_eq!(m["timestamp"], "2026-01-05T14:30:00.123456789Z");
        assert_eq!(m["recorded_at"], "2026-01-05T14:30:00.500Z");
        assert_eq!(m["expires_at"], "2026-01-05T14:31:00Z");
        assert_eq!(m["strategy_id"], "strat-a");
        assert_eq!(m["correlation_id"], "corr-9");
        assert_eq!(m["parent_signal_ids"], serde_json::json!(["p-1", "p-2"]));
        assert_eq!(m["acted_upon"], true);
        assert_eq!(m["execution_id"], "exec-000001");
        assert_eq!(m["latency_ms"].as_f64(), Some(376.543211));
        assert_eq!(
            m["payload_json"],
            serde_json::json!({"rsi": 61.2, "tags": ["a", "b"], "n": null})
        );
        assert_eq!(m["prev_hash"], "ab".repeat(32));
        assert_eq!(m["row_hash"], "0f".repeat(32));
        assert_eq!(
            crate::timefmt::parse_rfc3339_ns(m["timestamp"].as_str().unwrap()),
            Ok(r.signal.timestamp_ns)
        );
    }

    #[test]
    fn absent_optionals_are_null() {
        let m = parse(&sparse());
        for key in [
            "source_version",
            "timeframe",
            "price",
            "expires_at",
            "strategy_id",
            "correlation_id",
            "acted_upon",
            "execution_id",
            "payload_json",
        ] {
            assert_eq!(m[key], Value::Null, "{key}");
        }
        assert_eq!(m["parent_signal_ids"], serde_json::json!([]));
        assert_eq!(m["recorded_at"], "1969-12-31T23:59:59.999999999Z");
        assert_eq!(m["prev_hash"], "0".repeat(64));
        assert_eq!(m["row_hash"], "f".repeat(64));
    }

    #[test]
    fn whole_and_extreme_floats_are_json_numbers_that_round_trip() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -3.0,
            1e300,
            -1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            123_456_789_012_345_680.0,
            0.1,
        ] {
            let mut r = sparse();
            r.signal.price = Some(v);
            r.latency_ms = v;
            let m = parse(&r);
            assert_eq!(m["price"].as_f64(), Some(v), "{v:?} in {}", json(&r));
            assert_eq!(m["latency_ms"].as_f64(), Some(v));
        }
        let mut r = sparse();
        r.signal.price = Some(2.0);
        assert!(json(&r).contains("\"price\":2.0,"), "{}", json(&r));
    }

    #[test]
    fn non_finite_numbers_never_reach_the_output() {
        let mut r = sparse();
        r.signal.price = Some(f64::NAN);
        r.signal.conviction = f64::INFINITY;
        r.latency_ms = f64::NEG_INFINITY;
        let m = parse(&r);
        assert_eq!(m["price"], Value::Null);
        assert_eq!(m["conviction"], Value::Null);
        assert_eq!(m["latency_ms"], Value::Null);
    }

    #[test]
    fn strings_are_escaped() {
        let tricky = "q\"b\\s/\u{1}\u{1f}\n\r\t\u{7f}é€😀\u{2028}end";
        let mut r = sparse();
        r.signal.signal_id = tricky.into();
        r.signal.parent_signal_ids = vec![tricky.into(), "\"".into()];
        r.signal.execution_id = Some(String::new());
        let text = json(&r);
        assert!(
            text.contains(r#""q\"b\\s/\u0001\u001f\u000a\u000d\u0009"#),
            "{text}"
        );
        let m = parse(&r);
        assert_eq!(m["signal_id"], tricky);
        assert_eq!(m["parent_signal_ids"], serde_json::json!([tricky, "\""]));
        assert_eq!(m["execution_id"], "");
    }

    #[test]
    fn payload_is_embedded_raw_and_kept_on_one_line() {
        let mut r = sparse();
        r.signal.payload_json = "\r\n {\"a\":\n[1,\r\n2], \"s\":\"x\\ny\"}\n".into();
        let m = parse(&r);
        assert_eq!(
            m["payload_json"],
            serde_json::json!({"a": [1, 2], "s": "x\ny"})
        );
        r.signal.payload_json = "\"just a string\"".into();
        assert_eq!(parse(&r)["payload_json"], "just a string");
        r.signal.payload_json = "  ".into();
        assert_eq!(parse(&r)["payload_json"], Value::Null);
        r.signal.payload_json = "1.5e3".into();
        assert!(json(&r).contains("\"payload_json\":1.5e3,"));
    }
}
