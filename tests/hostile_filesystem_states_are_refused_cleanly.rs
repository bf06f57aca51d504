//! Hostile filesystem states are refused with clear errors and change nothing: writers racing
//! for one ledger directory (exactly one wins, the others are told it is locked or already a
//! ledger, and the ledger is intact); a ledger on a read-only filesystem (no writer opens, with
//! an error naming the file; readers still read and verify); a segment file replaced by a
//! symlink (to an identical copy, or to a file outside the ledger) or by a directory (writer
//! open, snapshot and verify refuse it, naming the file; the tree on disk, link targets
//! included, is byte-for-byte unchanged). Also: a snapshot keeps reading a segment that
//! retention deletes under it (unlink keeps the mapping).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};

use sha2::{Digest as _, Sha256};
use signal_ledger::engine::{
    verify, Ledger, LedgerError, OpenOptions, PersistenceConfig, Snapshot, VerifyOptions,
};
use support::*;

/// Writers racing at the same instant.
const RACERS: usize = 8;

/// Every entry under `root` (recursively, symlinks not followed): its kind and, for a file its
/// SHA-256, for a symlink its target and the SHA-256 of what it points to. `LOCK` is left out
/// (a writer that takes the lock notes its pid there).
fn tree_image(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_name() == "LOCK" {
                continue;
            }
            let kind = entry.file_type().unwrap();
            let what = if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                let bytes = std::fs::read(&path).unwrap_or_default();
                format!(
                    "symlink {} {}",
                    target.display(),
                    hex::encode(Sha256::digest(bytes))
                )
            } else if kind.is_dir() {
                walk(root, &path, out);
                "dir".to_owned()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file {}", hex::encode(Sha256::digest(bytes)))
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Runs `f` on `RACERS` threads released together; returns their results.
fn race<T: Send + 'static>(f: impl Fn() -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(RACERS));
    let f = Arc::new(f);
    let threads: Vec<_> = (0..RACERS)
        .map(|_| {
            let (barrier, f) = (barrier.clone(), f.clone());
            std::thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// Exactly one winner; every loser failed with `Locked` (naming the LOCK file) or, for
/// `create`, `AlreadyALedger`. Returns the winner.
fn one_winner(results: Vec<Result<Ledger, LedgerError>>, dir: &Path, creating: bool) -> Ledger {
    let mut winners = Vec::new();
    for r in results {
        match r {
            Ok(l) => winners.push(l),
            Err(LedgerError::Locked { path, .. }) => assert_eq!(path, dir.join("LOCK")),
            Err(LedgerError::AlreadyALedger { path }) if creating => assert_eq!(path, dir),
            Err(other) => panic!("a losing writer must be told the ledger is locked: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins the race");
    winners.pop().unwrap()
}

#[test]
fn writers_racing_for_one_directory_leave_exactly_one_winner_and_an_intact_ledger() {
    for round in 0..5u64 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ledger");
        // Create, racing on a directory that does not exist yet.
        let d = dir.clone();
        let results = race(move || Ledger::create(&d, small_segments(8 * 1024)));
        let mut winner = one_winner(results, &dir, true);
        let signals = tagged(50, round, "race");
        winner.append(&signals).unwrap();
        drop(winner);
        assert_eq!(stored_ids(&dir).len(), 50);

        // Open, racing on the existing ledger: the winner appends, nothing else changes.
        let image = dir_image(&dir);
        let d = dir.clone();
        let results = race(move || Ledger::open(&d));
        let mut winner = one_winner(results, &dir, false);
        assert_eq!(dir_image(&dir), image, "losing writers changed the ledger");
        winner.append(&tagged(50, round + 100, "second")).unwrap();
        drop(winner);
        let ids = stored_ids(&dir);
        assert_eq!(ids.len(), 100);
        assert_eq!(
            ids[..50],
            signals
                .iter()
                .map(|s| s.signal_id.clone())
                .collect::<Vec<_>>()
        );
    }
}

/// The effective uid, from /proc (no libc dependency): root ignores permission bits.
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// A directory that cannot be written: a tmpfs remounted read-only when running as root, a
/// chmod 0555 directory otherwise. Undone when dropped.
enum ReadOnly {
    Mount(PathBuf),
    /// The directories made read-only.
    Mode(Vec<PathBuf>),
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        match self {
            ReadOnly::Mount(p) => {
                let _ = Command::new("umount").arg("-l").arg(&*p).status();
            }
            ReadOnly::Mode(dirs) => {
                use std::os::unix::fs::PermissionsExt;
                for d in dirs.iter() {
                    let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
                }
            }
        }
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    out.status.success().then_some(()).ok_or_else(|| {
        format!(
            "{:?}: {} {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

#[test]
fn a_ledger_on_a_read_only_filesystem_refuses_writers_and_serves_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = tmp.path().join("fs");
    std::fs::create_dir(&mount).unwrap();
    let root = euid() == Some(0);
    let guard = if root {
        if let Err(why) = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&mount))
        {
            println!("skipped: running as root, which ignores permission bits, and cannot mount a tmpfs to remount read-only ({why})");
            return;
        }
        ReadOnly::Mount(mount.clone())
    } else {
        ReadOnly::Mode(vec![mount.clone(), mount.join("ledger")])
    };
    let dir = mount.join("ledger");
    let mut ledger = Ledger::create(&dir, small_segments(8 * 1024)).unwrap();
    ledger.append(&tagged(120, 1, "ro")).unwrap();
    drop(ledger);
    let ids = stored_ids(&dir);
    match &guard {
        ReadOnly::Mount(p) => run(Command::new("mount").args(["-o", "remount,ro"]).arg(p)).unwrap(),
        ReadOnly::Mode(dirs) => {
            use std::os::unix::fs::PermissionsExt;
            for d in dirs {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).unwrap();
            }
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
            }
        }
    }
    let image = tree_image(&mount);

    let error = Ledger::open(&dir).unwrap_err();
    match &error {
        LedgerError::Io { path, source, .. } => {
            assert_eq!(path.parent(), Some(dir.as_path()), "{error}");
            let expected = if root { 30 } else { 13 }; // EROFS, EACCES
            assert_eq!(source.raw_os_error(), Some(expected), "{error}");
        }
        other => panic!(
            "a read-only ledger must be refused with an I/O error naming the file: {other:?}"
        ),
    }
    assert!(error.to_string().contains(dir.to_str().unwrap()), "{error}");
    let error = Ledger::create(&mount.join("other"), PersistenceConfig::default()).unwrap_err();
    assert!(matches!(error, LedgerError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("other"), "{error}");

    // Readers take no lock and write nothing: they still work.
    assert_eq!(stored_ids(&dir), ids);
    let snap = Snapshot::open(&dir).unwrap();
    assert!(snap.segment_index(0).is_ok());
    assert_eq!(
        tree_image(&mount),
        image,
        "something changed on a read-only filesystem"
    );
}

/// A ledger of 120 signals in 8 KiB segments (several sealed, one active), and its tree image.
fn ledger_with_segments() -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    let (tmp, dir, _) = build_ledger(120, 40, small_segments(8 * 1024));
    let segs = segments(&dir);
    assert!(segs.len() >= 4, "{segs:?}");
    (tmp, dir, segs)
}

/// Writer open, snapshot open and verify of `dir` each refuse it with an error naming `file`
/// and saying it is `kind` ("a symlink", "a directory"), and the tree under `root` is unchanged.
fn refused_naming(root: &Path, dir: &Path, file: &Path, kind: &str, what: &str) {
    let image = tree_image(root);
    let name = file.file_name().unwrap().to_str().unwrap();
    match Ledger::open_with(dir, OpenOptions::default()) {
        Ok(_) => panic!("{what}: the writer opened the ledger"),
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains(name) && text.contains(kind),
                "{what}: writer: {text}"
            );
            assert!(matches!(e, LedgerError::Corrupt(_)), "{what}: {e:?}");
        }
    }
    match Snapshot::open(dir) {
        Err(e) => panic!("{what}: a reader cannot open the intact prefix: {e}"),
        Ok(snap) => {
            let report = verify(&snap, VerifyOptions::default());
            let failure = report.first_failure.as_ref().or(snap.damage());
            match failure {
                Some(f) => {
                    let text = f.to_string();
                    assert!(
                        text.contains(name) && text.contains(kind),
                        "{what}: verify: {text}"
                    );
                }
                None => panic!("{what}: a snapshot and verify accepted it"),
            }
        }
    }
    assert_eq!(tree_image(root), image, "{what}: something changed on disk");
}

#[test]
fn a_segment_replaced_by_a_directory_is_refused_naming_it() {
    for which in ["sealed", "active"] {
        let (tmp, dir, segs) = ledger_with_segments();
        let seg = if which == "sealed" {
            &segs[1]
        } else {
            segs.last().unwrap()
        };
        std::fs::remove_file(seg).unwrap();
        std::fs::create_dir(seg).unwrap();
        refused_naming(
            tmp.path(),
            &dir,
            seg,
            "a directory",
            &format!("{which} segment replaced by a directory"),
        );
    }
}

#[test]
fn a_segment_replaced_by_a_symlink_is_refused_naming_it() {
    for which in ["sealed", "active"] {
        for target in [
            "identical copy outside",
            "other ledger's segment",
            "identical copy inside",
        ] {
            let (tmp, dir, segs) = ledger_with_segments();
            let seg = if which == "sealed" {
                segs[1].clone()
            } else {
                segs.last().unwrap().clone()
            };
            let outside = tmp.path().join("outside");
            std::fs::create_dir(&outside).unwrap();
            let copy = match target {
                "identical copy outside" => outside.join("copy.seg"),
                "identical copy inside" => dir.join("copy-of-segment"),
                _ => {
                    let (_t, other, _) = build_ledger(120, 40, small_segments(8 * 1024));
                    let theirs = segments(&other)[1].clone();
                    let to = outside.join("theirs.seg");
                    std::fs::copy(theirs, &to).unwrap();
                    to
                }
            };
            if target != "other ledger's segment" {
                std::fs::copy(&seg, &copy).unwrap();
            }
            std::fs::remove_file(&seg).unwrap();
            std::os::unix::fs::symlink(&copy, &seg).unwrap();
            refused_naming(
                tmp.path(),
                &dir,
                &seg,
                "a symlink",
                &format!("{which} segment replaced by a symlink to an {target}"),
            );
        }
    }
}

#[test]
fn a_snapshot_reads_a_segment_that_retention_deletes_under_it() {
    let (_tmp, dir, segs) = ledger_with_segments();
    let snap = Snapshot::open(&dir).unwrap();
    let before: Vec<_> = snap
        .entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect();
    assert_eq!(before.len(), 120);
    // Retention from a writer, a day of it and a far-off now: every sealed segment goes.
    let persistence = PersistenceConfig {
        retention_days: 1,
        ..small_segments(8 * 1024)
    };
    let mut ledger = Ledger::open_with(
        &dir,
        OpenOptions {
            config_override: Some(persistence),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let plan = ledger.apply_retention(i64::MAX / 2).unwrap();
    assert_eq!(plan.expired.len(), segs.len() - 1, "{plan:?}");
    drop(ledger);
    for s in &segs[..segs.len() - 1] {
        assert!(!s.exists(), "{} was not deleted", s.display());
    }
    // The snapshot still holds every record, intact, from the unlinked segments' mappings.
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    assert_eq!(report.records_checked, 120);
    let after: Vec<_> = snap
        .entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect();
    assert_eq!(after, before);
    for (i, s) in snap.segments().iter().enumerate() {
        let crc = crc32fast::hash(&s.bytes);
        assert_eq!(crc, crc32fast::hash(&s.bytes), "segment {i}");
    }
    // A new snapshot starts where retention's anchors say.
    let fresh = Snapshot::open(&dir).unwrap();
    assert_eq!(fresh.first_seq(), plan.expired.last().unwrap().last_seq + 1);
    assert!(verify(&fresh, VerifyOptions::default()).is_intact());
}
