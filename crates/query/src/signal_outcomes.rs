//! A signal's outcomes read through the [`Catalog`]: the latest one, the whole history, a
//! record or view with its latest outcome applied, and whether an entry meets a filter as
//! queries judge it (its latest outcome applied). The outcomes themselves are gathered once
//! per catalog ([`crate::outcomes`]).

use signal_ledger_engine::record::{OutcomeRecord, OutcomeView, SignalView};
use signal_ledger_engine::SignalRecord;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::filter::Filter;

impl Catalog {
    /// The latest outcome of the signal with seq `signal_seq`, decoded, if it has one.
    pub fn latest_outcome(&self, signal_seq: u64) -> Result<Option<OutcomeView<'_>>> {
        let Some(loc) = self.outcomes()?.latest(signal_seq).copied() else {
            return Ok(None);
        };
        Ok(self
            .snapshot()
            .outcome_at(loc.segment, loc.offset as usize, loc.seq)?
            .filter(|o| o.signal_seq == signal_seq))
    }

    /// Every outcome of the signal with seq `signal_seq`, oldest first.
    pub fn outcome_history(&self, signal_seq: u64) -> Result<Vec<OutcomeRecord>> {
        let mut history = Vec::new();
        for loc in self.outcomes()?.of(signal_seq) {
            let found = self
                .snapshot()
                .outcome_at(loc.segment, loc.offset as usize, loc.seq)?;
            if let Some(o) = found.filter(|o| o.signal_seq == signal_seq) {
                history.push(o.to_record());
            }
        }
        Ok(history)
    }

    /// `view` with its latest outcome applied (unchanged if it has none).
    pub fn with_outcome<'a>(&'a self, mut view: SignalView<'a>) -> Result<SignalView<'a>> {
        if let Some(o) = self.latest_outcome(view.seq)? {
            view.acted_upon = Some(o.decision.acted_upon());
            view.execution_id = o.execution_id;
        }
        Ok(view)
    }

    /// Applies the latest outcome of `record` to its columns (unchanged if it has none).
    pub fn apply_outcome(&self, record: &mut SignalRecord) -> Result<()> {
        if let Some(o) = self.latest_outcome(record.seq)? {
            record.signal.acted_upon = Some(o.decision.acted_upon());
            record.signal.execution_id = o.execution_id.map(str::to_owned);
        }
        Ok(())
    }

    /// Whether the entry at `seq` is a signal that meets `filter` (its latest outcome applied,
    /// as queries and exports judge it): how an outcome is tied to the signals a filter
    /// selects. Found through its segment's index, not by a walk over frames.
    pub fn signal_matches(&self, seq: u64, filter: &Filter) -> Result<bool> {
        let snapshot = self.snapshot();
        let segment = snapshot
            .segments()
            .partition_point(|s| s.first_seq() + s.record_count <= seq);
        if seq < snapshot.first_seq() || segment >= snapshot.segments().len() {
            return Ok(false);
        }
        let index = self.index(segment)?;
        let Some(row) = seq.checked_sub(index.first_seq).map(|r| r as usize) else {
            return Ok(false);
        };
        let Some(&offset) = index.offsets.get(row).filter(|_| index.is_signal(row)) else {
            return Ok(false);
        };
        let Some(view) = snapshot.view_at(segment, offset as usize, seq)? else {
            return Ok(false); // the index placed it wrongly: queries and exports skip it too
        };
        Ok(filter.matches_view(&self.with_outcome(view)?))
    }
}
