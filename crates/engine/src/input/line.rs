//! One NDJSON line -> one [`Signal`].
//!
//! A hand-written serde visitor walks the object once: keys are matched without allocating,
//! values are read with `deserialize_any` so a wrong type is reported as "expected a number,
//! found a string" (not serde's wording), `payload_json` is borrowed as a [`RawValue`] so it is
//! stored byte-exact, and the first problem stops the line. [`Signal::validate`] then applies the
//! length and range rules shared with every other way into the ledger.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::fields::{
    expected, key_for_error, number, one_of, string, timestamp, Field, Json, JsonSeed, Key,
    KeySeed, ParentsSeed, LEDGER_SET,
};
use super::{InputError, LineError};
use crate::record::{Direction, Signal, SignalType, ValidSignal};

/// Where the visitor leaves what went wrong (serde's error type cannot carry it).
#[derive(Default)]
struct Ctx {
    /// The problem found by the visitor, if it stopped the parse.
    error: Option<LineError>,
    /// The field whose value is being read, for errors serde_json raises inside it.
    field: Option<&'static str>,
}

impl Ctx {
    fn fail<E: de::Error>(&mut self, error: LineError) -> E {
        self.error = Some(error);
        E::custom("see Ctx::error")
    }
}

/// Everything read from the object, before required fields are checked.
#[derive(Default)]
struct Parts<'de> {
    signal_id: Option<String>,
    source_module: Option<String>,
    source_version: Option<String>,
    ticker: Option<String>,
    direction: Option<Direction>,
    conviction: Option<f64>,
    signal_type: Option<SignalType>,
    timeframe: Option<String>,
    price: Option<f64>,
    timestamp_ns: Option<i64>,
    expires_at_ns: Option<i64>,
    strategy_id: Option<String>,
    correlation_id: Option<String>,
    parent_signal_ids: Vec<String>,
    acted_upon: Option<bool>,
    execution_id: Option<String>,
    payload_json: Option<&'de RawValue>,
}

impl<'de> Parts<'de> {
    /// Stores a scalar field's value, or says what is wrong with it.
    fn set(&mut self, field: Field, v: Json<'de>) -> Result<(), String> {
        match field {
            Field::SignalId => {
                self.signal_id = string(v, true)?;
                if self.signal_id.as_deref() == Some("") {
                    return Err("must not be empty (omit it to have the ledger assign one)".into());
                }
            }
            Field::SourceModule => self.source_module = string(v, false)?,
            Field::SourceVersion => self.source_version = string(v, true)?,
            Field::Ticker => self.ticker = string(v, false)?,
            Field::Direction => {
                let s = string(v, false)?.unwrap_or_default();
                self.direction =
                    Some(Direction::parse(&s).ok_or_else(|| one_of(&s, Direction::NAMES))?);
            }
            Field::Conviction => self.conviction = number(v, false)?,
            Field::SignalType => {
                let s = string(v, false)?.unwrap_or_default();
                self.signal_type =
                    Some(SignalType::parse(&s).ok_or_else(|| one_of(&s, SignalType::NAMES))?);
            }
            Field::Timeframe => self.timeframe = string(v, true)?,
            Field::Price => self.price = number(v, true)?,
            Field::Timestamp => self.timestamp_ns = timestamp(v, false)?,
            Field::ExpiresAt => self.expires_at_ns = timestamp(v, true)?,
            Field::StrategyId => self.strategy_id = string(v, true)?,
            Field::CorrelationId => self.correlation_id = string(v, true)?,
            Field::ActedUpon => {
                self.acted_upon = match v {
                    Json::Bool(b) => Some(b),
                    Json::Null => None,
                    other => return Err(expected("a boolean", &other)),
                }
            }
            Field::ExecutionId => self.execution_id = string(v, true)?,
            // Read by their own seeds in `visit_map`.
            Field::ParentSignalIds | Field::PayloadJson => {}
        }
        Ok(())
    }

