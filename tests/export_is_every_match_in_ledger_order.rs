//! An export holds exactly the records a brute-force scan finds, in ledger order, however the
//! work was split: enough records over enough segments that the parallel formatter splits them
//! into many chunks and several windows of chunks. The CSV rows are the page formatter's rows
//! (`write_csv`), byte for byte; the NDJSON lines are the records as `write_record_json` prints
//! them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod query_support;
mod support;

use query_support::*;
use signal_ledger::engine::record::json::write_record_json;
use signal_ledger::engine::{Direction, Ledger};
use signal_ledger::query::{write_csv, Catalog, ExportFormat, Filter};
use support::*;

fn export(catalog: &Catalog, filter: &Filter, format: ExportFormat) -> (Vec<u8>, u64, u64) {
    let mut out = Vec::new();
    let examined = std::cell::Cell::new(0);
    let summary = catalog
        .export(filter, format, &mut out, &|n| examined.set(n))
        .unwrap();
    (out, summary.records, examined.get())
}

#[test]
fn exports_split_across_chunks_and_segments_keep_ledger_order() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, small_segments(2 * 1024 * 1024)).unwrap();
    for chunk in scrambled_signals(30_000, 5).chunks(5_000) {
        ledger.append(chunk).unwrap();
    }
    drop(ledger);
    let catalog = Catalog::open(&path).unwrap();
    assert!(catalog.snapshot().segments().len() >= 4, "several segments");
    let records = all_records(catalog.snapshot());

    let filters = [
        Filter::default(),
        Filter {
            directions: vec![Direction::Short],
            min_conviction: Some(0.3),
            ..Filter::default()
        },
        Filter {
            tickers: vec!["NOPE".to_owned()],
            ..Filter::default()
        },
    ];
    for filter in &filters {
        let want: Vec<_> = records
            .iter()
            .filter(|r| reference_matches(filter, &r.signal))
            .cloned()
            .collect();

        let (ndjson, count, examined) = export(&catalog, filter, ExportFormat::Ndjson);
        assert_eq!(count, want.len() as u64);
        assert_eq!(
            examined,
            records.len() as u64,
            "progress reaches every entry"
        );
        let mut expected = String::new();
        for r in &want {
            write_record_json(r, &mut expected);
            expected.push('\n');
        }
        assert!(
            String::from_utf8(ndjson).unwrap() == expected,
            "NDJSON: the matching records, in ledger order"
        );

        let (csv, count, _) = export(&catalog, filter, ExportFormat::Csv);
        assert_eq!(count, want.len() as u64);
        let mut expected = Vec::new();
        write_csv(&want, &mut expected).unwrap();
        assert!(
            csv == expected,
            "CSV: the header, then the same rows in ledger order"
        );
    }
}
