//! Bundles written from a real ledger: their files, manifest and checksums agree with the
//! ledger and with each other; a taken output path is refused; a failure leaves nothing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use signal_ledger_demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::record::{Decision, Outcome};
use signal_ledger_engine::{Ledger, PersistenceConfig, Signal, GENESIS_PREV_HASH};

use super::*;

/// 300 demo signals in 8 KiB segments, outcomes for signals 5 (acted, then dismissed) and 40,
/// then 50 more signals. Returns the temp dir, the ledger path and the signal ids.
fn ledger() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let signals: Vec<Signal> = DemoGenerator::new(&DemoConfig {
        count: 350,
        seed: 3,
        ..DemoConfig::default()
    })
    .collect();
    let ids: Vec<String> = signals.iter().map(|s| s.signal_id.clone()).collect();
    let config = PersistenceConfig {
        segment_size_bytes: 8 * 1024,
        ..PersistenceConfig::default()
    };
    let mut ledger = Ledger::create(&path, config).unwrap();
    ledger.append(&signals[..300]).unwrap();
    let outcome = |i: usize, acted: bool| Outcome {
        signal_id: ids[i].clone(),
        decision: Decision::from_acted(acted),
        execution_id: acted.then(|| format!("ex-{i}")),
        reason: None,
        decided_at_ns: 1_767_225_600_000_000_000,
    };
    ledger
        .append_outcomes(&[outcome(5, true), outcome(40, true), outcome(5, false)])
        .unwrap();
    ledger.append(&signals[300..]).unwrap();
    (tmp, path, ids)
}

