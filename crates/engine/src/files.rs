//! Every file name of a ledger directory, in one place.
//!
//! ```text
//! <dir>/
//!   ledger.toml                    CONFIG_FILE: marks the directory as a ledger
//!   LOCK                           LOCK_FILE: the writer lock
//!   00000000000000000000.seg       segments, named by first seq (SEGMENT_EXTENSION)
//!   00000000000000000000.idx       index sidecars, one per sealed segment (SIDECAR_EXTENSION)
//!   checks.log                     CHECK_LOG_FILE: the chained log of integrity checks
//!   sink-metrics.json              METRICS_FILE: the sink's last metrics
//!   <name>.tmp, <name>.<pid><n>.tmp  temporaries of atomic writes (TMP_SUFFIX)
//! ```
//!
//! This module imports nothing else of the engine but its error type, so any module may name a
//! file without reaching into the module that writes it.

use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};

/// Name of the config file that marks a directory as a ledger.
pub const CONFIG_FILE: &str = "ledger.toml";
/// Name of the writer lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Name of the file a sink writes its metrics to (beside the segments).
pub const METRICS_FILE: &str = "sink-metrics.json";
/// Name of the check log.
pub const CHECK_LOG_FILE: &str = "checks.log";
/// Extension of segment files.
pub const SEGMENT_EXTENSION: &str = "seg";
/// Extension of index sidecars (the segment's name with this extension).
pub const SIDECAR_EXTENSION: &str = "idx";
/// Suffix of files being written before an atomic rename.
pub const TMP_SUFFIX: &str = ".tmp";

/// Digits of the first seq in a segment file name.
const SEGMENT_DIGITS: usize = 20;

/// The file name of the segment whose first entry is `first_seq`: 20 decimal digits, `.seg`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{SEGMENT_EXTENSION}")
}

/// The path of that segment in `dir`.
pub fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(segment_file_name(first_seq))
}

/// The first seq named by a segment file name, if `name` is one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_EXTENSION)?.strip_suffix('.')?;
    if digits.len() != SEGMENT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The sidecar of the segment file at `segment`.
pub fn sidecar_path(segment: &Path) -> PathBuf {
    segment.with_extension(SIDECAR_EXTENSION)
}

/// `<path>.tmp`: where `path` is written before it is renamed into place, by the one writer
/// that holds the directory's lock.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    PathBuf::from(tmp)
}

/// `<path>.<pid><n>.tmp`: a temporary of `path` for a file that processes without the lock
/// write too (sidecars, the check log's first header): the process id and a per-process
/// counter `n`, so no two writers share one.
pub fn process_temporary_path(path: &Path, n: u64) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}{n:06}{TMP_SUFFIX}", std::process::id()));
    PathBuf::from(tmp)
}

/// Whether `name` is a temporary file the ledger itself writes: a segment, `ledger.toml`, the
/// sink's metrics, the check log or an index sidecar being written.
pub fn is_own_temporary(name: &str) -> bool {
    name.strip_suffix(TMP_SUFFIX).is_some_and(|base| {
        base == CONFIG_FILE
            || base == METRICS_FILE
            || parse_segment_file_name(base).is_some()
            || is_sidecar_temporary(base)
            || is_check_log_temporary(base)
    })
}

/// `checks.log.<pid…>`: the check log being created by a process.
fn is_check_log_temporary(base: &str) -> bool {
    base.strip_prefix(CHECK_LOG_FILE)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(all_digits)
}

/// `<first seq>.idx.<pid…>`: an index sidecar being written by a process.
fn is_sidecar_temporary(base: &str) -> bool {
    let Some((sidecar, pid)) = base.rsplit_once('.') else {
        return false;
    };
    let segment = sidecar
        .strip_suffix(SIDECAR_EXTENSION)
        .and_then(|s| s.strip_suffix('.'))
        .map(|stem| format!("{stem}.{SEGMENT_EXTENSION}"));
    all_digits(pid) && segment.is_some_and(|s| parse_segment_file_name(&s).is_some())
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Segment files in `dir` as `(first_seq, path)`, ordered by first seq.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| LedgerError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| LedgerError::io("read directory", dir, e))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_file_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        for seq in [0, 1, 999, u64::MAX] {
            assert_eq!(parse_segment_file_name(&segment_file_name(seq)), Some(seq));
        }
        assert_eq!(segment_file_name(1000), "00000000000000001000.seg");
        assert_eq!(parse_segment_file_name("1000.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000100a.seg"), None);
        assert_eq!(parse_segment_file_name("00000000000000001000seg"), None);
    }

    #[test]
    fn own_temporaries_are_recognised_and_nothing_else() {
        let sidecar_tmp = process_temporary_path(&sidecar_path(&segment_path(Path::new(""), 7)), 3);
        let log_tmp = process_temporary_path(Path::new(CHECK_LOG_FILE), 0);
        let own = [
            "ledger.toml.tmp".to_owned(),
            "sink-metrics.json.tmp".to_owned(),
            format!("{}.tmp", segment_file_name(42)),
            sidecar_tmp.to_string_lossy().into_owned(),
            log_tmp.to_string_lossy().into_owned(),
        ];
        for name in &own {
            assert!(is_own_temporary(name), "{name}");
        }
        for name in [
            "ledger.toml",
            "notes.tmp",
            "checks.log.tmp",
            "checks.log.x1.tmp",
            "00000000000000000007.idx.tmp",
            "7.seg.tmp",
        ] {
            assert!(!is_own_temporary(name), "{name}");
        }
    }
}
