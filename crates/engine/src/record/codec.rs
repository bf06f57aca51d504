//! The entry body codec: the explicit little-endian layout of FORMAT.md, "Entry body".
//!
//! Every entry body starts with its kind byte, carries its seq at bytes 8..16 and ends with
//! `prev_hash ‖ row_hash`, so integrity checks need no kind-specific decoding. The signal layout
//! is canonical: absent optional values are stored as zero bytes and empty strings, reserved
//! bits are zero, and the decoder refuses anything else, so one record has exactly one encoding.

use crate::error::CorruptKind;
use crate::hash::{row_hash, Hash};
use crate::le::{i64_at, u64_at};
use crate::record::signal::{
    Direction, Signal, SignalRecord, SignalType, ID_LEN_MAX, PARENT_COUNT_MAX, PAYLOAD_LEN_MAX,
    SOURCE_VERSION_LEN_MAX, TICKER_LEN_MAX, TIMEFRAME_LEN_MAX,
};

/// The kind byte at offset 0 of every entry body. Kinds 2..=5 are reserved (FORMAT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EntryKind {
    /// A trading signal (this version's only written kind).
    Signal = 0x01,
    /// Reserved: an outcome (acted upon / dismissed) of an earlier signal.
    Outcome = 0x02,
    /// Reserved: a recorded integrity check.
    IntegrityCheck = 0x03,
    /// Reserved: a retention anchor summarising removed segments.
    RetentionAnchor = 0x04,
    /// Reserved: a recovery event (bytes truncated at open).
    RecoveryEvent = 0x05,
}

impl EntryKind {
    /// The kind stored as `code`, if known.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(EntryKind::Signal),
            0x02 => Some(EntryKind::Outcome),
            0x03 => Some(EntryKind::IntegrityCheck),
            0x04 => Some(EntryKind::RetentionAnchor),
            0x05 => Some(EntryKind::RecoveryEvent),
            _ => None,
        }
    }
}

// Common entry layout: offsets shared by every kind.
/// Offset of the kind byte.
pub const KIND_OFFSET: usize = 0;
/// Offset of the seq (u64).
pub const SEQ_OFFSET: usize = 8;
/// Bytes of `prev_hash ‖ row_hash` at the end of every body.
pub const HASHES_LEN: usize = 32 + 32;
/// Smallest body of any kind: the common prefix and the two hashes.
pub const ENTRY_BODY_LEN_MIN: usize = SEQ_OFFSET + 8 + HASHES_LEN;

// Signal layout: each offset built from the one before.
const DIRECTION_OFFSET: usize = KIND_OFFSET + 1;
const SIGNAL_TYPE_OFFSET: usize = DIRECTION_OFFSET + 1;
const FLAGS_OFFSET: usize = SIGNAL_TYPE_OFFSET + 1;
const RESERVED_OFFSET: usize = FLAGS_OFFSET + 1;
const TIMESTAMP_OFFSET: usize = SEQ_OFFSET + 8;
/// Offset of recorded_at (i64 ns) in a signal body.
pub const RECORDED_AT_OFFSET: usize = TIMESTAMP_OFFSET + 8;
const EXPIRES_AT_OFFSET: usize = RECORDED_AT_OFFSET + 8;
const CONVICTION_OFFSET: usize = EXPIRES_AT_OFFSET + 8;
const PRICE_OFFSET: usize = CONVICTION_OFFSET + 8;
const LATENCY_OFFSET: usize = PRICE_OFFSET + 8;
/// Length of the fixed part of a signal body; the variable part starts here.
pub const SIGNAL_FIXED_LEN: usize = LATENCY_OFFSET + 8;
const _: () = assert!(RESERVED_OFFSET + 4 == SEQ_OFFSET);
const _: () = assert!(SIGNAL_FIXED_LEN == 64);
const _: () = assert!(SIGNAL_BODY_LEN_MAX == 67_101);

/// Offset of the signal timestamp (i64 ns) in a signal body.
pub const SIGNAL_TIMESTAMP_OFFSET: usize = TIMESTAMP_OFFSET;

