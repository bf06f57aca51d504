//! A signal_id is recorded once. Appending a signal the ledger holds already (same signal_id,
//! same columns, floats compared by their bits) appends nothing and answers with the original
//! entry; a different signal with a taken id refuses the whole batch and writes nothing. Both
//! hold within one batch, after the writer is reopened (the ids then come from the segments, or
//! from their sidecars when those are sound), and after a failed append was rolled back.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use signal_ledger::engine::index::sidecar_path;
use signal_ledger::engine::{
    verify, Duplicate, Durable, Ledger, LedgerError, PersistenceConfig, Signal, SignalRecord,
    Snapshot, VerifyOptions,
};
use signal_ledger::query::Catalog;
use support::faults::faulty_ledger;
use support::*;

/// A new ledger at `<tmp>/ledger`.
fn new_ledger(config: PersistenceConfig) -> (tempfile::TempDir, PathBuf, Ledger) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ledger");
    let ledger = Ledger::create(&path, config).unwrap();
    (tmp, path, ledger)
}

/// Every record of the ledger at `dir`, in seq order, after checking that it verifies.
fn records(dir: &Path) -> Vec<SignalRecord> {
    let snap = Snapshot::open(dir).unwrap();
    assert!(snap.damage().is_none() && snap.torn_tail().is_none());
    let report = verify(&snap, VerifyOptions::default());
    assert!(report.is_intact(), "{:?}", report.first_failure);
    snap.entries()
        .map(|e| snap.decode_record(&e.unwrap()).unwrap())
        .collect()
}

/// What a receipt says of a stored record it did not append.
fn already(record: &SignalRecord) -> Durable {
    Durable {
        seq: record.seq,
        row_hash: record.row_hash,
        signal_id: record.signal.signal_id.clone(),
        recorded_at_ns: record.recorded_at_ns,
        already_recorded: true,
    }
}

/// Checks each durable entry against the stored record at its seq and the signal it stands for.
fn assert_durable_as_stored(durable: &[Durable], batch: &[Signal], stored: &[SignalRecord]) {
    assert_eq!(durable.len(), batch.len());
    for (i, (d, s)) in durable.iter().zip(batch).enumerate() {
        let r = &stored[d.seq as usize];
        assert_eq!(r.seq, d.seq, "signal {i}");
        assert_eq!(r.row_hash, d.row_hash, "signal {i}");
        assert_eq!(r.recorded_at_ns, d.recorded_at_ns, "signal {i}");
        assert_eq!(r.signal.signal_id, d.signal_id, "signal {i}");
        assert_eq!(&r.signal, s, "signal {i}");
    }
}

#[test]
fn an_identical_signal_appended_again_appends_nothing_and_names_the_original() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let signals = demo_signals(10, 1);
    let first = ledger.append(&signals).unwrap();
    assert!(first.duplicates.is_empty());
    let head = ledger.head();
    std::thread::sleep(std::time::Duration::from_millis(2));

    let again = ledger.append(&signals[3..4]).unwrap();
    assert_eq!(again.count, 0);
    assert_eq!(again.first_seq, 10);
    assert_eq!(again.last_seq, None);
    assert_eq!(again.head_hash, first.head_hash);
    assert!(again.row_hashes.is_empty() && again.signal_ids.is_empty());
    let original = Durable {
        seq: 3,
        row_hash: first.row_hashes[3],
        signal_id: signals[3].signal_id.clone(),
        recorded_at_ns: first.recorded_at_ns,
        already_recorded: true,
    };
    assert_eq!(
        again.duplicates,
        vec![Duplicate {
            index: 0,
            entry: original.clone()
        }]
    );
    assert_eq!(again.into_durable(), vec![original]);
    assert_eq!(ledger.next_seq(), 10);
    assert_eq!(ledger.head(), head);

    // The whole batch again: every signal is a duplicate of its original, in order.
    let all = ledger.append(&signals).unwrap();
    assert_eq!(all.count, 0);
    let durable = all.into_durable();
    assert_eq!(
        durable.iter().map(|d| d.seq).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert!(durable.iter().all(|d| d.already_recorded));
    assert!(durable
        .iter()
        .all(|d| d.recorded_at_ns == first.recorded_at_ns));
    assert_eq!(ledger.next_seq(), 10);
    drop(ledger);

    let stored = records(&path);
    assert_eq!(stored.len(), 10);
    assert_durable_as_stored(&durable, &signals, &stored);
}

