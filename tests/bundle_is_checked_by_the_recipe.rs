//! Promise: a compliance bundle (docs/BUNDLES.md) written from a real ledger — a window with a
//! filter, the whole ledger, an empty window, a ledger pruned by retention — passes the
//! standard-tools recipe (`python3 docs/audit/verify_bundle.py`, and `sha256sum -c SHA256SUMS`),
//! and every tampering of a copy makes the recipe fail with a line naming the problem: a flipped
//! byte, a conviction changed with SHA256SUMS and the manifest fixed up to match (caught by the
//! manifest's SHA-256 recorded at export, and by CSV ≠ NDJSON), a deleted line, two lines
//! swapped, the manifest's prev_hash edited, an outcome dropped (with and without fix-ups).
//!
//! Skipped, with a notice, when `python3` is not on PATH (a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required`: tests/support/python.rs); the `sha256sum` part is
//! skipped when `sha256sum` is not.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "support/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger::engine::record::{Decision, Outcome};
use signal_ledger::engine::{Direction, Ledger, PersistenceConfig, Signal};
use signal_ledger::query::{Catalog, Filter};
use signal_ledger_replay::bundle::{export_bundle, BundleSummary};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Runs the recipe on `dir`; its exit code and stdout (stderr must be empty).
fn recipe(dir: &Path, extra: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/audit/verify_bundle.py");
    let out = Command::new(python::PYTHON)
        .arg(script)
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Asserts the recipe passes on `dir`; its OK line.
fn passes(dir: &Path, extra: &[&str]) -> String {
    let (code, stdout) = recipe(dir, extra);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("OK: "), "{stdout}");
    stdout
}

/// Asserts the recipe fails on `dir` with a line containing `problem`.
fn fails(dir: &Path, extra: &[&str], problem: &str) -> String {
    let (code, stdout) = recipe(dir, extra);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.lines().any(|l| l.contains(problem)),
        "no line with {problem:?} in:\n{stdout}"
    );
    assert!(!stdout.contains("OK"), "{stdout}");
    stdout
}

/// `sha256sum -c SHA256SUMS` in `dir`: Some(passed), or None when sha256sum is missing.
fn sha256sum_check(dir: &Path) -> Option<bool> {
    match Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dir)
        .output()
    {
        Ok(out) => Some(out.status.success()),
        Err(_) => {
            eprintln!("skipping the sha256sum part: sha256sum is not on PATH");
            None
        }
    }
}

fn demo_signals(count: usize, seed: u64) -> Vec<Signal> {
    DemoGenerator::new(&DemoConfig {
        count,
        seed,
        ..DemoConfig::default()
    })
    .collect()
}

fn outcome(signal: &Signal, acted: bool) -> Outcome {
    Outcome {
        signal_id: signal.signal_id.clone(),
        decision: Decision::from_acted(acted),
        execution_id: acted.then(|| format!("ex-{}", signal.signal_id)),
        reason: Some("desk review".into()),
        decided_at_ns: signal.timestamp_ns + 60_000_000_000,
    }
}

/// A ledger in 16 KiB segments: 1,500 demo signals, outcomes, 500 more signals. The window is
/// the middle half of the signals' time span and the filter `--direction long`; the outcomes
/// are for long signals in the window (the first acted upon, then dismissed; two more acted
/// upon) and for one signal outside it.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    ledger: PathBuf,
    filter: Filter,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let ledger = root.join("ledger");
    let signals = demo_signals(2000, 17);
    let (lo, hi) = signals.iter().fold((i64::MAX, i64::MIN), |(lo, hi), s| {
        (lo.min(s.timestamp_ns), hi.max(s.timestamp_ns))
    });
    let filter = Filter {
        from_ns: Some(lo + (hi - lo) / 4),
        to_ns: Some(hi - (hi - lo) / 4),
        directions: vec![Direction::Long],
        ..Filter::default()
    };
    let early = &signals[..1500];
    let chosen: Vec<&Signal> = early.iter().filter(|s| filter.matches(s)).take(3).collect();
    let outside = early.iter().find(|s| !filter.matches(s)).unwrap();
    assert_eq!(chosen.len(), 3);
    let mut writer = Ledger::create(
        &ledger,
        PersistenceConfig {
            segment_size_bytes: 16 * 1024,
            ..PersistenceConfig::default()
        },
    )
    .unwrap();
    writer.append(early).unwrap();
    writer
        .append_outcomes(&[
            outcome(chosen[0], true),
            outcome(outside, true),
            outcome(chosen[1], true),
        ])
        .unwrap();
    writer
        .append_outcomes(&[outcome(chosen[2], true), outcome(chosen[0], false)])
        .unwrap();
    writer.append(&signals[1500..]).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        ledger,
        filter,
    }
}

