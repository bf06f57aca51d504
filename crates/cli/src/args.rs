//! The command line, as clap types: every command, option and default in one place.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use signal_ledger_demo::DemoConfig;
use signal_ledger_engine::{Direction, Durability, SignalType};
use signal_ledger_query::{
    Conviction, Cursor, ExportFormat, Filter, GroupBy, LineageDepth, LineageNodes, Order, PageSize,
    Timestamp,
};
use signal_ledger_replay::{MaxGap, Position, ReplayOrder, Speed};

/// A value parser for `T` that lists `names` as the possible values (in help and errors) and
/// parses with `T`'s own `FromStr`, the one every front end uses.
fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// signal-ledger: a tamper-evident, append-only ledger of trading signals.
///
/// Start with `signal-ledger demo`.
#[derive(Debug, Parser)]
#[command(name = "signal-ledger", version, about, long_about = None)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes: the ledger directory and overrides of its `ledger.toml`. Shown
/// under their own heading, after each command's own options.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Ledger (every command)")]
pub struct GlobalArgs {
    /// The ledger directory.
    #[arg(long, global = true, env = "SIGNAL_LEDGER_DIR", value_name = "DIR")]
    pub ledger: Option<PathBuf>,
    /// Sync after each append: fdatasync (default), fsync or none.
    #[arg(long, global = true, value_name = "MODE", value_parser = named::<Durability>(&Durability::NAMES))]
    pub durability: Option<Durability>,
    /// Seal a segment and start the next one at this size, in bytes.
    #[arg(long, global = true, value_name = "N")]
    pub segment_size_bytes: Option<u64>,
    /// Signals per group the sink commits without waiting.
    #[arg(long, global = true, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Longest the sink's idle writer waits for a group to fill, in milliseconds (0: commit as
    /// soon as the writer is free).
    #[arg(long, global = true, value_name = "N")]
    pub flush_interval_ms: Option<u64>,
    /// Days to keep sealed segments; 0 keeps everything.
    #[arg(long, global = true, value_name = "N")]
    pub retention_days: Option<u32>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty ledger in --ledger DIR (with the given settings in its ledger.toml).
    Init,
    /// Append signals from NDJSON (one JSON object per line) as one atomic batch.
    Ingest(IngestArgs),
    /// Check every CRC, row hash and link, and optionally a digest taken earlier.
    Verify(VerifyArgs),
    /// Print the head digest: one JSON line to keep elsewhere and check with verify --against.
    Digest,
    /// Print counts, sizes, the head, any damage and the settings in force, as JSON.
    Stats,
    /// Print one record as JSON, by seq or by signal_id.
    Get(GetArgs),
    /// Print the last records as JSON lines, oldest first.
    Tail(TailArgs),
    /// Build a demo ledger of realistic signals and walk through ingest, verify and inspect.
    Demo(DemoArgs),
    /// Write demo signals as NDJSON, ready for ingest.
    Generate(GenerateArgs),
    /// Offer demo signals from many producer threads through the sink; print one JSON line of
    /// throughput and creation-to-durable latency.
    BenchSink(BenchSinkArgs),
    /// Find signals by any combination of filters, a page at a time.
    Query(QueryArgs),
    /// Count, conviction min/max/avg and acted-upon rate, grouped, under any filter.
    Aggregate(AggregateArgs),
    /// Write every matching signal, in ledger order, as CSV or NDJSON with seq and hashes.
    Export(ExportArgs),
    /// Show a signal's provenance: its parents (transitively) and the signals derived from it.
    Lineage(LineageArgs),
    /// Replay matching signals and their outcomes in chronological order, paced (max speed,
    /// real time or ×N), to standard output.
    Replay(ReplayArgs),
    /// Write a compliance bundle of a window: CSV, NDJSON, the outcomes behind them, and a
    /// manifest of hashes that standard tools can check (docs/BUNDLES.md).
    ExportBundle(ExportBundleArgs),
    /// Record whether a signal was acted upon (an outcome entry chained after it), or append
    /// outcomes from NDJSON with --file.
    Outcome(OutcomeArgs),
    /// Move a ledger written by an older signal-ledger on to this build's format version
    /// (verifies it first; never rewrites an entry).
    Upgrade,
    /// List the integrity checks recorded in the check log (verify --record, the scheduler),
    /// after checking the log's own chain.
    Checks(ChecksArgs),
    /// Remove expired sealed segments (retention_days), leaving verifiable anchors; legal hold.
    Retention(RetentionArgs),
    /// Serve the HTTP API and the dashboard (at /): record signals and outcomes through one
    /// shared sink; query, aggregate, lineage, export, replay (server-sent events), verify,
    /// checks, digest, stats, Prometheus /metrics, /v1/openapi.json. Prints
    /// {"listening":"HOST:PORT","dashboard":"http://HOST:PORT/"} once bound; SIGINT/SIGTERM
    /// stop it after everything accepted is durable.
    Serve(ServeArgs),
}

