//! The refusal of bad input: one bad line ([`InputError`]) as the rejects files keep it, and a
//! whole input refused for its bad lines ([`InputRefusal`]) with the one message every front
//! end shows: `line 3: field ticker: is required (and 2 more invalid lines)`.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::InputError;
use crate::record::json::push_json_str;

impl InputError {
    /// The line as one JSON object `{"line","field","problem","input"}` (`field` null when no
    /// field is at fault): a line of the rejects file of `ingest --skip-invalid` and
    /// `ingest --follow`.
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"line\":{},\"field\":", self.line);
        match &self.field {
            Some(field) => push_json_str(&mut out, field),
            None => out.push_str("null"),
        }
        out.push_str(",\"problem\":");
        push_json_str(&mut out, &self.problem);
        out.push_str(",\"input\":");
        push_json_str(&mut out, &self.input);
        out.push('}');
        out
    }
}

/// An input refused whole for its bad lines: the first one, and how many more there are.
///
/// Displays as the first line's error and the count of the others:
/// `line 3: field ticker: is required (and 1 more invalid line)`. Serializes as the answer of
/// the HTTP API to such an input, `{"error":"nothing recorded: <that message>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRefusal {
    /// The first bad line.
    pub first: InputError,
    /// How many more bad lines the input holds.
    pub more: usize,
}

impl InputRefusal {
    /// The refusal of an input whose bad lines are `errors` (in line order); None when there
    /// are none.
    pub fn of(errors: &[InputError]) -> Option<InputRefusal> {
        let (first, rest) = errors.split_first()?;
        Some(InputRefusal {
            first: first.clone(),
            more: rest.len(),
        })
    }
}

impl fmt::Display for InputRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        match self.more {
            0 => Ok(()),
            1 => f.write_str(" (and 1 more invalid line)"),
            n => write!(f, " (and {n} more invalid lines)"),
        }
    }
}

impl std::error::Error for InputRefusal {}

impl Serialize for InputRefusal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("error", &format!("nothing recorded: {self}"))?;
        map.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bad(line: u64) -> InputError {
        InputError {
            line,
            field: Some("ticker".into()),
            problem: "is required".into(),
            input: "{\"a\":\"\t\"}".into(),
        }
    }

    #[test]
    fn the_message_counts_the_other_bad_lines() {
        assert_eq!(InputRefusal::of(&[]), None);
        let one = |errors: &[InputError]| InputRefusal::of(errors).unwrap().to_string();
        assert_eq!(one(&[bad(3)]), "line 3: field ticker: is required");
        assert_eq!(
            one(&[bad(3), bad(4)]),
            "line 3: field ticker: is required (and 1 more invalid line)"
        );
        assert_eq!(
            one(&[bad(3), bad(4), bad(9)]),
            "line 3: field ticker: is required (and 2 more invalid lines)"
        );
    }

    #[test]
    fn serialized_as_the_http_answer() {
        let refusal = InputRefusal::of(&[bad(2), bad(5)]).unwrap();
        assert_eq!(
            serde_json::to_string(&refusal).unwrap(),
            r#"{"error":"nothing recorded: line 2: field ticker: is required (and 1 more invalid line)"}"#
        );
    }

    #[test]
    fn a_rejected_line_as_json() {
        assert_eq!(
            bad(7).to_json(),
            r#"{"line":7,"field":"ticker","problem":"is required","input":"{\"a\":\"\u0009\"}"}"#
        );
        let whole = InputError {
            field: None,
            ..bad(1)
        };
        assert!(whole.to_json().starts_with(r#"{"line":1,"field":null,"#));
    }
}
