//! The HTTP API over loopback: a real server on 127.0.0.1:0 against a temporary ledger, a real
//! HTTP client, and every answer checked against what the libraries say directly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::collections::BTreeSet;

use common::{demo_ndjson, signal, TestServer};
use serde_json::Value;
use signal_ledger_engine::timefmt::parse_rfc3339_ns;
use signal_ledger_engine::{Digest, Direction, SignalType, Snapshot};
use signal_ledger_query::{Catalog, Filter, GroupBy, Order, OrderBy, Query};
use signal_ledger_server::ServerOptions;

fn seqs(v: &Value) -> Vec<u64> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn record_count(server: &TestServer) -> u64 {
    Snapshot::open(&server.dir).unwrap().record_count()
}

#[test]
fn one_signal_and_a_batch_are_durable_and_answered_with_their_seqs() {
    let server = TestServer::start(ServerOptions::default());
    let (status, body) = server.post_one(&signal("one-1", "AAPL", &[]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1);
    assert_eq!(body["seqs"], serde_json::json!([0]));
    assert_eq!(body["already_recorded"], 0);

    let batch = demo_ndjson(300, 7);
    let (status, body) = server.post_ndjson(&batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 300);
    let got: Vec<u64> = body["seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(got, (1..=300).collect::<Vec<_>>());

    // Durable: a fresh snapshot finds every one at its seq.
    let snapshot = Snapshot::open(&server.dir).unwrap();
    assert_eq!(snapshot.record_count(), 301);
    assert_eq!(snapshot.find_signal_id("one-1").unwrap().unwrap().seq, 0);
    for (id, seq) in body["signal_ids"].as_array().unwrap().iter().zip(&got) {
        let found = snapshot
            .find_signal_id(id.as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(found.seq, *seq);
    }

    // A resend of the same signal is not appended again: the original's seq, marked.
    let (status, body) = server.post_one(&signal("one-1", "AAPL", &[]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seqs"], serde_json::json!([0]));
    assert_eq!(body["already_recorded"], 1);
    // A different signal under a taken id is refused, nothing appended.
    let (status, body) = server.post_one(&signal("one-1", "MSFT", &[]));
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("one-1"), "{body}");
    assert_eq!(record_count(&server), 301);
}

#[test]
fn a_bad_line_is_a_400_naming_line_and_field_and_nothing_is_appended() {
    let server = TestServer::start(ServerOptions::default());
    let mut batch = String::new();
    batch.push_str(&signal("b-1", "AAPL", &[]));
    batch.push('\n');
    batch.push_str(&signal("b-2", "AAPL", &[]).replace("0.75", "1.5"));
    batch.push('\n');
    batch.push_str(&signal("b-3", "AAPL", &[]));
    batch.push('\n');
    let (status, body) = server.post_ndjson(&batch);
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("line 2: field conviction"), "{error}");
    assert_eq!(record_count(&server), 0);

    // One object: the field is named too.
    let (status, body) = server.post_one(&signal("b-4", "AAPL", &[]).replace("\"long\"", "\"up\""));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("field direction"),
        "{body}"
    );
    // Not JSON, not UTF-8, empty, or of another content type: refused, never a panic.
    for (ct, bytes) in [
        (Some("application/json"), &b"{not json"[..]),
        (Some("application/json"), &b"\xff\xfe"[..]),
        (Some("application/x-ndjson"), &b"\n\n"[..]),
        (Some("application/json"), &b""[..]),
    ] {
        let (status, body) = server.post("/v1/signals", ct, None, bytes);
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].is_string());
    }
    let (status, _) = server.post("/v1/signals", Some("text/csv"), None, b"a,b");
    assert_eq!(status, 415);
    assert_eq!(record_count(&server), 0);
}