#[test]
fn a_mixed_batch_appends_only_its_new_signals() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let signals = demo_signals(9, 2);
    ledger.append(&signals[..6]).unwrap();

    // new, recorded, new, recorded, new
    let batch = vec![
        signals[6].clone(),
        signals[2].clone(),
        signals[7].clone(),
        signals[0].clone(),
        signals[8].clone(),
    ];
    let receipt = ledger.append(&batch).unwrap();
    assert_eq!(receipt.count, 3);
    assert_eq!((receipt.first_seq, receipt.last_seq), (6, Some(8)));
    assert_eq!(
        receipt.signal_ids,
        vec![
            signals[6].signal_id.clone(),
            signals[7].signal_id.clone(),
            signals[8].signal_id.clone()
        ]
    );
    assert_eq!(
        receipt
            .duplicates
            .iter()
            .map(|d| (d.index, d.entry.seq))
            .collect::<Vec<_>>(),
        vec![(1, 2), (3, 0)]
    );
    let durable = receipt.clone().into_durable();
    assert_eq!(
        durable.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![6, 2, 7, 0, 8]
    );
    assert_eq!(
        durable
            .iter()
            .map(|d| d.already_recorded)
            .collect::<Vec<_>>(),
        vec![false, true, false, true, false]
    );
    for (d, s) in durable.iter().zip(&batch) {
        assert_eq!(d.signal_id, s.signal_id);
    }
    assert_eq!(ledger.next_seq(), 9);
    assert_eq!(ledger.head().unwrap().row_hash, receipt.head_hash);
    drop(ledger);

    let stored = records(&path);
    assert_eq!(stored.len(), 9);
    assert_durable_as_stored(&durable, &batch, &stored);
    for d in durable.iter().filter(|d| !d.already_recorded) {
        assert_eq!(
            stored[d.seq as usize].recorded_at_ns,
            receipt.recorded_at_ns
        );
    }
}

#[test]
fn a_different_signal_with_a_taken_id_refuses_the_whole_batch() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let signals = demo_signals(8, 3);
    ledger.append(&signals[..5]).unwrap();
    let head = ledger.head();
    let image = dir_image(&path);

    let next_ulp = Signal {
        conviction: f64::from_bits(signals[1].conviction.to_bits() + 1),
        ..signals[1].clone()
    };
    let other_payload = Signal {
        payload_json: r#"{"note":"another signal"}"#.to_owned(),
        ..signals[4].clone()
    };
    let cases = [(2, changed(&signals[2])), (1, next_ulp), (4, other_payload)];
    for (seq, conflicting) in cases {
        let batch = vec![signals[5].clone(), conflicting, signals[6].clone()];
        let err = ledger.append(&batch).unwrap_err();
        match &err {
            LedgerError::SignalIdTaken {
                index,
                signal_id,
                seq: at,
            } => {
                assert_eq!(*index, 1, "{err}");
                assert_eq!(signal_id, &signals[seq as usize].signal_id);
                assert_eq!(*at, seq, "{err}");
            }
            other => panic!("expected SignalIdTaken, got {other}"),
        }
        let text = err.to_string();
        assert!(text.contains(&signals[seq as usize].signal_id), "{text}");
        assert!(text.contains(&format!("seq {seq}")), "{text}");
        assert_eq!(ledger.next_seq(), 5);
        assert_eq!(ledger.head(), head);
        assert_eq!(dir_image(&path), image, "the refused batch wrote bytes");
    }

    // Without the conflicting signal the batch goes in, from the next seq.
    let receipt = ledger.append(&signals[5..7]).unwrap();
    assert_eq!((receipt.count, receipt.first_seq), (2, 5));
    drop(ledger);
    let stored = records(&path);
    assert_eq!(stored.len(), 7);
    for (r, s) in stored.iter().zip(&signals) {
        assert_eq!(&r.signal, s);
    }
}

