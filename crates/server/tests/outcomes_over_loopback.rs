//! POST /v1/outcomes over loopback: outcomes recorded through the shared sink after the
//! signals they name, answered once durable, shown by the signals' `acted_upon`, and refused
//! whole with the line at fault.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::collections::BTreeSet;

use common::{outcome, signal, TestServer};
use serde_json::Value;
use signal_ledger_engine::record::EntryRecord;
use signal_ledger_engine::Snapshot;
use signal_ledger_server::ServerOptions;

/// Records signals `ids` (one NDJSON request) and returns their seqs.
fn record_signals(server: &TestServer, ids: &[&str]) -> Vec<u64> {
    let body: String = ids
        .iter()
        .map(|id| format!("{}\n", signal(id, "AAPL", &[])))
        .collect();
    let (status, answer) = server.post_ndjson(&body);
    assert_eq!(status, 200, "{answer}");
    answer["seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect()
}

/// The signal_ids GET /v1/signals answers for `query`.
fn ids(server: &TestServer, query: &str) -> BTreeSet<String> {
    let (status, page) = server.get_json(&format!("/v1/signals?{query}"));
    assert_eq!(status, 200, "{page}");
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal_id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn next_seq(server: &TestServer) -> u64 {
    let (status, stats) = server.get_json("/v1/stats");
    assert_eq!(status, 200, "{stats}");
    stats["next_seq"].as_u64().unwrap()
}

/// The (seq, signal_seq) of each outcome of an answer.
fn seqs(answer: &Value) -> Vec<(u64, u64)> {
    answer["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["seq"].as_u64().unwrap(),
                o["signal_seq"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn one_outcome_and_a_batch_are_durable_answered_with_their_seqs_and_queryable() {
    let server = TestServer::start(ServerOptions::default());
    assert_eq!(
        record_signals(&server, &["o-1", "o-2", "o-3", "o-4"]),
        [0, 1, 2, 3]
    );

    let (status, answer) = server.post_one_outcome(&outcome("o-1", true));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["count"], 1);
    assert_eq!(seqs(&answer), [(4, 0)]);
    let first = &answer["outcomes"][0];
    assert_eq!(first["signal_id"], "o-1");
    assert_eq!(first["acted_upon"], true);
    assert_eq!(answer["head_hash"], first["row_hash"]);
    // Durable: a fresh reader finds the entry the answer describes.
    let snapshot = Snapshot::open(&server.dir).unwrap();
    match snapshot.entry_record(4).unwrap().unwrap() {
        EntryRecord::Outcome(o) => {
            assert_eq!(o.outcome.signal_id, "o-1");
            assert_eq!(o.outcome.execution_id.as_deref(), Some("ex-o-1"));
            assert_eq!(first["row_hash"], o.row_hash.to_hex());
        }
        other => panic!("expected an outcome at seq 4, got {other:?}"),
    }

    let batch = format!(
        "{}\n{}\r\n\n{}\n",
        outcome("o-2", true),
        outcome("o-3", false),
        outcome("o-4", true)
    );
    let (status, answer) = server.post_ndjson_outcomes(&batch);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["count"], 3);
    assert_eq!(seqs(&answer), [(5, 1), (6, 2), (7, 3)]);
    let acted: Vec<&Value> = answer["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["acted_upon"])
        .collect();
    assert_eq!(
        acted,
        [&Value::Bool(true), &Value::Bool(false), &Value::Bool(true)]
    );
    assert_eq!(answer["head_hash"], answer["outcomes"][2]["row_hash"]);

    assert_eq!(ids(&server, "acted_upon=true"), set(&["o-1", "o-2", "o-4"]));
    assert_eq!(ids(&server, "acted_upon=false"), set(&["o-3"]));
    let (_, page) = server.get_json("/v1/signals?acted_upon=true&order=seq-asc");
    assert_eq!(page["records"][0]["execution_id"], "ex-o-1");

    // A later outcome for the same signal is the one readers show.
    let (status, answer) = server.post_one_outcome(&outcome("o-1", false));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seqs(&answer), [(8, 0)]);
    assert_eq!(ids(&server, "acted_upon=true"), set(&["o-2", "o-4"]));

    let (_, stats) = server.get_json("/v1/stats");
    assert_eq!(stats["next_seq"], 9);
    assert_eq!(stats["sink"]["outcomes_durable"], 5);
    assert_eq!(stats["sink"]["durable"], 4, "signals only");
}

#[test]
fn an_unknown_signal_id_is_a_400_naming_its_line_and_nothing_is_appended() {
    let server = TestServer::start(ServerOptions::default());
    record_signals(&server, &["u-1", "u-2"]);
    let before = next_seq(&server);

    let batch = format!(
        "{}\n{}\n{}\n",
        outcome("u-1", true),
        outcome("ghost", true),
        outcome("u-2", true)
    );
    let (status, answer) = server.post_ndjson_outcomes(&batch);
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("line 2: field signal_id:"), "{error}");
    assert!(error.contains("\"ghost\""), "{error}");
    assert!(error.contains("nothing recorded"), "{error}");
    assert_eq!(
        next_seq(&server),
        before,
        "nothing of the batch was appended"
    );
    assert!(ids(&server, "acted_upon=true").is_empty());

    // Line numbers count every line of the body, blank ones too.
    let batch = format!("{}\n\n{}\n", outcome("u-2", false), outcome("ghost", false));
    let (status, answer) = server.post_ndjson_outcomes(&batch);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("line 3:"),
        "{answer}"
    );

    // One outcome: line 1.
    let (status, answer) = server.post_one_outcome(&outcome("ghost", true));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("line 1: field signal_id:"),
        "{answer}"
    );
    assert_eq!(next_seq(&server), before);

    // The sink goes on: the good outcomes alone are recorded.
    let (status, answer) = server.post_one_outcome(&outcome("u-1", true));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seqs(&answer), [(before, 0)]);
}

