//! Throughput of `parse_ndjson` on 1M valid lines of about 350 bytes (wall and CPU time, all
//! threads): `cargo run --release -p signal-ledger-engine --example ndjson_parse_speed`.
//! `PARSE_SPEED_RUNS=N` sets the number of runs (default 3); `PARSE_SPEED_BASELINE=1` first
//! times two baselines (1M clones of one parsed signal; serde_json's `IgnoredAny` over every
//! line, in parallel).

use rayon::prelude::*;
use signal_ledger_engine::input::{parse_ndjson, parse_signal_line};
use signal_ledger_engine::ValidSignal;

const LINES: u64 = 1_000_000;

/// A valid line of about 350 bytes; `i` varies the ids, price and time.
fn line(i: u64) -> String {
    format!(
        concat!(
            r#"{{"signal_id":"sig-{i:08}","source_module":"momentum","source_version":"2.4.1","#,
            r#""ticker":"AAPL","direction":"long","conviction":0.{c},"signal_type":"entry","timeframe":"5m","#,
            r#""price":187.{c},"timestamp":"2026-01-05T14:{m:02}:{s:02}.{ms:03}Z","strategy_id":"strat-a","#,
            r#""parent_signal_ids":["sig-{p:08}"],"acted_upon":false,"#,
            r#""payload_json":{{"rsi":61.2,"volume_ratio":1.8}}}}"#
        ),
        i = i,
        p = i + 1_000_000_000,
        c = i % 100,
        m = i / 60 % 60,
        s = i % 60,
        ms = i % 1000,
    )
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, 100 Hz ticks); 0
/// where that file cannot be read.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    // Fields 14 and 15 of the file are utime and stime; the first after the name is field 3.
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = || {
        fields
            .next()
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks() + ticks()) / 100.0
}

fn main() -> Result<(), String> {
    let mut input = String::with_capacity(400 * 1_000_000);
    for i in 0..LINES {
        input.push_str(&line(i));
        input.push('\n');
    }
    let runs: usize = std::env::var("PARSE_SPEED_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    if std::env::var_os("PARSE_SPEED_BASELINE").is_some() {
        let one = parse_signal_line(&line(5)).map_err(|e| e.to_string())?;
        let cpu_before = cpu_seconds();
        let start = std::time::Instant::now();
        let v: Vec<(u64, ValidSignal)> = (0..LINES).map(|i| (i, one.clone())).collect();
        println!(
            "baseline: 1M clones of one parsed signal: wall {:.3} s, cpu {:.2} s",
            start.elapsed().as_secs_f64(),
            cpu_seconds() - cpu_before
        );
        drop(v);
        let cpu_before = cpu_seconds();
        let start = std::time::Instant::now();
        let count = input
            .as_bytes()
            .par_split(|&b| b == b'\n')
            .filter(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
            .count();
        println!(
            "baseline: serde_json IgnoredAny over every line, in parallel: wall {:.3} s, cpu {:.2} s ({count})",
            start.elapsed().as_secs_f64(),
            cpu_seconds() - cpu_before
        );
    }
    for _ in 0..runs {
        let cpu_before = cpu_seconds();
        let start = std::time::Instant::now();
        let p = parse_ndjson(input.as_bytes());
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        if p.signals.len() as u64 != LINES || !p.errors.is_empty() {
            return Err(format!(
                "expected {LINES} signals and no error, got {} and {}",
                p.signals.len(),
                p.errors.len()
            ));
        }
        println!(
            "parse_ndjson: {LINES} lines, {} bytes ({:.0} bytes/line), {} threads: wall {wall:.3} s, \
             cpu (user+sys, all threads) {cpu:.2} s = {:.0} ns/line",
            input.len(),
            input.len() as f64 / LINES as f64,
            rayon::current_num_threads(),
            cpu * 1e9 / LINES as f64,
        );
        drop(p);
    }
    Ok(())
}