#[test]
fn a_signal_repeated_within_one_batch_is_appended_once() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let signals = demo_signals(8, 4);
    ledger.append(&signals[..2]).unwrap();

    // An identical repeat: one entry, and both places in the batch name it.
    let batch = vec![
        signals[2].clone(),
        signals[3].clone(),
        signals[2].clone(),
        signals[4].clone(),
    ];
    let receipt = ledger.append(&batch).unwrap();
    assert_eq!(receipt.count, 3);
    assert_eq!(receipt.first_seq, 2);
    assert_eq!(receipt.duplicates.len(), 1);
    assert_eq!(receipt.duplicates[0].index, 2);
    let durable = receipt.clone().into_durable();
    assert_eq!(
        durable.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![2, 3, 2, 4]
    );
    assert_eq!(
        durable
            .iter()
            .map(|d| d.already_recorded)
            .collect::<Vec<_>>(),
        vec![false, false, true, false]
    );
    assert_eq!(durable[0].row_hash, durable[2].row_hash);
    assert_eq!(durable[0].signal_id, durable[2].signal_id);
    assert_eq!(durable[0].recorded_at_ns, durable[2].recorded_at_ns);
    assert_eq!(ledger.next_seq(), 5);

    // A different signal under an id earlier in the batch: refused, nothing written.
    let head = ledger.head();
    let image = dir_image(&path);
    let batch = vec![
        signals[5].clone(),
        signals[6].clone(),
        changed(&signals[5]),
        signals[7].clone(),
    ];
    let err = ledger.append(&batch).unwrap_err();
    match &err {
        LedgerError::SignalIdRepeated {
            index,
            signal_id,
            earlier,
        } => {
            assert_eq!((*index, *earlier), (2, 0), "{err}");
            assert_eq!(signal_id, &signals[5].signal_id);
        }
        other => panic!("expected SignalIdRepeated, got {other}"),
    }
    assert_eq!(ledger.next_seq(), 5);
    assert_eq!(ledger.head(), head);
    assert_eq!(dir_image(&path), image, "the refused batch wrote bytes");
    drop(ledger);

    let stored = records(&path);
    assert_eq!(stored.len(), 5);
    assert_durable_as_stored(
        &durable,
        &[
            signals[2].clone(),
            signals[3].clone(),
            signals[2].clone(),
            signals[4].clone(),
        ],
        &stored,
    );
}

#[test]
fn a_recorded_signal_repeated_within_one_batch_names_the_original_every_time() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let signals = demo_signals(6, 5);
    ledger.append(&signals[..4]).unwrap();
    let stored = records(&path);

    // Recorded before, and twice in the batch: both places are the original entry.
    let receipt = ledger
        .append(&[signals[1].clone(), signals[1].clone()])
        .unwrap();
    assert_eq!(receipt.count, 0);
    assert_eq!(
        receipt.into_durable(),
        vec![already(&stored[1]), already(&stored[1])]
    );

    // The same among new signals.
    let batch = vec![
        signals[4].clone(),
        signals[2].clone(),
        signals[5].clone(),
        signals[2].clone(),
    ];
    let receipt = ledger.append(&batch).unwrap();
    assert_eq!((receipt.count, receipt.first_seq), (2, 4));
    let durable = receipt.into_durable();
    assert_eq!(
        durable.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![4, 2, 5, 2]
    );
    assert_eq!(durable[1], already(&stored[2]));
    assert_eq!(durable[3], already(&stored[2]));
    drop(ledger);
    assert_durable_as_stored(&durable, &batch, &records(&path));
}

#[test]
fn signals_without_an_id_are_never_taken_for_duplicates() {
    let (_tmp, path, mut ledger) = new_ledger(PersistenceConfig::default());
    let anonymous = Signal {
        signal_id: String::new(),
        ..demo_signals(1, 6)[0].clone()
    };
    let r1 = ledger
        .append(&[anonymous.clone(), anonymous.clone()])
        .unwrap();
    let r2 = ledger.append(&[anonymous]).unwrap();
    assert_eq!((r1.count, r2.count), (2, 1));
    assert!(r1.duplicates.is_empty() && r2.duplicates.is_empty());
    drop(ledger);
    let ids: Vec<String> = records(&path)
        .into_iter()
        .map(|r| r.signal.signal_id)
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| !id.is_empty()));
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
}

/// How the sealed segments' sidecars are when the writer is reopened.
#[derive(Debug, Clone, Copy)]
enum Sidecars {
    None,
    Written,
    Damaged,
}

