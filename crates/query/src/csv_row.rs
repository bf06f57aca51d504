//! The CSV form of a record: RFC 4180, the 22 [`COLUMNS`] in order, `\n` after each row, a
//! field quoted only when it holds a comma, a double quote or a line break (a quote inside is
//! doubled) — what the `csv` crate writes by default, formatted straight into a buffer.

use std::fmt::Write as _;

use signal_ledger_engine::record::codec::SignalView;
use signal_ledger_engine::record::json::push_json_str;
use signal_ledger_engine::record::signal::COLUMNS;
use signal_ledger_engine::timefmt::push_rfc3339_ns;
use signal_ledger_engine::Hash;

/// Appends the header row: the column names.
pub(crate) fn push_csv_header(out: &mut String) {
    for (i, name) in COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, name);
    }
    out.push('\n');
}

/// Appends `text` as one field, quoted if it must be.
fn push_field(out: &mut String, text: &str) {
    if !text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push_str(text);
        return;
    }
    out.push('"');
    let mut rest = text;
    while let Some(at) = rest.find('"') {
        let (before, after) = rest.split_at(at + 1);
        out.push_str(before);
        out.push('"');
        rest = after;
    }
    out.push_str(rest);
    out.push('"');
}

/// A number as Rust's shortest round-trip form (empty if not finite).
fn push_number(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v:?}");
    }
}

/// A hash as 64 lowercase hex digits.
fn push_hash(out: &mut String, h: &Hash) {
    let mut buf = [0u8; 64];
    if hex::encode_to_slice(h.0, &mut buf).is_ok() {
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }
}

/// Appends one record's row. Fields that are formatted (numbers, times, hashes) never need
/// quotes; `parent_signal_ids` (a JSON array) and the texts are quoted when they must be.
pub(crate) fn push_csv_row(out: &mut String, r: &SignalView<'_>, scratch: &mut String) {
    let _ = write!(out, "{},", r.seq);
    for text in [
        r.signal_id,
        r.source_module,
        r.source_version.unwrap_or_default(),
        r.ticker,
        r.direction.as_str(),
    ] {
        push_field(out, text);
        out.push(',');
    }
    push_number(out, r.conviction);
    out.push(',');
    push_field(out, r.signal_type.as_str());
    out.push(',');
    push_field(out, r.timeframe.unwrap_or_default());
    out.push(',');
    if let Some(p) = r.price {
        push_number(out, p);
    }
    out.push(',');
    push_rfc3339_ns(out, r.timestamp_ns);
    out.push(',');
    push_rfc3339_ns(out, r.recorded_at_ns);
    out.push(',');
    if let Some(ns) = r.expires_at_ns {
        push_rfc3339_ns(out, ns);
    }
    out.push(',');
    push_field(out, r.strategy_id.unwrap_or_default());
    out.push(',');
    push_field(out, r.correlation_id.unwrap_or_default());
    out.push(',');
    scratch.clear();
    scratch.push('[');
    for (i, p) in r.parent_signal_ids.iter().enumerate() {
        if i > 0 {
            scratch.push(',');
        }
        push_json_str(scratch, p);
    }
    scratch.push(']');
    push_field(out, scratch);
    out.push(',');
    out.push_str(match r.acted_upon {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    });
    out.push(',');
    push_field(out, r.execution_id.unwrap_or_default());
    out.push(',');
    push_number(out, r.latency_ms);
    out.push(',');
    push_field(out, r.payload_json);
    out.push(',');
    push_hash(out, &r.prev_hash);
    out.push(',');
    push_hash(out, &r.row_hash);
    out.push('\n');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use signal_ledger_demo::{DemoConfig, DemoGenerator};
    use signal_ledger_engine::{Ledger, PersistenceConfig, Snapshot};

    /// The rows the `csv` crate writes for the same fields, as the reference.
    fn by_the_csv_crate(r: &SignalView<'_>) -> String {
        let mut row = String::new();
        push_csv_row(&mut row, r, &mut String::new());
        // Re-split our row with the csv reader and re-write it with the csv writer: equal
        // fields and equal bytes, or the quoting differs.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.len(), COLUMNS.len());
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&record).unwrap();
        String::from_utf8(writer.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn rows_are_what_the_csv_crate_writes_and_read_back_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("l");
        let mut signals: Vec<_> = DemoGenerator::new(&DemoConfig {
            count: 500,
            ..DemoConfig::default()
        })
        .collect();
        signals[0].strategy_id = Some("a,\"quoted\"".to_owned());
        signals[1].payload_json = "{\"text\":\n\"x, \\\"y\\\"\"}".to_owned();
        signals[2].source_version = None;
        let mut ledger = Ledger::create(&path, PersistenceConfig::default()).unwrap();
        ledger.append(&signals).unwrap();
        drop(ledger);
        let snapshot = Snapshot::open(&path).unwrap();
        let mut header = String::new();
        push_csv_header(&mut header);
        assert_eq!(header, format!("{}\n", COLUMNS.join(",")));
        let mut rows = Vec::new();
        for entry in snapshot.entries() {
            let record = snapshot.decode_record(&entry.unwrap()).unwrap();
            let view = record.as_view();
            let mut ours = String::new();
            push_csv_row(&mut ours, &view, &mut String::new());
            assert_eq!(ours, by_the_csv_crate(&view), "seq {}", record.seq);
            rows.push(ours);
        }
        // The edge cases were really there: a doubled quote, a line break inside a field.
        assert!(rows[0].contains(r#""a,""quoted""""#), "{}", rows[0]);
        assert!(rows[1].trim_end().contains('\n'), "{}", rows[1]);
    }
}