/// `serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free one; the line printed says which).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Require `Authorization: Bearer TOKEN` on every write (POST); reads never need it.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SIGNAL_LEDGER_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// `outcome` options.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("decision").args(["acted", "dismissed"])))]
pub struct OutcomeArgs {
    /// The signal_id of the recorded signal.
    #[arg(
        value_name = "SIGNAL_ID",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub signal_id: Option<String>,
    /// The signal was acted upon.
    #[arg(long)]
    pub acted: bool,
    /// The signal was dismissed (not acted upon).
    #[arg(long)]
    pub dismissed: bool,
    /// The executor's id of the execution.
    #[arg(long, value_name = "ID", conflicts_with = "file")]
    pub execution_id: Option<String>,
    /// Why, in words (at most 1,024 bytes).
    #[arg(long, value_name = "TEXT", conflicts_with = "file")]
    pub reason: Option<String>,
    /// When the executor decided, RFC 3339 (default: now).
    #[arg(long, value_name = "TIME", conflicts_with = "file")]
    pub at: Option<String>,
    /// Append the outcomes of this NDJSON file instead ("-": standard input), one
    /// {"signal_id", "acted_upon", "execution_id"?, "reason"?, "at"?} object per line, as one
    /// atomic batch.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["acted", "dismissed"])]
    pub file: Option<PathBuf>,
}

/// `lineage` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineageFormat {
    /// Two indented trees (the default on a terminal).
    Tree,
    /// One JSON object {"signal", "ancestors", "descendants"} (the default otherwise).
    Json,
}

/// `lineage` options.
#[derive(Debug, Clone, Args)]
pub struct LineageArgs {
    /// The signal_id.
    #[arg(value_name = "SIGNAL_ID")]
    pub signal_id: String,
    /// Levels to follow each way (1 to 1,000).
    #[arg(long, value_name = "N", default_value_t = LineageDepth::default())]
    pub depth: LineageDepth,
    /// Most signals shown in each tree (1 to 100,000).
    #[arg(long, value_name = "N", default_value_t = LineageNodes::default())]
    pub max_nodes: LineageNodes,
    /// Output format (default: tree on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<LineageFormat>,
}

/// `export` options.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Which signals.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format: csv (a header row of the 22 column names) or ndjson (one JSON object per
    /// line).
    #[arg(long, value_name = "FORMAT", value_parser = named::<ExportFormat>(&ExportFormat::NAMES))]
    pub format: ExportFormat,
    /// Output file (written whole under a temporary name, then renamed); `-` for standard
    /// output.
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
}

/// `replay --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// One JSON object per line: {"event": "signal"|"outcome", "position", "record"}.
    Ndjson,
    /// A readable line per event.
    Table,
}

/// `replay` options.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("start").args(["start_seq", "start_time", "resume", "checkpoint"])))]
pub struct ReplayArgs {
    /// Which signals (--from/--to is the window).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Speed: max, or a factor of real time such as 1x, 10x or 0.5x.
    #[arg(long, value_name = "SPEED", default_value = "max")]
    pub speed: Speed,
    /// Order of the events: timestamp (the signal's own timestamp, an outcome's decision time,
    /// merging producers whose clocks arrive out of order) or seq (ledger order).
    #[arg(long, value_name = "ORDER", default_value = "timestamp", value_parser = named::<ReplayOrder>(&ReplayOrder::NAMES))]
    pub order: ReplayOrder,
    /// Longest wait between two events, in seconds of wall time (a longer gap is cut to this;
    /// 0 to 86400).
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub max_gap: MaxGap,
    /// Signals only: leave out outcome events.
    #[arg(long)]
    pub no_outcomes: bool,
    /// Start at this seq (in seq order: this entry; in timestamp order: the events at or after
    /// this entry's time).
    #[arg(long, value_name = "SEQ")]
    pub start_seq: Option<u64>,
    /// Start at this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<Timestamp>,
    /// Continue after this position (printed with each event, or kept by --checkpoint).
    #[arg(long, value_name = "POSITION")]
    pub resume: Option<Position>,
    /// Keep the position of the last event printed in this file, and resume after it when
    /// the file exists.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, value_enum)]
    pub format: Option<ReplayFormat>,
}

