//! Integrity checks are recorded in the check log, a hash chain of its own: full, incremental
//! (joined to the last passed check by the row hash it recorded) and range checks; a failed
//! check is recorded as failed; a tampered record is detected; and the scheduler runs while a
//! writer appends at full speed, without blocking it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use signal_ledger::engine::checklog::{
    read_check_log, run_check, CheckMode, CheckRequest, CheckSchedule, CheckScheduler,
    CHECK_LOG_FILE,
};
use signal_ledger::engine::{Ledger, PersistenceConfig};
use support::*;

#[test]
fn full_incremental_and_range_checks_are_recorded_and_chained() {
    let (_tmp, path, _) = build_ledger(300, 100, small_segments(16 * 1024));
    let full = run_check(&path, CheckRequest::Full).unwrap();
    assert_eq!(
        (full.check_id, full.mode, full.chain_valid),
        (0, CheckMode::Full, true)
    );
    assert_eq!((full.range_start, full.range_end), (0, 299));
    assert_eq!((full.expected_count, full.actual_count), (300, 300));
    assert_eq!(full.errors_json, "[]");
    // Nothing new: an incremental check of nothing, that still confirms the last entry seen.
    let none = run_check(&path, CheckRequest::Incremental).unwrap();
    assert_eq!(
        (none.mode, none.chain_valid, none.expected_count),
        (CheckMode::Incremental, true, 0)
    );
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.append(&demo_signals(50, 99)).unwrap();
    drop(ledger);
    let inc = run_check(&path, CheckRequest::Incremental).unwrap();
    assert_eq!(
        (inc.range_start, inc.range_end, inc.expected_count),
        (300, 349, 50)
    );
    assert!(inc.chain_valid);
    let range = run_check(
        &path,
        CheckRequest::Range {
            from: Some(10),
            to: Some(19),
        },
    )
    .unwrap();
    assert_eq!(
        (range.mode, range.expected_count, range.check_id),
        (CheckMode::Range, 10, 3)
    );
    // The range check proves 10..=19 only: the next incremental continues after 349.
    let mut ledger = Ledger::open(&path).unwrap();
    ledger.append(&demo_signals(5, 98)).unwrap();
    drop(ledger);
    let after_range = run_check(&path, CheckRequest::Incremental).unwrap();
    assert_eq!((after_range.range_start, after_range.range_end), (350, 354));
    let log = read_check_log(&path).unwrap();
    assert!(log.damage.is_none());
    assert_eq!(log.checks().count(), 5);
}

#[test]
fn damage_makes_a_failed_check_and_an_edited_boundary_fails_the_next_incremental() {
    let (_tmp, path, _) = build_ledger(300, 100, small_segments(16 * 1024));
    let full = run_check(&path, CheckRequest::Full).unwrap();
    let first = segments(&path)[0].clone();
    // Damage in a sealed segment: a full check fails and says where.
    flip_byte(&first, frame_offsets(&first)[7] + 40, 0x02);
    let failed = run_check(&path, CheckRequest::Full).unwrap();
    assert!(!failed.chain_valid);
    assert!(
        failed.errors_json.contains("seq 7"),
        "{}",
        failed.errors_json
    );
    flip_byte(&first, frame_offsets(&first)[7] + 40, 0x02);
    // The entry the last passed check ended at, rewritten with a consistent CRC: the chain
    // from there on is still valid, but it is not what the check saw.
    let last = segments(&path).pop().unwrap();
    let at = *frame_offsets(&last).last().unwrap() as usize;
    let mut bytes = std::fs::read(&last).unwrap();
    let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let n = at + 8 + len;
    bytes[n - 1] ^= 0x01; // the stored row hash
    let crc = crc32fast::hash(&bytes[at + 8..n]);
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&last, &bytes).unwrap();
    let inc = run_check(&path, CheckRequest::Incremental).unwrap();
    assert!(!inc.chain_valid);
    assert!(
        inc.errors_json
            .contains(&format!("check {} recorded", full.check_id)),
        "{}",
        inc.errors_json
    );
}

