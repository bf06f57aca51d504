//! Integrity: POST /v1/verify (verify the ledger and record the check, as
//! `signal-ledger verify --record`), GET /v1/checks (the check log, as `checks`) and
//! GET /v1/digest (the head digest, as `digest`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Serialize;
use signal_ledger_engine::checklog::{read_check_log, CheckRecord};
use signal_ledger_engine::{
    verify_ledger, Corruption, Digest, NoHead, Snapshot, VerifyOptions, VerifyRequest,
};

use crate::error::ApiError;
use crate::handlers::{blocking, params};
use crate::state::AppState;
use crate::{json, params as parse};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Verifies the ledger (every CRC, row hash and link, in parallel, and the check log's own
/// chain) and records the check, passed or failed, in the check log: the engine's
/// [`verify_ledger`], answered as its `Verdict` (`verify --json --record`). Parameters
/// `from_seq`, `to_seq` check a range. The verdict is the answer (200 either way); 500 only if
/// the check could not be made or recorded.
pub async fn post_verify(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    let (from_seq, to_seq) = parse::verify(params(query)?)?;
    let dir = state.dir.clone();
    let verdict = blocking(move || {
        let snapshot = Snapshot::open(&dir)?;
        let request = VerifyRequest {
            options: VerifyOptions {
                from_seq,
                to_seq,
                ..VerifyOptions::default()
            },
            against: None,
            record: true,
        };
        verify_ledger(&snapshot, &request, &|_| {}).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(json::ok(&verdict))
}

/// What GET /v1/checks answers.
#[derive(Debug, Serialize)]
pub struct ChecksBody {
    /// The recorded checks, oldest first (only the failed ones with `failed=true`), as the
    /// `checks --format json` lines.
    pub checks: Vec<CheckRecord>,
    /// Damage in the check log's own chain (the checks listed are those before it).
    pub check_log_damage: Option<Corruption>,
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
            .cloned()
            .collect();
        Ok(ChecksBody {
            checks,
            check_log_damage: log.damage,
        })
    })
    .await?;
    Ok(json::ok(&body))
}

/// The head digest `{"seq","row_hash","timestamp"}` (`signal-ledger digest`); 404 when the
/// ledger is empty.
pub async fn get_digest(
    State(state): State<Arc<AppState>>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    let dir = state.dir.clone();
    let digest = blocking(move || {
        let snapshot = Snapshot::open(&dir)?;
        Digest::of_head_required(&snapshot).map_err(|e| match e {
            NoHead::Empty => ApiError::NotFound(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        })
    })
    .await?;
    Ok(json::ok(&digest))
}