/// `export-bundle` options.
#[derive(Debug, Clone, Args)]
pub struct ExportBundleArgs {
    /// Which signals (--from/--to is the window).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The bundle directory to create (it must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// The filter flags shared by `query` and `aggregate`. Repeat a flag to allow several values.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// source_module is this (repeatable).
    #[arg(long = "source", value_name = "MODULE")]
    pub sources: Vec<String>,
    /// ticker is this (repeatable).
    #[arg(long = "ticker", value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// timestamp at or after this (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<Timestamp>,
    /// timestamp before this (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<Timestamp>,
    /// conviction at least this (0 to 1).
    #[arg(long, value_name = "X")]
    pub min_conviction: Option<Conviction>,
    /// conviction at most this (0 to 1).
    #[arg(long, value_name = "X")]
    pub max_conviction: Option<Conviction>,
    /// direction is this (repeatable).
    #[arg(long = "direction", value_name = "DIR", value_parser = named::<Direction>(Direction::NAMES))]
    pub directions: Vec<Direction>,
    /// signal_type is this (repeatable).
    #[arg(long = "type", value_name = "TYPE", value_parser = named::<SignalType>(SignalType::NAMES))]
    pub signal_types: Vec<SignalType>,
    /// timeframe is this (repeatable).
    #[arg(long = "timeframe", value_name = "TF")]
    pub timeframes: Vec<String>,
    /// strategy_id is this (repeatable).
    #[arg(long = "strategy", value_name = "ID")]
    pub strategy_ids: Vec<String>,
    /// correlation_id is this (repeatable).
    #[arg(long = "correlation", value_name = "ID")]
    pub correlation_ids: Vec<String>,
    /// acted_upon is this: true or false (absent counts as false).
    #[arg(long, value_name = "BOOL")]
    pub acted_upon: Option<bool>,
    /// Whether an execution_id is present: true or false.
    #[arg(long, value_name = "BOOL")]
    pub has_execution_id: Option<bool>,
}

impl FilterArgs {
    /// The query crate's filter these flags describe.
    pub fn filter(&self) -> Filter {
        Filter {
            sources: self.sources.clone(),
            tickers: self.tickers.clone(),
            from_ns: self.from.map(Timestamp::ns),
            to_ns: self.to.map(Timestamp::ns),
            min_conviction: self.min_conviction.map(|c| c.0),
            max_conviction: self.max_conviction.map(|c| c.0),
            directions: self.directions.clone(),
            signal_types: self.signal_types.clone(),
            timeframes: self.timeframes.clone(),
            strategy_ids: self.strategy_ids.clone(),
            correlation_ids: self.correlation_ids.clone(),
            acted_upon: self.acted_upon,
            has_execution_id: self.has_execution_id,
        }
    }
}

/// `query` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// A readable table (the default on a terminal).
    Table,
    /// One object {"records": [...], "next_cursor": ...}.
    Json,
    /// One record per line (the default otherwise); the next cursor on stderr.
    Ndjson,
    /// CSV with a header row of the 22 column names; the next cursor on stderr.
    Csv,
}

/// `query` options.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Which signals.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Order of the results: newest or oldest signal timestamp first, or ledger order.
    #[arg(long, value_name = "ORDER", default_value = "timestamp-desc", value_parser = named::<Order>(&Order::NAMES))]
    pub order: Order,
    /// Most records in the page (1 to 10,000).
    #[arg(long, value_name = "N", default_value_t = PageSize::default())]
    pub limit: PageSize,
    /// Continue after the page that printed this cursor.
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<Cursor>,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,
}

/// `aggregate` options.
#[derive(Debug, Clone, Args)]
pub struct AggregateArgs {
    /// Which signals.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Group by this column (type is signal_type) or time bucket of the signal timestamp (day
    /// in UTC); default: one group of everything.
    #[arg(long, value_name = "GROUP", value_parser = named::<GroupBy>(&GroupBy::NAMES))]
    pub group_by: Option<GroupBy>,
    /// Print a table instead of JSON lines.
    #[arg(long)]
    pub table: bool,
}

/// `ingest` options.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// NDJSON input file; `-` reads standard input.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// Append the valid lines and skip the invalid ones (default: refuse the whole input).
    #[arg(long)]
    pub skip_invalid: bool,
    /// With --skip-invalid or --follow, write each skipped line here as NDJSON
    /// {line, field, problem, input}.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Keep reading as the file grows (or standard input until it ends) and record each line
    /// through the sink, durable within milliseconds; invalid lines are reported and skipped.
    /// Stops on SIGINT or SIGTERM after everything read is durable.
    #[arg(long)]
    pub follow: bool,
}

