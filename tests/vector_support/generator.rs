//! The test-vector generator: the NDJSON sources of docs/test-vectors/, encoded by the engine's
//! encoder exactly as `Ledger::append` does, and every committed file rendered from them
//! ([`committed_files`]). `examples/write_test_vectors.rs` writes those files;
//! `tests/committed_test_vectors_are_what_the_generator_writes.rs` requires the committed ones
//! to be exactly them.

use std::fmt::Write as _;

use serde_json::{json, Value};
use signal_ledger_engine::config::{LedgerToml, PersistenceConfig};
use signal_ledger_engine::input::{parse_outcome_line, parse_signal_line};
use signal_ledger_engine::record::codec::{encode_signal_body, Stamp};
use signal_ledger_engine::record::frame::{begin_frame, finish_frame};
use signal_ledger_engine::record::outcome::{encode_outcome_body, Outcome, OutcomeStamp};
use signal_ledger_engine::segment::{SegmentHeader, SegmentTrailer};
use signal_ledger_engine::timefmt::{format_rfc3339_ns, parse_rfc3339_ns};
use signal_ledger_engine::{Digest, Hash, Signal, GENESIS_PREV_HASH};

use super::*;

// ---------------------------------------------------------------------------------------------
// The vectors' sources: NDJSON lines as a producer sends them, and the ledger's stamp.
// ---------------------------------------------------------------------------------------------

pub struct Source {
    pub name: &'static str,
    pub description: &'static str,
    pub ndjson: &'static str,
    /// recorded_at minus timestamp, ns (negative: the producer's clock ran ahead).
    pub latency_ns: i64,
}

pub const SOURCES: [Source; 3] = [
    Source {
        name: "minimal",
        description: "Every optional column absent (payload_json absent, so stored as `null`); seq 0, chained to the genesis prev_hash.",
        ndjson: r#"{"signal_id":"sig-0001","source_module":"ema_cross","ticker":"AAPL","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"2026-01-05T14:30:00Z"}"#,
        latency_ns: 1_234_567,
    },
    Source {
        name: "full",
        description: "Every optional column present, two parents, non-ASCII text in strings and payload; seq 1, chained to the minimal vector.",
        ndjson: r#"{"signal_id":"sig-0002","source_module":"signal_fusion","source_version":"3.1.0-β","ticker":"BTC/USD","direction":"short","conviction":0.875,"signal_type":"scale_in","timeframe":"15m","price":43210.5,"timestamp":"2026-01-05T14:30:00.123456789Z","expires_at":"2026-01-05T15:30:00.123456789Z","strategy_id":"fusion/momentum+sentiment","correlation_id":"corr-7f3a","parent_signal_ids":["sig-0001","sig-émoji-🚀"],"acted_upon":true,"execution_id":"exec-000042","payload_json":{"note":"Kursziel erhöht — 🚀","rsi":61.2,"weights":[0.6,0.4]}}"#,
        latency_ns: 2_500_000,
    },
    Source {
        name: "negative",
        description: "Negative price, negative latency (recorded_at before timestamp), conviction 0, acted_upon false, expires_at equal to timestamp, a timestamp given with a +02:00 offset, and a payload kept byte-exact with its inner whitespace and \\u escape; seq 2, chained to the full vector.",
        ndjson: r#"{"signal_id":"sig-0003","source_module":"agent_consensus","ticker":"CL-F","direction":"neutral","conviction":0,"signal_type":"alert","price":-37.63,"timestamp":"2026-01-05T16:30:00.5+02:00","expires_at":"2026-01-05T14:30:00.5Z","acted_upon":false,"payload_json": { "spread" : -37.63, "memo":"caf\u00e9" } }"#,
        latency_ns: -750_000,
    },
];

/// When the committed segment was created: one second before the first timestamp.
pub fn segment_created_at_ns() -> i64 {
    parse_rfc3339_ns("2026-01-05T14:29:59Z").unwrap()
}

/// One vector as generated: the signal, its stamp and its bytes.
pub struct Generated {
    pub signal: Signal,
    pub stamp: Stamp,
    pub body: Vec<u8>,
    pub frame: Vec<u8>,
    pub row_hash: Hash,
}

