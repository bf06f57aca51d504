//! signal-ledger replay and compliance export.
//!
//! - [`Replay`]: the signals (and their outcomes) of a ledger in chronological order — ledger
//!   order (seq) or signal time, merging producers whose clocks arrive out of order — over a
//!   window and any query [`Filter`](signal_ledger_query::Filter), as fast as possible, in real
//!   time or ×N, with pause, resume and step ([`ReplayControl`]). Delivered to a callback
//!   ([`Replay::run`]), an iterator ([`Replay::into_events`]) or a channel
//!   ([`Replay::spawn`]); started from a seq, a time, or the [`Position`] a consumer saved
//!   before a restart.
//! - [`bundle`]: a compliance export of a window (CSV, NDJSON, the outcomes behind them and a
//!   manifest of hashes) that a regulator can check with standard tools.
//!
//! The files, from the API down: `replay` (the replay and its options) and `channel` (as an
//! iterator or on a thread); `start` (where it starts), `flow` (each event's pacing, control
//! and counting, over `pacer`, `control` and `clock`) and `summary`; `schedule` (the k-way
//! merge of the segments' locations) and `loc` (an event read back from its location);
//! `position`, `order`, `event`, `speed` and `error` at the bottom.
#![forbid(unsafe_code)]

pub mod bundle;
mod channel;
mod clock;
mod control;
mod error;
mod event;
mod flow;
mod json;
mod loc;
mod order;
mod pacer;
mod params;
mod position;
mod replay;
mod schedule;
mod speed;
mod start;
mod summary;

pub use channel::{ReplayChannel, ReplayEvents};
pub use clock::{Clock, FakeClock, SystemClock};
pub use control::ReplayControl;
pub use error::{ReplayError, Result};
pub use event::{event_time_ns, Event, OwnedEvent};
pub use json::{event_name, write_event_line};
pub use order::ReplayOrder;
pub use params::{MaxGap, MAX_GAP_SECS_MAX};
pub use position::Position;
pub use replay::{Replay, ReplayOptions};
pub use speed::Speed;
pub use start::Start;
pub use summary::{PacingSummary, ReplaySummary};
