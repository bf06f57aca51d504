//! Promise: docs/audit/verify_ledger.py names the segment, byte and seq of damage in segments
//! exactly where the engine does — a flipped byte, a re-hashed edit, bytes or frames before a
//! trailer, a segment of an unsupported format version (by its version, before its CRC), a
//! trailer whose timestamp range counts outcomes, a non-finite price — and the writer's open
//! refuses the damage it reads too.
//!
//! Skipped, with a notice, when `python3` is not on PATH; a failure instead when
//! `SIGNAL_LEDGER_AUDITOR_TESTS=required` (tests/support/python.rs), as in CI.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod auditor_support;

use auditor_support::python;
use auditor_support::*;
use signal_ledger_engine::input::parse_signal_line;
use signal_ledger_engine::record::codec::{encode_signal_body, Stamp};
use signal_ledger_engine::record::frame::{begin_frame, finish_frame};
use signal_ledger_engine::segment::SegmentTrailer;
use signal_ledger_engine::{verify, CorruptKind, Digest, Signal, Snapshot, VerifyOptions};

#[test]
fn engine_ledger_is_intact_and_damage_is_located_like_the_engine() {
    if !python::python_or_skip() {
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
fn bytes_before_the_trailer_of_the_last_sealed_segment_are_refused() {
    // FORMAT.md: the frames of a sealed segment tile its record area exactly, up to the trailer.
    if !python::python_or_skip() {
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
    if !python::python_or_skip() {
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
fn a_trailer_counts_the_timestamps_of_signals_only() {
    // FORMAT.md, "Segment trailer": min/max_timestamp_ns range over the signal entries only. The
    // committed version-2 ledger is intact (its trailer has the signals' range); a trailer that
    // counts the outcomes' decided_at, or that says the segment has no signal, is refused.
    if !python::python_or_skip() {
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
fn a_non_finite_price_is_refused() {
    // FORMAT.md, "Signal entry": a present price must be finite (R).
    if !python::python_or_skip() {
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
