//! Records: the entry kinds (signals and outcomes), their body codecs and the CRC-checked frame
//! around them.

pub mod codec;
pub mod entry;
pub mod frame;
pub mod json;
pub mod outcome;
pub mod signal;

pub use codec::{decode_signal, encode_signal_body, EntryKind, SignalView, Stamp};
pub use entry::{decode_entry, EntryRecord, EntryView};
pub use frame::{frame_at, FrameAt};
pub use outcome::{decode_outcome, Decision, Outcome, OutcomeRecord, OutcomeView};
pub use signal::{Direction, FieldError, Signal, SignalRecord, SignalType, ValidSignal};