const FLAG_PRICE: u8 = 1 << 0;
const FLAG_EXPIRES_AT: u8 = 1 << 1;
const FLAG_ACTED_UPON: u8 = 1 << 2;
const FLAG_ACTED_UPON_TRUE: u8 = 1 << 3;
const FLAGS_KNOWN: u8 = FLAG_PRICE | FLAG_EXPIRES_AT | FLAG_ACTED_UPON | FLAG_ACTED_UPON_TRUE;

/// Largest signal body: fixed part, eight one-byte-prefixed strings, the parents, the payload
/// and the hashes.
pub const SIGNAL_BODY_LEN_MAX: usize = SIGNAL_FIXED_LEN
    + (1 + ID_LEN_MAX) // signal_id
    + (1 + ID_LEN_MAX) // source_module
    + (1 + SOURCE_VERSION_LEN_MAX) // source_version
    + (1 + TICKER_LEN_MAX) // ticker
    + (1 + TIMEFRAME_LEN_MAX) // timeframe
    + 3 * (1 + ID_LEN_MAX) // strategy_id, correlation_id, execution_id
    + 1 + PARENT_COUNT_MAX * (1 + ID_LEN_MAX) // parent count, parents
    + 4 + PAYLOAD_LEN_MAX // payload length, payload
    + HASHES_LEN;

/// Ledger-assigned columns of a signal about to be encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// Seq the entry takes.
    pub seq: u64,
    /// When the ledger accepted it, ns since the epoch.
    pub recorded_at_ns: i64,
    /// Row hash of the entry before it.
    pub prev_hash: Hash,
}

