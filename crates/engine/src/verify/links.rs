//! The link from each outcome to its signal: the entry at the outcome's `signal_seq` must be a
//! signal carrying the outcome's `signal_id` (FORMAT.md, "Outcome entry"), wherever it is held.

use crate::error::{CorruptKind, Corruption};
use crate::le::u32_at;
use crate::record::codec::{decode_signal, entry_seq};
use crate::record::frame::{frame_at, FrameAt, FRAME_HEADER_LEN};
use crate::segment::header::HEADER_LEN;
use crate::snapshot::Snapshot;

/// An outcome found by verification, and the signal it names.
#[derive(Debug, Clone)]
pub(super) struct OutcomeLink {
    /// The outcome's seq.
    pub seq: u64,
    /// Its segment (index in the snapshot) and frame offset.
    pub segment: usize,
    pub offset: usize,
    /// The signal it names.
    pub signal_seq: u64,
    pub signal_id: String,
}

/// Checks every link whose signal is held (a signal removed by retention cannot be checked);
/// returns a failure for each broken one. Each segment holding a named signal is walked once,
/// hopping over frame lengths.
pub(super) fn check_outcome_links(
    snapshot: &Snapshot,
    mut links: Vec<OutcomeLink>,
) -> Vec<Corruption> {
    links.retain(|l| l.signal_seq >= snapshot.first_seq() && l.signal_seq < snapshot.next_seq());
    links.sort_by_key(|l| l.signal_seq);
    let mut failures = Vec::new();
    let mut pending = links.into_iter().peekable();
    for seg in snapshot.segments() {
        let seg_end = seg.first_seq() + seg.record_count;
        let area = seg.bytes.get(..seg.records_end).unwrap_or_default();
        let mut offset = HEADER_LEN;
        let mut seq = seg.first_seq();
        while let Some(link) = pending.next_if(|l| l.signal_seq < seg_end) {
            // Hop to the named seq (links are sorted, so the walk only goes forward).
            while seq < link.signal_seq {
                let len = u32_at(area, offset).unwrap_or(u32::MAX) as usize;
                offset = offset.saturating_add(FRAME_HEADER_LEN).saturating_add(len);
                seq += 1;
            }
            let problem = match frame_at(area, offset) {
                FrameAt::Valid { body, .. } if entry_seq(body) == Some(seq) => {
                    match decode_signal(body) {
                        Ok(signal) if signal.signal_id == link.signal_id => None,
                        Ok(signal) => Some(format!(
                            "outcome names signal {:?} at seq {seq}, which holds signal {:?}",
                            link.signal_id, signal.signal_id
                        )),
                        Err(_) => Some(format!(
                            "outcome names signal {:?} at seq {seq}, which is not a signal entry",
                            link.signal_id
                        )),
                    }
                }
                // The frame itself is damaged: that damage is reported at its own seq.
                _ => None,
            };
            if let Some(problem) = problem {
                let file = snapshot
                    .segments()
                    .get(link.segment)
                    .map(|s| s.path.clone())
                    .unwrap_or_default();
                failures.push(Corruption {
                    file,
                    offset: link.offset as u64,
                    seq: Some(link.seq),
                    kind: CorruptKind::Malformed(problem),
                });
            }
        }
    }
    failures
}