/// Encodes `signal` with `stamp` exactly as `Ledger::append` does: a frame begun, the body
/// encoded into it, the frame finished.
pub fn engine_frame(signal: &Signal, stamp: &Stamp) -> (Vec<u8>, Hash) {
    let mut frame = Vec::new();
    let start = begin_frame(&mut frame);
    let hash = encode_signal_body(&mut frame, stamp, signal, &signal.signal_id);
    finish_frame(&mut frame, start);
    (frame, hash)
}

pub fn generate() -> Vec<Generated> {
    let mut out: Vec<Generated> = Vec::new();
    for (i, source) in SOURCES.iter().enumerate() {
        let signal = parse_signal_line(source.ndjson).unwrap().into_signal();
        let stamp = Stamp {
            seq: i as u64,
            recorded_at_ns: signal.timestamp_ns + source.latency_ns,
            prev_hash: out.last().map_or(GENESIS_PREV_HASH, |g| g.row_hash),
        };
        let (frame, row_hash) = engine_frame(&signal, &stamp);
        out.push(Generated {
            body: frame[8..].to_vec(),
            frame,
            signal,
            stamp,
            row_hash,
        });
    }
    out
}

/// The header of the committed ledgers' one segment, in format `version`.
pub fn header(version: u16) -> SegmentHeader {
    SegmentHeader {
        format_version: version,
        first_seq: 0,
        created_at_ns: segment_created_at_ns(),
        prev_hash: GENESIS_PREV_HASH,
    }
}

/// The trailer of a segment from seq 0 holding `count` entries, the signals among them with
/// `signal_timestamps` (FORMAT.md, "Segment trailer": outcomes do not count in the range).
pub fn trailer(count: u64, signal_timestamps: &[i64], last_row_hash: Hash) -> SegmentTrailer {
    SegmentTrailer {
        record_count: count,
        first_seq: 0,
        last_seq: count - 1,
        min_timestamp_ns: signal_timestamps.iter().copied().min().unwrap_or(i64::MAX),
        max_timestamp_ns: signal_timestamps.iter().copied().max().unwrap_or(i64::MIN),
        last_row_hash,
    }
}

pub fn signal_trailer(generated: &[Generated]) -> SegmentTrailer {
    let timestamps: Vec<i64> = generated.iter().map(|g| g.signal.timestamp_ns).collect();
    trailer(
        generated.len() as u64,
        &timestamps,
        generated.last().unwrap().row_hash,
    )
}

// ---------------------------------------------------------------------------------------------
// The outcome vectors' sources: NDJSON outcome lines, chained after the three signal vectors.
// ---------------------------------------------------------------------------------------------

pub struct OutcomeSource {
    pub name: &'static str,
    pub description: &'static str,
    pub ndjson: &'static str,
    /// The clock the line is parsed at, which becomes decided_at when the line gives no `at`
    /// (None: the line gives `at`).
    pub parse_clock: Option<&'static str>,
    /// When the ledger accepted the outcome.
    pub recorded_at: &'static str,
}

pub const OUTCOME_SOURCES: [OutcomeSource; 2] = [
    OutcomeSource {
        name: "acted",
        description: "Acted upon, with an execution_id (not the signal's own) and a non-ASCII reason, decided at a time given with a +01:00 offset; seq 3, the outcome of signal seq 1 (the full vector), chained to the negative vector.",
        ndjson: r#"{"signal_id":"sig-0002","acted_upon":true,"execution_id":"exec-7f3a-0001","reason":"Teilausführung 0,5 BTC @ 43.210,5 — Ziel erreicht ✓","at":"2026-01-05T15:31:00.25+01:00"}"#,
        parse_clock: None,
        recorded_at: "2026-01-05T14:31:01.000000123Z",
    },
    OutcomeSource {
        name: "dismissed",
        description: "Dismissed, with every optional field absent: no execution_id, no reason, and no `at`, so decided_at is the clock when the line was parsed; seq 4, the outcome of signal seq 0 (the minimal vector), chained to the acted vector.",
        ndjson: r#"{"signal_id":"sig-0001","acted_upon":false}"#,
        parse_clock: Some("2026-01-05T14:32:00Z"),
        recorded_at: "2026-01-05T14:32:00.000004321Z",
    },
];

