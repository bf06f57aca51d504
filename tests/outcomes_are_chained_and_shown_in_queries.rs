//! Outcomes: an outcome entry is chained after the signal it names (a later edit breaks the
//! chain like any other), an outcome for an unknown signal is refused with nothing written, and
//! queries, filters, aggregates, exports and lineage show each signal's latest outcome, whether
//! the indexes come from sidecars or are built.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use signal_ledger::engine::record::{Decision, EntryRecord, Outcome};
use signal_ledger::engine::{verify, CorruptKind, Ledger, LedgerError, Snapshot, VerifyOptions};
use signal_ledger::query::{Catalog, ExportFormat, Filter, GroupBy, Order, Query};
use support::*;

fn outcome(signal_id: &str, acted: bool, execution_id: Option<&str>) -> Outcome {
    Outcome {
        signal_id: signal_id.to_owned(),
        decision: Decision::from_acted(acted),
        execution_id: execution_id.map(str::to_owned),
        reason: Some(format!("because {signal_id}")),
        decided_at_ns: 1_767_225_600_000_000_000,
    }
}

/// A ledger of 400 signals in 8 KiB segments, then outcomes for signals 3 (twice: acted then
/// dismissed), 10 (acted, with an execution) and 350 (dismissed), then 100 more signals.
fn ledger_with_outcomes() -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let signals = demo_signals(500, 11);
    let ids: Vec<String> = signals.iter().map(|s| s.signal_id.clone()).collect();
    let mut ledger = Ledger::create(&path, small_segments(8 * 1024)).unwrap();
    ledger.append(&signals[..400]).unwrap();
    ledger
        .append_outcomes(&[
            outcome(&ids[3], true, Some("ex-3")),
            outcome(&ids[10], true, Some("ex-10")),
        ])
        .unwrap();
    ledger
        .append_outcomes(&[
            outcome(&ids[3], false, None),
            outcome(&ids[350], false, None),
        ])
        .unwrap();
    ledger.append(&signals[400..]).unwrap();
    (tmp, path, ids)
}

#[test]
fn outcomes_are_chained_entries_that_verify() {
    let (_tmp, path, ids) = ledger_with_outcomes();
    let snap = Snapshot::open(&path).unwrap();
    assert_eq!(snap.next_seq(), 504);
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    assert_eq!(report.records_checked, 504);
    // seq 400..=403 are the outcomes, each chained to the entry before it.
    let mut prev = snap.row_hash_at(399).unwrap().unwrap();
    for (seq, (signal, acted)) in (400..404).zip([(3, true), (10, true), (3, false), (350, false)])
    {
        let Some(EntryRecord::Outcome(o)) = snap.entry_record(seq).unwrap() else {
            panic!("seq {seq} is not an outcome");
        };
        assert_eq!(o.prev_hash, prev);
        assert_eq!(o.signal_seq, signal);
        assert_eq!(o.outcome.signal_id, ids[signal as usize]);
        assert_eq!(o.outcome.decision.acted_upon(), acted);
        prev = o.row_hash;
    }
    // The signal entries themselves are unchanged.
    let stored = snap.get(3).unwrap().unwrap().signal;
    assert_eq!(stored, demo_signals(500, 11)[3]);
    assert!(
        snap.get(400).unwrap().is_none(),
        "an outcome is not a signal"
    );
}

#[test]
fn an_outcome_for_an_unknown_signal_is_refused_and_nothing_is_written() {
    let (_tmp, path, ids) = ledger_with_outcomes();
    let before = dir_image(&path);
    let mut ledger = Ledger::open(&path).unwrap();
    let err = ledger
        .append_outcomes(&[
            outcome(&ids[1], true, None),
            outcome("no-such-signal", true, None),
        ])
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::UnknownSignal { index: 1, signal_id } if signal_id == "no-such-signal"),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-signal"), "{err}");
    let invalid = ledger
        .append_outcomes(&[Outcome {
            reason: Some("x".repeat(1025)),
            ..outcome(&ids[1], true, None)
        }])
        .unwrap_err();
    assert!(
        matches!(invalid, LedgerError::InvalidOutcome { index: 0, .. }),
        "{invalid}"
    );
    assert_eq!(ledger.next_seq(), 504);
    drop(ledger);
    // Nothing changed (dir_image leaves the lock out).
    assert_eq!(dir_image(&path), before);
}

