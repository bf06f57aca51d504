//! What the tests of docs/audit/verify_ledger.py (`tests/auditor_*.rs`) share: running the
//! auditor, the engine's verdicts to compare with, copies of the committed test ledgers, and
//! byte edits of segments (frames rebuilt or re-hashed, headers and trailers rewritten);
//! `checks` builds ledgers with recorded checks and pruned by retention.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

pub mod checks;
#[path = "../support/python.rs"]
pub mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::segment::SegmentTrailer;
use signal_ledger_engine::{
    verify, Corruption, Durability, Ledger, LedgerError, PersistenceConfig, Snapshot, VerifyOptions,
};

/// The single segment of the committed test ledgers.
pub const SEG0: &str = "00000000000000000000.seg";

/// The committed version-2 ledger: three signals (seq 0..=2), then two outcomes (seq 3, 4).
pub const V2_LEDGER: &str = "ledger-v2-outcomes";

/// The row-hash domain tag, as FORMAT.md spells it.
pub const DOMAIN_TAG: &[u8] = b"signal-ledger/row/v1\0";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn script() -> PathBuf {
    root().join("docs/audit/verify_ledger.py")
}

/// Runs the auditor; returns its exit code and stdout (stderr is echoed into failures).
pub fn audit(dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(python::PYTHON)
        .arg(script())
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "auditor wrote to stderr: {stderr}\nstdout: {stdout}"
    );
    (out.status.code().unwrap(), stdout)
}

