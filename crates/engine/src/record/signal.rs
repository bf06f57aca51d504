//! The producer-facing signal (the columns a producer sets) and the stored record (all 22 columns).
//!
//! Validation lives here so every path into the ledger (NDJSON ingest, the sink, the API) applies
//! the same rules; the codec relies on them (every string length fits its one-byte prefix).

use std::fmt;

use crate::hash::Hash;

/// The 22 column names of a stored signal, in column order (NDJSON, JSON and CSV use them).
pub const COLUMNS: [&str; 22] = [
    "seq",
    "signal_id",
    "source_module",
    "source_version",
    "ticker",
    "direction",
    "conviction",
    "signal_type",
    "timeframe",
    "price",
    "timestamp",
    "recorded_at",
    "expires_at",
    "strategy_id",
    "correlation_id",
    "parent_signal_ids",
    "acted_upon",
    "execution_id",
    "latency_ms",
    "payload_json",
    "prev_hash",
    "row_hash",
];

/// Longest `signal_id`, `source_module`, `strategy_id`, `correlation_id`, `execution_id`, in bytes.
pub const ID_LEN_MAX: usize = 64;
/// Longest `source_version`, in bytes.
pub const SOURCE_VERSION_LEN_MAX: usize = 32;
/// Longest `ticker`, in bytes.
pub const TICKER_LEN_MAX: usize = 16;
/// Longest `timeframe`, in bytes.
pub const TIMEFRAME_LEN_MAX: usize = 16;
/// Most entries in `parent_signal_ids`.
pub const PARENT_COUNT_MAX: usize = 16;
/// Largest `payload_json`, in bytes.
pub const PAYLOAD_LEN_MAX: usize = 64 * 1024;
/// Deepest nesting of arrays and objects in `payload_json`: deeper payloads break common JSON
/// readers (serde_json stops at 128 levels, Python's `json` at its recursion limit), so the
/// ledger's own exports could not be read back.
pub const PAYLOAD_DEPTH_MAX: usize = 64;

/// Which way a signal points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Expect the price to rise.
    Long,
    /// Expect the price to fall.
    Short,
    /// No directional view.
    Neutral,
}

/// What a signal asks the executor to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalType {
    /// Open a position.
    Entry,
    /// Close a position.
    Exit,
    /// Add to a position.
    ScaleIn,
    /// Reduce a position.
    ScaleOut,
    /// Informational only.
    Alert,
}

macro_rules! wire_enum {
    ($ty:ident { $($variant:ident = $code:literal, $name:literal;)* }) => {
        impl $ty {
            /// Every variant, in code order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            /// Every variant's name, in code order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
            /// The byte stored on disk (FORMAT.md).
            pub const fn code(self) -> u8 {
                match self { $($ty::$variant => $code),* }
            }
            /// The variant stored as `code`, if any.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code { $($code => Some($ty::$variant),)* _ => None }
            }
            /// The lower-case name used in NDJSON, CSV and the CLI.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
            /// Parses the lower-case name.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some($ty::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        /// Parses the lower-case name; the error names the value and every name allowed.
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(name: &str) -> Result<Self, String> {
                Self::parse(name).ok_or_else(|| {
                    format!("{name:?} is not one of {}", Self::NAMES.join(", "))
                })
            }
        }
    };
}

wire_enum!(Direction {
    Long = 0, "long";
    Short = 1, "short";
    Neutral = 2, "neutral";
});

wire_enum!(SignalType {
    Entry = 0, "entry";
    Exit = 1, "exit";
    ScaleIn = 2, "scale_in";
    ScaleOut = 3, "scale_out";
    Alert = 4, "alert";
});

