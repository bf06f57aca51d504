//! What each fuzz target does with its input, and the invariants it asserts.
//!
//! Shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/*.rs`, nightly) and by the stable
//! regression test `tests/fuzz_corpus_replays_clean.rs`, which replays every file of
//! `fuzz/corpus/<target>/` (and `fuzz/artifacts/<target>/`, when present) through the same
//! functions. A panic anywhere — in the engine or in an assertion here — is a finding.
//!
//! - [`decode_record`]: frame parsing, entry/signal/outcome decoding, header and trailer
//!   decoding of arbitrary bytes; whatever decodes re-encodes to the same bytes.
//! - [`open_segment`]: arbitrary segment files in a ledger directory, opened by the writer
//!   (`Ledger::open`, recovering a torn tail) and by a reader (`Snapshot::open`), verified, then
//!   appended to; reader, writer and verification must agree.
//! - [`ndjson_signal`]: NDJSON signal and outcome input; every accepted line is a valid signal
//!   that encodes and decodes back to itself, and the whole-input, streaming and line-at-a-time
//!   parsers give the same answer.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use signal_ledger_engine::hash::{row_hash, Hash, GENESIS_PREV_HASH};
use signal_ledger_engine::input::{
    parse_ndjson, parse_ndjson_line, parse_ndjson_stream, parse_outcomes_ndjson, parse_signal_line,
    ParsedInput,
};
use signal_ledger_engine::record::codec::{
    entry_kind, entry_seq, signal_id_bytes, signal_recorded_at, signal_timestamp,
};
use signal_ledger_engine::record::frame::{begin_frame, finish_frame, FRAME_BODY_LEN_MAX};
use signal_ledger_engine::record::json::{write_outcome_json, write_view_json};
use signal_ledger_engine::record::outcome::{encode_outcome_body, OutcomeStamp};
use signal_ledger_engine::record::{
    decode_entry, decode_outcome, decode_signal, encode_signal_body, frame_at, EntryKind,
    EntryView, FrameAt, Outcome, OutcomeView, SignalView, Stamp,
};
use signal_ledger_engine::segment::{SegmentHeader, SegmentTrailer, HEADER_LEN, TRAILER_LEN};
use signal_ledger_engine::LedgerError;
use signal_ledger_engine::{
    verify, Ledger, Signal, Snapshot, ValidSignal, VerifyOptions, VerifyReport,
};

/// Smallest entry body a frame may hold (FORMAT.md, "Record frame").
const BODY_LEN_MIN: usize = 80;

// ---------------------------------------------------------------------------------------------
// decode_record
// ---------------------------------------------------------------------------------------------

/// The record decoder on arbitrary bytes: walked as a record area (frame after frame), taken
/// as one entry body, and as a segment header and trailer. Nothing panics; every frame the
/// walk accepts is whole and CRC-correct; every body that decodes re-encodes byte for byte.
pub fn decode_record(data: &[u8]) {
    let mut at = 0usize;
    loop {
        match frame_at(data, at) {
            FrameAt::Valid { body, next } => {
                assert_eq!(next, at + 8 + body.len(), "frame length");
                assert!(next <= data.len(), "frame runs past the bytes");
                assert!((BODY_LEN_MIN..=FRAME_BODY_LEN_MAX).contains(&body.len()));
                assert_eq!(
                    crc32fast::hash(body).to_le_bytes(),
                    data[at + 4..at + 8],
                    "a valid frame's CRC matches"
                );
                check_body(body);
                at = next;
            }
            FrameAt::End => {
                assert_eq!(at, data.len(), "End only at the end");
                break;
            }
            FrameAt::Trailer => {
                assert_eq!(
                    data.get(at..at + 4),
                    Some(&[0xFF; 4][..]),
                    "trailer sentinel"
                );
                break;
            }
            FrameAt::Incomplete => {
                let rest = data.len() - at;
                let declared = data
                    .get(at..at + 4)
                    .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
                assert!(
                    rest < 8 || declared.is_some_and(|len| at + 8 + len > data.len()),
                    "Incomplete only for a short frame"
                );
                break;
            }
            FrameAt::Bad(_) => break,
        }
    }
    check_body(data);
    if let Ok(header) = SegmentHeader::decode(data) {
        assert_eq!(header.encode()[..], data[..HEADER_LEN], "header re-encodes");
    }
    if let Ok(trailer) = SegmentTrailer::decode(data) {
        assert_eq!(
            trailer.encode()[..],
            data[..TRAILER_LEN],
            "trailer re-encodes"
        );
        assert!(trailer.record_count >= 1);
        assert_eq!(
            trailer.last_seq - trailer.first_seq + 1,
            trailer.record_count
        );
    }
}

