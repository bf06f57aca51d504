//! Promise: the record decoder, segment open and recovery, and NDJSON validation never panic
//! and keep their invariants on every input the fuzzers have kept — the seed corpus in
//! `fuzz/corpus/<target>/` and any crash reproducer in `fuzz/artifacts/<target>/`.
//!
//! This replays those files through the very functions the cargo-fuzz targets run
//! (`fuzz/src/targets.rs`, included by path), on the stable toolchain and without libFuzzer, so
//! `cargo test --workspace` keeps every input the fuzzers found interesting as a regression
//! test. Fuzzing itself (nightly): `.ci/fuzz`, `FUZZ_SECONDS=3600 .ci/fuzz` for a long run.
//!
//! `cargo run --example write_fuzz_seed_corpus` regenerates the seed corpus from the fixture
//! ledgers and inputs in `tests/fixtures` (plus hostile variants).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("decode_record", targets::decode_record),
    ("open_segment", targets::open_segment),
    ("ndjson_signal", targets::ndjson_signal),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file of `dirs` through `target`; names each file that panics.
fn replay(name: &str, target: Target, dirs: &[PathBuf]) -> usize {
    let mut count = 0;
    let mut failed = Vec::new();
    for file in dirs.iter().flat_map(|d| files_in(d)) {
        let data = fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| target(&data));
        if outcome.is_err() {
            failed.push(file.display().to_string());
        }
        count += 1;
    }
    assert!(
        failed.is_empty(),
        "{name}: {} input(s) panicked (reproduce with `cargo +nightly fuzz run {name} FILE` in fuzz/): {failed:#?}",
        failed.len()
    );
    count
}

#[test]
fn every_corpus_and_artifact_file_replays_clean() {
    for (name, target) in TARGETS {
        let corpus = root().join("fuzz/corpus").join(name);
        let seeds = files_in(&corpus).len();
        assert!(
            seeds >= 20,
            "{name}: expected a seed corpus in {}, found {seeds} files",
            corpus.display()
        );
        let started = Instant::now();
        let dirs = [corpus, root().join("fuzz/artifacts").join(name)];
        let replayed = replay(name, target, &dirs);
        eprintln!(
            "{name}: {replayed} inputs replayed clean in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
}

/// The replay is not a formality: an input on which a target panics fails it, naming the file.
#[test]
fn a_panicking_input_fails_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("boom"), b"boom").unwrap();
    fs::write(dir.path().join("fine"), b"fine").unwrap();
    let target: Target = |data| assert_ne!(data, b"boom", "found it");
    let replay_dir = vec![dir.path().to_path_buf()];
    let result = std::panic::catch_unwind(|| replay("probe", target, &replay_dir));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("boom") && !message.contains("fine"),
        "{message}"
    );
}

/// The seed corpus reaches the paths worth fuzzing: signals and outcomes that decode, ledgers
/// that open intact, with a torn tail to recover and with damage to refuse, NDJSON lines that
/// are accepted and refused.
#[test]
fn the_seed_corpus_covers_each_outcome() {
    use signal_ledger::engine::record::{decode_entry, frame_at, EntryView, FrameAt};
    use signal_ledger::engine::{input::parse_ndjson, verify, Snapshot, VerifyOptions};

    let corpus = |name: &str| files_in(&root().join("fuzz/corpus").join(name));
    let (mut signals, mut outcomes) = (0, 0);
    for file in corpus("decode_record") {
        let data = fs::read(file).unwrap();
        let body = match frame_at(&data, 0) {
            FrameAt::Valid { body, .. } => body,
            _ => &data[..],
        };
        match decode_entry(body, 2) {
            Ok(EntryView::Signal(_)) => signals += 1,
            Ok(EntryView::Outcome(_)) => outcomes += 1,
            Err(_) => {}
        }
    }
    assert!(
        signals >= 5 && outcomes >= 2,
        "{signals} signals, {outcomes} outcomes"
    );

    let (mut intact, mut torn, mut damaged) = (0, 0, 0);
    for file in corpus("open_segment") {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("ledger.toml"), targets::LEDGER_TOML).unwrap();
        for (first_seq, bytes) in targets::segment_files(&fs::read(file).unwrap()) {
            fs::write(dir.path().join(format!("{first_seq:020}.seg")), bytes).unwrap();
        }
        let Ok(snapshot) = Snapshot::open(dir.path()) else {
            continue;
        };
        let report = verify(&snapshot, VerifyOptions::default());
        torn += usize::from(snapshot.torn_tail().is_some());
        damaged += usize::from(!report.is_intact());
        intact += usize::from(report.is_intact() && report.records_checked > 0);
    }
    assert!(
        intact >= 5 && torn >= 3 && damaged >= 5,
        "{intact} intact, {torn} torn, {damaged} damaged"
    );

    let (mut accepted, mut refused) = (0, 0);
    for file in corpus("ndjson_signal") {
        let parsed = parse_ndjson(&fs::read(file).unwrap());
        accepted += usize::from(!parsed.signals.is_empty());
        refused += usize::from(!parsed.errors.is_empty());
    }
    assert!(
        accepted >= 10 && refused >= 10,
        "{accepted} accepted, {refused} refused"
    );
}
