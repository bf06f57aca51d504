//! Export: every record matching a filter, in ledger order, streamed as CSV or NDJSON with all
//! 22 columns (seq, prev_hash and row_hash included, so an export can be checked against the
//! ledger). Beyond the segment indexes (loaded once, as for any query), memory is one segment's
//! matching row numbers and a few chunks of output, however many records are exported.

use std::fmt::Write as _;
use std::io::Write;

use rayon::prelude::*;
use signal_ledger_engine::index::SegmentIndex;
use signal_ledger_engine::record::codec::SignalView;
use signal_ledger_engine::record::json::{push_json_str, write_view_json};
use signal_ledger_engine::record::signal::COLUMNS;
use signal_ledger_engine::timefmt::push_rfc3339_ns;
use signal_ledger_engine::{Hash, LedgerError, SignalRecord};

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

/// Matching rows formatted together by one thread.
const CHUNK_ROWS: usize = 2048;

/// Writes one record's CSV fields (in [`COLUMNS`] order) and ends the row; `scratch` is reused
/// for the fields that are formatted (numbers, times, parents, hashes).
fn write_csv_row<W: Write>(
    csv: &mut csv::Writer<W>,
    r: &SignalView<'_>,
    scratch: &mut String,
) -> csv::Result<()> {
    let mut formatted = |csv: &mut csv::Writer<W>, f: &dyn Fn(&mut String)| {
        scratch.clear();
        f(scratch);
        csv.write_field(scratch.as_bytes())
    };
    let number = |out: &mut String, v: f64| {
        if v.is_finite() {
            let _ = write!(out, "{v:?}");
        }
    };
    let hex = |out: &mut String, h: &Hash| {
        let mut buf = [0u8; 64];
        if hex::encode_to_slice(h.0, &mut buf).is_ok() {
            out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
        }
    };
    formatted(csv, &|o| {
        let _ = write!(o, "{}", r.seq);
    })?;
    csv.write_field(r.signal_id)?;
    csv.write_field(r.source_module)?;
    csv.write_field(r.source_version.unwrap_or_default())?;
    csv.write_field(r.ticker)?;
    csv.write_field(r.direction.as_str())?;
    formatted(csv, &|o| number(o, r.conviction))?;
    csv.write_field(r.signal_type.as_str())?;
    csv.write_field(r.timeframe.unwrap_or_default())?;
    formatted(csv, &|o| {
        if let Some(p) = r.price {
            number(o, p);
        }
    })?;
    formatted(csv, &|o| push_rfc3339_ns(o, r.timestamp_ns))?;
    formatted(csv, &|o| push_rfc3339_ns(o, r.recorded_at_ns))?;
    formatted(csv, &|o| {
        if let Some(ns) = r.expires_at_ns {
            push_rfc3339_ns(o, ns);
        }
    })?;
    csv.write_field(r.strategy_id.unwrap_or_default())?;
    csv.write_field(r.correlation_id.unwrap_or_default())?;
    formatted(csv, &|o| {
        o.push('[');
        for (i, p) in r.parent_signal_ids.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            push_json_str(o, p);
        }
        o.push(']');
    })?;
    csv.write_field(match r.acted_upon {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    })?;
    csv.write_field(r.execution_id.unwrap_or_default())?;
    formatted(csv, &|o| number(o, r.latency_ms))?;
    csv.write_field(r.payload_json)?;
    formatted(csv, &|o| hex(o, &r.prev_hash))?;
    formatted(csv, &|o| hex(o, &r.row_hash))?;
    csv.write_record(None::<&[u8]>)
}

/// Writes `records` as CSV (a header row of the column names, then one row each, as
/// [`ExportFormat::Csv`] does): how a page of results is printed as CSV.
pub fn write_csv(records: &[SignalRecord], out: &mut dyn Write) -> Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COLUMNS).map_err(csv_error)?;
    let mut scratch = String::new();
    for record in records {
        write_csv_row(&mut csv, &record.as_view(), &mut scratch).map_err(csv_error)?;
    }
    csv.flush().map_err(write_error)?;
    Ok(())
}

