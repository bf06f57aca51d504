//! The web dashboard served by the server, driven in headless Chromium over WebDriver: every
//! tab shows the ledger's data, the feed filters and follows new signals, the audit ledger
//! pages and shows chain links and lineage, an integrity check passes (and fails on a
//! tampered sealed segment), and the export links follow the form. Screenshots of each tab go
//! to `<target>/dashboard-screenshots/`.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` each test prints why it is skipped
//! and passes, unless `SIGNAL_LEDGER_BROWSER_TESTS=required`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::sync::{Mutex, MutexGuard};

use common::webdriver::{browser_or_skip, screenshot_dir, Browser};
use common::{demo_ndjson, new_ledger, outcome, signal, TestServer};
use serde_json::{json, Value};
use signal_ledger_engine::{verify, Snapshot, VerifyOptions};
use signal_ledger_server::ServerOptions;

/// One browser at a time: each is a few processes, and the machine is small.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

fn one_browser() -> MutexGuard<'static, ()> {
    ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens the dashboard of `server` on `tab` and waits for the script to have started.
fn open(browser: &Browser, server: &TestServer, tab: &str) {
    browser.goto(&format!("{}/#{tab}", server.base));
    browser.wait_until("the dashboard script to start", |b| {
        let ready = b.execute(
            "return document.body.dataset.ready === 'true' && document.body.dataset.tab;",
            &[],
        );
        (ready.as_str() == Some(tab)).then_some(())
    });
}

fn show_tab(browser: &Browser, tab: &str) {
    browser.click(&format!("[data-testid=tab-{tab}]"));
    browser.wait_until(&format!("the {tab} panel"), |b| {
        let hidden = b.execute(
            "return document.getElementById(arguments[0]).hidden;",
            &[json!(format!("panel-{tab}"))],
        );
        (hidden == Value::Bool(false)).then_some(())
    });
}

fn seqs_of(browser: &Browser, row_css: &str) -> Vec<u64> {
    browser
        .attributes(row_css, "data-seq")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn record_seqs(server: &TestServer, query: &str) -> Vec<u64> {
    let (status, body) = server.get_json(&format!("/v1/signals?{query}"));
    assert_eq!(status, 200, "{body}");
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn screenshot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    browser.screenshot(&path);
    eprintln!("screenshot: {}", path.display());
}

/// Runs an integrity check from the Integrity tab and returns the verdict word once shown.
fn run_check_in_ui(browser: &Browser) -> String {
    browser.click("[data-testid=verify-run]");
    browser.wait_until("a verdict", |b| {
        let word = b.text_of("[data-testid=verdict-word]");
        matches!(word.as_str(), "PASS" | "FAIL" | "ERROR").then_some(word)
    })
}

/// The console check the tabs end with can fail: an uncaught exception is reported once.
#[test]
fn an_uncaught_exception_shows_in_the_console_errors() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("an_uncaught_exception_shows_in_the_console_errors") else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    // Not empty: on an empty ledger the status bar's GET /v1/digest is a 404, itself logged.
    assert_eq!(server.post_ndjson(&demo_ndjson(5, 1)).0, 200);
    open(&browser, &server, "feed");
    assert_eq!(browser.console_errors(), Vec::<String>::new());
    browser.execute(
        "setTimeout(() => { throw new Error('probe-error-7f3a'); }, 0);",
        &[],
    );
    let errors = browser.wait_until("the probe error in the log", |b| {
        let errors = b.console_errors();
        (!errors.is_empty()).then_some(errors)
    });
    assert!(
        errors.iter().any(|e| e.contains("probe-error-7f3a")),
        "{errors:#?}"
    );
    assert_eq!(browser.console_errors(), Vec::<String>::new(), "read once");
}

