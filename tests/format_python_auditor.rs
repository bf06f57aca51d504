//! Promise: docs/audit/verify_ledger.py — an auditor's verifier written only from docs/FORMAT.md —
//! agrees with the engine on format versions 1 and 2: it finds the committed test ledgers (the
//! version-1 ones and the version-2 one with outcomes), the fixture ledgers of both versions, an
//! upgraded ledger (version-1 segments, then version-2 ones) and multi-segment ledgers written by
//! the engine (with outcomes, and a segment of outcomes only) intact with the engine's head
//! hash, holds the engine's head digests (seq, row_hash and timestamp), and names the segment,
//! byte and seq of damage exactly where the engine does — for a flipped byte, a re-hashed edit,
//! bytes or frames before a trailer, a segment of an unsupported format version, segment versions
//! that go back, a reserved entry kind, an outcome in a version-1 segment, a malformed outcome,
//! an outcome whose signal is not the one it names, a trailer whose timestamp range counts
//! outcomes, and a non-finite price. The writer's open (or the upgrade, for a version-1 ledger)
//! refuses the damage it reads too.
//!
//! The check log and retention (FORMAT.md, "Check log", "Retention"): a ledger with recorded
//! checks, and ledgers pruned by `Ledger::apply_retention` (a few segments, or every sealed one),
//! are intact for both with the same head and entry count (the anchors of segments put back
//! ignored); damage in `checks.log` — its header, a flipped byte, a re-hashed edit, every (R)
//! layout rule of integrity checks and anchors, a broken chain — is named at the same offset and
//! check-log seq by the auditor and the engine's `read_check_log`, and a bad last frame is a torn
//! tail for both; a middle or first held segment removed by hand, an anchor edited (re-hashed, or
//! damaged so that the anchors after it are not read), or a check log cut back or removed, is a
//! missing segment or a header that does not join, at the same place for both; and a digest of
//! a seq removed by retention is refused by both, naming the anchor that held it.
//!
//! Skipped, with a notice, when `python3` is not on PATH.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::checklog::{
    check_record, read_check_log, record_check, run_check, CheckMode, CheckRequest, CHECK_LOG_FILE,
};
use signal_ledger_engine::input::parse_signal_line;
use signal_ledger_engine::record::codec::{encode_signal_body, Stamp};
use signal_ledger_engine::record::frame::{begin_frame, finish_frame};
use signal_ledger_engine::record::{Decision, Outcome};
use signal_ledger_engine::segment::SegmentTrailer;
use signal_ledger_engine::{
    verify, CorruptKind, Corruption, Digest, Durability, Ledger, LedgerError, PersistenceConfig,
    Signal, Snapshot, VerifyOptions,
};

/// The single segment of the committed test ledgers.
const SEG0: &str = "00000000000000000000.seg";
/// The committed version-2 ledger: three signals (seq 0..=2), then two outcomes (seq 3, 4).
const V2_LEDGER: &str = "ledger-v2-outcomes";
/// The row-hash domain tag, as FORMAT.md spells it.
const DOMAIN_TAG: &[u8] = b"signal-ledger/row/v1\0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("docs/audit/verify_ledger.py")
}

fn have_python() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipping: python3 is not on PATH, so docs/audit/verify_ledger.py is not run");
    }
    found
}