#[test]
fn a_bad_line_is_a_400_naming_line_and_field_and_other_bodies_are_refused() {
    let server = TestServer::start(ServerOptions::default());
    record_signals(&server, &["b-1"]);
    let before = next_seq(&server);
    let batch = format!(
        "{}\n{}\n",
        outcome("b-1", true),
        r#"{"signal_id":"b-1","acted_upon":"yes"}"#
    );
    let (status, answer) = server.post_ndjson_outcomes(&batch);
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("line 2: field acted_upon:"), "{error}");

    let (status, answer) =
        server.post_one_outcome(r#"{"signal_id":"b-1","acted_upon":true,"at":"yesterday"}"#);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("line 1: field at:"),
        "{answer}"
    );

    let (status, answer) = server.post_ndjson_outcomes("\n\n");
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("no outcome"),
        "{answer}"
    );

    let (status, answer) = server.post_outcomes("text/plain", None, &outcome("b-1", true));
    assert_eq!(status, 415, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("application/x-ndjson"),
        "{answer}"
    );
    assert_eq!(next_seq(&server), before);
}

#[test]
fn a_body_over_the_limit_is_a_413() {
    let server = TestServer::start(ServerOptions {
        body_limit: 4096,
        ..ServerOptions::default()
    });
    record_signals(&server, &["l-1"]);
    let line = format!("{}\n", outcome("l-1", true));
    let big = line.repeat(4096 / line.len() + 1);
    assert!(big.len() > 4096);
    let (status, answer) = server.post_ndjson_outcomes(&big);
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("4096 bytes"),
        "{answer}"
    );
    assert_eq!(next_seq(&server), 1);
}

#[test]
fn with_a_token_outcomes_need_it() {
    let server = TestServer::start(ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    });
    let one = signal("t-1", "AAPL", &[]);
    let (status, answer) = server.post(
        "/v1/signals",
        Some("application/json"),
        Some("s3cret"),
        one.as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    for token in [None, Some("wrong")] {
        let (status, answer) =
            server.post_outcomes("application/json", token, &outcome("t-1", true));
        assert_eq!(status, 401, "{answer}");
    }
    assert_eq!(next_seq(&server), 1);
    let (status, answer) =
        server.post_outcomes("application/json", Some("s3cret"), &outcome("t-1", true));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seqs(&answer), [(1, 0)]);
}
