//! Format versions: a ledger written by an older engine (tests/fixtures/ledger-v1, written by
//! the version-1 engine) is read as it is, refused by the writer until `upgrade`, and upgraded
//! without an entry changing (its old head digest still checks); a newer version is refused
//! naming both versions; the ledger written by today's engine (tests/fixtures/ledger-v2) opens,
//! verifies against its digest and takes appends.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::path::{Path, PathBuf};

use signal_ledger::engine::record::{Decision, Outcome};
use signal_ledger::engine::segment::SegmentHeader;
use signal_ledger::engine::{verify, Digest, Ledger, LedgerError, Snapshot, VerifyOptions};
use support::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A copy of fixture ledger `name` in a temp dir (fixtures are never written to).
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    copy_ledger(&fixture(name), &path);
    (tmp, path)
}

fn digest_of(name: &str) -> Digest {
    let text = std::fs::read_to_string(fixture(&format!("{name}.digest.json"))).unwrap();
    Digest::parse(&text).unwrap()
}

fn versions(dir: &Path) -> Vec<u16> {
    segments(dir)
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            SegmentHeader::decode(&bytes).unwrap().format_version
        })
        .collect()
}

fn verified(dir: &Path, digest: &Digest) -> u64 {
    let snap = Snapshot::open(dir).unwrap();
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    digest.check(&snap).unwrap();
    report.records_checked
}

#[test]
fn an_older_ledger_is_read_as_is_and_refused_by_the_writer_until_upgraded() {
    let (_tmp, path) = copy_of("ledger-v1");
    let before = dir_image(&path);
    assert_eq!(versions(&path), [1, 1, 1, 1, 1]);
    assert_eq!(verified(&path, &digest_of("ledger-v1")), 60);
    match Ledger::open(&path).unwrap_err() {
        LedgerError::UpgradeNeeded {
            found: 1,
            current: 2,
            ..
        } => {}
        other => panic!("expected UpgradeNeeded, got {other}"),
    }
    let message = Ledger::open(&path).unwrap_err().to_string();
    assert!(message.contains("signal-ledger upgrade"), "{message}");
    // A refused open leaves the files alone (dir_image leaves LOCK out: it is not data).
    assert_eq!(dir_image(&path), before);
}

#[test]
fn upgrade_seals_the_old_active_segment_and_keeps_every_entry() {
    let (_tmp, path) = copy_of("ledger-v1");
    let old_bytes: Vec<Vec<u8>> = segments(&path)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let report = Ledger::upgrade(&path).unwrap();
    assert_eq!((report.from_version, report.to_version), (1, 2));
    assert_eq!(report.verified_entries, 60);
    assert_eq!(report.sealed.as_deref(), Some(segments(&path)[4].as_path()));
    assert_eq!(versions(&path), [1, 1, 1, 1, 1, 2]);
    // The old segments' frames are untouched: the sealed one only gained its trailer.
    for (old, path) in old_bytes.iter().zip(segments(&path)) {
        let now = std::fs::read(path).unwrap();
        assert_eq!(&now[..old.len()], &old[..]);
    }
    assert!(std::fs::read_to_string(path.join("ledger.toml"))
        .unwrap()
        .contains("format_version = 2"));
    // The old digest still checks; the writer opens and takes signals and outcomes.
    assert_eq!(verified(&path, &digest_of("ledger-v1")), 60);
    let mut ledger = Ledger::open(&path).unwrap();
    let signals = demo_signals(5, 99);
    ledger.append(&signals).unwrap();
    let first_id = stored_ids(&path)[0].clone();
    ledger
        .append_outcomes(&[Outcome {
            signal_id: first_id,
            decision: Decision::Acted,
            execution_id: Some("ex-1".into()),
            reason: None,
            decided_at_ns: 0,
        }])
        .unwrap();
    drop(ledger);
    assert_eq!(verified(&path, &digest_of("ledger-v1")), 66);
    // Upgrading again changes nothing.
    let image = dir_image(&path);
    let again = Ledger::upgrade(&path).unwrap();
    assert_eq!((again.from_version, again.sealed), (2, None));
    assert_eq!(dir_image(&path).len(), image.len());
}

#[test]
fn upgrade_of_an_empty_older_active_segment_replaces_its_header() {
    let (_tmp, path) = copy_of("ledger-v1");
    // An empty version-1 active segment, as a version-1 writer leaves it right after a roll:
    // cut the fixture's active segment back to its header (a shorter but valid ledger).
    let active = segments(&path).pop().unwrap();
    let bytes = std::fs::read(&active).unwrap();
    std::fs::write(&active, &bytes[..80]).unwrap();
    let report = Ledger::upgrade(&path).unwrap();
    assert_eq!(report.sealed, None);
    assert_eq!(report.verified_entries, 48);
    assert_eq!(versions(&path), [1, 1, 1, 1, 2]);
    let header = SegmentHeader::decode(&std::fs::read(&active).unwrap()).unwrap();
    let old = SegmentHeader::decode(&bytes).unwrap();
    assert_eq!(
        (header.first_seq, header.prev_hash, header.created_at_ns),
        (old.first_seq, old.prev_hash, old.created_at_ns)
    );
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.append(&demo_signals(3, 1)).unwrap();
    drop(ledger);
    let snap = Snapshot::open(&path).unwrap();
    assert!(verify(&snap, VerifyOptions::default()).is_intact());
}

#[test]
fn a_damaged_older_ledger_is_not_upgraded() {
    let (_tmp, path) = copy_of("ledger-v1");
    let first = segments(&path)[0].clone();
    flip_byte(&first, frame_offsets(&first)[3] + 40, 0x01);
    let before = dir_image(&path);
    let err = Ledger::upgrade(&path).unwrap_err();
    assert_eq!(err.corruption().unwrap().seq, Some(3), "{err}");
    assert_eq!(dir_image(&path), before);
}

#[test]
fn a_newer_ledger_is_refused_naming_both_versions() {
    let (_tmp, path) = copy_of("ledger-v2");
    let toml = path.join("ledger.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("format_version = 2", "format_version = 3"),
    )
    .unwrap();
    for err in [
        Ledger::open(&path).unwrap_err(),
        Ledger::upgrade(&path).unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(
            message.contains("format_version 3 is newer than this build supports (1..=2)"),
            "{message}"
        );
    }
}

#[test]
fn todays_ledger_opens_verifies_against_its_digest_and_takes_appends() {
    let (_tmp, path) = copy_of("ledger-v2");
    assert_eq!(versions(&path), [2, 2, 2, 2, 2, 2]);
    assert_eq!(verified(&path, &digest_of("ledger-v2")), 65);
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.append(&demo_signals(4, 3)).unwrap();
    drop(ledger);
    assert_eq!(verified(&path, &digest_of("ledger-v2")), 69);
}