/// One entry body: the decoders agree with each other, and what decodes re-encodes exactly.
fn check_body(body: &[u8]) {
    let v1 = decode_entry(body, 1);
    let v2 = decode_entry(body, 2);
    let signal = decode_signal(body);
    let outcome = decode_outcome(body);
    match entry_kind(body) {
        Ok(EntryKind::Signal) => {
            assert!(outcome.is_err(), "a signal body is not an outcome");
            for v in [&v1, &v2] {
                match (v, &signal) {
                    (Ok(EntryView::Signal(a)), Ok(b)) => assert_eq!(a, b),
                    (Err(a), Err(b)) => assert_eq!(a, b),
                    other => panic!("decode_entry and decode_signal disagree: {other:?}"),
                }
            }
        }
        Ok(EntryKind::Outcome) => {
            assert!(signal.is_err(), "an outcome body is not a signal");
            assert!(v1.is_err(), "a version-1 segment holds no outcome");
            match (&v2, &outcome) {
                (Ok(EntryView::Outcome(a)), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b),
                other => panic!("decode_entry and decode_outcome disagree: {other:?}"),
            }
        }
        _ => {
            assert!(v1.is_err() && v2.is_err() && signal.is_err() && outcome.is_err());
        }
    }
    if let Ok(view) = &signal {
        check_signal_view(body, view);
    }
    if let Ok(view) = &outcome {
        check_outcome_view(body, view);
    }
    if (BODY_LEN_MIN..=FRAME_BODY_LEN_MAX).contains(&body.len()) {
        let mut framed = Vec::with_capacity(body.len() + 8);
        let start = begin_frame(&mut framed);
        framed.extend_from_slice(body);
        finish_frame(&mut framed, start);
        assert_eq!(
            frame_at(&framed, 0),
            FrameAt::Valid {
                body,
                next: framed.len()
            },
            "a framed body reads back"
        );
    }
}

fn check_signal_view(body: &[u8], view: &SignalView<'_>) {
    let n = body.len();
    assert_eq!(entry_seq(body), Some(view.seq));
    assert_eq!(signal_timestamp(body), Some(view.timestamp_ns));
    assert_eq!(signal_recorded_at(body), Some(view.recorded_at_ns));
    assert_eq!(signal_id_bytes(body), Some(view.signal_id.as_bytes()));
    let record = view.to_record();
    assert_eq!(&record.as_view(), view, "view -> record -> view");
    let stamp = Stamp {
        seq: view.seq,
        recorded_at_ns: view.recorded_at_ns,
        prev_hash: view.prev_hash,
    };
    let mut out = Vec::with_capacity(n);
    let hash = encode_signal_body(&mut out, &stamp, &record.signal, view.signal_id);
    assert_eq!(out.len(), n, "re-encoded length");
    assert_eq!(out[..n - 32], body[..n - 32], "one signal, one encoding");
    assert_eq!(hash, row_hash(&view.prev_hash, &body[..n - 64]));
    let mut json = String::new();
    write_view_json(view, &mut json);
    let payload = view.payload_json.trim_matches([' ', '\t', '\n', '\r']);
    if payload.is_empty() || serde_json::from_str::<serde_json::Value>(payload).is_ok() {
        let value: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("record JSON does not parse ({e}): {json}"));
        assert_eq!(value.as_object().map(|o| o.len()), Some(22), "{json}");
    }
}

fn check_outcome_view(body: &[u8], view: &OutcomeView<'_>) {
    let n = body.len();
    assert_eq!(entry_seq(body), Some(view.seq));
    assert!(view.signal_seq < view.seq);
    let record = view.to_record();
    assert_eq!(&record.as_view(), view, "view -> record -> view");
    let stamp = OutcomeStamp {
        seq: view.seq,
        recorded_at_ns: view.recorded_at_ns,
        prev_hash: view.prev_hash,
        signal_seq: view.signal_seq,
    };
    let mut out = Vec::with_capacity(n);
    let hash = encode_outcome_body(&mut out, &stamp, &record.outcome);
    assert_eq!(out.len(), n, "re-encoded length");
    assert_eq!(out[..n - 32], body[..n - 32], "one outcome, one encoding");
    assert_eq!(hash, row_hash(&view.prev_hash, &body[..n - 64]));
    let mut json = String::new();
    write_outcome_json(view, &mut json);
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|e| panic!("outcome JSON does not parse ({e}): {json}"));
}