fn bundle(ledger: &Path, filter: &Filter, out: &Path) -> BundleSummary {
    let catalog = Catalog::open(ledger).unwrap();
    export_bundle(&catalog, filter, out, "signal-ledger test", &|_| {}).unwrap()
}

/// A copy of bundle `from` at `<root>/<name>`.
fn copy(from: &Path, root: &Path, name: &str) -> PathBuf {
    let to = root.join(name);
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    f(&mut lines);
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// What a forger does after editing `name`: puts its new length and SHA-256 in SHA256SUMS and
/// in the manifest, so that both agree with the files again.
fn fix_up(dir: &Path, name: &str) {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let manifest_path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let mut sums = String::new();
    for f in m["files"].as_array_mut().unwrap() {
        if f["name"] == name {
            f["bytes"] = bytes.len().into();
            f["sha256"] = sha.clone().into();
        }
        sums.push_str(&format!(
            "{}  {}\n",
            f["sha256"].as_str().unwrap(),
            f["name"].as_str().unwrap()
        ));
    }
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

#[test]
fn a_window_with_a_filter_passes_the_recipe_and_sha256sum() {
    if !python::python_or_skip() {
        return;
    }
    let fx = fixture();
    let out = fx.root.join("bundle");
    let summary = bundle(&fx.ledger, &fx.filter, &out);
    assert!(summary.signals > 100, "{summary:?}");
    assert_eq!(
        summary.outcomes, 4,
        "the outcome outside the filter is left out"
    );
    let ok = passes(&out, &["--manifest-sha256", &summary.manifest_sha256]);
    assert!(
        ok.contains(&format!(
            "signals {} (seq {}..={}), outcomes 4",
            summary.signals,
            summary.first_seq.unwrap(),
            summary.last_seq.unwrap()
        )),
        "{ok}"
    );
    assert!(ok.contains("as recorded at export"), "{ok}");
    if let Some(passed) = sha256sum_check(&out) {
        assert!(passed);
    }
}

#[test]
fn every_tampering_of_a_bundle_is_named_by_the_recipe() {
    if !python::python_or_skip() {
        return;
    }
    let fx = fixture();
    let original = fx.root.join("bundle");
    let summary = bundle(&fx.ledger, &fx.filter, &original);
    let sha = summary.manifest_sha256.as_str();
    let first = summary.first_seq.unwrap();

    // One flipped byte in the CSV.
    let dir = copy(&original, &fx.root, "flipped");
    let csv = dir.join("signals.csv");
    let mut bytes = std::fs::read(&csv).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&csv, bytes).unwrap();
    fails(&dir, &[], "signals.csv: SHA-256");
    fails(&dir, &[], "SHA256SUMS: signals.csv");
    if let Some(passed) = sha256sum_check(&dir) {
        assert!(!passed);
    }

    // A conviction changed in the NDJSON, SHA256SUMS and the manifest fixed up to match: the
    // shell check passes; the recipe finds the CSV disagreeing, and the manifest's hash is not
    // the one recorded at export.
    let dir = copy(&original, &fx.root, "forged");
    edit_lines(&dir.join("signals.ndjson"), |lines| {
        let record: Value = serde_json::from_str(&lines[3]).unwrap();
        let was = format!(
            "\"conviction\":{:?},",
            record["conviction"].as_f64().unwrap()
        );
        assert!(lines[3].contains(&was), "{}", lines[3]);
        lines[3] = lines[3].replace(&was, "\"conviction\":0.999,");
    });
    fix_up(&dir, "signals.ndjson");
    if let Some(passed) = sha256sum_check(&dir) {
        assert!(passed, "SHA256SUMS alone does not see a consistent forgery");
    }
    fails(&dir, &[], "row 4 (seq");
    fails(&dir, &[], "differs from signals.ndjson in conviction");
    fails(&dir, &["--manifest-sha256", sha], "manifest.json: SHA-256");

    // A line deleted.
    let dir = copy(&original, &fx.root, "deleted");
    edit_lines(&dir.join("signals.ndjson"), |lines| {
        lines.remove(10);
    });
    fails(
        &dir,
        &[],
        &format!(
            "signals.ndjson: {} records, the manifest counts {}",
            summary.signals - 1,
            summary.signals
        ),
    );
    fails(&dir, &[], "signals.ndjson: SHA-256");

    // Two lines swapped, then fixed up: still out of order, and the CSV disagrees.
    let dir = copy(&original, &fx.root, "swapped");
    edit_lines(&dir.join("signals.ndjson"), |lines| lines.swap(5, 6));
    fails(&dir, &[], "signals.ndjson: SHA-256");
    fix_up(&dir, "signals.ndjson");
    fails(&dir, &[], "not in ascending seq order");
    fails(&dir, &[], "row 6 (seq");

    // The manifest's prev_hash edited: the window no longer starts where it says.
    let dir = copy(&original, &fx.root, "prev-hash");
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let prev = summary.prev_hash.unwrap().to_hex();
    let mut forged_prev = prev.clone().into_bytes();
    forged_prev[0] = if forged_prev[0] == b'0' { b'1' } else { b'0' };
    let forged_prev = String::from_utf8(forged_prev).unwrap();
    std::fs::write(&manifest, text.replace(&prev, &forged_prev)).unwrap();
    fails(
        &dir,
        &[],
        &format!("seq {first}: prev_hash {prev} is not the manifest's prev_hash {forged_prev}"),
    );
    fails(&dir, &["--manifest-sha256", sha], "manifest.json: SHA-256");

    // An outcome dropped: counted; fixed up, the signal no longer shows its latest outcome.
    let dir = copy(&original, &fx.root, "outcome-dropped");
    edit_lines(&dir.join("outcomes.ndjson"), |lines| {
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(last["acted_upon"], false, "the first signal's dismissal");
        lines.pop();
    });
    fails(
        &dir,
        &[],
        "outcomes.ndjson: 3 records, the manifest counts 4",
    );
    fix_up(&dir, "outcomes.ndjson");
    let manifest = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["counts"]["outcomes"] = 3.into();
    m["files"][2]["records"] = 3.into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    fails(
        &dir,
        &[],
        "acted_upon/execution_id are not those of its latest outcome",
    );

    // The original is still sound.
    passes(&original, &["--manifest-sha256", sha]);
}

#[test]
fn a_bundle_of_the_whole_ledger_links_every_entry() {
    if !python::python_or_skip() {
        return;
    }
    let fx = fixture();
    let out = fx.root.join("all");
    let summary = bundle(&fx.ledger, &Filter::default(), &out);
    assert_eq!((summary.signals, summary.outcomes), (2000, 5));
    let ok = passes(&out, &["--manifest-sha256", &summary.manifest_sha256]);
    assert!(
        ok.contains("signals 2000 (seq 0..=2004), outcomes 5, chain links checked 2004;"),
        "{ok}"
    );
    assert_eq!(summary.prev_hash.unwrap().to_hex(), "0".repeat(64));
    if let Some(passed) = sha256sum_check(&out) {
        assert!(passed);
    }
}

#[test]
fn an_empty_window_is_a_sound_bundle() {
    if !python::python_or_skip() {
        return;
    }
    let fx = fixture();
    let out = fx.root.join("empty");
    let filter = Filter {
        from_ns: Some(0),
        to_ns: Some(DAY_NS),
        ..Filter::default()
    };
    let summary = bundle(&fx.ledger, &filter, &out);
    assert_eq!((summary.signals, summary.outcomes), (0, 0));
    let ok = passes(&out, &[]);
    assert!(ok.contains("signals 0, outcomes 0,"), "{ok}");
    if let Some(passed) = sha256sum_check(&out) {
        assert!(passed);
    }
}

#[test]
fn a_pruned_ledger_bundle_starts_from_the_first_held_segment() {
    if !python::python_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger");
    let mut writer = Ledger::create(
        &ledger,
        PersistenceConfig {
            retention_days: 1,
            segment_size_bytes: 8 * 1024,
            ..PersistenceConfig::default()
        },
    )
    .unwrap();
    for batch in demo_signals(600, 23).chunks(25) {
        writer.append(batch).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    // Just over a day after the third segment was created: the first three are removed.
    let third = Catalog::open(&ledger).unwrap().snapshot().segments()[2]
        .header
        .created_at_ns;
    writer.apply_retention(third + DAY_NS + 1).unwrap();
    drop(writer);
    let catalog = Catalog::open(&ledger).unwrap();
    let snapshot = catalog.snapshot();
    let start = snapshot.first_seq();
    assert!(start > 0, "retention removed the first segments");
    let anchored = snapshot.segments()[0].header.prev_hash;
    let out = tmp.path().join("bundle");
    let summary = export_bundle(
        &catalog,
        &Filter::default(),
        &out,
        "signal-ledger test",
        &|_| {},
    )
    .unwrap();
    assert_eq!(summary.first_seq, Some(start));
    assert_eq!(summary.prev_hash, Some(anchored));
    assert_ne!(anchored.to_hex(), "0".repeat(64));
    let ok = passes(&out, &[]);
    assert!(ok.contains(&format!("(seq {start}..=599)")), "{ok}");
}