#[test]
fn the_dashboard_and_its_assets_are_served_with_their_types() {
    let server = TestServer::start(ServerOptions::default());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for (path, mime, marker) in [
        ("/", "text/html", "data-testid=\"tab-integrity\""),
        ("/assets/app.js", "text/javascript", "/v1/verify"),
        ("/assets/app.css", "text/css", ".verdict"),
    ] {
        let mut r = agent.get(format!("{}{path}", server.base)).call().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(mime), "{path}");
        assert_eq!(header("cache-control"), "no-cache", "{path}");
        let etag = header("etag");
        assert!(etag.starts_with('"') && etag.len() == 18, "{path}: {etag}");
        assert!(
            r.body_mut().read_to_string().unwrap().contains(marker),
            "{path}"
        );
        // The same version again: 304, nothing to download.
        let r = agent
            .get(format!("{}{path}", server.base))
            .header("If-None-Match", &etag)
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 304, "{path}");
    }
    // Anything else is still the API's JSON 404.
    let (status, body) = server.get_json("/assets/missing.js");
    assert_eq!(status, 404);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("/assets/missing.js"));
}

#[test]
fn every_tab_shows_the_ledgers_data() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("every_tab_shows_the_ledgers_data") else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    let (status, body) = server.post_ndjson(&demo_ndjson(400, 11));
    assert_eq!(status, 200, "{body}");
    let (status, verdict) = server.post("/v1/verify", None, None, b"");
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["intact"], true, "{verdict}");

    // Signal Feed: the newest 100, newest first, and the three charts.
    open(&browser, &server, "feed");
    let newest = record_seqs(&server, "order=seq-desc&limit=100");
    browser.wait_until("the feed's first 100 rows", |b| {
        (seqs_of(b, "[data-testid=feed-row]") == newest).then_some(())
    });
    browser.wait_until("the head in the status bar", |b| {
        (b.text_of("[data-testid=status-head-seq]") == "399").then_some(())
    });
    // One line per source, the six largest.
    let (_, by_source) = server.get_json("/v1/aggregate?group_by=source");
    let mut sources: Vec<(u64, String)> = by_source["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["count"].as_u64().unwrap(),
                g["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    sources.sort_by_key(|s| std::cmp::Reverse(s.0));
    let top: Vec<u64> = sources.iter().take(6).map(|s| s.0).collect();
    browser.wait_until("one line per source", |b| {
        let lines = b.attributes(
            "[data-testid=chart-sources] svg g[data-source]",
            "data-source",
        );
        let shown: Vec<u64> = lines
            .iter()
            .map(|name| sources.iter().find(|s| &s.1 == name).unwrap().0)
            .collect();
        (shown == top).then_some(())
    });
    // The histogram counts every signal exactly once.
    let binned: u64 = browser.wait_until("the conviction histogram", |b| {
        let counts = b.attributes("[data-testid=conviction-bin]", "data-count");
        (counts.len() == 10).then(|| counts.iter().map(|c| c.parse::<u64>().unwrap()).sum())
    });
    assert_eq!(binned, 400);
    browser.wait_until("the latency percentiles", |b| {
        b.try_find("[data-testid=latency-p99]").map(|_| ())
    });
    screenshot(&browser, "feed");

    // Audit Ledger: a page of records, every link verified; a record's details.
    show_tab(&browser, "ledger");
    browser.wait_until("the ledger's first page", |b| {
        let seqs = seqs_of(b, "[data-testid=ledger-row]");
        (seqs.len() == 50 && seqs[0] == 399).then_some(())
    });
    let links = browser.attributes("[data-testid=ledger-link]", "class");
    assert!(
        links.iter().all(|c| c.contains("link-ok")),
        "every link of an intact ledger verifies: {links:?}"
    );
    browser.click("[data-testid=ledger-row][data-seq='390']");
    browser.wait_until("the details of seq 390", |b| {
        (b.text_of("[data-testid=details-seq]") == "seq 390").then_some(())
    });
    screenshot(&browser, "ledger");

    // Integrity Check: the check recorded above, and the head digest.
    show_tab(&browser, "integrity");
    browser.wait_until("the check history", |b| {
        (b.attributes("[data-testid=check-row]", "data-result") == ["pass"]).then_some(())
    });
    let (_, digest) = server.get_json("/v1/digest");
    browser.wait_until("the head digest", |b| {
        (b.text_of("[data-testid=digest-hash]") == digest["row_hash"].as_str().unwrap())
            .then_some(())
    });
    screenshot(&browser, "integrity");

    show_tab(&browser, "export");
    let href = browser.attributes("[data-testid=export-ndjson]", "href");
    assert_eq!(href, ["/v1/export?format=ndjson"]);
    browser.wait_until("the count of every signal", |b| {
        (b.text_of("[data-testid=export-count]")
            == "400 signals match this window and these filters.")
            .then_some(())
    });
    screenshot(&browser, "export");

    // Not one script error or failed request on the way.
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn the_feed_filters_by_ticker_and_follows_new_signals() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("the_feed_filters_by_ticker_and_follows_new_signals")
    else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(250, 5)).0, 200);
    for i in 0..3 {
        assert_eq!(
            server
                .post_one(&signal(&format!("zz-{i}"), "ZZTEST", &[]))
                .0,
            200
        );
        assert_eq!(
            server
                .post_one(&signal(&format!("yy-{i}"), "YYTEST", &[]))
                .0,
            200
        );
    }
    open(&browser, &server, "feed");
    browser.wait_until("the feed's rows", |b| {
        (seqs_of(b, "[data-testid=feed-row]").first() == Some(&255)).then_some(())
    });

    browser.type_into("[data-testid=feed-ticker]", "ZZTEST");
    let expected = record_seqs(&server, "ticker=ZZTEST&order=seq-desc");
    assert_eq!(expected.len(), 3);
    browser.wait_until("only the ZZTEST rows", |b| {
        let tickers = b.attributes("[data-testid=feed-row]", "data-ticker");
        let seqs = seqs_of(b, "[data-testid=feed-row]");
        (seqs == expected && tickers.iter().all(|t| t == "ZZTEST")).then_some(())
    });

    // New signals stream in: the matching one is prepended, the other is not shown.
    let (_, added) = server.post_one(&signal("zz-new", "ZZTEST", &[]));
    assert_eq!(server.post_one(&signal("yy-new", "YYTEST", &[])).0, 200);
    let new_seq = added["seqs"][0].as_u64().unwrap();
    browser.wait_until("the new ZZTEST signal on top", |b| {
        let seqs = seqs_of(b, "[data-testid=feed-row]");
        (seqs.first() == Some(&new_seq) && seqs.len() == 4).then_some(())
    });
    let tickers = browser.attributes("[data-testid=feed-row]", "data-ticker");
    assert!(tickers.iter().all(|t| t == "ZZTEST"), "{tickers:?}");

    // Paused, then resumed: what arrived meanwhile is shown.
    browser.click("[data-testid=feed-pause]");
    browser.wait_until("the paused state", |b| {
        let status = b.text_of("[data-testid=feed-status]");
        (status.starts_with("Paused") && b.text_of("[data-testid=feed-pause]") == "Resume")
            .then_some(())
    });
    let (_, later) = server.post_one(&signal("zz-later", "ZZTEST", &[]));
    let later_seq = later["seqs"][0].as_u64().unwrap();
    browser.click("[data-testid=feed-pause]");
    browser.wait_until("the signal recorded while paused", |b| {
        let seqs = seqs_of(b, "[data-testid=feed-row]");
        (seqs.first() == Some(&later_seq) && seqs.len() == 5).then_some(())
    });

    // Clearing the filters shows every ticker again.
    browser.click("[data-testid=feed-clear]");
    browser.wait_until("all tickers again", |b| {
        let tickers = b.attributes("[data-testid=feed-row]", "data-ticker");
        (tickers.len() == 100 && tickers.iter().any(|t| t != "ZZTEST")).then_some(())
    });
}