impl Stamp {
    /// `recorded_at - timestamp` in milliseconds, as stored in latency_ms: the exact integer
    /// difference in ns, rounded once to the nearest f64, then divided by 1e6 (IEEE 754).
    pub fn latency_ms(&self, timestamp_ns: i64) -> f64 {
        (i128::from(self.recorded_at_ns) - i128::from(timestamp_ns)) as f64 / 1e6
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    debug_assert!(
        s.len() <= usize::from(u8::MAX),
        "validated lengths fit one byte"
    );
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Length of the body [`encode_signal_body`] writes for `signal` with a `signal_id` of
/// `signal_id_len` bytes: known before encoding, so the writer can tell whether an append fits
/// its segment before writing any of it.
pub fn signal_body_len(signal: &Signal, signal_id_len: usize) -> usize {
    let opt = |s: &Option<String>| 1 + s.as_deref().map_or(0, str::len);
    SIGNAL_FIXED_LEN
        + (1 + signal_id_len)
        + (1 + signal.source_module.len())
        + opt(&signal.source_version)
        + (1 + signal.ticker.len())
        + opt(&signal.timeframe)
        + opt(&signal.strategy_id)
        + opt(&signal.correlation_id)
        + opt(&signal.execution_id)
        + 1
        + signal
            .parent_signal_ids
            .iter()
            .map(|p| 1 + p.len())
            .sum::<usize>()
        + 4
        + signal.payload_json.len()
        + HASHES_LEN
}

/// Appends the body of `signal` stamped with `stamp` to `out`, with `signal_id` in place of the
/// signal's own (which may be empty), and returns the row hash it ends with.
///
/// The caller has validated `signal` ([`Signal::validate`]); `signal_id` is 1..=64 bytes.
pub fn encode_signal_body(
    out: &mut Vec<u8>,
    stamp: &Stamp,
    signal: &Signal,
    signal_id: &str,
) -> Hash {
    debug_assert!(!signal_id.is_empty() && signal_id.len() <= ID_LEN_MAX);
    let start = out.len();
    let mut flags = 0u8;
    if signal.price.is_some() {
        flags |= FLAG_PRICE;
    }
    if signal.expires_at_ns.is_some() {
        flags |= FLAG_EXPIRES_AT;
    }
    match signal.acted_upon {
        Some(true) => flags |= FLAG_ACTED_UPON | FLAG_ACTED_UPON_TRUE,
        Some(false) => flags |= FLAG_ACTED_UPON,
        None => {}
    }
    out.push(EntryKind::Signal as u8);
    out.push(signal.direction.code());
    out.push(signal.signal_type.code());
    out.push(flags);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&stamp.seq.to_le_bytes());
    out.extend_from_slice(&signal.timestamp_ns.to_le_bytes());
    out.extend_from_slice(&stamp.recorded_at_ns.to_le_bytes());
    out.extend_from_slice(&signal.expires_at_ns.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&signal.conviction.to_le_bytes());
    out.extend_from_slice(&signal.price.unwrap_or(0.0).to_le_bytes());
    out.extend_from_slice(&stamp.latency_ms(signal.timestamp_ns).to_le_bytes());
    debug_assert_eq!(out.len() - start, SIGNAL_FIXED_LEN);
    put_str(out, signal_id);
    put_str(out, &signal.source_module);
    put_str(out, signal.source_version.as_deref().unwrap_or(""));
    put_str(out, &signal.ticker);
    put_str(out, signal.timeframe.as_deref().unwrap_or(""));
    put_str(out, signal.strategy_id.as_deref().unwrap_or(""));
    put_str(out, signal.correlation_id.as_deref().unwrap_or(""));
    put_str(out, signal.execution_id.as_deref().unwrap_or(""));
    debug_assert!(signal.parent_signal_ids.len() <= PARENT_COUNT_MAX);
    out.push(signal.parent_signal_ids.len() as u8);
    for parent in &signal.parent_signal_ids {
        put_str(out, parent);
    }
    debug_assert!(signal.payload_json.len() <= PAYLOAD_LEN_MAX);
    out.extend_from_slice(&(signal.payload_json.len() as u32).to_le_bytes());
    out.extend_from_slice(signal.payload_json.as_bytes());
    let hash = {
        let content = out.get(start..).unwrap_or_default();
        row_hash(&stamp.prev_hash, content)
    };
    out.extend_from_slice(&stamp.prev_hash.0);
    out.extend_from_slice(&hash.0);
    debug_assert!(out.len() - start <= SIGNAL_BODY_LEN_MAX);
    debug_assert_eq!(out.len() - start, signal_body_len(signal, signal_id.len()));
    hash
}

/// A signal body decoded in place: strings borrow from the body.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalView<'a> {
    /// seq column.
    pub seq: u64,
    /// signal_id column (never empty).
    pub signal_id: &'a str,
    /// source_module column.
    pub source_module: &'a str,
    /// source_version column.
    pub source_version: Option<&'a str>,
    /// ticker column.
    pub ticker: &'a str,
    /// direction column.
    pub direction: Direction,
    /// conviction column.
    pub conviction: f64,
    /// signal_type column.
    pub signal_type: SignalType,
    /// timeframe column.
    pub timeframe: Option<&'a str>,
    /// price column.
    pub price: Option<f64>,
    /// timestamp column, ns.
    pub timestamp_ns: i64,
    /// recorded_at column, ns.
    pub recorded_at_ns: i64,
    /// expires_at column, ns.
    pub expires_at_ns: Option<i64>,
    /// strategy_id column.
    pub strategy_id: Option<&'a str>,
    /// correlation_id column.
    pub correlation_id: Option<&'a str>,
    /// parent_signal_ids column.
    pub parent_signal_ids: Vec<&'a str>,
    /// acted_upon column.
    pub acted_upon: Option<bool>,
    /// execution_id column.
    pub execution_id: Option<&'a str>,
    /// latency_ms column.
    pub latency_ms: f64,
    /// payload_json column, the stored bytes.
    pub payload_json: &'a str,
    /// prev_hash column.
    pub prev_hash: Hash,
    /// row_hash column.
    pub row_hash: Hash,
}

pub(crate) fn malformed(what: impl Into<String>) -> CorruptKind {
    CorruptKind::Malformed(what.into())
}

