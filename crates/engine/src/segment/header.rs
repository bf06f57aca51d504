//! The 80-byte segment header (FORMAT.md, "Segment header").
//!
//! ```text
//! 0      8  magic           89 53 4C 47 0D 0A 1A 0A  ("\x89SLG\r\n\x1a\n")
//! 8      2  format_version  u16
//! 10     6  reserved        zero
//! 16     8  first_seq       u64: seq of the segment's first entry (= the file name)
//! 24     8  created_at_ns   i64: when the segment was created
//! 32    32  prev_hash       row hash the first entry chains to
//! 64    12  reserved        zero
//! 76     4  header_crc      CRC32 of bytes 0..76
//! ```

use crate::error::CorruptKind;
use crate::hash::Hash;
use crate::le::{bytes32_at, i64_at, put_at, u16_at, u32_at, u64_at};

/// The segment magic: a high-bit byte, "SLG", CR LF, SUB, LF (PNG style: catches 7-bit and
/// line-ending mangling).
pub const SEGMENT_MAGIC: [u8; 8] = [0x89, b'S', b'L', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// Format version this build writes: 2 adds outcome entries (FORMAT.md, "Version changes").
pub const FORMAT_VERSION: u16 = 2;
/// Oldest format version this build reads.
pub const FORMAT_VERSION_MIN: u16 = 1;

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = MAGIC_OFFSET + 8;
const RESERVED_A_OFFSET: usize = VERSION_OFFSET + 2;
const FIRST_SEQ_OFFSET: usize = RESERVED_A_OFFSET + 6;
const CREATED_AT_OFFSET: usize = FIRST_SEQ_OFFSET + 8;
const PREV_HASH_OFFSET: usize = CREATED_AT_OFFSET + 8;
const RESERVED_B_OFFSET: usize = PREV_HASH_OFFSET + 32;
const HEADER_CRC_OFFSET: usize = RESERVED_B_OFFSET + 12;
/// Length of the segment header; records start here.
pub const HEADER_LEN: usize = HEADER_CRC_OFFSET + 4;
const _: () = assert!(HEADER_LEN == 80);
const _: () = assert!(HEADER_LEN.is_multiple_of(8));

/// The decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version of the segment.
    pub format_version: u16,
    /// Seq of the first entry.
    pub first_seq: u64,
    /// When the segment was created, ns since the epoch.
    pub created_at_ns: i64,
    /// Row hash the first entry chains to.
    pub prev_hash: Hash,
}

impl SegmentHeader {
    /// The header bytes, CRC included.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut put = |at: usize, bytes: &[u8]| put_at(&mut out, at, bytes);
        put(MAGIC_OFFSET, &SEGMENT_MAGIC);
        put(VERSION_OFFSET, &self.format_version.to_le_bytes());
        put(FIRST_SEQ_OFFSET, &self.first_seq.to_le_bytes());
        put(CREATED_AT_OFFSET, &self.created_at_ns.to_le_bytes());
        put(PREV_HASH_OFFSET, &self.prev_hash.0);
        let crc = crc32fast::hash(out.get(..HEADER_CRC_OFFSET).unwrap_or_default());
        put_at(&mut out, HEADER_CRC_OFFSET, &crc.to_le_bytes());
        out
    }

    /// Decodes and checks a header: magic, supported version, CRC, zero reserved bytes. The
    /// magic and version (bytes 0..10) keep their place in every format version, so a newer
    /// segment is refused by its version even if the rest of its header is laid out otherwise.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, CorruptKind> {
        let Some(bytes) = bytes.get(..HEADER_LEN) else {
            return Err(CorruptKind::HeaderMismatch(format!(
                "file shorter than the {HEADER_LEN}-byte header"
            )));
        };
        if bytes.get(..8) != Some(&SEGMENT_MAGIC[..]) {
            return Err(CorruptKind::BadMagic);
        }
        let version = u16_at(bytes, VERSION_OFFSET).unwrap_or_default();
        if !(FORMAT_VERSION_MIN..=FORMAT_VERSION).contains(&version) {
            return Err(CorruptKind::UnsupportedVersion {
                found: version,
                min: FORMAT_VERSION_MIN,
                max: FORMAT_VERSION,
            });
        }
        let stored_crc = u32_at(bytes, HEADER_CRC_OFFSET).unwrap_or_default();
        if crc32fast::hash(bytes.get(..HEADER_CRC_OFFSET).unwrap_or_default()) != stored_crc {
            return Err(CorruptKind::HeaderCrcMismatch);
        }
        let reserved_zero = bytes
            .get(RESERVED_A_OFFSET..FIRST_SEQ_OFFSET)
            .into_iter()
            .chain(bytes.get(RESERVED_B_OFFSET..HEADER_CRC_OFFSET))
            .flatten()
            .all(|&b| b == 0);
        if !reserved_zero {
            return Err(CorruptKind::HeaderMismatch(
                "reserved bytes are not zero".into(),
            ));
        }
        Ok(SegmentHeader {
            format_version: version,
            first_seq: u64_at(bytes, FIRST_SEQ_OFFSET).unwrap_or_default(),
            created_at_ns: i64_at(bytes, CREATED_AT_OFFSET).unwrap_or_default(),
            prev_hash: Hash(bytes32_at(bytes, PREV_HASH_OFFSET).unwrap_or_default()),
        })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> SegmentHeader {
        SegmentHeader {
            format_version: FORMAT_VERSION,
            first_seq: 1000,
            created_at_ns: 1_700_000_000_123_456_789,
            prev_hash: Hash([0xAB; 32]),
        }
    }

    #[test]
    fn round_trip() {
        assert_eq!(SegmentHeader::decode(&sample().encode()), Ok(sample()));
    }

    #[test]
    fn bytes_match_the_format_table() {
        let b = sample().encode();
        assert_eq!(&b[0..8], b"\x89SLG\r\n\x1a\n");
        assert_eq!(&b[8..10], &FORMAT_VERSION.to_le_bytes());
        assert_eq!(&b[10..16], &[0; 6]);
        assert_eq!(&b[16..24], &1000u64.to_le_bytes());
        assert_eq!(&b[24..32], &1_700_000_000_123_456_789i64.to_le_bytes());
        assert_eq!(&b[32..64], &[0xAB; 32]);
        assert_eq!(&b[64..76], &[0; 12]);
        assert_eq!(&b[76..80], &crc32fast::hash(&b[..76]).to_le_bytes());
    }

    #[test]
    fn every_bit_flip_is_refused() {
        let good = sample().encode();
        for byte in 0..HEADER_LEN {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(SegmentHeader::decode(&b).is_err(), "flip {byte}:{bit}");
            }
        }
    }

    #[test]
    fn newer_version_is_named() {
        let mut h = sample();
        h.format_version = 9;
        assert_eq!(
            SegmentHeader::decode(&h.encode()),
            Err(CorruptKind::UnsupportedVersion {
                found: 9,
                min: 1,
                max: 2
            })
        );
    }
}
