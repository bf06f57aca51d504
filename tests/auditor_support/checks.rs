//! Ledgers for the check-log and retention tests of the auditor (FORMAT.md, "Check log",
//! "Retention", "Verifying a ledger" steps 2 and 5, "Digests of removed entries"): recorded
//! checks, ledgers pruned by `Ledger::apply_retention`, and the verdicts both sides must give.

use std::path::{Path, PathBuf};

use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::checklog::{
    check_record, read_check_log, record_check, run_check, CheckMode, CheckRequest, CHECK_LOG_FILE,
};
use signal_ledger_engine::record::{Decision, Outcome};
use signal_ledger_engine::{
    verify, Corruption, Digest, Durability, Ledger, PersistenceConfig, Snapshot, VerifyOptions,
};

use super::*;

/// Nanoseconds in a day.
pub const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Small segments, retention of one day, no syncs.
pub fn retention_config() -> PersistenceConfig {
    PersistenceConfig {
        segment_size_bytes: 8192,
        retention_days: 1,
        durability: Durability::None,
        ..PersistenceConfig::default()
    }
}

/// Appends `count` demo signals to `ledger` in batches of 25, starting the generator at `seed`;
/// returns their signal_ids.
pub fn append_demo(ledger: &mut Ledger, count: usize, seed: u64) -> Vec<String> {
    let signals: Vec<_> = DemoGenerator::new(&DemoConfig {
        count,
        seed,
        ..DemoConfig::default()
    })
    .collect();
    let mut ids = Vec::new();
    for batch in signals.chunks(25) {
        ids.extend(ledger.append(batch).unwrap().signal_ids);
    }
    ids
}

/// Outcomes of the signals `ids` (alternately acted upon and dismissed).
pub fn outcomes_of(ids: &[&String]) -> Vec<Outcome> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| Outcome {
            signal_id: (*id).clone(),
            decision: Decision::from_acted(i % 2 == 0),
            execution_id: (i % 2 == 0).then(|| format!("ex-{i}")),
            reason: Some(format!("retained n° {i}")),
            decided_at_ns: 1_767_623_400_000_000_000 + i as i64,
        })
        .collect()
}

/// The check log's bytes and the offsets of its frames.
pub fn check_log_frames(dir: &Path) -> (Vec<u8>, Vec<usize>) {
    let bytes = std::fs::read(dir.join(CHECK_LOG_FILE)).unwrap();
    let offsets = frame_offsets(&bytes, bytes.len());
    (bytes, offsets)
}

/// The auditor's last line (the verdict) must be `intact` with `count` entries up to
/// `head_seq` with row hash `head`; returns its whole output.
pub fn audit_intact(dir: &Path, count: u64, head_seq: u64, head: &str) -> String {
    let (code, out) = audit(dir, &[]);
    assert_eq!(code, 0, "{out}");
    let want = format!("intact: {count} entries, head seq {head_seq} row_hash {head}\n");
    assert!(out.ends_with(&want), "want {want:?} at the end of {out:?}");
    out
}

/// The engine's verification of `dir`: intact, with `count` entries checked up to `head_seq`
/// (row hash `head`).
pub fn engine_intact(dir: &Path, count: u64, head_seq: u64, head: &str) {
    let report = verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    assert_eq!(report.records_checked, count);
    assert_eq!(report.head_seq, Some(head_seq));
    assert_eq!(report.head_hash.unwrap().to_hex(), head);
}

/// Asserts that the auditor refuses `dir` for damage in `checks.log` at `offset` and check-log
/// seq `seq` (None: its header) with a message containing `what`, that the engine reads the
/// check log with the same damage, and that the engine finds the segments intact (the check log
/// is not part of their chain; PROCEDURES.md, "Verifying a ledger", step 5).
pub fn both_refuse_check_log_at(
    dir: &Path,
    offset: usize,
    seq: Option<u64>,
    what: &str,
) -> Corruption {
    let (code, out) = audit(dir, &[]);
    assert_eq!(code, 1, "{out}");
    let seq_text = seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let want = format!("TAMPERED: {CHECK_LOG_FILE} byte {offset} seq {seq_text}: check log: ");
    assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
    assert!(out.contains(what), "want {what:?} in {out:?}");
    let damage = read_check_log(dir)
        .unwrap()
        .damage
        .expect("the engine finds the damage in the check log");
    assert_eq!(damage.file, dir.join(CHECK_LOG_FILE), "{damage}");
    assert_eq!(
        (damage.offset, damage.seq),
        (offset as u64, seq),
        "{damage}"
    );
    assert!(verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default()).is_intact());
    damage
}