/// `bytes` as UTF-8 text, checking ASCII (almost every stored string) a word at a time first.
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is ASCII (< 0x80), and ASCII bytes are valid UTF-8 on their own.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// A bounds-checked cursor over a body.
pub(crate) struct Cursor<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CorruptKind> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end.and_then(|e| self.bytes.get(self.pos..e).map(|s| (e, s))) {
            Some((e, s)) => {
                self.pos = e;
                Ok(s)
            }
            None => Err(malformed(format!("{what} runs past the end of the body"))),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], CorruptKind> {
        let s = self.take(N, what)?;
        s.try_into()
            .map_err(|_| malformed(format!("{what}: short read")))
    }

    /// Reads the kind byte and requires `want`: another known kind is malformed here, an
    /// unknown one is [`CorruptKind::UnknownKind`].
    pub(crate) fn expect_kind(&mut self, want: EntryKind) -> Result<(), CorruptKind> {
        let kind = self.u8("kind")?;
        if kind == want as u8 {
            return Ok(());
        }
        Err(EntryKind::from_code(kind)
            .map(|k| malformed(format!("expected a {want:?} entry, found {k:?}")))
            .unwrap_or(CorruptKind::UnknownKind(kind)))
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, CorruptKind> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, CorruptKind> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, CorruptKind> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: &str) -> Result<f64, CorruptKind> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A one-byte-length-prefixed UTF-8 string of `min..=max` bytes.
    pub(crate) fn str(
        &mut self,
        what: &str,
        min: usize,
        max: usize,
    ) -> Result<&'a str, CorruptKind> {
        let len = usize::from(self.u8(what)?);
        if len < min || len > max {
            return Err(malformed(format!(
                "{what} length {len} outside {min}..={max}"
            )));
        }
        let bytes = self.take(len, what)?;
        utf8(bytes).ok_or_else(|| malformed(format!("{what} is not UTF-8")))
    }

    pub(crate) fn opt_str(
        &mut self,
        what: &str,
        max: usize,
    ) -> Result<Option<&'a str>, CorruptKind> {
        let s = self.str(what, 0, max)?;
        Ok((!s.is_empty()).then_some(s))
    }
}

/// Reads the kind byte of an entry body.
pub fn entry_kind(body: &[u8]) -> Result<EntryKind, CorruptKind> {
    let code = *body.first().ok_or_else(|| malformed("empty body"))?;
    EntryKind::from_code(code).ok_or(CorruptKind::UnknownKind(code))
}

/// The seq of any entry body (bytes 8..16), if the body is long enough.
pub fn entry_seq(body: &[u8]) -> Option<u64> {
    u64_at(body, SEQ_OFFSET)
}

/// Splits any entry body into `(content, prev_hash, row_hash)`, where content is the part the
/// row hash covers after `prev_hash`.
pub fn split_hashes(body: &[u8]) -> Option<(&[u8], Hash, Hash)> {
    if body.len() < ENTRY_BODY_LEN_MIN {
        return None;
    }
    let (content, hashes) = body.split_at(body.len() - HASHES_LEN);
    let (prev, row) = hashes.split_at(32);
    Some((
        content,
        Hash(prev.try_into().ok()?),
        Hash(row.try_into().ok()?),
    ))
}

/// The signal timestamp of a signal body, without decoding the rest.
pub fn signal_timestamp(body: &[u8]) -> Option<i64> {
    i64_at(body, SIGNAL_TIMESTAMP_OFFSET)
}

/// The signal_id bytes of a signal body (the string right after the fixed part), without
/// decoding the rest; None if the body is not a signal or too short to hold them.
pub fn signal_id_bytes(body: &[u8]) -> Option<&[u8]> {
    if body.first() != Some(&(EntryKind::Signal as u8)) {
        return None;
    }
    let len = usize::from(*body.get(SIGNAL_FIXED_LEN)?);
    body.get(SIGNAL_FIXED_LEN + 1..SIGNAL_FIXED_LEN + 1 + len)
}

/// The recorded_at of a signal body, without decoding the rest.
pub fn signal_recorded_at(body: &[u8]) -> Option<i64> {
    i64_at(body, RECORDED_AT_OFFSET)
}