/// The text of the "acted upon" cell of the feed row of `seq` (empty while not shown).
fn feed_outcome(browser: &Browser, seq: u64) -> String {
    browser.text_of(&format!(
        "[data-testid=feed-row][data-seq='{seq}'] [data-col=acted_upon]"
    ))
}

#[test]
fn the_feed_follows_outcomes_recorded_after_their_signals() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("the_feed_follows_outcomes_recorded_after_their_signals")
    else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(40, 6)).0, 200);
    let mut seqs = Vec::new();
    for id in ["fo-0", "fo-1", "fo-2"] {
        let (status, added) = server.post_one(&signal(id, "FOTEST", &[]));
        assert_eq!(status, 200, "{added}");
        seqs.push(added["seqs"][0].as_u64().unwrap());
    }
    let (old, pending, newest) = (seqs[0], seqs[1], seqs[2]);
    assert_eq!(server.post_one_outcome(&outcome("fo-2", true)).0, 200);

    open(&browser, &server, "feed");
    browser.type_into("[data-testid=feed-ticker]", "FOTEST");
    browser.wait_until("the three FOTEST rows", |b| {
        (seqs_of(b, "[data-testid=feed-row]") == [newest, pending, old]).then_some(())
    });
    browser.wait_until("fo-1 pending, fo-2 acted", |b| {
        (feed_outcome(b, pending) == "pending" && feed_outcome(b, newest) == "acted").then_some(())
    });

    // An outcome recorded after its signal was shown: the row follows, no reload.
    assert_eq!(server.post_one_outcome(&outcome("fo-1", true)).0, 200);
    browser.wait_until("fo-1 acted upon", |b| {
        (feed_outcome(b, pending) == "acted").then_some(())
    });
    assert_eq!(feed_outcome(&browser, old), "pending");
    assert_eq!(
        seqs_of(&browser, "[data-testid=feed-row]"),
        [newest, pending, old]
    );

    // Filtered to the signals acted upon: fo-0, older than the rows shown, appears in its place
    // once its outcome is recorded.
    browser.click("[data-testid=feed-acted-upon] option[value=true]");
    browser.wait_until("only the acted-upon rows", |b| {
        (seqs_of(b, "[data-testid=feed-row]") == [newest, pending]).then_some(())
    });
    assert_eq!(server.post_one_outcome(&outcome("fo-0", true)).0, 200);
    browser.wait_until("fo-0 among the acted-upon rows", |b| {
        (seqs_of(b, "[data-testid=feed-row]") == [newest, pending, old]
            && feed_outcome(b, old) == "acted")
            .then_some(())
    });
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn the_audit_ledger_pages_and_shows_chain_links_and_lineage() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("the_audit_ledger_pages_and_shows_chain_links_and_lineage")
    else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_one(&signal("lin-parent", "LINA", &[])).0, 200);
    assert_eq!(
        server
            .post_one(&signal("lin-child", "LINA", &["lin-parent"]))
            .0,
        200
    );
    assert_eq!(server.post_ndjson(&demo_ndjson(120, 3)).0, 200);
    // seq 0 and 1 are the two above; 2..=121 the demo signals.

    open(&browser, &server, "ledger");
    browser.wait_until("page 1: seq 121 to 72", |b| {
        let seqs = seqs_of(b, "[data-testid=ledger-row]");
        (seqs == (72..=121).rev().collect::<Vec<u64>>()).then_some(())
    });
    browser.click("[data-testid=ledger-older]");
    browser.wait_until("page 2: seq 71 to 22", |b| {
        let seqs = seqs_of(b, "[data-testid=ledger-row]");
        let range = b.text_of("[data-testid=ledger-range]");
        (seqs == (22..=71).rev().collect::<Vec<u64>>() && range.starts_with("Page 2")).then_some(())
    });

    // The last row of the page: its link is checked against the next page's first record.
    browser.click("[data-testid=ledger-row][data-seq='22']");
    browser.wait_until("seq 22's chain links", |b| {
        let prev = b.text_of("[data-testid=chain-prev]");
        (b.text_of("[data-testid=details-seq]") == "seq 22"
            && prev.contains("prev_hash matches the row_hash of seq 21"))
        .then_some(())
    });
    // Every column, as the API gives it.
    let (_, page) = server.get_json("/v1/signals?order=seq-desc&limit=200");
    let record = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["seq"] == 22)
        .unwrap()
        .clone();
    let columns = browser.attributes("[data-testid=details-columns] tr", "data-column");
    assert_eq!(columns.len(), 22, "{columns:?}");
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(
        {
            let mut c = columns.clone();
            c.sort();
            c
        },
        {
            let mut k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            k.sort();
            k
        }
    );
    let row_hash = browser.text_of("[data-testid=details-columns] tr[data-column=row_hash] td");
    assert_eq!(row_hash, record["row_hash"].as_str().unwrap());

    // Previous seq crosses to the next page.
    browser.click("[data-testid=details-prev]");
    browser.wait_until("seq 21 on page 3", |b| {
        let range = b.text_of("[data-testid=ledger-range]");
        (b.text_of("[data-testid=details-seq]") == "seq 21" && range.starts_with("Page 3"))
            .then_some(())
    });

    // The child's lineage names its parent; the genesis record says so.
    browser.click("[data-testid=ledger-row][data-seq='1']");
    browser.wait_until("lin-child's ancestors", |b| {
        let ids = b.attributes(
            "[data-testid=lineage-ancestors] [data-testid=lineage-node]",
            "data-signal-id",
        );
        (b.text_of("[data-testid=details-seq]") == "seq 1" && ids == ["lin-parent"]).then_some(())
    });
    browser.click("[data-testid=details-prev]");
    browser.wait_until("the genesis record", |b| {
        let prev = b.text_of("[data-testid=chain-prev]");
        (b.text_of("[data-testid=details-seq]") == "seq 0" && prev.contains("Genesis"))
            .then_some(())
    });
    browser.wait_until("lin-parent's descendants", |b| {
        let ids = b.attributes(
            "[data-testid=lineage-descendants] [data-testid=lineage-node]",
            "data-signal-id",
        );
        (ids == ["lin-child"]).then_some(())
    });
    // Seq 0 is the first record: there is no previous one.
    let disabled = browser.execute(
        "return document.getElementById('details-prev').disabled;",
        &[],
    );
    assert_eq!(disabled, Value::Bool(true));
}

