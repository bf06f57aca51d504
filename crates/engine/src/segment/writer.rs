//! The active segment: the one file the writer appends to, until it is sealed.
//!
//! [`ActiveSegment::seal`] writes the trailer and fsyncs; only then is the file listed among the
//! sealed segments that readers map.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::atomic::sync_dir;
use crate::config::Durability;
use crate::error::{LedgerError, Result};
use crate::files::{segment_path, temporary_path};
use crate::segment::file::{SegmentFile, SegmentFileFactory};
use crate::segment::header::{SegmentHeader, HEADER_LEN};
use crate::segment::scan::{ChainPosition, RecordStats};
use crate::segment::trailer::SegmentTrailer;

/// The segment being appended to.
pub struct ActiveSegment {
    /// The segment file.
    pub path: PathBuf,
    file: Box<dyn SegmentFile>,
    /// Its header.
    pub header: SegmentHeader,
    /// Bytes written so far: the header and whole frames (never a partial frame).
    pub len: u64,
    /// Entries and timestamp range so far.
    pub stats: RecordStats,
    /// What the next entry must carry.
    pub position: ChainPosition,
}

impl std::fmt::Debug for ActiveSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveSegment")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ActiveSegment {
    /// Creates a new, empty segment file with `header`: written under a temporary name, synced,
    /// renamed into place and the directory synced, so a crash never leaves a partial header.
    /// A file of the same name is replaced whole (a reader's mapping of it stays intact).
    pub fn create(
        dir: &Path,
        factory: &dyn SegmentFileFactory,
        header: SegmentHeader,
    ) -> Result<ActiveSegment> {
        ActiveSegment::prepare(dir, factory, header)?.install()
    }

    /// The first half of [`ActiveSegment::create`]: the header written and synced under the
    /// temporary name, which [`PreparedSegment::install`] renames into place and dropping
    /// removes. What most often fails on a full disk, done before anything else changes.
    pub fn prepare(
        dir: &Path,
        factory: &dyn SegmentFileFactory,
        header: SegmentHeader,
    ) -> Result<PreparedSegment> {
        let path = segment_path(dir, header.first_seq);
        let tmp = temporary_path(&path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| LedgerError::io("create", &tmp, e))?;
        let mut file = factory.wrap(file);
        let written = file
            .write_all_at(&header.encode(), 0)
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(LedgerError::io("write", &tmp, e));
        }
        Ok(PreparedSegment {
            dir: dir.to_path_buf(),
            tmp,
            segment: Some(ActiveSegment {
                path,
                file,
                header,
                len: HEADER_LEN as u64,
                stats: RecordStats::default(),
                position: ChainPosition {
                    next_seq: header.first_seq,
                    last_hash: header.prev_hash,
                },
            }),
        })
    }

    /// Reopens an existing active segment whose valid records end at `len`.
    pub fn resume(
        path: PathBuf,
        factory: &dyn SegmentFileFactory,
        header: SegmentHeader,
        len: u64,
        stats: RecordStats,
        position: ChainPosition,
    ) -> Result<ActiveSegment> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| LedgerError::io("open", &path, e))?;
        Ok(ActiveSegment {
            path,
            file: factory.wrap(file),
            header,
            len,
            stats,
            position,
        })
    }

    /// Writes whole frames at the end. On error nothing is assumed about the bytes past `len`:
    /// the caller truncates back with [`ActiveSegment::truncate`].
    pub fn write_frames(&mut self, frames: &[u8]) -> Result<()> {
        self.file
            .write_all_at(frames, self.len)
            .map_err(|e| LedgerError::io("write", &self.path, e))?;
        self.len += frames.len() as u64;
        Ok(())
    }

    /// Makes the written frames durable as `durability` asks.
    pub fn sync(&mut self, durability: Durability) -> Result<()> {
        let r = match durability {
            Durability::Fdatasync => self.file.sync_data(),
            Durability::Fsync => self.file.sync_all(),
            Durability::None => Ok(()),
        };
        r.map_err(|e| LedgerError::io("fdatasync", &self.path, e))
    }

    /// Cuts the file back to `len` bytes (dropping frames of a failed append) and syncs.
    pub fn truncate(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| LedgerError::io("truncate", &self.path, e))?;
        self.len = len;
        Ok(())
    }

    /// Writes the trailer after the last frame and fsyncs: the file is immutable from here on,
    /// and the caller replaces this value with the next active segment (or, if sealing failed,
    /// truncates the partial trailer away). The segment must hold at least one entry.
    pub fn seal(&mut self) -> Result<SealedSegment> {
        debug_assert!(
            self.stats.record_count > 0,
            "an empty segment is never sealed"
        );
        let trailer = SegmentTrailer {
            record_count: self.stats.record_count,
            first_seq: self.header.first_seq,
            last_seq: self.position.next_seq - 1,
            min_timestamp_ns: self.stats.min_timestamp_ns,
            max_timestamp_ns: self.stats.max_timestamp_ns,
            last_row_hash: self.position.last_hash,
        };
        // Frames first, then the trailer: a trailer must never be durable while frames it
        // counts are not, or a power loss could leave a sealed segment missing entries.
        self.file
            .sync_data()
            .and_then(|()| self.file.write_all_at(&trailer.encode(), self.len))
            .and_then(|()| self.file.sync_all())
            .map_err(|e| LedgerError::io("seal", &self.path, e))?;
        Ok(SealedSegment {
            path: self.path.clone(),
            header: self.header,
            trailer,
            records_end: self.len,
        })
    }
}

/// A new segment file written under its temporary name, not yet in place (see
/// [`ActiveSegment::prepare`]). Dropped uninstalled, it removes the temporary.
pub struct PreparedSegment {
    dir: PathBuf,
    tmp: PathBuf,
    /// Some until installed.
    segment: Option<ActiveSegment>,
}

impl PreparedSegment {
    /// Renames the file into place (replacing any file of that name) and syncs the directory.
    pub fn install(mut self) -> Result<ActiveSegment> {
        let Some(segment) = self.segment.take() else {
            return Err(LedgerError::io(
                "install",
                &self.tmp,
                std::io::Error::other("already installed"),
            ));
        };
        if let Err(e) = std::fs::rename(&self.tmp, &segment.path) {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(LedgerError::io("rename", &self.tmp, e));
        }
        sync_dir(&self.dir)?;
        Ok(segment)
    }
}

impl Drop for PreparedSegment {
    fn drop(&mut self) {
        if self.segment.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What the writer keeps of a sealed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSegment {
    /// The segment file.
    pub path: PathBuf,
    /// Its header.
    pub header: SegmentHeader,
    /// Its trailer.
    pub trailer: SegmentTrailer,
    /// Offset where its trailer starts.
    pub records_end: u64,
}
