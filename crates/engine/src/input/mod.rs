//! NDJSON input of signals: one JSON object per line, turned into [`Signal`]s or into errors that
//! name the line, the field and the problem (`line 7: field conviction: 1.5 is not a finite
//! number in 0..=1`).
//!
//! - [`parse_signal_line`] / [`parse_signal_line_numbered`]: one line.
//! - [`parse_ndjson`]: a whole input, split on `\n` (CRLF works), parsed in parallel, in order.
//! - [`InputRefusal`]: an input refused whole, with the one message every front end shows;
//!   [`InputError::to_json`]: a bad line as the rejects files keep it.
//!
//! The JSON field names are the column names. The producer sets `signal_id` (optional: absent
//! means the ledger assigns a UUIDv7 on append), `source_module`, `source_version`, `ticker`,
//! `direction`, `conviction`, `signal_type`, `timeframe`, `price`, `timestamp`, `expires_at`,
//! `strategy_id`, `correlation_id`, `parent_signal_ids`, `acted_upon`, `execution_id` and
//! `payload_json` (any JSON value, stored byte-exact as received). JSON `null` for an optional
//! field means absent. The ledger-set columns (`seq`, `recorded_at`, `latency_ms`, `prev_hash`,
//! `row_hash`), unknown fields and duplicate fields are refused.
//!
//! [`Signal`]: crate::record::Signal

use std::fmt;

use crate::record::FieldError;

mod fields;
mod line;
mod ndjson;
mod outcome;
mod refusal;

pub use fields::{LEDGER_FIELDS, PRODUCER_FIELDS};
pub use line::{parse_signal_line, parse_signal_line_numbered};
pub use ndjson::{
    parse_ndjson, parse_ndjson_line, parse_ndjson_with_progress, ParsedInput, LINE_LEN_MAX,
};
pub use outcome::{parse_outcome_line, parse_outcomes_ndjson};
pub use refusal::InputRefusal;
pub use stream::{parse_ndjson_stream, READ_BLOCK_LEN};

mod stream;

/// What is wrong with one line, without its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The JSON field at fault, when there is one (not for invalid JSON between fields).
    pub field: Option<String>,
    /// What is wrong, as a short phrase.
    pub problem: String,
}

impl LineError {
    /// An error about `field`.
    pub fn in_field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            problem: problem.into(),
        }
    }

    /// An error about the line as a whole.
    pub fn whole(problem: impl Into<String>) -> Self {
        Self {
            field: None,
            problem: problem.into(),
        }
    }

    /// The same error, located at line `line` (1-based).
    pub fn at_line(self, line: u64) -> InputError {
        InputError {
            line,
            field: self.field,
            problem: self.problem,
            input: String::new(),
        }
    }
}

impl From<FieldError> for LineError {
    fn from(e: FieldError) -> Self {
        Self {
            field: Some(e.field.to_owned()),
            problem: e.problem,
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for LineError {}

/// A line of input that could not be turned into a signal.
///
/// Displays as `line N: field F: problem`, or `line N: problem` when no field is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Line number, 1-based.
    pub line: u64,
    /// The JSON field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong, as a short phrase.
    pub problem: String,
    /// The line as received (lossy UTF-8, without its line break; cut to its first
    /// [`ERROR_INPUT_LEN_MAX`] bytes), when the parser kept it.
    pub input: String,
}

/// Most bytes of a bad line kept in [`InputError::input`].
pub const ERROR_INPUT_LEN_MAX: usize = 64 * 1024;

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: field {field}: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

impl std::error::Error for InputError {}
