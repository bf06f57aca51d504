//! `outcome` appends outcome entries after the signals they name (one from the flags, or a whole
//! NDJSON file as one atomic batch); every reader (`get`, `query`, `aggregate`, `export`) shows a
//! signal's latest outcome, `get --outcomes` its history and `tail` the entries as stored. An
//! unknown signal_id or a bad line refuses everything. `upgrade` moves a format-version-1 ledger
//! on, after which the writer's commands work and an old digest still holds.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A new ledger in `tmp` holding `generate(count, seed)`.
fn ledger_of(tmp: &Path, count: usize, seed: u64) -> PathBuf {
    let dir = tmp.join("l");
    on(&dir, &["init"]).ok();
    on_with_input(&dir, &["ingest"], generate(count, seed).as_bytes()).ok();
    dir
}

/// Every entry of the ledger, oldest first, by `tail`.
fn all_entries(dir: &Path) -> Vec<Value> {
    let n = records(dir).to_string();
    json_lines(on(dir, &["tail", "-n", &n]).ok())
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

/// Asserts a refused run: exit 2, nothing on stdout, exactly one `error: ` line on stderr.
fn refused(out: &Out) -> &str {
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("error: "), "{out:?}");
    out.stderr.trim_end()
}

#[test]
fn acted_then_dismissed_reads_back_as_dismissed_with_both_outcomes_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger_of(tmp.path(), 20, 7);
    // A signal that was acted upon in its own columns, so the dismissal visibly clears them.
    let signal = all_entries(&dir)
        .into_iter()
        .find(|r| r["acted_upon"] == true && r["execution_id"].is_string())
        .expect("generate gives some acted-upon signals");
    let id = str_of(&signal, "signal_id").to_owned();
    let signal_seq = signal["seq"].as_u64().unwrap();
    let head_before = stats(&dir)["head_hash"].clone();

    let acted = on(
        &dir,
        &[
            "outcome",
            &id,
            "--acted",
            "--execution-id",
            "ex-1",
            "--reason",
            "filled at limit",
            "--at",
            "2026-11-01T10:00:00Z",
        ],
    )
    .json();
    assert_eq!(acted["count"], 1);
    assert_eq!(
        acted["outcomes"][0],
        json!({
            "seq": 20,
            "signal_seq": signal_seq,
            "signal_id": id,
            "acted_upon": true,
            "row_hash": acted["head_hash"],
        })
    );
    let got = on(&dir, &["get", "--signal-id", &id]).json();
    assert_eq!(
        (&got["acted_upon"], &got["execution_id"]),
        (&json!(true), &json!("ex-1"))
    );

    // Another zone and a fraction: `at` reads back in UTC.
    let dismissed = on(
        &dir,
        &[
            "outcome",
            &id,
            "--dismissed",
            "--at",
            "2026-11-01T11:30:00.5+01:00",
        ],
    )
    .json();
    assert_eq!(dismissed["count"], 1);
    assert_eq!(dismissed["outcomes"][0]["seq"], 21);
    assert_eq!(dismissed["outcomes"][0]["signal_seq"], signal_seq);
    assert_eq!(dismissed["outcomes"][0]["acted_upon"], false);
    assert_eq!(dismissed["outcomes"][0]["row_hash"], dismissed["head_hash"]);
    assert_eq!(stats(&dir)["head_hash"], dismissed["head_hash"]);

    // The latest outcome replaces both columns; everything else is the signal as stored.
    let got = on(&dir, &["get", "--signal-id", &id]).json();
    let mut expected = signal.clone();
    expected["acted_upon"] = json!(false);
    expected["execution_id"] = Value::Null;
    assert_eq!(got, expected);
    assert_eq!(on(&dir, &["get", &signal_seq.to_string()]).json(), expected);

    // The whole history, oldest first, chained after the signals.
    let with = on(&dir, &["get", "--signal-id", &id, "--outcomes"]).json();
    let outcomes = with["outcomes"].as_array().unwrap().clone();
    let mut without = with.clone();
    without.as_object_mut().unwrap().remove("outcomes");
    assert_eq!(without, expected);
    assert_eq!(outcomes.len(), 2, "{with}");
    let keys = [
        "seq",
        "kind",
        "signal_id",
        "signal_seq",
        "acted_upon",
        "execution_id",
        "reason",
        "at",
        "recorded_at",
        "prev_hash",
        "row_hash",
    ];
    for o in &outcomes {
        let mut got_keys: Vec<&str> = o.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = keys.to_vec();
        got_keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(got_keys, want, "{o}");
        assert_eq!(o["kind"], "outcome");
        assert_eq!(o["signal_id"], id.as_str());
        assert_eq!(o["signal_seq"], signal_seq);
        assert!(str_of(o, "recorded_at").ends_with('Z'), "{o}");
    }
    let (first, second) = (&outcomes[0], &outcomes[1]);
    assert_eq!(first["seq"], 20);
    assert_eq!(first["acted_upon"], true);
    assert_eq!(first["execution_id"], "ex-1");
    assert_eq!(first["reason"], "filled at limit");
    assert_eq!(first["at"], "2026-11-01T10:00:00Z");
    assert_eq!(first["prev_hash"], head_before);
    assert_eq!(first["row_hash"], acted["head_hash"]);
    assert_eq!(second["seq"], 21);
    assert_eq!(second["acted_upon"], false);
    assert_eq!(second["execution_id"], Value::Null);
    assert_eq!(second["reason"], Value::Null);
    assert_eq!(second["at"], "2026-11-01T10:30:00.500Z");
    assert_eq!(second["prev_hash"], first["row_hash"]);
    assert_eq!(second["row_hash"], dismissed["head_hash"]);

    // `get SEQ` of an outcome entry prints it as stored; `tail` shows both entries as lines.
    assert_eq!(&on(&dir, &["get", "20"]).json(), first);
    assert_eq!(&on(&dir, &["get", "21"]).json(), second);
    assert_eq!(json_lines(on(&dir, &["tail", "-n", "2"]).ok()), outcomes);

    let out = on(&dir, &["verify"]);
    assert!(
        out.ok()
            .starts_with("intact: 22 records checked (seq 0..=21)"),
        "{}",
        out.stdout
    );
    let v = on(&dir, &["verify", "--json"]).json();
    assert_eq!(
        (&v["intact"], &v["records_checked"]),
        (&json!(true), &json!(22))
    );
}

