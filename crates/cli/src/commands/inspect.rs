//! The read-only commands: `digest`, `stats`, `get` and `tail`. Each opens a snapshot, so they
//! work while a writer appends.

use signal_ledger_engine::checklog::read_check_log;
use signal_ledger_engine::config::LedgerToml;
use signal_ledger_engine::record::json::{
    write_entry_record_json, write_outcome_json, write_record_json,
};
use signal_ledger_engine::record::EntryRecord;
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::{Digest, Durability, SignalRecord, SinkMetrics, Snapshot};
use signal_ledger_query::Catalog;

use crate::args::{GetArgs, GlobalArgs, TailArgs};
use crate::error::{CliError, CliResult};
use crate::output::{self, JsonObject};
use crate::wiring;

/// The head digest of `snapshot`, or an error when there is no head.
pub fn head_digest(snapshot: &Snapshot) -> CliResult<Digest> {
    match Digest::of_head(snapshot)? {
        Some(d) => Ok(d),
        None if snapshot.record_count() == 0 => {
            Err(CliError::new("the ledger is empty: no head to digest"))
        }
        None => Err(CliError::new(match snapshot.damage() {
            Some(c) => format!("the head entry cannot be read: {c}"),
            None => "the head entry cannot be read; run verify".to_owned(),
        })),
    }
}

/// Runs `digest`.
pub fn digest(global: &GlobalArgs) -> CliResult<()> {
    let snapshot = wiring::open_snapshot(wiring::ledger_dir(global)?)?;
    output::println(&head_digest(&snapshot)?.to_json())
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Fdatasync => "fdatasync",
        Durability::Fsync => "fsync",
        Durability::None => "none",
    }
}

/// The `stats` object of `snapshot`, with the settings in force and the metrics the last (or
/// running) sink left (`"sink": null` when no sink has written to the ledger).
pub fn stats_json(snapshot: &Snapshot, toml: &LedgerToml, sink: Option<&SinkMetrics>) -> String {
    let sink = sink
        .and_then(|m| serde_json::to_string(m).ok())
        .unwrap_or_else(|| "null".to_owned());
    let head = snapshot.head();
    let range = snapshot.timestamp_range();
    let torn = snapshot.torn_tail().map(|t| {
        JsonObject::new()
            .str("file", &output::path_text(&t.path))
            .u64("offset", t.offset)
            .u64("bytes", t.bytes)
            .finish()
    });
    let p = &toml.persistence;
    let config = JsonObject::new()
        .str("durability", durability_name(p.durability))
        .u64("segment_size_bytes", p.segment_size_bytes)
        .u64("batch_size", p.batch_size as u64)
        .u64("flush_interval_ms", p.flush_interval_ms)
        .u64("retention_days", u64::from(p.retention_days))
        .bool("legal_hold", p.legal_hold)
        .u64("check_interval_secs", p.check_interval_secs)
        .u64("full_check_every", u64::from(p.full_check_every))
        .finish();
    let checks = read_check_log(snapshot.dir()).ok().map(|log| {
        let last = log.checks().last();
        JsonObject::new()
            .u64("checks", log.checks().count() as u64)
            .u64(
                "failed",
                log.checks().filter(|c| !c.chain_valid).count() as u64,
            )
            .opt_u64("last_check_id", last.map(|c| c.check_id))
            .opt_str(
                "last_checked_at",
                last.map(|c| format_rfc3339_ns(c.checked_at_ns)).as_deref(),
            )
            .raw(
                "last_passed",
                last.map_or("null", |c| if c.chain_valid { "true" } else { "false" }),
            )
            .u64("anchors", log.anchors().count() as u64)
            .opt_str(
                "damage",
                log.damage.as_ref().map(ToString::to_string).as_deref(),
            )
            .finish()
    });
    JsonObject::new()
        .str("ledger", &output::path_text(snapshot.dir()))
        .u64("format_version", u64::from(toml.format_version))
        .u64("records", snapshot.record_count())
        .u64("segments", snapshot.segments().len() as u64)
        .u64(
            "sealed_segments",
            snapshot
                .segments()
                .iter()
                .filter(|s| s.trailer.is_some())
                .count() as u64,
        )
        .u64("bytes", snapshot.bytes_total())
        .u64("first_seq", snapshot.first_seq())
        .u64("next_seq", snapshot.next_seq())
        .opt_str(
            "first_timestamp",
            range.map(|(min, _)| format_rfc3339_ns(min)).as_deref(),
        )
        .opt_str(
            "last_timestamp",
            range.map(|(_, max)| format_rfc3339_ns(max)).as_deref(),
        )
        .opt_u64("head_seq", head.map(|h| h.seq))
        .opt_str("head_hash", head.map(|h| h.row_hash.to_hex()).as_deref())
        .raw("torn_tail", torn.as_deref().unwrap_or("null"))
        .opt_str(
            "damage",
            snapshot.damage().map(ToString::to_string).as_deref(),
        )
        .raw("config", &config)
        .raw("check_log", checks.as_deref().unwrap_or("null"))
        .raw("sink", &sink)
        .finish()
}