/// (offset, length) of the section of kind `kind` in sidecar bytes (FORMAT.md, "Index
/// sidecars": a 72-byte header, whose u16 at 10 counts the sections, then a table of 24-byte
/// entries: kind u16, reserved u16, CRC u32, offset u64, length u64).
fn sidecar_section(bytes: &[u8], kind: u16) -> (u64, u64) {
    let sections = u16::from_le_bytes(bytes[10..12].try_into().unwrap()) as usize;
    for i in 0..sections {
        let entry = &bytes[72 + 24 * i..72 + 24 * (i + 1)];
        if u16::from_le_bytes(entry[0..2].try_into().unwrap()) == kind {
            let at = u64::from_le_bytes(entry[8..16].try_into().unwrap());
            let len = u64::from_le_bytes(entry[16..24].try_into().unwrap());
            return (at, len);
        }
    }
    panic!("no section of kind {kind}");
}

/// A ledger of 120 demo signals in 4 KiB segments (several sealed), its sidecars as `sidecars`
/// says: the signals and what was stored.
fn ledger_of_sealed_segments(
    sidecars: Sidecars,
) -> (tempfile::TempDir, PathBuf, Vec<Signal>, Vec<SignalRecord>) {
    let (tmp, path, mut ledger) = new_ledger(small_segments(4096));
    let signals = demo_signals(120, 8);
    for chunk in signals.chunks(10) {
        ledger.append(chunk).unwrap();
    }
    let sealed: Vec<PathBuf> = ledger
        .sealed_segments()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    drop(ledger);
    assert!(sealed.len() >= 4, "{} sealed segments", sealed.len());
    let stored = records(&path);
    assert!(
        stored.last().unwrap().seq
            >= Snapshot::open(&path)
                .unwrap()
                .segments()
                .last()
                .unwrap()
                .first_seq(),
        "the active segment holds entries"
    );
    match sidecars {
        Sidecars::None => {}
        Sidecars::Written | Sidecars::Damaged => {
            // A reader's catalog writes the sidecars of the sealed segments it loads.
            Catalog::open(&path).unwrap().indexes().unwrap();
        }
    }
    for (i, segment) in sealed.iter().enumerate() {
        let sidecar = sidecar_path(segment);
        match sidecars {
            Sidecars::None => assert!(!sidecar.exists()),
            Sidecars::Written => assert!(sidecar.exists()),
            Sidecars::Damaged => {
                // One bit of the header, the offsets or the ids, in turn: each has a CRC.
                let bytes = std::fs::read(&sidecar).unwrap();
                let at = match i % 3 {
                    0 => 20, // first_seq, in the header
                    1 => {
                        let (at, len) = sidecar_section(&bytes, 1); // offsets
                        at + len / 2
                    }
                    _ => {
                        let (at, len) = sidecar_section(&bytes, 9); // ids
                        at + len / 2
                    }
                };
                flip_byte(&sidecar, at, 0x10);
            }
        }
    }
    (tmp, path, signals, stored)
}

#[test]
fn a_reopened_writer_finds_every_recorded_id_in_sealed_and_active_segments() {
    for sidecars in [Sidecars::None, Sidecars::Written, Sidecars::Damaged] {
        let (_tmp, path, signals, stored) = ledger_of_sealed_segments(sidecars);
        let head = stored.last().map(|r| (r.seq, r.row_hash));

        // Every signal again, in one batch: all recorded already, each at its own seq.
        let mut ledger = Ledger::open(&path).unwrap();
        let receipt = ledger.append(&signals).unwrap();
        assert_eq!(receipt.count, 0, "{sidecars:?}");
        let expected: Vec<Durable> = stored.iter().map(already).collect();
        assert_eq!(receipt.into_durable(), expected, "{sidecars:?}");
        drop(ledger);

        // Each signal changed, from a freshly opened writer and from the same one.
        let mut ledger = Ledger::open(&path).unwrap();
        for (i, s) in signals.iter().enumerate() {
            let err = ledger.append(&[changed(s)]).unwrap_err();
            assert!(
                matches!(
                    &err,
                    LedgerError::SignalIdTaken { index: 0, seq, signal_id }
                        if *seq == i as u64 && signal_id == &s.signal_id
                ),
                "{sidecars:?}, signal {i}: {err}"
            );
        }
        assert_eq!(ledger.next_seq(), 120);

        // A new signal, then the same again (the table learns what is appended), and again
        // after reopening.
        let new = demo_signals(121, 8)[120].clone();
        assert_eq!(ledger.append(std::slice::from_ref(&new)).unwrap().count, 1);
        let again = ledger.append(std::slice::from_ref(&new)).unwrap();
        assert_eq!(again.count, 0, "{sidecars:?}");
        assert_eq!(again.duplicates[0].entry.seq, 120);
        drop(ledger);
        let mut ledger = Ledger::open(&path).unwrap();
        let err = ledger.append(&[changed(&new)]).unwrap_err();
        assert!(
            matches!(err, LedgerError::SignalIdTaken { seq: 120, .. }),
            "{sidecars:?}: {err}"
        );
        assert_eq!(ledger.append(&[new]).unwrap().count, 0);
        drop(ledger);

        let now = records(&path);
        assert_eq!(now.len(), 121, "{sidecars:?}");
        assert_eq!(
            now[..120].iter().map(|r| (r.seq, r.row_hash)).next_back(),
            head,
            "{sidecars:?}"
        );
    }
}