#[test]
fn query_aggregate_and_export_see_the_latest_outcome_of_each_signal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger_of(tmp.path(), 60, 11);
    let signals = all_entries(&dir);
    assert_eq!(signals.len(), 60);
    let own_acted = |r: &&Value| r["acted_upon"] == true;
    let acted: Vec<&Value> = signals.iter().filter(own_acted).collect();
    let not_acted: Vec<&Value> = signals.iter().filter(|r| !own_acted(r)).collect();
    assert!(acted.len() >= 3 && not_acted.len() >= 3, "a mix to work on");
    let id = |r: &Value| str_of(r, "signal_id").to_owned();
    // acted, then dismissed: no longer acted upon.
    let a = id(acted[0]);
    // not acted, then acted: acted upon.
    let b = id(not_acted[0]);
    // not acted, acted, then dismissed: not acted upon.
    let c = id(not_acted[1]);
    // acted, dismissed, then acted again: acted upon.
    let d = id(acted[1]);
    on(&dir, &["outcome", &a, "--dismissed", "--reason", "stale"]).ok();
    on(&dir, &["outcome", &b, "--acted", "--execution-id", "ex-b"]).ok();
    on(&dir, &["outcome", &c, "--acted", "--execution-id", "ex-c"]).ok();
    on(&dir, &["outcome", &d, "--dismissed"]).ok();
    on(&dir, &["outcome", &c, "--dismissed"]).ok();
    on(&dir, &["outcome", &d, "--acted", "--execution-id", "ex-d"]).ok();
    assert_eq!(records(&dir), 66);

    let latest_acted = |r: &Value| -> bool {
        let i = id(r);
        if i == a || i == c {
            false
        } else if i == b || i == d {
            true
        } else {
            r["acted_upon"] == true
        }
    };
    let expected: Vec<String> = signals.iter().filter(|r| latest_acted(r)).map(id).collect();
    let others: Vec<String> = signals
        .iter()
        .filter(|r| !latest_acted(r))
        .map(id)
        .collect();
    assert!(expected.contains(&b) && expected.contains(&d));
    assert!(!expected.contains(&a) && !expected.contains(&c));

    let query = |acted: &str| -> Vec<Value> {
        json_lines(
            on(
                &dir,
                &[
                    "query",
                    "--acted-upon",
                    acted,
                    "--order",
                    "seq-asc",
                    "--limit",
                    "1000",
                    "--format",
                    "ndjson",
                ],
            )
            .ok(),
        )
    };
    let ids = |v: &[Value]| v.iter().map(id).collect::<Vec<_>>();
    let found = query("true");
    assert_eq!(ids(&found), expected);
    assert!(found.iter().all(|r| r["acted_upon"] == true));
    let by_id = |v: &[Value], want: &str| v.iter().find(|r| id(r) == want).unwrap().clone();
    assert_eq!(by_id(&found, &b)["execution_id"], "ex-b");
    assert_eq!(by_id(&found, &d)["execution_id"], "ex-d");
    let not_found = query("false");
    assert_eq!(ids(&not_found), others, "absent counts as false");
    assert_eq!(by_id(&not_found, &a)["acted_upon"], false);
    assert_eq!(by_id(&not_found, &a)["execution_id"], Value::Null);
    assert_eq!(by_id(&not_found, &c)["execution_id"], Value::Null);

    // export: every signal (no outcome lines), each with its latest outcome applied.
    let exported = json_lines(on(&dir, &["export", "--format", "ndjson", "--out", "-"]).ok());
    assert_eq!(ids(&exported), ids(&signals));
    for (e, s) in exported.iter().zip(&signals) {
        assert_eq!(e["acted_upon"] == true, latest_acted(s), "{e}");
        assert_eq!(
            e["row_hash"], s["row_hash"],
            "the stored entry is unchanged"
        );
    }
    let file = tmp.path().join("acted.ndjson");
    on(
        &dir,
        &[
            "export",
            "--acted-upon",
            "true",
            "--format",
            "ndjson",
            "--out",
            file.to_str().unwrap(),
        ],
    )
    .ok();
    let from_file = json_lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(from_file, found, "export and query agree");

    // aggregate counts the same signals.
    let agg = on(&dir, &["aggregate", "--acted-upon", "true"]).json();
    assert_eq!(agg["count"], expected.len());
    let all = on(&dir, &["aggregate"]).json();
    assert_eq!(all["count"], 60, "outcome entries are not signals");
    let rate = all["acted_upon_rate"].as_f64().unwrap();
    assert!((rate - expected.len() as f64 / 60.0).abs() < 1e-9, "{all}");
}

