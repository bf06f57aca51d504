//! The 96-byte trailer written when a segment is sealed (FORMAT.md, "Segment trailer").
//!
//! ```text
//! 0      4  sentinel        u32 = 0xFFFF_FFFF (where a frame length would be)
//! 4      4  reserved        zero
//! 8      8  record_count    u64
//! 16     8  first_seq       u64
//! 24     8  last_seq        u64
//! 32     8  min_timestamp   i64: smallest signal timestamp (i64::MAX if none)
//! 40     8  max_timestamp   i64: largest signal timestamp (i64::MIN if none)
//! 48    32  last_row_hash   row hash of the last entry
//! 80     4  trailer_crc     CRC32 of bytes 0..80
//! 84     4  reserved        zero
//! 88     8  magic           "SLGSEAL\n"
//! ```
//! The trailer is the last 96 bytes of a sealed file, so it can be read without a scan.

use crate::error::CorruptKind;
use crate::hash::Hash;
use crate::le::{bytes32_at, i64_at, put_at, u32_at, u64_at};
use crate::record::frame::TRAILER_SENTINEL;

/// Magic at the very end of a sealed segment.
pub const TRAILER_MAGIC: [u8; 8] = *b"SLGSEAL\n";

const SENTINEL_OFFSET: usize = 0;
const RESERVED_A_OFFSET: usize = SENTINEL_OFFSET + 4;
const COUNT_OFFSET: usize = RESERVED_A_OFFSET + 4;
const FIRST_SEQ_OFFSET: usize = COUNT_OFFSET + 8;
const LAST_SEQ_OFFSET: usize = FIRST_SEQ_OFFSET + 8;
const MIN_TS_OFFSET: usize = LAST_SEQ_OFFSET + 8;
const MAX_TS_OFFSET: usize = MIN_TS_OFFSET + 8;
const LAST_HASH_OFFSET: usize = MAX_TS_OFFSET + 8;
const CRC_OFFSET: usize = LAST_HASH_OFFSET + 32;
const RESERVED_B_OFFSET: usize = CRC_OFFSET + 4;
const MAGIC_OFFSET: usize = RESERVED_B_OFFSET + 4;
/// Length of the trailer.
pub const TRAILER_LEN: usize = MAGIC_OFFSET + 8;
const _: () = assert!(TRAILER_LEN == 96);

/// The decoded trailer of a sealed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentTrailer {
    /// Number of entries in the segment (at least 1).
    pub record_count: u64,
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Seq of the last entry.
    pub last_seq: u64,
    /// Smallest signal timestamp, ns (i64::MAX when the segment holds no signal).
    pub min_timestamp_ns: i64,
    /// Largest signal timestamp, ns (i64::MIN when the segment holds no signal).
    pub max_timestamp_ns: i64,
    /// Row hash of the last entry: the next segment's prev_hash.
    pub last_row_hash: Hash,
}

impl SegmentTrailer {
    /// The trailer bytes, CRC included.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        let mut put = |at: usize, bytes: &[u8]| put_at(&mut out, at, bytes);
        put(SENTINEL_OFFSET, &TRAILER_SENTINEL.to_le_bytes());
        put(COUNT_OFFSET, &self.record_count.to_le_bytes());
        put(FIRST_SEQ_OFFSET, &self.first_seq.to_le_bytes());
        put(LAST_SEQ_OFFSET, &self.last_seq.to_le_bytes());
        put(MIN_TS_OFFSET, &self.min_timestamp_ns.to_le_bytes());
        put(MAX_TS_OFFSET, &self.max_timestamp_ns.to_le_bytes());
        put(LAST_HASH_OFFSET, &self.last_row_hash.0);
        put(MAGIC_OFFSET, &TRAILER_MAGIC);
        let crc = crc32fast::hash(out.get(..CRC_OFFSET).unwrap_or_default());
        put_at(&mut out, CRC_OFFSET, &crc.to_le_bytes());
        out
    }

    /// Whether `bytes` (a file's last 96 bytes) end with the trailer magic. A sealed segment's
    /// trailer is then decoded with [`SegmentTrailer::decode`].
    pub fn has_magic(bytes: &[u8]) -> bool {
        bytes.get(MAGIC_OFFSET..TRAILER_LEN) == Some(&TRAILER_MAGIC[..])
    }

    /// Decodes and checks a trailer: sentinel, magic, CRC, zero reserved bytes, a consistent
    /// seq range.
    pub fn decode(bytes: &[u8]) -> Result<SegmentTrailer, CorruptKind> {
        let bad = |m: &str| CorruptKind::TrailerMismatch(m.to_owned());
        let bytes = bytes
            .get(..TRAILER_LEN)
            .ok_or_else(|| bad("short trailer"))?;
        if !Self::has_magic(bytes) {
            return Err(bad("no trailer magic"));
        }
        if bytes.get(..4) != Some(&TRAILER_SENTINEL.to_le_bytes()[..]) {
            return Err(bad("no trailer sentinel"));
        }
        let stored = u32_at(bytes, CRC_OFFSET).unwrap_or_default();
        if crc32fast::hash(bytes.get(..CRC_OFFSET).unwrap_or_default()) != stored {
            return Err(bad("trailer crc mismatch"));
        }
        let reserved_zero = bytes
            .get(RESERVED_A_OFFSET..COUNT_OFFSET)
            .into_iter()
            .chain(bytes.get(RESERVED_B_OFFSET..MAGIC_OFFSET))
            .flatten()
            .all(|&b| b == 0);
        if !reserved_zero {
            return Err(bad("reserved bytes are not zero"));
        }
        let t = SegmentTrailer {
            record_count: u64_at(bytes, COUNT_OFFSET).unwrap_or_default(),
            first_seq: u64_at(bytes, FIRST_SEQ_OFFSET).unwrap_or_default(),
            last_seq: u64_at(bytes, LAST_SEQ_OFFSET).unwrap_or_default(),
            min_timestamp_ns: i64_at(bytes, MIN_TS_OFFSET).unwrap_or_default(),
            max_timestamp_ns: i64_at(bytes, MAX_TS_OFFSET).unwrap_or_default(),
            last_row_hash: Hash(bytes32_at(bytes, LAST_HASH_OFFSET).unwrap_or_default()),
        };
        let span = t
            .last_seq
            .checked_sub(t.first_seq)
            .and_then(|d| d.checked_add(1));
        if t.record_count == 0 || span != Some(t.record_count) {
            return Err(bad("record count disagrees with the seq range"));
        }
        Ok(t)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> SegmentTrailer {
        SegmentTrailer {
            record_count: 10,
            first_seq: 100,
            last_seq: 109,
            min_timestamp_ns: -5,
            max_timestamp_ns: 77,
            last_row_hash: Hash([3; 32]),
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let b = sample().encode();
        assert_eq!(SegmentTrailer::decode(&b), Ok(sample()));
        assert_eq!(&b[0..4], &[0xFF; 4]);
        assert_eq!(&b[8..16], &10u64.to_le_bytes());
        assert_eq!(&b[80..84], &crc32fast::hash(&b[..80]).to_le_bytes());
        assert_eq!(&b[88..96], b"SLGSEAL\n");
    }

    #[test]
    fn every_bit_flip_is_refused() {
        let good = sample().encode();
        for byte in 0..TRAILER_LEN {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(SegmentTrailer::decode(&b).is_err(), "flip {byte}:{bit}");
            }
        }
    }
}
