//! `query` and `aggregate`: the filter flags turned into a query [`Filter`], run on a
//! [`Catalog`], and the results formatted.

use std::io::IsTerminal;

use signal_ledger_engine::atomic::AtomicFile;
use signal_ledger_engine::record::json::{push_json_str, write_record_json};
use signal_ledger_engine::timefmt::{format_rfc3339_ns, parse_rfc3339_ns};
use signal_ledger_engine::{Direction, SignalRecord, SignalType};
use signal_ledger_query::{
    Catalog, Cursor, ExportFormat, ExportSummary, Filter, GroupBy, Order, OrderBy, Page, Query,
};

use crate::args::{
    AggregateArgs, ExportArgs, ExportFormatArg, FilterArgs, GlobalArgs, GroupByArg, OrderArg,
    QueryArgs, QueryFormat,
};
use crate::error::{CliError, CliResult};
use crate::output::{self, JsonObject};
use crate::wiring;

fn time_flag(flag: &str, text: &str) -> CliResult<i64> {
    parse_rfc3339_ns(text).map_err(|e| CliError::new(format!("--{flag} {text:?}: {e}")))
}

fn names<T>(
    flag: &str,
    values: &[String],
    parse: fn(&str) -> Option<T>,
    all: &str,
) -> CliResult<Vec<T>> {
    values
        .iter()
        .map(|v| {
            parse(v).ok_or_else(|| CliError::new(format!("--{flag} {v:?} is not one of {all}")))
        })
        .collect()
}

/// The filter the flags describe.
pub fn filter_from(args: &FilterArgs) -> CliResult<Filter> {
    let conviction = |flag: &str, x: Option<f64>| -> CliResult<Option<f64>> {
        match x {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                Err(CliError::new(format!("--{flag} {x} is outside 0..=1")))
            }
            other => Ok(other),
        }
    };
    Ok(Filter {
        sources: args.sources.clone(),
        tickers: args.tickers.clone(),
        from_ns: args
            .from
            .as_deref()
            .map(|t| time_flag("from", t))
            .transpose()?,
        to_ns: args.to.as_deref().map(|t| time_flag("to", t)).transpose()?,
        min_conviction: conviction("min-conviction", args.min_conviction)?,
        max_conviction: conviction("max-conviction", args.max_conviction)?,
        directions: names(
            "direction",
            &args.directions,
            Direction::parse,
            "long, short, neutral",
        )?,
        signal_types: names(
            "type",
            &args.signal_types,
            SignalType::parse,
            "entry, exit, scale_in, scale_out, alert",
        )?,
        timeframes: args.timeframes.clone(),
        strategy_ids: args.strategy_ids.clone(),
        correlation_ids: args.correlation_ids.clone(),
        acted_upon: args.acted_upon,
        has_execution_id: args.has_execution_id,
    })
}

fn order_from(arg: OrderArg) -> Order {
    let (by, descending) = match arg {
        OrderArg::TimestampDesc => (OrderBy::Timestamp, true),
        OrderArg::TimestampAsc => (OrderBy::Timestamp, false),
        OrderArg::SeqAsc => (OrderBy::Seq, false),
        OrderArg::SeqDesc => (OrderBy::Seq, true),
    };
    Order { by, descending }
}

/// Runs `query`.
pub fn run(global: &GlobalArgs, args: &QueryArgs) -> CliResult<()> {
    let query = Query {
        filter: filter_from(&args.filter)?,
        order: order_from(args.order),
        limit: args.limit,
        cursor: args.cursor.as_deref().map(Cursor::decode).transpose()?,
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
        QueryFormat::Json => output::println(&page_json(&page)),
        QueryFormat::Ndjson => {
            let mut text = String::new();
            for r in &page.records {
                write_record_json(r, &mut text);
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

/// `{"records":[...],"next_cursor":"…"|null}`.
fn page_json(page: &Page) -> String {
    let mut out = String::from("{\"records\":[");
    for (i, r) in page.records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_record_json(r, &mut out);
    }
    out.push_str("],\"next_cursor\":");
    match &page.next_cursor {
        Some(c) => push_json_str(&mut out, &c.encode()),
        None => out.push_str("null"),
    }
    out.push('}');
    out
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

fn group_from(arg: GroupByArg) -> GroupBy {
    match arg {
        GroupByArg::Source => GroupBy::Source,
        GroupByArg::Ticker => GroupBy::Ticker,
        GroupByArg::Direction => GroupBy::Direction,
        GroupByArg::Type => GroupBy::SignalType,
        GroupByArg::Minute => GroupBy::Minute,
        GroupByArg::Hour => GroupBy::Hour,
        GroupByArg::Day => GroupBy::Day,
    }
}

/// Runs `aggregate`.
pub fn aggregate(global: &GlobalArgs, args: &AggregateArgs) -> CliResult<()> {
    let filter = filter_from(&args.filter)?;
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let rows = catalog.aggregate(&filter, args.group_by.map(group_from))?;
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
            text.push_str(&r.to_json());
            text.push('\n');
        }
    }
    output::print(&text)
}

/// `{"records":N,"first_seq":A,"last_seq":B,"out":"<file>"}`.
fn export_json(summary: &ExportSummary, out: &std::path::Path) -> String {
    JsonObject::new()
        .u64("records", summary.records)
        .opt_u64("first_seq", summary.first_seq)
        .opt_u64("last_seq", summary.last_seq)
        .str("out", &output::path_text(out))
        .finish()
}

/// Runs `export`: to a temporary file beside `--out`, renamed into place only when complete,
/// so a failed export leaves no partial file; or to standard output.
pub fn export(global: &GlobalArgs, args: &ExportArgs) -> CliResult<()> {
    let filter = filter_from(&args.filter)?;
    let format = match args.format {
        ExportFormatArg::Csv => ExportFormat::Csv,
        ExportFormatArg::Ndjson => ExportFormat::Ndjson,
    };
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
    output::println(&export_json(&written?, &args.out))
}
