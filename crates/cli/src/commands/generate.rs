//! `generate`: demo signals as NDJSON, streamed (constant memory, so 10M lines are fine).

use std::io::Write;

use signal_ledger_demo::{write_ndjson_line, DemoConfig, DemoGenerator, LiveDemo};
use signal_ledger_engine::Signal;

use crate::args::{DemoDataArgs, GenerateArgs};
use crate::error::{CliError, CliResult};
use crate::output;

/// Bytes buffered before each write.
const FLUSH_LEN: usize = 1024 * 1024;

/// The generator settings for `data`, with the ticker universe and window given.
pub fn demo_config(data: &DemoDataArgs, tickers: usize, days: u32) -> DemoConfig {
    DemoConfig {
        seed: data.seed,
        count: data.count,
        tickers,
        days,
        ..DemoConfig::default()
    }
}

/// Writes the NDJSON of `config` to `sink`; returns the bytes written.
pub fn write_ndjson(config: &DemoConfig, sink: &mut dyn Write) -> std::io::Result<u64> {
    write_signals(DemoGenerator::new(config), sink)
}

/// Writes `signals` as NDJSON to `sink`; returns the bytes written.
fn write_signals(
    signals: impl Iterator<Item = Signal>,
    sink: &mut dyn Write,
) -> std::io::Result<u64> {
    let mut buf = String::with_capacity(FLUSH_LEN + 4096);
    let mut total = 0u64;
    for signal in signals {
        write_ndjson_line(&signal, &mut buf);
        if buf.len() >= FLUSH_LEN {
            sink.write_all(buf.as_bytes())?;
            total += buf.len() as u64;
            buf.clear();
        }
    }
    sink.write_all(buf.as_bytes())?;
    total += buf.len() as u64;
    sink.flush()?;
    Ok(total)
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs) -> CliResult<()> {
    let config = demo_config(&args.data, args.tickers, args.days);
    let live = args.until.map(|t| LiveDemo::ending_at(&config, t.ns()));
    let write_ndjson = |sink: &mut dyn Write| match &live {
        Some(live) => write_signals(live.signals(), sink),
        None => write_ndjson(&config, sink),
    };
    match &args.out {
        Some(path) => {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .map_err(|e| CliError::io("create", path.display(), &e))?,
            );
            write_ndjson(&mut file).map_err(|e| CliError::io("write", path.display(), &e))?;
            Ok(())
        }
        None => {
            let mut out = std::io::stdout().lock();
            write_ndjson(&mut out)
                .map(drop)
                .map_err(|e| output::stdout_error(&e))
        }
    }
}