#[test]
fn an_integrity_check_run_in_the_ui_passes_and_is_listed() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("an_integrity_check_run_in_the_ui_passes_and_is_listed")
    else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(300, 9)).0, 200);
    open(&browser, &server, "integrity");
    browser.wait_until("an empty check history", |b| {
        b.try_find("[data-testid=checks-empty]:not([hidden])")
            .map(|_| ())
    });
    assert_eq!(run_check_in_ui(&browser), "PASS");
    let detail = browser.text_of("[data-testid=verdict-detail]");
    assert!(detail.contains("300 entries checked"), "{detail}");
    let (_, checks) = server.get_json("/v1/checks");
    let id = checks["checks"][0]["check_id"].as_u64().unwrap();
    assert!(detail.contains(&format!("check #{id}")), "{detail}");
    browser.wait_until("the check in the history", |b| {
        let ids = b.attributes("[data-testid=check-row]", "data-check-id");
        let results = b.attributes("[data-testid=check-row]", "data-result");
        (ids == [id.to_string()] && results == ["pass"]).then_some(())
    });
    assert_eq!(
        browser.text_of("[data-testid=check-row] .badge"),
        "PASS",
        "the history shows the result"
    );
    screenshot(&browser, "integrity-pass");
}

#[test]
fn a_tampered_sealed_segment_fails_the_check_in_the_ui() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("a_tampered_sealed_segment_fails_the_check_in_the_ui")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_ledger(tmp.path());
    {
        let server = TestServer::start_on(&dir, ServerOptions::default());
        assert_eq!(server.post_ndjson(&demo_ndjson(1500, 21)).0, 200);
    }
    // Flip one byte in the middle of a record of a sealed segment that is not the last one.
    let snapshot = Snapshot::open(&dir).unwrap();
    let segments = snapshot.segments();
    assert!(segments.len() >= 4, "{} segments", segments.len());
    let sealed = 1;
    assert!(segments[sealed].trailer.is_some(), "segment 1 is sealed");
    let entry = snapshot
        .entries()
        .filter_map(Result::ok)
        .filter(|e| e.segment == sealed)
        .nth(3)
        .unwrap();
    let path = segments[sealed].path.clone();
    let at = (entry.offset + 8 + entry.body.len() / 2) as u64;
    let damaged_seq = entry.seq;
    drop(snapshot);
    flip_byte(&path, at);
    let report = verify(&Snapshot::open(&dir).unwrap(), VerifyOptions::default());
    let failure = report.first_failure.expect("the flipped byte is damage");
    assert_eq!(failure.seq, Some(damaged_seq));

    let server = TestServer::start_on(&dir, ServerOptions::default());
    open(&browser, &server, "integrity");
    assert_eq!(run_check_in_ui(&browser), "FAIL");
    let message = browser.text_of("[data-testid=verdict-problem-message]");
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(
        message.contains(file) && message.contains(&format!("seq {damaged_seq}")),
        "{message}"
    );
    assert!(!browser
        .text_of("[data-testid=verdict-problem-kind]")
        .is_empty());
    browser.wait_until("the failed check in the history", |b| {
        (b.attributes("[data-testid=check-row]", "data-result") == ["fail"]).then_some(())
    });
    screenshot(&browser, "integrity-fail");
}

