//! The JSON values of one NDJSON line as the line parser reads them: the field names (producer
//! and ledger-set), a key classified without allocating, a scalar value with its JSON kind for
//! "expected X, found Y", and the `parent_signal_ids` array; then the conversions of a value to
//! a column's type, each with its problem in words.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::timefmt::{parse_rfc3339_ns, quote};

/// The fields a producer may set, in column order.
pub const PRODUCER_FIELDS: [&str; 17] = [
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
    "expires_at",
    "strategy_id",
    "correlation_id",
    "parent_signal_ids",
    "acted_upon",
    "execution_id",
    "payload_json",
];

/// The fields only the ledger sets; input that supplies one is refused.
pub const LEDGER_FIELDS: [&str; 5] = ["seq", "recorded_at", "latency_ms", "prev_hash", "row_hash"];

pub(super) const LEDGER_SET: &str = "is set by the ledger and must not be supplied";

/// A producer field; the discriminant is its index in [`PRODUCER_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    SignalId,
    SourceModule,
    SourceVersion,
    Ticker,
    Direction,
    Conviction,
    SignalType,
    Timeframe,
    Price,
    Timestamp,
    ExpiresAt,
    StrategyId,
    CorrelationId,
    ParentSignalIds,
    ActedUpon,
    ExecutionId,
    PayloadJson,
}

impl Field {
    pub(super) fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "signal_id" => Field::SignalId,
            "source_module" => Field::SourceModule,
            "source_version" => Field::SourceVersion,
            "ticker" => Field::Ticker,
            "direction" => Field::Direction,
            "conviction" => Field::Conviction,
            "signal_type" => Field::SignalType,
            "timeframe" => Field::Timeframe,
            "price" => Field::Price,
            "timestamp" => Field::Timestamp,
            "expires_at" => Field::ExpiresAt,
            "strategy_id" => Field::StrategyId,
            "correlation_id" => Field::CorrelationId,
            "parent_signal_ids" => Field::ParentSignalIds,
            "acted_upon" => Field::ActedUpon,
            "execution_id" => Field::ExecutionId,
            "payload_json" => Field::PayloadJson,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        PRODUCER_FIELDS.get(self as usize).copied().unwrap_or("-")
    }

    pub(super) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// An object key, classified.
pub(super) enum Key {
    Producer(Field),
    Ledger(&'static str),
    Unknown(String),
}

pub(super) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        if let Some(field) = Field::from_name(v) {
            return Ok(Key::Producer(field));
        }
        Ok(match LEDGER_FIELDS.iter().find(|name| **name == v) {
            Some(name) => Key::Ledger(name),
            None => Key::Unknown(v.to_owned()),
        })
    }
}

/// A key as it appears in an error: plain when it is a plain identifier, else quoted and cut.
pub(super) fn key_for_error(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if plain {
        key.to_owned()
    } else {
        quote(key)
    }
}

/// A JSON value as far as a scalar field cares: arrays and objects are skipped, not kept.
pub(super) enum Json<'de> {
    Null,
    Bool(bool),
    Number(f64),
    Str(Cow<'de, str>),
    Array,
    Object,
}

impl Json<'_> {
    /// "a string", "a number", ... for "expected X, found Y".
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::Str(_) => "a string",
            Json::Array => "an array",
            Json::Object => "an object",
        }
    }
}

pub(super) struct JsonSeed;

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Object)
    }
}

/// `parent_signal_ids`: an array of strings, or null. The value is the ids or the problem.
pub(super) struct ParentsSeed;

pub(super) type Parents = Result<Vec<String>, String>;

impl<'de> DeserializeSeed<'de> for ParentsSeed {
    type Value = Parents;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parents, D::Error> {
        d.deserialize_any(self)
    }
}

pub(super) fn not_an_array(found: &str) -> Parents {
    Err(format!("expected an array of strings, found {found}"))
}

impl<'de> Visitor<'de> for ParentsSeed {
    type Value = Parents;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Parents, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Parents, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Parents, E> {
        Ok(not_an_array("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Parents, E> {
        Ok(not_an_array("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Parents, E> {
        Ok(not_an_array("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Parents, E> {
        Ok(not_an_array("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Parents, E> {
        Ok(not_an_array("a string"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parents, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(not_an_array("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parents, A::Error> {
        let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        let mut index = 0usize;
        while let Some(item) = seq.next_element_seed(JsonSeed)? {
            match item {
                Json::Str(s) => ids.push(s.into_owned()),
                other => {
                    let problem = format!("[{index}] expected a string, found {}", other.kind());
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Err(problem));
                }
            }
            index += 1;
        }
        Ok(Ok(ids))
    }
}

pub(super) fn expected(what: &str, found: &Json<'_>) -> String {
    format!("expected {what}, found {}", found.kind())
}

/// A string field; `Ok(None)` for null when the field is optional.
pub(super) fn string(v: Json<'_>, optional: bool) -> Result<Option<String>, String> {
    match v {
        Json::Str(s) => Ok(Some(s.into_owned())),
        Json::Null if optional => Ok(None),
        other => Err(expected("a string", &other)),
    }
}

pub(super) fn number(v: Json<'_>, optional: bool) -> Result<Option<f64>, String> {
    match v {
        Json::Number(n) => Ok(Some(n)),
        Json::Null if optional => Ok(None),
        other => Err(expected("a number", &other)),
    }
}

pub(super) fn timestamp(v: Json<'_>, optional: bool) -> Result<Option<i64>, String> {
    match v {
        Json::Str(s) => parse_rfc3339_ns(&s).map(Some),
        Json::Null if optional => Ok(None),
        other => Err(expected("an RFC 3339 timestamp string", &other)),
    }
}

pub(super) fn one_of(value: &str, names: &[&str]) -> String {
    format!("{} is not one of {}", quote(value), names.join(", "))
}
