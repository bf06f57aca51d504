//! Outcomes: whether a recorded signal was acted upon, known after it was recorded.
//!
//! A signal entry never changes. An executor that later acts on a signal (or dismisses it)
//! appends an *outcome* entry (kind `0x02`, format version 2) to the same hash chain, naming the
//! signal by its `signal_id` and by its seq. A signal may have any number of outcomes; readers
//! show the latest one in the signal's `acted_upon` and `execution_id` columns. Layout
//! (FORMAT.md, "Outcome entry"):
//!
//! ```text
//! 0    1  kind            0x02
//! 1    1  decision        0 dismissed, 1 acted
//! 2    6  reserved        zero
//! 8    8  seq             u64
//! 16   8  decided_at_ns   i64: when the executor decided (its clock)
//! 24   8  recorded_at_ns  i64: when the ledger accepted the outcome (the writer's clock)
//! 32   8  signal_seq      u64: seq of the signal, below seq
//! 40   …  signal_id       string, 1..=64 bytes
//!      …  execution_id    string, 0..=64 bytes (empty: absent)
//!      2  reason length   u16, 0..=1024
//!      …  reason          UTF-8 (empty: absent)
//! n-64 32 prev_hash
//! n-32 32 row_hash
//! ```

use crate::error::CorruptKind;
use crate::hash::{row_hash, Hash};
use crate::record::codec::{malformed, put_str, split_hashes, utf8, Cursor, EntryKind, HASHES_LEN};
use crate::record::signal::{check_optional_text, check_text, FieldError, ID_LEN_MAX};

/// Longest `reason` of an outcome, in bytes.
pub const REASON_LEN_MAX: usize = 1024;

/// Offset of `signal_seq` in an outcome body; the variable part starts 8 bytes later.
const SIGNAL_SEQ_OFFSET: usize = 32;
/// Length of the fixed part of an outcome body.
pub const OUTCOME_FIXED_LEN: usize = SIGNAL_SEQ_OFFSET + 8;
/// Largest outcome body: fixed part, two one-byte-prefixed ids, the reason and the hashes.
pub const OUTCOME_BODY_LEN_MAX: usize =
    OUTCOME_FIXED_LEN + 2 * (1 + ID_LEN_MAX) + 2 + REASON_LEN_MAX + HASHES_LEN;
const _: () = assert!(OUTCOME_FIXED_LEN == 40);
const _: () = assert!(OUTCOME_BODY_LEN_MAX == 1260);

/// What the executor did with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Not acted upon (and not going to be).
    Dismissed,
    /// Acted upon.
    Acted,
}

impl Decision {
    /// The stored code.
    pub fn code(self) -> u8 {
        match self {
            Decision::Dismissed => 0,
            Decision::Acted => 1,
        }
    }

    /// The decision stored as `code`, if any.
    pub fn from_code(code: u8) -> Option<Decision> {
        match code {
            0 => Some(Decision::Dismissed),
            1 => Some(Decision::Acted),
            _ => None,
        }
    }

    /// As the `acted_upon` column shows it.
    pub fn acted_upon(self) -> bool {
        self == Decision::Acted
    }

    /// The decision whose `acted_upon` is `acted`.
    pub fn from_acted(acted: bool) -> Decision {
        if acted {
            Decision::Acted
        } else {
            Decision::Dismissed
        }
    }
}

/// An outcome as the executor gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The signal it is the outcome of (must be recorded in the ledger).
    pub signal_id: String,
    /// Acted upon or dismissed.
    pub decision: Decision,
    /// The executor's id of the execution, if any.
    pub execution_id: Option<String>,
    /// Why, in words (at most [`REASON_LEN_MAX`] bytes, no control characters).
    pub reason: Option<String>,
    /// When the executor decided, ns since the epoch.
    pub decided_at_ns: i64,
}

impl Outcome {
    /// Checks every field: the ids as a signal's ids, the reason's length and characters.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("signal_id", &self.signal_id, ID_LEN_MAX)?;
        check_optional_text("execution_id", &self.execution_id, ID_LEN_MAX)?;
        check_optional_text("reason", &self.reason, REASON_LEN_MAX)?;
        Ok(())
    }
}

/// An outcome entry decoded in place: strings borrow from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeView<'a> {
    /// seq of the outcome entry.
    pub seq: u64,
    /// Acted upon or dismissed.
    pub decision: Decision,
    /// When the executor decided, ns.
    pub decided_at_ns: i64,
    /// When the ledger accepted it, ns.
    pub recorded_at_ns: i64,
    /// seq of the signal it is the outcome of.
    pub signal_seq: u64,
    /// signal_id of that signal.
    pub signal_id: &'a str,
    /// The executor's id of the execution.
    pub execution_id: Option<&'a str>,
    /// Why, in words.
    pub reason: Option<&'a str>,
    /// prev_hash of the entry.
    pub prev_hash: Hash,
    /// row_hash of the entry.
    pub row_hash: Hash,
}

