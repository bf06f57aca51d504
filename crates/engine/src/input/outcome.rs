//! NDJSON input of outcomes: one JSON object per line,
//! `{"signal_id": "…", "acted_upon": true, "execution_id": "…", "reason": "…", "at": "…"}`.
//!
//! `signal_id` and `acted_upon` (true: acted upon; false: dismissed) are required;
//! `execution_id` and `reason` are optional (`null` or omitted: absent); `at` is when the
//! executor decided, an RFC 3339 timestamp with a zone (omitted: the time of parsing). Unknown
//! and duplicate fields are refused. Each error names the line and the field.

use serde::Deserialize;

use super::{InputError, LineError};
use crate::record::outcome::{Decision, Outcome};
use crate::timefmt::parse_rfc3339_ns;

/// The fields of an outcome line, as JSON gives them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeLine {
    signal_id: String,
    acted_upon: bool,
    #[serde(default)]
    execution_id: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    at: Option<String>,
}

/// Parses one outcome line; `now_ns` is `at` when the line gives none.
pub fn parse_outcome_line(line: &str, now_ns: i64) -> Result<Outcome, LineError> {
    let without_position = |message: String| {
        message
            .rsplit_once(" at line ")
            .map_or(message.clone(), |(m, _)| m.to_owned())
    };
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed: OutcomeLine = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let problem = without_position(e.inner().to_string());
        if field == "." {
            // serde names the field itself for unknown, duplicate and missing ones.
            LineError::whole(format!("not an outcome object: {problem}"))
        } else {
            LineError::in_field(field, problem)
        }
    })?;
    de.end().map_err(|e| {
        LineError::whole(format!(
            "after the object: {}",
            without_position(e.to_string())
        ))
    })?;
    let decided_at_ns = match &parsed.at {
        None => now_ns,
        Some(text) => {
            parse_rfc3339_ns(text).map_err(|problem| LineError::in_field("at", problem))?
        }
    };
    let empty_is_refused = |field: &str, value: &Option<String>| match value {
        Some(v) if v.is_empty() => Err(LineError::in_field(
            field,
            "must not be empty (use null or omit it)",
        )),
        _ => Ok(()),
    };
    empty_is_refused("execution_id", &parsed.execution_id)?;
    empty_is_refused("reason", &parsed.reason)?;
    let outcome = Outcome {
        signal_id: parsed.signal_id,
        decision: Decision::from_acted(parsed.acted_upon),
        execution_id: parsed.execution_id,
        reason: parsed.reason,
        decided_at_ns,
    };
    outcome.validate()?;
    Ok(outcome)
}

/// Parses a whole NDJSON input of outcomes (`\n` or `\r\n` line ends, blank lines skipped, a
/// UTF-8 byte order mark at the start ignored): every outcome in order with its line number
/// (1-based), or every bad line.
#[allow(clippy::type_complexity)]
pub fn parse_outcomes_ndjson(
    bytes: &[u8],
    now_ns: i64,
) -> Result<Vec<(u64, Outcome)>, Vec<InputError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(raw)
            .map_err(|_| LineError::whole("not UTF-8"))
            .and_then(|line| parse_outcome_line(line, now_ns));
        match parsed {
            Ok(o) => outcomes.push((line_no, o)),
            Err(e) => {
                let mut e = e.at_line(line_no);
                e.input = String::from_utf8_lossy(raw).chars().take(200).collect();
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(outcomes)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_full_line_parses() {
        let o = parse_outcome_line(
            r#"{"signal_id":"s-1","acted_upon":true,"execution_id":"ex-9","reason":"filled","at":"2026-01-05T14:30:00+01:00"}"#,
            0,
        )
        .unwrap();
        assert_eq!(o.signal_id, "s-1");
        assert_eq!(o.decision, Decision::Acted);
        assert_eq!(o.execution_id.as_deref(), Some("ex-9"));
        assert_eq!(o.reason.as_deref(), Some("filled"));
        assert_eq!(o.decided_at_ns, 1_767_619_800_000_000_000);
    }

    #[test]
    fn at_defaults_to_now_and_optionals_to_absent() {
        let o = parse_outcome_line(r#"{"signal_id":"s","acted_upon":false}"#, 42).unwrap();
        assert_eq!(o.decided_at_ns, 42);
        assert_eq!(o.decision, Decision::Dismissed);
        assert_eq!((o.execution_id, o.reason), (None, None));
    }

    #[test]
    fn errors_name_the_field() {
        let bad = [
            (r#"{"signal_id":"s"}"#, None, "acted_upon"),
            (
                r#"{"signal_id":"s","acted_upon":1}"#,
                Some("acted_upon"),
                "bool",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true} x"#,
                None,
                "after the object",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true,"seq":3}"#,
                Some("seq"),
                "unknown field",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true,"acted_upon":false}"#,
                None,
                "duplicate",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true,"at":"2026-01-05"}"#,
                Some("at"),
                "",
            ),
            (
                r#"{"signal_id":"","acted_upon":true}"#,
                Some("signal_id"),
                "empty",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true,"execution_id":""}"#,
                Some("execution_id"),
                "empty",
            ),
            (
                r#"{"signal_id":"s","acted_upon":true,"reason":"a\nb"}"#,
                Some("reason"),
                "control",
            ),
        ];
        for (line, field, words) in bad {
            let e = parse_outcome_line(line, 0).unwrap_err();
            assert_eq!(e.field.as_deref(), field, "{line}: {e}");
            assert!(e.to_string().contains(words), "{line}: {e}");
        }
    }

    #[test]
    fn a_whole_input_reports_every_bad_line() {
        let input = b"\xEF\xBB\xBF{\"signal_id\":\"a\",\"acted_upon\":true}\r\n\n{\"signal_id\":\"b\"}\nnot json\n";
        let errors = parse_outcomes_ndjson(input, 0).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4]);
        let good =
            parse_outcomes_ndjson(b"{\"signal_id\":\"a\",\"acted_upon\":true}\n", 0).unwrap();
        assert_eq!(good.len(), 1);
    }
}
