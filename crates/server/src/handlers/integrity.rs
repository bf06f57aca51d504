//! Integrity: POST /v1/verify (verify the ledger and record the check, as
//! `signal-ledger verify --record`), GET /v1/checks (the check log, as `checks`) and
//! GET /v1/digest (the head digest, as `digest`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::value::RawValue;
use signal_ledger_engine::checklog::{check_record, read_check_log, record_check, CheckMode};
use signal_ledger_engine::{verify, Corruption, Digest, Snapshot, VerifyOptions};

use crate::app::AppState;
use crate::error::ApiError;
use crate::handlers::{blocking, params};
use crate::{json, params as parse};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Damage found, located.
#[derive(Debug, Serialize)]
pub struct CorruptionBody {
    /// The file.
    pub file: String,
    /// Byte offset in it.
    pub offset: u64,
    /// The seq concerned, when known.
    pub seq: Option<u64>,
    /// What kind of damage.
    pub problem: String,
    /// The whole message.
    pub message: String,
}

impl From<&Corruption> for CorruptionBody {
    fn from(c: &Corruption) -> Self {
        CorruptionBody {
            file: c.file.display().to_string(),
            offset: c.offset,
            seq: c.seq,
            problem: c.kind.to_string(),
            message: c.to_string(),
        }
    }
}

/// What POST /v1/verify answers (`verify --json --record`).
#[derive(Debug, Serialize)]
pub struct VerdictBody {
    /// No damage anywhere: entries, links, check log.
    pub intact: bool,
    /// Entries checked.
    pub records_checked: u64,
    /// First seq checked.
    pub from_seq: u64,
    /// The head's seq.
    pub head_seq: Option<u64>,
    /// The head's row hash.
    pub head_hash: Option<String>,
    /// How long the check took.
    pub elapsed_ms: f64,
    /// The first damage found (the ledger's, else the check log's).
    pub first_failure: Option<CorruptionBody>,
    /// The check's id in the check log.
    pub check_id: u64,
}

/// Verifies the ledger (every CRC, row hash and link, in parallel, and the check log's own
/// chain) and records the check, passed or failed, in the check log. Parameters `from_seq`,
/// `to_seq` check a range. The verdict is the answer (200 either way); 500 only if the check
/// could not be made or recorded.
pub async fn post_verify(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let (from_seq, to_seq) = parse::verify(params(query)?)?;
    let dir = state.dir.clone();
    let body = blocking(move || {
        let snapshot = Snapshot::open(&dir)?;
        let options = VerifyOptions {
            from_seq,
            to_seq,
            ..VerifyOptions::default()
        };
        let report = verify(&snapshot, options);
        let log_damage = match read_check_log(&dir) {
            Ok(log) => log.damage,
            Err(e) => e.corruption().cloned(),
        };
        let mode = if from_seq.is_some() || to_seq.is_some() {
            CheckMode::Range
        } else {
            CheckMode::Full
        };
        let errors = log_damage.iter().map(ToString::to_string).collect();
        let check = check_record(&snapshot, mode, &options, &report, errors);
        let recorded = record_check(&dir, check).map_err(|e| {
            ApiError::Internal(format!("the check was not recorded in the check log: {e}"))
        })?;
        let failure = report.first_failure.as_ref().or(log_damage.as_ref());
        Ok(VerdictBody {
            intact: failure.is_none(),
            records_checked: report.records_checked,
            from_seq: report.from_seq,
            head_seq: report.head_seq,
            head_hash: report.head_hash.map(|h| h.to_hex()),
            elapsed_ms: report.elapsed.as_secs_f64() * 1000.0,
            first_failure: failure.map(CorruptionBody::from),
            check_id: recorded.check_id,
        })
    })
    .await?;
    json::ok(&body)
}

/// What GET /v1/checks answers.
#[derive(Debug, Serialize)]
pub struct ChecksBody {
    /// The recorded checks, oldest first (only the failed ones with `failed=true`), each as
    /// [`CheckRecord::to_json`](signal_ledger_engine::checklog::CheckRecord::to_json) writes
    /// it (the `checks --format json` lines).
    pub checks: Vec<Box<RawValue>>,
    /// Damage in the check log's own chain (the checks listed are those before it).
    pub check_log_damage: Option<CorruptionBody>,
}

/// The integrity checks recorded in the check log (`signal-ledger checks`).
pub async fn get_checks(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let failed = parse::checks(params(query)?)?;
    let dir = state.dir.clone();
    let body = blocking(move || {
        let log = read_check_log(&dir)?;
        let checks = log
            .checks()
            .filter(|c| !failed || !c.chain_valid)
            .map(|c| json::raw(c.to_json()))
            .collect::<Result<_, _>>()?;
        Ok(ChecksBody {
            checks,
            check_log_damage: log.damage.as_ref().map(CorruptionBody::from),
        })
    })
    .await?;
    json::ok(&body)
}

/// The head digest `{"seq","row_hash","timestamp"}` (`signal-ledger digest`); 404 when the
/// ledger is empty.
pub async fn get_digest(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    let dir = state.dir.clone();
    let text = blocking(move || {
        let snapshot = Snapshot::open(&dir)?;
        match Digest::of_head(&snapshot)? {
            Some(d) => Ok(d.to_json()),
            None if snapshot.record_count() == 0 => Err(ApiError::NotFound(
                "the ledger is empty: no head to digest".to_owned(),
            )),
            None => Err(ApiError::Internal(match snapshot.damage() {
                Some(c) => format!("the head entry cannot be read: {c}"),
                None => "the head entry cannot be read; run verify".to_owned(),
            })),
        }
    })
    .await?;
    Ok(json::response(axum::http::StatusCode::OK, text))
}
