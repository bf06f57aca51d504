//! [`Speed`]: how fast a replay runs.

use std::fmt;
use std::str::FromStr;

use crate::error::ReplayError;

/// The fastest factor accepted: beyond it every real gap rounds to nothing.
const MAX_FACTOR: f64 = 1e9;

/// How fast a replay delivers its events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the consumer takes them: no pacing.
    Max,
    /// The gaps between event times divided by this factor (1.0 is real time; always finite
    /// and positive).
    Times(f64),
}

impl Speed {
    /// Real time.
    pub const REAL_TIME: Speed = Speed::Times(1.0);
}

impl FromStr for Speed {
    type Err = ReplayError;

    /// `max`, or a positive factor followed by `x`: `1x`, `10x`, `0.5x`.
    fn from_str(text: &str) -> Result<Speed, ReplayError> {
        let bad = || ReplayError::BadSpeed(text.chars().take(40).collect());
        let t = text.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let factor: f64 = t
            .strip_suffix(['x', 'X'])
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if factor.is_finite() && factor > 0.0 && factor <= MAX_FACTOR {
            Ok(Speed::Times(factor))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speed::Max => f.write_str("max"),
            Speed::Times(x) => write!(f, "{x}x"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_max_and_factors_and_refuses_the_rest() {
        assert_eq!("max".parse::<Speed>().unwrap(), Speed::Max);
        assert_eq!("1x".parse::<Speed>().unwrap(), Speed::REAL_TIME);
        assert_eq!("10x".parse::<Speed>().unwrap(), Speed::Times(10.0));
        assert_eq!("0.5X".parse::<Speed>().unwrap(), Speed::Times(0.5));
        for bad in ["", "x", "10", "0x", "-1x", "NaNx", "infx", "1e10x", "fast"] {
            assert!(bad.parse::<Speed>().is_err(), "{bad}");
        }
        assert_eq!(Speed::Times(2.5).to_string(), "2.5x");
        assert_eq!(Speed::Max.to_string(), "max");
    }
}
