//! Promise: ledgers pruned by `Ledger::apply_retention` (a few segments, or every sealed one) are
//! intact for docs/audit/verify_ledger.py and the engine with the same head and entry count (the
//! anchors of segments put back ignored); a flipped byte in an anchor is located alike; a middle
//! or first held segment removed by hand, an anchor edited (re-hashed, or damaged so that the
//! anchors after it are not read), or a check log cut back or removed, is a missing segment or a
//! header that does not join, at the same place for both; and a digest of a seq removed by
//! retention is refused by both, naming the anchor that held it.
//!
//! Skipped, with a notice, when `python3` is not on PATH; a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (tests/support/python.rs), as in CI.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod auditor_support;

use std::path::{Path, PathBuf};

use auditor_support::checks::*;
use auditor_support::python;
use auditor_support::*;
use signal_ledger_engine::checklog::{read_check_log, CHECK_LOG_FILE};
use signal_ledger_engine::{CorruptKind, Digest, Ledger, Snapshot};

#[test]
fn a_ledger_pruned_by_retention_is_intact_for_both() {
    // FORMAT.md, "Retention": the held segments verify from the position the unbroken run of
    // anchors gives, with the same head and entry count for both; outcomes whose signal was
    // removed are not checked against it. Anchors of segments still present (as a crash
    // between recording an anchor and deleting its segment leaves them) are ignored.
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
