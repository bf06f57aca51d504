//! `demo`: the first command a new user runs. Builds a ledger of realistic signals through the
//! same code paths as `init`, `generate`, `ingest`, `verify`, `stats`, `digest`, `tail`, `query`
//! and `lineage`, and prints each step, ending with commands to try next.

use std::path::PathBuf;
use std::time::Instant;

use signal_ledger_demo::DemoConfig;
use signal_ledger_engine::record::EntryRecord;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::SignalRecord;
use signal_ledger_query::{Catalog, Filter, LineageLimits, Order, OrderBy, Query};

use crate::args::{DemoArgs, GlobalArgs};
use crate::commands::{generate, ingest, init, inspect, verify};
use crate::error::{CliError, CliResult};
use crate::output::{self, shell_quote};
use crate::wiring;

/// Prefix of the directory made under the system temp dir when `--dir` is not given.
pub const TEMP_PREFIX: &str = "signal-ledger-demo-";

fn secs(since: Instant) -> String {
    format!("{:.2} s", since.elapsed().as_secs_f64())
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
    // What `generate --count N --seed S` writes.
    let defaults = DemoConfig::default();
    let config = generate::demo_config(&args.data, defaults.tickers, defaults.days);
    let mut ndjson = Vec::new();
    generate::write_ndjson(&config, &mut ndjson)
        .map_err(|e| CliError::io("generate", "demo signals", &e))?;
    output::println(&format!(
        "2. generate  {} demo signals (seed {}), {:.1} MB of NDJSON in {}",
        args.data.count,
        args.data.seed,
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
