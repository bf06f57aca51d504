//! `demo --dir D --count N` exits 0, prints each step, and leaves in D a ledger of N records that
//! `verify` accepts; its records are the demo generator's for the same count and seed, dated as
//! a live producer's (`LiveDemo`: the window ends at the moment step 2 prints, the newest signal
//! on it, so its latency is the seconds the demo took, not weeks); it ends with how to open the
//! dashboard on that ledger.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use signal_ledger_demo::{DemoConfig, LiveDemo};
use signal_ledger_engine::timefmt::parse_rfc3339_ns;

#[test]
fn demo_builds_a_verifiable_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let before = now_ns();
    let out = run(&["demo", "--dir", dir.to_str().unwrap(), "--count", "2000"]);
    let after = now_ns();
    let text = out.ok();
    assert_eq!(out.stderr, "");
    for step in [
        "1. init",
        "2. generate",
        "3. ingest",
        "4. verify    intact: 2000 records",
        "5. stats",
        "6. digest",
        "7. the last 3 records",
        "8. query     --ticker ",
        "9. lineage   ",
    ] {
        assert!(text.contains(step), "{step} in\n{text}");
    }
    // It ends with how to open the dashboard on the demo ledger: serve's command for that
    // directory, and the URL of serve's default address.
    let lines: Vec<&str> = text.lines().collect();
    let [.., tail, serve, open] = lines[..] else {
        panic!("{text}")
    };
    assert!(tail.ends_with("tail -n 5"), "{text}");
    let shown = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("signal-ledger demo in ")
        .unwrap();
    assert_eq!(
        serve,
        format!("dashboard: signal-ledger --ledger {shown} serve")
    );
    let help = run(&["serve", "--help"]);
    let help = help.ok();
    let default_addr = help
        .split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap();
    assert!(
        open.trim_start()
            .starts_with(&format!("then open http://{default_addr}/ ")),
        "{open}"
    );

    let s = stats(&dir);
    assert_eq!(s["records"], 2000);
    let v = on(&dir, &["verify"]);
    assert!(v.ok().starts_with("intact: 2000 records checked"));
    // The printed digest verifies.
    let digest = text
        .lines()
        .find_map(|l| l.strip_prefix("6. digest    "))
        .unwrap();
    on(&dir, &["verify", "--against", digest]).ok();
    // The last 3 records printed are the tail.
    assert!(text.contains(on(&dir, &["tail", "-n", "3"]).ok()));
    // The lineage shown is the one `lineage` prints, and its parents are in the ledger.
    let shown = text
        .lines()
        .find_map(|l| l.strip_prefix("9. lineage   "))
        .unwrap();
    let (id, counts) = shown.split_once(": ").unwrap();
    let lineage = on(&dir, &["lineage", id, "--format", "json"]).json();
    assert!(counts.starts_with(&format!(
        "{} ancestors, {} derived signals",
        lineage["ancestors"]["node_count"], lineage["descendants"]["node_count"]
    )));
    assert!(!lineage["signal"]["parent_signal_ids"]
        .as_array()
        .unwrap()
        .is_empty());
    let got = on(&dir, &["get", "0"]).json();
    // Dated up to the moment step 2 prints, during the run; the demo generator (seed 42, 2000
    // signals) over the window ending then gives the same signals.
    let now = text
        .lines()
        .find_map(|l| l.strip_prefix("2. generate  "))
        .and_then(|l| l.split(" days up to ").nth(1))
        .and_then(|l| l.split(')').next())
        .unwrap();
    let now = parse_rfc3339_ns(now).unwrap();
    assert!(
        before <= now && now <= after,
        "{before} <= {now} <= {after}"
    );
    let config = DemoConfig {
        count: 2000,
        seed: 42,
        ..DemoConfig::default()
    };
    let live: Vec<_> = LiveDemo::ending_at(&config, now).signals().collect();
    assert_eq!(got["signal_id"], live[0].signal_id);
    // The newest record's latency is the time the demo took from that moment, not weeks; no
    // record is dated after it was recorded.
    let page = on(&dir, &["query", "--limit", "1", "--format", "json"]).json();
    let newest = &page["records"][0];
    let latency_ms = newest["latency_ms"].as_f64().unwrap();
    let took_ms = (after - now) as f64 / 1e6;
    assert!(
        (0.0..=took_ms + 1.0).contains(&latency_ms),
        "latency {latency_ms} ms, the demo took {took_ms} ms after dating"
    );
    assert_eq!(
        newest["signal_id"],
        live.iter()
            .max_by_key(|s| s.timestamp_ns)
            .unwrap()
            .signal_id
    );

    // `generate --until` that moment writes the demo's signals again, exactly.
    let moment = text
        .lines()
        .find_map(|l| l.strip_prefix("2. generate  "))
        .and_then(|l| l.split(" days up to ").nth(1))
        .and_then(|l| l.split(')').next())
        .unwrap();
    let again = run(&["generate", "--count", "2000", "--until", moment]);
    let ids: Vec<String> = json_lines(again.ok())
        .iter()
        .map(|v| v["signal_id"].as_str().unwrap().to_owned())
        .collect();
    let live_ids: Vec<&str> = live.iter().map(|s| s.signal_id.as_str()).collect();
    assert_eq!(ids, live_ids);
    let exported = on(&dir, &["export", "--format", "ndjson", "--out", "-"]);
    let recorded: Vec<String> = json_lines(exported.ok())
        .iter()
        .map(|v| v["signal_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recorded, ids);

    // A second demo into the same directory is refused: it is a ledger already.
    let again = run(&["demo", "--dir", dir.to_str().unwrap(), "--count", "10"]);
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        format!("error: {} is already a ledger\n", dir.display())
    );
}

/// Now, in ns since the Unix epoch.
fn now_ns() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_nanos()).unwrap()
}
