//! Export: every record matching a filter, in ledger order, streamed as CSV or NDJSON with all
//! 22 columns (seq, prev_hash and row_hash included, so an export can be checked against the
//! ledger). Memory stays bounded by one segment's matching rows, whatever the ledger's size.

use std::io::Write;

use signal_ledger_engine::record::json::{push_json_str, write_record_json};
use signal_ledger_engine::record::signal::COLUMNS;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::{LedgerError, SignalRecord};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::filter::Filter;
use crate::search::matching_rows;

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row of the column names. Absent values are empty fields;
    /// `parent_signal_ids` is a JSON array and `payload_json` the stored JSON text.
    Csv,
    /// One JSON object per line, as `get` and `tail` print records.
    Ndjson,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportSummary {
    /// Records written.
    pub records: u64,
    /// Seq of the first record written.
    pub first_seq: Option<u64>,
    /// Seq of the last record written.
    pub last_seq: Option<u64>,
}

fn write_error(e: std::io::Error) -> LedgerError {
    LedgerError::io("write", "the export output", e)
}

/// A number as JSON writes it (shortest round-trip form); empty if not finite.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:?}")
    } else {
        String::new()
    }
}

/// Writes one record's CSV fields (in [`COLUMNS`] order) and ends the row.
fn write_csv_row<W: Write>(csv: &mut csv::Writer<W>, r: &SignalRecord) -> csv::Result<()> {
    let s = &r.signal;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut parents = String::from("[");
    for (i, p) in s.parent_signal_ids.iter().enumerate() {
        if i > 0 {
            parents.push(',');
        }
        push_json_str(&mut parents, p);
    }
    parents.push(']');
    let fields: [String; 22] = [
        r.seq.to_string(),
        s.signal_id.clone(),
        s.source_module.clone(),
        opt(&s.source_version),
        s.ticker.clone(),
        s.direction.as_str().to_owned(),
        number(s.conviction),
        s.signal_type.as_str().to_owned(),
        opt(&s.timeframe),
        s.price.map(number).unwrap_or_default(),
        format_rfc3339_ns(s.timestamp_ns),
        format_rfc3339_ns(r.recorded_at_ns),
        s.expires_at_ns.map(format_rfc3339_ns).unwrap_or_default(),
        opt(&s.strategy_id),
        opt(&s.correlation_id),
        parents,
        s.acted_upon.map(|a| a.to_string()).unwrap_or_default(),
        opt(&s.execution_id),
        number(r.latency_ms),
        s.payload_json.clone(),
        r.prev_hash.to_hex(),
        r.row_hash.to_hex(),
    ];
    csv.write_record(&fields)
}

/// Writes `records` as CSV (a header row of the column names, then one row each, as
/// [`ExportFormat::Csv`] does): how a page of results is printed as CSV.
pub fn write_csv(records: &[SignalRecord], out: &mut dyn Write) -> Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COLUMNS).map_err(csv_error)?;
    for record in records {
        write_csv_row(&mut csv, record).map_err(csv_error)?;
    }
    csv.flush().map_err(write_error)?;
    Ok(())
}

impl Catalog {
    /// Writes every record meeting `filter`, in seq order, to `out`; `progress` hears the
    /// number of entries examined so far (of [`Catalog::snapshot`]'s record count).
    pub fn export(
        &self,
        filter: &Filter,
        format: ExportFormat,
        out: &mut dyn Write,
        progress: &dyn Fn(u64),
    ) -> Result<ExportSummary> {
        match format {
            ExportFormat::Csv => {
                let mut csv = csv::WriterBuilder::new()
                    .buffer_capacity(1 << 16)
                    .from_writer(&mut *out);
                csv.write_record(COLUMNS).map_err(csv_error)?;
                let summary = self.for_each_match(filter, progress, &mut |record| {
                    write_csv_row(&mut csv, record).map_err(csv_error)
                })?;
                csv.flush().map_err(write_error)?;
                Ok(summary)
            }
            ExportFormat::Ndjson => {
                let mut line = String::new();
                let summary = self.for_each_match(filter, progress, &mut |record| {
                    write_record_json(record, &mut line);
                    line.push('\n');
                    if line.len() >= 1 << 16 {
                        out.write_all(line.as_bytes()).map_err(write_error)?;
                        line.clear();
                    }
                    Ok(())
                })?;
                out.write_all(line.as_bytes()).map_err(write_error)?;
                out.flush().map_err(write_error)?;
                Ok(summary)
            }
        }
    }

    /// Calls `each` with every record meeting `filter`, in seq order, each decoded and
    /// re-checked; memory is one segment's matching rows.
    fn for_each_match(
        &self,
        filter: &Filter,
        progress: &dyn Fn(u64),
        each: &mut dyn FnMut(&SignalRecord) -> std::result::Result<(), LedgerError>,
    ) -> Result<ExportSummary> {
        let mut summary = ExportSummary::default();
        let mut examined = 0u64;
        for (segment, index) in self.indexes().iter().enumerate() {
            for row in matching_rows(filter, index) {
                let row = row as usize;
                let seq = index.first_seq + row as u64;
                let offset = index.offsets.get(row).copied().unwrap_or_default() as usize;
                let Some(record) = self.snapshot().record_at(segment, offset, seq)? else {
                    continue;
                };
                if !filter.matches(&record.signal) {
                    continue;
                }
                each(&record)?;
                summary.records += 1;
                summary.first_seq.get_or_insert(seq);
                summary.last_seq = Some(seq);
            }
            examined += index.len() as u64;
            progress(examined);
        }
        Ok(summary)
    }
}

fn csv_error(e: csv::Error) -> LedgerError {
    LedgerError::io(
        "write CSV",
        "the export output",
        std::io::Error::other(e.to_string()),
    )
}
