//! "Write a temporary, sync, rename": the one way the engine, and the crates above it, replace
//! a file whole, so a reader or a crash sees the old file or the new one, never a torn one.
//!
//! [`AtomicFile`] writes a temporary beside the target (`<target>.tmp` unless told otherwise);
//! [`AtomicFile::commit`] fsyncs it, renames it over the target and fsyncs the directory; a
//! temporary never committed (an error, a panic, an early return) is removed when dropped.
//! [`replace_unsynced`] is the same without the syncs, for derived files that are cheap to lose
//! but must never be seen half-written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};
use crate::files::temporary_path;

/// A file being written under a temporary name beside its target, renamed into place by
/// [`AtomicFile::commit`]. Writes go straight to the file: wrap it in a `BufWriter` for many
/// small writes.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    /// Some until committed.
    file: Option<File>,
}

impl AtomicFile {
    /// Creates `<target>.tmp` (replacing a leftover of that name) to write `target`'s new bytes.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        AtomicFile::create_as(target, temporary_path(target))
    }

    /// Creates the temporary `tmp` (replacing a leftover of that name), which must be in
    /// `target`'s directory, to write `target`'s new bytes.
    pub fn create_as(target: &Path, tmp: PathBuf) -> Result<AtomicFile> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| LedgerError::io("create", &tmp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// The temporary being written (what an I/O error of a write names).
    pub fn temporary(&self) -> &Path {
        &self.tmp
    }

    /// Fsyncs the temporary, renames it over the target and fsyncs the target's directory. On
    /// failure the temporary is removed and the target is as it was (or, if only the directory
    /// sync failed, already replaced).
    pub fn commit(mut self) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let synced = file.sync_all();
        drop(file);
        synced.map_err(|e| self.failed("fsync", e))?;
        std::fs::rename(&self.tmp, &self.target).map_err(|e| self.failed("rename", e))?;
        sync_dir(parent_of(&self.target))
    }

    /// Removes the temporary and names it in the error of `op`.
    fn failed(&self, op: &'static str, e: io::Error) -> LedgerError {
        let _ = std::fs::remove_file(&self.tmp);
        LedgerError::io(op, &self.tmp, e)
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the atomic file is committed already"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically and durably: `<path>.tmp`, fsync, rename, directory
/// fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|e| LedgerError::io("write", file.temporary(), e))?;
    file.commit()
}

/// Replaces `path` with `bytes` through the temporary `tmp` and a rename, without syncing:
/// for derived files (sidecars, sink metrics) that are cheap to lose but must never be seen
/// half-written. The temporary is removed again if the rename fails.
pub fn replace_unsynced(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(tmp, bytes).map_err(|e| LedgerError::io("write", tmp, e))?;
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        LedgerError::io("rename", tmp, e)
    })
}

/// Makes directory entries (creations, renames, removals) in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LedgerError::io("fsync directory", dir, e))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_file_replaces_the_target_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.csv");
        std::fs::write(&target, b"old").unwrap();
        let mut file = AtomicFile::create(&target).unwrap();
        assert_eq!(file.temporary(), tmp.path().join("out.csv.tmp"));
        file.write_all(b"new bytes").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new bytes");
        assert_eq!(names(tmp.path()), ["out.csv"]);
    }

    #[test]
    fn an_abandoned_file_is_removed_and_the_target_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.csv");
        std::fs::write(&target, b"old").unwrap();
        let mut file = AtomicFile::create_as(&target, tmp.path().join("out.csv.partial")).unwrap();
        file.write_all(b"half").unwrap();
        assert_eq!(names(tmp.path()), ["out.csv", "out.csv.partial"]);
        drop(file);
        assert_eq!(names(tmp.path()), ["out.csv"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }

    #[test]
    fn a_failed_rename_removes_the_temporary_and_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file.
        let target = tmp.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"x").unwrap();
        let file = AtomicFile::create(&target).unwrap();
        let err = file.commit().unwrap_err();
        assert!(err.to_string().starts_with("rename "), "{err}");
        assert!(err.to_string().contains("taken.tmp"), "{err}");
        assert_eq!(names(tmp.path()), ["taken"]);
    }

    #[test]
    fn write_atomic_writes_the_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("ledger.toml");
        write_atomic(&target, b"a = 1\n").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a = 1\n");
        assert_eq!(names(tmp.path()), ["ledger.toml"]);
    }
}
