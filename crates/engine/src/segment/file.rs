//! The narrow file seam the writer uses, so tests can inject faults (a full disk, a failed sync)
//! without a special filesystem.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The file operations the segment writer needs.
pub trait SegmentFile: Send {
    /// Writes all of `bytes` at `offset`.
    fn write_all_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// Truncates or extends the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the data durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Makes data and metadata durable (fsync).
    fn sync_all(&mut self) -> io::Result<()>;
}

impl SegmentFile for File {
    fn write_all_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, bytes, offset)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
}

/// Makes the segment files the writer appends to; the real one opens files, a test one wraps
/// them to inject faults.
pub trait SegmentFileFactory: Send + Sync {
    /// Wraps an opened segment file.
    fn wrap(&self, file: File) -> Box<dyn SegmentFile>;
}

/// The factory that uses files as they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFiles;

impl SegmentFileFactory for RealFiles {
    fn wrap(&self, file: File) -> Box<dyn SegmentFile> {
        Box::new(file)
    }
}
