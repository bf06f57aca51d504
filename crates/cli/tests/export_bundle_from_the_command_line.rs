//! `export-bundle --from --to [filters] --out DIR` writes the five files of a compliance bundle
//! (docs/BUNDLES.md), prints one JSON line, and the standard-tools recipe passes on the result;
//! an `--out` that exists and is not empty is refused with one `error:` line, exit 2, and left
//! untouched.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
#[path = "../../../tests/support/python.rs"]
mod python;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Runs the recipe on `dir`: its exit code and stdout, or `None` when `python3` is missing
/// (skipped; a failure when `SIGNAL_LEDGER_AUDITOR_TESTS=required`).
fn recipe(dir: &Path, extra: &[&str]) -> Option<(i32, String)> {
    if !python::python_or_skip() {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/audit/verify_bundle.py");
    let out = Command::new(python::PYTHON)
        .arg(script)
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    ))
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
fn export_bundle_writes_a_bundle_the_recipe_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(2_000, 8).as_bytes()).ok();
    let all = json_lines(on(&dir, &["tail", "-n", "2000"]).ok());
    let ticker = all[100]["ticker"].as_str().unwrap().to_owned();
    let (from, to) = (
        all[100]["timestamp"].as_str().unwrap().to_owned(),
        "2026-10-31T00:00:00Z",
    );
    // An outcome for a signal in the bundle.
    let id = all[100]["signal_id"].as_str().unwrap();
    on(
        &dir,
        &["outcome", id, "--acted", "--execution-id", "EX-100"],
    )
    .ok();
    let ns = |t: &str| signal_ledger_engine::timefmt::parse_rfc3339_ns(t).unwrap();
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| {
            let t = ns(r["timestamp"].as_str().unwrap());
            r["ticker"] == ticker.as_str() && ns(&from) <= t && t < ns(to)
        })
        .collect();
    assert!(expected.len() > 1);

    let out = tmp.path().join("bundle");
    let line = on(
        &dir,
        &[
            "export-bundle",
            "--from",
            &from,
            "--to",
            to,
            "--ticker",
            &ticker,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let summary = line.json();
    assert_eq!(line.stdout.lines().count(), 1, "{}", line.stdout);
    let keys: Vec<&String> = summary.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{summary}");
    assert_eq!(summary["out"], out.to_str().unwrap());
    assert_eq!(summary["signals"], expected.len() as u64);
    assert_eq!(summary["outcomes"], 1);
    assert_eq!(summary["first_seq"], expected[0]["seq"]);
    assert_eq!(summary["last_seq"], expected.last().unwrap()["seq"]);
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
    assert_eq!(
        names_in(tmp.path()),
        ["bundle", "l"],
        "no partial directory"
    );
    let signals = json_lines(&std::fs::read_to_string(out.join("signals.ndjson")).unwrap());
    assert_eq!(signals[0]["acted_upon"], true, "the outcome is applied");
    assert_eq!(signals[0]["execution_id"], "EX-100");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["tool"],
        format!("signal-ledger {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(manifest["filters"], serde_json::json!({"ticker": [ticker]}));
    assert_eq!(manifest["window"]["to"], to);
    assert_eq!(manifest["head"], on(&dir, &["digest"]).json());

    let sha = summary["manifest_sha256"].as_str().unwrap();
    if let Some((code, stdout)) = recipe(&out, &["--manifest-sha256", sha]) {
        assert_eq!(code, 0, "{stdout}");
        assert!(stdout.starts_with("OK: "), "{stdout}");
    }
}

#[test]
fn a_non_empty_out_directory_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    init_small(&dir);
    on_with_input(&dir, &["ingest"], generate(200, 9).as_bytes()).ok();
    let out = tmp.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("evidence.txt"), b"keep me").unwrap();
    let result = on(&dir, &["export-bundle", "--out", out.to_str().unwrap()]);
    result.fails_with(
        2,
        &format!(
            "error: {} exists and is not an empty directory: a bundle is written only into a new or empty directory",
            out.display()
        ),
    );
    assert_eq!(result.stdout, "");
    assert_eq!(names_in(&out), ["evidence.txt"]);
    assert_eq!(std::fs::read(out.join("evidence.txt")).unwrap(), b"keep me");
    assert_eq!(names_in(tmp.path()), ["l", "taken"]);
}
