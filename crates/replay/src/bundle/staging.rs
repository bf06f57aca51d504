//! Where a bundle is written: a temporary sibling of the output directory, fsynced and renamed
//! into place only when whole, and removed on any failure, so the output path either holds a
//! complete bundle or is as it was.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use signal_ledger_engine::atomic::{parent_of, sync_dir};

use crate::bundle::hashing::{FileDigest, HashingWriter};
use crate::error::{ReplayError, Result};

/// Buffer of each bundle file's writer.
const WRITE_BUFFER: usize = 1 << 20;

/// The temporary directory a bundle is written into. Dropped before [`Staging::commit`], it
/// removes itself and everything in it.
#[derive(Debug)]
pub(crate) struct Staging {
    /// The temporary directory.
    dir: PathBuf,
    /// The output directory it becomes.
    out: PathBuf,
    /// Renamed into place: nothing to remove.
    committed: bool,
}

/// Refuses an `out` that exists and is not an empty directory.
fn check_out(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReplayError::io("inspect", out, e)),
        Ok(meta) if meta.is_dir() => {
            let mut entries =
                std::fs::read_dir(out).map_err(|e| ReplayError::io("list", out, e))?;
            match entries.next() {
                None => Ok(()),
                Some(_) => Err(ReplayError::BundleOutExists {
                    path: out.to_path_buf(),
                }),
            }
        }
        Ok(_) => Err(ReplayError::BundleOutExists {
            path: out.to_path_buf(),
        }),
    }
}

impl Staging {
    /// Checks `out` (absent, or an empty directory) and creates the temporary directory
    /// `<out>.partial-<pid>` beside it.
    pub(crate) fn create(out: &Path) -> Result<Staging> {
        let Some(name) = out.file_name() else {
            return Err(ReplayError::BundleOutUnnamed {
                path: out.to_path_buf(),
            });
        };
        check_out(out)?;
        let mut partial = name.to_owned();
        partial.push(format!(".partial-{}", std::process::id()));
        let dir = out.with_file_name(partial);
        std::fs::create_dir(&dir).map_err(|e| ReplayError::io("create", &dir, e))?;
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary directory.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates file `name` in the temporary directory, for writing through a hashing writer.
    pub(crate) fn create_file(&self, name: &'static str) -> Result<StagedFile> {
        let path = self.dir.join(name);
        let file = File::create_new(&path).map_err(|e| ReplayError::io("create", &path, e))?;
        Ok(StagedFile {
            path,
            out: HashingWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file)),
        })
    }

    /// Fsyncs the temporary directory, renames it to the output path and fsyncs the parent.
    /// On failure the temporary directory, or the output directory it became, is removed.
    /// (A directory is renamed, not a file: the engine's `AtomicFile` writes one file; its
    /// `sync_dir` is shared.)
    pub(crate) fn commit(mut self) -> Result<PathBuf> {
        sync_dir(&self.dir)?;
        std::fs::rename(&self.dir, &self.out)
            .map_err(|e| ReplayError::io("rename into place", &self.out, e))?;
        // From here the output path holds the bundle: on failure, it is what is removed.
        self.dir = self.out.clone();
        sync_dir(parent_of(&self.out))?;
        self.committed = true;
        Ok(self.out.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the error that brought us here is the one to report.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One file of a bundle being written: buffered (1 MiB), hashed and counted as it is written.
#[derive(Debug)]
pub(crate) struct StagedFile {
    /// Its path while being written.
    pub path: PathBuf,
    /// The writer.
    pub out: HashingWriter<BufWriter<File>>,
}

impl StagedFile {
    /// Flushes and fsyncs the file; its length and SHA-256.
    pub(crate) fn finish(self) -> Result<FileDigest> {
        let (buffered, digest) = self.out.finish();
        let file = buffered
            .into_inner()
            .map_err(|e| ReplayError::io("write", &self.path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| ReplayError::io("sync", &self.path, e))?;
        Ok(digest)
    }

    /// The error to report for a write that failed somewhere below: this file's own failure
    /// if it had one, naming it.
    pub(crate) fn failure(&mut self) -> Option<ReplayError> {
        let e = self.out.take_failure()?;
        Some(ReplayError::io("write", &self.path, e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_non_empty_directory_or_a_file_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let full = tmp.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("keep.txt"), b"mine").unwrap();
        let err = Staging::create(&full).unwrap_err();
        assert!(
            matches!(&err, ReplayError::BundleOutExists { path } if path == &full),
            "{err}"
        );
        assert!(err.to_string().contains(&full.display().to_string()));
        assert_eq!(std::fs::read(full.join("keep.txt")).unwrap(), b"mine");

        let file = tmp.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            Staging::create(&file),
            Err(ReplayError::BundleOutExists { .. })
        ));
        // Nothing was created beside them.
        let mut names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a-file", "full"]);
        assert!(matches!(
            Staging::create(Path::new("/")),
            Err(ReplayError::BundleOutUnnamed { .. })
        ));
    }

    #[test]
    fn a_committed_bundle_replaces_an_empty_directory_and_leaves_no_partial() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bundle");
        std::fs::create_dir(&out).unwrap();
        let staging = Staging::create(&out).unwrap();
        assert!(staging.dir().starts_with(tmp.path()));
        let mut f = staging.create_file("a.txt").unwrap();
        f.out.write_all(b"abc").unwrap();
        let digest = f.finish().unwrap();
        assert_eq!(digest.bytes, 3);
        assert_eq!(staging.commit().unwrap(), out);
        assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"abc");
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["bundle"]);
    }

    #[test]
    fn an_abandoned_staging_directory_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bundle");
        let staging = Staging::create(&out).unwrap();
        let partial = staging.dir().to_path_buf();
        let mut f = staging.create_file("a.txt").unwrap();
        f.out.write_all(&[7; 3 << 20]).unwrap();
        drop(f);
        assert!(partial.exists());
        drop(staging);
        assert!(!partial.exists());
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_rename_that_fails_removes_the_partial_and_keeps_what_appeared_at_out() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bundle");
        let staging = Staging::create(&out).unwrap();
        staging.create_file("a.txt").unwrap().finish().unwrap();
        // Someone else fills the output path meanwhile.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("theirs"), b"t").unwrap();
        let err = staging.commit().unwrap_err();
        assert!(err.to_string().contains("rename into place"), "{err}");
        assert_eq!(std::fs::read(out.join("theirs")).unwrap(), b"t");
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["bundle"]);
    }
}