fn export(catalog: &Catalog, filter: &Filter, out: &Path) -> Result<BundleSummary> {
    export_bundle(catalog, filter, out, "signal-ledger test", &|_| {})
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_bundle_holds_the_window_its_outcomes_and_a_manifest_that_matches_the_files() {
    let (tmp, path, ids) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let snapshot = catalog.snapshot();
    let filter = Filter::default();
    let out = tmp.path().join("bundle");
    let summary = export(&catalog, &filter, &out).unwrap();
    assert_eq!(summary.out, out);
    assert_eq!(
        names_in(tmp.path()),
        ["bundle", "ledger"],
        "no partial directory left"
    );
    assert_eq!(
        names_in(&out),
        [
            "SHA256SUMS",
            "manifest.json",
            "outcomes.ndjson",
            "signals.csv",
            "signals.ndjson"
        ]
    );
    assert_eq!((summary.signals, summary.outcomes), (350, 3));
    assert_eq!((summary.first_seq, summary.last_seq), (Some(0), Some(352)));
    assert_eq!(summary.prev_hash, Some(GENESIS_PREV_HASH));
    assert_eq!(summary.last_row_hash, snapshot.row_hash_at(352).unwrap());

    // Signals in seq order, their latest outcome applied; outcomes as stored, in seq order.
    let signals = lines(&out.join(SIGNALS_NDJSON));
    assert_eq!(signals.len(), 350);
    assert_eq!(signals[5]["acted_upon"], false);
    assert_eq!(signals[40]["execution_id"], "ex-40");
    let outcomes = lines(&out.join(OUTCOMES_NDJSON));
    let seqs: Vec<u64> = outcomes
        .iter()
        .map(|o| o["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [300, 301, 302]);
    assert_eq!(outcomes[0]["signal_id"], ids[5].as_str());
    assert_eq!(outcomes[0]["kind"], "outcome");
    assert_eq!(
        outcomes[1]["prev_hash"].as_str().unwrap(),
        outcomes[0]["row_hash"].as_str().unwrap()
    );
    assert_eq!(
        outcomes[0]["prev_hash"].as_str().unwrap(),
        signals[299]["row_hash"].as_str().unwrap()
    );
    let csv = std::fs::read_to_string(out.join(SIGNALS_CSV)).unwrap();
    assert!(csv.starts_with("seq,signal_id,"));

    // The manifest lists each file's true length and SHA-256; SHA256SUMS agrees.
    let manifest_bytes = std::fs::read(out.join(MANIFEST)).unwrap();
    assert_eq!(sha256_hex(&manifest_bytes), summary.manifest_sha256);
    let m: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let mut sums = String::new();
    for (f, listed) in summary.files.iter().zip(m["files"].as_array().unwrap()) {
        let bytes = std::fs::read(out.join(f.name)).unwrap();
        assert_eq!(listed["name"], f.name);
        assert_eq!(listed["bytes"], bytes.len() as u64);
        assert_eq!(listed["sha256"], sha256_hex(&bytes));
        assert_eq!(listed["records"], f.records);
        sums.push_str(&format!("{}  {}\n", sha256_hex(&bytes), f.name));
    }
    assert_eq!(std::fs::read_to_string(out.join(SHA256SUMS)).unwrap(), sums);
    assert_eq!(
        m["counts"],
        serde_json::json!({"signals": 350, "outcomes": 3})
    );
    assert_eq!(m["ledger"]["next_seq"], 353);
    let head = Digest::of_head(snapshot).unwrap().unwrap().to_json();
    assert_eq!(m["head"], serde_json::from_str::<Value>(&head).unwrap());
    assert_eq!(m["prev_hash"], "0".repeat(64));
}

#[test]
fn a_filtered_window_starts_from_the_row_hash_before_it_and_keeps_only_its_outcomes() {
    let (tmp, path, _) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let all = lines(&{
        let out = tmp.path().join("all");
        export(&catalog, &Filter::default(), &out).unwrap();
        out.join(SIGNALS_NDJSON)
    });
    // A window from signal 20's timestamp; a filter that keeps signal 40 and drops signal 5.
    let ts = |i: usize| {
        signal_ledger_engine::timefmt::parse_rfc3339_ns(all[i]["timestamp"].as_str().unwrap())
            .unwrap()
    };
    let filter = Filter {
        from_ns: Some(ts(20).min(ts(40))),
        tickers: vec![all[40]["ticker"].as_str().unwrap().to_owned()],
        ..Filter::default()
    };
    let out = tmp.path().join("window");
    let summary = export(&catalog, &filter, &out).unwrap();
    let signals = lines(&out.join(SIGNALS_NDJSON));
    let expected: Vec<&Value> = all
        .iter()
        .filter(|s| {
            s["ticker"] == all[40]["ticker"]
                && signal_ledger_engine::timefmt::parse_rfc3339_ns(s["timestamp"].as_str().unwrap())
                    .unwrap()
                    >= filter.from_ns.unwrap()
        })
        .collect();
    assert_eq!(signals.iter().collect::<Vec<_>>(), expected);
    let first = summary.first_seq.unwrap();
    assert!(first > 0);
    let before = catalog.snapshot().row_hash_at(first - 1).unwrap().unwrap();
    assert_eq!(summary.prev_hash, Some(before));
    assert_eq!(signals[0]["prev_hash"], before.to_hex());
    let outcomes = lines(&out.join(OUTCOMES_NDJSON));
    let kept: Vec<u64> = outcomes
        .iter()
        .map(|o| o["signal_seq"].as_u64().unwrap())
        .collect();
    let has = |seq: u64| signals.iter().any(|s| s["seq"] == seq);
    let expected_kept: Vec<u64> = [5, 40, 5].into_iter().filter(|&s| has(s)).collect();
    assert_eq!(kept, expected_kept);
    assert!(has(40), "the filter keeps signal 40");
    let m: Value = serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(
        m["filters"],
        serde_json::json!({"ticker": [all[40]["ticker"]]})
    );
    assert_eq!(m["window"]["to"], Value::Null);
}

#[test]
fn the_same_window_from_the_same_ledger_gives_the_same_data_files() {
    let (tmp, path, _) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let filter = Filter {
        min_conviction: Some(0.5),
        ..Filter::default()
    };
    let a = export(&catalog, &filter, &tmp.path().join("a")).unwrap();
    let again = Catalog::open(&path).unwrap();
    let b = export(&again, &filter, &tmp.path().join("b")).unwrap();
    assert_eq!(a.files, b.files);
    assert!(a.signals > 0 && a.signals < 350);
}

#[test]
fn an_empty_window_is_a_bundle_of_empty_files() {
    let (tmp, path, _) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let filter = Filter {
        from_ns: Some(0),
        to_ns: Some(1),
        ..Filter::default()
    };
    let out = tmp.path().join("empty");
    let summary = export(&catalog, &filter, &out).unwrap();
    assert_eq!((summary.signals, summary.outcomes), (0, 0));
    assert_eq!((summary.first_seq, summary.prev_hash), (None, None));
    let csv = std::fs::read_to_string(out.join(SIGNALS_CSV)).unwrap();
    assert_eq!(csv.lines().count(), 1, "the header only");
    assert_eq!(std::fs::read(out.join(SIGNALS_NDJSON)).unwrap(), b"");
    assert_eq!(std::fs::read(out.join(OUTCOMES_NDJSON)).unwrap(), b"");
    let m: Value = serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(m["window"]["from"], "1970-01-01T00:00:00Z");
    assert_eq!(m["first_seq"], Value::Null);
    assert_eq!(m["prev_hash"], Value::Null);
}

#[test]
fn a_non_empty_output_directory_is_refused_before_anything_is_written() {
    let (tmp, path, _) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let out = tmp.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let examined = std::cell::Cell::new(0u64);
    let err = export_bundle(&catalog, &Filter::default(), &out, "t", &|n| {
        examined.set(n)
    })
    .unwrap_err();
    assert!(matches!(err, ReplayError::BundleOutExists { .. }), "{err}");
    assert!(err.to_string().contains("taken"), "{err}");
    assert_eq!(examined.get(), 0, "refused before exporting");
    assert_eq!(names_in(&out), ["notes.txt"]);
    assert_eq!(names_in(tmp.path()), ["ledger", "taken"]);
    // An empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    export(&catalog, &Filter::default(), &empty).unwrap();
    assert_eq!(names_in(&empty).len(), 5);
}

#[test]
fn a_failure_after_writing_leaves_no_partial_directory() {
    let (tmp, path, _) = ledger();
    let catalog = Catalog::open(&path).unwrap();
    let out = tmp.path().join("bundle");
    // While the bundle is being written, someone else creates the output directory and puts
    // a file in it: the rename into place fails and the partial bundle is removed.
    let err = export_bundle(&catalog, &Filter::default(), &out, "t", &|_| {
        if !out.exists() {
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join("theirs"), b"x").unwrap();
        }
    })
    .unwrap_err();
    assert!(err.to_string().contains("rename into place"), "{err}");
    assert_eq!(names_in(tmp.path()), ["bundle", "ledger"]);
    assert_eq!(names_in(&out), ["theirs"]);

    // The staging directory removed under it: the next file cannot be created, the error
    // names it, and nothing is left.
    let out = tmp.path().join("second");
    let err = export_bundle(&catalog, &Filter::default(), &out, "t", &|_| {
        for entry in std::fs::read_dir(tmp.path()).unwrap() {
            let p = entry.unwrap().path();
            if p.to_string_lossy().contains("second.partial-") {
                std::fs::remove_dir_all(&p).unwrap();
            }
        }
    })
    .unwrap_err();
    assert!(err.to_string().contains(OUTCOMES_NDJSON), "{err}");
    assert_eq!(names_in(tmp.path()), ["bundle", "ledger"]);
}