#[test]
fn an_edited_outcome_breaks_the_chain_at_its_seq() {
    let (_tmp, path, _) = ledger_with_outcomes();
    let snap = Snapshot::open(&path).unwrap();
    let seg_index = snap
        .segments()
        .iter()
        .position(|s| s.first_seq() <= 402 && 402 < s.first_seq() + s.record_count)
        .unwrap();
    let seg = snap.segments()[seg_index].path.clone();
    let first = snap.segments()[seg_index].first_seq();
    drop(snap);
    let offsets = frame_offsets(&seg);
    // Flip the decision byte of the outcome at seq 402 (dismissed -> acted).
    flip_byte(&seg, offsets[(402 - first) as usize] + 8 + 1, 0x01);
    let report = verify(&Snapshot::open(&path).unwrap(), VerifyOptions::default());
    let failure = report.first_failure.unwrap();
    assert_eq!(failure.seq, Some(402));
    assert!(
        matches!(failure.kind, CorruptKind::CrcMismatch { .. }),
        "{failure}"
    );
}

#[test]
fn an_outcome_naming_the_wrong_signal_is_reported_even_with_hashes_recomputed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let signals = demo_signals(20, 5);
    let mut ledger = Ledger::create(&path, Default::default()).unwrap();
    ledger.append(&signals).unwrap();
    ledger
        .append_outcomes(&[outcome(&signals[4].signal_id, true, None)])
        .unwrap();
    drop(ledger);
    // Re-point the outcome (seq 20) at signal seq 5 and re-hash it as a forger would: CRC and
    // row hash are then right, the link is not.
    let seg = segments(&path).pop().unwrap();
    let at = *frame_offsets(&seg).last().unwrap() as usize;
    let mut bytes = std::fs::read(&seg).unwrap();
    let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let body = &mut bytes[at + 8..at + 8 + len];
    body[32..40].copy_from_slice(&5u64.to_le_bytes());
    let n = body.len();
    let prev: [u8; 32] = body[n - 64..n - 32].try_into().unwrap();
    let row =
        signal_ledger::engine::hash::row_hash(&signal_ledger::engine::Hash(prev), &body[..n - 64]);
    body[n - 32..].copy_from_slice(&row.0);
    let crc = crc32fast::hash(body);
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    let report = verify(&Snapshot::open(&path).unwrap(), VerifyOptions::default());
    let failure = report.first_failure.unwrap();
    assert_eq!((failure.seq, failure.offset), (Some(20), at as u64));
    assert!(
        failure.to_string().contains("which holds signal"),
        "{failure}"
    );
}

/// What the queries say about the outcomes, from one catalog.
fn observed(catalog: &Catalog, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for seq in [3u64, 10, 350, 4] {
        let page = catalog
            .query(&Query {
                filter: Filter::default(),
                order: Order::default(),
                limit: 1000,
                cursor: None,
            })
            .unwrap();
        let r = page.records.iter().find(|r| r.seq == seq).unwrap();
        out.push(format!(
            "{seq}:{:?}:{:?}",
            r.signal.acted_upon, r.signal.execution_id
        ));
    }
    let acted = Filter {
        acted_upon: Some(true),
        ..Filter::default()
    };
    let with_exec = Filter {
        has_execution_id: Some(true),
        ..Filter::default()
    };
    out.push(format!("acted:{}", catalog.count(&acted).unwrap()));
    out.push(format!("exec:{}", catalog.count(&with_exec).unwrap()));
    let rows = catalog.aggregate(&acted, Some(GroupBy::Source)).unwrap();
    out.push(format!("agg:{}", rows.iter().map(|r| r.count).sum::<u64>()));
    let found = catalog.find_signal(&ids[3]).unwrap().unwrap();
    out.push(format!("find:{:?}", found.signal.acted_upon));
    let history = catalog.outcome_history(3).unwrap();
    out.push(format!(
        "history:{:?}",
        history
            .iter()
            .map(|o| (o.seq, o.outcome.decision))
            .collect::<Vec<_>>()
    ));
    let mut csv = Vec::new();
    catalog
        .export(&acted, ExportFormat::Ndjson, &mut csv, &|_| {})
        .unwrap();
    out.push(format!("export:{}", String::from_utf8(csv).unwrap()));
    out
}

