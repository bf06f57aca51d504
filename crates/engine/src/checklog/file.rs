//! Reading and appending `checks.log`: its header, the walk of its frames, the locked append.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::entry::{decode_check_log_entry, AnchorRecord, CheckLogEntry, CheckRecord};
use crate::atomic::sync_dir;
use crate::clock::now_ns;
use crate::error::{CorruptKind, Corruption, LedgerError, Result};
use crate::files::{process_temporary_path, CHECK_LOG_FILE};
use crate::hash::{row_hash, Hash, GENESIS_PREV_HASH};
use crate::le::{i64_at, u16_at, u32_at};
use crate::record::codec::{entry_seq, split_hashes};
use crate::record::frame::{begin_frame, finish_frame, frame_at, FrameAt};
use crate::segment::header::{FORMAT_VERSION, HEADER_LEN};
use crate::segment::scan::valid_frame_after;

/// The check log's magic: as a segment's, with `C` for `G` ("\x89SLC\r\n\x1a\n").
pub const CHECK_LOG_MAGIC: [u8; 8] = [0x89, b'S', b'L', b'C', b'\r', b'\n', 0x1A, b'\n'];

const VERSION_OFFSET: usize = 8;
const CREATED_AT_OFFSET: usize = 16;
const CRC_OFFSET: usize = 76;

/// The check log as read: every whole, intact entry up to the first damage.
#[derive(Debug, Clone, Default)]
pub struct CheckLog {
    /// The file.
    pub path: PathBuf,
    /// Entries in seq order.
    pub entries: Vec<CheckLogEntry>,
    /// Seq and row hash of the last entry.
    pub head: Option<(u64, Hash)>,
    /// Offset just past the last intact entry (where the next one goes).
    pub end: u64,
    /// Bytes after the last whole entry that are not one (an append cut short by a crash).
    pub torn_bytes: u64,
    /// The first damage: a bad header, a frame that is not the next link of the chain, a bad
    /// row hash, a layout error, or bad bytes followed by more entries.
    pub damage: Option<Corruption>,
}

impl CheckLog {
    /// The recorded checks, oldest first.
    pub fn checks(&self) -> impl Iterator<Item = &CheckRecord> {
        self.entries.iter().filter_map(|e| match e {
            CheckLogEntry::Check(c) => Some(c),
            CheckLogEntry::Anchor(_) => None,
        })
    }

    /// The retention anchors, oldest first.
    pub fn anchors(&self) -> impl Iterator<Item = &AnchorRecord> {
        self.entries.iter().filter_map(|e| match e {
            CheckLogEntry::Anchor(a) => Some(a),
            CheckLogEntry::Check(_) => None,
        })
    }
}

fn encode_header(created_at_ns: i64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&CHECK_LOG_MAGIC);
    h[VERSION_OFFSET..VERSION_OFFSET + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[CREATED_AT_OFFSET..CREATED_AT_OFFSET + 8].copy_from_slice(&created_at_ns.to_le_bytes());
    let crc = crc32fast::hash(&h[..CRC_OFFSET]);
    h[CRC_OFFSET..].copy_from_slice(&crc.to_le_bytes());
    h
}

fn check_header(bytes: &[u8]) -> std::result::Result<(), CorruptKind> {
    let Some(h) = bytes.get(..HEADER_LEN) else {
        return Err(CorruptKind::HeaderMismatch(format!(
            "check log shorter than its {HEADER_LEN}-byte header"
        )));
    };
    if h.get(..8) != Some(&CHECK_LOG_MAGIC[..]) {
        return Err(CorruptKind::BadMagic);
    }
    let version = u16_at(h, VERSION_OFFSET).unwrap_or_default();
    if !(2..=FORMAT_VERSION).contains(&version) {
        return Err(CorruptKind::UnsupportedVersion {
            found: version,
            min: 2,
            max: FORMAT_VERSION,
        });
    }
    if u32_at(h, CRC_OFFSET) != Some(crc32fast::hash(h.get(..CRC_OFFSET).unwrap_or_default())) {
        return Err(CorruptKind::HeaderCrcMismatch);
    }
    let zero = |r: std::ops::Range<usize>| h.get(r).is_some_and(|b| b.iter().all(|&x| x == 0));
    if !zero(10..16) || !zero(24..CRC_OFFSET) || i64_at(h, CREATED_AT_OFFSET).is_none() {
        return Err(CorruptKind::HeaderMismatch(
            "reserved bytes are not zero".into(),
        ));
    }
    Ok(())
}