/// A chunk of an export, formatted.
#[derive(Default)]
struct Formatted {
    bytes: Vec<u8>,
    summary: ExportSummary,
}

impl ExportSummary {
    fn add(&mut self, seq: u64) {
        self.records += 1;
        self.first_seq.get_or_insert(seq);
        self.last_seq = Some(seq);
    }

    fn extend(&mut self, later: &ExportSummary) {
        self.records += later.records;
        if self.first_seq.is_none() {
            self.first_seq = later.first_seq;
        }
        if later.last_seq.is_some() {
            self.last_seq = later.last_seq;
        }
    }
}

impl Catalog {
    /// Writes every record meeting `filter`, in seq order, to `out`; `progress` hears the
    /// number of entries examined so far (of [`Catalog::snapshot`]'s record count).
    ///
    /// Chunks of matching rows are decoded, re-checked and formatted in parallel (rayon) and
    /// written in order; beyond the indexes, memory is one segment's matching row numbers plus
    /// a few chunks of output per thread.
    pub fn export(
        &self,
        filter: &Filter,
        format: ExportFormat,
        out: &mut dyn Write,
        progress: &dyn Fn(u64),
    ) -> Result<ExportSummary> {
        if format == ExportFormat::Csv {
            let mut header = csv::Writer::from_writer(&mut *out);
            header.write_record(COLUMNS).map_err(csv_error)?;
            header.flush().map_err(write_error)?;
        }
        let window = CHUNK_ROWS * 2 * rayon::current_num_threads().max(1);
        let mut summary = ExportSummary::default();
        let mut examined = 0u64;
        for (segment, index) in self.indexes()?.into_iter().enumerate() {
            let rows = matching_rows(filter, index);
            for group in rows.chunks(window) {
                let parts: Vec<Result<Formatted>> = group
                    .par_chunks(CHUNK_ROWS)
                    .map(|chunk| self.format_rows(segment, index, chunk, filter, format))
                    .collect();
                for part in parts {
                    let part = part?;
                    out.write_all(&part.bytes).map_err(write_error)?;
                    summary.extend(&part.summary);
                }
            }
            examined += index.len() as u64;
            progress(examined);
        }
        out.flush().map_err(write_error)?;
        Ok(summary)
    }

    /// Decodes the entries at `rows` of segment `segment`, keeps those that really meet
    /// `filter`, and formats them.
    fn format_rows(
        &self,
        segment: usize,
        index: &SegmentIndex,
        rows: &[u32],
        filter: &Filter,
        format: ExportFormat,
    ) -> Result<Formatted> {
        let mut summary = ExportSummary::default();
        let mut views = rows.iter().filter_map(|&row| {
            let seq = index.first_seq + u64::from(row);
            let offset = index.offsets.get(row as usize).copied().unwrap_or_default() as usize;
            let view = match self.snapshot().view_at(segment, offset, seq) {
                Ok(Some(view)) => self.with_outcome(view),
                Ok(None) => return None,
                Err(e) => return Some(Err(e.into())),
            };
            match view {
                Ok(view) if filter.matches_view(&view) => Some(Ok(view)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        });
        let bytes = match format {
            ExportFormat::Csv => {
                let mut csv = csv::WriterBuilder::new()
                    .buffer_capacity(1 << 16)
                    .from_writer(Vec::with_capacity(rows.len() * 512));
                let mut scratch = String::new();
                for view in views.by_ref() {
                    let view = view?;
                    write_csv_row(&mut csv, &view, &mut scratch).map_err(csv_error)?;
                    summary.add(view.seq);
                }
                csv.into_inner()
                    .map_err(|e| write_error(std::io::Error::other(e.to_string())))?
            }
            ExportFormat::Ndjson => {
                let mut text = String::with_capacity(rows.len() * 640);
                for view in views.by_ref() {
                    let view = view?;
                    write_view_json(&view, &mut text);
                    text.push('\n');
                    summary.add(view.seq);
                }
                text.into_bytes()
            }
        };
        Ok(Formatted { bytes, summary })
    }
}

fn csv_error(e: csv::Error) -> LedgerError {
    LedgerError::io(
        "write CSV",
        "the export output",
        std::io::Error::other(e.to_string()),
    )
}
