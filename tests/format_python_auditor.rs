//! Promise: docs/audit/verify_ledger.py — an auditor's verifier written only from docs/FORMAT.md —
//! agrees with the engine: it finds the committed test ledgers and a multi-segment ledger written
//! by the engine intact with the engine's head hash, holds the engine's head digests (seq,
//! row_hash and timestamp), and names the segment, byte and seq of damage exactly where the
//! engine does — for a flipped byte, a re-hashed edit, bytes or frames before a trailer, a
//! segment of another format version, a reserved entry kind and a non-finite price.
//!
//! Skipped, with a notice, when `python3` is not on PATH.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};
use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::input::parse_signal_line;
use signal_ledger_engine::record::codec::{encode_signal_body, Stamp};
use signal_ledger_engine::record::frame::{begin_frame, finish_frame};
use signal_ledger_engine::{
    verify, CorruptKind, Corruption, Digest, Durability, Ledger, LedgerError, PersistenceConfig,
    Signal, Snapshot, VerifyOptions,
};

/// The single segment of the committed test ledgers.
const SEG0: &str = "00000000000000000000.seg";
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

#[test]
fn committed_test_vector_ledgers_are_intact() {
    if !have_python() {
        return;
    }
    let head = "05b0bd5fb5c1daf7c2c514cae282048b148db95d837665c4ce7f61ade2a3fa4c";
    for name in ["ledger-3-entries", "ledger-3-entries-sealed"] {
        let dir = root().join("docs/test-vectors").join(name);
        assert_eq!(audit(&dir, &[]), (0, intact_line(3, head)), "{name}");
        let snapshot = Snapshot::open(&dir).unwrap();
        assert_eq!(
            verify(&snapshot, VerifyOptions::default())
                .head_hash
                .unwrap()
                .to_hex(),
            head
        );
    }
}

/// A copy of a committed test ledger in a fresh temporary directory.
fn copy_vector_ledger(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(&root().join("docs/test-vectors").join(name), &dir);
    (tmp, dir)
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

/// Asserts that the auditor refuses `dir` at `file` byte `offset` seq `seq` with a message
/// containing `what`, and that the engine's verify names the same place.
fn both_refuse_at(dir: &Path, offset: usize, seq: u64, what: &str) -> Corruption {
    let (code, out) = audit(dir, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!("TAMPERED: {SEG0} byte {offset} seq {seq}: ");
    assert!(out.starts_with(&want), "want {want:?}, got {out:?}");
    assert!(out.contains(what), "want {what:?} in {out:?}");
    let failure = engine_failure(dir);
    assert_eq!(failure.file, dir.join(SEG0), "{failure}");
    assert_eq!(
        (failure.offset, failure.seq),
        (offset as u64, Some(seq)),
        "{failure}"
    );
    failure
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
fn a_segment_of_another_version_is_refused_by_its_version_before_its_crc() {
    // FORMAT.md, "Segment header": magic, then format_version, then header_crc.
    if !have_python() {
        return;
    }
    for fix_crc in [false, true] {
        let (_tmp, dir) = copy_vector_ledger("ledger-3-entries-sealed");
        let seg = dir.join(SEG0);
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
        if fix_crc {
            let crc = crc32fast::hash(&bytes[..76]);
            bytes[76..80].copy_from_slice(&crc.to_le_bytes());
        }
        std::fs::write(&seg, &bytes).unwrap();
        let failure = both_refuse_at(&dir, 0, 0, "format version 2 is not supported");
        let unsupported = CorruptKind::UnsupportedVersion {
            found: 2,
            min: 1,
            max: 1,
        };
        assert_eq!(failure.kind, unsupported, "crc fixed: {fix_crc}");
        match Ledger::open(&dir) {
            Err(LedgerError::Corrupt(c)) => assert_eq!(c.kind, unsupported),
            other => panic!("open: {other:?}"),
        }
    }
}

#[test]
fn a_reserved_entry_kind_is_refused_by_open_verify_and_the_auditor() {
    // FORMAT.md, "Entry body": kinds 0x02..=0x05 are refused, by the writer's open too.
    if !have_python() {
        return;
    }
    let (_tmp, dir) = copy_vector_ledger("ledger-3-entries");
    let seg = dir.join(SEG0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = *frame_offsets(&bytes, bytes.len()).last().unwrap();
    bytes[last + 8] = 0x02;
    rehash_frame(&mut bytes, last);
    std::fs::write(&seg, &bytes).unwrap();
    both_refuse_at(&dir, last, 2, "is reserved");
    match Ledger::open(&dir) {
        Err(LedgerError::Corrupt(c)) => {
            assert_eq!((c.offset, c.seq), (last as u64, Some(2)), "{c}");
        }
        other => panic!("open: {other:?}"),
    }
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