/// The columns a producer sets. `Ledger::append` adds seq, recorded_at, latency_ms and the hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Producer's id for the signal; empty means "assign a UUIDv7 on append".
    pub signal_id: String,
    /// Producing module, 1..=64 bytes.
    pub source_module: String,
    /// Producer version, 1..=32 bytes when present.
    pub source_version: Option<String>,
    /// Instrument, 1..=16 of `A-Z 0-9 . - /`.
    pub ticker: String,
    /// Long, short or neutral.
    pub direction: Direction,
    /// Confidence, finite, in 0..=1.
    pub conviction: f64,
    /// Entry, exit, scale in/out or alert.
    pub signal_type: SignalType,
    /// Bar size such as `1m` or `1d`, 1..=16 bytes when present.
    pub timeframe: Option<String>,
    /// Reference price, finite when present.
    pub price: Option<f64>,
    /// When the producer created the signal, ns since the Unix epoch (UTC).
    pub timestamp_ns: i64,
    /// When the signal stops being actionable, ns since the epoch; not before `timestamp_ns`.
    pub expires_at_ns: Option<i64>,
    /// Strategy the signal belongs to, 1..=64 bytes when present.
    pub strategy_id: Option<String>,
    /// Correlation id across systems, 1..=64 bytes when present.
    pub correlation_id: Option<String>,
    /// Signals this one was derived from (lineage), at most 16 distinct ids.
    pub parent_signal_ids: Vec<String>,
    /// Whether the signal was acted upon, when the producer knows.
    pub acted_upon: Option<bool>,
    /// Execution that acted on the signal, 1..=64 bytes when present.
    pub execution_id: Option<String>,
    /// A JSON value, stored byte-exact as received, at most 64 KiB.
    pub payload_json: String,
}

/// One stored signal: all 22 columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    /// Position in the ledger, dense from 0.
    pub seq: u64,
    /// The producer's columns (`signal_id` is never empty here).
    pub signal: Signal,
    /// When the ledger accepted the signal, ns since the epoch.
    pub recorded_at_ns: i64,
    /// `recorded_at - timestamp` in milliseconds.
    pub latency_ms: f64,
    /// Row hash of the entry before this one (the genesis hash for seq 0).
    pub prev_hash: Hash,
    /// SHA-256 over this entry (FORMAT.md, "Row hash").
    pub row_hash: Hash,
}

/// A [`Signal`] known to pass [`Signal::validate`]: it can only be made by validating (or by
/// the NDJSON parser, which validates as it parses), and it cannot be changed afterwards, so
/// `Ledger::append_valid` need not check it again. Validation can thus run where the signal is
/// produced — on the producer's thread, or in parallel while parsing — instead of on the
/// single writer thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSignal(Signal);

impl ValidSignal {
    /// Validates `signal`.
    pub fn new(signal: Signal) -> Result<ValidSignal, FieldError> {
        signal.validate()?;
        Ok(ValidSignal(signal))
    }

    /// Wraps a signal the caller has just checked with [`Signal::validate`], or with
    /// [`Signal::validate_except_payload_syntax`] when its payload came from a JSON parser.
    pub(crate) fn checked(signal: Signal) -> ValidSignal {
        debug_assert!(
            signal.validate().is_ok(),
            "only validated signals are wrapped"
        );
        ValidSignal(signal)
    }

    /// The signal.
    pub fn signal(&self) -> &Signal {
        &self.0
    }

    /// The signal, to change it (it must then be validated again to be appended).
    pub fn into_signal(self) -> Signal {
        self.0
    }
}

impl std::ops::Deref for ValidSignal {
    type Target = Signal;
    fn deref(&self) -> &Signal {
        &self.0
    }
}

impl std::borrow::Borrow<Signal> for ValidSignal {
    fn borrow(&self) -> &Signal {
        &self.0
    }
}

/// A validated signal equals the signal it wraps (so signals handed back by a refusal compare
/// with those offered).
impl PartialEq<Signal> for ValidSignal {
    fn eq(&self, other: &Signal) -> bool {
        self.0 == *other
    }
}

/// A producer field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The column name, as in NDJSON.
    pub field: &'static str,
    /// What is wrong, in words.
    pub problem: String,
}

impl FieldError {
    /// A field error for `field`.
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {}: {}", self.field, self.problem)
    }
}

impl std::error::Error for FieldError {}

pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format!("is {} bytes, longer than {max}", value.len()),
        ));
    }
    if let Some(c) = first_control_char(value) {
        return Err(FieldError::new(
            field,
            format!("contains control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// The first Unicode control character (`char::is_control`: C0, DEL, C1) in `value`. Scans
/// bytes: C0 and DEL are single bytes, C1 is `0xC2 0x80..=0x9F`, and no other UTF-8 sequence
/// contains those bytes, so only a candidate is decoded.
pub(crate) fn first_control_char(value: &str) -> Option<char> {
    let bytes = value.as_bytes();
    let at = bytes.iter().enumerate().position(|(i, &b)| {
        b < 0x20
            || b == 0x7F
            || (b == 0xC2
                && bytes
                    .get(i + 1)
                    .is_some_and(|&n| (0x80..=0x9F).contains(&n)))
    })?;
    value.get(at..)?.chars().next()
}

pub(crate) fn check_optional_text(
    field: &'static str,
    value: &Option<String>,
    max: usize,
) -> Result<(), FieldError> {
    match value {
        Some(v) => check_text(field, v, max),
        None => Ok(()),
    }
}

/// Checks a ticker: 1..=16 characters of `A-Z 0-9 . - /`.
pub fn check_ticker(ticker: &str) -> Result<(), FieldError> {
    if ticker.is_empty() {
        return Err(FieldError::new("ticker", "must not be empty"));
    }
    if ticker.len() > TICKER_LEN_MAX {
        return Err(FieldError::new(
            "ticker",
            format!("is {} bytes, longer than {TICKER_LEN_MAX}", ticker.len()),
        ));
    }
    if let Some(c) = ticker
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '/')))
    {
        return Err(FieldError::new(
            "ticker",
            format!("character {c:?} is not one of A-Z 0-9 . - /"),
        ));
    }
    Ok(())
}

impl Signal {
    /// Checks every producer field against the rules in FORMAT.md ("Signal entry").
    pub fn validate(&self) -> Result<(), FieldError> {
        self.validate_except_payload_syntax()?;
        if serde_json::from_str::<serde::de::IgnoredAny>(&self.payload_json).is_err() {
            return Err(FieldError::new(
                "payload_json",
                "is not a single JSON value",
            ));
        }
        Ok(())
    }

    /// [`Signal::validate`] without re-parsing `payload_json`, for a caller that took the
    /// payload from a JSON parser (the NDJSON input: a `RawValue` is valid JSON by
    /// construction). The payload's size is still checked.
    pub fn validate_except_payload_syntax(&self) -> Result<(), FieldError> {
        if !self.signal_id.is_empty() {
            check_text("signal_id", &self.signal_id, ID_LEN_MAX)?;
        }
        check_text("source_module", &self.source_module, ID_LEN_MAX)?;
        check_optional_text(
            "source_version",
            &self.source_version,
            SOURCE_VERSION_LEN_MAX,
        )?;
        check_ticker(&self.ticker)?;
        if !self.conviction.is_finite() || !(0.0..=1.0).contains(&self.conviction) {
            return Err(FieldError::new(
                "conviction",
                format!("{} is not a finite number in 0..=1", self.conviction),
            ));
        }
        check_optional_text("timeframe", &self.timeframe, TIMEFRAME_LEN_MAX)?;
        if let Some(price) = self.price {
            if !price.is_finite() {
                return Err(FieldError::new("price", format!("{price} is not finite")));
            }
        }
        if let Some(expires) = self.expires_at_ns {
            if expires < self.timestamp_ns {
                return Err(FieldError::new("expires_at", "is before timestamp"));
            }
        }
        check_optional_text("strategy_id", &self.strategy_id, ID_LEN_MAX)?;
        check_optional_text("correlation_id", &self.correlation_id, ID_LEN_MAX)?;
        check_optional_text("execution_id", &self.execution_id, ID_LEN_MAX)?;
        if self.parent_signal_ids.len() > PARENT_COUNT_MAX {
            return Err(FieldError::new(
                "parent_signal_ids",
                format!(
                    "has {} entries, more than {PARENT_COUNT_MAX}",
                    self.parent_signal_ids.len()
                ),
            ));
        }
        for (i, parent) in self.parent_signal_ids.iter().enumerate() {
            check_text("parent_signal_ids", parent, ID_LEN_MAX).map_err(|e| {
                FieldError::new("parent_signal_ids", format!("[{i}] {}", e.problem))
            })?;
            if self.parent_signal_ids.iter().take(i).any(|p| p == parent) {
                return Err(FieldError::new(
                    "parent_signal_ids",
                    format!("[{i}] {parent:?} is listed twice"),
                ));
            }
            if !self.signal_id.is_empty() && *parent == self.signal_id {
                return Err(FieldError::new(
                    "parent_signal_ids",
                    format!("[{i}] names the signal itself"),
                ));
            }
        }
        if self.payload_json.len() > PAYLOAD_LEN_MAX {
            return Err(FieldError::new(
                "payload_json",
                format!(
                    "is {} bytes, larger than {PAYLOAD_LEN_MAX}",
                    self.payload_json.len()
                ),
            ));
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(&self.payload_json).is_err() {
            return Err(FieldError::new(
                "payload_json",
                "is not a single JSON value",
            ));
        }
        if let Some(depth) = nesting_beyond(&self.payload_json, PAYLOAD_DEPTH_MAX) {
            return Err(FieldError::new(
                "payload_json",
                format!(
                    "nests arrays and objects {} levels deep at byte {}, more than \
                     {PAYLOAD_DEPTH_MAX}",
                    depth.levels, depth.byte
                ),
            ));
        }
        Ok(())
    }
}

/// Where a JSON text first nests arrays and objects deeper than a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Nesting {
    /// The depth reached.
    levels: usize,
    /// Offset of the `[` or `{` that reached it.
    byte: usize,
}

/// The first place `json` (valid JSON) nests arrays and objects more than `max` levels deep,
/// if any: brackets inside strings do not count.
fn nesting_beyond(json: &str, max: usize) -> Option<Nesting> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (byte, &b) in json.as_bytes().iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(Nesting {
                        levels: depth,
                        byte,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod nesting_tests {
    use super::*;

    #[test]
    fn depth_counts_arrays_and_objects_but_not_brackets_in_strings() {
        let at = |json: &str, max| nesting_beyond(json, max);
        assert_eq!(at("null", 0), None);
        assert_eq!(at("[]", 1), None);
        assert_eq!(at("[]", 0), Some(Nesting { levels: 1, byte: 0 }));
        assert_eq!(at(r#"{"a":[{"b":1}]}"#, 3), None);
        assert_eq!(
            at(r#"{"a":[{"b":1}]}"#, 2),
            Some(Nesting { levels: 3, byte: 6 })
        );
        assert_eq!(at(r#"["[[[[", "\"[[[["]"#, 1), None);
        assert_eq!(
            at(r#"[[],[],[[]]]"#, 2),
            Some(Nesting { levels: 3, byte: 8 })
        );
    }

    #[test]
    fn a_payload_nested_past_the_limit_is_refused_and_at_it_accepted() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let mut signal = tests_support::valid_signal("deep").into_signal();
        signal.payload_json = nested(PAYLOAD_DEPTH_MAX);
        assert_eq!(signal.validate(), Ok(()));
        signal.payload_json = nested(5_000);
        let err = signal.validate().unwrap_err();
        assert_eq!(err.field, "payload_json");
        assert!(err.problem.contains("65 levels deep at byte 64"), "{err}");
    }
}

#[cfg(test)]
mod control_char_tests {
    use super::first_control_char;

    #[test]
    fn byte_scan_agrees_with_char_is_control() {
        for cp in (0u32..0x3000).chain([0xFEFF, 0x1F600]) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let text = format!("ab{c}é");
            let expected = text.chars().find(|c| c.is_control());
            assert_eq!(first_control_char(&text), expected, "U+{cp:04X}");
        }
    }
}

/// Signals for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A valid signal with `signal_id` `id`.
    pub(crate) fn valid_signal(id: &str) -> ValidSignal {
        ValidSignal::new(Signal {
            signal_id: id.to_owned(),
            source_module: "momentum".to_owned(),
            source_version: None,
            ticker: "AAPL".to_owned(),
            direction: Direction::Long,
            conviction: 0.5,
            signal_type: SignalType::Entry,
            timeframe: None,
            price: None,
            timestamp_ns: 1_767_225_600_000_000_000,
            expires_at_ns: None,
            strategy_id: None,
            correlation_id: None,
            parent_signal_ids: Vec::new(),
            acted_upon: None,
            execution_id: None,
            payload_json: "null".to_owned(),
        })
        .expect("a valid test signal")
    }
}
