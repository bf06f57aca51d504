//! [`Cursor`]: where the next page of a query starts, as an opaque string.
//!
//! Keyset pagination: a cursor holds the sort key of the last record returned and the seq
//! horizon of the first page (the ledger's next seq then). Later pages only consider entries
//! below the horizon, so a page never repeats or skips a row while appends continue; the rows
//! appended since are found by starting over.

use crate::error::QueryError;
use crate::order::{Order, OrderBy};

/// Where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The order of the query it continues.
    pub order: Order,
    /// Entries with seq ≥ this are not part of the pagination.
    pub horizon: u64,
    /// Timestamp of the last record returned (ns; 0 when ordered by seq).
    pub last_timestamp_ns: i64,
    /// Seq of the last record returned.
    pub last_seq: u64,
}

const PREFIX: &str = "c1";

impl Cursor {
    /// The cursor as printable text (`c1` and 50 hex digits).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(25);
        let flags =
            u8::from(self.order.descending) | (u8::from(self.order.by == OrderBy::Seq) << 1);
        bytes.push(flags);
        bytes.extend_from_slice(&self.horizon.to_le_bytes());
        bytes.extend_from_slice(&self.last_timestamp_ns.to_le_bytes());
        bytes.extend_from_slice(&self.last_seq.to_le_bytes());
        format!("{PREFIX}{}", hex::encode(bytes))
    }

    /// Parses a cursor printed by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, QueryError> {
        let bad = || QueryError::BadCursor(text.chars().take(80).collect());
        let bytes = text
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() == 25)
            .ok_or_else(bad)?;
        let u64_at = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        let flags = bytes.first().copied().ok_or_else(bad)?;
        if flags > 3 {
            return Err(bad());
        }
        Ok(Cursor {
            order: Order {
                by: if flags & 2 != 0 {
                    OrderBy::Seq
                } else {
                    OrderBy::Timestamp
                },
                descending: flags & 1 != 0,
            },
            horizon: u64_at(1).ok_or_else(bad)?,
            last_timestamp_ns: u64_at(9).ok_or_else(bad)? as i64,
            last_seq: u64_at(17).ok_or_else(bad)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let c = Cursor {
            order: Order {
                by: OrderBy::Timestamp,
                descending: true,
            },
            horizon: 1_000_000,
            last_timestamp_ns: -5,
            last_seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in [
            "",
            "c1",
            "c2",
            "c1zz",
            &c.encode()[..20],
            "c1ff00000000000000000000000000000000000000000000000000",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
