//! `demo`: the first command a new user runs. Builds a ledger of realistic signals through the
//! same code paths as `init`, `generate`, `ingest`, `verify`, `stats`, `digest`, `tail`, `query`
//! and `lineage`, and prints each step, ending with commands to try next and how to open the
//! dashboard (`serve`) on the demo ledger.
//!
//! The signals are dated as a live producer's would be (`LiveDemo`): the generated window
//! (30 days) ends at the moment the demo starts and the newest signal is moved onto it, so the
//! newest records show the latency of the seconds the demo takes, not weeks. Step 2 prints that
//! moment: `LiveDemo::ending_at` with it gives the same signals again.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::CommandFactory as _;

use signal_ledger_demo::{write_ndjson_line, DemoConfig, LiveDemo};
use signal_ledger_engine::record::EntryRecord;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::SignalRecord;
use signal_ledger_query::{Catalog, Filter, LineageLimits, Order, OrderBy, Query};

use crate::args::{Cli, DemoArgs, GlobalArgs};
use crate::commands::{generate, ingest, init, inspect, verify};
use crate::error::{CliError, CliResult};
use crate::output::{self, shell_quote};
use crate::wiring;

/// Prefix of the directory made under the system temp dir when `--dir` is not given.
pub const TEMP_PREFIX: &str = "signal-ledger-demo-";

fn secs(since: Instant) -> String {
    format!("{:.2} s", since.elapsed().as_secs_f64())
}

/// Now, in ns since the Unix epoch (the epoch itself for a clock set before it).
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The address `serve` listens on when given no `--addr`, as its argument parser says.
fn serve_default_addr() -> Option<String> {
    let command = Cli::command();
    let addr = command
        .find_subcommand("serve")?
        .get_arguments()
        .find(|a| a.get_id() == "addr")?
        .get_default_values()
        .first()?
        .to_string_lossy()
        .into_owned();
    Some(addr)
}

fn demo_dir(args: &DemoArgs) -> CliResult<PathBuf> {
    match &args.dir {
        Some(dir) => Ok(dir.clone()),
        None => tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .map(tempfile::TempDir::keep)
            .map_err(|e| CliError::io("create a directory in", std::env::temp_dir().display(), &e)),
    }
}

/// Runs `demo` and returns the exit code (1 if the fresh ledger did not verify).
pub fn run(global: &GlobalArgs, args: &DemoArgs) -> CliResult<u8> {
    let dir = wiring::absolute(&demo_dir(args)?);
    let shown = shell_quote(&output::path_text(&dir));
    output::println(&format!("signal-ledger demo in {}", dir.display()))?;

    let mut ledger = init::create(&dir, global)?;
    output::println(&format!("1. init      {}", init::created_json(&dir)?))?;

    let started = Instant::now();
    // The demo generator's signals for --count and --seed (as `generate` writes them, but over
    // the 30 days up to now), the newest moved onto this moment, as a live producer's.
    let defaults = DemoConfig::default();
    let config = generate::demo_config(&args.data, defaults.tickers, defaults.days);
    let now = now_ns();
    let live = LiveDemo::ending_at(&config, now);
    let mut text = String::new();
    for signal in live.signals() {
        write_ndjson_line(&signal, &mut text);
    }
    let ndjson = text.into_bytes();
    output::println(&format!(
        "2. generate  {} demo signals (seed {}, {} days up to {}), {:.1} MB of NDJSON in {}",
        args.data.count,
        args.data.seed,
        config.days,
        format_rfc3339_ns(now),
        ndjson.len() as f64 / 1e6,
        secs(started)
    ))?;

    let started = Instant::now();
    let outcome = ingest::ingest_bytes(&mut ledger, &ndjson, &ingest::IngestOptions::default())?;
    drop(ndjson);
    drop(ledger);
    output::println(&format!(
        "3. ingest    {} in {} (one atomic append)",
        outcome.to_json()?,
        secs(started)
    ))?;

    let verdict = verify::verify_dir(&dir)?;
    output::println(&format!("4. verify    {verdict}"))?;

    let mut stats = inspect::stats_of(&dir, global)?;
    stats.sink = None;
    output::println(&format!("5. stats     {}", output::json(&stats)?))?;
    let snapshot = wiring::open_snapshot(&dir)?;
    if snapshot.record_count() == 0 {
        output::println("6. digest    (none: the ledger is empty)")?;
    } else {
        let digest = inspect::head_digest(&snapshot)?.to_json();
        output::println(&format!(
            "6. digest    {digest}\n            (keep it elsewhere: `verify --against` proves later that nothing up to it was rewritten)"
        ))?;
        output::println("7. the last 3 records:")?;
        let tail = inspect::tail_lines(&snapshot, 3)?;
        output::println(tail.trim_end_matches('\n'))?;
        let catalog = Catalog::from_snapshot(snapshot);
        let (newest, derived) = show_query_and_lineage(&catalog)?;
        output::println(&format!(
            "try: signal-ledger --ledger {shown} verify --against {}",
            shell_quote(&digest)
        ))?;
        if let Some(record) = newest {
            output::println(&format!(
                "try: signal-ledger --ledger {shown} query --ticker {} --limit 10",
                shell_quote(&record.signal.ticker)
            ))?;
            let id = shell_quote(&record.signal.signal_id);
            output::println(&format!(
                "try: signal-ledger --ledger {shown} outcome {id} --acted --execution-id ex-1 \
                 && signal-ledger --ledger {shown} get --signal-id {id} --outcomes"
            ))?;
        }
        if let Some(id) = derived {
            output::println(&format!(
                "try: signal-ledger --ledger {shown} lineage {}",
                shell_quote(&id)
            ))?;
        }
        output::println(&format!(
            "try: signal-ledger --ledger {shown} aggregate --group-by source --table"
        ))?;
        output::println(&format!(
            "try: signal-ledger --ledger {shown} export --format csv --out signals.csv"
        ))?;
    }
    output::println(&format!("try: signal-ledger --ledger {shown} tail -n 5"))?;
    output::println(&format!("dashboard: signal-ledger --ledger {shown} serve"))?;
    if let Some(addr) = serve_default_addr() {
        output::println(&format!(
            "           then open http://{addr}/ (signals, audit ledger, integrity checks, exports); Ctrl-C stops it"
        ))?;
    }
    Ok(verify::exit_code(&verdict))
}