/// Decodes a signal body, checking every layout rule. Does not check the row hash.
pub fn decode_signal(body: &[u8]) -> Result<SignalView<'_>, CorruptKind> {
    let (content, prev_hash, row_hash) = split_hashes(body)
        .ok_or_else(|| malformed(format!("body of {} bytes is too short", body.len())))?;
    let mut c = Cursor {
        bytes: content,
        pos: 0,
    };
    c.expect_kind(EntryKind::Signal)?;
    let direction_code = c.u8("direction")?;
    let direction = Direction::from_code(direction_code)
        .ok_or_else(|| malformed(format!("direction code {direction_code}")))?;
    let type_code = c.u8("signal_type")?;
    let signal_type = SignalType::from_code(type_code)
        .ok_or_else(|| malformed(format!("signal_type code {type_code}")))?;
    let flags = c.u8("flags")?;
    if flags & !FLAGS_KNOWN != 0 {
        return Err(malformed(format!("unknown flag bits {flags:#04x}")));
    }
    if flags & FLAG_ACTED_UPON == 0 && flags & FLAG_ACTED_UPON_TRUE != 0 {
        return Err(malformed("acted_upon value set without acted_upon present"));
    }
    if c.array::<4>("reserved")? != [0; 4] {
        return Err(malformed("reserved bytes are not zero"));
    }
    let seq = c.u64("seq")?;
    let timestamp_ns = c.i64("timestamp")?;
    let recorded_at_ns = c.i64("recorded_at")?;
    let expires_raw = c.i64("expires_at")?;
    let conviction = c.f64("conviction")?;
    let price_raw = c.f64("price")?;
    let latency_ms = c.f64("latency_ms")?;
    let expires_at_ns = if flags & FLAG_EXPIRES_AT != 0 {
        Some(expires_raw)
    } else if expires_raw != 0 {
        return Err(malformed("expires_at bytes set while absent"));
    } else {
        None
    };
    let price = if flags & FLAG_PRICE != 0 {
        if !price_raw.is_finite() {
            return Err(malformed(format!("price {price_raw} is not finite")));
        }
        Some(price_raw)
    } else if price_raw.to_bits() != 0 {
        return Err(malformed("price bytes set while absent"));
    } else {
        None
    };
    if !(0.0..=1.0).contains(&conviction) {
        return Err(malformed(format!("conviction {conviction} outside 0..=1")));
    }
    let derived_latency = Stamp {
        seq,
        recorded_at_ns,
        prev_hash,
    }
    .latency_ms(timestamp_ns);
    if latency_ms.to_bits() != derived_latency.to_bits() {
        return Err(malformed(format!(
            "latency_ms {latency_ms} is not (recorded_at - timestamp) / 1e6 = {derived_latency}"
        )));
    }
    let acted_upon = (flags & FLAG_ACTED_UPON != 0).then_some(flags & FLAG_ACTED_UPON_TRUE != 0);
    let signal_id = c.str("signal_id", 1, ID_LEN_MAX)?;
    let source_module = c.str("source_module", 1, ID_LEN_MAX)?;
    let source_version = c.opt_str("source_version", SOURCE_VERSION_LEN_MAX)?;
    let ticker = c.str("ticker", 1, TICKER_LEN_MAX)?;
    let timeframe = c.opt_str("timeframe", TIMEFRAME_LEN_MAX)?;
    let strategy_id = c.opt_str("strategy_id", ID_LEN_MAX)?;
    let correlation_id = c.opt_str("correlation_id", ID_LEN_MAX)?;
    let execution_id = c.opt_str("execution_id", ID_LEN_MAX)?;
    let parent_count = usize::from(c.u8("parent count")?);
    if parent_count > PARENT_COUNT_MAX {
        return Err(malformed(format!(
            "{parent_count} parents, more than {PARENT_COUNT_MAX}"
        )));
    }
    let mut parent_signal_ids = Vec::with_capacity(parent_count);
    for _ in 0..parent_count {
        parent_signal_ids.push(c.str("parent_signal_id", 1, ID_LEN_MAX)?);
    }
    let payload_len = u32::from_le_bytes(c.array("payload length")?) as usize;
    if payload_len > PAYLOAD_LEN_MAX {
        return Err(malformed(format!("payload of {payload_len} bytes")));
    }
    let payload = c.take(payload_len, "payload_json")?;
    let payload_json = utf8(payload).ok_or_else(|| malformed("payload_json is not UTF-8"))?;
    if c.pos != content.len() {
        return Err(malformed(format!(
            "{} unexpected bytes after payload_json",
            content.len() - c.pos
        )));
    }
    Ok(SignalView {
        seq,
        signal_id,
        source_module,
        source_version,
        ticker,
        direction,
        conviction,
        signal_type,
        timeframe,
        price,
        timestamp_ns,
        recorded_at_ns,
        expires_at_ns,
        strategy_id,
        correlation_id,
        parent_signal_ids,
        acted_upon,
        execution_id,
        latency_ms,
        payload_json,
        prev_hash,
        row_hash,
    })
}

