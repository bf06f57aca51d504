//! `verify`: the engine's parallel verification, an optional digest check, and the verdict as a
//! line of text or one JSON object. Exit 0 intact, 1 tampered or broken.

use std::path::Path;

use signal_ledger_engine::checklog::{check_record, read_check_log, record_check, CheckMode};
use signal_ledger_engine::{
    verify_with_progress, CorruptKind, Corruption, Digest, Snapshot, VerifyOptions, VerifyReport,
};

use crate::args::{GlobalArgs, VerifyArgs};
use crate::error::{CliError, CliResult, EXIT_OK, EXIT_TAMPERED};
use crate::output::{self, JsonObject};
use crate::{progress, wiring};

/// A verification and, with `--against`, the digest check.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What verify found.
    pub report: VerifyReport,
    /// The digest checked against and what the check found.
    pub against: Option<(Digest, Result<(), Corruption>)>,
    /// Damage in the check log (its own chain), if any.
    pub check_log_damage: Option<Corruption>,
    /// The check_id under which this verification was recorded (`--record`).
    pub recorded: Option<u64>,
}

impl Verdict {
    /// The failure to report: verify's first, else the check log's, else the digest check's
    /// (the order of FORMAT.md, "Where failures are reported").
    pub fn first_failure(&self) -> Option<&Corruption> {
        self.report
            .first_failure
            .as_ref()
            .or(self.check_log_damage.as_ref())
            .or_else(|| self.against.as_ref().and_then(|(_, r)| r.as_ref().err()))
    }

    /// Every failure found, as text (what a recorded check keeps in its errors_json).
    pub fn failures(&self) -> Vec<String> {
        let digest = self.against.as_ref().and_then(|(_, r)| r.as_ref().err());
        digest
            .into_iter()
            .chain(self.check_log_damage.as_ref())
            .map(|c| c.to_string())
            .collect()
    }

    /// Whether the ledger is intact and holds the digest.
    pub fn is_intact(&self) -> bool {
        self.first_failure().is_none()
    }

    /// The exit code: 0 intact, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.is_intact() {
            EXIT_OK
        } else {
            EXIT_TAMPERED
        }
    }

    /// One line: `intact: N records checked (seq A..=B) in S s, head seq H row_hash X`, or
    /// `TAMPERED: <the first failure>`.
    pub fn to_text(&self) -> String {
        let recorded = self
            .recorded
            .map(|id| format!("; recorded as check {id}"))
            .unwrap_or_default();
        if let Some(failure) = self.first_failure() {
            // A digest of entries retention removed is not evidence of tampering: it just
            // cannot be checked any more (the message names the anchor).
            let verdict = match failure.kind {
                CorruptKind::DigestPruned(_) if self.report.first_failure.is_none() => {
                    "NOT CHECKABLE"
                }
                _ => "TAMPERED",
            };
            return format!("{verdict}: {failure}{recorded}");
        }
        let r = &self.report;
        let mut text = format!("intact: {} records checked", r.records_checked);
        if r.records_checked > 0 {
            text.push_str(&format!(
                " (seq {}..={})",
                r.from_seq,
                r.from_seq + r.records_checked - 1
            ));
        }
        text.push_str(&format!(" in {:.2} s", r.elapsed.as_secs_f64()));
        match (r.head_seq, r.head_hash) {
            (Some(seq), Some(hash)) => {
                text.push_str(&format!(", head seq {seq} row_hash {hash}"));
            }
            _ => text.push_str(", the ledger is empty"),
        }
        if let Some((digest, _)) = &self.against {
            text.push_str(&format!(
                "; digest seq {} row_hash {} matches",
                digest.seq, digest.row_hash
            ));
        }
        text.push_str(&recorded);
        text
    }

    /// The `--json` object.
    pub fn to_json(&self) -> String {
        let r = &self.report;
        let mut o = JsonObject::new();
        o.bool("intact", self.is_intact())
            .u64("records_checked", r.records_checked)
            .u64("from_seq", r.from_seq)
            .opt_u64("head_seq", r.head_seq)
            .opt_str("head_hash", r.head_hash.map(|h| h.to_hex()).as_deref())
            .raw(
                "elapsed_ms",
                &format!("{:.3}", r.elapsed.as_secs_f64() * 1000.0),
            );
        match self.first_failure() {
            Some(c) => o.raw("first_failure", &corruption_json(c)),
            None => o.raw("first_failure", "null"),
        };
        match &self.against {
            Some((d, result)) => o.raw(
                "against",
                &JsonObject::new()
                    .u64("seq", d.seq)
                    .str("row_hash", &d.row_hash.to_hex())
                    .bool("matches", result.is_ok())
                    .finish(),
            ),
            None => o.raw("against", "null"),
        };
        o.opt_u64("check_id", self.recorded);
        o.finish()
    }
}

