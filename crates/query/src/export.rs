//! Export: every record matching a filter, in ledger order, streamed as CSV or NDJSON with all
//! 22 columns (seq, prev_hash and row_hash included, so an export can be checked against the
//! ledger). Beyond the segment indexes (loaded once, as for any query), memory is one segment's
//! matching row numbers and a few chunks of output, however many records are exported.

use std::io::Write;

use rayon::prelude::*;
use signal_ledger_engine::index::SegmentIndex;
use signal_ledger_engine::record::json::write_view_json;
use signal_ledger_engine::{LedgerError, SignalRecord};

use crate::catalog::Catalog;
use crate::csv_row::{push_csv_header, push_csv_row};
use crate::error::Result;
use crate::filter::Filter;
use crate::planner::matching_rows;

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row of the column names. Absent values are empty fields;
    /// `parent_signal_ids` is a JSON array and `payload_json` the stored JSON text.
    Csv,
    /// One JSON object per line, as `get` and `tail` print records.
    Ndjson,
}

/// What an export wrote: `{"records","first_seq","last_seq"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
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

/// Writes `records` as CSV (a header row of the column names, then one row each, as
/// [`ExportFormat::Csv`] does): how a page of results is printed as CSV.
pub fn write_csv(records: &[SignalRecord], out: &mut dyn Write) -> Result<()> {
    let mut text = String::with_capacity(512 * (records.len() + 1));
    push_csv_header(&mut text);
    let mut scratch = String::new();
    for record in records {
        push_csv_row(&mut text, &record.as_view(), &mut scratch);
    }
    out.write_all(text.as_bytes()).map_err(write_error)?;
    out.flush().map_err(write_error)?;
    Ok(())
}

