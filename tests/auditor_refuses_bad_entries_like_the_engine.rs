//! Promise: docs/audit/verify_ledger.py refuses the entries the engine refuses, at the same
//! segment, byte and seq: a reserved or unknown entry kind, an outcome in a version-1 segment,
//! a malformed outcome, and an outcome whose signal is not the one it names; the writer's open
//! (or the upgrade, for a version-1 ledger) refuses them too.
//!
//! Skipped, with a notice, when `python3` is not on PATH; a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (tests/support/python.rs), as in CI.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod auditor_support;

use auditor_support::python;
use auditor_support::*;
use signal_ledger_engine::CorruptKind;

#[test]
fn a_reserved_entry_kind_is_refused_by_open_verify_and_the_auditor() {
    // FORMAT.md, "Entry body": kinds 0x03..=0x05 are reserved, refused in a segment of either
    // version, by the writer's open too.
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
    // PROCEDURES.md, "Verifying a ledger", step 4: the entry at signal_seq must be a signal with the
    // outcome's signal_id; a failure is reported at the outcome's frame with the outcome's seq.
    // `acted` (seq 3) names seq 1 "sig-0002"; `dismissed` (seq 4) names seq 0 "sig-0001".
    if !python::python_or_skip() {
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
