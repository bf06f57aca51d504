//! `outcomes.ndjson`: every outcome entry of the exported signals, as stored (with its own seq,
//! prev_hash and row_hash), in seq order — the history behind the signals' `acted_upon` and
//! `execution_id` columns.

use std::collections::HashMap;
use std::io::Write;

use signal_ledger_engine::record::json::write_outcome_json;
use signal_ledger_query::{Catalog, Filter};

use crate::bundle::staging::StagedFile;
use crate::error::{ReplayError, Result};

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
    // Every outcome of the snapshot (below the catalog's outcome horizon), in seq order.
    let mut every: Vec<_> = catalog.outcomes()?.all().to_vec();
    every.sort_unstable_by_key(|o| o.seq);
    for loc in every {
        let Some(outcome) =
            catalog
                .snapshot()
                .outcome_at(loc.segment, loc.offset as usize, loc.seq)?
        else {
            continue;
        };
        let exported = match verdicts.get(&outcome.signal_seq) {
            Some(&v) => v,
            None => {
                let v = catalog.signal_matches(outcome.signal_seq, filter)?;
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
