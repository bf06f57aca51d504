//! [`Position`]: where a replay stands, as a printable token a consumer keeps to resume after a
//! restart.

use crate::error::ReplayError;
use crate::order::{sort_key, ReplayOrder};

/// The place of one event in a replay's order: a replay started after it delivers exactly the
/// events that follow it in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The order it is a place in.
    pub order: ReplayOrder,
    /// The event's time, ns (a signal's timestamp, an outcome's decision time).
    pub time_ns: i64,
    /// The event's seq.
    pub seq: u64,
}

const PREFIX: &str = "p1";

impl Position {
    /// The position of `event` in a replay in `order`.
    pub fn of(order: ReplayOrder, event: &crate::event::Event<'_>) -> Position {
        Position {
            order,
            time_ns: crate::event::event_time_ns(event),
            seq: event.seq(),
        }
    }

    /// The sort key of this position in its order: (time, seq) by timestamp, (0, seq) by seq.
    pub fn key(&self) -> (i64, u64) {
        sort_key(self.order, self.time_ns, self.seq)
    }

    /// The position as printable text (`p1` and 34 hex digits).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(17);
        bytes.push(match self.order {
            ReplayOrder::Timestamp => 0u8,
            ReplayOrder::Seq => 1,
        });
        bytes.extend_from_slice(&self.time_ns.to_le_bytes());
        bytes.extend_from_slice(&self.seq.to_le_bytes());
        format!("{PREFIX}{}", hex::encode(bytes))
    }

    /// Parses a position printed by [`Position::encode`].
    pub fn decode(text: &str) -> Result<Position, ReplayError> {
        let bad = || ReplayError::BadPosition(text.chars().take(80).collect());
        let bytes = text
            .trim()
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() == 17)
            .ok_or_else(bad)?;
        let eight = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .ok_or_else(bad)
        };
        let order = match bytes.first() {
            Some(0) => ReplayOrder::Timestamp,
            Some(1) => ReplayOrder::Seq,
            _ => return Err(bad()),
        };
        Ok(Position {
            order,
            time_ns: i64::from_le_bytes(eight(1)?),
            seq: u64::from_le_bytes(eight(9)?),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        for order in [ReplayOrder::Timestamp, ReplayOrder::Seq] {
            let p = Position {
                order,
                time_ns: -17,
                seq: 1 << 40,
            };
            assert_eq!(Position::decode(&p.encode()).unwrap(), p);
        }
        let good = Position {
            order: ReplayOrder::Seq,
            time_ns: 1,
            seq: 2,
        }
        .encode();
        for bad in [
            "",
            "p1",
            "p2",
            "p1zz",
            &good[..20],
            &format!("p102{}", &good[4..]),
        ] {
            assert!(Position::decode(bad).is_err(), "{bad}");
        }
    }
}