/// An outcome entry, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    /// seq of the outcome entry.
    pub seq: u64,
    /// The outcome as given.
    pub outcome: Outcome,
    /// When the ledger accepted it, ns.
    pub recorded_at_ns: i64,
    /// seq of the signal it is the outcome of.
    pub signal_seq: u64,
    /// prev_hash of the entry.
    pub prev_hash: Hash,
    /// row_hash of the entry.
    pub row_hash: Hash,
}

impl OutcomeView<'_> {
    /// Copies the view into an owned record.
    pub fn to_record(&self) -> OutcomeRecord {
        OutcomeRecord {
            seq: self.seq,
            outcome: Outcome {
                signal_id: self.signal_id.to_owned(),
                decision: self.decision,
                execution_id: self.execution_id.map(str::to_owned),
                reason: self.reason.map(str::to_owned),
                decided_at_ns: self.decided_at_ns,
            },
            recorded_at_ns: self.recorded_at_ns,
            signal_seq: self.signal_seq,
            prev_hash: self.prev_hash,
            row_hash: self.row_hash,
        }
    }
}

impl OutcomeRecord {
    /// The record as a view borrowing its strings (what formatters take).
    pub fn as_view(&self) -> OutcomeView<'_> {
        OutcomeView {
            seq: self.seq,
            decision: self.outcome.decision,
            decided_at_ns: self.outcome.decided_at_ns,
            recorded_at_ns: self.recorded_at_ns,
            signal_seq: self.signal_seq,
            signal_id: &self.outcome.signal_id,
            execution_id: self.outcome.execution_id.as_deref(),
            reason: self.outcome.reason.as_deref(),
            prev_hash: self.prev_hash,
            row_hash: self.row_hash,
        }
    }
}

/// Where an outcome entry goes: its seq, the writer's clock and the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeStamp {
    /// seq the entry takes.
    pub seq: u64,
    /// When the ledger accepted it, ns.
    pub recorded_at_ns: i64,
    /// Row hash of the entry before it.
    pub prev_hash: Hash,
    /// seq of the signal (below `seq`), resolved from the outcome's signal_id.
    pub signal_seq: u64,
}

/// Appends the body of `outcome` stamped with `stamp` to `out`; returns its row hash. The
/// caller has validated `outcome` ([`Outcome::validate`]).
pub fn encode_outcome_body(out: &mut Vec<u8>, stamp: &OutcomeStamp, outcome: &Outcome) -> Hash {
    debug_assert!(
        stamp.signal_seq < stamp.seq,
        "an outcome follows its signal"
    );
    let start = out.len();
    out.push(EntryKind::Outcome as u8);
    out.push(outcome.decision.code());
    out.extend_from_slice(&[0u8; 6]);
    out.extend_from_slice(&stamp.seq.to_le_bytes());
    out.extend_from_slice(&outcome.decided_at_ns.to_le_bytes());
    out.extend_from_slice(&stamp.recorded_at_ns.to_le_bytes());
    out.extend_from_slice(&stamp.signal_seq.to_le_bytes());
    debug_assert_eq!(out.len() - start, OUTCOME_FIXED_LEN);
    put_str(out, &outcome.signal_id);
    put_str(out, outcome.execution_id.as_deref().unwrap_or(""));
    let reason = outcome.reason.as_deref().unwrap_or("");
    debug_assert!(reason.len() <= REASON_LEN_MAX);
    out.extend_from_slice(&(reason.len() as u16).to_le_bytes());
    out.extend_from_slice(reason.as_bytes());
    let hash = row_hash(&stamp.prev_hash, out.get(start..).unwrap_or_default());
    out.extend_from_slice(&stamp.prev_hash.0);
    out.extend_from_slice(&hash.0);
    debug_assert!(out.len() - start <= OUTCOME_BODY_LEN_MAX);
    hash
}