// ---------------------------------------------------------------------------------------------
// open_segment
// ---------------------------------------------------------------------------------------------

/// Separates segment files in an `open_segment` input of the files mode.
pub const SEGMENT_SEPARATOR: &[u8] = b"<<SEG>>\n";

/// `open_segment` mode bit: the input is the record area of one active segment, after a valid
/// header (first_seq 0, genesis prev_hash, this build's format version). Clear: the input is
/// whole segment files separated by [`SEGMENT_SEPARATOR`], named by their header's first_seq.
pub const MODE_TAIL: u8 = 0x01;
/// `open_segment` mode bit: recompute the header, frame and trailer CRCs of every file, so
/// the mutations reach the checks behind them.
pub const MODE_FIX_CRC: u8 = 0x02;
/// `open_segment` mode bit: also rewrite seqs, prev_hashes, row hashes, segment first_seqs
/// and trailers so the chain holds across files: the mutations reach the entry layout checks
/// of verification and the writer's appends.
pub const MODE_FIX_CHAIN: u8 = 0x04;

/// The `ledger.toml` of every fuzzed ledger: small segments (appends seal them), no sync.
pub const LEDGER_TOML: &str =
    "format_version = 2\n\n[persistence]\nsegment_size_bytes = 4096\ndurability = \"none\"\n";

/// Signal id of the signal [`open_segment`] appends.
const APPENDED_ID: &str = "fuzz-appended-signal";

/// Builds the segment files an `open_segment` input describes: `(first_seq, bytes)`.
pub fn segment_files(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let mut files: Vec<Vec<u8>> = if mode & MODE_TAIL != 0 {
        let header = SegmentHeader {
            format_version: signal_ledger_engine::segment::FORMAT_VERSION,
            first_seq: 0,
            created_at_ns: 1_700_000_000_000_000_000,
            prev_hash: GENESIS_PREV_HASH,
        };
        let mut file = header.encode().to_vec();
        file.extend_from_slice(rest);
        vec![file]
    } else {
        split_on(rest, SEGMENT_SEPARATOR)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    };
    let mut chain = (0u64, GENESIS_PREV_HASH);
    let mut out = Vec::with_capacity(files.len());
    for (i, file) in files.iter_mut().enumerate() {
        if mode & MODE_FIX_CHAIN != 0 {
            fix_segment(file, Some(&mut chain));
        } else if mode & MODE_FIX_CRC != 0 {
            fix_segment(file, None);
        }
        let first_seq = file
            .get(16..24)
            .map_or(i as u64, |b| u64::from_le_bytes(b.try_into().unwrap()));
        out.push((first_seq, std::mem::take(file)));
    }
    out
}

fn split_on<'a>(mut bytes: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = bytes.windows(separator.len()).position(|w| w == separator) {
        out.push(&bytes[..i]);
        bytes = &bytes[i + separator.len()..];
    }
    out.push(bytes);
    out
}

