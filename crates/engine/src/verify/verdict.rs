//! The verify operation as every front end runs it (`signal-ledger verify`, POST /v1/verify, the
//! check scheduler): verify the entries, check a digest kept elsewhere, check the check log's
//! own chain, and optionally record the check in it. One [`Verdict`], one JSON shape
//! ([`Verdict`]'s `Serialize`), one line of text ([`Verdict`]'s `Display`).

use std::fmt;
use std::time::Instant;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::{verify_with_progress, VerifyOptions, VerifyReport};
use crate::checklog::{check_record, read_check_log, record_check, CheckMode, CheckRecord};
use crate::digest::Digest;
use crate::error::{CorruptKind, Corruption, LedgerError};
use crate::snapshot::Snapshot;

/// What to verify and whether to keep a record of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyRequest {
    /// The seq range (default: everything held) and the threading.
    pub options: VerifyOptions,
    /// A head digest taken earlier that the ledger must still hold.
    pub against: Option<Digest>,
    /// Record the check, passed or failed, in the ledger's check log.
    pub record: bool,
}

impl VerifyRequest {
    /// The check-log mode of this request: a range when either end is given, else full.
    pub fn mode(&self) -> CheckMode {
        if self.options.from_seq.is_some() || self.options.to_seq.is_some() {
            CheckMode::Range
        } else {
            CheckMode::Full
        }
    }
}

/// What a verification found: the entries' report, the digest check, the check log's damage,
/// and the check_id it was recorded under.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What verifying the entries found (including a torn tail, which is not a failure).
    pub report: VerifyReport,
    /// The digest checked against and what the check found.
    pub against: Option<(Digest, Result<(), Corruption>)>,
    /// Damage in the check log's own chain, if any.
    pub check_log_damage: Option<Corruption>,
    /// Bytes after the check log's last whole entry (an append cut short; not a failure).
    pub check_log_torn_bytes: u64,
    /// The check as recorded in the check log (with its check_id), when it was.
    pub recorded: Option<CheckRecord>,
}

/// A verification whose check could not be recorded: the verdict stands, the record is missing.
#[derive(Debug, thiserror::Error)]
#[error("the check was not recorded in the check log: {source}")]
pub struct NotRecorded {
    /// What verifying found.
    pub verdict: Box<Verdict>,
    /// Why appending to the check log failed.
    #[source]
    pub source: LedgerError,
}