    /// The signal, or the first required field (in column order) that is missing.
    fn finish(self) -> Result<Signal, LineError> {
        let missing = |field: Field| LineError::in_field(field.name(), "is required");
        Ok(Signal {
            signal_id: self.signal_id.unwrap_or_default(),
            source_module: self
                .source_module
                .ok_or_else(|| missing(Field::SourceModule))?,
            source_version: self.source_version,
            ticker: self.ticker.ok_or_else(|| missing(Field::Ticker))?,
            direction: self.direction.ok_or_else(|| missing(Field::Direction))?,
            conviction: self.conviction.ok_or_else(|| missing(Field::Conviction))?,
            signal_type: self.signal_type.ok_or_else(|| missing(Field::SignalType))?,
            timeframe: self.timeframe,
            price: self.price,
            timestamp_ns: self.timestamp_ns.ok_or_else(|| missing(Field::Timestamp))?,
            expires_at_ns: self.expires_at_ns,
            strategy_id: self.strategy_id,
            correlation_id: self.correlation_id,
            parent_signal_ids: self.parent_signal_ids,
            acted_upon: self.acted_upon,
            execution_id: self.execution_id,
            payload_json: self.payload_json.map_or("null", RawValue::get).to_owned(),
        })
    }
}

/// The top-level visitor: the line must be one JSON object.
struct LineVisitor<'c> {
    ctx: &'c mut Ctx,
}

impl LineVisitor<'_> {
    fn not_object<E: de::Error>(self, found: &str) -> Result<Signal, E> {
        Err(self.ctx.fail(LineError::whole(format!(
            "expected a JSON object, found {found}"
        ))))
    }
}

impl<'de> Visitor<'de> for LineVisitor<'_> {
    type Value = Signal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Signal, E> {
        self.not_object("null")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Signal, E> {
        self.not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Signal, E> {
        self.not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Signal, E> {
        self.not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Signal, E> {
        self.not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Signal, E> {
        self.not_object("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Signal, A::Error> {
        self.not_object("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Signal, A::Error> {
        let ctx = self.ctx;
        let mut parts = Parts::default();
        let mut seen = 0u32;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let field = match key {
                Key::Producer(field) => field,
                Key::Ledger(name) => return Err(ctx.fail(LineError::in_field(name, LEDGER_SET))),
                Key::Unknown(name) => {
                    return Err(ctx.fail(LineError::in_field(key_for_error(&name), "unknown field")))
                }
            };
            if seen & field.bit() != 0 {
                return Err(ctx.fail(LineError::in_field(field.name(), "duplicate field")));
            }
            seen |= field.bit();
            ctx.field = Some(field.name());
            let stored = match field {
                Field::PayloadJson => {
                    parts.payload_json = Some(map.next_value::<&'de RawValue>()?);
                    Ok(())
                }
                Field::ParentSignalIds => map
                    .next_value_seed(ParentsSeed)?
                    .map(|ids| parts.parent_signal_ids = ids),
                _ => parts.set(field, map.next_value_seed(JsonSeed)?),
            };
            if let Err(problem) = stored {
                return Err(ctx.fail(LineError::in_field(field.name(), problem)));
            }
            ctx.field = None;
        }
        parts.finish().map_err(|e| ctx.fail(e))
    }
}

/// The problem for an error serde_json raised (syntax, number range), without its "line 1".
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let code = match text.rfind(" at line ") {
        Some(cut) if e.line() != 0 => text.get(..cut).unwrap_or(&text),
        _ => text.as_str(),
    };
    if code == "number out of range" {
        return "number is out of the 64-bit float range".to_owned();
    }
    if e.line() == 0 {
        format!("invalid JSON: {code}")
    } else {
        format!("invalid JSON: {code} at column {}", e.column())
    }
}

/// Parses one NDJSON line (one JSON object) into a validated signal: it is validated as it is
/// parsed, and never again on its way to the ledger.
///
/// The error names the field when one is at fault; invalid JSON outside any field's value has
/// no field (`invalid JSON: expected value at column 12`).
pub fn parse_signal_line(line: &str) -> Result<ValidSignal, LineError> {
    let mut ctx = Ctx::default();
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = (&mut de)
        .deserialize_any(LineVisitor { ctx: &mut ctx })
        .and_then(|signal| de.end().map(|()| signal));
    let signal = parsed.map_err(|e| {
        ctx.error.take().unwrap_or_else(|| LineError {
            field: ctx.field.map(str::to_owned),
            problem: json_problem(&e),
        })
    })?;
    // payload_json came from the JSON parser as a RawValue: valid JSON by construction.
    signal.validate_except_payload_syntax()?;
    Ok(ValidSignal::checked(signal))
}

/// [`parse_signal_line`], with the error located at line `line_no` (1-based).
pub fn parse_signal_line_numbered(line_no: u64, line: &str) -> Result<ValidSignal, InputError> {
    parse_signal_line(line).map_err(|e| e.at_line(line_no))
}

#[cfg(test)]
mod tests;