/// Walks the bytes of a check log (header included).
fn walk(path: &Path, bytes: &[u8]) -> CheckLog {
    let mut log = CheckLog {
        path: path.to_path_buf(),
        end: HEADER_LEN as u64,
        ..CheckLog::default()
    };
    let damage = |offset: usize, seq: Option<u64>, kind| Corruption {
        file: path.to_path_buf(),
        offset: offset as u64,
        seq,
        kind,
    };
    if let Err(kind) = check_header(bytes) {
        log.end = 0;
        log.damage = Some(damage(0, None, kind));
        return log;
    }
    let mut at = HEADER_LEN;
    let mut next_seq = 0u64;
    let mut last_hash = GENESIS_PREV_HASH;
    loop {
        match frame_at(bytes, at) {
            FrameAt::End => break,
            FrameAt::Valid { body, next } => {
                let checked = (|| {
                    let (content, prev, stored) = split_hashes(body)
                        .ok_or_else(|| CorruptKind::Malformed("body too short".into()))?;
                    let found = entry_seq(body).unwrap_or(u64::MAX);
                    if found != next_seq {
                        return Err(CorruptKind::SeqGap {
                            expected: next_seq,
                            found,
                        });
                    }
                    if prev != last_hash {
                        return Err(CorruptKind::ChainBreak {
                            expected: last_hash,
                            found: prev,
                        });
                    }
                    let computed = row_hash(&prev, content);
                    if computed != stored {
                        return Err(CorruptKind::RowHashMismatch { stored, computed });
                    }
                    Ok((decode_check_log_entry(body)?, stored))
                })();
                match checked {
                    Ok((entry, hash)) => {
                        log.entries.push(entry);
                        log.head = Some((next_seq, hash));
                        next_seq += 1;
                        last_hash = hash;
                        at = next;
                        log.end = at as u64;
                    }
                    Err(kind) => {
                        log.damage = Some(damage(at, Some(next_seq), kind));
                        break;
                    }
                }
            }
            bad @ (FrameAt::Trailer | FrameAt::Incomplete | FrameAt::Bad(_)) => {
                // Torn if nothing whole follows, as in an active segment.
                let rest = bytes.get(at..).unwrap_or_default();
                // A valid frame later (one a writer could have written: plausible length, known
                // kind, seq not below the expected one, then the CRC) makes it damage, as in the
                // active segment's walk; the cheap checks come first, so garbage costs little.
                let later = valid_frame_after(bytes, at, next_seq).is_some();
                if later {
                    let kind = match bad {
                        FrameAt::Bad(kind) => kind,
                        _ => CorruptKind::Malformed("bad bytes followed by more entries".into()),
                    };
                    log.damage = Some(damage(at, Some(next_seq), kind));
                } else {
                    log.torn_bytes = rest.len() as u64;
                }
                break;
            }
        }
    }
    log
}