pub fn intact_line(count: u64, head_hex: &str) -> String {
    format!(
        "intact: {count} entries, head seq {} row_hash {head_hex}\n",
        count - 1
    )
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// docs/test-vectors/outcome-entries.json.
pub fn outcome_vectors() -> Value {
    let path = root().join("docs/test-vectors/outcome-entries.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The engine's head hash of `dir`, which it verifies intact.
pub fn engine_head(dir: &Path) -> String {
    let report = verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    report.head_hash.unwrap().to_hex()
}

/// A copy of a committed test ledger in a fresh temporary directory.
pub fn copy_vector_ledger(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&root().join("docs/test-vectors").join(name), &dir);
    (tmp, dir)
}

/// A copy of the committed version-2 ledger, sealed as committed or with its trailer cut off
/// (unsealed: the writer's open then walks its frames).
pub fn copy_v2_ledger(sealed: bool) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = copy_vector_ledger(V2_LEDGER);
    if !sealed {
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes.truncate(bytes.len() - 96);
        std::fs::write(&seg, &bytes).unwrap();
    }
    (tmp, dir)
}

/// Sets a segment header's format_version, with its CRC recomputed or left as it was.
pub fn set_header_version(seg: &mut [u8], version: u16, fix_crc: bool) {
    seg[8..10].copy_from_slice(&version.to_le_bytes());
    if fix_crc {
        let crc = crc32fast::hash(&seg[..76]);
        seg[76..80].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Replaces the frame at `at` by one whose content (the body before its two hashes) is the old
/// one edited by `edit`, keeping the stored prev_hash and recomputing the row hash, the length
/// and the CRC from FORMAT.md's definitions: only a layout or link rule can then tell.
pub fn rebuild_frame(seg: &mut Vec<u8>, at: usize, edit: impl FnOnce(&mut Vec<u8>)) {
    let n = u32::from_le_bytes(seg[at..at + 4].try_into().unwrap()) as usize;
    let body = seg[at + 8..at + 8 + n].to_vec();
    let prev = body[n - 64..n - 32].to_vec();
    let mut content = body[..n - 64].to_vec();
    edit(&mut content);
    let mut h = Sha256::new();
    h.update(DOMAIN_TAG);
    h.update(&prev);
    h.update(&content);
    let row: [u8; 32] = h.finalize().into();
    let mut new_body = content;
    new_body.extend_from_slice(&prev);
    new_body.extend_from_slice(&row);
    let mut frame = (new_body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&crc32fast::hash(&new_body).to_le_bytes());
    frame.extend_from_slice(&new_body);
    seg.splice(at..at + 8 + n, frame);
}

/// Rewrites the trailer at the end of a sealed segment, its CRC recomputed.
pub fn rewrite_trailer(seg: &mut [u8], edit: impl FnOnce(&mut SegmentTrailer)) {
    let at = seg.len() - 96;
    let t = &seg[at..];
    let u64_at = |o: usize| u64::from_le_bytes(t[o..o + 8].try_into().unwrap());
    let i64_at = |o: usize| i64::from_le_bytes(t[o..o + 8].try_into().unwrap());
    let mut trailer = SegmentTrailer {
        record_count: u64_at(8),
        first_seq: u64_at(16),
        last_seq: u64_at(24),
        min_timestamp_ns: i64_at(32),
        max_timestamp_ns: i64_at(40),
        last_row_hash: signal_ledger_engine::Hash(t[48..80].try_into().unwrap()),
    };
    edit(&mut trailer);
    seg[at..].copy_from_slice(&trailer.encode());
}

/// Offsets of the frames of a segment's record area `[80, end)`, hopping over their lengths.
pub fn frame_offsets(seg: &[u8], end: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 80;
    while at < end {
        out.push(at);
        at += 8 + u32::from_le_bytes(seg[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(at, end, "the frames tile the record area");
    out
}

/// Recomputes, from FORMAT.md's definitions, the row hash and then the CRC of the frame at `at`
/// after its body was edited: only a layout rule can then tell.
pub fn rehash_frame(seg: &mut [u8], at: usize) {
    let n = u32::from_le_bytes(seg[at..at + 4].try_into().unwrap()) as usize;
    let body = &mut seg[at + 8..at + 8 + n];
    let mut h = Sha256::new();
    h.update(DOMAIN_TAG);
    h.update(&body[n - 64..n - 32]);
    h.update(&body[..n - 64]);
    let row: [u8; 32] = h.finalize().into();
    body[n - 32..].copy_from_slice(&row);
    let crc = crc32fast::hash(body);
    seg[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The engine's first verification failure of `dir`.
pub fn engine_failure(dir: &Path) -> Corruption {
    let snapshot = Snapshot::open(dir).unwrap();
    verify(&snapshot, VerifyOptions::default())
        .first_failure
        .expect("the engine finds the damage")
}

/// Asserts that the auditor refuses `dir` at `SEG0` byte `offset` seq `seq` with a message
/// containing `what`, and that the engine's verify names the same place.
pub fn both_refuse_at(dir: &Path, offset: usize, seq: u64, what: &str) -> Corruption {
    both_refuse_in(dir, SEG0, offset, seq, what)
}

/// [`both_refuse_at`] in segment file `file`.
pub fn both_refuse_in(dir: &Path, file: &str, offset: usize, seq: u64, what: &str) -> Corruption {
    let (code, out) = audit(dir, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!("TAMPERED: {file} byte {offset} seq {seq}: ");
    assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
    assert!(out.contains(what), "want {what:?} in {out:?}");
    let failure = engine_failure(dir);
    assert_eq!(failure.file, dir.join(file), "{failure}");
    assert_eq!(
        (failure.offset, failure.seq),
        (offset as u64, Some(seq)),
        "{failure}"
    );
    failure
}

/// Asserts that the writer refuses to open `dir` as corrupt at `offset` and `seq` (through the
/// upgrade for a version-1 ledger, which the writer's open asks to upgrade first).
pub fn writer_refuses_at(dir: &Path, offset: usize, seq: u64) {
    let v1 = std::fs::read_to_string(dir.join("ledger.toml"))
        .unwrap()
        .contains("\nformat_version = 1\n");
    let err = if v1 {
        assert!(matches!(
            Ledger::open(dir),
            Err(LedgerError::UpgradeNeeded { .. })
        ));
        Ledger::upgrade(dir).map(|_| ()).unwrap_err()
    } else {
        Ledger::open(dir).map(|_| ()).unwrap_err()
    };
    match err {
        LedgerError::Corrupt(c) => {
            assert_eq!((c.offset, c.seq), (offset as u64, Some(seq)), "{c}");
        }
        other => panic!("writer: {other:?}"),
    }
}

/// A ledger of 3000 demo signals in 64 KiB segments, appended in batches; returns its head hex.
pub fn build_ledger(dir: &Path) -> String {
    let config = PersistenceConfig {
        segment_size_bytes: 64 * 1024,
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let signals: Vec<_> = DemoGenerator::new(&DemoConfig {
        count: 3000,
        ..DemoConfig::default()
    })
    .collect();
    let mut ledger = Ledger::create(dir, config).unwrap();
    let mut head = None;
    for batch in signals.chunks(250) {
        head = Some(ledger.append(batch).unwrap().head_hash);
    }
    assert!(
        ledger.sealed_segments().len() >= 4,
        "{} sealed",
        ledger.sealed_segments().len()
    );
    head.unwrap().to_hex()
}
