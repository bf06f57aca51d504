//! Promise: a ledger with recorded checks is intact for docs/audit/verify_ledger.py and the
//! engine with the same head and entry count, and damage in `checks.log` — its header, a flipped
//! byte, a re-hashed edit, every (R) layout rule of integrity checks and anchors, a broken chain —
//! is named at the same offset and check-log seq by the auditor and the engine's
//! `read_check_log`; a bad last frame is a torn tail for both.
//!
//! Skipped, with a notice, when `python3` is not on PATH; a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (tests/support/python.rs), as in CI.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod auditor_support;

use std::path::Path;

use auditor_support::checks::*;
use auditor_support::python;
use auditor_support::*;
use signal_ledger_engine::checklog::{read_check_log, run_check, CheckRequest, CHECK_LOG_FILE};
use signal_ledger_engine::CorruptKind;

#[test]
fn a_ledger_with_recorded_checks_is_intact_for_both() {
    // FORMAT.md, "Check log": a header, then checks chained from genesis; verification reads it
    // whole (step 5). A torn tail (an append cut short) is not damage, for both.
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