/// Verifies `snapshot` as `request` asks, calling `progress` with the entries each finished work
/// unit checked, and records the check when asked to. Reading the check log never fails the
/// verification: damage in it is part of the verdict.
pub fn verify_ledger(
    snapshot: &Snapshot,
    request: &VerifyRequest,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verdict, NotRecorded> {
    verify_as(snapshot, request, request.mode(), Vec::new(), progress)
}

/// [`verify_ledger`] recorded as a check of `mode`, with `prior_errors` found before it (an
/// incremental check's start that no longer holds what the last check saw) counted as
/// failures of the check.
pub(crate) fn verify_as(
    snapshot: &Snapshot,
    request: &VerifyRequest,
    mode: CheckMode,
    prior_errors: Vec<String>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verdict, NotRecorded> {
    let started = Instant::now();
    let mut report = verify_with_progress(snapshot, request.options, progress);
    let against = request.against.map(|d| (d, d.check(snapshot)));
    let (check_log_damage, check_log_torn_bytes) = match read_check_log(snapshot.dir()) {
        Ok(log) => (log.damage, log.torn_bytes),
        Err(e) => (e.corruption().cloned(), 0),
    };
    // The time of the whole check, prior checks and the check log included.
    report.elapsed = started.elapsed();
    let mut verdict = Verdict {
        report,
        against,
        check_log_damage,
        check_log_torn_bytes,
        recorded: None,
    };
    if request.record {
        let mut errors = prior_errors;
        errors.extend(verdict.failures_besides_entries());
        let check = check_record(snapshot, mode, &request.options, &verdict.report, errors);
        match record_check(snapshot.dir(), check) {
            Ok(recorded) => verdict.recorded = Some(recorded),
            Err(source) => {
                return Err(NotRecorded {
                    verdict: Box::new(verdict),
                    source,
                })
            }
        }
    }
    Ok(verdict)
}

impl Verdict {
    /// The failure to report: the entries' first, else the check log's, else the digest
    /// check's (FORMAT.md, "Where failures are reported").
    pub fn first_failure(&self) -> Option<&Corruption> {
        self.report
            .first_failure
            .as_ref()
            .or(self.check_log_damage.as_ref())
            .or_else(|| self.digest_failure())
    }

    fn digest_failure(&self) -> Option<&Corruption> {
        self.against.as_ref().and_then(|(_, r)| r.as_ref().err())
    }

    /// The failures found besides the entries' own, as text: what a recorded check keeps in
    /// its errors_json after the entries' first failure.
    pub fn failures_besides_entries(&self) -> Vec<String> {
        self.digest_failure()
            .into_iter()
            .chain(self.check_log_damage.as_ref())
            .map(ToString::to_string)
            .collect()
    }

    /// Whether the ledger is intact and holds the digest.
    pub fn is_intact(&self) -> bool {
        self.first_failure().is_none()
    }

    /// Whether the only failure is a digest of entries retention removed: not evidence of
    /// tampering, but no longer checkable.
    pub fn is_not_checkable(&self) -> bool {
        self.report.first_failure.is_none()
            && self.check_log_damage.is_none()
            && matches!(
                self.digest_failure().map(|c| &c.kind),
                Some(CorruptKind::DigestPruned(_))
            )
    }
}

/// One line: `intact: N records checked (seq A..=B) in S s, head seq H row_hash X`, or
/// `TAMPERED: <the first failure>` (`NOT CHECKABLE: …` for a digest of removed entries), and
/// `; recorded as check N` when it was.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(failure) = self.first_failure() {
            let verdict = if self.is_not_checkable() {
                "NOT CHECKABLE"
            } else {
                "TAMPERED"
            };
            write!(f, "{verdict}: {failure}")?;
        } else {
            let r = &self.report;
            write!(f, "intact: {} records checked", r.records_checked)?;
            if r.records_checked > 0 {
                write!(
                    f,
                    " (seq {}..={})",
                    r.from_seq,
                    r.from_seq + r.records_checked - 1
                )?;
            }
            write!(f, " in {:.2} s", r.elapsed.as_secs_f64())?;
            match (r.head_seq, r.head_hash) {
                (Some(seq), Some(hash)) => write!(f, ", head seq {seq} row_hash {hash}")?,
                _ => f.write_str(", the ledger is empty")?,
            }
            if let Some((digest, _)) = &self.against {
                write!(
                    f,
                    "; digest seq {} row_hash {} matches",
                    digest.seq, digest.row_hash
                )?;
            }
        }
        if let Some(check) = &self.recorded {
            write!(f, "; recorded as check {}", check.check_id)?;
        }
        Ok(())
    }
}

/// The digest checked against: `{"seq","row_hash","matches"}`.
struct AgainstJson<'a>(&'a Digest, bool);

impl Serialize for AgainstJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Against", 3)?;
        o.serialize_field("seq", &self.0.seq)?;
        o.serialize_field("row_hash", &self.0.row_hash.to_hex())?;
        o.serialize_field("matches", &self.1)?;
        o.end()
    }
}

