//! Replay request values from text, parsed the same way by every front end (the CLI's clap
//! value parsers, the HTTP query string): the order's names, the gap cap's bounds, a start.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::order::ReplayOrder;
use crate::position::Position;
use crate::start::Start;

/// Longest `max_gap` accepted, in seconds: a day.
pub const MAX_GAP_SECS_MAX: f64 = 86_400.0;

/// The longest wait between two replayed events: `0..=`[`MAX_GAP_SECS_MAX`] seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxGap(pub Duration);

impl Default for MaxGap {
    fn default() -> Self {
        MaxGap(Duration::from_secs(5))
    }
}

impl FromStr for MaxGap {
    type Err = String;

    fn from_str(text: &str) -> Result<MaxGap, String> {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=MAX_GAP_SECS_MAX).contains(&x) => {
                Ok(MaxGap(Duration::from_secs_f64(x)))
            }
            _ => Err(format!(
                "{text:?} is not a number of seconds between 0 and {MAX_GAP_SECS_MAX}"
            )),
        }
    }
}

impl fmt::Display for MaxGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

impl ReplayOrder {
    /// Every order's name: `timestamp` (the default), `seq`.
    pub const NAMES: [&'static str; 2] = ["timestamp", "seq"];
}

impl FromStr for ReplayOrder {
    type Err = String;

    fn from_str(text: &str) -> Result<ReplayOrder, String> {
        match text {
            "timestamp" => Ok(ReplayOrder::Timestamp),
            "seq" => Ok(ReplayOrder::Seq),
            _ => Err(format!(
                "{text:?} is not one of {}",
                ReplayOrder::NAMES.join(", ")
            )),
        }
    }
}

impl FromStr for Position {
    type Err = String;

    fn from_str(text: &str) -> Result<Position, String> {
        Position::decode(text).map_err(|e| e.to_string())
    }
}

impl Start {
    /// The start named by at most one of a seq, a time (ns) and a position to resume after;
    /// [`Start::Beginning`] when none is given, an error naming `names` (the front end's names
    /// of the three) when more than one is.
    pub fn one_of(
        seq: Option<u64>,
        time_ns: Option<i64>,
        after: Option<Position>,
        names: [&str; 3],
    ) -> Result<Start, String> {
        let starts: Vec<Start> = [
            seq.map(Start::Seq),
            time_ns.map(Start::Time),
            after.map(Start::After),
        ]
        .into_iter()
        .flatten()
        .collect();
        match starts.as_slice() {
            [] => Ok(Start::Beginning),
            [one] => Ok(*one),
            _ => Err(format!(
                "give at most one of {}, {} and {}",
                names[0], names[1], names[2]
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn max_gap_is_bounded_to_a_day() {
        assert_eq!("0".parse::<MaxGap>().unwrap().0, Duration::ZERO);
        assert_eq!(
            "0.05".parse::<MaxGap>().unwrap().0,
            Duration::from_millis(50)
        );
        assert!("86400".parse::<MaxGap>().is_ok());
        for bad in ["86401", "-1", "NaN", "inf", "soon"] {
            assert!(bad.parse::<MaxGap>().is_err(), "{bad}");
        }
    }

    #[test]
    fn orders_parse_by_name_and_a_start_is_one_at_most() {
        assert_eq!("seq".parse::<ReplayOrder>().unwrap(), ReplayOrder::Seq);
        assert_eq!(
            "time".parse::<ReplayOrder>().unwrap_err(),
            "\"time\" is not one of timestamp, seq"
        );
        let names = ["a", "b", "c"];
        assert_eq!(
            Start::one_of(None, None, None, names).unwrap(),
            Start::Beginning
        );
        assert_eq!(
            Start::one_of(Some(3), None, None, names).unwrap(),
            Start::Seq(3)
        );
        assert_eq!(
            Start::one_of(Some(3), Some(1), None, names).unwrap_err(),
            "give at most one of a, b and c"
        );
    }
}