/// One outcome vector as generated.
pub struct GeneratedOutcome {
    pub outcome: Outcome,
    pub stamp: OutcomeStamp,
    pub body: Vec<u8>,
    pub frame: Vec<u8>,
    pub row_hash: Hash,
}

/// The clock an outcome source is parsed at (any value when the line gives `at`).
pub fn parse_clock_ns(source: &OutcomeSource) -> i64 {
    source
        .parse_clock
        .map_or(i64::MIN, |c| parse_rfc3339_ns(c).unwrap())
}

/// Encodes `outcome` with `stamp` exactly as `Ledger::append_outcomes` does.
pub fn engine_outcome_frame(outcome: &Outcome, stamp: &OutcomeStamp) -> (Vec<u8>, Hash) {
    let mut frame = Vec::new();
    let start = begin_frame(&mut frame);
    let hash = encode_outcome_body(&mut frame, stamp, outcome);
    finish_frame(&mut frame, start);
    (frame, hash)
}

/// The outcome vectors, chained after `signals`; each names its signal by signal_id, resolved
/// to the signal's seq among `signals` as the writer resolves it among the ledger's.
pub fn generate_outcomes(signals: &[Generated]) -> Vec<GeneratedOutcome> {
    let mut out: Vec<GeneratedOutcome> = Vec::new();
    for (i, source) in OUTCOME_SOURCES.iter().enumerate() {
        let outcome = parse_outcome_line(source.ndjson, parse_clock_ns(source)).unwrap();
        let signal_seq = signals
            .iter()
            .position(|g| g.signal.signal_id == outcome.signal_id)
            .unwrap() as u64;
        let stamp = OutcomeStamp {
            seq: (signals.len() + i) as u64,
            recorded_at_ns: parse_rfc3339_ns(source.recorded_at).unwrap(),
            prev_hash: out
                .last()
                .map_or(signals.last().unwrap().row_hash, |g| g.row_hash),
            signal_seq,
        };
        let (frame, row_hash) = engine_outcome_frame(&outcome, &stamp);
        out.push(GeneratedOutcome {
            body: frame[8..].to_vec(),
            frame,
            outcome,
            stamp,
            row_hash,
        });
    }
    out
}

/// The trailer of the version-2 ledger: five entries, the range of the three signals only.
pub fn outcomes_ledger_trailer(
    signals: &[Generated],
    outcomes: &[GeneratedOutcome],
) -> SegmentTrailer {
    let timestamps: Vec<i64> = signals.iter().map(|g| g.signal.timestamp_ns).collect();
    trailer(
        (signals.len() + outcomes.len()) as u64,
        &timestamps,
        outcomes.last().unwrap().row_hash,
    )
}

// ---------------------------------------------------------------------------------------------
// An ordered JSON writer (serde_json's map sorts keys; a reader wants columns in column order).
// ---------------------------------------------------------------------------------------------

