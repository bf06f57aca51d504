//! `signal-ledger serve --addr 127.0.0.1:0` prints the address it bound as one JSON line, takes
//! a signal over HTTP (with the token from SIGNAL_LEDGER_TOKEN), answers it back, and on SIGTERM
//! stops with exit 0 and the signal durable.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;

use std::time::Duration;

use serde_json::Value;

#[test]
fn serve_prints_its_address_records_and_answers_then_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    init_small(&dir);
    let mut server = serve_with(
        &dir,
        &["--batch-size", "77"],
        &[("SIGNAL_LEDGER_TOKEN", "tok-123")],
    );
    let listening = server.listening.clone();
    let line = listening.to_string();
    let addr = listening["listening"].as_str().unwrap().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{line}"
    );
    let base = server.base.clone();
    assert_eq!(listening["dashboard"], format!("{base}/"), "{line}");

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let signal = r#"{"signal_id":"serve-1","source_module":"fusion","ticker":"TSLA","direction":"short","conviction":0.6,"signal_type":"exit","timestamp":"2026-10-30T15:30:00Z"}"#;
    let without = agent
        .post(format!("{base}/v1/signals"))
        .header("Content-Type", "application/json")
        .send(signal)
        .unwrap();
    assert_eq!(without.status().as_u16(), 401);
    let mut with = agent
        .post(format!("{base}/v1/signals"))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer tok-123")
        .send(signal)
        .unwrap();
    assert_eq!(with.status().as_u16(), 200);
    let recorded: Value = serde_json::from_str(&with.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(recorded["seqs"], serde_json::json!([0]));

    let mut page = agent
        .get(format!("{base}/v1/signals?ticker=TSLA&direction=short"))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page: Value = serde_json::from_str(&page.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    assert_eq!(page["records"][0]["signal_id"], "serve-1");
    assert_eq!(page["records"][0]["seq"], 0);

    // /v1/stats is the `stats` object of the settings in force: the overrides serve was
    // started with, as `stats` with the same override shows them.
    let mut stats = agent.get(format!("{base}/v1/stats")).call().unwrap();
    let stats: Value = serde_json::from_str(&stats.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(stats["config"]["batch_size"], 77, "{stats}");
    let cli = on(&dir, &["--batch-size", "77", "stats"]).json();
    assert_eq!(stats["config"], cli["config"]);
    assert_eq!(stats["format_version"], cli["format_version"]);

    // The dashboard comes from the binary itself: no files beside it, no CDN.
    let mut home = agent.get(format!("{base}/")).call().unwrap();
    assert_eq!(home.status().as_u16(), 200);
    let content_type = home.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = home.body_mut().read_to_string().unwrap();
    assert!(html.contains("/assets/app.js"), "{html}");

    // SIGTERM: a clean stop, exit 0, and the signal is in the ledger for every other command.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            waited < Duration::from_secs(30),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(POLL);
        waited += POLL;
    };
    assert_eq!(exit.code(), Some(0));
    let got = on(&dir, &["get", "--signal-id", "serve-1"]).json();
    assert_eq!(got["seq"], 0);
    assert_eq!(got["ticker"], "TSLA");
}

#[test]
fn serve_refuses_an_address_it_cannot_bind_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    init_small(&dir);
    let out = on(&dir, &["serve", "--addr", "not-an-address"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: listen on not-an-address"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}