fn flip_byte(path: &std::path::Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, at).unwrap();
    b[0] ^= 0x01;
    file.write_all_at(&b, at).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn writes_from_the_ui_carry_the_stored_token() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("writes_from_the_ui_carry_the_stored_token") else {
        return;
    };
    let server = TestServer::start(ServerOptions {
        token: Some("s3cret-token".to_owned()),
        ..ServerOptions::default()
    });
    let (status, _) = server.post(
        "/v1/signals",
        Some("application/x-ndjson"),
        Some("s3cret-token"),
        demo_ndjson(50, 2).as_bytes(),
    );
    assert_eq!(status, 200);
    open(&browser, &server, "integrity");
    assert_eq!(run_check_in_ui(&browser), "ERROR");
    let detail = browser.text_of("[data-testid=verdict-detail]");
    assert!(detail.contains("401"), "{detail}");

    browser.type_into("[data-testid=token-input]", "s3cret-token");
    assert_eq!(run_check_in_ui(&browser), "PASS");
    // Kept across a reload.
    browser.refresh();
    open(&browser, &server, "integrity");
    let kept = browser.execute("return document.getElementById('token-input').value;", &[]);
    assert_eq!(kept, "s3cret-token");
}

#[test]
fn the_export_links_and_replay_follow_the_form() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("the_export_links_and_replay_follow_the_form") else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(30, 4)).0, 200);
    open(&browser, &server, "export");
    browser.type_into("[data-testid=export-ticker]", "AAPL, MSFT");
    browser.type_into("[data-testid=export-min-conviction]", "0.5");
    // A datetime-local field is typed per locale: set it as a user's picker would.
    browser.execute(
        "const f = document.getElementById('export-from'); f.value = '2026-10-30T14:00:00';\
         f.dispatchEvent(new Event('input', { bubbles: true }));",
        &[],
    );
    for format in ["csv", "ndjson", "bundle"] {
        let want = format!("/v1/export?format={format}&from=2026-10-30T14%3A00%3A00Z&ticker=AAPL&ticker=MSFT&min_conviction=0.5");
        browser.wait_until(&format!("the {format} link"), |b| {
            let href = b.attributes(&format!("[data-testid=export-{format}]"), "href");
            (href == [want.clone()]).then_some(())
        });
    }
    // The form says how many signals it selects.
    let (_, aggregate) = server.get_json(
        "/v1/aggregate?from=2026-10-30T14%3A00%3A00Z&ticker=AAPL&ticker=MSFT&min_conviction=0.5",
    );
    let matching: u64 = aggregate["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    let (_, all) = server.get_json("/v1/aggregate");
    assert!(matching < all["groups"][0]["count"].as_u64().unwrap());
    let want = format!("{matching} signal");
    browser.wait_until("the count of matching signals", |b| {
        b.text_of("[data-testid=export-count]")
            .starts_with(&want)
            .then_some(())
    });
    // A window that ends before it starts disables the links and says why.
    browser.execute(
        "const f = document.getElementById('export-to'); f.value = '2026-10-29T00:00:00';\
         f.dispatchEvent(new Event('input', { bubbles: true }));",
        &[],
    );
    browser.wait_until("the window error", |b| {
        let error = b.text_of("[data-testid=export-form-error]");
        let class = b.attributes("[data-testid=export-csv]", "class");
        (error.contains("From must be before To") && class[0].contains("disabled")).then_some(())
    });

    // The replay panel, once the server has /v1/replay: every matching signal, then the end.
    let (status, _) = server.get("/v1/replay?speed=max&ticker=NO-SUCH-TICKER");
    if status == 404 {
        eprintln!("/v1/replay is not served yet: the replay panel is not exercised");
        return;
    }
    browser.execute(
        "const f = document.getElementById('export-form'); f.reset();\
         f.dispatchEvent(new Event('input', { bubbles: true }));",
        &[],
    );
    browser.execute(
        "document.getElementById('replay-speed').value = 'max';",
        &[],
    );
    browser.click("[data-testid=replay-start]");
    browser.wait_until("the replay's end", |b| {
        let state = b.attributes("[data-testid=replay-status]", "data-state");
        (state == ["done"] || state == ["error"]).then_some(())
    });
    let status = browser.text_of("[data-testid=replay-status]");
    assert_eq!(
        browser.text_of("[data-testid=replay-count]"),
        "30",
        "{status}"
    );
    assert!(
        status.starts_with("Replay complete: 30 signals"),
        "{status}"
    );
    assert_eq!(seqs_of(&browser, "[data-testid=replay-row]").len(), 30);
}