#[test]
fn an_outcome_for_an_unknown_signal_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger_of(tmp.path(), 5, 3);
    let known = str_of(&on(&dir, &["get", "0"]).json(), "signal_id").to_owned();
    let before = stats(&dir);
    let digest = on(&dir, &["digest"]).ok().to_owned();

    let out = on(&dir, &["outcome", "sig-unknown", "--acted"]);
    let line = refused(&out);
    assert!(
        line.contains(r#"no signal with signal_id "sig-unknown" is recorded"#),
        "{line}"
    );

    // In a batch, one unknown id refuses the good outcomes with it.
    let batch = format!(
        "{{\"signal_id\":\"{known}\",\"acted_upon\":true}}\n{{\"signal_id\":\"sig-gone\",\"acted_upon\":false}}\n"
    );
    let out = on_with_input(&dir, &["outcome", "--file", "-"], batch.as_bytes());
    let line = refused(&out);
    assert!(
        line.contains(r#"no signal with signal_id "sig-gone" is recorded"#),
        "{line}"
    );

    // The seq of a signal is not its signal_id.
    let out = on(&dir, &["outcome", "0", "--dismissed"]);
    assert!(refused(&out).contains(r#"signal_id "0""#), "{out:?}");

    assert_eq!(stats(&dir), before);
    assert_eq!(on(&dir, &["digest"]).ok(), digest);
    assert!(on(&dir, &["verify"])
        .ok()
        .starts_with("intact: 5 records checked"));
    assert_eq!(
        on(&dir, &["get", "--signal-id", &known, "--outcomes"]).json()["outcomes"],
        json!([])
    );

    // Usage: exactly one of --acted and --dismissed.
    let out = on(&dir, &["outcome", &known, "--acted", "--dismissed"]);
    assert!(refused(&out).contains("cannot be used with"), "{out:?}");
    let out = on(&dir, &["outcome", &known]);
    assert!(refused(&out).contains("--acted"), "{out:?}");
    let out = on(&dir, &["outcome", &known, "--acted", "--at", "2026-01-05"]);
    assert_eq!(
        refused(&out),
        r#"error: --at "2026-01-05": "2026-01-05" is not an RFC 3339 timestamp with a zone"#
    );
    assert_eq!(stats(&dir), before);
}

#[test]
fn an_outcome_file_is_one_atomic_batch_and_a_bad_line_refuses_it_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = ledger_of(tmp.path(), 10, 5);
    let signals = all_entries(&dir);
    let id = |i: usize| str_of(&signals[i], "signal_id").to_owned();
    let (s1, s4, s7) = (id(1), id(4), id(7));

    let good = format!(
        "{{\"signal_id\":\"{s1}\",\"acted_upon\":true,\"execution_id\":\"ex-1\",\"reason\":\"filled\",\"at\":\"2026-11-02T09:00:00Z\"}}\n\
         {{\"signal_id\":\"{s4}\",\"acted_upon\":false}}\n\
         {{\"signal_id\":\"{s7}\",\"acted_upon\":true,\"execution_id\":null,\"at\":\"2026-11-02T10:00:00-05:00\"}}\n"
    );
    let path = tmp.path().join("outcomes.ndjson");
    std::fs::write(&path, &good).unwrap();
    let receipt = on(&dir, &["outcome", "--file", path.to_str().unwrap()]).json();
    assert_eq!(receipt["count"], 3);
    let listed = receipt["outcomes"].as_array().unwrap();
    let seqs: Vec<u64> = listed.iter().map(|o| o["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [10, 11, 12], "consecutive after the head");
    let signal_seqs: Vec<u64> = listed
        .iter()
        .map(|o| o["signal_seq"].as_u64().unwrap())
        .collect();
    assert_eq!(signal_seqs, [1, 4, 7]);
    let acted: Vec<&Value> = listed.iter().map(|o| &o["acted_upon"]).collect();
    assert_eq!(acted, [&json!(true), &json!(false), &json!(true)]);
    assert_eq!(listed[2]["row_hash"], receipt["head_hash"]);
    let s = stats(&dir);
    assert_eq!(
        (&s["records"], &s["head_hash"]),
        (&json!(13), &receipt["head_hash"])
    );
    let history = on(&dir, &["get", "--signal-id", &s1, "--outcomes"]).json();
    let o = &history["outcomes"][0];
    assert_eq!(
        (&o["execution_id"], &o["reason"], &o["at"]),
        (
            &json!("ex-1"),
            &json!("filled"),
            &json!("2026-11-02T09:00:00Z")
        )
    );
    let history = on(&dir, &["get", "--signal-id", &s7, "--outcomes"]).json();
    assert_eq!(history["outcomes"][0]["at"], "2026-11-02T15:00:00Z");
    assert_eq!(history["acted_upon"], true);
    assert_eq!(history["execution_id"], Value::Null);
    let with_tail: Vec<Value> = json_lines(on(&dir, &["tail", "-n", "3"]).ok());
    assert!(with_tail.iter().all(|e| e["kind"] == "outcome"));
    assert_eq!(
        with_tail
            .iter()
            .map(|e| e["seq"].clone())
            .collect::<Vec<_>>(),
        [10, 11, 12]
    );
    let before = stats(&dir);

    // A bad line 2 refuses the whole file, good lines 1 and 3 included.
    let bad = format!(
        "{{\"signal_id\":\"{s1}\",\"acted_upon\":false}}\n\
         {{\"signal_id\":\"{s4}\",\"acted_upon\":\"yes\"}}\n\
         {{\"signal_id\":\"{s7}\",\"acted_upon\":false}}\n"
    );
    let bad_path = tmp.path().join("bad.ndjson");
    std::fs::write(&bad_path, &bad).unwrap();
    let out = on(&dir, &["outcome", "--file", bad_path.to_str().unwrap()]);
    let line = refused(&out);
    assert!(
        line.starts_with(&format!(
            "error: {}: line 2: field acted_upon: ",
            bad_path.display()
        )),
        "{line}"
    );
    assert!(line.contains("boolean"), "{line}");
    assert!(line.ends_with("; nothing was appended"), "{line}");
    assert_eq!(stats(&dir), before);

    // More bad lines are counted as `ingest` counts them, in the singular for one.
    let two_bad = format!("{bad}{{\"signal_id\":\"{s7}\"}}\n");
    std::fs::write(&bad_path, &two_bad).unwrap();
    let out = on(&dir, &["outcome", "--file", bad_path.to_str().unwrap()]);
    let line = refused(&out);
    assert!(
        line.ends_with(" (and 1 more invalid line); nothing was appended"),
        "{line}"
    );
    std::fs::write(&bad_path, format!("{two_bad}{{\"signal_id\":\"{s7}\"}}\n")).unwrap();
    let out = on(&dir, &["outcome", "--file", bad_path.to_str().unwrap()]);
    let line = refused(&out);
    assert!(
        line.ends_with(" (and 2 more invalid lines); nothing was appended"),
        "{line}"
    );
    assert_eq!(stats(&dir), before);

    // Where the parser does name the field.
    let cases = [
        (
            format!("{{\"signal_id\":\"{s1}\",\"acted_upon\":true,\"at\":\"yesterday\"}}"),
            "line 2: field at: \"yesterday\" is not an RFC 3339 timestamp with a zone",
        ),
        (
            format!("{{\"signal_id\":\"{s1}\",\"acted_upon\":true,\"execution_id\":\"\"}}"),
            "line 2: field execution_id: must not be empty (use null or omit it)",
        ),
    ];
    for (bad_line, problem) in &cases {
        let input = format!("{{\"signal_id\":\"{s4}\",\"acted_upon\":true}}\n{bad_line}\n");
        let out = on_with_input(&dir, &["outcome", "--file", "-"], input.as_bytes());
        assert_eq!(
            refused(&out),
            format!("error: standard input: {problem}; nothing was appended")
        );
    }
    let input =
        format!("{{\"signal_id\":\"{s4}\",\"acted_upon\":true}}\n{{\"signal_id\":\"{s4}\"}}\n");
    let out = on_with_input(&dir, &["outcome", "--file", "-"], input.as_bytes());
    let line = refused(&out);
    assert!(
        line.starts_with("error: standard input: line 2: ") && line.contains("acted_upon"),
        "{line}"
    );
    assert_eq!(stats(&dir), before);

    // Standard input: two more, right after.
    let input = format!(
        "{{\"signal_id\":\"{s4}\",\"acted_upon\":true,\"execution_id\":\"ex-4\"}}\n\n{{\"signal_id\":\"{s1}\",\"acted_upon\":false,\"reason\":\"revoked\"}}\n"
    );
    let receipt = on_with_input(&dir, &["outcome", "--file", "-"], input.as_bytes()).json();
    assert_eq!(receipt["count"], 2);
    assert_eq!(receipt["outcomes"][0]["seq"], 13);
    assert_eq!(receipt["outcomes"][1]["seq"], 14);
    assert_eq!(records(&dir), 15);
    let got = on(&dir, &["get", "--signal-id", &s4]).json();
    assert_eq!(
        (&got["acted_upon"], &got["execution_id"]),
        (&json!(true), &json!("ex-4"))
    );
    let got = on(&dir, &["get", "--signal-id", &s1, "--outcomes"]).json();
    assert_eq!(got["acted_upon"], false);
    assert_eq!(got["execution_id"], Value::Null);
    let reasons: Vec<&Value> = got["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["reason"])
        .collect();
    assert_eq!(reasons, [&json!("filled"), &json!("revoked")]);
    on(&dir, &["verify"]).ok();
}

/// The workspace's `tests/fixtures/NAME`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// A copy of the format-version-1 fixture ledger in `to` (without any LOCK file).
fn copy_v1_fixture(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(fixture("ledger-v1")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_version_1_ledger_is_upgraded_in_place_and_keeps_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v1");
    copy_v1_fixture(&dir);
    let digest_file = fixture("ledger-v1.digest.json");
    let digest: Value =
        serde_json::from_str(&std::fs::read_to_string(&digest_file).unwrap()).unwrap();
    let against = ["verify", "--against", digest_file.to_str().unwrap()];

    // Readers work on the old version as it is.
    let s = stats(&dir);
    assert_eq!(
        (&s["format_version"], &s["records"]),
        (&json!(1), &json!(60))
    );
    assert_eq!(s["head_hash"], digest["row_hash"]);
    on(&dir, &against).ok();
    let first = on(&dir, &["get", "0"]).json();
    let first_id = str_of(&first, "signal_id").to_owned();
    let toml = std::fs::read(dir.join("ledger.toml")).unwrap();

    // The writer's commands refuse it, pointing at upgrade; nothing changes.
    let more = generate(3, 9);
    for out in [
        on_with_input(&dir, &["ingest"], more.as_bytes()),
        on(&dir, &["outcome", &first_id, "--acted"]),
        on_with_input(
            &dir,
            &["outcome", "--file", "-"],
            format!("{{\"signal_id\":\"{first_id}\",\"acted_upon\":true}}\n").as_bytes(),
        ),
    ] {
        let line = refused(&out);
        assert!(line.contains("run `signal-ledger upgrade`"), "{line}");
        assert!(line.contains("format version 1"), "{line}");
    }
    assert_eq!(stats(&dir), s);
    assert_eq!(std::fs::read(dir.join("ledger.toml")).unwrap(), toml);

    let report = on(&dir, &["upgrade"]).json();
    assert_eq!(
        report,
        json!({
            "from_version": 1,
            "to_version": 2,
            "verified_entries": 60,
            "sealed": dir.join("00000000000000000048.seg").display().to_string(),
            "active": dir.join("00000000000000000060.seg").display().to_string(),
        })
    );
    // No entry was rewritten: the old segments are byte for byte the fixture's (the one sealed
    // only gained its trailer).
    for seg in [
        "00000000000000000000",
        "00000000000000000012",
        "00000000000000000024",
        "00000000000000000036",
        "00000000000000000048",
    ] {
        let name = format!("{seg}.seg");
        let old = std::fs::read(fixture("ledger-v1").join(&name)).unwrap();
        let now = std::fs::read(dir.join(&name)).unwrap();
        assert!(now.starts_with(&old), "{name} was rewritten");
    }
    let s = stats(&dir);
    assert_eq!(
        (&s["format_version"], &s["records"]),
        (&json!(2), &json!(60))
    );
    assert_eq!(s["head_hash"], digest["row_hash"]);

    // Now both writers' commands work.
    let ingested = on_with_input(&dir, &["ingest"], more.as_bytes()).json();
    assert_eq!(
        (&ingested["first_seq"], &ingested["last_seq"]),
        (&json!(60), &json!(62))
    );
    let receipt = on(
        &dir,
        &["outcome", &first_id, "--acted", "--execution-id", "ex-v1"],
    )
    .json();
    assert_eq!(receipt["outcomes"][0]["seq"], 63);
    assert_eq!(receipt["outcomes"][0]["signal_seq"], 0);
    let got = on(&dir, &["get", "--signal-id", &first_id, "--outcomes"]).json();
    assert_eq!(
        (&got["acted_upon"], &got["execution_id"]),
        (&json!(true), &json!("ex-v1"))
    );
    assert_eq!(got["outcomes"].as_array().unwrap().len(), 1);
    assert_eq!(got["row_hash"], first["row_hash"]);

    let out = on(&dir, &against);
    assert!(
        out.ok().trim_end().ends_with(&format!(
            "; digest seq 59 row_hash {} matches",
            str_of(&digest, "row_hash")
        )),
        "{}",
        out.stdout
    );
    assert!(on(&dir, &["verify"])
        .ok()
        .starts_with("intact: 64 records checked (seq 0..=63)"));

    // Upgrading a current ledger changes nothing.
    let again = on(&dir, &["upgrade"]).json();
    assert_eq!(
        again,
        json!({
            "from_version": 2,
            "to_version": 2,
            "verified_entries": 64,
            "sealed": null,
            "active": dir.join("00000000000000000060.seg").display().to_string(),
        })
    );
    let s = stats(&dir);
    assert_eq!(
        (&s["format_version"], &s["records"]),
        (&json!(2), &json!(64))
    );
    assert_eq!(s["head_hash"], receipt["head_hash"]);
}