pub enum J {
    /// A value printed on one line.
    V(Value),
    /// An object printed one key per line, in this order.
    O(Vec<(&'static str, J)>),
    /// An array printed one element per line.
    A(Vec<J>),
}

pub fn render(j: &J, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    match j {
        J::V(v) => out.push_str(&serde_json::to_string(v).unwrap()),
        J::O(fields) => {
            out.push_str("{\n");
            for (i, (k, v)) in fields.iter().enumerate() {
                write!(out, "{pad}{}: ", serde_json::to_string(k).unwrap()).unwrap();
                render(v, indent + 1, out);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            write!(out, "{}}}", "  ".repeat(indent)).unwrap();
        }
        J::A(items) => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad);
                render(v, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            write!(out, "{}]", "  ".repeat(indent)).unwrap();
        }
    }
}

pub fn time_json(ns: Option<i64>) -> J {
    J::V(ns.map_or(
        Value::Null,
        |ns| json!({ "ns": ns, "rfc3339": format_rfc3339_ns(ns) }),
    ))
}

pub fn columns_json(s: &Signal) -> J {
    J::O(vec![
        ("signal_id", J::V(json!(s.signal_id))),
        ("source_module", J::V(json!(s.source_module))),
        ("source_version", J::V(json!(s.source_version))),
        ("ticker", J::V(json!(s.ticker))),
        ("direction", J::V(json!(s.direction.as_str()))),
        ("conviction", J::V(json!(s.conviction))),
        ("signal_type", J::V(json!(s.signal_type.as_str()))),
        ("timeframe", J::V(json!(s.timeframe))),
        ("price", J::V(json!(s.price))),
        ("timestamp", time_json(Some(s.timestamp_ns))),
        ("expires_at", time_json(s.expires_at_ns)),
        ("strategy_id", J::V(json!(s.strategy_id))),
        ("correlation_id", J::V(json!(s.correlation_id))),
        ("parent_signal_ids", J::V(json!(s.parent_signal_ids))),
        ("acted_upon", J::V(json!(s.acted_upon))),
        ("execution_id", J::V(json!(s.execution_id))),
        ("payload_json", J::V(json!(s.payload_json))),
    ])
}

pub fn hex_value(bytes: &[u8]) -> J {
    J::V(json!(hex::encode(bytes)))
}

pub fn vector_json(source: &Source, g: &Generated) -> J {
    let content = &g.body[..g.body.len() - 64];
    let mut hash_input = DOMAIN_TAG.to_vec();
    hash_input.extend_from_slice(&g.stamp.prev_hash.0);
    hash_input.extend_from_slice(content);
    let crc = crc32fast::hash(&g.body);
    J::O(vec![
        ("name", J::V(json!(source.name))),
        ("description", J::V(json!(source.description))),
        ("input_ndjson", J::V(json!(source.ndjson))),
        ("columns", columns_json(&g.signal)),
        (
            "stamp",
            J::O(vec![
                ("seq", J::V(json!(g.stamp.seq))),
                ("recorded_at", time_json(Some(g.stamp.recorded_at_ns))),
                ("prev_hash", J::V(json!(g.stamp.prev_hash.to_hex()))),
            ]),
        ),
        (
            "latency_ms",
            J::V(json!(g.stamp.latency_ms(g.signal.timestamp_ns))),
        ),
        ("body_len", J::V(json!(g.body.len()))),
        ("body_hex", hex_value(&g.body)),
        ("crc32", J::V(json!(format!("{crc:08x}")))),
        ("frame_hex", hex_value(&g.frame)),
        ("row_hash_input_hex", hex_value(&hash_input)),
        ("row_hash", J::V(json!(g.row_hash.to_hex()))),
    ])
}

pub fn header_json(h: &SegmentHeader) -> J {
    J::O(vec![
        ("format_version", J::V(json!(h.format_version))),
        ("first_seq", J::V(json!(h.first_seq))),
        ("created_at", time_json(Some(h.created_at_ns))),
        ("prev_hash", J::V(json!(h.prev_hash.to_hex()))),
        ("hex", hex_value(&h.encode())),
    ])
}

pub fn trailer_json(t: &SegmentTrailer) -> J {
    J::O(vec![
        ("record_count", J::V(json!(t.record_count))),
        ("first_seq", J::V(json!(t.first_seq))),
        ("last_seq", J::V(json!(t.last_seq))),
        ("min_timestamp_ns", J::V(json!(t.min_timestamp_ns))),
        ("max_timestamp_ns", J::V(json!(t.max_timestamp_ns))),
        ("last_row_hash", J::V(json!(t.last_row_hash.to_hex()))),
        ("hex", hex_value(&t.encode())),
    ])
}

/// The bytes of the committed segment file: header, the three frames and, if sealed, the trailer.
pub fn segment_bytes(header_hex: &[u8], frames: &[Vec<u8>], trailer_hex: Option<&[u8]>) -> Vec<u8> {
    let mut out = header_hex.to_vec();
    for f in frames {
        out.extend_from_slice(f);
    }
    if let Some(t) = trailer_hex {
        out.extend_from_slice(t);
    }
    out
}

/// The `ledger.toml` of a committed ledger of format `version`, default settings: for version
/// 1, the keys a version-1 engine wrote (the settings that came with version 2 left out).
pub fn ledger_toml_text(version: u16) -> String {
    let text = LedgerToml {
        format_version: version,
        persistence: PersistenceConfig::default(),
    }
    .to_toml_text();
    if version >= 2 {
        return text;
    }
    let v1_end = text.find("# true: retention removes nothing").unwrap();
    text[..v1_end].to_owned()
}

/// Annotated hex of a signal body, one field per line, for the walkthrough (docs/test-vectors/README.md).
pub fn annotate(body: &[u8]) -> String {
    let mut out = String::new();
    let mut line = |at: usize, len: usize, what: &str| {
        writeln!(
            out,
            "{at:>4}  {:<40} {what}",
            hex::encode(&body[at..at + len])
        )
        .unwrap();
    };
    line(0, 1, "kind = 0x01 (signal)");
    line(1, 1, "direction");
    line(2, 1, "signal_type");
    line(3, 1, "flags");
    line(4, 4, "reserved");
    line(8, 8, "seq");
    line(16, 8, "timestamp_ns");
    line(24, 8, "recorded_at_ns");
    line(32, 8, "expires_at_ns");
    line(40, 8, "conviction");
    line(48, 8, "price");
    line(56, 8, "latency_ms");
    let mut at = 64;
    for name in [
        "signal_id",
        "source_module",
        "source_version",
        "ticker",
        "timeframe",
        "strategy_id",
        "correlation_id",
        "execution_id",
    ] {
        let len = usize::from(body[at]);
        line(at, 1 + len, name);
        at += 1 + len;
    }
    let parents = usize::from(body[at]);
    line(at, 1, "parent count");
    at += 1;
    for _ in 0..parents {
        let len = usize::from(body[at]);
        line(at, 1 + len, "parent_signal_id");
        at += 1 + len;
    }
    let payload = u32_at(body, at) as usize;
    line(at, 4, "payload length");
    at += 4;
    line(at, payload, "payload_json");
    let n = body.len();
    writeln!(out, "{:>4}  {}", n - 64, hex::encode(&body[n - 64..n - 32])).unwrap();
    writeln!(out, "{:>4}  {:<40} prev_hash", "", "").unwrap();
    writeln!(out, "{:>4}  {}", n - 32, hex::encode(&body[n - 32..])).unwrap();
    writeln!(out, "{:>4}  {:<40} row_hash", "", "").unwrap();
    out
}

/// Annotated hex of an outcome body, one field per line, for the walkthrough (docs/test-vectors/README.md).
pub fn annotate_outcome(body: &[u8]) -> String {
    let mut out = String::new();
    let mut line = |at: usize, len: usize, what: &str| {
        writeln!(
            out,
            "{at:>4}  {:<40} {what}",
            hex::encode(&body[at..at + len])
        )
        .unwrap();
    };
    line(0, 1, "kind = 0x02 (outcome)");
    line(1, 1, "decision");
    line(2, 6, "reserved");
    line(8, 8, "seq");
    line(16, 8, "decided_at_ns");
    line(24, 8, "recorded_at_ns");
    line(32, 8, "signal_seq");
    let mut at = 40;
    for name in ["signal_id", "execution_id"] {
        let len = usize::from(body[at]);
        line(at, 1 + len, name);
        at += 1 + len;
    }
    let reason = usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
    line(at, 2, "reason length");
    at += 2;
    line(at, reason, "reason");
    let n = body.len();
    writeln!(out, "{:>4}  {}", n - 64, hex::encode(&body[n - 64..n - 32])).unwrap();
    writeln!(out, "{:>4}  {:<40} prev_hash", "", "").unwrap();
    writeln!(out, "{:>4}  {}", n - 32, hex::encode(&body[n - 32..])).unwrap();
    writeln!(out, "{:>4}  {:<40} row_hash", "", "").unwrap();
    out
}

pub fn rendered(doc: &J) -> Vec<u8> {
    let mut text = String::new();
    render(doc, 0, &mut text);
    text.push('\n');
    text.into_bytes()
}

/// signal-entries.json: the three signal vectors and the two version-1 ledgers that hold them.
pub fn signal_vectors_doc(generated: &[Generated]) -> J {
    let header = header(V1);
    let trailer = signal_trailer(generated);
    J::O(vec![
        ("format_version", J::V(json!(V1))),
        (
            "about",
            J::V(json!(
                "Signal entry test vectors for docs/FORMAT.md, generated by the engine's encoder (examples/write_test_vectors.rs). Hex is lower-case, bytes in file order; crc32 is the value (stored little-endian in the frame); timestamps are ns since the Unix epoch, UTC."
            )),
        ),
        ("row_hash_domain_tag_hex", hex_value(DOMAIN_TAG)),
        ("genesis_prev_hash", J::V(json!(GENESIS_PREV_HASH.to_hex()))),
        (
            "crc32_check",
            J::V(json!({ "input_ascii": "123456789", "crc32": format!("{:08x}", crc32fast::hash(b"123456789")) })),
        ),
        (
            "vectors",
            J::A(SOURCES.iter().zip(generated).map(|(s, g)| vector_json(s, g)).collect()),
        ),
        (
            "ledgers",
            J::O(vec![
                (
                    UNSEALED_DIR,
                    J::O(vec![
                        ("segment", J::V(json!(SEGMENT_NAME))),
                        ("sealed", J::V(json!(false))),
                        ("header", header_json(&header)),
                        ("head_seq", J::V(json!(2))),
                        ("head_row_hash", J::V(json!(trailer.last_row_hash.to_hex()))),
                    ]),
                ),
                (
                    SEALED_DIR,
                    J::O(vec![
                        ("segment", J::V(json!(SEGMENT_NAME))),
                        ("sealed", J::V(json!(true))),
                        ("header", header_json(&header)),
                        ("trailer", trailer_json(&trailer)),
                        ("head_seq", J::V(json!(2))),
                        ("head_row_hash", J::V(json!(trailer.last_row_hash.to_hex()))),
                    ]),
                ),
            ]),
        ),
    ])
}

pub fn outcome_columns_json(o: &Outcome) -> J {
    J::O(vec![
        ("signal_id", J::V(json!(o.signal_id))),
        ("acted_upon", J::V(json!(o.decision.acted_upon()))),
        ("execution_id", J::V(json!(o.execution_id))),
        ("reason", J::V(json!(o.reason))),
        ("decided_at", time_json(Some(o.decided_at_ns))),
    ])
}

pub fn outcome_vector_json(source: &OutcomeSource, g: &GeneratedOutcome) -> J {
    let content = &g.body[..g.body.len() - 64];
    let mut hash_input = DOMAIN_TAG.to_vec();
    hash_input.extend_from_slice(&g.stamp.prev_hash.0);
    hash_input.extend_from_slice(content);
    let crc = crc32fast::hash(&g.body);
    J::O(vec![
        ("name", J::V(json!(source.name))),
        ("description", J::V(json!(source.description))),
        ("input_ndjson", J::V(json!(source.ndjson))),
        (
            "parse_clock",
            time_json(source.parse_clock.map(|_| parse_clock_ns(source))),
        ),
        ("columns", outcome_columns_json(&g.outcome)),
        (
            "stamp",
            J::O(vec![
                ("seq", J::V(json!(g.stamp.seq))),
                ("recorded_at", time_json(Some(g.stamp.recorded_at_ns))),
                ("prev_hash", J::V(json!(g.stamp.prev_hash.to_hex()))),
                ("signal_seq", J::V(json!(g.stamp.signal_seq))),
            ]),
        ),
        ("body_len", J::V(json!(g.body.len()))),
        ("body_hex", hex_value(&g.body)),
        ("crc32", J::V(json!(format!("{crc:08x}")))),
        ("frame_hex", hex_value(&g.frame)),
        ("row_hash_input_hex", hex_value(&hash_input)),
        ("row_hash", J::V(json!(g.row_hash.to_hex()))),
    ])
}

/// The head digest of the version-2 ledger: its last entry, the dismissed outcome.
pub fn outcomes_ledger_digest(outcomes: &[GeneratedOutcome]) -> Digest {
    let last = outcomes.last().unwrap();
    Digest {
        seq: last.stamp.seq,
        row_hash: last.row_hash,
        recorded_at_ns: last.stamp.recorded_at_ns,
    }
}

/// outcome-entries.json: the two outcome vectors and the version-2 ledger that holds them
/// after the three signal vectors.
pub fn outcome_vectors_doc(signals: &[Generated], outcomes: &[GeneratedOutcome]) -> J {
    let header = header(V2);
    let trailer = outcomes_ledger_trailer(signals, outcomes);
    let last_signal = signals.last().unwrap();
    let mut entries: Vec<J> = SOURCES
        .iter()
        .map(|s| J::V(json!(format!("{SIGNAL_VECTORS_FILE}: {}", s.name))))
        .collect();
    entries.extend(
        OUTCOME_SOURCES
            .iter()
            .map(|s| J::V(json!(format!("{OUTCOME_VECTORS_FILE}: {}", s.name)))),
    );
    J::O(vec![
        ("format_version", J::V(json!(V2))),
        (
            "about",
            J::V(json!(
                "Outcome entry test vectors for docs/FORMAT.md (format version 2), generated by the engine's encoder (examples/write_test_vectors.rs). They continue the chain of the three signal vectors in signal-entries.json (seq 0, 1, 2): the first outcome is seq 3 and chains to the row_hash of seq 2. columns.acted_upon is the decision (true: code 1, acted upon; false: code 0, dismissed); an absent execution_id or reason is null (stored empty); parse_clock is the clock the input line was parsed at, which is decided_at when the line gives no `at` (null when it gives one). Hex is lower-case, bytes in file order; crc32 is the value (stored little-endian in the frame); timestamps are ns since the Unix epoch, UTC."
            )),
        ),
        ("row_hash_domain_tag_hex", hex_value(DOMAIN_TAG)),
        (
            "chained_after",
            J::O(vec![
                ("file", J::V(json!(SIGNAL_VECTORS_FILE))),
                ("seq", J::V(json!(last_signal.stamp.seq))),
                ("row_hash", J::V(json!(last_signal.row_hash.to_hex()))),
            ]),
        ),
        (
            "vectors",
            J::A(
                OUTCOME_SOURCES
                    .iter()
                    .zip(outcomes)
                    .map(|(s, g)| outcome_vector_json(s, g))
                    .collect(),
            ),
        ),
        (
            "ledgers",
            J::O(vec![(
                OUTCOMES_DIR,
                J::O(vec![
                    ("segment", J::V(json!(SEGMENT_NAME))),
                    ("sealed", J::V(json!(true))),
                    ("entries", J::A(entries)),
                    ("header", header_json(&header)),
                    ("trailer", trailer_json(&trailer)),
                    ("head_seq", J::V(json!(trailer.last_seq))),
                    ("head_row_hash", J::V(json!(trailer.last_row_hash.to_hex()))),
                    (
                        "head_digest",
                        J::V(json!(outcomes_ledger_digest(outcomes).to_json())),
                    ),
                ]),
            )]),
        ),
    ])
}

/// Every file under docs/test-vectors/, as the engine's encoder makes it: (path relative to
/// docs/test-vectors/, bytes).
pub fn committed_files() -> Vec<(String, Vec<u8>)> {
    let signals = generate();
    let outcomes = generate_outcomes(&signals);
    let signal_frames: Vec<Vec<u8>> = signals.iter().map(|g| g.frame.clone()).collect();
    let v1_trailer = signal_trailer(&signals).encode();
    let mut files = vec![(
        SIGNAL_VECTORS_FILE.to_owned(),
        rendered(&signal_vectors_doc(&signals)),
    )];
    for (dir, sealed) in [(UNSEALED_DIR, false), (SEALED_DIR, true)] {
        let bytes = segment_bytes(
            &header(V1).encode(),
            &signal_frames,
            sealed.then_some(&v1_trailer[..]),
        );
        files.push((format!("{dir}/{SEGMENT_NAME}"), bytes));
        files.push((
            format!("{dir}/ledger.toml"),
            ledger_toml_text(V1).into_bytes(),
        ));
    }
    files.push((
        OUTCOME_VECTORS_FILE.to_owned(),
        rendered(&outcome_vectors_doc(&signals, &outcomes)),
    ));
    let mut v2_frames = signal_frames;
    v2_frames.extend(outcomes.iter().map(|g| g.frame.clone()));
    let v2_trailer = outcomes_ledger_trailer(&signals, &outcomes).encode();
    files.push((
        format!("{OUTCOMES_DIR}/{SEGMENT_NAME}"),
        segment_bytes(&header(V2).encode(), &v2_frames, Some(&v2_trailer[..])),
    ));
    files.push((
        format!("{OUTCOMES_DIR}/ledger.toml"),
        ledger_toml_text(V2).into_bytes(),
    ));
    files
}
