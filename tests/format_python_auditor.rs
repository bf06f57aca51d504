//! Promise: docs/audit/verify_ledger.py — an auditor's verifier written only from docs/FORMAT.md —
//! agrees with the engine: it finds the committed test ledgers and a multi-segment ledger written
//! by the engine intact with the engine's head hash, holds the engine's head digests, and names
//! the segment, byte and seq of damage exactly where the engine does.
//!
//! Skipped, with a notice, when `python3` is not on PATH.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger_engine::{
    verify, Digest, Durability, Ledger, PersistenceConfig, Snapshot, VerifyOptions,
};

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

#[test]
fn bytes_before_the_trailer_of_the_last_sealed_segment_are_refused() {
    // FORMAT.md: the frames must tile the record area exactly (the engine's gap 1).
    if !have_python() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    copy_dir(
        &root().join("docs/test-vectors/ledger-3-entries-sealed"),
        &dir,
    );
    let seg = dir.join("00000000000000000000.seg");
    let mut bytes = std::fs::read(&seg).unwrap();
    let trailer_at = bytes.len() - 96;
    bytes.splice(trailer_at..trailer_at, [0x41u8; 10]);
    std::fs::write(&seg, &bytes).unwrap();
    let (code, out) = audit(&dir, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "TAMPERED: 00000000000000000000.seg byte {trailer_at} seq 3: "
        )),
        "{out}"
    );
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