#[test]
fn a_tampered_check_record_is_detected() {
    let (_tmp, path, _) = build_ledger(100, 100, PersistenceConfig::default());
    for _ in 0..3 {
        run_check(&path, CheckRequest::Full).unwrap();
    }
    let log_path = path.join(CHECK_LOG_FILE);
    let bytes = std::fs::read(&log_path).unwrap();
    // Flip check 1's actual_count (body byte 48), recomputing nothing: the CRC catches it.
    let frame_len = (bytes.len() - 80) / 3;
    let second = 80 + frame_len;
    flip_byte(&log_path, (second + 8 + 48) as u64, 0x01);
    let log = read_check_log(&path).unwrap();
    let damage = log.damage.unwrap();
    assert_eq!((damage.seq, damage.offset), (Some(1), second as u64));
    assert_eq!(
        log.entries.len(),
        1,
        "only what precedes the damage is read"
    );
    // Appending to a damaged log is refused, loudly.
    assert!(run_check(&path, CheckRequest::Full).is_err());
    // Re-hashing the edited record (CRC and row hash) breaks the link to the next one.
    flip_byte(&log_path, (second + 8 + 48) as u64, 0x01);
    let mut bytes = std::fs::read(&log_path).unwrap();
    let body = &mut bytes[second + 8..second + frame_len];
    body[48] ^= 0x01;
    let n = body.len();
    let prev: [u8; 32] = body[n - 64..n - 32].try_into().unwrap();
    let row =
        signal_ledger::engine::hash::row_hash(&signal_ledger::engine::Hash(prev), &body[..n - 64]);
    body[n - 32..].copy_from_slice(&row.0);
    let crc = crc32fast::hash(body);
    bytes[second + 4..second + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&log_path, &bytes).unwrap();
    let damage = read_check_log(&path).unwrap().damage.unwrap();
    assert_eq!(damage.seq, Some(2), "{damage}");
}

#[test]
fn the_scheduler_runs_while_a_writer_appends_at_full_speed() {
    let (_tmp, path, _) = build_ledger(1000, 1000, small_segments(256 * 1024));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let scheduler = {
        let seen = Arc::clone(&seen);
        CheckScheduler::start(
            path.clone(),
            CheckSchedule {
                interval: Duration::from_millis(40),
                full_every: 3,
            },
            move |outcome| {
                seen.lock()
                    .unwrap()
                    .push(outcome.cloned().map_err(|e| e.to_string()))
            },
        )
        .unwrap()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let writer = {
        let (path, stop, appended) = (path.clone(), Arc::clone(&stop), Arc::clone(&appended));
        std::thread::spawn(move || {
            let mut ledger = Ledger::open(&path).unwrap();
            let batch = demo_signals(1000, 5)
                .into_iter()
                .map(|mut s| {
                    s.signal_id.clear(); // a fresh id each time
                    s
                })
                .collect::<Vec<_>>();
            while !stop.load(Ordering::Relaxed) {
                ledger.append(&batch).unwrap();
                appended.fetch_add(1000, Ordering::Relaxed);
            }
        })
    };
    // Run until at least six checks were recorded (or give up after 30 s).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let appended_while_checking = appended.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    scheduler.stop();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 6, "{} checks", seen.len());
    assert!(appended_while_checking > 0);
    let checks: Vec<_> = seen.into_iter().map(Result::unwrap).collect();
    assert!(checks.iter().all(|c| c.chain_valid), "{checks:#?}");
    assert!(checks.iter().any(|c| c.mode == CheckMode::Full));
    assert!(checks.iter().any(|c| c.mode == CheckMode::Incremental));
    // Incremental checks pick up where the last passed one ended.
    for pair in checks.windows(2) {
        if pair[1].mode == CheckMode::Incremental && pair[0].expected_count > 0 {
            assert_eq!(pair[1].range_start, pair[0].range_end + 1, "{pair:#?}");
        }
    }
    // The log holds exactly these, chained.
    let log = read_check_log(&path).unwrap();
    assert!(log.damage.is_none());
    assert_eq!(log.checks().count(), checks.len());
}
