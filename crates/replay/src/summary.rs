//! [`ReplaySummary`] and [`PacingSummary`]: what a replay delivered, and how close to their
//! due times.

use std::time::Duration;

use crate::position::Position;

/// How late paced events were handed over, against their due time on the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacingSummary {
    /// Events delivered at a due time (not at max speed, nor by a step).
    pub paced: u64,
    /// Median lateness (to the microsecond).
    pub p50: Duration,
    /// 99th percentile lateness (to the microsecond; 10 ms stands for anything later).
    pub p99: Duration,
    /// The latest.
    pub max: Duration,
}

/// What a replay delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplaySummary {
    /// Signal events delivered.
    pub signals: u64,
    /// Outcome events delivered.
    pub outcomes: u64,
    /// The position of the last event delivered: start a later replay after it to go on.
    pub last: Option<Position>,
    /// Whether it ended early (stopped through its control, or by the consumer).
    pub stopped: bool,
    /// Pacing accuracy.
    pub pacing: PacingSummary,
}
