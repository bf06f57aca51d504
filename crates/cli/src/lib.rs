//! The `signal-ledger` command-line tool: arguments, wiring, output formatting and exit codes.
//!
//! No storage or query logic lives here: every command opens the engine's [`Ledger`],
//! [`Snapshot`] or `SignalSink`, or the query crate's `Catalog`, calls it, and formats what it
//! returns. Output goes to standard output (JSON lines, a table or a line of text); a failure is
//! ONE line `error: <message>` on standard error.
//!
//! Exit codes: 0 success, 1 `verify` found the ledger tampered with or broken, 2 anything else
//! (usage, bad input, I/O, a locked or damaged ledger).
//!
//! [`Ledger`]: signal_ledger_engine::Ledger
//! [`Snapshot`]: signal_ledger_engine::Snapshot

#![forbid(unsafe_code)]

pub mod args;
pub mod commands;
pub mod error;
pub mod output;
pub mod progress;
pub mod wiring;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use crate::args::{Cli, Command};
use crate::commands::{
    bench_sink, bundle, checks, demo, generate, ingest, init, inspect, lineage, outcome, query,
    replay, serve, verify,
};
use crate::error::{one_line, CliResult, EXIT_ERROR, EXIT_OK};

/// Runs the tool with `args` (the program name first) and returns its exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    install_panic_hook();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&cli)));
    match outcome {
        // The hook has printed the one line already.
        Err(_) => ExitCode::from(EXIT_ERROR),
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            if !e.quiet {
                output::eprintln(&format!("error: {}", one_line(&e.message)));
            }
            e.exit_code()
        }
    }
}

/// A bug (a panic here or in the engine) is reported as one `error:` line, not a backtrace, and
/// exits 2 like any other failure.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        output::eprintln(&format!(
            "error: internal error: {}{at} (this is a bug; please report it)",
            one_line(&what)
        ));
    }));
}

/// Help and version go to standard output with exit 0; a usage error is one line (clap's first
/// paragraph) and exit 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
    }
    let rendered = e.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or_default();
    let message = one_line(first.trim_start_matches("error:"));
    output::eprintln(&format!("error: {message} (see signal-ledger --help)"));
    ExitCode::from(EXIT_ERROR)
}

fn run(cli: &Cli) -> CliResult<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Init => init::run(g).map(|()| EXIT_OK),
        Command::Ingest(a) => ingest::run(g, a).map(|()| EXIT_OK),
        Command::Verify(a) => verify::run(g, a),
        Command::Digest => inspect::digest(g).map(|()| EXIT_OK),
        Command::Stats => inspect::stats(g).map(|()| EXIT_OK),
        Command::Get(a) => inspect::get(g, a).map(|()| EXIT_OK),
        Command::Tail(a) => inspect::tail(g, a).map(|()| EXIT_OK),
        Command::Demo(a) => demo::run(g, a),
        Command::Generate(a) => generate::run(a).map(|()| EXIT_OK),
        Command::BenchSink(a) => bench_sink::run(g, a).map(|()| EXIT_OK),
        Command::Query(a) => query::run(g, a).map(|()| EXIT_OK),
        Command::Aggregate(a) => query::aggregate(g, a).map(|()| EXIT_OK),
        Command::Export(a) => query::export(g, a).map(|()| EXIT_OK),
        Command::Lineage(a) => lineage::run(g, a).map(|()| EXIT_OK),
        Command::Replay(a) => replay::run(g, a).map(|()| EXIT_OK),
        Command::ExportBundle(a) => bundle::run(g, a).map(|()| EXIT_OK),
        Command::Outcome(a) => outcome::run(g, a).map(|()| EXIT_OK),
        Command::Upgrade => outcome::upgrade(g).map(|()| EXIT_OK),
        Command::Checks(a) => checks::list(g, a),
        Command::Retention(a) => checks::retention(g, a).map(|()| EXIT_OK),
        Command::Serve(a) => serve::run(g, a).map(|()| EXIT_OK),
    }
}