/// A chunk of an export, formatted in each output's format.
#[derive(Default)]
struct Formatted {
    bytes: Vec<Vec<u8>>,
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

/// One output of [`Catalog::export_each`]: a format and where it goes.
pub struct ExportOutput<'a> {
    /// How the records are written.
    pub format: ExportFormat,
    /// Where.
    pub out: &'a mut dyn Write,
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
        self.export_each(filter, &mut [ExportOutput { format, out }], progress)
    }

    /// [`Catalog::export`] to several outputs at once: each record is decoded and re-checked
    /// once and written to every output in its format.
    ///
    /// Chunks of matching rows are decoded, re-checked and formatted in parallel (rayon) and
    /// written in order; beyond the indexes, memory is one segment's matching row numbers plus
    /// a few chunks of output per thread and output.
    pub fn export_each(
        &self,
        filter: &Filter,
        outputs: &mut [ExportOutput<'_>],
        progress: &dyn Fn(u64),
    ) -> Result<ExportSummary> {
        for output in outputs.iter_mut() {
            if output.format == ExportFormat::Csv {
                let mut header = String::new();
                push_csv_header(&mut header);
                output
                    .out
                    .write_all(header.as_bytes())
                    .map_err(write_error)?;
            }
        }
        let formats: Vec<ExportFormat> = outputs.iter().map(|o| o.format).collect();
        let indexes = self.indexes_meeting(filter)?;
        let skipped: u64 = self.snapshot().record_count()
            - indexes
                .iter()
                .map(|(_, index)| index.len() as u64)
                .sum::<u64>();
        progress(skipped);
        let window = CHUNK_ROWS * 2 * rayon::current_num_threads().max(1);
        // Formatting (a producer thread driving rayon) runs ahead of writing (this thread) by
        // at most a few windows, so the two overlap: writing is a large share of the cost.
        let (sender, pieces) = std::sync::mpsc::sync_channel::<Piece>(2);
        std::thread::scope(|scope| {
            let formats = &formats;
            scope.spawn(move || {
                for (segment, index) in indexes {
                    let rows = matching_rows(filter, index);
                    for group in rows.chunks(window) {
                        let parts = group
                            .par_chunks(CHUNK_ROWS)
                            .map(|chunk| self.format_rows(segment, index, chunk, filter, formats))
                            .collect();
                        if sender.send(Piece::Parts(parts)).is_err() {
                            return; // the writer failed and left
                        }
                    }
                    if sender.send(Piece::Examined(index.len() as u64)).is_err() {
                        return;
                    }
                }
            });
            let written = write_pieces(&pieces, outputs, &|examined| progress(skipped + examined));
            // On failure this ends the producer at its next piece.
            drop(pieces);
            written
        })
    }

    /// Decodes the entries at `rows` of segment `segment`, keeps those that really meet
    /// `filter`, and formats them in each of `formats`.
    fn format_rows(
        &self,
        segment: usize,
        index: &SegmentIndex,
        rows: &[u32],
        filter: &Filter,
        formats: &[ExportFormat],
    ) -> Result<Formatted> {
        let mut summary = ExportSummary::default();
        let mut csv_out = formats
            .contains(&ExportFormat::Csv)
            .then(|| String::with_capacity(rows.len() * 512));
        let mut ndjson_out = formats
            .contains(&ExportFormat::Ndjson)
            .then(|| String::with_capacity(rows.len() * 640));
        let mut scratch = String::new();
        for &row in rows {
            let seq = index.first_seq + u64::from(row);
            let offset = index.offsets.get(row as usize).copied().unwrap_or_default() as usize;
            let Some(view) = self.snapshot().view_at(segment, offset, seq)? else {
                continue; // the index placed it wrongly: skipped, never exported wrong
            };
            let view = self.with_outcome(view)?;
            if !filter.matches_view(&view) {
                continue;
            }
            if let Some(csv) = csv_out.as_mut() {
                push_csv_row(csv, &view, &mut scratch);
            }
            if let Some(text) = ndjson_out.as_mut() {
                write_view_json(&view, text);
                text.push('\n');
            }
            summary.add(view.seq);
        }
        let csv_bytes = csv_out.map(String::into_bytes).unwrap_or_default();
        let mut made = [
            (ExportFormat::Csv, csv_bytes),
            (
                ExportFormat::Ndjson,
                ndjson_out.map(String::into_bytes).unwrap_or_default(),
            ),
        ];
        // Each output's bytes (a format asked for twice gets a copy).
        let bytes = formats
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let again = formats.get(i + 1..).is_some_and(|rest| rest.contains(f));
                let slot = made.iter_mut().find(|(g, _)| g == f).map(|(_, b)| b);
                match (slot, again) {
                    (Some(b), true) => b.clone(),
                    (Some(b), false) => std::mem::take(b),
                    (None, _) => Vec::new(),
                }
            })
            .collect();
        Ok(Formatted { bytes, summary })
    }
}

/// What the formatting side of an export hands the writing side.
enum Piece {
    /// The formatted chunks of a window of matching rows, in order.
    Parts(Vec<Result<Formatted>>),
    /// Entries of one more segment examined.
    Examined(u64),
}

/// Writes the pieces as they come, in order, to every output; the summary of what was written.
fn write_pieces(
    pieces: &std::sync::mpsc::Receiver<Piece>,
    outputs: &mut [ExportOutput<'_>],
    progress: &dyn Fn(u64),
) -> Result<ExportSummary> {
    let mut summary = ExportSummary::default();
    let mut examined = 0u64;
    for piece in pieces {
        match piece {
            Piece::Parts(parts) => {
                for part in parts {
                    let part = part?;
                    for (output, bytes) in outputs.iter_mut().zip(&part.bytes) {
                        output.out.write_all(bytes).map_err(write_error)?;
                    }
                    summary.extend(&part.summary);
                }
            }
            Piece::Examined(n) => {
                examined += n;
                progress(examined);
            }
        }
    }
    for output in outputs.iter_mut() {
        output.out.flush().map_err(write_error)?;
    }
    Ok(summary)
}