/// `{"intact","records_checked","from_seq","head_seq","head_hash","elapsed_ms","first_failure",
/// "against","torn_tail","check_id"}`: `verify --json` and POST /v1/verify. `elapsed_ms` is
/// rounded to the microsecond; `first_failure` is a [`Corruption`]'s JSON form, `torn_tail`
/// `{"file","offset","bytes"}`; absent values are null.
impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.report;
        let elapsed_ms = (r.elapsed.as_secs_f64() * 1e6).round() / 1e3;
        let mut o = s.serialize_struct("Verdict", 10)?;
        o.serialize_field("intact", &self.is_intact())?;
        o.serialize_field("records_checked", &r.records_checked)?;
        o.serialize_field("from_seq", &r.from_seq)?;
        o.serialize_field("head_seq", &r.head_seq)?;
        o.serialize_field("head_hash", &r.head_hash.map(|h| h.to_hex()))?;
        o.serialize_field("elapsed_ms", &elapsed_ms)?;
        o.serialize_field("first_failure", &self.first_failure())?;
        o.serialize_field(
            "against",
            &self
                .against
                .as_ref()
                .map(|(d, result)| AgainstJson(d, result.is_ok())),
        )?;
        o.serialize_field("torn_tail", &r.torn_tail)?;
        o.serialize_field("check_id", &self.recorded.as_ref().map(|c| c.check_id))?;
        o.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::hash::Hash;
    use crate::snapshot::TornTail;

    fn verdict() -> Verdict {
        Verdict {
            report: VerifyReport {
                records_checked: 3,
                from_seq: 0,
                head_seq: Some(2),
                head_hash: Some(Hash([0xAB; 32])),
                first_failure: None,
                torn_tail: Some(TornTail {
                    path: PathBuf::from("/l/00000000000000000000.seg"),
                    offset: 4096,
                    bytes: 7,
                }),
                elapsed: Duration::from_nanos(12_345_678),
            },
            against: None,
            check_log_damage: None,
            check_log_torn_bytes: 0,
            recorded: None,
        }
    }

    /// The keys of the verdict's JSON, in the order `verify --json` and POST /v1/verify write
    /// them.
    const KEYS: [&str; 10] = [
        "intact",
        "records_checked",
        "from_seq",
        "head_seq",
        "head_hash",
        "elapsed_ms",
        "first_failure",
        "against",
        "torn_tail",
        "check_id",
    ];

    #[test]
    fn json_has_every_key_in_order_and_the_elapsed_time_to_the_microsecond() {
        let text = serde_json::to_string(&verdict()).unwrap();
        let mut at = 0;
        for key in KEYS {
            let needle = format!("\"{key}\":");
            at += text[at..]
                .find(&needle)
                .unwrap_or_else(|| panic!("{key} in {text}"))
                + needle.len();
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_object().unwrap().len(), KEYS.len());
        assert_eq!(v["elapsed_ms"], 12.346);
        assert_eq!(
            v["torn_tail"],
            serde_json::json!({"file": "/l/00000000000000000000.seg", "offset": 4096, "bytes": 7})
        );
        assert!(v["first_failure"].is_null() && v["check_id"].is_null());
        assert_eq!(v["head_hash"], "ab".repeat(32));
    }

    #[test]
    fn text_is_one_line_and_a_failure_or_a_pruned_digest_says_so() {
        let intact = verdict().to_string();
        assert!(
            intact.starts_with("intact: 3 records checked (seq 0..=2) in 0.01 s, head seq 2"),
            "{intact}"
        );
        let pruned = Verdict {
            against: Some((
                Digest {
                    seq: 1,
                    row_hash: Hash([1; 32]),
                    recorded_at_ns: 0,
                },
                Err(Corruption {
                    file: PathBuf::from("/l"),
                    offset: 0,
                    seq: Some(1),
                    kind: CorruptKind::DigestPruned("removed".into()),
                }),
            )),
            ..verdict()
        };
        assert!(pruned.is_not_checkable() && !pruned.is_intact());
        assert!(
            pruned.to_string().starts_with("NOT CHECKABLE: "),
            "{pruned}"
        );
        let damaged = Verdict {
            check_log_damage: Some(Corruption {
                file: PathBuf::from("/l/checks.log"),
                offset: 0,
                seq: None,
                kind: CorruptKind::BadMagic,
            }),
            ..pruned
        };
        assert!(!damaged.is_not_checkable());
        assert!(damaged.to_string().starts_with("TAMPERED: "), "{damaged}");
    }
}