/// (query string, the same filter for the library, order)
fn cases(ticker: &str, source: &str) -> Vec<(String, Filter, Order)> {
    let desc = Order {
        by: OrderBy::Timestamp,
        descending: true,
    };
    let seq_asc = Order {
        by: OrderBy::Seq,
        descending: false,
    };
    let from = "2026-10-20T00:00:00Z";
    let to = "2026-10-28T00:00:00Z";
    vec![
        (
            format!("ticker={ticker}"),
            Filter {
                tickers: vec![ticker.into()],
                ..Filter::default()
            },
            desc,
        ),
        (
            format!("source={source}&order=seq-asc"),
            Filter {
                sources: vec![source.into()],
                ..Filter::default()
            },
            seq_asc,
        ),
        (
            format!("from={from}&to={to}&order=seq-asc"),
            Filter {
                from_ns: Some(parse_rfc3339_ns(from).unwrap()),
                to_ns: Some(parse_rfc3339_ns(to).unwrap()),
                ..Filter::default()
            },
            seq_asc,
        ),
        (
            "min_conviction=0.4&max_conviction=0.8".into(),
            Filter {
                min_conviction: Some(0.4),
                max_conviction: Some(0.8),
                ..Filter::default()
            },
            desc,
        ),
        (
            "direction=long&direction=neutral&type=entry".into(),
            Filter {
                directions: vec![Direction::Long, Direction::Neutral],
                signal_types: vec![SignalType::Entry],
                ..Filter::default()
            },
            desc,
        ),
        (
            "acted_upon=true&order=seq-desc".into(),
            Filter {
                acted_upon: Some(true),
                ..Filter::default()
            },
            Order {
                by: OrderBy::Seq,
                descending: true,
            },
        ),
        (
            "acted_upon=false&order=timestamp-asc".into(),
            Filter {
                acted_upon: Some(false),
                ..Filter::default()
            },
            Order {
                by: OrderBy::Timestamp,
                descending: false,
            },
        ),
    ]
}

#[test]
fn every_filter_answers_what_the_library_answers_and_cursors_page_through_once() {
    let server = TestServer::start(ServerOptions::default());
    let (status, _) = server.post_ndjson(&demo_ndjson(1500, 11));
    assert_eq!(status, 200);
    let catalog = Catalog::open(&server.dir).unwrap();
    assert!(
        catalog.snapshot().segments().len() > 1,
        "the ledger should span segments"
    );
    let first = catalog.snapshot().get(0).unwrap().unwrap();
    let (ticker, source) = (
        first.signal.ticker.clone(),
        first.signal.source_module.clone(),
    );
    for (qs, filter, order) in cases(&ticker, &source) {
        let (status, body) = server.get_json(&format!("/v1/signals?{qs}&limit=10000"));
        assert_eq!(status, 200, "{qs}: {body}");
        let expected = catalog
            .query(&Query {
                filter,
                order,
                limit: 10_000,
                cursor: None,
            })
            .unwrap();
        let expected: Vec<u64> = expected.records.iter().map(|r| r.seq).collect();
        assert!(!expected.is_empty(), "{qs} should match something");
        assert_eq!(seqs(&body), expected, "{qs}");
        assert!(body["next_cursor"].is_null());
    }
    // A record as the CLI prints it: the 22 columns.
    let (_, body) = server.get_json("/v1/signals?limit=1");
    assert_eq!(body["records"][0].as_object().unwrap().len(), 22);

    // Paging: every record exactly once, in both orders.
    for order in ["seq-asc", "timestamp-desc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/signals?order={order}&limit=97&cursor={c}"),
                None => format!("/v1/signals?order={order}&limit=97"),
            };
            let (status, body) = server.get_json(&path);
            assert_eq!(status, 200, "{body}");
            seen.extend(seqs(&body));
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 1500, "{order}");
        assert_eq!(
            seen.iter().copied().collect::<BTreeSet<_>>(),
            (0..1500).collect(),
            "{order}"
        );
    }

    // Bad parameters: 400 naming them.
    for (qs, names) in [
        ("ticker=AAPL&colour=red", "colour"),
        ("min_conviction=2", "min_conviction"),
        ("direction=up", "direction"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("order=random", "order"),
        ("cursor=zzz", "cursor"),
        ("acted_upon=maybe", "acted_upon"),
        ("limit=5&limit=6", "limit"),
    ] {
        let (status, body) = server.get_json(&format!("/v1/signals?{qs}"));
        assert_eq!(status, 400, "{qs}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(names),
            "{qs}: {body}"
        );
    }
}