/// Runs `stats`.
pub fn stats(global: &GlobalArgs) -> CliResult<()> {
    let dir = wiring::ledger_dir(global)?;
    let toml = wiring::load_config(dir, global)?;
    let snapshot = wiring::open_snapshot(dir)?;
    let sink = SinkMetrics::read_from(dir)?;
    output::println(&stats_json(&snapshot, &toml, sink.as_ref()))
}

/// One record as one JSON line.
pub fn record_json(record: &SignalRecord) -> String {
    let mut out = String::new();
    write_record_json(record, &mut out);
    out
}

/// Runs `get`: a signal with its latest outcome applied (and, with `--outcomes`, its whole
/// outcome history), or the outcome entry at SEQ as stored.
pub fn get(global: &GlobalArgs, args: &GetArgs) -> CliResult<()> {
    let catalog = Catalog::from_snapshot(wiring::open_snapshot(wiring::ledger_dir(global)?)?);
    let mut record = match (&args.signal_id, args.seq) {
        // Through the segments' id tables (the query crate), not a scan.
        (Some(id), _) => catalog
            .find_signal(id)?
            .ok_or_else(|| CliError::new(format!("signal_id {id} not found")))?,
        (None, Some(seq)) => match catalog.snapshot().entry_record(seq)? {
            Some(EntryRecord::Signal(record)) => record,
            Some(outcome) => {
                let mut text = String::new();
                write_entry_record_json(&outcome, &mut text);
                return output::println(&text);
            }
            None => return Err(CliError::new(format!("seq {seq} not found"))),
        },
        (None, None) => return Err(CliError::new("give a SEQ or --signal-id ID")),
    };
    catalog.apply_outcome(&mut record)?;
    let mut text = record_json(&record);
    if args.outcomes {
        let mut list = String::from("[");
        for (i, o) in catalog.outcome_history(record.seq)?.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            write_outcome_json(&o.as_view(), &mut list);
        }
        list.push(']');
        text.pop(); // the closing brace
        text.push_str(",\"outcomes\":");
        text.push_str(&list);
        text.push('}');
    }
    output::println(&text)
}

/// The last `n` records of `snapshot`, one JSON line each, oldest first.
pub fn tail_lines(snapshot: &Snapshot, n: u64) -> CliResult<String> {
    let mut text = String::new();
    for entry in snapshot.tail(n)? {
        write_entry_record_json(&entry, &mut text);
        text.push('\n');
    }
    Ok(text)
}

/// Runs `tail`.
pub fn tail(global: &GlobalArgs, args: &TailArgs) -> CliResult<()> {
    let snapshot = wiring::open_snapshot(wiring::ledger_dir(global)?)?;
    let text = tail_lines(&snapshot, args.count)?;
    if text.is_empty() {
        return Ok(());
    }
    output::println(text.trim_end_matches('\n'))
}
