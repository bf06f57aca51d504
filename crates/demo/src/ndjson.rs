//! One signal as one line of the ledger's NDJSON input.

use signal_ledger_engine::Signal;

use crate::text::{push_f64, push_json_str, push_rfc3339_ns};

/// Appends `signal` to `out` as one line of the ledger's NDJSON input format, `\n` included.
///
/// Fields, in order: `signal_id, source_module, source_version, ticker, direction, conviction,
/// signal_type, timeframe, price, timestamp, expires_at, strategy_id, correlation_id,
/// parent_signal_ids, acted_upon, execution_id, payload_json`. Absent optionals (`None`, an empty
/// `parent_signal_ids`, an empty `signal_id` meaning "assign on append") are omitted.
/// `timestamp` and `expires_at` are RFC 3339 UTC strings with nine fractional digits
/// (`2026-10-05T14:30:00.123456789Z`); numbers are written so they parse back exactly, without
/// exponents;
/// `payload_json` is embedded as the raw JSON value (not a string), byte for byte apart from
/// surrounding JSON whitespace.
///
/// The signal should pass [`Signal::validate`]; otherwise the line is still well-formed where
/// possible: a non-finite number is written as `null`, an empty payload as `null`, and line breaks
/// inside the payload (JSON whitespace) become spaces so the record stays on one line.
pub fn write_ndjson_line(signal: &Signal, out: &mut String) {
    out.reserve(512);
    let mut first = true;
    let mut key = |out: &mut String, name: &str| {
        out.push_str(if first { "{\"" } else { ",\"" });
        first = false;
        out.push_str(name);
        out.push_str("\":");
    };
    if !signal.signal_id.is_empty() {
        key(out, "signal_id");
        push_json_str(out, &signal.signal_id);
    }
    key(out, "source_module");
    push_json_str(out, &signal.source_module);
    if let Some(v) = &signal.source_version {
        key(out, "source_version");
        push_json_str(out, v);
    }
    key(out, "ticker");
    push_json_str(out, &signal.ticker);
    key(out, "direction");
    push_json_str(out, signal.direction.as_str());
    key(out, "conviction");
    push_f64(out, signal.conviction);
    key(out, "signal_type");
    push_json_str(out, signal.signal_type.as_str());
    if let Some(v) = &signal.timeframe {
        key(out, "timeframe");
        push_json_str(out, v);
    }
    if let Some(v) = signal.price {
        key(out, "price");
        push_f64(out, v);
    }
    key(out, "timestamp");
    out.push('"');
    push_rfc3339_ns(out, signal.timestamp_ns);
    out.push('"');
    if let Some(v) = signal.expires_at_ns {
        key(out, "expires_at");
        out.push('"');
        push_rfc3339_ns(out, v);
        out.push('"');
    }
    if let Some(v) = &signal.strategy_id {
        key(out, "strategy_id");
        push_json_str(out, v);
    }
    if let Some(v) = &signal.correlation_id {
        key(out, "correlation_id");
        push_json_str(out, v);
    }
    if !signal.parent_signal_ids.is_empty() {
        key(out, "parent_signal_ids");
        for (i, parent) in signal.parent_signal_ids.iter().enumerate() {
            out.push(if i == 0 { '[' } else { ',' });
            push_json_str(out, parent);
        }
        out.push(']');
    }
    if let Some(v) = signal.acted_upon {
        key(out, "acted_upon");
        out.push_str(if v { "true" } else { "false" });
    }
    if let Some(v) = &signal.execution_id {
        key(out, "execution_id");
        push_json_str(out, v);
    }
    key(out, "payload_json");
    let payload = signal
        .payload_json
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if payload.is_empty() {
        out.push_str("null");
    } else if payload.bytes().any(|b| b == b'\n' || b == b'\r') {
        out.extend(
            payload
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
    } else {
        out.push_str(payload);
    }
    out.push_str("}\n");
}