/// `{"file","offset","seq","problem","message"}`.
pub fn corruption_json(c: &Corruption) -> String {
    JsonObject::new()
        .str("file", &output::path_text(&c.file))
        .u64("offset", c.offset)
        .opt_u64("seq", c.seq)
        .str("problem", &c.kind.to_string())
        .str("message", &c.to_string())
        .finish()
}

/// Reads `--against`: the digest line itself (it starts with `{`) or a file holding it.
pub fn parse_against(arg: &str) -> CliResult<Digest> {
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg)
            .map_err(|e| CliError::new(format!("--against: read {arg}: {e}")))?
    };
    Digest::parse(&text).map_err(|e| CliError::new(format!("--against: {e}")))
}

/// Verifies `snapshot`, with a progress bar, and checks `against` if given.
pub fn check(snapshot: &Snapshot, options: VerifyOptions, against: Option<Digest>) -> Verdict {
    let from = options.from_seq.unwrap_or(0).max(snapshot.first_seq());
    let to = options
        .to_seq
        .map_or(snapshot.next_seq(), |t| t.saturating_add(1))
        .min(snapshot.next_seq());
    let bar = progress::records(to.saturating_sub(from), "verify");
    let report = verify_with_progress(snapshot, options, &|n| bar.inc(n));
    bar.finish_and_clear();
    let against = against.map(|d| {
        let result = d.check(snapshot);
        (d, result)
    });
    let check_log_damage = match read_check_log(snapshot.dir()) {
        Ok(log) => {
            if log.torn_bytes > 0 {
                output::eprintln(&format!(
                    "note: {} ends in {} bytes that are not a valid entry (an append cut short, or its last entry damaged); the next append removes them",
                    log.path.display(),
                    log.torn_bytes
                ));
            }
            log.damage
        }
        Err(e) => e.corruption().cloned(),
    };
    Verdict {
        report,
        against,
        check_log_damage,
        recorded: None,
    }
}

/// Opens `dir` and verifies it.
pub fn verify_dir(
    dir: &Path,
    options: VerifyOptions,
    against: Option<Digest>,
) -> CliResult<Verdict> {
    Ok(verify_snapshot(dir, options, against)?.1)
}

/// Opens `dir`, verifies it, and returns the snapshot verified with the verdict.
fn verify_snapshot(
    dir: &Path,
    options: VerifyOptions,
    against: Option<Digest>,
) -> CliResult<(Snapshot, Verdict)> {
    let snapshot = wiring::open_snapshot(dir)?;
    if let Some(t) = snapshot.torn_tail() {
        output::eprintln(&format!(
            "note: {} ends in a torn tail of {} bytes at byte {} (not part of the ledger; the next writer removes it)",
            t.path.display(),
            t.bytes,
            t.offset
        ));
    }
    let verdict = check(&snapshot, options, against);
    Ok((snapshot, verdict))
}

/// Runs `verify` and returns the exit code.
pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> CliResult<u8> {
    let dir = wiring::ledger_dir(global)?;
    let against = args.against.as_deref().map(parse_against).transpose()?;
    let options = VerifyOptions {
        from_seq: args.from_seq,
        to_seq: args.to_seq,
        sequential: args.sequential,
    };
    let (snapshot, mut verdict) = verify_snapshot(dir, options, against)?;
    if args.record {
        // A check of a seq range asked for, or of the whole ledger.
        let mode = if args.from_seq.is_some() || args.to_seq.is_some() {
            CheckMode::Range
        } else {
            CheckMode::Full
        };
        let check = check_record(
            &snapshot,
            mode,
            &options,
            &verdict.report,
            verdict.failures(),
        );
        match record_check(dir, check) {
            Ok(recorded) => verdict.recorded = Some(recorded.check_id),
            Err(e) => {
                // The verdict stands; say it was not recorded, and why.
                output::println(&if args.json {
                    verdict.to_json()
                } else {
                    verdict.to_text()
                })?;
                return Err(CliError::new(format!(
                    "the check was not recorded in the check log: {e}"
                )));
            }
        }
    }
    output::println(&if args.json {
        verdict.to_json()
    } else {
        verdict.to_text()
    })?;
    Ok(verdict.exit_code())
}