#[test]
fn aggregate_matches_the_library_and_lineage_finds_parents_and_children() {
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(server.post_ndjson(&demo_ndjson(500, 3)).0, 200);
    let catalog = Catalog::open(&server.dir).unwrap();
    for (qs, group) in [
        ("", None),
        ("?group_by=source", Some(GroupBy::Source)),
        ("?group_by=day&direction=short", Some(GroupBy::Day)),
    ] {
        let (status, body) = server.get_json(&format!("/v1/aggregate{qs}"));
        assert_eq!(status, 200, "{body}");
        let filter = if qs.contains("short") {
            Filter {
                directions: vec![Direction::Short],
                ..Filter::default()
            }
        } else {
            Filter::default()
        };
        let rows = catalog.aggregate(&filter, group).unwrap();
        let groups = body["groups"].as_array().unwrap();
        assert_eq!(groups.len(), rows.len(), "{qs}");
        for (g, r) in groups.iter().zip(&rows) {
            assert_eq!(g["key"], r.key.as_str());
            assert_eq!(g["count"], r.count);
            assert!((g["avg_conviction"].as_f64().unwrap() - r.avg_conviction).abs() < 1e-12);
        }
    }
    assert_eq!(server.get_json("/v1/aggregate?group_by=week").0, 400);

    // parent <- child <- grandchild
    let lines = [
        signal("L-parent", "NVDA", &[]),
        signal("L-child", "NVDA", &["L-parent"]),
        signal("L-grandchild", "NVDA", &["L-child", "L-missing"]),
    ]
    .join("\n");
    assert_eq!(server.post_ndjson(&lines).0, 200);
    let (status, body) = server.get_json("/v1/lineage/L-child");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["signal"]["signal_id"], "L-child");
    assert_eq!(body["ancestors"]["nodes"][0]["signal_id"], "L-parent");
    assert_eq!(body["ancestors"]["nodes"][0]["found"], true);
    assert_eq!(body["descendants"]["nodes"][0]["signal_id"], "L-grandchild");
    let (_, body) = server.get_json("/v1/lineage/L-grandchild?depth=1");
    let parents: Vec<&str> = body["ancestors"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["signal_id"].as_str().unwrap())
        .collect();
    assert!(
        parents.contains(&"L-child") && parents.contains(&"L-missing"),
        "{body}"
    );
    let (status, body) = server.get_json("/v1/lineage/no-such-signal");
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no-such-signal"));
}