/// Decodes an outcome body, checking every layout rule (not the row hash, nor that the signal
/// at `signal_seq` carries `signal_id`: that needs the ledger).
pub fn decode_outcome(body: &[u8]) -> Result<OutcomeView<'_>, CorruptKind> {
    let (content, prev_hash, row_hash) = split_hashes(body)
        .ok_or_else(|| malformed(format!("body of {} bytes is too short", body.len())))?;
    let mut c = Cursor {
        bytes: content,
        pos: 0,
    };
    c.expect_kind(EntryKind::Outcome)?;
    let code = c.u8("decision")?;
    let decision =
        Decision::from_code(code).ok_or_else(|| malformed(format!("decision code {code}")))?;
    if c.array::<6>("reserved")? != [0; 6] {
        return Err(malformed("reserved bytes are not zero"));
    }
    let seq = c.u64("seq")?;
    let decided_at_ns = c.i64("decided_at")?;
    let recorded_at_ns = c.i64("recorded_at")?;
    let signal_seq = c.u64("signal_seq")?;
    if signal_seq >= seq {
        return Err(malformed(format!(
            "signal_seq {signal_seq} is not before the outcome's seq {seq}"
        )));
    }
    let signal_id = c.str("signal_id", 1, ID_LEN_MAX)?;
    let execution_id = c.opt_str("execution_id", ID_LEN_MAX)?;
    let reason_len = usize::from(u16::from_le_bytes(c.array("reason length")?));
    if reason_len > REASON_LEN_MAX {
        return Err(malformed(format!(
            "reason of {reason_len} bytes, longer than {REASON_LEN_MAX}"
        )));
    }
    let reason =
        utf8(c.take(reason_len, "reason")?).ok_or_else(|| malformed("reason is not UTF-8"))?;
    if c.pos != content.len() {
        return Err(malformed(format!(
            "{} unexpected bytes after the reason",
            content.len() - c.pos
        )));
    }
    Ok(OutcomeView {
        seq,
        decision,
        decided_at_ns,
        recorded_at_ns,
        signal_seq,
        signal_id,
        execution_id,
        reason: (!reason.is_empty()).then_some(reason),
        prev_hash,
        row_hash,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::record::frame::{begin_frame, finish_frame, frame_at, FrameAt};

    prop_compose! {
        fn outcome()(
            signal_id in "[a-zA-Z0-9é-]{1,21}",
            acted in any::<bool>(),
            execution_id in proptest::option::of("[a-z0-9-]{1,64}"),
            reason in proptest::option::of("[ -~é€]{1,300}"),
            decided_at_ns in any::<i64>(),
        ) -> Outcome {
            Outcome {
                signal_id,
                decision: Decision::from_acted(acted),
                execution_id,
                reason: reason.filter(|r| r.len() <= REASON_LEN_MAX),
                decided_at_ns,
            }
        }
    }

    fn stamp(seq: u64, signal_seq: u64) -> OutcomeStamp {
        OutcomeStamp {
            seq,
            recorded_at_ns: 7,
            prev_hash: Hash([3; 32]),
            signal_seq,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// encode → frame → decode gives back every field, and the stored row hash is the hash
        /// of the stored bytes.
        #[test]
        fn round_trip(o in outcome(), seq in 1u64.., signal in any::<u64>(), recorded in any::<i64>(), prev in any::<[u8; 32]>()) {
            prop_assume!(o.validate().is_ok());
            let stamp = OutcomeStamp { seq, recorded_at_ns: recorded, prev_hash: Hash(prev), signal_seq: signal % seq };
            let mut out = Vec::new();
            let start = begin_frame(&mut out);
            let hash = encode_outcome_body(&mut out, &stamp, &o);
            finish_frame(&mut out, start);
            let FrameAt::Valid { body, next } = frame_at(&out, 0) else { panic!("frame invalid") };
            prop_assert_eq!(next, out.len());
            prop_assert!(body.len() <= OUTCOME_BODY_LEN_MAX);
            let rec = decode_outcome(body).unwrap().to_record();
            prop_assert_eq!(&rec.outcome, &o);
            prop_assert_eq!(rec.seq, seq);
            prop_assert_eq!(rec.signal_seq, stamp.signal_seq);
            prop_assert_eq!(rec.recorded_at_ns, recorded);
            prop_assert_eq!(rec.row_hash, hash);
            let (content, _, _) = split_hashes(body).unwrap();
            prop_assert_eq!(row_hash(&Hash(prev), content), hash);
        }

        /// The decoder never panics, whatever the bytes.
        #[test]
        fn decoder_survives_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_outcome(&bytes);
        }

        /// Any single flipped bit of a valid body either fails to decode or decodes to a
        /// different outcome: one outcome has one encoding.
        #[test]
        fn encoding_is_canonical(o in outcome(), byte in any::<prop::sample::Index>(), bit in 0u8..8) {
            prop_assume!(o.validate().is_ok());
            let mut body = Vec::new();
            encode_outcome_body(&mut body, &stamp(9, 4), &o);
            let original = decode_outcome(&body).unwrap().to_record();
            let i = byte.index(body.len());
            body[i] ^= 1 << bit;
            if let Ok(view) = decode_outcome(&body) {
                prop_assert_ne!(view.to_record(), original, "flip of byte {} bit {}", i, bit);
            }
        }
    }

    #[test]
    fn refuses_a_signal_seq_not_before_its_own() {
        let o = Outcome {
            signal_id: "s".into(),
            decision: Decision::Acted,
            execution_id: None,
            reason: None,
            decided_at_ns: 0,
        };
        let mut body = Vec::new();
        encode_outcome_body(&mut body, &stamp(5, 4), &o);
        body[32..40].copy_from_slice(&5u64.to_le_bytes());
        assert!(decode_outcome(&body).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut o = Outcome {
            signal_id: String::new(),
            decision: Decision::Dismissed,
            execution_id: None,
            reason: None,
            decided_at_ns: 0,
        };
        assert_eq!(o.validate().unwrap_err().field, "signal_id");
        o.signal_id = "s".into();
        o.reason = Some("x".repeat(REASON_LEN_MAX + 1));
        assert_eq!(o.validate().unwrap_err().field, "reason");
        o.reason = Some("line\nbreak".into());
        assert_eq!(o.validate().unwrap_err().field, "reason");
        o.reason = Some("ok".into());
        assert!(o.validate().is_ok());
    }
}