fn put(file: &mut [u8], at: usize, bytes: &[u8]) {
    file[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Recomputes the CRCs of a segment file (header, every frame the walk reaches, a trailer
/// of exactly 96 bytes), and with `chain`, first rewrites its seqs and hashes to continue the
/// chain and its trailer to agree with its entries.
fn fix_segment(file: &mut [u8], mut chain: Option<&mut (u64, Hash)>) {
    if file.len() < HEADER_LEN {
        return;
    }
    let first_seq = match chain.as_deref() {
        Some(&(next_seq, last)) => {
            put(file, 16, &next_seq.to_le_bytes());
            put(file, 32, &last.0);
            next_seq
        }
        None => u64::from_le_bytes(file[16..24].try_into().unwrap()),
    };
    let crc = crc32fast::hash(&file[..76]);
    put(file, 76, &crc.to_le_bytes());
    let (mut count, mut min_ts, mut max_ts) = (0u64, i64::MAX, i64::MIN);
    let mut at = HEADER_LEN;
    while let Some(len) = file.get(at..at + 4) {
        let len = u32::from_le_bytes(len.try_into().unwrap());
        if len == u32::MAX {
            if file.len() - at == TRAILER_LEN {
                if let Some(&mut (next_seq, last)) = chain.as_deref_mut() {
                    if count > 0 {
                        put(file, at + 8, &count.to_le_bytes());
                        put(file, at + 16, &first_seq.to_le_bytes());
                        put(file, at + 24, &next_seq.wrapping_sub(1).to_le_bytes());
                        put(file, at + 32, &min_ts.to_le_bytes());
                        put(file, at + 40, &max_ts.to_le_bytes());
                        put(file, at + 48, &last.0);
                    }
                }
                let crc = crc32fast::hash(&file[at..at + 80]);
                put(file, at + 80, &crc.to_le_bytes());
            }
            break;
        }
        let len = len as usize;
        let end = at + 8 + len;
        if !(BODY_LEN_MIN..=FRAME_BODY_LEN_MAX).contains(&len) || end > file.len() {
            break;
        }
        if let Some((next_seq, last)) = chain.as_deref_mut() {
            let body = &mut file[at + 8..end];
            body[8..16].copy_from_slice(&next_seq.to_le_bytes());
            body[len - 64..len - 32].copy_from_slice(&last.0);
            let hash = row_hash(last, &body[..len - 64]);
            body[len - 32..].copy_from_slice(&hash.0);
            if body[0] == EntryKind::Signal as u8 {
                let ts = i64::from_le_bytes(body[16..24].try_into().unwrap());
                min_ts = min_ts.min(ts);
                max_ts = max_ts.max(ts);
            }
            *next_seq = next_seq.wrapping_add(1);
            *last = hash;
            count += 1;
        }
        let crc = crc32fast::hash(&file[at + 8..end]);
        put(file, at + 4, &crc.to_le_bytes());
        at = end;
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// A fresh, empty ledger directory (one per thread, emptied for each input).
fn scratch_ledger_dir() -> PathBuf {
    SCRATCH.with(|cell| {
        let mut cell = cell.borrow_mut();
        let root = cell.get_or_insert_with(|| {
            tempfile::Builder::new()
                .prefix("fuzz-open-segment")
                .tempdir()
                .expect("temp dir")
        });
        let dir = root.path().join("ledger");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("empty the scratch ledger");
        }
        std::fs::create_dir(&dir).expect("create the scratch ledger");
        dir
    })
}

/// The fields of a verification that do not depend on the clock.
fn verdict(report: &VerifyReport) -> impl PartialEq + std::fmt::Debug {
    (
        report.records_checked,
        report.from_seq,
        report.head_seq,
        report.head_hash,
        report.first_failure.clone(),
    )
}

/// Verifies `snapshot` in parallel and sequentially: the two must agree.
fn verify_both(snapshot: &Snapshot) -> VerifyReport {
    let parallel = verify(snapshot, VerifyOptions::default());
    let sequential = verify(
        snapshot,
        VerifyOptions {
            sequential: true,
            ..VerifyOptions::default()
        },
    );
    assert_eq!(
        verdict(&parallel),
        verdict(&sequential),
        "parallel and sequential verify disagree"
    );
    assert_eq!(parallel.torn_tail, sequential.torn_tail);
    parallel
}

fn verify_sequential(snapshot: &Snapshot) -> VerifyReport {
    let options = VerifyOptions {
        sequential: true,
        ..VerifyOptions::default()
    };
    verify(snapshot, options)
}

fn appended_signal() -> ValidSignal {
    let line = format!(
        "{{\"signal_id\":\"{APPENDED_ID}\",\"source_module\":\"fuzz\",\"ticker\":\"FUZZ\",\
         \"direction\":\"long\",\"conviction\":0.5,\"signal_type\":\"entry\",\
         \"timestamp\":\"2026-01-01T00:00:00Z\",\"payload_json\":{{\"k\":[1,2]}}}}"
    );
    parse_signal_line(&line).expect("the appended signal parses and is valid")
}

/// Segment files in a ledger directory, opened by a reader and the writer (recovery),
/// verified, then appended to. Nothing panics, and:
///
/// - the writer opens exactly when the reader sees no damage, and then recovers exactly the
///   torn tail the reader reported, to the same head;
/// - after the writer's open, a reader sees no torn tail, the same head, and verification finds
///   what it found before (parallel and sequential verification always agree);
/// - a signal and an outcome of it append to any ledger that verified intact, which then
///   verifies intact with two more entries; on any other ledger an append fails or succeeds
///   without changing the damage verification reports.
pub fn open_segment(data: &[u8]) {
    let files = segment_files(data);
    let dir = scratch_ledger_dir();
    std::fs::write(dir.join("ledger.toml"), LEDGER_TOML).expect("write ledger.toml");
    for (first_seq, bytes) in &files {
        let name = format!("{first_seq:020}.seg");
        std::fs::write(dir.join(name), bytes).expect("write a segment");
    }
    check_open(&dir);
}

fn check_open(dir: &Path) {
    let before = match Snapshot::open(dir) {
        Ok(s) => s,
        Err(reader_error) => {
            // What a reader cannot read, the writer must not open either.
            if let Ok(_ledger) = Ledger::open(dir) {
                panic!("the writer opened a ledger the reader could not: {reader_error}");
            }
            return;
        }
    };
    let report_before = verify_both(&before);
    assert_eq!(
        report_before.torn_tail,
        before.torn_tail().cloned(),
        "verify reports the snapshot's torn tail"
    );
    if before.damage().is_some() {
        assert!(
            report_before.first_failure.is_some(),
            "a damaged snapshot does not verify intact"
        );
    }
    let opened = Ledger::open(dir);
    let ledger = match (opened, before.damage()) {
        (Ok(ledger), None) => ledger,
        (Err(LedgerError::Corrupt(_)), Some(_)) => return,
        (Ok(_), Some(damage)) => {
            panic!("the writer opened a ledger the reader finds damaged: {damage}")
        }
        (Err(e), None) => panic!("the writer refused a ledger the reader finds undamaged: {e}"),
        (Err(e), Some(damage)) => {
            panic!(
                "the writer refused a damaged ledger ({damage}) with a non-corruption error: {e}"
            )
        }
    };
    assert_eq!(
        ledger.recovery().map(|r| r.offset),
        before.torn_tail().map(|t| t.offset),
        "the writer recovers the torn tail the reader reported"
    );
    assert_eq!(ledger.next_seq(), before.next_seq());
    assert_eq!(ledger.head(), before.head());
    drop(ledger);
    drop(before);

    let after = Snapshot::open(dir).expect("reader after the writer's open");
    assert!(
        after.torn_tail().is_none(),
        "a torn tail survived the writer's open"
    );
    assert!(after.damage().is_none(), "the writer's open left damage");
    let report_after = verify_sequential(&after);
    assert_eq!(
        verdict(&report_after),
        verdict(&report_before),
        "verification changed across the writer's open"
    );
    let head_before = after.head();
    drop(after);

    let mut ledger = Ledger::open(dir).expect("the writer reopens what it opened");
    assert_eq!(ledger.head(), head_before);
    let next = ledger.next_seq();
    let signal = appended_signal();
    let appended = ledger.append_valid(std::slice::from_ref(&signal));
    let intact = report_before.is_intact();
    match &appended {
        Ok(receipt) => {
            if !receipt.signal_ids.is_empty() && receipt.duplicates.is_empty() {
                assert_eq!(receipt.first_seq, next);
                assert_eq!(ledger.next_seq(), next + 1);
                let outcome = Outcome {
                    signal_id: APPENDED_ID.to_owned(),
                    decision: signal_ledger_engine::record::Decision::Acted,
                    execution_id: Some("ex-1".to_owned()),
                    reason: Some("fuzz".to_owned()),
                    decided_at_ns: 1_767_225_600_000_000_000,
                };
                let result = ledger.append_outcomes(&[outcome]);
                if intact {
                    result.expect("an outcome of a signal just appended");
                }
            }
        }
        Err(LedgerError::SignalIdTaken { .. }) => {}
        Err(e) if intact => panic!("append to an intact ledger failed: {e}"),
        Err(_) => {}
    }
    let appended_entries = ledger.next_seq() - next;
    drop(ledger);

    let last = Snapshot::open(dir).expect("reader after the append");
    assert!(last.damage().is_none() && last.torn_tail().is_none());
    assert_eq!(last.next_seq(), next + appended_entries);
    let report_last = verify_sequential(&last);
    if intact {
        assert!(
            report_last.is_intact(),
            "an intact ledger no longer verifies after appends: {:?}",
            report_last.first_failure
        );
        assert_eq!(
            report_last.records_checked,
            report_before.records_checked + appended_entries
        );
    } else {
        assert_eq!(
            report_last.first_failure, report_before.first_failure,
            "appends changed the damage verification reports"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ndjson_signal
// ---------------------------------------------------------------------------------------------

/// NDJSON signal (and outcome) input. Nothing panics, and:
///
/// - every non-blank line is exactly one signal or one error, in line order;
/// - the whole-input parser, the streaming parser and the line-at-a-time parser agree;
/// - every accepted signal passes `Signal::validate`, encodes, and decodes back to itself;
/// - every accepted outcome encodes and decodes back to itself.
pub fn ndjson_signal(data: &[u8]) {
    let parsed = parse_ndjson(data);
    assert_eq!(parsed.signals.len(), parsed.lines.len());
    let line_count = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut all_lines: Vec<u64> = parsed
        .lines
        .iter()
        .copied()
        .chain(parsed.errors.iter().map(|e| e.line))
        .collect();
    assert!(
        parsed.lines.windows(2).all(|w| w[0] < w[1]),
        "signal lines in order"
    );
    assert!(
        parsed.errors.windows(2).all(|w| w[0].line < w[1].line),
        "error lines in order"
    );
    let total = all_lines.len();
    all_lines.sort_unstable();
    all_lines.dedup();
    assert_eq!(
        all_lines.len(),
        total,
        "a line is a signal or an error, not both"
    );
    assert!(all_lines.iter().all(|&l| (1..=line_count).contains(&l)));

    if stream_check_due(data) {
        let streamed = parse_ndjson_stream(&mut &data[..], &|_| {}).expect("reading a slice");
        assert_eq!(
            streamed, parsed,
            "streaming and whole-input parsing disagree"
        );
    }

    let mut one_by_one = ParsedInput::default();
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut lines = body.split(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        // parse_ndjson_line strips a BOM from line 1 itself: give it the line as read.
        let first = if body.len() == data.len() {
            first
        } else {
            &data[..first.len() + 3]
        };
        for (i, line) in std::iter::once(first).chain(lines).enumerate() {
            match parse_ndjson_line(i as u64 + 1, line) {
                None => {}
                Some(Ok(signal)) => {
                    one_by_one.signals.push(signal);
                    one_by_one.lines.push(i as u64 + 1);
                }
                Some(Err(e)) => one_by_one.errors.push(e),
            }
        }
    }
    assert_eq!(
        one_by_one, parsed,
        "line-at-a-time and whole-input parsing disagree"
    );

    for (signal, &line) in parsed.signals.iter().zip(&parsed.lines) {
        check_input_signal(signal.signal(), line);
    }

    let now_ns = 1_767_225_600_000_000_000;
    if let Ok(outcomes) = parse_outcomes_ndjson(data, now_ns) {
        for (line, outcome) in outcomes {
            outcome.validate().expect("a parsed outcome is valid");
            let stamp = OutcomeStamp {
                seq: line + 1,
                recorded_at_ns: now_ns,
                prev_hash: Hash([7; 32]),
                signal_seq: line,
            };
            let mut body = Vec::new();
            encode_outcome_body(&mut body, &stamp, &outcome);
            let view = decode_outcome(&body).expect("an encoded outcome decodes");
            assert_eq!(view.to_record().outcome, outcome, "outcome round trip");
        }
    }
}

/// Whether to compare the streaming parser on this input: always on stable (the corpus replay),
/// one input in eight under cargo-fuzz, where its 16 MiB read buffer costs the address sanitizer
/// ~3 ms a call (seven times the rest of the target).
#[allow(unexpected_cfgs)]
fn stream_check_due(data: &[u8]) -> bool {
    !cfg!(fuzzing) || crc32fast::hash(data).is_multiple_of(8)
}

fn check_input_signal(signal: &Signal, line: u64) {
    ValidSignal::new(signal.clone()).expect("an accepted signal validates");
    let signal_id = if signal.signal_id.is_empty() {
        "assigned-by-the-ledger"
    } else {
        signal.signal_id.as_str()
    };
    let stamp = Stamp {
        seq: line,
        recorded_at_ns: signal.timestamp_ns.saturating_add(1_500_000),
        prev_hash: Hash([9; 32]),
    };
    let mut body = Vec::new();
    let hash = encode_signal_body(&mut body, &stamp, signal, signal_id);
    assert!(body.len() <= FRAME_BODY_LEN_MAX);
    let view = decode_signal(&body).expect("an accepted signal's encoding decodes");
    assert_eq!(view.row_hash, hash);
    let mut expected = signal.clone();
    expected.signal_id = signal_id.to_owned();
    let record = view.to_record();
    assert_eq!(
        record.signal, expected,
        "signal round trip through its encoding"
    );
    assert_eq!(record.seq, line);
    check_body(&body);
}
