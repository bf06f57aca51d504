//! `query` and `aggregate`: the filter flags turned into a query [`Filter`], run on a
//! [`Catalog`], and the results formatted.

use std::io::IsTerminal;

use signal_ledger_engine::atomic::AtomicFile;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::SignalRecord;
use signal_ledger_query::{Catalog, ExportSummary, Query};

use crate::args::{AggregateArgs, ExportArgs, GlobalArgs, QueryArgs, QueryFormat};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// Runs `query`.
pub fn run(global: &GlobalArgs, args: &QueryArgs) -> CliResult<()> {
    let query = Query {
        filter: args.filter.filter(),
        order: args.order,
        limit: args.limit.get(),
        cursor: args.cursor,
    };
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let page = catalog.query(&query)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        QueryFormat::Table
    } else {
        QueryFormat::Ndjson
    });
    let cursor = page.next_cursor.map(|c| c.encode());
    match format {
        QueryFormat::Json => output::println(&output::json(&page)?),
        QueryFormat::Ndjson => {
            let mut text = String::new();
            for r in &page.records {
                text.push_str(&output::json(r)?);
                text.push('\n');
            }
            output::print(&text)?;
            if let Some(c) = cursor {
                output::eprintln(&format!("next_cursor: {c}"));
            }
            Ok(())
        }
        QueryFormat::Csv => {
            let mut bytes = Vec::new();
            signal_ledger_query::write_csv(&page.records, &mut bytes)?;
            output::print(&String::from_utf8_lossy(&bytes))?;
            if let Some(c) = cursor {
                output::eprintln(&format!("next_cursor: {c}"));
            }
            Ok(())
        }
        QueryFormat::Table => {
            output::print(&table(&page.records))?;
            match cursor {
                Some(c) => output::println(&format!("next page: --cursor {c}")),
                None => Ok(()),
            }
        }
    }
}

/// A readable table of the main columns.
fn table(records: &[SignalRecord]) -> String {
    let mut out = format!(
        "{:>9}  {:<30}  {:<18}  {:<9}  {:<7}  {:>10}  {:<9}  {}\n",
        "seq", "timestamp", "source_module", "ticker", "dir", "conviction", "type", "acted"
    );
    for r in records {
        let s = &r.signal;
        out.push_str(&format!(
            "{:>9}  {:<30}  {:<18}  {:<9}  {:<7}  {:>10.4}  {:<9}  {}\n",
            r.seq,
            format_rfc3339_ns(s.timestamp_ns),
            s.source_module,
            s.ticker,
            s.direction.as_str(),
            s.conviction,
            s.signal_type.as_str(),
            match s.acted_upon {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            }
        ));
    }
    out.push_str(&format!("({} records)\n", records.len()));
    out
}

/// Runs `aggregate`.
pub fn aggregate(global: &GlobalArgs, args: &AggregateArgs) -> CliResult<()> {
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let rows = catalog.aggregate(&args.filter.filter(), args.group_by)?;
    let mut text = String::new();
    if args.table {
        text.push_str(&format!(
            "{:<30}  {:>9}  {:>8}  {:>8}  {:>8}  {:>6}\n",
            "key", "count", "min", "max", "avg", "acted"
        ));
        for r in &rows {
            text.push_str(&format!(
                "{:<30}  {:>9}  {:>8.4}  {:>8.4}  {:>8.4}  {:>5.1}%\n",
                r.key,
                r.count,
                r.min_conviction,
                r.max_conviction,
                r.avg_conviction,
                r.acted_upon_rate * 100.0
            ));
        }
    } else {
        for r in &rows {
            text.push_str(&output::json(r)?);
            text.push('\n');
        }
    }
    output::print(&text)
}

/// What `export --out FILE` prints: the summary and the file.
#[derive(serde::Serialize)]
struct Exported {
    #[serde(flatten)]
    summary: ExportSummary,
    out: String,
}

/// Runs `export`: to a temporary file beside `--out`, renamed into place only when complete,
/// so a failed export leaves no partial file; or to standard output.
pub fn export(global: &GlobalArgs, args: &ExportArgs) -> CliResult<()> {
    let filter = args.filter.filter();
    let format = args.format;
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let bar = crate::progress::records(catalog.snapshot().record_count(), "export");
    let progress = |done: u64| bar.set_position(done);
    if args.out == std::path::Path::new("-") {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        catalog
            .export(&filter, format, &mut out, &progress)
            .map_err(|e| match e {
                signal_ledger_query::QueryError::Ledger(
                    signal_ledger_engine::LedgerError::Io { source, .. },
                ) => output::stdout_error(&source),
                other => other.into(),
            })?;
        bar.finish_and_clear();
        return Ok(());
    }
    // Written to `<out>.partial` beside it, then synced and renamed into place (and the
    // directory synced); removed on any failure.
    let mut tmp_name = args.out.as_os_str().to_owned();
    tmp_name.push(".partial");
    let file = AtomicFile::create_as(&args.out, std::path::PathBuf::from(tmp_name))?;
    let tmp = file.temporary().display().to_string();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = catalog
        .export(&filter, format, &mut out, &progress)
        .map_err(CliError::from)
        .and_then(|summary| {
            let file = out
                .into_inner()
                .map_err(|e| CliError::io("write", &tmp, e.error()))?;
            file.commit()?;
            Ok(summary)
        });
    bar.finish_and_clear();
    output::println(&output::json(&Exported {
        summary: written?,
        out: output::path_text(&args.out),
    })?)
}