/// Runs the auditor; returns its exit code and stdout (stderr is echoed into failures).
fn audit(dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
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

fn intact_line(count: u64, head_hex: &str) -> String {
    format!(
        "intact: {count} entries, head seq {} row_hash {head_hex}\n",
        count - 1
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// docs/test-vectors/outcome-entries.json.
fn outcome_vectors() -> Value {
    let path = root().join("docs/test-vectors/outcome-entries.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The engine's head hash of `dir`, which it verifies intact.
fn engine_head(dir: &Path) -> String {
    let report = verify(&Snapshot::open(dir).unwrap(), VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    report.head_hash.unwrap().to_hex()
}

#[test]
fn committed_test_vector_ledgers_are_intact() {
    if !have_python() {
        return;
    }
    let head = "05b0bd5fb5c1daf7c2c514cae282048b148db95d837665c4ce7f61ade2a3fa4c";
    for name in ["ledger-3-entries", "ledger-3-entries-sealed"] {
        let dir = root().join("docs/test-vectors").join(name);
        assert_eq!(audit(&dir, &[]), (0, intact_line(3, head)), "{name}");
        assert_eq!(engine_head(&dir), head);
    }
    // The version-2 ledger: the head its vectors name, for the engine and the auditor alike,
    // and its head digest is held.
    let meta = &outcome_vectors()["ledgers"][V2_LEDGER];
    let head = meta["head_row_hash"].as_str().unwrap();
    let dir = root().join("docs/test-vectors").join(V2_LEDGER);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(5, head)));
    let tmp = tempfile::tempdir().unwrap();
    let digest = tmp.path().join("digest.json");
    std::fs::write(&digest, meta["head_digest"].as_str().unwrap()).unwrap();
    let (code, out) = audit(&dir, &["--against", digest.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with(&format!("seq 4 row_hash {head} is held\n")),
        "{out}"
    );
}

#[test]
fn fixture_ledgers_of_both_versions_are_intact_with_their_digests() {
    // tests/fixtures: a ledger written by the version-1 engine and one by the version-2 engine.
    if !have_python() {
        return;
    }
    for name in ["ledger-v1", "ledger-v2"] {
        let dir = root().join("tests/fixtures").join(name);
        let digest_path = root().join(format!("tests/fixtures/{name}.digest.json"));
        let digest = Digest::parse(&std::fs::read_to_string(&digest_path).unwrap()).unwrap();
        let head = engine_head(&dir);
        assert_eq!(head, digest.row_hash.to_hex(), "{name}");
        let (code, out) = audit(&dir, &["--against", digest_path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(
            out.starts_with(&intact_line(digest.seq + 1, &head)),
            "{name}: {out}"
        );
        assert!(out.contains("is held"), "{name}: {out}");
    }
}

/// A copy of a committed test ledger in a fresh temporary directory.
fn copy_vector_ledger(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&root().join("docs/test-vectors").join(name), &dir);
    (tmp, dir)
}

/// A copy of the committed version-2 ledger, sealed as committed or with its trailer cut off
/// (unsealed: the writer's open then walks its frames).
fn copy_v2_ledger(sealed: bool) -> (tempfile::TempDir, PathBuf) {
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
fn set_header_version(seg: &mut [u8], version: u16, fix_crc: bool) {
    seg[8..10].copy_from_slice(&version.to_le_bytes());
    if fix_crc {
        let crc = crc32fast::hash(&seg[..76]);
        seg[76..80].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Replaces the frame at `at` by one whose content (the body before its two hashes) is the old
/// one edited by `edit`, keeping the stored prev_hash and recomputing the row hash, the length
/// and the CRC from FORMAT.md's definitions: only a layout or link rule can then tell.
fn rebuild_frame(seg: &mut Vec<u8>, at: usize, edit: impl FnOnce(&mut Vec<u8>)) {
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
fn rewrite_trailer(seg: &mut [u8], edit: impl FnOnce(&mut SegmentTrailer)) {
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
fn frame_offsets(seg: &[u8], end: usize) -> Vec<usize> {
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
fn rehash_frame(seg: &mut [u8], at: usize) {
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
fn engine_failure(dir: &Path) -> Corruption {
    let snapshot = Snapshot::open(dir).unwrap();
    verify(&snapshot, VerifyOptions::default())
        .first_failure
        .expect("the engine finds the damage")
}

/// Asserts that the auditor refuses `dir` at `SEG0` byte `offset` seq `seq` with a message
/// containing `what`, and that the engine's verify names the same place.
fn both_refuse_at(dir: &Path, offset: usize, seq: u64, what: &str) -> Corruption {
    both_refuse_in(dir, SEG0, offset, seq, what)
}

/// [`both_refuse_at`] in segment file `file`.
fn both_refuse_in(dir: &Path, file: &str, offset: usize, seq: u64, what: &str) -> Corruption {
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
fn writer_refuses_at(dir: &Path, offset: usize, seq: u64) {
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

#[test]
fn bytes_before_the_trailer_of_the_last_sealed_segment_are_refused() {
    // FORMAT.md: the frames of a sealed segment tile its record area exactly, up to the trailer.
    if !have_python() {
        return;
    }
    // Stray bytes, and a whole valid frame chained to the head (seq 3), alike.
    let extra_frame = {
        let snapshot = Snapshot::open(&root().join("docs/test-vectors/ledger-3-entries")).unwrap();
        let head = snapshot.head().unwrap();
        let signal: Signal = parse_signal_line(
            r#"{"signal_id":"sig-smuggled","source_module":"m","ticker":"X","direction":"long","conviction":1,"signal_type":"entry","timestamp":"2026-01-05T14:31:00Z"}"#,
        )
        .unwrap()
        .into_signal();
        let stamp = Stamp {
            seq: head.seq + 1,
            recorded_at_ns: signal.timestamp_ns,
            prev_hash: head.row_hash,
        };
        let mut frame = Vec::new();
        let start = begin_frame(&mut frame);
        encode_signal_body(&mut frame, &stamp, &signal, &signal.signal_id);
        finish_frame(&mut frame, start);
        frame
    };
    for (what, inserted) in [("stray bytes", vec![0x41u8; 10]), ("a frame", extra_frame)] {
        let (_tmp, dir) = copy_vector_ledger("ledger-3-entries-sealed");
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let trailer_at = bytes.len() - 96;
        bytes.splice(trailer_at..trailer_at, inserted);
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, trailer_at, 3, "segment trailer mismatch");
        assert!(
            matches!(failure.kind, CorruptKind::TrailerMismatch(_)),
            "{what}: {failure}"
        );
    }
}

#[test]
fn a_segment_of_an_unsupported_version_is_refused_by_its_version_before_its_crc() {
    // FORMAT.md, "Segment header": magic, then format_version (1..=2), then header_crc.
    if !have_python() {
        return;
    }
    for version in [0u16, 3, u16::MAX] {
        for fix_crc in [false, true] {
            for ledger in ["ledger-3-entries-sealed", V2_LEDGER] {
                let (_tmp, dir) = copy_vector_ledger(ledger);
                let seg = dir.join(SEG0);
                let mut bytes = std::fs::read(&seg).unwrap();
                set_header_version(&mut bytes, version, fix_crc);
                std::fs::write(&seg, &bytes).unwrap();
                let what = format!("format version {version} is not supported");
                let failure = both_refuse_at(&dir, 0, 0, &what);
                let (code, out) = audit(&dir, &[]);
                assert_eq!(code, 1);
                assert!(out.contains("reads 1..=2"), "{out}");
                let unsupported = CorruptKind::UnsupportedVersion {
                    found: version,
                    min: 1,
                    max: 2,
                };
                assert_eq!(
                    failure.kind, unsupported,
                    "{ledger}: version {version}, crc fixed: {fix_crc}"
                );
                writer_refuses_at(&dir, 0, 0);
            }
        }
    }
}

#[test]
fn a_reserved_entry_kind_is_refused_by_open_verify_and_the_auditor() {
    // FORMAT.md, "Entry body": kinds 0x03..=0x05 are reserved, refused in a segment of either
    // version, by the writer's open too.
    if !have_python() {
        return;
    }
    for kind in [0x03u8, 0x04, 0x05] {
        for (ledger, seq) in [("ledger-3-entries", 2), (V2_LEDGER, 4)] {
            let (_tmp, dir) = if ledger == V2_LEDGER {
                copy_v2_ledger(false)
            } else {
                copy_vector_ledger(ledger)
            };
            let seg = dir.join(SEG0);
            let mut bytes = std::fs::read(&seg).unwrap();
            let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
            bytes[last + 8] = kind;
            rehash_frame(&mut bytes, last);
            std::fs::write(&seg, &bytes).unwrap();
            let failure = both_refuse_at(&dir, last, seq, "is reserved");
            assert!(
                matches!(failure.kind, CorruptKind::Malformed(_)),
                "{ledger} kind {kind:#04x}: {failure}"
            );
            writer_refuses_at(&dir, last, seq);
        }
    }
}

#[test]
fn an_unknown_entry_kind_is_refused_by_open_verify_and_the_auditor() {
    // FORMAT.md, "Entry body": 0x00 and 0x06..=0xFF are unknown kinds, damage wherever they are.
    if !have_python() {
        return;
    }
    for kind in [0x00u8, 0x06, 0xFF] {
        let (_tmp, dir) = copy_v2_ledger(false);
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
        bytes[last + 8] = kind;
        rehash_frame(&mut bytes, last);
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, last, 4, "unknown entry kind");
        assert_eq!(failure.kind, CorruptKind::UnknownKind(kind));
        writer_refuses_at(&dir, last, 4);
    }
}

#[test]
fn an_outcome_in_a_version_1_segment_is_refused_by_open_verify_and_the_auditor() {
    // FORMAT.md, "Entry body": kind 0x02 is refused in a segment of format version 1, however
    // well-formed, by verification and by the writer's open-time walk.
    if !have_python() {
        return;
    }
    let what = "not allowed in a segment of format version 1";
    // 1. The committed version-2 ledger, its header made version 1 (CRC fixed): the first
    //    outcome, seq 3, is refused — sealed (verify and auditor) and unsealed (open too).
    for sealed in [true, false] {
        let (_tmp, dir) = copy_v2_ledger(sealed);
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let end = bytes.len() - if sealed { 96 } else { 0 };
        let first_outcome = frame_offsets(&bytes, end)[3];
        assert_eq!(bytes[first_outcome + 8], 0x02);
        set_header_version(&mut bytes, 1, true);
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, first_outcome, 3, what);
        assert!(
            matches!(&failure.kind, CorruptKind::Malformed(m) if m.contains(what)),
            "{failure}"
        );
        if !sealed {
            writer_refuses_at(&dir, first_outcome, 3);
        }
    }
    // 2. A version-1 test ledger whose last entry is made kind 0x02 (re-hashed): refused for
    //    its kind before its layout, and the upgrade refuses the ledger.
    let (_tmp, dir) = copy_vector_ledger("ledger-3-entries");
    let seg = dir.join(SEG0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
    bytes[last + 8] = 0x02;
    rehash_frame(&mut bytes, last);
    std::fs::write(&seg, &bytes).unwrap();
    let failure = both_refuse_at(&dir, last, 2, what);
    assert!(
        matches!(&failure.kind, CorruptKind::Malformed(m) if m.contains(what)),
        "{failure}"
    );
    writer_refuses_at(&dir, last, 2);
}

#[test]
fn a_malformed_outcome_is_refused_by_verify_and_the_auditor() {
    // FORMAT.md, "Outcome entry": every (R) layout rule, each edit re-hashed so that only the
    // rule can tell. The last entry of the version-2 ledger (seq 4, `dismissed`) is edited; its
    // content is 40 fixed bytes, signal_id "sig-0001" at 40..49, an empty execution_id at 49 and
    // a zero reason length at 50..52.
    if !have_python() {
        return;
    }
    type Edit = fn(&mut Vec<u8>);
    let cases: [(&str, Edit, &str); 12] = [
        ("decision 2", |c| c[1] = 2, "decision code 2"),
        ("decision 0xff", |c| c[1] = 0xff, "decision code 255"),
        (
            "a reserved byte",
            |c| c[7] = 1,
            "reserved bytes are not zero",
        ),
        (
            "signal_seq = seq",
            |c| c[32..40].copy_from_slice(&4u64.to_le_bytes()),
            "signal_seq 4 is not before",
        ),
        (
            "signal_seq after seq",
            |c| c[32..40].copy_from_slice(&u64::MAX.to_le_bytes()),
            "is not before",
        ),
        (
            "an empty signal_id",
            |c| {
                c.splice(40..49, [0u8]);
            },
            "signal_id length 0",
        ),
        (
            "a signal_id not UTF-8",
            |c| c[48] = 0xff,
            "signal_id is not UTF-8",
        ),
        (
            "an execution_id of 65 bytes",
            |c| {
                c.splice(49..50, std::iter::once(65u8).chain([b'e'; 65]));
            },
            "execution_id length 65",
        ),
        (
            "a reason of 1025 bytes",
            |c| {
                c.truncate(50);
                c.extend_from_slice(&1025u16.to_le_bytes());
                c.extend_from_slice(&[b'r'; 1025]);
            },
            "reason of 1025 bytes",
        ),
        (
            "a reason not UTF-8",
            |c| {
                c.truncate(50);
                c.extend_from_slice(&[1, 0, 0xff]);
            },
            "reason is not UTF-8",
        ),
        (
            "a reason running past the hashes",
            |c| {
                c.truncate(50);
                c.extend_from_slice(&[5, 0, b'a']);
            },
            "reason runs past the end",
        ),
        (
            "a byte after the reason",
            |c| c.push(0),
            "unexpected bytes after the reason",
        ),
    ];
    for (name, edit, what) in cases {
        let (_tmp, dir) = copy_v2_ledger(false);
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
        assert_eq!(bytes[last + 8], 0x02);
        rebuild_frame(&mut bytes, last, edit);
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, last, 4, what);
        assert!(
            matches!(failure.kind, CorruptKind::Malformed(_)),
            "{name}: {failure}"
        );
    }
}

#[test]
fn an_outcome_naming_another_signal_is_refused_at_the_outcome() {
    // PROCEDURES.md, "Verifying a ledger", step 4: the entry at signal_seq must be a signal with
    // the outcome's signal_id; a failure is reported at the outcome's frame with the outcome's
    // seq.
    // `acted` (seq 3) names seq 1 "sig-0002"; `dismissed` (seq 4) names seq 0 "sig-0001".
    if !have_python() {
        return;
    }
    type Edit = fn(&mut Vec<u8>);
    let cases: [(&str, u64, Edit, &str); 4] = [
        (
            "seq 4 names seq 1, another signal",
            4,
            |c| c[32..40].copy_from_slice(&1u64.to_le_bytes()),
            "at seq 1, which holds signal 'sig-0002'",
        ),
        (
            "seq 4 names seq 3, an outcome",
            4,
            |c| c[32..40].copy_from_slice(&3u64.to_le_bytes()),
            "at seq 3, which is not a signal entry",
        ),
        (
            "seq 4 names an id its signal does not carry",
            4,
            |c| c[48] = b'9',
            "outcome names signal 'sig-0009' at seq 0, which holds signal 'sig-0001'",
        ),
        // Mid-chain: the next entry's prev_hash no longer matches (a chain break at seq 4), but
        // the broken link at seq 3 comes first.
        (
            "seq 3 names seq 0, another signal",
            3,
            |c| c[32..40].copy_from_slice(&0u64.to_le_bytes()),
            "outcome names signal 'sig-0002' at seq 0, which holds signal 'sig-0001'",
        ),
    ];
    for (name, seq, edit, what) in cases {
        for sealed in [false, true] {
            let (_tmp, dir) = copy_v2_ledger(sealed);
            let seg = dir.join(SEG0);
            let mut bytes = std::fs::read(&seg).unwrap();
            let end = bytes.len() - if sealed { 96 } else { 0 };
            let at = frame_offsets(&bytes, end)[seq as usize];
            rebuild_frame(&mut bytes, at, edit);
            if sealed && seq == 4 {
                // A forger who also fixes the trailer's last_row_hash: only the link can tell.
                let n = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
                let row: [u8; 32] = bytes[at + 8 + n - 32..at + 8 + n].try_into().unwrap();
                rewrite_trailer(&mut bytes, |t| t.last_row_hash.0 = row);
            }
            std::fs::write(&seg, &bytes).unwrap();
            let failure = both_refuse_at(&dir, at, seq, what);
            assert!(
                matches!(failure.kind, CorruptKind::Malformed(_)),
                "{name} (sealed: {sealed}): {failure}"
            );
        }
    }
    // Left with its old trailer, the sealed segment's trailer disagrees too: that failure has
    // the lower seq (the segment's first) and is the one both report.
    let (_tmp, dir) = copy_v2_ledger(true);
    let seg = dir.join(SEG0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let trailer_at = bytes.len() - 96;
    let last = *frame_offsets(&bytes, trailer_at).last().unwrap();
    rebuild_frame(&mut bytes, last, |c| {
        c[32..40].copy_from_slice(&1u64.to_le_bytes())
    });
    std::fs::write(&seg, &bytes).unwrap();
    let failure = both_refuse_at(&dir, trailer_at, 0, "segment trailer disagrees");
    assert!(
        matches!(failure.kind, CorruptKind::TrailerMismatch(_)),
        "{failure}"
    );
}

#[test]
fn a_trailer_counts_the_timestamps_of_signals_only() {
    // FORMAT.md, "Segment trailer": min/max_timestamp_ns range over the signal entries only. The
    // committed version-2 ledger is intact (its trailer has the signals' range); a trailer that
    // counts the outcomes' decided_at, or that says the segment has no signal, is refused.
    if !have_python() {
        return;
    }
    let vectors = outcome_vectors();
    let latest_decision = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["columns"]["decided_at"]["ns"].as_i64().unwrap())
        .max()
        .unwrap();
    type Edit = Box<dyn Fn(&mut SegmentTrailer)>;
    let cases: [(&str, Edit); 2] = [
        (
            "the outcomes counted",
            Box::new(move |t| t.max_timestamp_ns = t.max_timestamp_ns.max(latest_decision)),
        ),
        (
            "no signal",
            Box::new(|t| {
                t.min_timestamp_ns = i64::MAX;
                t.max_timestamp_ns = i64::MIN;
            }),
        ),
    ];
    for (name, edit) in cases {
        let (_tmp, dir) = copy_v2_ledger(true);
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let before = bytes.clone();
        rewrite_trailer(&mut bytes, |t| edit(t));
        assert_ne!(bytes, before, "{name}");
        std::fs::write(&seg, &bytes).unwrap();
        let trailer_at = bytes.len() - 96;
        let failure = both_refuse_at(&dir, trailer_at, 0, "segment trailer disagrees");
        assert!(
            matches!(failure.kind, CorruptKind::TrailerMismatch(_)),
            "{name}: {failure}"
        );
    }
}

#[test]
fn an_upgraded_ledger_is_intact_and_segment_versions_never_decrease() {
    // FORMAT.md, "Segment header": versions 1..=2, never lower than the previous segment's. The
    // version-1 fixture ledger, upgraded and given outcomes of its old signals, holds version-1
    // segments then version-2 ones, and is intact for both; a version-2 segment followed by a
    // version-1 one is refused at the later segment's header.
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    copy_dir(&root().join("tests/fixtures/ledger-v1"), &dir);
    Ledger::upgrade(&dir).unwrap();
    let snapshot = Snapshot::open(&dir).unwrap();
    let ids: Vec<String> = [0u64, 13, 59]
        .iter()
        .map(|&seq| snapshot.get(seq).unwrap().unwrap().signal.signal_id)
        .collect();
    drop(snapshot);
    let mut ledger = Ledger::open(&dir).unwrap();
    let outcomes: Vec<Outcome> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Outcome {
            signal_id: id.clone(),
            decision: Decision::from_acted(i % 2 == 0),
            execution_id: (i % 2 == 0).then(|| format!("ex-{i}")),
            reason: Some("après l'audit".into()),
            decided_at_ns: 1_767_623_400_000_000_000 + i as i64,
        })
        .collect();
    let head = ledger
        .append_outcomes(&outcomes)
        .unwrap()
        .head_hash
        .to_hex();
    drop(ledger);
    let segments: Vec<PathBuf> = Snapshot::open(&dir)
        .unwrap()
        .segments()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    let versions: Vec<u16> = segments
        .iter()
        .map(|p| u16::from_le_bytes(std::fs::read(p).unwrap()[8..10].try_into().unwrap()))
        .collect();
    assert_eq!(versions, [1, 1, 1, 1, 1, 2]);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(63, &head)));

    // The first segment made version 2 (CRC fixed): the second, of version 1, goes back.
    let mut first = std::fs::read(&segments[0]).unwrap();
    set_header_version(&mut first, 2, true);
    std::fs::write(&segments[0], &first).unwrap();
    let second = segments[1]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let failure = both_refuse_in(&dir, &second, 0, 12, "versions never decrease");
    assert!(
        matches!(failure.kind, CorruptKind::HeaderMismatch(_)),
        "{failure}"
    );
    writer_refuses_at(&dir, 0, 12);
}

#[test]
fn a_non_finite_price_is_refused() {
    // FORMAT.md, "Signal entry": a present price must be finite (R).
    if !have_python() {
        return;
    }
    for price in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let (_tmp, dir) = copy_vector_ledger("ledger-3-entries");
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        // The last vector ("negative") has a price.
        let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
        assert_eq!(bytes[last + 8 + 3] & 1, 1, "price present");
        bytes[last + 8 + 48..last + 8 + 56].copy_from_slice(&price.to_le_bytes());
        rehash_frame(&mut bytes, last);
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, last, 2, "is not finite");
        assert!(
            matches!(failure.kind, CorruptKind::Malformed(_)),
            "{price}: {failure}"
        );
    }
}

#[test]
fn a_digest_must_match_the_timestamp_too() {
    // FORMAT.md, "Head digests": seq, row_hash and recorded_at are compared.
    if !have_python() {
        return;
    }
    let dir = root().join("docs/test-vectors/ledger-3-entries");
    let snapshot = Snapshot::open(&dir).unwrap();
    let mut digest = Digest::of_head(&snapshot).unwrap().unwrap();
    digest.recorded_at_ns += 1;
    let err = digest.check(&snapshot).unwrap_err();
    assert!(matches!(err.kind, CorruptKind::DigestMismatch(_)), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("digest.json");
    std::fs::write(&path, digest.to_json()).unwrap();
    let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "TAMPERED: {SEG0} byte {} seq 2: digest mismatch",
            err.offset
        )),
        "{out}"
    );
    assert!(out.contains("recorded_at"), "{out}");
}

#[test]
fn latency_of_extreme_timestamps_agrees() {
    // FORMAT.md, "Signal entry", latency_ms: the exact ns difference (beyond i64, and beyond 2^53)
    // rounded once.
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let config = PersistenceConfig {
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let mut ledger = Ledger::create(&dir, config).unwrap();
    let line = |ts: &str| {
        parse_signal_line(&format!(
            r#"{{"source_module":"m","ticker":"X","direction":"long","conviction":0.5,"signal_type":"entry","timestamp":"{ts}"}}"#
        ))
        .unwrap()
    };
    let signals = [
        line("1677-09-21T00:12:43.145224192Z"),
        line("2262-04-11T23:47:16.854775807Z"),
        line("1970-01-01T00:00:00.000000001Z"),
        line("2001-02-03T04:05:06.789012345+09:30"),
    ];
    let head = ledger.append_valid(&signals).unwrap().head_hash;
    drop(ledger);
    assert!(verify(&Snapshot::open(&dir).unwrap(), VerifyOptions::default()).is_intact());
    assert_eq!(audit(&dir, &[]), (0, intact_line(4, &head.to_hex())));
}

/// A ledger of 3000 demo signals in 64 KiB segments, appended in batches; returns its head hex.
fn build_ledger(dir: &Path) -> String {
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

#[test]
fn engine_ledger_is_intact_and_damage_is_located_like_the_engine() {
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let head = build_ledger(&dir);

    // Intact, with the engine's head.
    let snapshot = Snapshot::open(&dir).unwrap();
    let report = verify(&snapshot, VerifyOptions::default());
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.head_hash.unwrap().to_hex(), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(3000, &head)));

    // The engine's digests, of the head and of an older entry, are held; a forged one is not.
    let digests = tmp.path().join("digests");
    std::fs::create_dir_all(&digests).unwrap();
    for (name, digest) in [
        ("head.json", Digest::of_head(&snapshot).unwrap().unwrap()),
        ("old.json", Digest::at(&snapshot, 1000).unwrap().unwrap()),
    ] {
        let path = digests.join(name);
        std::fs::write(&path, digest.to_json() + "\n").unwrap();
        let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.starts_with(&intact_line(3000, &head)), "{out}");
        assert!(out.contains(&format!(
            "seq {} row_hash {} is held",
            digest.seq, digest.row_hash
        )));
    }
    let mut forged = Digest::at(&snapshot, 1000).unwrap().unwrap();
    forged.row_hash.0[0] ^= 1;
    let path = digests.join("forged.json");
    std::fs::write(&path, forged.to_json()).unwrap();
    let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("seq 1000: digest mismatch"), "{out}");
    assert!(forged.check(&snapshot).is_err());

    // A torn tail (half a frame after the last one) is not part of the ledger, for both.
    let active = snapshot.segments().last().unwrap().path.clone();
    let clean_len = std::fs::metadata(&active).unwrap().len();
    let first = snapshot.entries().next().unwrap().unwrap();
    let mut torn = std::fs::read(&active).unwrap();
    let half_frame = {
        let seg0 = std::fs::read(&snapshot.segments()[0].path).unwrap();
        seg0[first.offset..first.offset + 8 + first.body.len() / 2].to_vec()
    };
    torn.extend_from_slice(&half_frame);
    std::fs::write(&active, &torn).unwrap();
    let torn_snapshot = Snapshot::open(&dir).unwrap();
    assert!(torn_snapshot.torn_tail().is_some());
    assert!(verify(&torn_snapshot, VerifyOptions::default()).is_intact());
    let (code, out) = audit(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("note: torn tail in "), "{out}");
    assert!(out.ends_with(&intact_line(3000, &head)), "{out}");
    assert_eq!(audit(&dir, &["--strict"]).0, 1);
    drop(torn_snapshot);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&active)
        .unwrap()
        .set_len(clean_len)
        .unwrap();
    assert_eq!(audit(&dir, &[]), (0, intact_line(3000, &head)));

    // Pick an entry in the middle of the second sealed segment.
    let segment = &snapshot.segments()[1];
    assert!(segment.trailer.is_some());
    let seq = segment.first_seq() + segment.record_count / 2;
    let entry = snapshot.entries_from(seq).next().unwrap().unwrap();
    assert_eq!(entry.segment, 1);
    let seg_path = segment.path.clone();
    let seg_name = seg_path.file_name().unwrap().to_str().unwrap().to_owned();
    let original = std::fs::read(&seg_path).unwrap();
    let frame_at = entry.offset;
    let body_at = frame_at + 8;
    let body_len = entry.body.len();
    drop(snapshot);

    // 1. A flipped byte: a CRC mismatch, at the same file, byte and seq as the engine says.
    let mut flipped = original.clone();
    flipped[body_at + body_len / 2] ^= 0x20;
    std::fs::write(&seg_path, &flipped).unwrap();
    let (code, out) = audit(&dir, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!("TAMPERED: {seg_name} byte {} seq {seq}: ", frame_at);
    assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
    assert!(out.contains("crc mismatch"), "{out}");
    let failure = verify(&Snapshot::open(&dir).unwrap(), VerifyOptions::default())
        .first_failure
        .unwrap();
    assert_eq!(failure.file, seg_path);
    assert_eq!((failure.offset, failure.seq), (frame_at as u64, Some(seq)));

    // 2. The same edit with the frame's CRC fixed up: only the row hash can tell.
    let crc = crc32fast::hash(&flipped[body_at..body_at + body_len]);
    flipped[frame_at + 4..frame_at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg_path, &flipped).unwrap();
    let (code, out) = audit(&dir, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
    assert!(
        out.contains("row hash mismatch") || out.contains("malformed entry"),
        "{out}"
    );
    let failure = verify(&Snapshot::open(&dir).unwrap(), VerifyOptions::default())
        .first_failure
        .unwrap();
    assert_eq!(
        (failure.file.clone(), failure.offset, failure.seq),
        (seg_path.clone(), frame_at as u64, Some(seq))
    );

    // Restored, it is intact again.
    std::fs::write(&seg_path, &original).unwrap();
    assert_eq!(audit(&dir, &[]), (0, intact_line(3000, &head)));
}

#[test]
fn engine_ledger_with_outcomes_is_intact_for_both() {
    // Outcomes appended by the engine across small segments, one of them holding outcomes only
    // (its trailer's timestamp range is i64::MAX, i64::MIN); digests of a signal and of an
    // outcome are held.
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let config = PersistenceConfig {
        segment_size_bytes: 4096,
        durability: Durability::None,
        ..PersistenceConfig::default()
    };
    let signals: Vec<_> = DemoGenerator::new(&DemoConfig {
        count: 40,
        ..DemoConfig::default()
    })
    .collect();
    let mut ledger = Ledger::create(&dir, config).unwrap();
    let ids = ledger.append(&signals).unwrap().signal_ids;
    let mut head = None;
    for batch in 0..6u64 {
        let outcomes: Vec<Outcome> = (0..20u64)
            .map(|i| {
                let n = batch * 20 + i;
                Outcome {
                    signal_id: ids[(n * 7 % ids.len() as u64) as usize].clone(),
                    decision: Decision::from_acted(n % 3 != 0),
                    execution_id: (n % 2 == 0).then(|| format!("ex-{n:04}")),
                    reason: (n % 5 != 0).then(|| format!("décision n° {n}")),
                    decided_at_ns: 1_767_623_400_000_000_000 + n as i64 * 1_000_000,
                }
            })
            .collect();
        head = Some(
            ledger
                .append_outcomes(&outcomes)
                .unwrap()
                .head_hash
                .to_hex(),
        );
    }
    let head = head.unwrap();
    drop(ledger);

    let snapshot = Snapshot::open(&dir).unwrap();
    let outcomes_only = snapshot
        .segments()
        .iter()
        .filter_map(|s| s.trailer.as_ref())
        .filter(|t| (t.min_timestamp_ns, t.max_timestamp_ns) == (i64::MAX, i64::MIN))
        .count();
    assert!(outcomes_only >= 1, "a sealed segment of outcomes only");
    let count = snapshot.next_seq();
    assert_eq!(count, 40 + 120);
    assert_eq!(engine_head(&dir), head);
    assert_eq!(audit(&dir, &[]), (0, intact_line(count, &head)));
    let digests = tmp.path().join("digests");
    std::fs::create_dir_all(&digests).unwrap();
    for (name, digest) in [
        ("head.json", Digest::of_head(&snapshot).unwrap().unwrap()),
        ("signal.json", Digest::at(&snapshot, 10).unwrap().unwrap()),
        ("outcome.json", Digest::at(&snapshot, 100).unwrap().unwrap()),
    ] {
        let path = digests.join(name);
        std::fs::write(&path, digest.to_json() + "\n").unwrap();
        let (code, out) = audit(&dir, &["--against", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(
            out.contains(&format!("seq {} row_hash", digest.seq)),
            "{out}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The check log and retention (FORMAT.md, "Check log", "Retention"; PROCEDURES.md, "Verifying a
// ledger" steps 2 and 5, "Digests of removed entries").
// ------------------------------------------------------------------------------------------------

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Small segments, retention of one day, no syncs.
fn retention_config() -> PersistenceConfig {
    PersistenceConfig {
        segment_size_bytes: 8192,
        retention_days: 1,
        durability: Durability::None,
        ..PersistenceConfig::default()
    }
}

/// Appends `count` demo signals to `ledger` in batches of 25, starting the generator at `seed`;
/// returns their signal_ids.
fn append_demo(ledger: &mut Ledger, count: usize, seed: u64) -> Vec<String> {
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
fn outcomes_of(ids: &[&String]) -> Vec<Outcome> {
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
fn check_log_frames(dir: &Path) -> (Vec<u8>, Vec<usize>) {
    let bytes = std::fs::read(dir.join(CHECK_LOG_FILE)).unwrap();
    let offsets = frame_offsets(&bytes, bytes.len());
    (bytes, offsets)
}

/// The auditor's last line (the verdict) must be `intact` with `count` entries up to
/// `head_seq` with row hash `head`; returns its whole output.
fn audit_intact(dir: &Path, count: u64, head_seq: u64, head: &str) -> String {
    let (code, out) = audit(dir, &[]);
    assert_eq!(code, 0, "{out}");
    let want = format!("intact: {count} entries, head seq {head_seq} row_hash {head}\n");
    assert!(out.ends_with(&want), "want {want:?} at the end of {out:?}");
    out
}

/// The engine's verification of `dir`: intact, with `count` entries checked up to `head_seq`
/// (row hash `head`).
fn engine_intact(dir: &Path, count: u64, head_seq: u64, head: &str) {
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
fn both_refuse_check_log_at(dir: &Path, offset: usize, seq: Option<u64>, what: &str) -> Corruption {
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
fn ledger_with_checks(dir: &Path) -> (u64, String) {
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

#[test]
fn a_ledger_with_recorded_checks_is_intact_for_both() {
    // FORMAT.md, "Check log": a header, then checks chained from genesis; verification reads it
    // whole (step 5). A torn tail (an append cut short) is not damage, for both.
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (count, head) = ledger_with_checks(&dir);
    let log = read_check_log(&dir).unwrap();
    assert!(log.damage.is_none(), "{:?}", log.damage);
    assert_eq!(log.checks().count(), 4);
    engine_intact(&dir, count, count - 1, &head);
    let out = audit_intact(&dir, count, count - 1, &head);
    assert!(
        out.contains("check log: intact, 4 entries (4 integrity checks, 0 retention anchors)"),
        "{out}"
    );

    // Half a frame appended (the start of a copy of the first check): a torn tail for both.
    let (mut bytes, offsets) = check_log_frames(&dir);
    let clean = bytes.clone();
    let first_len = offsets[1] - offsets[0];
    bytes.extend_from_slice(&clean[offsets[0]..offsets[0] + first_len / 2]);
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    let log = read_check_log(&dir).unwrap();
    assert!(log.damage.is_none(), "{:?}", log.damage);
    assert_eq!(log.torn_bytes, (first_len / 2) as u64);
    let out = audit_intact(&dir, count, count - 1, &head);
    assert!(
        out.contains(&format!(
            "note: torn tail in {CHECK_LOG_FILE} at byte {}: ",
            clean.len()
        )),
        "{out}"
    );
    let (code, out) = audit(&dir, &["--strict"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "TAMPERED: {CHECK_LOG_FILE} byte {} seq 4: ",
            clean.len()
        )),
        "{out}"
    );
    // The next append cuts it off and chains on; both read the log intact again.
    assert_eq!(run_check(&dir, CheckRequest::Full).unwrap().check_id, 4);
    assert_eq!(read_check_log(&dir).unwrap().torn_bytes, 0);
    let out = audit_intact(&dir, count, count - 1, &head);
    assert!(out.contains("check log: intact, 5 entries"), "{out}");
}

#[test]
fn damage_in_the_check_log_is_located_like_the_engine() {
    // FORMAT.md, "Check log": every (R) rule of the header and of the integrity-check layout,
    // the chain, the row hash; damage in a whole frame, or bad bytes followed by a valid frame,
    // is reported at that frame's offset with its check-log seq (after the segments, which are
    // intact here), by the auditor and by the engine's reading of the log alike. A bad last
    // frame is a torn tail for both.
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clean_dir = tmp.path().join("clean");
    let (count, head) = ledger_with_checks(&clean_dir);
    let (clean, offsets) = check_log_frames(&clean_dir);
    let log_path = |dir: &Path| dir.join(CHECK_LOG_FILE);
    let fresh = |name: &str| {
        let dir = tmp.path().join(name);
        copy_dir(&clean_dir, &dir);
        dir
    };

    // A flipped byte in each check but the last: a CRC mismatch followed by a valid frame.
    for (seq, &at) in offsets.iter().enumerate().take(offsets.len() - 1) {
        let dir = fresh(&format!("flip-{seq}"));
        let mut bytes = clean.clone();
        bytes[at + 8 + 20] ^= 0x04;
        std::fs::write(log_path(&dir), &bytes).unwrap();
        both_refuse_check_log_at(&dir, at, Some(seq as u64), "crc mismatch");
        // The same edit with the CRC fixed: the row hash tells.
        let n = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let crc = crc32fast::hash(&bytes[at + 8..at + 8 + n]);
        bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(log_path(&dir), &bytes).unwrap();
        let damage = both_refuse_check_log_at(&dir, at, Some(seq as u64), "row hash mismatch");
        assert!(
            matches!(damage.kind, CorruptKind::RowHashMismatch { .. }),
            "{damage}"
        );
    }
    // The last one flipped: nothing valid follows, a torn tail for both.
    let last = *offsets.last().unwrap();
    let dir = fresh("flip-last");
    let mut bytes = clean.clone();
    bytes[last + 8 + 20] ^= 0x04;
    std::fs::write(log_path(&dir), &bytes).unwrap();
    let log = read_check_log(&dir).unwrap();
    assert!(log.damage.is_none(), "{:?}", log.damage);
    assert_eq!(log.torn_bytes, (clean.len() - last) as u64);
    let out = audit_intact(&dir, count, count - 1, &head);
    assert!(
        out.contains(&format!(
            "note: torn tail in {CHECK_LOG_FILE} at byte {last}: crc mismatch"
        )),
        "{out}"
    );

    // The header: each (R) rule, at byte 0 with no seq.
    type HeaderEdit = fn(&mut [u8]);
    let header_cases: [(&str, HeaderEdit, bool, &str); 6] = [
        ("cut short", |_| {}, false, "shorter than"),
        ("bad magic", |h| h[3] = b'G', true, "bad magic"),
        ("version 1", |h| h[8] = 1, true, "format version 1"),
        ("version 3", |h| h[8] = 3, true, "format version 3"),
        (
            "a flipped byte",
            |h| h[20] ^= 1,
            false,
            "header crc mismatch",
        ),
        ("a reserved byte", |h| h[40] = 1, true, "reserved bytes"),
    ];
    for (name, edit, fix_crc, what) in header_cases {
        let dir = fresh(&format!("header-{}", name.replace(' ', "-")));
        let mut bytes = clean.clone();
        if name == "cut short" {
            bytes.truncate(79);
        }
        edit(&mut bytes);
        if fix_crc {
            let crc = crc32fast::hash(&bytes[..76]);
            bytes[76..80].copy_from_slice(&crc.to_le_bytes());
        }
        std::fs::write(log_path(&dir), &bytes).unwrap();
        both_refuse_check_log_at(&dir, 0, None, what);
    }

    // Each (R) rule of an integrity check's layout, and the kinds, in the second check (seq 1),
    // re-hashed so that only the rule can tell. Its content: kind, mode, chain_valid, 5
    // reserved bytes, seq, the fixed fields to byte 96, the errors_json length, errors_json.
    type Edit = fn(&mut Vec<u8>);
    let cases: [(&str, Edit, &str); 10] = [
        ("mode 3", |c| c[1] = 3, "mode code 3"),
        ("chain_valid 2", |c| c[2] = 2, "chain_valid 2"),
        (
            "a reserved byte",
            |c| c[7] = 1,
            "reserved bytes are not zero",
        ),
        (
            "errors_json of 65537 bytes",
            |c| {
                c.truncate(96);
                c.extend_from_slice(&65_537u32.to_le_bytes());
                c.extend_from_slice(&[b' '; 65_537]);
            },
            "errors_json of 65537 bytes",
        ),
        (
            "errors_json not UTF-8",
            |c| {
                c.truncate(96);
                c.extend_from_slice(&3u32.to_le_bytes());
                c.extend_from_slice(b"[\xff]");
            },
            "not UTF-8",
        ),
        (
            "errors_json running past the hashes",
            |c| {
                c.truncate(96);
                c.extend_from_slice(&9u32.to_le_bytes());
                c.extend_from_slice(b"[]");
            },
            "errors_json",
        ),
        (
            "a byte after errors_json",
            |c| c.push(b' '),
            "unexpected bytes",
        ),
        ("kind 0x04 (an anchor's)", |c| c[0] = 0x04, "anchor"),
        (
            "kind 0x01 (a signal)",
            |c| c[0] = 0x01,
            "not allowed in the check log",
        ),
        (
            "kind 0x06 (unknown)",
            |c| c[0] = 0x06,
            "unknown entry kind 0x06",
        ),
    ];
    let at = offsets[1];
    for (name, edit, what) in cases {
        let dir = fresh(&format!(
            "layout-{}",
            name.replace([' ', '(', ')', '\''], "-")
        ));
        let mut bytes = clean.clone();
        rebuild_frame(&mut bytes, at, edit);
        std::fs::write(log_path(&dir), &bytes).unwrap();
        let damage = both_refuse_check_log_at(&dir, at, Some(1), what);
        assert!(
            matches!(
                damage.kind,
                CorruptKind::Malformed(_) | CorruptKind::UnknownKind(_)
            ),
            "{name}: {damage}"
        );
    }
    // A check whose seq or prev_hash is not the next link (re-hashed).
    let dir = fresh("seq");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, at, |c| c[8] = 7);
    std::fs::write(log_path(&dir), &bytes).unwrap();
    let damage = both_refuse_check_log_at(&dir, at, Some(1), "seq gap");
    assert!(
        matches!(damage.kind, CorruptKind::SeqGap { .. }),
        "{damage}"
    );
    let dir = fresh("chain");
    let mut bytes = clean.clone();
    bytes[at + 8 + (offsets[2] - at - 8) - 64] ^= 1;
    rehash_frame(&mut bytes, at);
    std::fs::write(log_path(&dir), &bytes).unwrap();
    let damage = both_refuse_check_log_at(&dir, at, Some(1), "chain break");
    assert!(
        matches!(damage.kind, CorruptKind::ChainBreak { .. }),
        "{damage}"
    );
}

/// A ledger pruned by `Ledger::apply_retention`, and what it was before.
struct Pruned {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    /// Entries ever appended (the next seq) and the head's row hash.
    next_seq: u64,
    head: String,
    /// The first seq still held.
    start: u64,
    /// The removed segment files, oldest first, with their bytes.
    removed: Vec<(PathBuf, Vec<u8>)>,
    /// Digests taken before the pruning: of the last entry of the first removed segment, and
    /// of an entry in the middle of a later one (the first after it holding 3 entries or more).
    digests: Vec<Digest>,
    /// The retention anchor of that later segment (segment k's anchor is k + 1).
    middle_anchor: usize,
}

/// A ledger of 300 demo signals in 8 KiB segments and outcomes (some of signals that retention
/// then removes), a full check recorded, then pruned by `apply_retention`: of its first
/// `remove` sealed segments, or of all of them (None, with `now_ns` far in the future); then an
/// incremental check recorded after the anchors.
fn pruned_ledger(remove: Option<usize>) -> Pruned {
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

#[test]
fn a_ledger_pruned_by_retention_is_intact_for_both() {
    // FORMAT.md, "Retention": the held segments verify from the position the unbroken run of
    // anchors gives, with the same head and entry count for both; outcomes whose signal was
    // removed are not checked against it. Anchors of segments still present (as a crash
    // between recording an anchor and deleting its segment leaves them) are ignored.
    if !have_python() {
        return;
    }
    for remove in [Some(1), Some(3), None] {
        let p = pruned_ledger(remove);
        let count = p.next_seq - p.start;
        let snapshot = Snapshot::open(&p.dir).unwrap();
        assert_eq!(snapshot.first_seq(), p.start, "{remove:?}");
        drop(snapshot);
        engine_intact(&p.dir, count, p.next_seq - 1, &p.head);
        let out = audit_intact(&p.dir, count, p.next_seq - 1, &p.head);
        let anchors = p.removed.len();
        assert!(
            out.contains(&format!(
                "check log: intact, {} entries (2 integrity checks, {anchors} retention anchor{})",
                anchors + 2,
                if anchors == 1 { "" } else { "s" }
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "retention: seqs 0..={} were removed; the ledger starts at seq {}",
                p.start - 1,
                p.start
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!("from retention anchors 1..={anchors} in")),
            "{out}"
        );
        // The engine's writer opens it too, and appends on from it.
        drop(Ledger::open(&p.dir).unwrap());

        // The removed segments put back: the anchors are for segments still present, and are
        // ignored; the whole ledger verifies from seq 0.
        for (path, bytes) in &p.removed {
            std::fs::write(path, bytes).unwrap();
        }
        engine_intact(&p.dir, p.next_seq, p.next_seq - 1, &p.head);
        let out = audit_intact(&p.dir, p.next_seq, p.next_seq - 1, &p.head);
        assert!(!out.contains("retention:"), "{out}");
    }
}

#[test]
fn a_flipped_byte_in_an_anchor_is_located_like_the_engine() {
    // FORMAT.md, "Check log" and "Retention". With the removed segments put back (the anchors
    // ignored), a flipped byte in an anchor is check-log damage at that anchor for both. In
    // the pruned ledger, the anchors from the damaged one on are not read: the run of anchors
    // stops before it, and both report the segment missing there (the auditor naming the
    // check-log damage the engine reads).
    if !have_python() {
        return;
    }
    let p = pruned_ledger(Some(3));
    let pruned_dir = p.dir.parent().unwrap().join("pruned");
    copy_dir(&p.dir, &pruned_dir);
    let (clean, offsets) = check_log_frames(&p.dir);
    // Check-log seq 0 is the full check, 1..=3 the anchors, 4 the incremental check.
    assert_eq!(offsets.len(), 5);
    for (path, bytes) in &p.removed {
        std::fs::write(path, bytes).unwrap();
    }
    for anchor in 1..=3usize {
        let at = offsets[anchor];
        assert_eq!(clean[at + 8], 0x04);
        let mut bytes = clean.clone();
        bytes[at + 8 + 100] ^= 0x10;
        // Restored: check-log damage only.
        std::fs::write(p.dir.join(CHECK_LOG_FILE), &bytes).unwrap();
        let damage = both_refuse_check_log_at(&p.dir, at, Some(anchor as u64), "crc mismatch");
        // Pruned: the segment after the last anchor read is missing, for both.
        std::fs::write(pruned_dir.join(CHECK_LOG_FILE), &bytes).unwrap();
        let missing = if anchor == 1 {
            0
        } else {
            let prev_anchor_body = offsets[anchor - 1] + 8;
            u64::from_le_bytes(
                clean[prev_anchor_body + 32..prev_anchor_body + 40]
                    .try_into()
                    .unwrap(),
            ) + 1
        };
        let missing_name = format!("{missing:020}.seg");
        let failure = both_refuse_in(
            &pruned_dir,
            &missing_name,
            0,
            missing,
            &format!(
                "{CHECK_LOG_FILE} is damaged at byte {} seq {}",
                damage.offset,
                damage.seq.unwrap()
            ),
        );
        assert_eq!(
            failure.kind,
            CorruptKind::MissingSegment { first_seq: missing }
        );
    }
}

#[test]
fn segments_missing_from_a_pruned_ledger_and_edited_anchors_are_refused_by_both() {
    // FORMAT.md, "Retention": removing a middle segment, or the first held one, by hand is
    // detected, and so is any edit of an anchor, or a check log cut back before the anchors.
    if !have_python() {
        return;
    }
    let p = pruned_ledger(Some(3));
    let held: Vec<PathBuf> = Snapshot::open(&p.dir)
        .unwrap()
        .segments()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert!(held.len() >= 3, "{} held", held.len());
    let first_seq_of = |path: &Path| -> u64 {
        path.file_name().unwrap().to_str().unwrap()[..20]
            .parse()
            .unwrap()
    };
    let name_of = |seq: u64| format!("{seq:020}.seg");
    let fresh = |name: &str| {
        let dir = p.dir.parent().unwrap().join(name);
        copy_dir(&p.dir, &dir);
        dir
    };

    // 1. A middle segment removed by hand: missing where it started.
    let dir = fresh("middle");
    let middle = first_seq_of(&held[1]);
    std::fs::remove_file(dir.join(name_of(middle))).unwrap();
    let failure = both_refuse_in(&dir, &name_of(middle), 0, middle, "missing segment");
    assert_eq!(
        failure.kind,
        CorruptKind::MissingSegment { first_seq: middle }
    );

    // 2. The first held segment removed by hand: the anchors end before the next one.
    let dir = fresh("first");
    std::fs::remove_file(dir.join(name_of(p.start))).unwrap();
    let failure = both_refuse_in(&dir, &name_of(p.start), 0, p.start, "missing segment");
    assert_eq!(
        failure.kind,
        CorruptKind::MissingSegment { first_seq: p.start }
    );

    // 3. An anchor edited, its frame's row hash and CRC recomputed: only the links can tell.
    let (clean, offsets) = check_log_frames(&p.dir);
    let anchor_seqs = |at: usize| {
        let b = &clean[at + 8..];
        let u = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        (u(24), u(32))
    };
    //    a. The first anchor's file hash: the next check-log entry no longer chains to it, so
    //       the anchors after it are not read, and the segment after it is missing.
    let dir = fresh("anchor-file-hash");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, offsets[1], |c| c[140] ^= 1);
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    let missing = anchor_seqs(offsets[1]).1 + 1;
    let damage = read_check_log(&dir).unwrap().damage.unwrap();
    assert_eq!((damage.offset, damage.seq), (offsets[2] as u64, Some(2)));
    both_refuse_in(
        &dir,
        &name_of(missing),
        0,
        missing,
        &format!("{CHECK_LOG_FILE} is damaged at byte {} seq 2", offsets[2]),
    );
    //    b. The last anchor's last_row_hash: the first held segment does not join it.
    let dir = fresh("anchor-last-row-hash");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, offsets[3], |c| c[100] ^= 1);
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    assert_eq!(anchor_seqs(offsets[3]).1 + 1, p.start);
    let failure = both_refuse_in(&dir, &name_of(p.start), 0, p.start, "prev_hash");
    assert!(
        matches!(failure.kind, CorruptKind::ChainBreak { .. }),
        "{failure}"
    );
    //    c. The same, and the rest of the check log rewritten to chain on from it: the check
    //       log is intact, and the held ledger still does not join the anchors.
    let dir = fresh("anchor-rechained");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, offsets[3], |c| c[100] ^= 1);
    let n = u32::from_le_bytes(bytes[offsets[3]..offsets[3] + 4].try_into().unwrap()) as usize;
    let row: [u8; 32] = bytes[offsets[3] + 8 + n - 32..offsets[3] + 8 + n]
        .try_into()
        .unwrap();
    let next = offsets[3] + 8 + n;
    let next_n = u32::from_le_bytes(bytes[next..next + 4].try_into().unwrap()) as usize;
    bytes[next + 8 + next_n - 64..next + 8 + next_n - 32].copy_from_slice(&row);
    rehash_frame(&mut bytes, next);
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    assert!(read_check_log(&dir).unwrap().damage.is_none());
    let failure = both_refuse_in(&dir, &name_of(p.start), 0, p.start, "prev_hash");
    assert!(
        matches!(failure.kind, CorruptKind::ChainBreak { .. }),
        "{failure}"
    );
    //    d. An anchor's seq range moved (record_count kept consistent): the run breaks there.
    let dir = fresh("anchor-range");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, offsets[2], |c| {
        for o in [24, 32] {
            let v = u64::from_le_bytes(c[o..o + 8].try_into().unwrap()) + 1;
            c[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
    });
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    let missing = anchor_seqs(offsets[1]).1 + 1;
    both_refuse_in(&dir, &name_of(missing), 0, missing, "missing segment");

    //    e. An anchor's prev_hash (what its segment's first entry chained to): the run breaks
    //       there, although the anchors after it run on to the held segments.
    let dir = fresh("anchor-prev-hash");
    let mut bytes = clean.clone();
    rebuild_frame(&mut bytes, offsets[2], |c| c[64] ^= 1);
    std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
    let missing = anchor_seqs(offsets[1]).1 + 1;
    both_refuse_in(&dir, &name_of(missing), 0, missing, "missing segment");

    // 4. The check log cut back before the anchors (to its first check), or removed.
    let dir = fresh("cut-back");
    std::fs::write(dir.join(CHECK_LOG_FILE), &clean[..offsets[1]]).unwrap();
    both_refuse_in(&dir, &name_of(0), 0, 0, "missing segment");
    std::fs::remove_file(dir.join(CHECK_LOG_FILE)).unwrap();
    both_refuse_in(&dir, &name_of(0), 0, 0, "missing segment");

    // 5. A malformed anchor (re-hashed): check-log damage, which also stops the run of
    //    anchors — a missing segment for both, the auditor naming the check-log damage.
    type Edit = fn(&mut Vec<u8>);
    let cases: [(&str, Edit, &str); 4] = [
        ("a reserved byte", |c| c[5] = 1, "reserved bytes"),
        (
            "record_count off by one",
            |c| {
                let v = u64::from_le_bytes(c[40..48].try_into().unwrap()) + 1;
                c[40..48].copy_from_slice(&v.to_le_bytes());
            },
            "entries",
        ),
        ("a byte after the file length", |c| c.push(0), "232"),
        (
            "last_seq before first_seq",
            |c| {
                // last_seq = first_seq - 2: "last_seq - first_seq + 1" wraps to u64::MAX.
                let first = u64::from_le_bytes(c[24..32].try_into().unwrap());
                c[32..40].copy_from_slice(&(first - 2).to_le_bytes());
                c[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
            },
            "entries",
        ),
    ];
    for (name, edit, what) in cases {
        let dir = fresh(&format!("malformed-{}", name.replace(' ', "-")));
        let mut bytes = clean.clone();
        rebuild_frame(&mut bytes, offsets[2], edit);
        std::fs::write(dir.join(CHECK_LOG_FILE), &bytes).unwrap();
        let damage = read_check_log(&dir).unwrap().damage.unwrap();
        assert_eq!(
            (damage.offset, damage.seq),
            (offsets[2] as u64, Some(2)),
            "{name}: {damage}"
        );
        assert!(
            matches!(damage.kind, CorruptKind::Malformed(_)),
            "{name}: {damage}"
        );
        let missing = anchor_seqs(offsets[1]).1 + 1;
        both_refuse_in(
            &dir,
            &name_of(missing),
            0,
            missing,
            &format!("{CHECK_LOG_FILE} is damaged at byte {} seq 2", offsets[2]),
        );
        let (_, out) = audit(&dir, &[]);
        assert!(out.contains(what), "{name}: {out}");
    }
}

#[test]
fn a_digest_of_a_pruned_seq_is_refused_by_both_naming_its_anchor() {
    // PROCEDURES.md, "Retention", "Digests of removed entries": the entry is gone, so the digest
    // cannot be checked; both say so, naming the anchor of the removed segment that held it,
    // and whether that anchor records the digest's row hash (it can when the digest's seq was
    // its segment's last). A digest of a held entry is still checked.
    if !have_python() {
        return;
    }
    let p = pruned_ledger(Some(3));
    let snapshot = Snapshot::open(&p.dir).unwrap();
    let digests_dir = p.dir.parent().unwrap().join("digests");
    std::fs::create_dir_all(&digests_dir).unwrap();
    let mut forged = p.digests[0];
    forged.row_hash.0[0] ^= 1;
    // (digest, its anchor's check-log seq, what is said of the anchor's row hash)
    let cases = [
        (p.digests[0], 1, Some("records this same row_hash")),
        (p.digests[1], p.middle_anchor, None),
        (forged, 1, Some("records a DIFFERENT row_hash")),
    ];
    for (i, (digest, anchor, same)) in cases.into_iter().enumerate() {
        let err = digest.check(&snapshot).unwrap_err();
        let CorruptKind::DigestPruned(message) = &err.kind else {
            panic!("{err}");
        };
        assert_eq!(err.seq, Some(digest.seq));
        let removed = format!("seq {} was removed by retention", digest.seq);
        let names = format!("(retention anchor {anchor} in");
        assert!(message.contains(&removed), "{message}");
        assert!(message.contains(&names), "{message}");
        let path = digests_dir.join(format!("{i}.json"));
        std::fs::write(&path, digest.to_json()).unwrap();
        let (code, out) = audit(&p.dir, &["--against", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{out}");
        let want = format!(
            "TAMPERED: ledger byte 0 seq {}: digest not checkable: ",
            digest.seq
        );
        assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
        assert!(out.contains(&removed), "{out}");
        assert!(
            out.contains(&format!("(retention anchor {anchor} at byte")),
            "{out}"
        );
        match same {
            Some(same) => {
                assert!(message.contains(same), "{message}");
                assert!(out.contains(same), "{out}");
            }
            None => {
                assert!(!message.contains("row_hash"), "{message}");
                assert!(!out.contains("row_hash"), "{out}");
            }
        }
    }
    // The head digest is held, for both.
    let head = Digest::of_head(&snapshot).unwrap().unwrap();
    head.check(&snapshot).unwrap();
    let path = digests_dir.join("head.json");
    std::fs::write(&path, head.to_json()).unwrap();
    let (code, out) = audit(&p.dir, &["--against", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with(&format!("seq {} row_hash {} is held\n", head.seq, p.head)),
        "{out}"
    );
}