/// Budget for the disk of a faulty ledger: what the first write of a large batch needs (one
/// chunk of about 256 KiB), not what the second one does.
const ONE_CHUNK: i64 = 300_000;

/// `x` then enough demo signals that the batch is written in more than one chunk.
fn batch_led_by(x: &Signal) -> Vec<Signal> {
    let mut batch = vec![x.clone()];
    batch.extend(demo_signals(2_000, 92));
    batch
}

/// A faulty ledger of 100 signals whose writer has loaded its id table (an append carrying an
/// id), then a batch led by `x` that fails after `x` was written (the disk fills): rolled back.
fn a_rolled_back_append_of(
    x: &Signal,
) -> (
    tempfile::TempDir,
    PathBuf,
    Ledger,
    std::sync::Arc<support::faults::Faults>,
) {
    let (tmp, path, mut ledger, faults) = faulty_ledger(1 << 30);
    assert_eq!(ledger.append(&demo_signals(1, 90)).unwrap().first_seq, 100);
    let image = dir_image(&path);
    let head = ledger.head();
    faults.budget.store(ONE_CHUNK, Ordering::SeqCst);
    let err = ledger.append(&batch_led_by(x)).unwrap_err();
    assert!(matches!(err, LedgerError::Io { .. }), "{err}");
    assert!(
        faults.budget.load(Ordering::SeqCst) < 0,
        "the disk filled up"
    );
    assert!(ledger.poisoned().is_none());
    assert_eq!(dir_image(&path), image, "the failed append left bytes");
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.next_seq(), 101);
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    (tmp, path, ledger, faults)
}

#[test]
fn an_id_of_a_rolled_back_append_is_free_again() {
    let x = Signal {
        signal_id: "x-of-a-failed-append".to_owned(),
        ..demo_signals(1, 91)[0].clone()
    };

    // The same signal again: appended as new.
    let (_tmp, path, mut ledger, _faults) = a_rolled_back_append_of(&x);
    let receipt = ledger.append(std::slice::from_ref(&x)).unwrap();
    assert_eq!((receipt.count, receipt.first_seq), (1, 101));
    assert!(receipt.duplicates.is_empty());
    // From now on it is recorded.
    let again = ledger.append(std::slice::from_ref(&x)).unwrap();
    assert_eq!(again.count, 0);
    assert_eq!(again.duplicates[0].entry.seq, 101);
    drop(ledger);
    let stored = records(&path);
    assert_eq!(stored.len(), 102);
    assert_eq!(stored[101].signal, x);

    // A different signal with that id: appended too, and its columns are the ones recorded.
    let (_tmp, path, mut ledger, _faults) = a_rolled_back_append_of(&x);
    let other = changed(&x);
    let receipt = ledger.append(std::slice::from_ref(&other)).unwrap();
    assert_eq!((receipt.count, receipt.first_seq), (1, 101));
    let err = ledger.append(std::slice::from_ref(&x)).unwrap_err();
    assert!(
        matches!(err, LedgerError::SignalIdTaken { seq: 101, .. }),
        "{err}"
    );
    drop(ledger);
    let stored = records(&path);
    assert_eq!(stored.len(), 102);
    assert_eq!(stored[101].signal, other);

    // The whole batch after the rollback: appended in full, `x` among it.
    let (_tmp, path, mut ledger, _faults) = a_rolled_back_append_of(&x);
    let batch = batch_led_by(&x);
    let receipt = ledger.append(&batch).unwrap();
    assert_eq!(receipt.count, batch.len() as u64);
    assert!(receipt.duplicates.is_empty());
    drop(ledger);
    assert_eq!(records(&path).len(), 101 + batch.len());
}

