//! Records: the signal columns, the entry body codec and the CRC-checked frame around it.

pub mod codec;
pub mod frame;
pub mod json;
pub mod signal;

pub use codec::{decode_signal, encode_signal_body, EntryKind, SignalView, Stamp};
pub use frame::{frame_at, FrameAt};
pub use signal::{Direction, FieldError, Signal, SignalRecord, SignalType, ValidSignal};
