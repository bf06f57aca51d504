//! Running integrity checks and recording them: one on request ([`run_check`]), or on a
//! schedule in a background thread ([`CheckScheduler`]) — incremental from the last passed
//! check, with a full pass every so often. Every check is the verify operation
//! (`verify_ledger`) recorded; checks read a [`Snapshot`], so they never block the writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::entry::{encode_check, CheckMode, CheckRecord, ERRORS_JSON_LEN_MAX};
use super::file::{append_entry, read_check_log};
use crate::error::Result;
use crate::hash::Hash;
use crate::record::json::push_json_str;
use crate::snapshot::Snapshot;
use crate::verify::verdict::verify_as;
use crate::verify::{VerifyOptions, VerifyReport, VerifyRequest};

/// Which check to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRequest {
    /// Every entry held.
    Full,
    /// What was appended since the last passed check (a full pass if there is none), after
    /// confirming that the entry it ended at still has the row hash it recorded.
    Incremental,
    /// The seqs `from..=to` (either end defaulting to what is held).
    Range {
        /// First seq.
        from: Option<u64>,
        /// Last seq, inclusive.
        to: Option<u64>,
    },
}

/// Runs the check `request` asks for on `snapshot` and records it in the ledger's check log,
/// through the verify operation every front end runs ([`verify_ledger`]). Returns the record as
/// appended (with its check_id).
///
/// [`verify_ledger`]: crate::verify::verify_ledger
fn check_and_record(snapshot: &Snapshot, request: CheckRequest) -> Result<CheckRecord> {
    let dir = snapshot.dir();
    let (mode, options, prior_errors) = match request {
        CheckRequest::Full => (CheckMode::Full, VerifyOptions::default(), Vec::new()),
        CheckRequest::Range { from, to } => (
            CheckMode::Range,
            VerifyOptions {
                from_seq: from,
                to_seq: to,
                sequential: false,
            },
            Vec::new(),
        ),
        CheckRequest::Incremental => incremental(snapshot, dir)?,
    };
    let request = VerifyRequest {
        options,
        against: None,
        record: true,
    };
    let verdict = verify_as(snapshot, &request, mode, prior_errors, &|_| {})
        .map_err(|not_recorded| not_recorded.source)?;
    verdict.recorded.ok_or_else(|| {
        crate::LedgerError::io(
            "record the check in",
            dir,
            std::io::Error::other("the check was not recorded"),
        )
    })
}