#[test]
fn an_id_of_a_rolled_back_append_that_rolled_segments_is_free_again() {
    // Small segments: the failed append (too large for the active segment, which is sealed
    // first) starts new ones, removed again by the rollback, before the disk fills, `x` in one
    // of them.
    let (_tmp, path, mut ledger, faults) = faulty_ledger(4096);
    ledger.append(&demo_signals(1, 93)).unwrap();
    let image = dir_image(&path);
    let x = Signal {
        signal_id: "x-in-a-removed-segment".to_owned(),
        ..demo_signals(1, 94)[0].clone()
    };
    let mut batch = demo_signals(20, 95);
    batch.push(x.clone());
    batch.extend(demo_signals(200, 96));
    faults.budget.store(16_000, Ordering::SeqCst);
    ledger.append(&batch).unwrap_err();
    assert!(ledger.poisoned().is_none());
    assert_same_entries(&image, &dir_image(&path), "the failed append");
    faults.budget.store(i64::MAX, Ordering::SeqCst);

    // The signals before `x` again, so that the next frame starts where `x`'s did, and
    // another signal there: `x`'s stale location now holds a whole frame of another id.
    ledger.append(&batch[..20]).unwrap();
    let y = demo_signals(1, 97)[0].clone();
    assert_eq!(
        ledger.append(std::slice::from_ref(&y)).unwrap().first_seq,
        121
    );
    // `x` changed: new.
    let other = changed(&x);
    let receipt = ledger.append(std::slice::from_ref(&other)).unwrap();
    assert_eq!((receipt.count, receipt.first_seq), (1, 122));
    assert!(receipt.duplicates.is_empty());
    assert_eq!(
        ledger
            .append(std::slice::from_ref(&other))
            .unwrap()
            .duplicates[0]
            .entry
            .seq,
        122
    );
    let err = ledger.append(std::slice::from_ref(&x)).unwrap_err();
    assert!(
        matches!(err, LedgerError::SignalIdTaken { seq: 122, .. }),
        "{err}"
    );
    drop(ledger);
    let stored = records(&path);
    assert_eq!(stored.len(), 123);
    assert_eq!(stored[121].signal, y);
    assert_eq!(stored[122].signal, other);
}

/// Damage in an old sealed segment (with no sidecar to read its ids from) does not stop
/// appends that carry ids: the writer checks the ids before the damage, says where it could
/// not look, and `verify` still reports the damage.
#[test]
fn damage_in_a_sealed_segment_leaves_appends_with_ids_working() {
    let (_tmp, path, mut ledger) = new_ledger(small_segments(64 * 1024));
    let signals = demo_signals(1_000, 29);
    ledger.append(&signals).unwrap();
    drop(ledger);
    let first = segments(&path)[0].clone();
    let offsets = frame_offsets(&first);
    // A bit of the middle frame's body.
    let middle = offsets[offsets.len() / 2];
    flip_byte(&first, middle + 40, 0x10);

    let mut ledger = Ledger::open(&path).unwrap();
    // A resend of a signal stored before the damage is still recognised...
    let early = ledger.append(&signals[..1]).unwrap();
    assert_eq!((early.count, early.duplicates.len()), (0, 1));
    assert_eq!(early.duplicates[0].entry.seq, 0);
    let gaps = ledger.unchecked_ids();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].contains("00000000000000000000.seg"), "{gaps:?}");
    // ...and new signals are appended.
    let new = demo_signals(3, 31);
    assert_eq!(ledger.append(&new).unwrap().count, 3);
    drop(ledger);
    let snapshot = signal_ledger::engine::Snapshot::open(&path).unwrap();
    let report = signal_ledger::engine::verify(&snapshot, Default::default());
    assert!(!report.is_intact(), "verify reports the damage");
}
