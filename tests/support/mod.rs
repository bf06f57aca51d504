//! Helpers shared by the end-to-end tests: demo ledgers, segment files, byte edits, injected
//! faults (`faults`).
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

pub mod faults;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use signal_ledger::demo::{DemoConfig, DemoGenerator};
use signal_ledger::engine::files::list_segments;
use signal_ledger::engine::{
    AppendReceipt, Corruption, Ledger, LedgerError, PersistenceConfig, Signal,
};

/// `count` demo signals from `seed`.
pub fn demo_signals(count: usize, seed: u64) -> Vec<Signal> {
    DemoGenerator::new(&DemoConfig {
        count,
        seed,
        ..DemoConfig::default()
    })
    .collect()
}

/// Settings with small segments so tests cross segment boundaries.
pub fn small_segments(segment_size_bytes: u64) -> PersistenceConfig {
    PersistenceConfig {
        segment_size_bytes,
        ..PersistenceConfig::default()
    }
}

/// A ledger at `<tmp>/ledger` holding `count` demo signals appended in batches of `batch`.
pub fn build_ledger(
    count: usize,
    batch: usize,
    config: PersistenceConfig,
) -> (tempfile::TempDir, PathBuf, Vec<AppendReceipt>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, config).unwrap();
    let receipts = demo_signals(count, 7)
        .chunks(batch.max(1))
        .map(|c| ledger.append(c).unwrap())
        .collect();
    (tmp, path, receipts)
}

/// Segment files of a ledger, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// Flips bits `mask` of the byte at `offset` of `path`.
pub fn flip_byte(path: &Path, offset: u64, mask: u8) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= mask;
    file.write_all_at(&b, offset).unwrap();
}

/// Offsets of the frames in a segment file (walking lengths from the header).
pub fn frame_offsets(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = 80usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if len == u32::MAX || at + 8 + len as usize > bytes.len() {
            break;
        }
        out.push(at as u64);
        at += 8 + len as usize;
    }
    out
}

/// Copies a ledger directory (segments and config; not the lock).
pub fn copy_ledger(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The writer's open of `dir` refuses, naming damage, and changes nothing on disk.
pub fn open_refused(dir: &Path) -> Corruption {
    let before = dir_image(dir);
    let err = Ledger::open(dir).unwrap_err();
    assert_eq!(
        dir_image(dir),
        before,
        "a refused open changed the directory"
    );
    match err {
        LedgerError::Corrupt(c) => *c,
        other => panic!("expected Corrupt, got {other}"),
    }
}

/// `after` (a [`dir_image`]) holds the same entries as `before`, byte for byte. The one change allowed: the
/// active segment sealed (its trailer added) and an empty one begun, which an append too large
/// for the active segment does before writing anything (a roll, not a part of the append).
pub fn assert_same_entries(before: &[(String, Vec<u8>)], after: &[(String, Vec<u8>)], case: &str) {
    use signal_ledger::engine::segment::{HEADER_LEN, TRAILER_LEN};
    for (name, bytes) in after {
        match before.iter().find(|(n, _)| n == name) {
            Some((_, was)) if was == bytes => {}
            Some((_, was)) => assert!(
                bytes.len() == was.len() + TRAILER_LEN && bytes.starts_with(was),
                "{case}: {name} changed other than by its trailer"
            ),
            None => assert!(
                name.ends_with(".seg") && bytes.len() == HEADER_LEN,
                "{case}: {name} ({} bytes) left behind",
                bytes.len()
            ),
        }
    }
    for (name, _) in before {
        assert!(
            after.iter().any(|(n, _)| n == name),
            "{case}: {name} removed"
        );
    }
}

/// A ledger whose last segment is sealed: 60 signals in 8 KiB segments, then the active segment
/// after the last sealed one removed (a shorter but consistent ledger; only a digest kept
/// elsewhere tells it apart). Returns the temp dir, the ledger path and the last sealed segment.
pub fn ledger_ending_in_a_sealed_segment() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let mut ledger = Ledger::create(&path, small_segments(8 * 1024)).unwrap();
    ledger.append(&demo_signals(60, 2)).unwrap();
    drop(ledger);
    let mut segs = segments(&path);
    std::fs::remove_file(segs.pop().unwrap()).unwrap();
    let sealed = segs.pop().unwrap();
    (tmp, path, sealed)
}

/// Every file of a ledger directory but the lock, with its bytes, sorted by name. A file that
/// vanishes between listing and reading (a running sink's metrics temporary, renamed away) is
/// not part of the image.
pub fn dir_image(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "LOCK")
        .filter_map(|e| match std::fs::read(e.path()) {
            Ok(bytes) => Some((e.file_name().to_string_lossy().into_owned(), bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => panic!("read {}: {err}", e.path().display()),
        })
        .collect();
    files.sort();
    files
}

/// The signal_ids in the ledger at `dir`, in seq order, after checking it verifies.
pub fn stored_ids(dir: &Path) -> Vec<String> {
    let snap = signal_ledger::engine::Snapshot::open(dir).unwrap();
    let report =
        signal_ledger::engine::verify(&snap, signal_ledger::engine::VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    snap.entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap().signal.signal_id)
        .collect()
}

/// `signal` with the same signal_id and a different conviction: a different signal that takes
/// its id.
pub fn changed(signal: &Signal) -> Signal {
    let conviction = if signal.conviction < 0.5 {
        signal.conviction + 0.25
    } else {
        signal.conviction - 0.25
    };
    Signal {
        conviction,
        ..signal.clone()
    }
}

/// `count` demo signals with ids `<tag>-<index>`.
pub fn tagged(count: usize, seed: u64, tag: &str) -> Vec<Signal> {
    demo_signals(count, seed)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Signal {
            signal_id: format!("{tag}-{i:04}"),
            ..s
        })
        .collect()
}