#[test]
fn verify_is_recorded_in_checks_and_digest_stats_metrics_agree() {
    let server = TestServer::start(ServerOptions::default());
    let (status, body) = server.get_json("/v1/digest");
    assert_eq!(status, 404, "an empty ledger has no head: {body}");
    assert_eq!(server.post_ndjson(&demo_ndjson(200, 5)).0, 200);

    let (status, verdict) = server.post("/v1/verify", None, None, b"");
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["intact"], true);
    assert_eq!(verdict["records_checked"], 200);
    assert_eq!(verdict["head_seq"], 199);
    // The engine's one verdict shape, as `verify --json --record` prints it.
    let keys: Vec<&str> = verdict
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected_keys = vec![
        "intact",
        "records_checked",
        "from_seq",
        "head_seq",
        "head_hash",
        "elapsed_ms",
        "first_failure",
        "against",
        "torn_tail",
        "check_id",
    ];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected_keys.sort_unstable();
    assert_eq!(sorted, expected_keys, "{verdict}");
    assert!(verdict["torn_tail"].is_null() && verdict["against"].is_null());
    let (status, checks) = server.get_json("/v1/checks");
    assert_eq!(status, 200);
    let list = checks["checks"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["check_id"], verdict["check_id"]);
    assert_eq!(list[0]["chain_valid"], true);
    assert_eq!(list[0]["mode"], "full");
    assert_eq!(list[0]["actual_count"], 200);
    assert!(checks["check_log_damage"].is_null());
    let (_, failed) = server.get_json("/v1/checks?failed=true");
    assert!(failed["checks"].as_array().unwrap().is_empty());
    // A range check.
    let (_, verdict) = server.post("/v1/verify?from_seq=10&to_seq=19", None, None, b"");
    assert_eq!(verdict["records_checked"], 10);
    let (_, checks) = server.get_json("/v1/checks");
    assert_eq!(checks["checks"][1]["mode"], "range");

    let (status, text) = server.get("/v1/digest");
    assert_eq!(status, 200);
    let expected = Digest::of_head(&Snapshot::open(&server.dir).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(Digest::parse(&text).unwrap(), expected);
    assert_eq!(text, expected.to_json());

    let (status, stats) = server.get_json("/v1/stats");
    assert_eq!(status, 200);
    assert_eq!(stats["records"], 200);
    assert_eq!(stats["next_seq"], 200);
    assert_eq!(stats["head_seq"], 199);
    assert!(stats["segments"].as_u64().unwrap() >= 1);
    assert_eq!(stats["sink"]["durable"], 200);
    assert_eq!(stats["sink"]["recorded"], 200);
    // The engine's `stats` object (as the CLI prints it) with the server's counters.
    assert_eq!(stats["config"]["durability"], "fdatasync");
    assert_eq!(stats["check_log"]["checks"], 2);
    assert!(stats["format_version"].as_u64().is_some());
    assert!(stats["server"]["queries"].as_u64().is_some());

    server.get_json("/v1/signals?limit=3");
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        "signal_ledger_signals_recorded_total 200",
        "signal_ledger_signals_durable_total 200",
        "signal_ledger_records 200",
        "signal_ledger_queries_total 1",
        "signal_ledger_persist_latency_ms{quantile=\"0.99\"}",
        "signal_ledger_persist_latency_ms_count 200",
        "signal_ledger_appends_total 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[test]
fn with_a_token_writes_need_it_and_reads_do_not() {
    let server = TestServer::start(ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    });
    let one = signal("t-1", "AAPL", &[]);
    for token in [None, Some("wrong")] {
        let (status, body) = server.post(
            "/v1/signals",
            Some("application/json"),
            token,
            one.as_bytes(),
        );
        assert_eq!(status, 401, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("Authorization")
                || body["error"].as_str().unwrap().contains("token")
        );
        assert_eq!(server.post("/v1/verify", None, token, b"").0, 401);
    }
    assert_eq!(record_count(&server), 0);
    let (status, body) = server.post(
        "/v1/signals",
        Some("application/json"),
        Some("s3cret"),
        one.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.post("/v1/verify", None, Some("s3cret"), b"").0, 200);
    for path in [
        "/v1/signals",
        "/v1/aggregate",
        "/v1/lineage/t-1",
        "/v1/checks",
        "/v1/digest",
        "/v1/stats",
        "/metrics",
    ] {
        assert_eq!(server.get(path).0, 200, "{path}");
    }
}

#[test]
fn a_body_over_the_limit_is_a_413_saying_the_limit() {
    let server = TestServer::start(ServerOptions {
        body_limit: 4096,
        ..ServerOptions::default()
    });
    let big = demo_ndjson(40, 1);
    assert!(big.len() > 4096);
    let (status, body) = server.post_ndjson(&big);
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("4096 bytes"),
        "{body}"
    );
    assert_eq!(record_count(&server), 0);
    // Unknown routes and methods answer JSON too.
    assert_eq!(server.get_json("/v2/nothing").0, 404);
    assert_eq!(server.post("/v1/stats", None, None, b"").0, 405);
}

