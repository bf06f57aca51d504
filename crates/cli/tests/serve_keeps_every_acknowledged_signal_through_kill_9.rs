//! `signal-ledger serve` answers a POST only once its signals are durable: producers post
//! batches over HTTP while the server is killed with SIGKILL, again and again on the same
//! ledger; after each kill, every signal whose request was answered 200 is in the ledger, at
//! the seq the answer gave, and the ledger verifies. (What was in flight and never answered may or may not be there: it was never
//! acknowledged.)
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Producer threads, each on its own connection.
const PRODUCERS: usize = 8;
/// Signals per request.
const BATCH: usize = 25;
/// Kills of the server (`SIGNAL_LEDGER_HTTP_KILLS` overrides it: the long form).
const CYCLES: usize = 8;
/// Fewest signals acknowledged in a cycle before its kill (at most twice as many).
const KILL_AFTER_MIN: usize = 500;

/// A batch of `BATCH` signals with ids unique to producer `p`, request `r`.
fn batch(p: usize, r: usize) -> String {
    let mut body = String::new();
    for i in 0..BATCH {
        let ticker = ["AAPL", "MSFT", "NVDA"][i % 3];
        let signal = serde_json::json!({
            "signal_id": format!("kill-{p}-{r}-{i}"),
            "source_module": "http_producer",
            "ticker": ticker,
            "direction": "long",
            "conviction": 0.5,
            "signal_type": "entry",
            "timestamp": "2026-11-02T10:00:00Z",
        });
        body.push_str(&signal.to_string());
        body.push('\n');
    }
    body
}

/// Posts batches until a request fails (the server is gone); returns every acknowledged
/// signal_id with its seq.
fn produce(
    base: &str,
    p: usize,
    acknowledged: &AtomicUsize,
    stop: &AtomicBool,
) -> Vec<(String, u64)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut acked = Vec::new();
    for r in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = batch(p, r);
        let response = agent
            .post(format!("{base}/v1/signals"))
            .header("Content-Type", "application/x-ndjson")
            .send(body.as_bytes());
        let Ok(mut response) = response else {
            break; // killed: this request was never answered
        };
        let Ok(text) = response.body_mut().read_to_string() else {
            break;
        };
        assert_eq!(response.status().as_u16(), 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        let ids = answer["signal_ids"].as_array().unwrap();
        let seqs = answer["seqs"].as_array().unwrap();
        assert_eq!(ids.len(), BATCH);
        for (id, seq) in ids.iter().zip(seqs) {
            acked.push((id.as_str().unwrap().to_owned(), seq.as_u64().unwrap()));
        }
        acknowledged.fetch_add(BATCH, Ordering::Relaxed);
    }
    acked
}

/// One cycle: producers post to a fresh `serve` on `dir` until `kill_after` signals are
/// acknowledged, then the server is killed with SIGKILL mid-traffic. Returns what was
/// acknowledged.
fn serve_and_kill(dir: &std::path::Path, cycle: usize, kill_after: usize) -> Vec<(String, u64)> {
    let mut server = serve(dir, &[]);
    let base = server.base.clone();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (base, acknowledged, stop, results) = (
                base.clone(),
                Arc::clone(&acknowledged),
                Arc::clone(&stop),
                Arc::clone(&results),
            );
            std::thread::spawn(move || {
                let acked = produce(&base, cycle * PRODUCERS + p, &acknowledged, &stop);
                results.lock().unwrap().extend(acked);
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::Relaxed) < kill_after {
        assert!(
            Instant::now() < deadline,
            "only {} signals acknowledged in 60 s",
            acknowledged.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Requests are in flight now: kill without warning.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for producer in producers {
        producer.join().unwrap();
    }
    let acked = std::mem::take(&mut *results.lock().unwrap());
    assert!(acked.len() >= kill_after);
    acked
}

/// Every signal in the ledger in `dir`: signal_id → seq.
fn stored(dir: &std::path::Path) -> HashMap<String, u64> {
    let exported = on(dir, &["export", "--format", "ndjson", "--out", "-"]);
    json_lines(exported.ok())
        .iter()
        .map(|r| {
            (
                r["signal_id"].as_str().unwrap().to_owned(),
                r["seq"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_signal_answered_200_survives_a_sigkill_of_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    init_small(&dir);
    let cycles: usize = std::env::var("SIGNAL_LEDGER_HTTP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CYCLES);
    let mut acked: Vec<(String, u64)> = Vec::new();
    for cycle in 0..cycles {
        // Kill at a different point of the traffic each time.
        let kill_after = KILL_AFTER_MIN + (cycle * 397) % KILL_AFTER_MIN;
        acked.extend(serve_and_kill(&dir, cycle, kill_after));
        // Every signal acknowledged so far is there, at its seq; the recovered ledger verifies.
        let stored = stored(&dir);
        for (id, seq) in &acked {
            assert_eq!(
                stored.get(id),
                Some(seq),
                "cycle {cycle}: {id} was acknowledged at seq {seq} but is not in the ledger there"
            );
        }
        on(&dir, &["verify"]).ok();
        if cycle + 1 == cycles {
            eprintln!(
                "{cycles} kills: {} signals acknowledged, all kept; {} stored but never acknowledged",
                acked.len(),
                stored.len() - acked.len()
            );
        }
    }
}
