//! Fault injection through the writer's file seam (`OpenOptions::file_factory`): a disk that
//! fills up, syncs and truncations that fail, writes that are slow, syncs that stall until the
//! test lets them through.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use signal_ledger::engine::segment::file::{SegmentFile, SegmentFileFactory};
use signal_ledger::engine::{Ledger, OpenOptions};

use super::{build_ledger, small_segments};

/// Writes succeed while the byte budget lasts; the write that exceeds it writes what fits and
/// fails with ENOSPC, like a full disk. Syncs fail while `fail_sync` is set, truncations
/// (`set_len`) while `fail_set_len` is. Each write sleeps `write_delay_us` first, and syncs
/// block while `stall_syncs` is closed.
#[derive(Default)]
pub struct Faults {
    pub budget: AtomicI64,
    pub fail_sync: AtomicBool,
    pub fail_set_len: AtomicBool,
    pub write_delay_us: AtomicU64,
    pub stall_syncs: Gate,
}

impl Faults {
    /// No fault: an unlimited budget, every operation passes straight through.
    pub fn none() -> Arc<Faults> {
        let faults = Arc::new(Faults::default());
        faults.budget.store(i64::MAX, Ordering::SeqCst);
        faults
    }

    /// Options that open a ledger over files with these faults.
    pub fn open_options(self: &Arc<Self>) -> OpenOptions {
        OpenOptions {
            file_factory: Some(Arc::new(FaultyFiles(Arc::clone(self)))),
            ..OpenOptions::default()
        }
    }
}

/// A gate that callers block on while it is closed, counting the callers held there.
#[derive(Default)]
pub struct Gate {
    closed: Mutex<bool>,
    changed: Condvar,
    waiting: AtomicUsize,
}

impl Gate {
    /// Holds every later `pass` until `open`.
    pub fn close(&self) {
        *self.closed.lock() = true;
    }

    /// Lets everyone through.
    pub fn open(&self) {
        *self.closed.lock() = false;
        self.changed.notify_all();
    }

    /// Blocks while the gate is closed.
    pub fn pass(&self) {
        let mut closed = self.closed.lock();
        if *closed {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            while *closed {
                self.changed.wait(&mut closed);
            }
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Callers held at the gate now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Waits (up to a generous hang guard) until `n` callers are held at the gate.
    pub fn await_waiting(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.waiting() < n {
            assert!(
                Instant::now() < deadline,
                "nobody reached the closed gate within 60 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Opens the gate when dropped, so a failing assertion never leaves a writer stalled (and the
/// sink's drop waiting for it forever). Declare it after the sink so it drops first.
pub struct OpenOnDrop(pub Arc<Faults>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.stall_syncs.open();
    }
}

pub struct FaultyFile {
    file: File,
    faults: Arc<Faults>,
}

impl SegmentFile for FaultyFile {
    fn write_all_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        let delay = self.faults.write_delay_us.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
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
        if self.faults.fail_set_len.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.set_len(len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.faults.stall_syncs.pass();
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.sync_data()
    }
    fn sync_all(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

pub struct FaultyFiles(pub Arc<Faults>);

impl SegmentFileFactory for FaultyFiles {
    fn wrap(&self, file: File) -> Box<dyn SegmentFile> {
        Box::new(FaultyFile {
            file,
            faults: self.0.clone(),
        })
    }
}

/// A ledger of 100 demo signals in segments of `segment_size` bytes, opened over faulty files
/// (no fault yet).
pub fn faulty_ledger(segment_size: u64) -> (tempfile::TempDir, PathBuf, Ledger, Arc<Faults>) {
    let (tmp, path, _) = build_ledger(100, 100, small_segments(segment_size));
    let faults = Faults::none();
    let ledger = Ledger::open_with(&path, faults.open_options()).unwrap();
    (tmp, path, ledger, faults)
}