#[test]
fn an_outcome_recorded_from_the_details_panel_is_shown() {
    let _one = one_browser();
    let Some(browser) = browser_or_skip("an_outcome_recorded_from_the_details_panel_is_shown")
    else {
        return;
    };
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(60, 8)).0, 200);
    assert_eq!(server.post_one(&signal("oc-1", "OCTEST", &[])).0, 200);
    open(&browser, &server, "ledger");
    browser.click("[data-testid=ledger-row][data-seq='60']");
    browser.wait_until("seq 60's details", |b| {
        (b.text_of("[data-testid=details-seq]") == "seq 60").then_some(())
    });
    browser.click("[data-testid=outcome-acted-upon] option[value=false]");
    browser.type_into("[data-testid=outcome-reason]", "risk limit reached");
    browser.click("[data-testid=outcome-submit]");
    browser.wait_until("the outcome's seq", |b| {
        (b.text_of("[data-testid=outcome-result]") == "Outcome recorded as seq 61.").then_some(())
    });
    browser.wait_until("the dismissed record", |b| {
        let outcome = b.text_of("[data-testid=ledger-row][data-seq='60'] td:last-child");
        (outcome == "dismissed").then_some(())
    });
    let (_, page) = server.get_json("/v1/signals?ticker=OCTEST");
    assert_eq!(page["records"][0]["acted_upon"], false, "{page}");
    browser.wait_until("the outcome as the head", |b| {
        (b.text_of("[data-testid=status-head-seq]") == "61").then_some(())
    });
}
