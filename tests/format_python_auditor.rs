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
//! Skipped, with a notice, when `python3` is not on PATH.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use signal_ledger::demo::{DemoConfig, DemoGenerator};
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
        .unwrap();
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
    // FORMAT.md, "Verifying a ledger", step 4: the entry at signal_seq must be a signal with the
    // outcome's signal_id; a failure is reported at the outcome's frame with the outcome's seq.
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
    // FORMAT.md, "latency_ms": the exact ns difference (beyond i64, and beyond 2^53) rounded once.
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
    let head = ledger.append(&signals).unwrap().head_hash;
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
