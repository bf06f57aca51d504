//! The ledger directory: `ledger.toml`, the `LOCK` file, and segment files named by first seq.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};
use crate::segment::name::parse_segment_file_name;

/// Name of the config file that marks a directory as a ledger.
pub const CONFIG_FILE: &str = "ledger.toml";
/// Name of the writer lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Suffix of files being written before an atomic rename.
pub const TMP_SUFFIX: &str = ".tmp";

/// Segment files in `dir` as `(first_seq, path)`, ordered by first seq.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LedgerError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| LedgerError::io("read directory", dir, e))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_file_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Makes directory entries (creations, renames, removals) in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LedgerError::io("fsync directory", dir, e))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, directory fsync.
pub fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| LedgerError::io("create", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| LedgerError::io("write", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| LedgerError::io("rename", &tmp, e))?;
    sync_dir(dir)
}

/// Replaces `path` with `bytes` through the temporary `tmp` and a rename, without syncing:
/// for derived files (sidecars, sink metrics) that are cheap to lose but must never be seen
/// half-written. The temporary is removed again if the rename fails.
pub fn replace_unsynced(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(tmp, bytes).map_err(|e| LedgerError::io("write", tmp, e))?;
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        LedgerError::io("rename", tmp, e)
    })
}

/// Whether `name` is a temporary file the ledger itself writes: a segment, `ledger.toml`, the
/// sink's metrics or an index sidecar being written.
pub fn is_own_temporary(name: &str) -> bool {
    name.strip_suffix(TMP_SUFFIX).is_some_and(|base| {
        base == CONFIG_FILE
            || base == crate::sink::METRICS_FILE
            || parse_segment_file_name(base).is_some()
            || is_sidecar_temporary(base)
            || is_check_log_temporary(base)
    })
}

/// `checks.log.<pid>`: the check log being created by process `pid`.
fn is_check_log_temporary(base: &str) -> bool {
    base.strip_prefix(crate::checklog::CHECK_LOG_FILE)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// `<first seq>.idx.<pid>`: an index sidecar being written by process `pid`.
fn is_sidecar_temporary(base: &str) -> bool {
    let Some((sidecar, pid)) = base.rsplit_once('.') else {
        return false;
    };
    let segment = sidecar
        .strip_suffix(crate::index::SIDECAR_EXTENSION)
        .and_then(|s| s.strip_suffix('.'))
        .map(|stem| format!("{stem}.{}", crate::segment::name::SEGMENT_EXTENSION));
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && segment.is_some_and(|s| parse_segment_file_name(&s).is_some())
}

/// Removes leftovers of the ledger's own interrupted atomic writes (other files are left alone).
pub fn remove_temporaries(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| LedgerError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| LedgerError::io("read directory", dir, e))?;
        if is_own_temporary(&entry.file_name().to_string_lossy()) {
            fs::remove_file(entry.path())
                .map_err(|e| LedgerError::io("remove", entry.path(), e))?;
        }
    }
    Ok(())
}

/// How long [`WriterLock::acquire`] retries a lock that looks held before it refuses.
pub const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// The exclusive writer lock, held for as long as this value lives.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the writer lock of `dir`, or fails with [`LedgerError::Locked`] after at most
    /// [`LOCK_GRACE`].
    pub fn acquire(dir: &Path) -> Result<WriterLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LedgerError::io("open", &path, e))?;
        let started = std::time::Instant::now();
        let mut locked = file.try_lock();
        // A child process this one is starting (on any thread) holds a copy of every open
        // descriptor, the lock's too, from fork until exec closes it: a lock released just
        // before can look held for that instant. Held longer, it is another writer's.
        while matches!(locked, Err(fs::TryLockError::WouldBlock)) && started.elapsed() < LOCK_GRACE
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
            locked = file.try_lock();
        }
        match locked {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LedgerError::Locked {
                    path,
                    holder: (!holder.is_empty()).then(|| holder.to_owned()),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(LedgerError::io("lock", &path, e)),
        }
        // Say who holds it, for the error another writer prints; advisory only.
        let note = format!("pid {}", std::process::id());
        let _ = file
            .set_len(0)
            .and_then(|()| std::io::Write::write_all(&mut &file, note.as_bytes()));
        Ok(WriterLock { _file: file })
    }
}