impl SignalRecord {
    /// The record as a view borrowing its strings (what formatters take).
    pub fn as_view(&self) -> SignalView<'_> {
        let s = &self.signal;
        SignalView {
            seq: self.seq,
            signal_id: &s.signal_id,
            source_module: &s.source_module,
            source_version: s.source_version.as_deref(),
            ticker: &s.ticker,
            direction: s.direction,
            conviction: s.conviction,
            signal_type: s.signal_type,
            timeframe: s.timeframe.as_deref(),
            price: s.price,
            timestamp_ns: s.timestamp_ns,
            recorded_at_ns: self.recorded_at_ns,
            expires_at_ns: s.expires_at_ns,
            strategy_id: s.strategy_id.as_deref(),
            correlation_id: s.correlation_id.as_deref(),
            parent_signal_ids: s.parent_signal_ids.iter().map(String::as_str).collect(),
            acted_upon: s.acted_upon,
            execution_id: s.execution_id.as_deref(),
            latency_ms: self.latency_ms,
            payload_json: &s.payload_json,
            prev_hash: self.prev_hash,
            row_hash: self.row_hash,
        }
    }
}

impl SignalView<'_> {
    /// Copies the view into an owned record.
    pub fn to_record(&self) -> SignalRecord {
        let own = |s: Option<&str>| s.map(str::to_owned);
        SignalRecord {
            seq: self.seq,
            signal: Signal {
                signal_id: self.signal_id.to_owned(),
                source_module: self.source_module.to_owned(),
                source_version: own(self.source_version),
                ticker: self.ticker.to_owned(),
                direction: self.direction,
                conviction: self.conviction,
                signal_type: self.signal_type,
                timeframe: own(self.timeframe),
                price: self.price,
                timestamp_ns: self.timestamp_ns,
                expires_at_ns: self.expires_at_ns,
                strategy_id: own(self.strategy_id),
                correlation_id: own(self.correlation_id),
                parent_signal_ids: self
                    .parent_signal_ids
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                acted_upon: self.acted_upon,
                execution_id: own(self.execution_id),
                payload_json: self.payload_json.to_owned(),
            },
            recorded_at_ns: self.recorded_at_ns,
            latency_ms: self.latency_ms,
            prev_hash: self.prev_hash,
            row_hash: self.row_hash,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::record::frame::{begin_frame, finish_frame, frame_at, FrameAt};

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9_ é€-]{{1,{max}}}"))
            .unwrap()
            .prop_filter("fits the byte limit", move |s| s.len() <= max)
    }

    fn opt_text(max: usize) -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text(max))
    }

    prop_compose! {
        fn signal()(
            signal_id in text(ID_LEN_MAX),
            source_module in text(ID_LEN_MAX),
            source_version in opt_text(SOURCE_VERSION_LEN_MAX),
            ticker in "[A-Z0-9./-]{1,16}",
            direction in prop::sample::select(Direction::ALL),
            conviction in 0.0f64..=1.0,
            signal_type in prop::sample::select(SignalType::ALL),
            timeframe in opt_text(TIMEFRAME_LEN_MAX),
            price in proptest::option::of(-1e12f64..1e12),
            timestamp_ns in any::<i64>(),
            expires_after in proptest::option::of(0i64..1_000_000_000_000),
            strategy_id in opt_text(ID_LEN_MAX),
            correlation_id in opt_text(ID_LEN_MAX),
            parents in proptest::collection::btree_set("[a-f0-9-]{1,64}", 0..=PARENT_COUNT_MAX),
            acted_upon in proptest::option::of(any::<bool>()),
            execution_id in opt_text(ID_LEN_MAX),
            payload in prop_oneof![
                Just("null".to_owned()),
                "[a-z]{0,40}".prop_map(|s| format!("{{\"k\": \"{s}\", \"n\": [1, 2.5]}}")),
                Just(format!("\"{}\"", "x".repeat(PAYLOAD_LEN_MAX - 2))),
            ],
        ) -> Signal {
            Signal {
                signal_id,
                source_module,
                source_version,
                ticker,
                direction,
                conviction,
                signal_type,
                timeframe,
                price,
                timestamp_ns,
                expires_at_ns: expires_after.and_then(|d| timestamp_ns.checked_add(d)),
                strategy_id,
                correlation_id,
                parent_signal_ids: parents.into_iter().collect(),
                acted_upon,
                execution_id,
                payload_json: payload,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// encode → frame → decode gives back every column, and the stored row hash is the
        /// hash of the stored bytes.
        #[test]
        fn round_trip(sig in signal(), seq in any::<u64>(), recorded in any::<i64>(), prev in any::<[u8; 32]>()) {
            prop_assume!(sig.validate().is_ok());
            let stamp = Stamp { seq, recorded_at_ns: recorded, prev_hash: Hash(prev) };
            let mut out = Vec::new();
            let start = begin_frame(&mut out);
            let hash = encode_signal_body(&mut out, &stamp, &sig, &sig.signal_id.clone());
            finish_frame(&mut out, start);
            let FrameAt::Valid { body, next } = frame_at(&out, 0) else { panic!("frame invalid") };
            prop_assert_eq!(next, out.len());
            prop_assert!(body.len() <= SIGNAL_BODY_LEN_MAX);
            let view = decode_signal(body).unwrap();
            let rec = view.to_record();
            prop_assert_eq!(&rec.signal, &sig);
            prop_assert_eq!(rec.seq, seq);
            prop_assert_eq!(rec.recorded_at_ns, recorded);
            prop_assert_eq!(rec.latency_ms.to_bits(), stamp.latency_ms(sig.timestamp_ns).to_bits());
            prop_assert_eq!(rec.prev_hash, Hash(prev));
            prop_assert_eq!(rec.row_hash, hash);
            let (content, _, _) = split_hashes(body).unwrap();
            prop_assert_eq!(row_hash(&Hash(prev), content), hash);
        }

        /// The decoder never panics, whatever the bytes.
        #[test]
        fn decoder_survives_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_signal(&bytes);
            let _ = entry_kind(&bytes);
        }

        /// Any single flipped bit of a valid body either fails to decode or decodes to a
        /// different record: no two encodings mean the same thing.
        #[test]
        fn encoding_is_canonical(sig in signal(), byte in any::<prop::sample::Index>(), bit in 0u8..8) {
            prop_assume!(sig.validate().is_ok());
            let stamp = Stamp { seq: 5, recorded_at_ns: 7, prev_hash: Hash([1; 32]) };
            let mut body = Vec::new();
            encode_signal_body(&mut body, &stamp, &sig, &sig.signal_id.clone());
            let original = decode_signal(&body).unwrap().to_record();
            let i = byte.index(body.len());
            body[i] ^= 1 << bit;
            if let Ok(view) = decode_signal(&body) {
                let changed = view.to_record();
                // Compare bit patterns: -0.0 and 0.0 differ on disk and must differ here.
                let same = changed.signal.conviction.to_bits() == original.signal.conviction.to_bits()
                    && changed.signal.price.map(f64::to_bits) == original.signal.price.map(f64::to_bits)
                    && changed.latency_ms.to_bits() == original.latency_ms.to_bits()
                    && changed == original;
                prop_assert!(!same, "flip of byte {} bit {} decoded to the same record", i, bit);
            }
        }
    }

    #[test]
    fn layout_offsets_match_format_md() {
        assert_eq!(SIGNAL_FIXED_LEN, 64);
        assert_eq!(ENTRY_BODY_LEN_MIN, 80);
        assert_eq!(SIGNAL_TIMESTAMP_OFFSET, 16);
    }
}
