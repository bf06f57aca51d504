//! Record frames: `len: u32 ‖ crc32: u32 ‖ body[len]` (FORMAT.md, "Record frame").
//!
//! The CRC covers exactly the body bytes as written. A length equal to [`TRAILER_SENTINEL`] is not
//! a record: it opens the trailer of a sealed segment.

use crate::error::CorruptKind;
use crate::le::u32_at;
use crate::record::codec::ENTRY_BODY_LEN_MIN;

/// Bytes before the body: length and CRC.
pub const FRAME_HEADER_LEN: usize = 4 + 4;
/// Largest body a frame may declare (1 MiB; a signal needs at most about 67 KiB).
pub const FRAME_BODY_LEN_MAX: usize = 1 << 20;
/// Length value that marks the start of a segment trailer instead of a frame.
pub const TRAILER_SENTINEL: u32 = u32::MAX;
const _: () = assert!(FRAME_BODY_LEN_MAX < TRAILER_SENTINEL as usize);

/// Reserves a frame header in `out` and returns where the frame starts; the body follows.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    start
}

/// Fills in the length and CRC of the frame begun at `start`, whose body runs to the end of `out`.
pub fn finish_frame(out: &mut [u8], start: usize) {
    let body_start = start + FRAME_HEADER_LEN;
    let body_len = out.len() - body_start;
    debug_assert!((ENTRY_BODY_LEN_MIN..=FRAME_BODY_LEN_MAX).contains(&body_len));
    let crc = crc32fast::hash(out.get(body_start..).unwrap_or_default());
    if let Some(header) = out.get_mut(start..body_start) {
        let (len_bytes, crc_bytes) = header.split_at_mut(4);
        len_bytes.copy_from_slice(&(body_len as u32).to_le_bytes());
        crc_bytes.copy_from_slice(&crc.to_le_bytes());
    }
}

/// What lies at an offset of a segment's record area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameAt<'a> {
    /// A whole frame with a matching CRC; the next frame starts at `next`.
    Valid {
        /// The body bytes.
        body: &'a [u8],
        /// Offset just past this frame.
        next: usize,
    },
    /// The offset is exactly the end of the bytes.
    End,
    /// A trailer sentinel: the record area of a sealed segment ends here.
    Trailer,
    /// Fewer bytes remain than the frame header or its declared length need (a torn write).
    Incomplete,
    /// The frame is whole but wrong: an impossible length or a CRC mismatch.
    Bad(CorruptKind),
}

/// Reads the frame starting at `offset` of `bytes`.
pub fn frame_at(bytes: &[u8], offset: usize) -> FrameAt<'_> {
    if offset == bytes.len() {
        return FrameAt::End;
    }
    let (Some(len), Some(stored_crc)) = (u32_at(bytes, offset), u32_at(bytes, offset + 4)) else {
        return if u32_at(bytes, offset) == Some(TRAILER_SENTINEL) {
            FrameAt::Trailer
        } else {
            FrameAt::Incomplete
        };
    };
    if len == TRAILER_SENTINEL {
        return FrameAt::Trailer;
    }
    let body_len = len as usize;
    if !(ENTRY_BODY_LEN_MIN..=FRAME_BODY_LEN_MAX).contains(&body_len) {
        return FrameAt::Bad(CorruptKind::LengthOutOfRange {
            len: u64::from(len),
        });
    }
    let body_start = offset + FRAME_HEADER_LEN;
    let Some(body) = bytes.get(body_start..body_start + body_len) else {
        return FrameAt::Incomplete;
    };
    let actual = crc32fast::hash(body);
    if actual != stored_crc {
        return FrameAt::Bad(CorruptKind::CrcMismatch {
            expected: stored_crc,
            actual,
        });
    }
    FrameAt::Valid {
        body,
        next: body_start + body_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let start = begin_frame(&mut out);
        out.extend_from_slice(body);
        finish_frame(&mut out, start);
        out
    }

    #[test]
    fn valid_frame_round_trips() {
        let body = vec![7u8; ENTRY_BODY_LEN_MIN];
        let bytes = frame(&body);
        assert_eq!(
            frame_at(&bytes, 0),
            FrameAt::Valid {
                body: &body,
                next: bytes.len()
            }
        );
        assert_eq!(frame_at(&bytes, bytes.len()), FrameAt::End);
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let bytes = frame(&[1u8; 100]);
        for cut in 1..bytes.len() {
            assert_eq!(
                frame_at(&bytes[..cut], 0),
                FrameAt::Incomplete,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn flipped_body_bit_is_a_crc_mismatch() {
        let mut bytes = frame(&[1u8; 100]);
        bytes[50] ^= 0x10;
        assert!(matches!(
            frame_at(&bytes, 0),
            FrameAt::Bad(CorruptKind::CrcMismatch { .. })
        ));
    }

    #[test]
    fn impossible_lengths_are_bad() {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(
            frame_at(&bytes, 0),
            FrameAt::Bad(CorruptKind::LengthOutOfRange { len: 3 })
        ));
        bytes[..4].copy_from_slice(&TRAILER_SENTINEL.to_le_bytes());
        assert_eq!(frame_at(&bytes, 0), FrameAt::Trailer);
    }
}
