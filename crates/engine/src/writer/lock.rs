//! The ledger directory as one writer holds it: the `LOCK` file, and the leftovers of its
//! interrupted atomic writes removed at open. (The names of its files are in [`crate::files`].)

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::Path;

use crate::error::{LedgerError, Result};
use crate::files::{is_own_temporary, LOCK_FILE};

/// Removes leftovers of the ledger's own interrupted atomic writes (other files are left alone).
pub fn remove_temporaries(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| LedgerError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| LedgerError::io("read directory", dir, e))?;
        if is_own_temporary(&entry.file_name().to_string_lossy()) {
            match fs::remove_file(entry.path()) {
                // A reader's sidecar temporary renamed into place (or removed) since the
                // listing: nothing is left to remove.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                removed => removed.map_err(|e| LedgerError::io("remove", entry.path(), e))?,
            }
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