#[test]
fn concurrent_producers_are_grouped_by_the_one_sink() {
    let server = TestServer::start(ServerOptions::default());
    std::thread::scope(|s| {
        for p in 0..8 {
            let server = &server;
            s.spawn(move || {
                for i in 0..25 {
                    let (status, body) =
                        server.post_one(&signal(&format!("c-{p}-{i}"), "AMD", &[]));
                    assert_eq!(status, 200, "{body}");
                }
            });
        }
    });
    assert_eq!(record_count(&server), 200);
    let (_, stats) = server.get_json("/v1/stats");
    assert_eq!(stats["sink"]["durable"], 200);
    assert!(stats["sink"]["batches"].as_u64().unwrap() <= 200);
}

#[test]
fn a_full_sink_queue_is_a_503_and_nothing_of_that_request_is_appended() {
    // One signal fills the queue, and the writer waits up to 2 s for a group to fill.
    let config = signal_ledger_engine::SinkConfig {
        batch_size: 1000,
        flush_interval: std::time::Duration::from_secs(2),
        max_queued_signals: 1,
        backpressure_timeout: std::time::Duration::from_millis(50),
        metrics_file: false,
        ..signal_ledger_engine::SinkConfig::default()
    };
    let server = TestServer::start_with(ServerOptions::default(), Some(config));
    std::thread::scope(|s| {
        let first = s.spawn(|| server.post_one(&signal("q-1", "AAPL", &[])));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (status, body) = server.post_one(&signal("q-2", "AAPL", &[]));
        assert_eq!(status, 503, "{body}");
        assert!(body["error"].as_str().unwrap().contains("queue"), "{body}");
        let (status, body) = first.join().unwrap();
        assert_eq!(status, 200, "{body}");
    });
    let snapshot = Snapshot::open(&server.dir).unwrap();
    assert_eq!(snapshot.record_count(), 1);
    assert!(snapshot.find_signal_id("q-2").unwrap().is_none());
    let (_, text) = server.get("/metrics");
    assert!(
        text.contains("signal_ledger_signals_refused_full_total 1"),
        "{text}"
    );
}

#[test]
fn the_default_limit_is_16_mib() {
    let server = TestServer::start(ServerOptions::default());
    let mut body = demo_ndjson(1, 1);
    let line = body.clone();
    while body.len() <= 16 * 1024 * 1024 {
        body.push_str(&line);
    }
    let (status, answer) = server.post_ndjson(&body);
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("16 MiB"),
        "{answer}"
    );
    assert_eq!(record_count(&server), 0);
}

#[test]
fn writes_from_another_sites_page_or_without_a_content_type_are_refused() {
    let server = TestServer::start(ServerOptions::default());
    let one = signal("csrf-1", "AAPL", &[]);
    let host = server.base.strip_prefix("http://").unwrap().to_owned();
    let json = ("Content-Type", "application/json");
    // What a page of another site can make a browser send without asking first.
    let refused: [(&[(&str, &str)], u16); 5] = [
        (&[json, ("Origin", "http://evil.example")], 403),
        (&[json, ("Sec-Fetch-Site", "cross-site")], 403),
        (&[json, ("Sec-Fetch-Site", "same-site")], 403),
        (&[], 415),
        (&[("Content-Type", "text/plain")], 415),
    ];
    for (headers, expected) in refused {
        let (status, answer) = server.post_with("/v1/signals", headers, one.as_bytes());
        assert_eq!(status, expected, "{headers:?}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let (status, _) = server.post_with("/v1/verify", &[("Origin", "http://evil.example")], b"");
    assert_eq!(status, 403, "a cross-site page cannot start checks either");
    assert_eq!(record_count(&server), 0);
    // The server's own pages (the dashboard) and programs are let through.
    let origin = format!("http://{host}");
    let same: [&[(&str, &str)]; 3] = [
        &[
            json,
            ("Origin", origin.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &[json, ("Sec-Fetch-Site", "none")],
        &[json],
    ];
    for (n, headers) in same.into_iter().enumerate() {
        let body = signal(&format!("same-{n}"), "AAPL", &[]);
        let (status, answer) = server.post_with("/v1/signals", headers, body.as_bytes());
        assert_eq!(status, 200, "{headers:?}: {answer}");
    }
    assert_eq!(record_count(&server), 3);
}