/// One line about a record: seq, time, source, ticker, direction, conviction.
fn brief(record: &SignalRecord) -> String {
    let s = &record.signal;
    format!(
        "seq {}  {}  {} {} {} {:.2}",
        record.seq,
        format_rfc3339_ns(s.timestamp_ns),
        s.source_module,
        s.ticker,
        s.direction,
        s.conviction
    )
}

/// Steps 8 and 9: the newest signals of the newest signal's ticker, through the indexes, and
/// the lineage of the newest signal that names parents. Returns the newest signal and the id
/// of the one whose lineage was shown.
fn show_query_and_lineage(catalog: &Catalog) -> CliResult<(Option<SignalRecord>, Option<String>)> {
    let newest_first = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
    let newest = catalog
        .query(&Query {
            order: newest_first,
            limit: 1,
            ..Query::default()
        })?
        .records
        .pop();
    let Some(newest) = newest else {
        return Ok((None, None));
    };
    let ticker = newest.signal.ticker.clone();
    let page = catalog.query(&Query {
        filter: Filter {
            tickers: vec![ticker.clone()],
            ..Filter::default()
        },
        order: newest_first,
        limit: 3,
        cursor: None,
    })?;
    output::println(&format!(
        "8. query     --ticker {ticker} --limit 3 (newest first):"
    ))?;
    for record in &page.records {
        output::println(&format!("            {}", brief(record)))?;
    }
    let derived = catalog
        .snapshot()
        .tail(1_000)?
        .into_iter()
        .rev()
        .find_map(|entry| match entry {
            EntryRecord::Signal(r) if !r.signal.parent_signal_ids.is_empty() => Some(r),
            _ => None,
        });
    let derived_id = derived.map(|r| r.signal.signal_id);
    if let Some(id) = &derived_id {
        if let Some(lineage) = catalog.lineage(id, LineageLimits::default())? {
            output::println(&format!(
                "9. lineage   {id}: {} ancestors, {} derived signals; its parents:",
                lineage.ancestors.node_count, lineage.descendants.node_count
            ))?;
            for node in &lineage.ancestors.nodes {
                let line = node
                    .record
                    .as_ref()
                    .map_or_else(|| "(not in the ledger)".to_owned(), brief);
                output::println(&format!("            {}  {line}", node.signal_id))?;
            }
        }
    }
    Ok((Some(newest), derived_id))
}