/// `verify` options.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// First seq to check (default: the first held).
    #[arg(long, value_name = "SEQ")]
    pub from_seq: Option<u64>,
    /// Last seq to check, inclusive (default: the head).
    #[arg(long, value_name = "SEQ")]
    pub to_seq: Option<u64>,
    /// Also check that the ledger still holds this digest: the JSON line printed by `digest`,
    /// or a file holding it.
    #[arg(long, value_name = "DIGEST")]
    pub against: Option<String>,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    pub json: bool,
    /// Check on one thread.
    #[arg(long)]
    pub sequential: bool,
    /// Record the check (pass or fail) in the ledger's hash-chained check log.
    #[arg(long)]
    pub record: bool,
}

/// `checks` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksFormat {
    /// Aligned columns, one check per line.
    Table,
    /// One JSON object per line.
    Json,
}

/// `checks` options.
#[derive(Debug, Clone, Args)]
pub struct ChecksArgs {
    /// Only the checks that failed.
    #[arg(long)]
    pub failed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ChecksFormat::Table)]
    pub format: ChecksFormat,
}

/// `retention` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum RetentionCommand {
    /// Show which sealed segments have expired (a dry run), or remove them with --apply, each
    /// after recording its retention anchor in the check log.
    Run {
        /// Remove them (without it, nothing changes).
        #[arg(long)]
        apply: bool,
    },
    /// Place (on) or lift (off) a legal hold: while on, retention removes nothing.
    Hold {
        /// on or off.
        #[arg(value_enum)]
        state: HoldState,
    },
}

/// `retention hold` states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HoldState {
    /// Retention removes nothing.
    On,
    /// Retention removes expired segments again.
    Off,
}

/// `retention` options.
#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RetentionCommand,
}

/// `get` options.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["seq", "signal_id"])))]
pub struct GetArgs {
    /// The record's seq.
    #[arg(value_name = "SEQ")]
    pub seq: Option<u64>,
    /// Find the record by signal_id instead (through the index).
    #[arg(long, value_name = "ID")]
    pub signal_id: Option<String>,
    /// Add the signal's whole outcome history, oldest first, as "outcomes".
    #[arg(long)]
    pub outcomes: bool,
}

/// `tail` options.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// How many records.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    pub count: u64,
}

/// Options of the demo data generator, shared by `demo` and `generate`.
#[derive(Debug, Clone, Args)]
pub struct DemoDataArgs {
    /// Number of signals.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub count: usize,
    /// Seed: the same seed (and, for `demo`, the same moment it runs) gives the same signals,
    /// byte for byte.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
}

/// `demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Where to build the demo ledger (default: a new directory under the system temp dir,
    /// kept afterwards). The demo never uses --ledger or SIGNAL_LEDGER_DIR, so it cannot write
    /// into a ledger you already have.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// What to generate.
    #[command(flatten)]
    pub data: DemoDataArgs,
}

/// `generate` options.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[command(flatten)]
    pub data: DemoDataArgs,
    /// Size of the ticker universe.
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().tickers)]
    pub tickers: usize,
    /// Length of the time window, in days, ending 2026-11-01T00:00:00Z (or at --until).
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().days)]
    pub days: u32,
    /// Date the signals as a live producer's up to this moment (RFC 3339), as `demo` does: the
    /// window ends then and the newest signal is moved onto it. The moment `demo` prints gives
    /// its signals again.
    #[arg(long, value_name = "TIME")]
    pub until: Option<Timestamp>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `bench-sink` options.
#[derive(Debug, Clone, Args)]
pub struct BenchSinkArgs {
    /// Producer threads.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub producers: u16,
    /// Signals per second offered by all producers together, or `max` for as fast as the sink
    /// takes them.
    #[arg(long, value_name = "R", default_value = "50000")]
    pub rate: Rate,
    /// Seconds to offer load for.
    #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = positive_seconds)]
    pub duration: f64,
    /// Seed of the demo signals.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
}

/// A positive, finite number of seconds (at most a year).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 366.0 * 86_400.0 => Ok(s),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// A `--rate`: signals per second, or `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// This many per second.
    PerSecond(f64),
    /// As fast as possible.
    Max,
}

impl Rate {
    /// Signals per second, None for `max`.
    pub fn per_second(self) -> Option<f64> {
        match self {
            Rate::PerSecond(r) => Some(r),
            Rate::Max => None,
        }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        if text == "max" {
            return Ok(Rate::Max);
        }
        match text.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r)),
            _ => Err(format!(
                "{text:?} is not a positive number of signals per second or `max`"
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serve_listens_on_loopback_port_8080_unless_told_otherwise() {
        let cli = Cli::try_parse_from(["signal-ledger", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(args.addr, "127.0.0.1:8080");
    }
}
