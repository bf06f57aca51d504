//! An append that fails part-way (disk full while writing, a failed sync, a failure while rolling
//! to a new segment) leaves nothing behind: the files are exactly as before, the error names the
//! file, and the same writer appends again once the fault is gone.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use signal_ledger::engine::segment::file::{SegmentFile, SegmentFileFactory};
use signal_ledger::engine::{verify, Ledger, LedgerError, OpenOptions, Snapshot, VerifyOptions};
use support::*;

/// Writes succeed while the byte budget lasts; the write that exceeds it writes what fits and
/// fails with ENOSPC, like a full disk. Syncs fail while `fail_sync` is set.
#[derive(Default)]
struct Faults {
    budget: AtomicI64,
    fail_sync: AtomicBool,
}

struct FaultyFile {
    file: File,
    faults: Arc<Faults>,
}

impl SegmentFile for FaultyFile {
    fn write_all_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        let left = self
            .faults
            .budget
            .fetch_sub(bytes.len() as i64, Ordering::SeqCst);
        if left >= bytes.len() as i64 {
            return self.file.write_all_at(bytes, offset);
        }
        let fits = left.max(0) as usize;
        self.file.write_all_at(&bytes[..fits], offset)?;
        Err(io::Error::from_raw_os_error(28)) // ENOSPC
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.sync_data()
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

struct FaultyFiles(Arc<Faults>);

impl SegmentFileFactory for FaultyFiles {
    fn wrap(&self, file: File) -> Box<dyn SegmentFile> {
        Box::new(FaultyFile {
            file,
            faults: self.0.clone(),
        })
    }
}

fn faulty_ledger(
    segment_size: u64,
) -> (tempfile::TempDir, std::path::PathBuf, Ledger, Arc<Faults>) {
    let (tmp, path, _) = build_ledger(100, 100, small_segments(segment_size));
    let faults = Arc::new(Faults::default());
    faults.budget.store(i64::MAX, Ordering::SeqCst);
    let ledger = Ledger::open_with(
        &path,
        OpenOptions {
            file_factory: Some(Arc::new(FaultyFiles(faults.clone()))),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    (tmp, path, ledger, faults)
}

#[test]
fn disk_full_at_every_point_of_a_batch_that_rolls_segments_leaves_no_trace() {
    let batch = demo_signals(400, 11);
    // Budgets from "nothing fits" to "all but the last bytes fit", crossing segment rolls.
    for budget in [0i64, 1, 500, 20_000, 40_000, 70_000, 100_000, 130_000] {
        let (_tmp, path, mut ledger, faults) = faulty_ledger(32 * 1024);
        let before = dir_image(&path);
        let head = ledger.head();
        faults.budget.store(budget, Ordering::SeqCst);
        let err = ledger.append(&batch).unwrap_err();
        assert!(
            matches!(err, LedgerError::Io { .. }),
            "budget {budget}: {err}"
        );
        assert!(
            err.to_string().contains(".seg"),
            "the error names the file: {err}"
        );
        assert_eq!(dir_image(&path), before, "budget {budget}: files changed");
        assert_eq!(ledger.head(), head);
        // Space returns: the same writer appends, and the result verifies.
        faults.budget.store(i64::MAX, Ordering::SeqCst);
        let r = ledger.append(&batch).unwrap();
        assert_eq!(r.first_seq, 100);
        drop(ledger);
        let snap = Snapshot::open(&path).unwrap();
        assert_eq!(snap.record_count(), 500);
        assert!(verify(&snap, VerifyOptions::default()).is_intact());
    }
}

#[test]
fn a_failed_sync_is_not_acknowledged_and_leaves_no_trace() {
    let (_tmp, path, mut ledger, faults) = faulty_ledger(1 << 20);
    let before = dir_image(&path);
    faults.fail_sync.store(true, Ordering::SeqCst);
    let err = ledger.append(&demo_signals(10, 5)).unwrap_err();
    assert!(err.to_string().contains("fdatasync"), "{err}");
    // The rollback's own sync fails too, so the writer refuses until reopened…
    let again = ledger.append(&demo_signals(1, 6)).unwrap_err();
    assert!(matches!(again, LedgerError::Poisoned(_)), "{again}");
    faults.fail_sync.store(false, Ordering::SeqCst);
    drop(ledger);
    // …and reopening finds exactly the state before the failed append.
    let mut ledger = Ledger::open(&path).unwrap();
    assert_eq!(dir_image(&path), before);
    assert_eq!(ledger.next_seq(), 100);
    ledger.append(&demo_signals(10, 5)).unwrap();
}