/// An incremental check: from just after the last passed full or incremental check (a full
/// pass if there is none), after confirming that the entry it ended at still has the row hash
/// it recorded (an error for the check when it does not).
fn incremental(snapshot: &Snapshot, dir: &Path) -> Result<(CheckMode, VerifyOptions, Vec<String>)> {
    let log = read_check_log(dir)?;
    let last_passed = log
        .checks()
        // A range check proves its range only, not that it joins what came before: an
        // incremental check continues the full and incremental ones.
        .filter(|c| c.chain_valid && c.expected_count > 0 && c.mode != CheckMode::Range)
        .last()
        .cloned();
    let Some(last) = last_passed else {
        return Ok((CheckMode::Full, VerifyOptions::default(), Vec::new()));
    };
    let mut errors = Vec::new();
    // The entry the last check ended at must still be what it saw.
    if last.range_end >= snapshot.first_seq() {
        match snapshot.row_hash_at(last.range_end) {
            Ok(Some(h)) if h == last.head_row_hash => {}
            Ok(found) => errors.push(format!(
                "seq {} has row_hash {}, check {} recorded {}",
                last.range_end,
                found.map_or_else(|| "(missing)".to_owned(), |h| h.to_hex()),
                last.check_id,
                last.head_row_hash.to_hex()
            )),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let options = VerifyOptions {
        from_seq: Some(last.range_end + 1),
        to_seq: None,
        sequential: false,
    };
    Ok((CheckMode::Incremental, options, errors))
}

/// The check record of a verification of `snapshot` (`report`, made with `options`), with
/// `errors` found besides it (a digest that did not match, say): passed only if the report and
/// `errors` are both clean. Its `check_id` is filled in when it is recorded.
pub fn check_record(
    snapshot: &Snapshot,
    mode: CheckMode,
    options: &VerifyOptions,
    report: &VerifyReport,
    mut errors: Vec<String>,
) -> CheckRecord {
    if let Some(f) = &report.first_failure {
        errors.insert(0, f.to_string());
    }
    let range_start = report.from_seq;
    let end_exclusive = options
        .to_seq
        .map_or(snapshot.next_seq(), |t| {
            t.saturating_add(1).min(snapshot.next_seq())
        })
        .max(range_start);
    let expected_count = end_exclusive - range_start;
    // With nothing to check, the range is empty: it ends just before it starts.
    let range_end = end_exclusive.saturating_sub(1);
    let head_row_hash = (expected_count > 0)
        .then(|| snapshot.row_hash_at(range_end).ok().flatten())
        .flatten()
        .unwrap_or(Hash([0; 32]));
    CheckRecord {
        check_id: 0,
        mode,
        chain_valid: errors.is_empty() && report.records_checked == expected_count,
        checked_at_ns: crate::clock::now_ns(),
        range_start,
        range_end,
        expected_count,
        actual_count: report.records_checked,
        head_row_hash,
        duration_ns: u64::try_from(report.elapsed.as_nanos()).unwrap_or(u64::MAX),
        errors_json: errors_json(&errors),
    }
}

/// `errors` as a JSON array of strings, cut to fit [`ERRORS_JSON_LEN_MAX`].
fn errors_json(errors: &[String]) -> String {
    let mut out = String::from("[");
    for (i, e) in errors.iter().enumerate() {
        let mut item = String::new();
        push_json_str(&mut item, e);
        if out.len() + item.len() + 2 > ERRORS_JSON_LEN_MAX {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// Runs the check `request` asks for on a fresh snapshot of `dir` and records it in the
/// check log. Returns the record as appended (with its check_id).
pub fn run_check(dir: &Path, request: CheckRequest) -> Result<CheckRecord> {
    check_and_record(&Snapshot::open(dir)?, request)
}

/// Appends `check` to the check log of `dir`, giving it the next check_id.
pub fn record_check(dir: &Path, check: CheckRecord) -> Result<CheckRecord> {
    let mut recorded = check;
    let (seq, _) = append_entry(dir, |seq, prev, out| {
        recorded.check_id = seq;
        encode_check(out, &recorded, prev)
    })?;
    debug_assert_eq!(seq, recorded.check_id);
    Ok(recorded)
}

/// When scheduled checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSchedule {
    /// Time between checks.
    pub interval: Duration,
    /// Every this many checks (counting from the first), one is full; at least 1.
    pub full_every: u32,
}

/// What a scheduled check gives its observer: the record, or why none could be made.
pub type CheckOutcome<'a> = std::result::Result<&'a CheckRecord, &'a crate::LedgerError>;

/// A background thread that checks a ledger on a schedule and records every check. Dropping
/// it (or [`CheckScheduler::stop`]) stops it after the check in progress.
pub struct CheckScheduler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CheckScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckScheduler").finish_non_exhaustive()
    }
}

impl CheckScheduler {
    /// Starts checking the ledger in `dir`: the first check after one interval, incremental
    /// (full if nothing passed before), and every `full_every`-th a full pass. `observe` hears
    /// every check (a failed one is the caller's to make loud) and every error that kept one
    /// from being recorded. Fails only if the thread cannot be started.
    pub fn start(
        dir: PathBuf,
        schedule: CheckSchedule,
        observe: impl Fn(CheckOutcome<'_>) + Send + 'static,
    ) -> Result<CheckScheduler> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let dir_shown = dir.clone();
        let full_every = u64::from(schedule.full_every.max(1));
        let thread = std::thread::Builder::new()
            .name("signal-ledger-checks".into())
            .spawn(move || {
                let mut run = 0u64;
                loop {
                    {
                        let (stopped, wake) = &*signal;
                        let mut stopped = stopped.lock();
                        if !*stopped {
                            wake.wait_for(&mut stopped, schedule.interval);
                        }
                        if *stopped {
                            return;
                        }
                    }
                    run += 1;
                    let request = if run.is_multiple_of(full_every) {
                        CheckRequest::Full
                    } else {
                        CheckRequest::Incremental
                    };
                    match run_check(&dir, request) {
                        Ok(record) => observe(Ok(&record)),
                        Err(e) => observe(Err(&e)),
                    }
                }
            })
            .map_err(|e| {
                crate::LedgerError::io("start the check scheduler thread", &dir_shown, e)
            })?;
        Ok(CheckScheduler {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (after the check in progress, if any).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock() = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CheckScheduler {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_json_is_a_json_array_within_the_limit_however_many_errors() {
        let many: Vec<String> = (0..2000)
            .map(|i| {
                format!(
                    "error {i}: \"quoted\" \\ and a line\nbreak {}",
                    "x".repeat(60)
                )
            })
            .collect();
        let json = errors_json(&many);
        assert!(json.len() <= ERRORS_JSON_LEN_MAX, "{}", json.len());
        let parsed: Vec<String> = serde_json::from_str(&json).unwrap();
        assert!(!parsed.is_empty() && parsed.len() < many.len());
        assert_eq!(parsed[..], many[..parsed.len()]);
        assert_eq!(errors_json(&[]), "[]");
    }
}
