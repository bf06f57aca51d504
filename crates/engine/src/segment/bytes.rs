//! The bytes of one segment as a reader sees them.
//!
//! A sealed segment never changes, so it is memory-mapped. The active segment may still grow, and
//! a crash recovery may shrink it, so it is never mapped: its bytes are copied with pread up to a
//! length read once, and a reader keeps only the whole valid frames it finds in that copy. No
//! reader can therefore meet SIGBUS from a file that shrinks under a mapping.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{LedgerError, Result};

/// A segment's bytes: mapped when sealed, copied when active.
#[derive(Debug)]
pub enum SegmentBytes {
    /// A sealed segment, memory-mapped read-only.
    Mapped(Mmap),
    /// A copy of an active segment's bytes.
    Copied(Vec<u8>),
}

impl Deref for SegmentBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SegmentBytes::Mapped(m) => m,
            SegmentBytes::Copied(v) => v,
        }
    }
}

impl SegmentBytes {
    /// Maps a sealed segment file (or, for the writer only, its own active segment: see
    /// `layout::TailAccess`).
    pub fn map_sealed(path: &Path) -> Result<SegmentBytes> {
        let file = File::open(path).map_err(|e| LedgerError::io("open", path, e))?;
        // SAFETY: sealed segments are immutable by contract (FORMAT.md): the writer never opens
        // them for writing again, retention removes them whole by unlink (which keeps a mapping
        // valid), and recovery never truncates a sealed segment. The writer maps its own active
        // segment only while it holds the lock and drops the map before truncating. A process
        // outside the ledger
        // that truncates a sealed file breaks that contract; we accept that risk, as every
        // mmap-based store does.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| LedgerError::io("mmap", path, e))?;
        Ok(SegmentBytes::Mapped(map))
    }

    /// Copies the current bytes of an active segment file.
    pub fn copy_active(path: &Path) -> Result<SegmentBytes> {
        let mut file = File::open(path).map_err(|e| LedgerError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| LedgerError::io("stat", path, e))?
            .len();
        let mut bytes = Vec::with_capacity(len as usize);
        // Read what is there now; the file may grow meanwhile, which is harmless: only whole,
        // CRC-valid frames are used.
        (&mut file)
            .take(len)
            .read_to_end(&mut bytes)
            .map_err(|e| LedgerError::io("read", path, e))?;
        Ok(SegmentBytes::Copied(bytes))
    }
}
