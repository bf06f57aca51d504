//! `outcomes.ndjson`: every outcome entry of the exported signals, as stored (with its own seq,
//! prev_hash and row_hash), in seq order — the history behind the signals' `acted_upon` and
//! `execution_id` columns.

use std::collections::HashMap;
use std::io::Write;

use signal_ledger_engine::record::json::write_outcome_json;
use signal_ledger_query::{Catalog, Filter};

use crate::bundle::staging::StagedFile;
use crate::error::{ReplayError, Result};

/// Where an outcome entry is: (seq, segment, frame offset).
type Located = (u64, usize, usize);

/// Every outcome entry of the catalog's snapshot (below its outcome horizon), in seq order,
/// as the segment indexes place them: the same rows [`Catalog::outcomes`] is gathered from.
/// Export has loaded every index already, so this reads no segment.
fn every_outcome(catalog: &Catalog) -> Result<Vec<Located>> {
    let horizon = catalog.outcome_horizon();
    let mut found = Vec::new();
    for (segment, index) in catalog.indexes()?.into_iter().enumerate() {
        for row in &index.outcomes {
            let seq = index.first_seq + u64::from(row.row);
            let offset = index.offsets.get(row.row as usize).copied();
            if let (Some(offset), true) = (offset, seq < horizon) {
                found.push((seq, segment, offset as usize));
            }
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Whether the entry at `seq` is a signal meeting `filter` with its latest outcome applied —
/// exactly the test the export applies to the signals it writes — found through the index of
/// its segment (no walk over frames).
fn signal_exported(catalog: &Catalog, seq: u64, filter: &Filter) -> Result<bool> {
    let snapshot = catalog.snapshot();
    let segment = snapshot
        .segments()
        .partition_point(|s| s.first_seq() + s.record_count <= seq);
    if seq < snapshot.first_seq() || segment >= snapshot.segments().len() {
        return Ok(false);
    }
    let index = catalog.index(segment)?;
    let Some(row) = seq.checked_sub(index.first_seq) else {
        return Ok(false);
    };
    let row = row as usize;
    let Some(&offset) = index.offsets.get(row) else {
        return Ok(false);
    };
    if !index.is_signal(row) {
        return Ok(false);
    }
    let Some(view) = snapshot.view_at(segment, offset as usize, seq)? else {
        return Ok(false); // the index placed it wrongly: the export skipped it too
    };
    Ok(filter.matches_view(&catalog.with_outcome(view)?))
}

/// Writes every outcome whose signal meets `filter`, one JSON object per line as `tail`
/// prints outcomes, in seq order; returns how many. An outcome the index places where no
/// whole outcome entry is, is left out, as queries leave it out of a signal's history.
pub(crate) fn write_outcomes(
    catalog: &Catalog,
    filter: &Filter,
    file: &mut StagedFile,
) -> Result<u64> {
    let mut verdicts: HashMap<u64, bool> = HashMap::new();
    let mut line = String::with_capacity(512);
    let mut written = 0;
    for (seq, segment, offset) in every_outcome(catalog)? {
        let Some(outcome) = catalog.snapshot().outcome_at(segment, offset, seq)? else {
            continue;
        };
        let exported = match verdicts.get(&outcome.signal_seq) {
            Some(&v) => v,
            None => {
                let v = signal_exported(catalog, outcome.signal_seq, filter)?;
                verdicts.insert(outcome.signal_seq, v);
                v
            }
        };
        if !exported {
            continue;
        }
        line.clear();
        write_outcome_json(&outcome, &mut line);
        line.push('\n');
        file.out
            .write_all(line.as_bytes())
            .map_err(|e| ReplayError::io("write", &file.path, e))?;
        written += 1;
    }
    Ok(written)
}