/// Reads the check log of the ledger in `dir` (an empty log if there is none). Damage is
/// reported in [`CheckLog::damage`], with the intact entries before it.
pub fn read_check_log(dir: &Path) -> Result<CheckLog> {
    let path = dir.join(CHECK_LOG_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(walk(&path, &bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(CheckLog {
            path,
            ..CheckLog::default()
        }),
        Err(e) => Err(LedgerError::io("read", &path, e)),
    }
}

/// Creates the check log with its header if it does not exist: written under a temporary
/// name, synced, then linked into place (so two processes creating it at once keep one).
fn ensure_exists(dir: &Path, path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    // The process id and a per-process counter: no two creators share a temporary.
    static CREATES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CREATES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = process_temporary_path(path, n);
    let file = File::create(&tmp).map_err(|e| LedgerError::io("create", &tmp, e))?;
    file.write_all_at(&encode_header(now_ns()), 0)
        .and_then(|()| file.sync_all())
        .map_err(|e| LedgerError::io("write", &tmp, e))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(LedgerError::io("link", path, e)),
    }
}

/// Appends one entry to the check log of `dir`, under an exclusive lock on the file: `make`
/// gets the seq it takes and returns it encoded (a body chained to the row hash it is given).
/// A torn tail is cut off first; a damaged log is refused ([`LedgerError::Corrupt`]), never
/// appended to. The entry is synced (`fdatasync`) before this returns its seq and row hash.
pub fn append_entry(
    dir: &Path,
    make: impl FnOnce(u64, &Hash, &mut Vec<u8>) -> Hash,
) -> Result<(u64, Hash)> {
    let path = dir.join(CHECK_LOG_FILE);
    ensure_exists(dir, &path)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| LedgerError::io("open", &path, e))?;
    file.lock().map_err(|e| LedgerError::io("lock", &path, e))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes)
        .map_err(|e| LedgerError::io("read", &path, e))?;
    let log = walk(&path, &bytes);
    if let Some(damage) = log.damage {
        return Err(LedgerError::Corrupt(Box::new(damage)));
    }
    if log.torn_bytes > 0 {
        file.set_len(log.end)
            .and_then(|()| file.sync_all())
            .map_err(|e| LedgerError::io("truncate", &path, e))?;
    }
    let (seq, prev) = log.head.map_or((0, GENESIS_PREV_HASH), |(s, h)| (s + 1, h));
    let mut frame = Vec::new();
    let start = begin_frame(&mut frame);
    let hash = make(seq, &prev, &mut frame);
    finish_frame(&mut frame, start);
    file.write_all_at(&frame, log.end)
        .and_then(|()| file.sync_data())
        .map_err(|e| {
            // Leave no partial entry behind: cut back to where it started.
            let _ = file.set_len(log.end);
            LedgerError::io("write", &path, e)
        })?;
    Ok((seq, hash))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::super::entry::{encode_check, CheckMode};
    use super::*;

    fn check(ok: bool) -> CheckRecord {
        CheckRecord {
            check_id: 0,
            mode: CheckMode::Full,
            chain_valid: ok,
            checked_at_ns: 1,
            range_start: 0,
            range_end: 9,
            expected_count: 10,
            actual_count: 10,
            head_row_hash: Hash([7; 32]),
            duration_ns: 5,
            errors_json: "[]".into(),
        }
    }

    fn append(dir: &Path, ok: bool) -> u64 {
        append_entry(dir, |seq, prev, out| {
            encode_check(
                out,
                &CheckRecord {
                    check_id: seq,
                    ..check(ok)
                },
                prev,
            )
        })
        .unwrap()
        .0
    }

    #[test]
    fn appends_chain_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read_check_log(tmp.path()).unwrap().entries.is_empty());
        assert_eq!(
            (append(tmp.path(), true), append(tmp.path(), false)),
            (0, 1)
        );
        let log = read_check_log(tmp.path()).unwrap();
        assert_eq!(
            log.checks().map(|c| c.chain_valid).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(log.damage.is_none());
    }

    #[test]
    fn a_torn_tail_is_cut_and_damage_refuses_appends() {
        let tmp = tempfile::tempdir().unwrap();
        append(tmp.path(), true);
        let path = tmp.path().join(CHECK_LOG_FILE);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(
            &path,
            [&whole[..], &whole[HEADER_LEN..HEADER_LEN + 20]].concat(),
        )
        .unwrap();
        assert_eq!(read_check_log(tmp.path()).unwrap().torn_bytes, 20);
        assert_eq!(append(tmp.path(), true), 1);
        // A flipped byte inside the first entry: the log is damaged at seq 0.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN + 30] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let log = read_check_log(tmp.path()).unwrap();
        assert_eq!(log.damage.as_ref().unwrap().seq, Some(0));
        assert!(append_entry(tmp.path(), |_, prev, out| encode_check(
            out,
            &check(true),
            prev
        ))
        .is_err());
    }
}