#[test]
fn queries_show_the_latest_outcome_from_sidecars_and_from_built_indexes() {
    let (_tmp, path, ids) = ledger_with_outcomes();
    let own_acted = demo_signals(500, 11)
        .iter()
        .filter(|s| s.acted_upon == Some(true))
        .map(|s| s.signal_id.clone())
        .collect::<std::collections::BTreeSet<_>>();
    // Built indexes (no sidecars yet; this catalog writes them).
    let built = observed(&Catalog::open(&path).unwrap(), &ids);
    let sidecars = std::fs::read_dir(&path)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "idx")
        })
        .count();
    assert!(sidecars > 10, "sidecars were written");
    // Indexes and outcome rows from the sidecars.
    let from_sidecars = observed(&Catalog::open(&path).unwrap(), &ids);
    assert_eq!(built, from_sidecars);

    // The latest outcome wins: 3 was acted then dismissed (its execution gone with it), 10 is
    // acted with ex-10, 350 dismissed; 4 keeps its own columns.
    let signals = demo_signals(500, 11);
    let own = |i: usize| (signals[i].acted_upon, signals[i].execution_id.clone());
    assert_eq!(built[0], "3:Some(false):None");
    assert_eq!(built[1], "10:Some(true):Some(\"ex-10\")");
    assert_eq!(built[2], "350:Some(false):None");
    assert_eq!(built[3], format!("4:{:?}:{:?}", own(4).0, own(4).1));
    // Counts by the index agree with the records: the producer's own acted signals, less 3 and
    // 350 if they were among them, plus 10.
    let mut expected: std::collections::BTreeSet<String> = own_acted;
    expected.remove(&ids[3]);
    expected.remove(&ids[350]);
    expected.insert(ids[10].clone());
    assert_eq!(built[4], format!("acted:{}", expected.len()));
    assert_eq!(built[6], format!("agg:{}", expected.len()));
    assert_eq!(built[7], "find:Some(false)");
    assert_eq!(
        built[8],
        format!(
            "history:{:?}",
            [(400u64, Decision::Acted), (402, Decision::Dismissed)]
        )
    );
    let exported: Vec<String> = built[9]
        .trim_start_matches("export:")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["acted_upon"], true, "{l}");
            v["signal_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        exported
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    // Every signal with an execution_id now: its own unless an outcome replaced it.
    let mut with_exec: std::collections::BTreeSet<String> = signals
        .iter()
        .filter(|s| s.execution_id.is_some())
        .map(|s| s.signal_id.clone())
        .collect();
    with_exec.remove(&ids[3]);
    with_exec.remove(&ids[350]);
    with_exec.insert(ids[10].clone());
    assert_eq!(built[5], format!("exec:{}", with_exec.len()));
}

#[test]
fn a_later_outcome_does_not_move_rows_across_pages_of_a_query() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let signals: Vec<_> = demo_signals(60, 8)
        .into_iter()
        .map(|mut s| {
            s.acted_upon = None;
            s
        })
        .collect();
    let mut ledger = Ledger::create(&path, Default::default()).unwrap();
    ledger.append(&signals).unwrap();
    let not_acted = Query {
        filter: Filter {
            acted_upon: Some(false),
            ..Filter::default()
        },
        order: Order {
            by: signal_ledger::query::OrderBy::Seq,
            descending: false,
        },
        limit: 3,
        cursor: None,
    };
    let first = Catalog::open(&path).unwrap().query(&not_acted).unwrap();
    assert_eq!(
        first.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // Signal 3, the next row, is acted upon after the first page was served.
    ledger
        .append_outcomes(&[outcome(&signals[3].signal_id, true, None)])
        .unwrap();
    let next = Query {
        cursor: first.next_cursor,
        ..not_acted.clone()
    };
    let second = Catalog::open(&path).unwrap().query(&next).unwrap();
    assert_eq!(
        second.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [3, 4, 5],
        "the page shows the ledger as the first page saw it"
    );
    assert_eq!(second.records[0].signal.acted_upon, None);
    // A new query sees the outcome.
    let fresh = Catalog::open(&path).unwrap().query(&not_acted).unwrap();
    assert_eq!(
        fresh.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let page = Catalog::open(&path)
        .unwrap()
        .query(&Query {
            cursor: fresh.next_cursor,
            ..not_acted
        })
        .unwrap();
    assert_eq!(
        page.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [4, 5, 6]
    );
}