/// A ledger of 120 demo signals in 8 KiB segments with four recorded checks: a full one, an
/// incremental one after 40 more signals and outcomes, a seq range, and a failed one carrying
/// an error; returns (entry count, head hex).
pub fn ledger_with_checks(dir: &Path) -> (u64, String) {
    let mut ledger = Ledger::create(dir, retention_config()).unwrap();
    let ids = append_demo(&mut ledger, 80, 7);
    drop(ledger);
    assert_eq!(run_check(dir, CheckRequest::Full).unwrap().check_id, 0);
    let mut ledger = Ledger::open(dir).unwrap();
    append_demo(&mut ledger, 40, 8);
    let head = ledger
        .append_outcomes(&outcomes_of(&[&ids[3], &ids[50]]))
        .unwrap()
        .head_hash
        .to_hex();
    drop(ledger);
    let incremental = run_check(dir, CheckRequest::Incremental).unwrap();
    assert_eq!(
        (
            incremental.mode,
            incremental.range_start,
            incremental.chain_valid
        ),
        (CheckMode::Incremental, 80, true)
    );
    let range = CheckRequest::Range {
        from: Some(5),
        to: Some(20),
    };
    assert_eq!(run_check(dir, range).unwrap().mode, CheckMode::Range);
    let snapshot = Snapshot::open(dir).unwrap();
    let options = VerifyOptions::default();
    let report = verify(&snapshot, options);
    let failed = check_record(
        &snapshot,
        CheckMode::Full,
        &options,
        &report,
        vec!["digest mismatch: « seq 3 » had another row_hash".into()],
    );
    let failed = record_check(dir, failed).unwrap();
    assert_eq!((failed.check_id, failed.chain_valid), (3, false));
    (snapshot.next_seq(), head)
}

/// A ledger pruned by `Ledger::apply_retention`, and what it was before.
pub struct Pruned {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    /// Entries ever appended (the next seq) and the head's row hash.
    pub next_seq: u64,
    pub head: String,
    /// The first seq still held.
    pub start: u64,
    /// The removed segment files, oldest first, with their bytes.
    pub removed: Vec<(PathBuf, Vec<u8>)>,
    /// Digests taken before the pruning: of the last entry of the first removed segment, and
    /// of an entry in the middle of a later one (the first after it holding 3 entries or more).
    pub digests: Vec<Digest>,
    /// The retention anchor of that later segment (segment k's anchor is k + 1).
    pub middle_anchor: usize,
}

/// A ledger of 300 demo signals in 8 KiB segments and outcomes (some of signals that retention
/// then removes), a full check recorded, then pruned by `apply_retention`: of its first
/// `remove` sealed segments, or of all of them (None, with `now_ns` far in the future); then an
/// incremental check recorded after the anchors.
pub fn pruned_ledger(remove: Option<usize>) -> Pruned {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&dir, retention_config()).unwrap();
    let ids = append_demo(&mut ledger, 300, 11);
    let head = ledger
        .append_outcomes(&outcomes_of(&[&ids[0], &ids[1], &ids[120], &ids[299]]))
        .unwrap()
        .head_hash
        .to_hex();
    let next_seq = ledger.next_seq();
    let sealed = ledger.sealed_segments().to_vec();
    assert!(sealed.len() >= 6, "{} sealed", sealed.len());
    drop(ledger);
    assert!(run_check(&dir, CheckRequest::Full).unwrap().chain_valid);
    let snapshot = Snapshot::open(&dir).unwrap();
    // A batch that does not fit beside earlier entries starts a new segment: some hold one.
    let middle = (1..sealed.len())
        .find(|&k| sealed[k].trailer.last_seq >= sealed[k].trailer.first_seq + 2)
        .unwrap();
    let digests = vec![
        Digest::at(&snapshot, sealed[0].trailer.last_seq)
            .unwrap()
            .unwrap(),
        Digest::at(
            &snapshot,
            (sealed[middle].trailer.first_seq + sealed[middle].trailer.last_seq) / 2,
        )
        .unwrap()
        .unwrap(),
    ];
    drop(snapshot);
    let removed_count = remove.unwrap_or(sealed.len());
    let now_ns = match remove {
        // A segment counts as recorded when the next one was created: `remove` goes when the
        // cutoff (now less a day) lies just after the creation of the first one kept.
        Some(k) => sealed[k].header.created_at_ns + 1 + DAY_NS,
        None => i64::MAX / 2,
    };
    let removed: Vec<(PathBuf, Vec<u8>)> = sealed[..removed_count]
        .iter()
        .map(|s| (s.path.clone(), std::fs::read(&s.path).unwrap()))
        .collect();
    let mut ledger = Ledger::open(&dir).unwrap();
    let plan = ledger.apply_retention(now_ns).unwrap();
    assert!(plan.applied);
    assert_eq!(plan.expired.len(), removed_count);
    drop(ledger);
    for (path, _) in &removed {
        assert!(!path.exists(), "{}", path.display());
    }
    assert!(
        run_check(&dir, CheckRequest::Incremental)
            .unwrap()
            .chain_valid
    );
    let start = sealed.get(removed_count).map_or_else(
        || sealed.last().unwrap().trailer.last_seq + 1,
        |s| s.header.first_seq,
    );
    Pruned {
        _tmp: tmp,
        dir,
        next_seq,
        head,
        start,
        removed,
        digests,
        middle_anchor: middle + 1,
    }
}
